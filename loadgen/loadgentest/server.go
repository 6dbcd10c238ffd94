// Package loadgentest is an in-memory stand-in for the ingest side of a
// webusage server, for testing the load generator itself: it speaks the
// CONTRACT's /api/v1/extension/config and /api/v1/events, stores event ids
// exactly once, and can inject the failures a real server produces.
package loadgentest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"time"

	"webusage/loadgen"
)

// Fault is what the server does to one request instead of answering 200.
type Fault struct {
	Status      int    // the status to answer; 0 means no fault
	RetryAfter  string // the Retry-After header, if any
	AfterCommit bool   // store the events first, then answer Status (a lost acknowledgement)
}

// Server is the stand-in. Set Fault and Reject before the first request.
type Server struct {
	*httptest.Server
	Token string
	Apps  []loadgen.App
	// Fault, when set, is asked for every events request, numbered from 0.
	Fault func(n int) Fault
	// Reject, when set, marks the event at this index of every batch as
	// invalid: it is reported in errors[] and not stored.
	Reject func(index int) bool

	mu        sync.Mutex
	requests  int
	stored    map[string]int
	forwarded map[string]bool
	arrivals  []time.Time
}

// NewServer starts a stand-in that accepts token and serves apps as its
// configuration. Close it when done.
func NewServer(token string, apps []loadgen.App) *Server {
	s := &Server{Token: token, Apps: apps, stored: map[string]int{}, forwarded: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/extension/config", s.config)
	mux.HandleFunc("POST /api/v1/events", s.events)
	s.Server = httptest.NewServer(mux)
	return s
}

func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("Authorization") != "Bearer "+s.Token {
		writeError(w, http.StatusUnauthorized, "unauthorized", "")
		return false
	}
	return true
}

func (s *Server) config(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"collect_web_usage": true, "collect_urls": false, "applications": s.Apps,
		"idle_seconds": 60, "flush_seconds": 60,
	})
}

type batch struct {
	Device struct {
		ID string `json:"id"`
	} `json:"device"`
	Events []struct {
		ID         string `json:"id"`
		Type       string `json:"type"`
		URL        string `json:"url"`
		Start      string `json:"start"`
		DurationMS int64  `json:"duration_ms"`
	} `json:"events"`
}

type eventError struct {
	Index   int    `json:"index"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	var b batch
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&b); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_json", "")
		return
	}
	if b.Device.ID == "" || len(b.Events) == 0 || len(b.Events) > 1000 {
		writeError(w, http.StatusBadRequest, "invalid_batch", "events")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.requests
	s.requests++
	s.arrivals = append(s.arrivals, time.Now())
	if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
		s.forwarded[xff] = true
	}
	var fault Fault
	if s.Fault != nil {
		fault = s.Fault(n)
	}
	if fault.Status != 0 && !fault.AfterCommit {
		if fault.RetryAfter != "" {
			w.Header().Set("Retry-After", fault.RetryAfter)
		}
		writeError(w, fault.Status, "fault", "")
		return
	}
	resp := struct {
		Accepted   int            `json:"accepted"`
		Duplicates int            `json:"duplicates"`
		Dropped    map[string]int `json:"dropped"`
		Errors     []eventError   `json:"errors"`
	}{Dropped: map[string]int{}, Errors: []eventError{}}
	for i, e := range b.Events {
		if e.ID == "" || e.Type != "usage" || e.URL == "" || e.DurationMS <= 0 || (s.Reject != nil && s.Reject(i)) {
			resp.Errors = append(resp.Errors, eventError{Index: i, Field: "events[" + strconv.Itoa(i) + "]", Message: "invalid"})
			continue
		}
		if _, err := time.Parse(time.RFC3339, e.Start); err != nil {
			resp.Errors = append(resp.Errors, eventError{Index: i, Field: "start", Message: "invalid"})
			continue
		}
		if s.stored[e.ID] > 0 {
			resp.Duplicates++
			continue
		}
		s.stored[e.ID]++
		resp.Accepted++
	}
	if fault.Status != 0 {
		writeError(w, fault.Status, "fault", "")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(resp)
}

func writeError(w http.ResponseWriter, status int, code, field string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"code":%q,"message":%q,"field":%q}}`, code, http.StatusText(status), field)
}

// Stored returns how many times each event id was stored (1 for every id
// the stand-in accepted: it never stores an id twice).
func (s *Server) Stored() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.stored))
	for k, v := range s.stored {
		out[k] = v
	}
	return out
}

// Requests returns how many events requests reached the handler past
// authentication and decoding.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// ForwardedFor returns the distinct X-Forwarded-For values received.
func (s *Server) ForwardedFor() map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]bool, len(s.forwarded))
	for k := range s.forwarded {
		out[k] = true
	}
	return out
}

// Arrivals returns when each counted events request arrived, in order.
func (s *Server) Arrivals() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.arrivals...)
}
