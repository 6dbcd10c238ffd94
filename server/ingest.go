package server

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"webusage/geo"
	"webusage/org"
	"webusage/sanitize"
	"webusage/store"
)

// DropReason says why a valid event was not stored. Every drop is counted
// (metrics) and returned to the caller as counts.
type DropReason string

// Drop reasons, one per pipeline stage that can drop.
const (
	DropNoApplication      DropReason = "no_application"      // match: the URL/application is not a defined application
	DropCollectionDisabled DropReason = "collection_disabled" // switches: web usage collection is off
)

// Limits on a batch's strings and lists.
const (
	maxIDLen       = 128
	maxNameLen     = 256
	maxURLLen      = 8192
	maxLocalIPs    = 32
	maxTags        = 32
	maxTagLen      = 64
	maxDurationMs  = 24 * 3600 * 1000
	maxFutureSkew  = 5 * time.Minute
	earliestStart  = 946684800000 // 2000-01-01T00:00:00Z in ms
	eventsFieldFmt = "events[%d].%s"
)

// batchRequest is the body of POST /api/v1/events. Events are decoded one by
// one so a bad event is reported by index without failing the batch.
type batchRequest struct {
	Device struct {
		ID       string   `json:"id"`
		Name     string   `json:"name"`
		LocalIPs []string `json:"local_ips"`
		Tags     []string `json:"tags"`
	} `json:"device"`
	User *struct {
		Name string `json:"name"`
		UPN  string `json:"upn"`
	} `json:"user"`
	Browser struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	} `json:"browser"`
	Events []json.RawMessage `json:"events"`
}

type eventRequest struct {
	ID          string          `json:"id"`
	Type        string          `json:"type"`
	URL         *string         `json:"url"`
	Application *int64          `json:"application"`
	Start       json.RawMessage `json:"start"`
	DurationMs  *int64          `json:"duration_ms"`
}

