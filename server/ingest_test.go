package server

import (
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"webusage/store"
)

func window(t time.Time) string {
	return "from=" + url.QueryEscape(t.Add(-48*time.Hour).Format(time.RFC3339)) + "&to=" + url.QueryEscape(t.Add(time.Hour).Format(time.RFC3339))
}

func TestIngestAuth(t *testing.T) {
	ts := startServer(t)
	b := batch("d1", "u1", usage("https://crm.example.com/", time.Now(), 1000))
	if r := ts.do("POST", "/api/v1/events", "", b); r.status != 401 {
		t.Fatalf("no token: %d", r.status)
	}
	if r := ts.do("POST", "/api/v1/events", "wue_not_a_token_at_all", b); r.status != 401 {
		t.Fatalf("bad token: %d", r.status)
	}
	if r := ts.do("POST", "/api/v1/events", ts.admin, b); r.status != 403 {
		t.Fatalf("account token on the extension endpoint: %d", r.status)
	}
	if r := ts.do("GET", "/api/v1/settings", ts.enroll, nil); r.status != 403 {
		t.Fatalf("enrollment token on an admin endpoint: %d", r.status)
	}
	if r := ts.do("GET", "/api/v1/extension/config", "", nil); r.status != 401 {
		t.Fatalf("config without token: %d", r.status)
	}
	// A revoked enrollment token stops working at once.
	r := ts.do("POST", "/api/v1/enrollment-tokens", ts.admin, map[string]any{"name": "fleet-b"}).must(t, 201).json(t)
	tok := r["token"].(string)
	ts.do("GET", "/api/v1/extension/config", tok, nil).must(t, 200)
	ts.do("DELETE", fmt.Sprintf("/api/v1/enrollment-tokens/%d", int64(r["id"].(float64))), ts.admin, nil).must(t, 204)
	ts.do("GET", "/api/v1/extension/config", tok, nil).must(t, 401)
}

func TestIngestStoresMatchedAndDropsTheRest(t *testing.T) {
	ts := startServer(t)
	crm := ts.createApp("CRM", []string{"*.crm.example.com/*"}, true)
	now := time.Now()
	e1 := usage("https://eu.crm.example.com/accounts/42?token=s3cr3t", now.Add(-time.Hour), 60_000)
	e2 := usage("https://news.example.org/", now.Add(-time.Hour), 30_000)
	e3 := ev{"id": newUUID(), "type": "usage", "application": crm, "start": now.Add(-30 * time.Minute).UnixMilli(), "duration_ms": 5000}
	e4 := ev{"id": newUUID(), "type": "usage", "application": 999, "start": now.UnixMilli(), "duration_ms": 5000}
	r := ts.post(batch("dev-1", "jdoe", e1, e2, e3, e4)).must(t, 200).json(t)
	if r["accepted"].(float64) != 2 || r["duplicates"].(float64) != 0 {
		t.Fatalf("response %v", r)
	}
	if r["dropped"].(map[string]any)["no_application"].(float64) != 2 {
		t.Fatalf("dropped %v", r["dropped"])
	}
	rows := ts.eventsRows(ts.admin, window(now))
	if len(rows) != 2 {
		t.Fatalf("stored %d events, want 2: %v", len(rows), rows)
	}
	for _, row := range rows {
		if row["application"] != "CRM" || row["user"] != "jdoe" || row["device"] != "DEV-1" {
			t.Errorf("row context %v", row)
		}
		// URL collection is off globally by default: no URL, template or host.
		if row["url"] != nil || row["template"] != nil || row["host"] != nil {
			t.Errorf("URL stored while URL collection is off: %v", row)
		}
	}
}

