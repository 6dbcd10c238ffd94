package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"webusage/geo"
	"webusage/keys"
	"webusage/store"
)

// testServer is a real server on a loopback port over a real SQLite file.
type testServer struct {
	t        testing.TB
	dir      string
	url      string
	admin    string
	enroll   string
	srv      *Server
	st       *store.Store
	cancel   context.CancelFunc
	done     chan error
	storeOpt store.Options
	cfg      Config
}

type serverOption func(*testServer)

func withStoreOptions(o store.Options) serverOption { return func(ts *testServer) { ts.storeOpt = o } }
func withConfig(f func(*Config)) serverOption {
	return func(ts *testServer) { f(&ts.cfg) }
}

func startServer(t *testing.T, opts ...serverOption) *testServer {
	t.Helper()
	ts := &testServer{t: t, dir: t.TempDir(), admin: "wua_test_admin_token_0001", enroll: "wue_test_enroll_token_0001"}
	for _, o := range opts {
		o(ts)
	}
	ts.start()
	t.Cleanup(ts.stop)
	return ts
}

// start opens the store in ts.dir (bootstrapping it on first start) and
// serves on a fresh loopback port.
func (ts *testServer) start() {
	t := ts.t
	t.Helper()
	ctx := context.Background()
	kr, err := keys.Open(ts.dir, "")
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, filepath.Join(ts.dir, "webusage.db"), kr, ts.storeOpt)
	if err != nil {
		t.Fatal(err)
	}
	ah, eh := HashToken(ts.admin), HashToken(ts.enroll)
	if _, err := st.Bootstrap(ctx, ah[:], eh[:]); err != nil {
		t.Fatal(err)
	}
	cfg := ts.cfg
	cfg.Store, cfg.Keys = st, kr
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	ts.srv, ts.st, ts.cancel = srv, st, cancel
	ts.url = "http://" + l.Addr().String()
	ts.done = make(chan error, 1)
	go func() { ts.done <- srv.Serve(sctx, l) }()
}

// stop shuts the server down gracefully and closes the store.
func (ts *testServer) stop() {
	if ts.cancel == nil {
		return
	}
	ts.cancel()
	if err := <-ts.done; err != nil {
		ts.t.Errorf("serve: %v", err)
	}
	if err := ts.st.Close(); err != nil {
		ts.t.Errorf("close store: %v", err)
	}
	ts.cancel = nil
}

func (ts *testServer) restart() {
	ts.stop()
	ts.start()
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response is not JSON (%d): %s", r.status, r.body)
	}
	return m
}

// errorField returns the error body's field and code.
func (r response) errorField(t *testing.T) (field, code string) {
	t.Helper()
	e, ok := r.json(t)["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error object in %s", r.body)
	}
	f, _ := e["field"].(string)
	c, _ := e["code"].(string)
	return f, c
}

func (ts *testServer) do(method, path, token string, body any, hdr ...string) response {
	ts.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			ts.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, ts.url+path, rd)
	if err != nil {
		ts.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		ts.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// must fails the test unless the response has status want.
func (r response) must(t testing.TB, want int) response {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d: %s", r.status, want, r.body)
	}
	return r
}

func (ts *testServer) createApp(name string, patterns []string, collectURLs bool) int64 {
	ts.t.Helper()
	r := ts.do("POST", "/api/v1/applications", ts.admin, map[string]any{"name": name, "patterns": patterns, "collect_urls": collectURLs}).must(ts.t, 201)
	return int64(r.json(ts.t)["id"].(float64))
}

func (ts *testServer) patchSettings(v map[string]any) {
	ts.t.Helper()
	ts.do("PATCH", "/api/v1/settings", ts.admin, v).must(ts.t, 200)
}

func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

type ev map[string]any

func usage(url string, start time.Time, ms int64) ev {
	return ev{"id": newUUID(), "type": "usage", "url": url, "start": start.UTC().Format(time.RFC3339Nano), "duration_ms": ms}
}

func batch(device, user string, events ...ev) map[string]any {
	b := map[string]any{
		"device":  map[string]any{"id": device, "name": strings.ToUpper(device), "local_ips": []string{"10.1.2.3"}},
		"browser": map[string]any{"name": "chrome", "version": "156.0"},
		"events":  events,
	}
	if user != "" {
		b["user"] = map[string]any{"name": user, "upn": user + "@corp.example"}
	}
	return b
}

func (ts *testServer) post(b map[string]any, hdr ...string) response {
	ts.t.Helper()
	return ts.do("POST", "/api/v1/events", ts.enroll, b, hdr...)
}

// eventsRows lists every stored event visible to token in the window.
func (ts *testServer) eventsRows(token string, query string) []map[string]any {
	ts.t.Helper()
	var rows []map[string]any
	cursor := ""
	for {
		path := "/api/v1/usage/events?limit=1000&" + query
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		m := ts.do("GET", path, token, nil).must(ts.t, 200).json(ts.t)
		for _, r := range m["rows"].([]any) {
			rows = append(rows, r.(map[string]any))
		}
		next, _ := m["next_cursor"].(string)
		if next == "" {
			return rows
		}
		cursor = next
	}
}

var _ = geo.GranularityCity

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
