package server

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestHealthMetricsAndCORS(t *testing.T) {
	ts := startServer(t)
	ts.do("GET", "/healthz", "", nil).must(t, 200)
	ts.createApp("CRM", []string{"crm.example.com/*"}, false)
	ts.post(batch("d1", "u1", usage("https://crm.example.com/", time.Now(), 1), usage("https://elsewhere.test/", time.Now(), 1))).must(t, 200)
	m := string(ts.do("GET", "/metrics", "", nil).must(t, 200).body)
	for _, want := range []string{"webusage_ingest_accepted_events_total 1", `webusage_ingest_dropped_events_total{reason="no_application"} 1`,
		"webusage_commit_batch_events_count", "go_goroutines"} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	r := ts.do("OPTIONS", "/api/v1/events", "", nil, "Origin", "chrome-extension://abc", "Access-Control-Request-Method", "POST")
	if r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(r.header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("preflight: %d %v", r.status, r.header)
	}
	meta := ts.do("GET", "/api/v1/meta", "", nil).must(t, 200).json(t)
	if meta["sanitizer_version"] == "" {
		t.Fatalf("meta %v", meta)
	}
}

func TestSettings(t *testing.T) {
	ts := startServer(t)
	s := ts.do("GET", "/api/v1/settings", ts.admin, nil).must(t, 200).json(t)
	want := map[string]any{"collect_web_usage": true, "collect_urls": false, "username": "clear", "collect_upn": false,
		"geolocation": "city", "extension_idle_seconds": 60.0, "extension_flush_seconds": 60.0}
	for k, v := range want {
		if s[k] != v {
			t.Errorf("default %s = %v, want %v", k, s[k], v)
		}
	}
	bad := []struct {
		body  string
		field string
	}{
		{`{"username":"reversible"}`, "username"},
		{`{"geolocation":"street"}`, "geolocation"},
		{`{"collect_urls":"yes"}`, "collect_urls"},
		{`{"extension_idle_seconds":5}`, "extension_idle_seconds"},
		{`{"extension_flush_seconds":4000}`, "extension_flush_seconds"},
		{`{"retention_days":0}`, "retention_days"},
		{`{"colect_urls":true}`, "colect_urls"},
		{`[]`, "(body)"},
	}
	for _, b := range bad {
		r := ts.do("PATCH", "/api/v1/settings", ts.admin, b.body)
		if r.status != 400 {
			t.Errorf("%s: status %d", b.body, r.status)
			continue
		}
		if f, _ := r.errorField(t); f != b.field {
			t.Errorf("%s: field %q, want %q", b.body, f, b.field)
		}
	}
	// A refused patch changes nothing, even the valid fields in it.
	ts.do("PATCH", "/api/v1/settings", ts.admin, `{"collect_urls":true,"username":"bad"}`).must(t, 400)
	if ts.do("GET", "/api/v1/settings", ts.admin, nil).json(t)["collect_urls"] != false {
		t.Fatal("half-applied settings patch")
	}
	got := ts.do("PATCH", "/api/v1/settings", ts.admin, `{"collect_urls":true,"extension_flush_seconds":5,"extension_idle_seconds":15}`).must(t, 200).json(t)
	if got["collect_urls"] != true || got["extension_flush_seconds"] != 5.0 {
		t.Fatalf("patched %v", got)
	}
	cfg := ts.do("GET", "/api/v1/extension/config", ts.enroll, nil).must(t, 200).json(t)
	if cfg["flush_seconds"] != 5.0 || cfg["idle_seconds"] != 15.0 || cfg["collect_urls"] != true {
		t.Fatalf("extension config %v", cfg)
	}
}