// eventError reports one invalid event by index.
type eventError struct {
	Index   int    `json:"index"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ingestResponse is the answer to a batch, sent after its events are committed.
type ingestResponse struct {
	Accepted   int                `json:"accepted"`
	Duplicates int                `json:"duplicates"`
	Dropped    map[DropReason]int `json:"dropped"`
	Errors     []eventError       `json:"errors"`
}

// handleEvents runs the ingest pipeline: bound & decode → per event
// (validate → match → switches → URL → context → storage policy) → group
// commit → acknowledge.
func (s *Server) handleEvents(c echo.Context) error {
	req, err := s.decodeBatch(c)
	if err != nil {
		return err
	}
	st := s.current()
	resp := ingestResponse{Dropped: map[DropReason]int{}, Errors: []eventError{}}
	batch, ctxInfo, err := s.batchContext(c, st, req)
	if err != nil {
		return err
	}
	now := s.now()
	for i, raw := range req.Events {
		ev, ferr := validateEvent(raw, now)
		if ferr != nil {
			resp.Errors = append(resp.Errors, eventError{Index: i, Field: fmt.Sprintf(eventsFieldFmt, i, ferr.Field), Message: ferr.Message})
			continue
		}
		out, reason := s.process(st, ev, ctxInfo)
		if reason != "" {
			resp.Dropped[reason]++
			continue
		}
		batch.Events = append(batch.Events, out)
	}
	s.metrics.observeBatch(len(resp.Errors), resp.Dropped)
	if len(batch.Events) > 0 {
		res, err := s.store.Ingest(c.Request().Context(), batch)
		if err != nil {
			if errors.Is(err, store.ErrQueueFull) {
				s.metrics.queueFull.Inc()
			}
			return err
		}
		resp.Accepted, resp.Duplicates = res.Accepted, res.Duplicates
		s.metrics.accepted.Add(float64(res.Accepted))
		s.metrics.duplicates.Add(float64(res.Duplicates))
	}
	return c.JSON(http.StatusOK, resp)
}

// decodeBatch is the bound & decode stage.
func (s *Server) decodeBatch(c echo.Context) (*batchRequest, error) {
	r := c.Request()
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return nil, &apiError{Status: http.StatusUnsupportedMediaType, Code: CodeInvalid, Message: "Content-Type must be application/json"}
	}
	if r.ContentLength > s.cfg.MaxBodyBytes {
		return nil, tooLarge(s.cfg.MaxBodyBytes)
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge(s.cfg.MaxBodyBytes)
		}
		return nil, invalid("", "could not read the request body")
	}
	var req batchRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, jsonError(err)
	}
	if len(req.Events) > s.cfg.MaxBatchEvents {
		return nil, invalid("events", "at most %d events per batch (got %d)", s.cfg.MaxBatchEvents, len(req.Events))
	}
	if req.Events == nil {
		return nil, invalid("events", "events is required")
	}
	return &req, nil
}

func tooLarge(limit int64) *apiError {
	return &apiError{Status: http.StatusRequestEntityTooLarge, Code: CodeTooLarge,
		Message: fmt.Sprintf("request body larger than %d bytes", limit)}
}

// jsonError names the offending field of a JSON decoding error, never echoing
// the value.
func jsonError(err error) *apiError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "(body)"
		}
		return invalid(field, "%s must be of type %s", field, te.Type.String())
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return invalid("(body)", "malformed JSON at byte %d", se.Offset)
	}
	return invalid("(body)", "malformed JSON")
}

// requestContext is what one request tells about where its device is.
type requestContext struct {
	publicIP  netip.Addr
	placement geo.Placement
	location  geo.Location
	entity    string
}

// batchContext validates the batch-level fields and resolves the context
// stage: client IP, on-site/remote, geolocation, entity, and the storage
// privacy policy for the user.
func (s *Server) batchContext(c echo.Context, st *state, req *batchRequest) (*store.IngestBatch, requestContext, error) {
	var rc requestContext
	d := req.Device
	if d.ID == "" {
		return nil, rc, invalid("device.id", "device.id is required")
	}
	if err := checkString("device.id", d.ID, maxIDLen); err != nil {
		return nil, rc, err
	}
	if err := checkString("device.name", d.Name, maxNameLen); err != nil {
		return nil, rc, err
	}
	if len(d.LocalIPs) > maxLocalIPs {
		return nil, rc, invalid("device.local_ips", "at most %d local IPs", maxLocalIPs)
	}
	local := make([]netip.Addr, 0, len(d.LocalIPs))
	localStr := make([]string, 0, len(d.LocalIPs))
	for i, s := range d.LocalIPs {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, rc, invalid(fmt.Sprintf("device.local_ips[%d]", i), "not an IP address")
		}
		a = a.Unmap()
		local = append(local, a)
		localStr = append(localStr, a.String())
	}
	if len(d.Tags) > maxTags {
		return nil, rc, invalid("device.tags", "at most %d tags", maxTags)
	}
	for i, t := range d.Tags {
		if err := checkString(fmt.Sprintf("device.tags[%d]", i), t, maxTagLen); err != nil {
			return nil, rc, err
		}
	}
	if err := checkString("browser.name", req.Browser.Name, 64); err != nil {
		return nil, rc, err
	}
	if err := checkString("browser.version", req.Browser.Version, 64); err != nil {
		return nil, rc, err
	}
	var name, upn string
	if req.User != nil {
		name, upn = req.User.Name, req.User.UPN
		if err := checkString("user.name", name, maxNameLen); err != nil {
			return nil, rc, err
		}
		if err := checkString("user.upn", upn, maxNameLen); err != nil {
			return nil, rc, err
		}
	}

	// Context: where the device is, as of now.
	rc.publicIP = s.clients.Resolve(c.Request().RemoteAddr, c.Request().Header)
	rc.placement = st.locator.Classify(rc.publicIP, local)
	if g := st.settings.granularity(); g != geo.GranularityOff && s.geo != nil {
		if loc, ok := s.geo.Lookup(rc.publicIP); ok {
			rc.location = loc.Limit(g)
		}
	}
	rc.entity = st.org.Assign(org.Device{Name: d.Name, PublicIP: rc.publicIP, LocalIPs: local, Tags: d.Tags})

	// Storage policy: what of the user is kept, and how.
	policy := st.settings.storagePolicy()
	storedName, storedUPN := policy.Identity(name, upn, func(v string) string { return s.keys.Pseudonym("user", v) })
	b := &store.IngestBatch{
		Device: store.DeviceInfo{
			ExternalID: d.ID, Name: d.Name, LocalIPs: localStr, Entity: rc.entity,
			LocationType: rc.placement.Type, Site: rc.placement.Site,
			CountryCode: rc.location.CountryCode, Country: rc.location.Country, State: rc.location.State, City: rc.location.City,
		},
		Browser:        req.Browser.Name,
		BrowserVersion: req.Browser.Version,
		Events:         make([]store.IngestEvent, 0, len(req.Events)),
	}
	if rc.publicIP.IsValid() {
		b.Device.PublicIP = rc.publicIP.String()
	}
	if storedName != "" {
		b.User = &store.UserInfo{Name: storedName, UPN: storedUPN}
	}
	// Entity and location were decided on the real values above; what is
	// stored of an anonymized device is its pseudonym only.
	if st.anonymization.Devices {
		store.AnonymizeDevice(s.keys, &b.Device)
	}
	return b, rc, nil
}

func checkString(field, v string, max int) error {
	if len(v) > max {
		return invalid(field, "%s is longer than %d bytes", field, max)
	}
	if !utf8.ValidString(v) {
		return invalid(field, "%s is not valid UTF-8", field)
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return invalid(field, "%s contains control characters", field)
		}
	}
	return nil
}

// validEvent is a decoded, validated event.
type validEvent struct {
	id         [16]byte
	url        string // raw; never logged, stored only after sanitizing
	hasURL     bool
	app        int64
	hasApp     bool
	startMs    int64
	durationMs int64
}

// fieldProblem names the field of an invalid event.
type fieldProblem struct{ Field, Message string }

// validateEvent is the validate stage for one event.
func validateEvent(raw json.RawMessage, now time.Time) (validEvent, *fieldProblem) {
	var v validEvent
	var e eventRequest
	if err := json.Unmarshal(raw, &e); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return v, &fieldProblem{te.Field, fmt.Sprintf("%s must be of type %s", te.Field, te.Type)}
		}
		return v, &fieldProblem{"(event)", "event must be a JSON object"}
	}
	id, ok := parseUUID(e.ID)
	if !ok {
		return v, &fieldProblem{"id", "id must be a UUID"}
	}
	v.id = id
	if e.Type != "usage" {
		return v, &fieldProblem{"type", `type must be "usage"`}
	}
	start, p := parseStart(e.Start)
	if p != nil {
		return v, p
	}
	if start > now.Add(maxFutureSkew).UnixMilli() {
		return v, &fieldProblem{"start", "start is more than 5 minutes in the future"}
	}
	if start < earliestStart {
		return v, &fieldProblem{"start", "start is before 2000-01-01"}
	}
	v.startMs = start
	if e.DurationMs == nil {
		return v, &fieldProblem{"duration_ms", "duration_ms is required"}
	}
	if *e.DurationMs < 1 || *e.DurationMs > maxDurationMs {
		return v, &fieldProblem{"duration_ms", "duration_ms must be between 1 and 86400000"}
	}
	v.durationMs = *e.DurationMs
	if e.URL != nil && *e.URL != "" {
		if len(*e.URL) > maxURLLen {
			return v, &fieldProblem{"url", fmt.Sprintf("url is longer than %d bytes", maxURLLen)}
		}
		v.url, v.hasURL = *e.URL, true
	}
	if e.Application != nil {
		v.app, v.hasApp = *e.Application, true
	}
	if !v.hasURL && !v.hasApp {
		return v, &fieldProblem{"url", "url or application is required"}
	}
	return v, nil
}

// parseStart accepts RFC 3339 text or epoch milliseconds.
func parseStart(raw json.RawMessage) (int64, *fieldProblem) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, &fieldProblem{"start", "start is required"}
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, &fieldProblem{"start", "start must be RFC 3339 or epoch milliseconds"}
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return 0, &fieldProblem{"start", "start must be RFC 3339 or epoch milliseconds"}
		}
		return t.UnixMilli(), nil
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil || f != math.Trunc(f) || f > 1e15 || f < 0 {
		return 0, &fieldProblem{"start", "start must be RFC 3339 or epoch milliseconds"}
	}
	return int64(f), nil
}

// parseUUID parses the canonical 8-4-4-4-12 hex form.
func parseUUID(s string) ([16]byte, bool) {
	var id [16]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return id, false
	}
	h := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	if _, err := hex.Decode(id[:], []byte(h)); err != nil {
		return id, false
	}
	return id, true
}

// process runs the match → switches → URL stages and attaches the context.
func (s *Server) process(st *state, ev validEvent, rc requestContext) (store.IngestEvent, DropReason) {
	// Match: the server decides from the URL when it has one.
	var appID int64
	if ev.hasURL {
		u, err := url.Parse(ev.url)
		if err != nil {
			return store.IngestEvent{}, DropNoApplication
		}
		id, ok := st.matcher.MatchURL(u)
		if !ok {
			return store.IngestEvent{}, DropNoApplication
		}
		appID = id
	} else {
		if _, ok := st.apps[ev.app]; !ok {
			return store.IngestEvent{}, DropNoApplication
		}
		appID = ev.app
	}
	app := st.apps[appID]
	// Switches.
	if !st.settings.CollectWebUsage {
		return store.IngestEvent{}, DropCollectionDisabled
	}
	out := store.IngestEvent{
		ID: ev.id, AppID: appID, StartMs: ev.startMs, DurationMs: ev.durationMs,
		Entity: rc.entity, LocationType: rc.placement.Type, Site: rc.placement.Site, VPN: rc.placement.VPN,
		LocationRule: rc.placement.Rule, CountryCode: rc.location.CountryCode, Country: rc.location.Country,
		State: rc.location.State, City: rc.location.City, Latitude: rc.location.Latitude, Longitude: rc.location.Longitude,
	}
	// URL: stored only when collected globally and for the application, and
	// only in sanitized form.
	if ev.hasURL && !st.settings.storagePolicy().Hidden("url") && app.CollectURLs {
		res, err := sanitize.URL(ev.url, sanitize.Options{AllowedQueryKeys: app.AllowedQueryKeys})
		if err == nil && res.URL != "" {
			out.URL, out.Template, out.SanitizerVersion = res.URL, res.Template, sanitize.Version
			if u, err := url.Parse(res.URL); err == nil {
				out.Host = u.Hostname()
			}
		} else {
			s.metrics.urlUnsanitizable.Inc()
		}
	}
	return out, ""
}