func TestIngestURLCollection(t *testing.T) {
	ts := startServer(t)
	ts.createApp("CRM", []string{"crm.example.com/*"}, true)
	ts.createApp("HR", []string{"hr.example.com/*"}, false)
	ts.patchSettings(map[string]any{"collect_urls": true})
	now := time.Now()
	raw := "https://alice:pw@crm.example.com/accounts/123456/invoices?session=abcdef123456&utm_source=mail#frag"
	ts.post(batch("d1", "u1", usage(raw, now, 1000), usage("https://hr.example.com/people/jane.doe", now, 1000))).must(t, 200)
	rows := ts.eventsRows(ts.admin, window(now))
	if len(rows) != 2 {
		t.Fatalf("got %d rows", len(rows))
	}
	for _, row := range rows {
		switch row["application"] {
		case "CRM":
			u, _ := row["url"].(string)
			if u == "" || row["template"] == nil || row["host"] != "crm.example.com" {
				t.Fatalf("CRM URL not stored sanitized: %v", row)
			}
			for _, secret := range []string{"alice", "pw@", "123456", "abcdef", "utm_source", "frag"} {
				if strings.Contains(u, secret) || strings.Contains(row["template"].(string), secret) {
					t.Errorf("sanitized URL %q keeps %q", u, secret)
				}
			}
		case "HR":
			if row["url"] != nil {
				t.Errorf("URL stored for an application without URL collection: %v", row)
			}
		}
	}
	// The raw URL is nowhere in the database file.
	assertNotInDatabase(t, ts, "abcdef123456", "jane.doe", "alice:pw")
}

func TestIngestIdempotentReplay(t *testing.T) {
	ts := startServer(t)
	ts.createApp("CRM", []string{"crm.example.com/*"}, false)
	now := time.Now()
	b := batch("d1", "u1", usage("https://crm.example.com/a", now, 1000), usage("https://crm.example.com/b", now, 2000))
	ts.post(b).must(t, 200)
	r := ts.post(b).must(t, 200).json(t)
	if r["accepted"].(float64) != 0 || r["duplicates"].(float64) != 2 {
		t.Fatalf("replay: %v", r)
	}
	if n := len(ts.eventsRows(ts.admin, window(now))); n != 2 {
		t.Fatalf("stored %d events after replay, want 2", n)
	}
}

