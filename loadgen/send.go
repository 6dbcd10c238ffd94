package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// sender posts batches and records what happened to them.
type sender struct {
	cfg    *Config
	fleet  *Fleet
	gen    context.Context // retries stop when it is done
	ackMu  sync.Mutex      // serializes AckLog writes and guards ackErr
	ackErr error           // the first AckLog write error
}

// ingestResponse is the 200 body of POST /api/v1/events.
type ingestResponse struct {
	Accepted   int64            `json:"accepted"`
	Duplicates int64            `json:"duplicates"`
	Dropped    map[string]int64 `json:"dropped"`
	Errors     []struct {
		Index int `json:"index"`
	} `json:"errors"`
}

const (
	firstBackoff = 100 * time.Millisecond
	maxBackoff   = 2 * time.Second
)

// deliver sends b until the server answers something other than a
// retryable failure, or until retrying is no longer allowed, and tallies
// every attempt.
func (s *sender) deliver(ctx context.Context, b Batch, t *tally) {
	t.batches++
	t.sent += int64(len(b.IDs))
	backoff := firstBackoff
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			t.retries++
		}
		status, wait, body := s.post(ctx, b, t)
		switch {
		case status == http.StatusOK:
			s.acknowledge(b, body, t)
			return
		case status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests:
			wait = min(wait, s.cfg.MaxRetryAfter)
		case status == 0 || status >= 500:
			wait, backoff = backoff, min(2*backoff, maxBackoff)
		default:
			t.failed++
			return
		}
		if !sleep(s.gen, wait) {
			t.failed++
			return
		}
	}
}

// post makes one attempt. It returns the status (0 for a transport
// error), the Retry-After delay (1 s when absent or unreadable) and, on
// 200, the response body.
func (s *sender) post(ctx context.Context, b Batch, t *tally) (status int, retryAfter time.Duration, body []byte) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.URL+"/api/v1/events", bytes.NewReader(b.Body))
	if err != nil {
		t.status["transport"]++
		return 0, 0, nil
	}
	req.Header.Set("Authorization", "Bearer "+s.cfg.Token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "webusage-loadgen/1")
	if s.cfg.ForwardedFor {
		req.Header.Set("X-Forwarded-For", s.fleet.devices[b.Device].PublicIP.String())
	}
	t.requests++
	start := time.Now()
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		t.status["transport"]++
		return 0, 0, nil
	}
	body, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		// The answer was cut off: it cannot count as an acknowledgement.
		t.status["transport"]++
		return 0, 0, nil
	}
	t.lat.record(time.Since(start))
	t.status[strconv.Itoa(resp.StatusCode)]++
	return resp.StatusCode, parseRetryAfter(resp.Header.Get("Retry-After")), body
}

// acknowledge tallies a 200 answer and logs the ids of the events it did
// not reject. A 200 whose body cannot be read still acknowledges every
// event: the server committed the batch.
func (s *sender) acknowledge(b Batch, body []byte, t *tally) {
	var r ingestResponse
	rejected := map[int]bool{}
	if err := json.Unmarshal(body, &r); err == nil {
		for _, e := range r.Errors {
			rejected[e.Index] = true
		}
		t.accepted += r.Accepted
		t.dups += r.Duplicates
		for k, v := range r.Dropped {
			t.dropped[k] += v
		}
	}
	t.rej += int64(len(rejected))
	t.acked += int64(len(b.IDs) - len(rejected))
	if s.cfg.AckLog == nil {
		return
	}
	var buf bytes.Buffer
	for i, id := range b.IDs {
		if !rejected[i] {
			buf.WriteString(id)
			buf.WriteByte('\n')
		}
	}
	s.ackMu.Lock()
	defer s.ackMu.Unlock()
	if _, err := s.cfg.AckLog.Write(buf.Bytes()); err != nil && s.ackErr == nil {
		s.ackErr = fmt.Errorf("loadgen: write ack log: %w", err)
	}
}

// parseRetryAfter reads a Retry-After value in seconds or as an HTTP date;
// it returns 1 s when the value is absent or unreadable.
func parseRetryAfter(v string) time.Duration {
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return time.Second
}

// sleep waits d unless ctx ends first; it reports whether the wait completed.
func sleep(ctx context.Context, d time.Duration) bool {
	if ctx.Err() != nil {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// FetchApps reads the configured applications from the server's extension
// config endpoint, as the extension does at start.
func FetchApps(ctx context.Context, c *http.Client, baseURL, token string) ([]App, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/api/v1/extension/config", nil)
	if err != nil {
		return nil, fmt.Errorf("loadgen: fetch config: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("loadgen: fetch config: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("loadgen: fetch config: status %d", resp.StatusCode)
	}
	var cfg struct {
		Applications []App `json:"applications"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&cfg); err != nil {
		return nil, fmt.Errorf("loadgen: decode config: %w", err)
	}
	if len(cfg.Applications) == 0 {
		return nil, fmt.Errorf("loadgen: the server has no application configured")
	}
	return cfg.Applications, nil
}