func TestApplicationsCRUDAndValidation(t *testing.T) {
	ts := startServer(t)
	id := ts.createApp("CRM", []string{"*.crm.example.com/*", "intranet/crm/*"}, true)
	ts.do("GET", fmt.Sprintf("/api/v1/applications/%d", id), ts.admin, nil).must(t, 200)
	bad := []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"patterns": []string{"a.example.com/*"}}, "name"},
		{map[string]any{"name": "X"}, "patterns"},
		{map[string]any{"name": "X", "patterns": []string{"https://x.example.com/*"}}, "patterns[0]"},
		{map[string]any{"name": "X", "patterns": []string{"ok.example.com/*", "x.example.com:8080/*"}}, "patterns[1]"},
		{map[string]any{"name": "X", "patterns": []string{"x.example.com/*"}, "allowed_query_keys": []string{"page", "access_token"}}, "allowed_query_keys[1]"},
		{map[string]any{"name": "X", "patterns": []string{"x.example.com/*"}, "allowed_query_keys": []string{"utm_source"}}, "allowed_query_keys[0]"},
		{map[string]any{"name": "X", "patterns": []string{"x.example.com/*"}, "extra": 1}, "extra"},
	}
	for _, b := range bad {
		r := ts.do("POST", "/api/v1/applications", ts.admin, b.body)
		if r.status != 400 {
			t.Errorf("%v: status %d", b.body, r.status)
			continue
		}
		if f, _ := r.errorField(t); f != b.field {
			t.Errorf("%v: field %q, want %q", b.body, f, b.field)
		}
	}
	if r := ts.do("POST", "/api/v1/applications", ts.admin, map[string]any{"name": "crm", "patterns": []string{"y.example.com/*"}}); r.status != 409 {
		t.Fatalf("duplicate name: %d", r.status)
	}
	ts.do("PUT", fmt.Sprintf("/api/v1/applications/%d", id), ts.admin, map[string]any{"name": "CRM 2", "patterns": []string{"crm2.example.com/*"},
		"allowed_query_keys": []string{"page"}}).must(t, 200)
	cfg := ts.do("GET", "/api/v1/extension/config", ts.enroll, nil).json(t)
	apps := cfg["applications"].([]any)
	if len(apps) != 1 || apps[0].(map[string]any)["name"] != "CRM 2" {
		t.Fatalf("config after update: %v", cfg)
	}
	// Past events keep their application after it is deleted.
	now := time.Now()
	ts.post(batch("d1", "u1", usage("https://crm2.example.com/", now, 1000))).must(t, 200)
	ts.do("DELETE", fmt.Sprintf("/api/v1/applications/%d", id), ts.admin, nil).must(t, 204)
	ts.do("GET", fmt.Sprintf("/api/v1/applications/%d", id), ts.admin, nil).must(t, 404)
	ts.do("DELETE", fmt.Sprintf("/api/v1/applications/%d", id), ts.admin, nil).must(t, 404)
	rows := ts.eventsRows(ts.admin, window(now))
	if len(rows) != 1 || rows[0]["application"] != "CRM 2" {
		t.Fatalf("events after delete: %v", rows)
	}
	r := ts.post(batch("d1", "u1", usage("https://crm2.example.com/", now, 1000))).must(t, 200).json(t)
	if r["accepted"].(float64) != 0 {
		t.Fatalf("deleted application still matches: %v", r)
	}
}

func TestAuditRecordsActionsNotValues(t *testing.T) {
	ts := startServer(t)
	ts.createApp("Secret Project Name", []string{"secret-host.example.com/*"}, false)
	ts.patchSettings(map[string]any{"username": "hashed"})
	ts.do("PUT", "/api/v1/locations", ts.admin, map[string]any{"sites": []any{map[string]any{"name": "Hidden Site", "public_ips": []string{"203.0.113.0/24"}}}}).must(t, 200)
	r := ts.do("POST", "/api/v1/enrollment-tokens", ts.admin, map[string]any{"name": "fleet"}).must(t, 201).json(t)
	ts.do("GET", "/api/v1/usage?format=csv", ts.admin, nil).must(t, 200)
	body := ts.do("GET", "/api/v1/audit", ts.admin, nil).must(t, 200)
	var out struct {
		Entries []struct{ Account, Action, Target string }
	}
	if err := json.Unmarshal(body.body, &out); err != nil {
		t.Fatal(err)
	}
	actions := map[string]bool{}
	for _, e := range out.Entries {
		actions[strings.SplitN(e.Action, ":", 2)[0]] = true
		if e.Account == "" {
			t.Errorf("entry without account: %+v", e)
		}
	}
	for _, want := range []string{"application.create", "settings.update", "locations.replace", "token.create", "export.csv", "instance.bootstrap"} {
		if !actions[want] {
			t.Errorf("audit lacks %s: %s", want, body.body)
		}
	}
	for _, secret := range []string{"Secret Project", "secret-host", "hashed", "Hidden Site", "203.0.113", r["token"].(string)} {
		if strings.Contains(string(body.body), secret) {
			t.Errorf("audit trail contains the value %q", secret)
		}
	}
	ts.do("GET", "/api/v1/audit", ts.enroll, nil).must(t, 403)
	ts.do("GET", "/api/v1/audit?limit=0", ts.admin, nil).must(t, 400)
}