func TestIngestBadInput(t *testing.T) {
	ts := startServer(t, withConfig(func(c *Config) { c.MaxBodyBytes = 64 << 10; c.MaxBatchEvents = 10 }))
	ts.createApp("CRM", []string{"crm.example.com/*"}, false)
	now := time.Now()
	cases := []struct {
		name   string
		body   any
		status int
		field  string
	}{
		{"malformed JSON", `{"device":`, 400, "(body)"},
		{"not an object", `[1,2]`, 400, "(body)"},
		{"device id wrong type", `{"device":{"id":5},"events":[]}`, 400, "device.id"},
		{"events wrong type", `{"device":{"id":"d"},"events":{}}`, 400, "events"},
		{"missing device id", map[string]any{"device": map[string]any{}, "events": []any{}}, 400, "device.id"},
		{"missing events", map[string]any{"device": map[string]any{"id": "d"}}, 400, "events"},
		{"bad local ip", map[string]any{"device": map[string]any{"id": "d", "local_ips": []string{"10.0.0.300"}}, "events": []any{}}, 400, "device.local_ips[0]"},
		{"control chars", map[string]any{"device": map[string]any{"id": "d\n"}, "events": []any{}}, 400, "device.id"},
		{"too many events", batch("d", "u", func() []ev {
			var es []ev
			for range 11 {
				es = append(es, usage("https://crm.example.com/", now, 1))
			}
			return es
		}()...), 400, "events"},
		{"oversize body", `{"device":{"id":"` + strings.Repeat("x", 70<<10) + `"},"events":[]}`, 413, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := ts.do("POST", "/api/v1/events", ts.enroll, c.body)
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
			}
			if f, _ := r.errorField(t); f != c.field {
				t.Fatalf("field %q, want %q", f, c.field)
			}
		})
	}
	// Per-event problems are reported by index; the valid events are stored.
	good := usage("https://crm.example.com/ok", now, 1000)
	bad := []ev{
		{"id": "nope", "type": "usage", "url": "https://crm.example.com/", "start": now.Format(time.RFC3339), "duration_ms": 1},
		{"id": newUUID(), "type": "focus", "url": "https://crm.example.com/", "start": now.Format(time.RFC3339), "duration_ms": 1},
		{"id": newUUID(), "type": "usage", "url": "https://crm.example.com/", "start": "yesterday", "duration_ms": 1},
		{"id": newUUID(), "type": "usage", "url": "https://crm.example.com/", "start": now.Add(10 * time.Minute).Format(time.RFC3339), "duration_ms": 1},
		{"id": newUUID(), "type": "usage", "url": "https://crm.example.com/", "start": now.Format(time.RFC3339), "duration_ms": 0},
		{"id": newUUID(), "type": "usage", "url": "https://crm.example.com/", "start": now.Format(time.RFC3339), "duration_ms": 86_400_001},
		{"id": newUUID(), "type": "usage", "url": "https://crm.example.com/", "start": now.Format(time.RFC3339), "duration_ms": "60"},
		{"id": newUUID(), "type": "usage", "start": now.Format(time.RFC3339), "duration_ms": 5},
		{"id": newUUID(), "type": "usage", "url": "https://crm.example.com/" + strings.Repeat("a", 9000), "start": now.Format(time.RFC3339), "duration_ms": 5},
	}
	wantFields := []string{"id", "type", "start", "start", "duration_ms", "duration_ms", "duration_ms", "url", "url"}
	r := ts.post(batch("d1", "u1", append([]ev{good}, bad...)...)).must(t, 200).json(t)
	if r["accepted"].(float64) != 1 {
		t.Fatalf("accepted %v", r)
	}
	errs := r["errors"].([]any)
	if len(errs) != len(bad) {
		t.Fatalf("errors %v", errs)
	}
	for i, e := range errs {
		m := e.(map[string]any)
		want := fmt.Sprintf("events[%d].%s", i+1, wantFields[i])
		if int(m["index"].(float64)) != i+1 || m["field"] != want {
			t.Errorf("error %d: %v, want index %d field %s", i, m, i+1, want)
		}
		if strings.Contains(fmt.Sprint(m["message"]), "crm.example.com") {
			t.Errorf("error message echoes the URL: %v", m)
		}
	}
}

func TestIngestCollectionDisabled(t *testing.T) {
	ts := startServer(t)
	ts.createApp("CRM", []string{"crm.example.com/*"}, false)
	ts.patchSettings(map[string]any{"collect_web_usage": false})
	cfg := ts.do("GET", "/api/v1/extension/config", ts.enroll, nil).must(t, 200).json(t)
	if cfg["collect_web_usage"] != false || len(cfg["applications"].([]any)) != 0 {
		t.Fatalf("config while collection is off: %v", cfg)
	}
	r := ts.post(batch("d1", "u1", usage("https://crm.example.com/", time.Now(), 1000))).must(t, 200).json(t)
	if r["accepted"].(float64) != 0 || r["dropped"].(map[string]any)["collection_disabled"].(float64) != 1 {
		t.Fatalf("response %v", r)
	}
}