func TestSanitizeEndpoint(t *testing.T) {
	ts := startServer(t)
	in := []string{"https://user:pw@crm.example.com/accounts/123456789/invoices?token=abc#x", "not a url at all", "javascript:alert(1)"}
	r := ts.do("POST", "/api/v1/sanitize", ts.admin, map[string]any{"urls": in}).must(t, 200).json(t)
	res := r["results"].([]any)
	if len(res) != len(in) {
		t.Fatalf("results %v", res)
	}
	first := res[0].(map[string]any)
	if u := first["url"].(string); u == "" || strings.Contains(u, "pw") || strings.Contains(u, "123456789") || strings.Contains(u, "abc") {
		t.Fatalf("sanitized %q", u)
	}
	if first["template"] == "" {
		t.Fatal("no template")
	}
	ts.do("POST", "/api/v1/sanitize", ts.enroll, map[string]any{"urls": in}).must(t, 403)
	ts.do("POST", "/api/v1/sanitize", ts.admin, map[string]any{}).must(t, 400)
}

func TestUsageQueries(t *testing.T) {
	ts := startServer(t)
	ts.createApp("CRM", []string{"crm.example.com/*"}, false)
	ts.createApp("Wiki", []string{"wiki.example.com/*"}, false)
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	ts.srv.now = func() time.Time { return day.Add(72 * time.Hour) }
	at := func(h, m int) time.Time { return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	ts.post(batch("d1", "alice",
		usage("https://crm.example.com/", at(9, 50), 20*60_000),   // clipped to 10 min in [10:00, 11:00)
		usage("https://crm.example.com/", at(10, 30), 10*60_000),  // 10 min
		usage("https://wiki.example.com/", at(10, 55), 10*60_000), // 5 min
		usage("https://crm.example.com/", at(11, 0), 5*60_000),    // outside
	)).must(t, 200)
	ts.post(batch("d2", "bob", usage("https://crm.example.com/", at(10, 0), 60_000))).must(t, 200)
	w := "from=" + at(10, 0).Format(time.RFC3339) + "&to=" + at(11, 0).Format(time.RFC3339)
	m := ts.do("GET", "/api/v1/usage?group_by=application&"+w, ts.admin, nil).must(t, 200).json(t)
	got := map[string]map[string]any{}
	for _, r := range m["rows"].([]any) {
		row := r.(map[string]any)
		got[row["application"].(string)] = row
	}
	if got["CRM"]["usage_ms"] != 21.0*60_000 || got["CRM"]["events"] != 3.0 || got["CRM"]["users"] != 2.0 || got["CRM"]["devices"] != 2.0 {
		t.Errorf("CRM %v", got["CRM"])
	}
	if got["Wiki"]["usage_ms"] != 5.0*60_000 {
		t.Errorf("Wiki %v", got["Wiki"])
	}
	// Filters, grouping by user and day, sort and CSV.
	m = ts.do("GET", "/api/v1/usage?group_by=user,day&application=CRM&user=alice&"+w, ts.admin, nil).must(t, 200).json(t)
	rows := m["rows"].([]any)
	if len(rows) != 1 || rows[0].(map[string]any)["user"] != "alice" || rows[0].(map[string]any)["day"] != "2026-11-20" {
		t.Fatalf("filtered %v", rows)
	}
	csv := string(ts.do("GET", "/api/v1/usage?group_by=application&sort=application&order=asc&"+w, ts.admin, nil, "Accept", "text/csv").must(t, 200).body)
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	if lines[0] != "application,usage_ms,events,users,devices" || !strings.HasPrefix(lines[1], "CRM,") || !strings.HasPrefix(lines[2], "Wiki,") {
		t.Fatalf("csv:\n%s", csv)
	}
	for _, q := range []struct{ query, field string }{
		{"group_by=color", "color"}, {"group_by=user,user", "group_by"}, {"sort=nothing", "sort"}, {"from=yesterday", "from"},
		{"from=2026-11-21&to=2026-11-20", "to"}, {"format=xml", "format"}, {"colour=red", "colour"},
	} {
		r := ts.do("GET", "/api/v1/usage?"+q.query, ts.admin, nil)
		if r.status != 400 {
			t.Errorf("%s: status %d %s", q.query, r.status, r.body)
			continue
		}
		if f, _ := r.errorField(t); f != q.field {
			t.Errorf("%s: field %q, want %q", q.query, f, q.field)
		}
	}
	// Whole-day windows are answered from rollups: same figures.
	d := "from=2026-11-20&to=2026-11-21"
	m = ts.do("GET", "/api/v1/usage?group_by=application&"+d, ts.admin, nil).must(t, 200).json(t)
	for _, r := range m["rows"].([]any) {
		row := r.(map[string]any)
		if row["application"] == "CRM" && (row["usage_ms"] != 36.0*60_000 || row["events"] != 4.0 || row["users"] != 2.0) {
			t.Errorf("whole-day CRM %v", row)
		}
	}
}

func TestEventsPagination(t *testing.T) {
	ts := startServer(t)
	ts.createApp("CRM", []string{"crm.example.com/*"}, false)
	now := time.Now()
	var es []ev
	for range 25 {
		es = append(es, usage("https://crm.example.com/", now.Add(-time.Minute), 1000))
	}
	ts.post(batch("d1", "u1", es...)).must(t, 200)
	seen := map[string]bool{}
	cursor, pages := "", 0
	for {
		path := "/api/v1/usage/events?limit=10&" + window(now)
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		m := ts.do("GET", path, ts.admin, nil).must(t, 200).json(t)
		pages++
		for _, r := range m["rows"].([]any) {
			id := r.(map[string]any)["id"].(string)
			if seen[id] {
				t.Fatalf("event %s on two pages", id)
			}
			seen[id] = true
		}
		next, _ := m["next_cursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	if len(seen) != 25 || pages != 3 {
		t.Fatalf("%d events over %d pages", len(seen), pages)
	}
	for _, e := range es {
		if !seen[e["id"].(string)] {
			t.Fatalf("event %v not listed", e["id"])
		}
	}
	ts.do("GET", "/api/v1/usage/events?cursor=%21%21", ts.admin, nil).must(t, 400)
	ts.do("GET", "/api/v1/usage/events?limit=5000", ts.admin, nil).must(t, 400)
}

// TestUsageByTemplate: with URL collection on, analysts who may see
// destinations group usage by host and path template; others are refused.
func TestUsageByTemplate(t *testing.T) {
	ts := startServer(t)
	ts.createApp("CRM", []string{"crm.example.com/*"}, true)
	ts.patchSettings(map[string]any{"collect_urls": true})
	now := time.Now()
	ts.post(batch("d1", "u1",
		usage("https://crm.example.com/accounts/1234567/invoices", now, 1000),
		usage("https://crm.example.com/accounts/7654321/invoices", now, 2000),
		usage("https://crm.example.com/reports", now, 500))).must(t, 200)
	m := ts.do("GET", "/api/v1/usage?group_by=host,template&"+window(now), ts.admin, nil).must(t, 200).json(t)
	got := map[string]float64{}
	for _, r := range m["rows"].([]any) {
		row := r.(map[string]any)
		got[row["host"].(string)+row["template"].(string)] = row["usage_ms"].(float64)
	}
	if got["crm.example.com/accounts/{id}/invoices"] != 3000 || got["crm.example.com/reports"] != 500 {
		t.Fatalf("by template: %v", got)
	}
	m = ts.do("GET", "/api/v1/usage?group_by=application&template=/reports&"+window(now), ts.admin, nil).must(t, 200).json(t)
	if rows := m["rows"].([]any); len(rows) != 1 || rows[0].(map[string]any)["usage_ms"] != 500.0 {
		t.Fatalf("filtered by template: %v", rows)
	}
}