func TestIngestUsernamePolicy(t *testing.T) {
	ts := startServer(t)
	ts.createApp("CRM", []string{"crm.example.com/*"}, false)
	now := time.Now()
	ts.patchSettings(map[string]any{"username": "hashed"})
	ts.post(batch("d1", "alice.hashed", usage("https://crm.example.com/", now, 1000))).must(t, 200)
	ts.patchSettings(map[string]any{"username": "none"})
	ts.post(batch("d2", "bob.none", usage("https://crm.example.com/", now, 1000))).must(t, 200)
	ts.patchSettings(map[string]any{"username": "clear", "collect_upn": true})
	ts.post(batch("carol-laptop-7781", "carol.clear", usage("https://crm.example.com/", now, 1000))).must(t, 200)

	rows := ts.eventsRows(ts.admin, window(now))
	users := map[string]any{}
	for _, r := range rows {
		users[r["device"].(string)] = r["user"]
	}
	if u, _ := users["D1"].(string); u == "" || strings.Contains(u, "alice") {
		t.Errorf("hashed mode stored %q", u)
	}
	if users["D2"] != nil {
		t.Errorf("none mode stored %v", users["D2"])
	}
	if users["CAROL-LAPTOP-7781"] != "carol.clear" {
		t.Errorf("clear mode stored %v", users["CAROL-LAPTOP-7781"])
	}
	// The hashed user can still be found by the clear name an admin knows.
	m := ts.do("GET", "/api/v1/usage?group_by=user&user=alice.hashed&"+window(now), ts.admin, nil).must(t, 200).json(t)
	if rs := m["rows"].([]any); len(rs) != 1 || rs[0].(map[string]any)["user"] != users["D1"] {
		t.Fatalf("filter by clear name in hashed mode: %v", m)
	}
	// Names are sealed at rest: none appears in the raw database file.
	assertNotInDatabase(t, ts, "alice.hashed", "bob.none", "carol.clear", "carol-laptop-7781", "corp.example", "10.1.2.3")
}

func TestQueueFullGives503(t *testing.T) {
	ts := startServer(t, withStoreOptions(store.Options{QueueEvents: 1}))
	ts.createApp("CRM", []string{"crm.example.com/*"}, false)
	now := time.Now()
	r := ts.post(batch("d1", "u1", usage("https://crm.example.com/", now, 1), usage("https://crm.example.com/", now, 1)))
	if r.status != 503 || r.header.Get("Retry-After") == "" {
		t.Fatalf("status %d Retry-After %q", r.status, r.header.Get("Retry-After"))
	}
	if n := len(ts.eventsRows(ts.admin, window(now))); n != 0 {
		t.Fatalf("a refused batch stored %d events", n)
	}
}

func TestRestartKeepsData(t *testing.T) {
	ts := startServer(t)
	ts.createApp("CRM", []string{"crm.example.com/*"}, false)
	ts.patchSettings(map[string]any{"geolocation": "country"})
	now := time.Now()
	ts.post(batch("d1", "u1", usage("https://crm.example.com/", now, 1000))).must(t, 200)
	ts.restart()
	if n := len(ts.eventsRows(ts.admin, window(now))); n != 1 {
		t.Fatalf("after restart %d events", n)
	}
	s := ts.do("GET", "/api/v1/settings", ts.admin, nil).must(t, 200).json(t)
	if s["geolocation"] != "country" {
		t.Fatalf("settings lost: %v", s)
	}
	// The same tokens still work (bootstrap does not run twice).
	ts.do("GET", "/api/v1/extension/config", ts.enroll, nil).must(t, 200)
}

func TestGracefulShutdownCommitsAccepted(t *testing.T) {
	ts := startServer(t)
	ts.createApp("CRM", []string{"crm.example.com/*"}, false)
	now := time.Now()
	var mu sync.Mutex
	acked := 0
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var es []ev
				for range 50 {
					es = append(es, usage("https://crm.example.com/", now, 10))
				}
				r, err := postRaw(ts, batch(fmt.Sprintf("dev-%d", w), "u", es...))
				if err != nil {
					return // server gone
				}
				if r == 200 {
					mu.Lock()
					acked += 50
					mu.Unlock()
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	ts.stop() // graceful: in-flight batches are committed before Serve returns
	close(stop)
	wg.Wait()
	ts.start()
	got := len(ts.eventsRows(ts.admin, window(now)))
	if acked == 0 || got < acked {
		t.Fatalf("acknowledged %d events, stored %d", acked, got)
	}
}
