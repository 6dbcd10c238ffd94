package server

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// The privacy matrix: every combination of view domain (full, limited by
// entity, limited by classification) × the three data-privacy classes
// (hidden or visible) × roles given by the main role alone, by main plus
// granting additional roles, or by main plus an all-hidden additional role,
// against every read endpoint and format. It asserts that a hidden value
// never appears anywhere in a response body (JSON, CSV, error), that rows
// outside the view domain never appear nor count, and that every attempt to
// get around this (filters, group_by, sort keys, cursors,
// classification grouping, CSV) is refused or comes back empty.

// pvDevice is a seeded device: its entity follows from the organization
// rules below (name glob, public IP, or nothing → n/a).
type pvDevice struct {
	name, id, entity, publicIP, localIP string
}

// pvEvents is one seeded batch: n events of ms each on device by user, at
// https://<word>.crm.example.com/reports/<word>secret.
type pvEvents struct {
	device, user, word string
	n                  int
	ms                 int64
}

var pvDevices = []pvDevice{
	{"LAU-ALPHA", "d-alpha-91", "Lausanne", "192.0.2.11", "10.11.0.5"},
	{"LAU-BETA", "d-beta-92", "Lausanne", "192.0.2.12", "10.11.0.6"},
	{"ZRH-GAMMA", "d-gamma-93", "Zurich", "192.0.2.13", "10.12.0.7"},
	{"TKY-DELTA", "d-delta-94", "Tokyo", "203.0.113.44", "10.13.0.8"},
	{"WS-ORPHAN", "d-orphan-95", "n/a", "192.0.2.99", "10.14.0.9"},
}

var pvBatches = []pvEvents{
	{"LAU-ALPHA", "alice.martin", "alpine", 2, 60_000},
	{"LAU-ALPHA", "bob.favre", "alpine", 1, 30_000},
	{"LAU-BETA", "bob.favre", "birch", 1, 45_000},
	{"ZRH-GAMMA", "zoe.keller", "glacier", 2, 20_000},
	{"TKY-DELTA", "taro.yamada", "sakura", 1, 90_000},
	{"TKY-DELTA", "zoe.keller", "sakura", 1, 15_000},
	{"WS-ORPHAN", "nina.unset", "orphanage", 1, 25_000},
}

var pvAllEntities = []string{"Lausanne", "Zurich", "Tokyo", "n/a"}

var pvRegion = map[string]string{"Lausanne": "Europe", "Zurich": "Europe", "Tokyo": "Asia"}

func pvDeviceByName(name string) pvDevice {
	for _, d := range pvDevices {
		if d.name == name {
			return d
		}
	}
	panic("no device " + name)
}

// needle is a seeded value of a class, tied to the entities whose rows
// carry it.
type needle struct {
	value    string
	class    string // users, devices, destinations
	entities []string
}

func pvNeedles() []needle {
	var out []needle
	byValue := map[string]int{}
	add := func(value, class, entity string) {
		if i, ok := byValue[value]; ok {
			if !slices.Contains(out[i].entities, entity) {
				out[i].entities = append(out[i].entities, entity)
			}
			return
		}
		byValue[value] = len(out)
		out = append(out, needle{value, class, []string{entity}})
	}
	for _, d := range pvDevices {
		for _, v := range []string{d.name, d.id, d.publicIP, d.localIP} {
			add(v, "devices", d.entity)
		}
	}
	for _, b := range pvBatches {
		e := pvDeviceByName(b.device).entity
		add(b.user, "users", e)
		add(b.user+"@corp.example", "users", e)
		add(b.word+".crm.example.com", "destinations", e)
		add(b.word+"secret", "destinations", e)
	}
	return out
}

// expected is what a view domain must see.
type expected struct {
	events, usageMs int64
	users, devices  []string // distinct, from events in the domain
	deviceList      []string // devices whose current entity is in the domain
	userDevices     map[string]int
	entities        []string // entities with events in the domain
}

func pvExpected(domain []string) expected {
	x := expected{userDevices: map[string]int{}}
	userDev := map[string]map[string]bool{}
	for _, b := range pvBatches {
		e := pvDeviceByName(b.device).entity
		if !slices.Contains(domain, e) {
			continue
		}
		x.events += int64(b.n)
		x.usageMs += int64(b.n) * b.ms
		if !slices.Contains(x.users, b.user) {
			x.users = append(x.users, b.user)
		}
		if !slices.Contains(x.devices, b.device) {
			x.devices = append(x.devices, b.device)
		}
		if !slices.Contains(x.entities, e) {
			x.entities = append(x.entities, e)
		}
		if userDev[b.user] == nil {
			userDev[b.user] = map[string]bool{}
		}
		userDev[b.user][b.device] = true
	}
	for u, ds := range userDev {
		x.userDevices[u] = len(ds)
	}
	for _, d := range pvDevices {
		if slices.Contains(domain, d.entity) {
			x.deviceList = append(x.deviceList, d.name)
		}
	}
	sort.Strings(x.users)
	sort.Strings(x.devices)
	sort.Strings(x.deviceList)
	sort.Strings(x.entities)
	return x
}

// pvServer starts a server that believes X-Forwarded-For from loopback (so
// each device has its own public IP), collects URLs and UPNs, and holds the
// seeded organization and events.
func pvServer(t *testing.T) (*testServer, time.Time) {
	t.Helper()
	ts := startServer(t, withConfig(func(c *Config) {
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	}))
	ts.patchSettings(map[string]any{"collect_urls": true, "collect_upn": true})
	ts.createApp("CRM", []string{"*.crm.example.com/*"}, true)
	ts.do("PUT", "/api/v1/organization", ts.admin, map[string]any{
		"entities": []map[string]any{
			{"name": "Lausanne", "classifications": map[string]string{"Region": "Europe", "Country": "Switzerland"}},
			{"name": "Zurich", "classifications": map[string]string{"Region": "Europe", "Country": "Switzerland"}},
			{"name": "Tokyo", "classifications": map[string]string{"Region": "Asia", "Country": "Japan"}},
		},
		"rules": []map[string]any{
			{"entity": "Lausanne", "device_name": "LAU-*"},
			{"entity": "Zurich", "device_name": "zrh-?????"},
			{"entity": "Tokyo", "public_ip": "203.0.113.0/24"},
		},
	}).must(t, 200)
	base := time.Now().Add(-3 * time.Hour).Truncate(time.Minute)
	for i, b := range pvBatches {
		d := pvDeviceByName(b.device)
		var evs []ev
		for j := range b.n {
			url := fmt.Sprintf("https://%s.crm.example.com/reports/%ssecret?session=%d", b.word, b.word, j)
			evs = append(evs, usage(url, base.Add(time.Duration(i*10+j)*time.Minute), b.ms))
		}
		body := map[string]any{
			"device":  map[string]any{"id": d.id, "name": d.name, "local_ips": []string{d.localIP}},
			"user":    map[string]any{"name": b.user, "upn": b.user + "@corp.example"},
			"browser": map[string]any{"name": "firefox", "version": "140.0"},
			"events":  evs,
		}
		r := ts.post(body, "X-Forwarded-For", d.publicIP).must(t, 200).json(t)
		if r["accepted"].(float64) != float64(b.n) {
			t.Fatalf("seed batch %d: %v", i, r)
		}
	}
	return ts, base
}

type pvDomain struct {
	name     string
	view     map[string]any
	entities []string
}

var pvDomains = []pvDomain{
	{"full", map[string]any{"access": "full"}, pvAllEntities},
	{"lausanne", map[string]any{"access": "limited", "entities": []string{"Lausanne"}}, []string{"Lausanne"}},
	{"europe", map[string]any{"access": "limited", "classification": "Region", "values": []string{"Europe"}}, []string{"Lausanne", "Zurich"}},
}

// pvPrivacy is a visibility combination: bit 0 users, 1 devices, 2 destinations.
type pvPrivacy int

func (p pvPrivacy) users() bool   { return p&1 != 0 }
func (p pvPrivacy) devices() bool { return p&2 != 0 }
func (p pvPrivacy) dests() bool   { return p&4 != 0 }
func (p pvPrivacy) json() map[string]string {
	v := func(b bool) string {
		if b {
			return "visible"
		}
		return "hidden"
	}
	return map[string]string{"users": v(p.users()), "devices": v(p.devices()), "destinations": v(p.dests())}
}
func (p pvPrivacy) visible(class string) bool {
	switch class {
	case "users":
		return p.users()
	case "devices":
		return p.devices()
	case "destinations":
		return p.dests()
	}
	panic(class)
}

// pvAccount is one account of the matrix.
type pvAccount struct {
	name    string
	token   string
	domain  pvDomain
	privacy pvPrivacy
}

func (ts *testServer) createRole(body map[string]any) int64 {
	ts.t.Helper()
	r := ts.do("POST", "/api/v1/roles", ts.admin, body).must(ts.t, 201)
	return int64(r.json(ts.t)["id"].(float64))
}

func (ts *testServer) createAccount(name string, main any, additional ...any) string {
	ts.t.Helper()
	if additional == nil {
		additional = []any{}
	}
	r := ts.do("POST", "/api/v1/accounts", ts.admin, map[string]any{"name": name, "main_role": main, "additional_roles": additional}).must(ts.t, 201)
	return r.json(ts.t)["token"].(string)
}

// pvAccounts creates, for every domain and privacy combination, one account
// whose main role carries everything, one whose main role hides every class
// and grants only view_web_usage, with an additional role granting the
// visibility and export_web_usage, and one whose main role carries everything
// plus an additional role that hides every class (it must take nothing away).
func pvAccounts(ts *testServer) []pvAccount {
	var out []pvAccount
	extra := map[pvPrivacy]int64{}
	for p := pvPrivacy(0); p < 8; p++ {
		extra[p] = ts.createRole(map[string]any{"name": fmt.Sprintf("extra-%d", p), "type": "additional",
			"privacy": p.json(), "permissions": []string{"export_web_usage"}})
	}
	for _, d := range pvDomains {
		bare := ts.createRole(map[string]any{"name": d.name + "-bare", "type": "main", "view_domain": d.view,
			"privacy": pvPrivacy(0).json(), "permissions": []string{"view_web_usage"}})
		for p := pvPrivacy(0); p < 8; p++ {
			main := ts.createRole(map[string]any{"name": fmt.Sprintf("%s-%d", d.name, p), "type": "main", "view_domain": d.view,
				"privacy": p.json(), "permissions": []string{"view_web_usage", "export_web_usage"}})
			name := fmt.Sprintf("%s-main-%d", d.name, p)
			out = append(out, pvAccount{name, ts.createAccount(name, main), d, p})
			name = fmt.Sprintf("%s-plus-%d", d.name, p)
			out = append(out, pvAccount{name, ts.createAccount(name, bare, extra[p]), d, p})
			// An additional role that hides everything takes nothing away.
			name = fmt.Sprintf("%s-hiddenextra-%d", d.name, p)
			out = append(out, pvAccount{name, ts.createAccount(name, main, extra[0]), d, p})
		}
	}
	return out
}

// pvChecker sends requests as one account and checks every body for leaks.
type pvChecker struct {
	t       *testing.T
	ts      *testServer
	a       pvAccount
	x       expected
	needles []needle
	window  string
	// dayWindow is whole UTC days around the seed (answered from rollups).
	dayWindow string
}

// get sends a GET and asserts the body holds no value the account may not
// see: values of hidden classes, and values tied only to entities outside
// its view domain (any class).
func (c *pvChecker) get(path string, hdr ...string) response {
	c.t.Helper()
	r := c.ts.do("GET", path, c.a.token, nil, hdr...)
	low := bytes.ToLower(r.body)
	for _, n := range c.needles {
		inDomain := slices.ContainsFunc(n.entities, func(e string) bool { return slices.Contains(c.a.domain.entities, e) })
		if (!c.a.privacy.visible(n.class) || !inDomain) && bytes.Contains(low, []byte(strings.ToLower(n.value))) {
			c.t.Errorf("%s: GET %s (status %d) leaks %s value %q (entities %v): %.300s",
				c.a.name, path, r.status, n.class, n.value, n.entities, r.body)
		}
	}
	if !c.a.domain.full() && bytes.Contains(low, []byte("tokyo")) {
		c.t.Errorf("%s: GET %s names the out-of-domain entity Tokyo: %.300s", c.a.name, path, r.body)
	}
	return r
}

func (d pvDomain) full() bool { return d.name == "full" }

// hidden asserts a 403 naming field.
func (c *pvChecker) hidden(r response, path, field string) {
	c.t.Helper()
	if r.status != 403 {
		c.t.Errorf("%s: GET %s: status %d, want 403 for hidden %q: %s", c.a.name, path, r.status, field, r.body)
		return
	}
	if f, code := r.errorField(c.t); f != field || code != CodeForbidden {
		c.t.Errorf("%s: GET %s: error field %q code %q, want %q forbidden", c.a.name, path, f, code, field)
	}
	if !bytes.Contains(r.body, []byte(`hidden by your roles`)) {
		c.t.Errorf("%s: GET %s: message does not say the field is hidden: %s", c.a.name, path, r.body)
	}
}

// rows decodes a JSON listing.
func (c *pvChecker) rows(r response, path string) []map[string]any {
	c.t.Helper()
	if r.status != 200 {
		c.t.Fatalf("%s: GET %s: status %d: %s", c.a.name, path, r.status, r.body)
	}
	var out []map[string]any
	for _, x := range r.json(c.t)["rows"].([]any) {
		out = append(out, x.(map[string]any))
	}
	return out
}

func (c *pvChecker) usage(query string) []map[string]any {
	c.t.Helper()
	path := "/api/v1/usage?" + c.window + query
	return c.rows(c.get(path), path)
}

// strings collects column col of rows, sorted.
func colStrings(rows []map[string]any, col string) []string {
	var out []string
	for _, r := range rows {
		s, _ := r[col].(string)
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func (c *pvChecker) checkTotals() {
	t, a, x := c.t, c.a, c.x
	rows := c.usage("")
	if len(rows) != 1 {
		t.Fatalf("%s: total: %d rows", a.name, len(rows))
	}
	r := rows[0]
	if r["usage_ms"] != float64(x.usageMs) || r["events"] != float64(x.events) {
		t.Errorf("%s: total usage_ms %v events %v, want %d and %d", a.name, r["usage_ms"], r["events"], x.usageMs, x.events)
	}
	if n, ok := r["users"]; ok != a.privacy.users() || (ok && n != float64(len(x.users))) {
		t.Errorf("%s: users count %v (present %v), want %d only when users are visible", a.name, n, ok, len(x.users))
	}
	if n, ok := r["devices"]; ok != a.privacy.devices() || (ok && n != float64(len(x.devices))) {
		t.Errorf("%s: devices count %v (present %v), want %d only when devices are visible", a.name, n, ok, len(x.devices))
	}

	if got := colStrings(c.usage("group_by=entity"), "entity"); !slices.Equal(got, x.entities) {
		t.Errorf("%s: group_by=entity gives %v, want %v", a.name, got, x.entities)
	}
	var regions []string
	for _, e := range x.entities {
		if v := pvRegion[e]; !slices.Contains(regions, v) {
			regions = append(regions, v) // "" for n/a
		}
	}
	sort.Strings(regions)
	if got := colStrings(c.usage("group_by=classification.Region"), "classification.Region"); !slices.Equal(got, regions) {
		t.Errorf("%s: group_by=classification.Region gives %v, want %v", a.name, got, regions)
	}
	// Whole-day windows are answered from the rollups: the same rules apply.
	for _, g := range []string{"", "group_by=entity", "group_by=application", "group_by=classification.Region",
		"entity=Tokyo", "classification.Region=Asia", "entity=n/a"} {
		path := "/api/v1/usage?" + c.dayWindow + g
		rows := c.rows(c.get(path), path)
		var usage, events float64
		for _, r := range rows {
			usage += r["usage_ms"].(float64)
			events += r["events"].(float64)
			if e, ok := r["entity"].(string); ok && !slices.Contains(a.domain.entities, e) {
				t.Errorf("%s: GET %s shows entity %q", a.name, path, e)
			}
			if _, ok := r["users"]; ok != a.privacy.users() {
				t.Errorf("%s: GET %s: users count present=%v with users visible=%v", a.name, path, ok, a.privacy.users())
			}
			if _, ok := r["devices"]; ok != a.privacy.devices() {
				t.Errorf("%s: GET %s: devices count present=%v with devices visible=%v", a.name, path, ok, a.privacy.devices())
			}
		}
		switch {
		case strings.Contains(g, "="+"Tokyo") || strings.Contains(g, "Asia") || strings.Contains(g, "n/a"):
			if !a.domain.full() && len(rows) != 0 {
				t.Errorf("%s: GET %s returns out-of-domain rows %v", a.name, path, rows)
			}
		case usage != float64(x.usageMs) || events != float64(x.events):
			t.Errorf("%s: GET %s: usage %v events %v, want %d and %d", a.name, path, usage, events, x.usageMs, x.events)
		case g == "" && a.privacy.users() && rows[0]["users"] != float64(len(x.users)):
			t.Errorf("%s: GET %s: users %v, want %d", a.name, path, rows[0]["users"], len(x.users))
		case g == "" && a.privacy.devices() && rows[0]["devices"] != float64(len(x.devices)):
			t.Errorf("%s: GET %s: devices %v, want %d", a.name, path, rows[0]["devices"], len(x.devices))
		}
	}

	// Filtering on an hour gives that hour's group, inside the domain only.
	for _, h := range c.usage("group_by=hour") {
		got := c.usage("hour=" + url.QueryEscape(h["hour"].(string)))
		if len(got) != 1 || got[0]["usage_ms"] != h["usage_ms"] {
			t.Errorf("%s: hour=%v gives %v, want usage_ms %v", a.name, h["hour"], got, h["usage_ms"])
		}
	}

	// Another grouping must add up to the same total: nothing outside counts.
	var sum float64
	for _, r := range c.usage("group_by=application,day,hour,browser,location_type&sort=events&order=asc") {
		sum += r["usage_ms"].(float64)
	}
	if sum != float64(x.usageMs) {
		t.Errorf("%s: grouped usage adds up to %v, want %d", a.name, sum, x.usageMs)
	}
}

func (c *pvChecker) checkIdentityGrouping() {
	t, a, x := c.t, c.a, c.x
	for _, g := range []struct {
		field, class string
		want         []string
	}{{"user", "users", x.users}, {"device", "devices", x.devices}} {
		path := "/api/v1/usage?" + c.window + "group_by=" + g.field
		r := c.get(path)
		if !a.privacy.visible(g.class) {
			c.hidden(r, path, g.field)
			continue
		}
		if got := colStrings(c.rows(r, path), g.field); !slices.Equal(got, g.want) {
			t.Errorf("%s: group_by=%s gives %v, want %v", a.name, g.field, got, g.want)
		}
	}
	for _, g := range []string{"url", "template", "host"} {
		path := "/api/v1/usage?" + c.window + "group_by=application," + g
		r := c.get(path)
		want := 200 // template and host group when destinations are visible
		if g == "url" {
			want = 400 // one group per URL is the event listing, not an aggregate
		}
		if !a.privacy.dests() {
			c.hidden(r, path, g)
		} else if r.status != want {
			t.Errorf("%s: group_by=%s: status %d, want %d", a.name, g, r.status, want)
		}
	}
}

// checkAttempts tries filters and sort keys that would reveal hidden or
// out-of-domain data.
func (c *pvChecker) checkAttempts() {
	t, a := c.t, c.a
	attempts := []struct {
		query, field, class string
		outside             bool // the filter selects only out-of-domain rows for a limited domain
	}{
		{"user=taro.yamada", "user", "users", true},
		{"user=alice.martin", "user", "users", false},
		{"upn=alice.martin@corp.example", "upn", "users", false},
		{"device=TKY-DELTA", "device", "devices", true},
		{"device=d-orphan-95", "device", "devices", true},
		{"public_ip=203.0.113.44", "public_ip", "devices", true},
		{"local_ips=10.13.0.8", "local_ips", "devices", true},
		{"host=sakura.crm.example.com", "host", "destinations", true},
		{"url=https://sakura.crm.example.com/reports/sakurasecret", "url", "destinations", true},
		{"template=/reports/sakurasecret", "template", "destinations", true},
		{"sort=users", "users", "users", false},
		{"sort=devices", "devices", "devices", false},
		{"sort=user", "user", "users", false},
		{"entity=Tokyo", "", "", true},
		{"entity=n/a", "", "", true},
		{"classification.Region=Asia", "", "", true},
		{"classification.Country=Japan", "", "", true},
	}
	for _, at := range attempts {
		for _, endpoint := range []string{"/api/v1/usage?", "/api/v1/usage/events?"} {
			path := endpoint + c.window + at.query
			if endpoint == "/api/v1/usage/events?" && strings.HasPrefix(at.query, "sort=") {
				continue // events take no sort key
			}
			r := c.get(path)
			switch {
			case at.class != "" && !a.privacy.visible(at.class):
				c.hidden(r, path, at.field)
			case r.status == 400:
				// visible but not a filter/sort key here: refused without rows
			case r.status != 200:
				t.Errorf("%s: GET %s: status %d: %s", a.name, path, r.status, r.body)
			case at.outside && !a.domain.full():
				if rows := c.rows(r, path); len(rows) != 0 {
					t.Errorf("%s: GET %s returns %d rows from outside the view domain: %v", a.name, path, len(rows), rows)
				}
			}
		}
	}
	// An application filter that matches nothing, and an unknown field whose
	// name is a hidden value: refused or empty, never echoed beyond the name.
	for _, q := range []string{"application=NoSuchApp", "group_by=entity&entity=Lausanne&day=not-a-day"} {
		c.get("/api/v1/usage?" + c.window + q)
	}
}

func (c *pvChecker) checkEvents(adminCursor string) {
	t, a, x := c.t, c.a, c.x
	var rows []map[string]any
	cursor := ""
	for page := 0; ; page++ {
		path := "/api/v1/usage/events?" + c.window + "limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		m := c.get(path).must(t, 200).json(t)
		for _, r := range m["rows"].([]any) {
			rows = append(rows, r.(map[string]any))
		}
		next, _ := m["next_cursor"].(string)
		if next == "" {
			break
		}
		if page > 20 {
			t.Fatalf("%s: events pagination does not end", a.name)
		}
		cursor = next
	}
	if int64(len(rows)) != x.events {
		t.Errorf("%s: %d events listed, want %d", a.name, len(rows), x.events)
	}
	for _, r := range rows {
		if e, _ := r["entity"].(string); !slices.Contains(a.domain.entities, e) {
			t.Errorf("%s: event of entity %q outside the view domain", a.name, e)
		}
		for col, class := range map[string]string{"user": "users", "device": "devices", "url": "destinations", "template": "destinations", "host": "destinations"} {
			if _, ok := r[col]; ok != a.privacy.visible(class) {
				t.Errorf("%s: event column %q present=%v with %s visible=%v", a.name, col, ok, class, a.privacy.visible(class))
			}
		}
	}
	// Another account's cursor (the admin's, after its first row) never widens the view.
	path := "/api/v1/usage/events?" + c.window + "limit=1000&cursor=" + adminCursor
	for _, r := range c.rows(c.get(path), path) {
		if e, _ := r["entity"].(string); !slices.Contains(a.domain.entities, e) {
			t.Errorf("%s: foreign cursor shows entity %q", a.name, e)
		}
	}
	for _, p := range []string{"/api/v1/usage/events?cursor=%2F%2F&" + c.window, "/api/v1/usage/events?sort=user&" + c.window} {
		if r := c.get(p); r.status != 400 {
			t.Errorf("%s: GET %s: status %d, want 400", a.name, p, r.status)
		}
	}
}

// csvRows fetches CSV (by format=csv or by Accept) and returns its records.
func (c *pvChecker) csvRows(path string, byAccept bool) [][]string {
	c.t.Helper()
	var r response
	if byAccept {
		r = c.get(path, "Accept", "text/csv")
	} else {
		r = c.get(path + "&format=csv")
	}
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
		c.t.Fatalf("%s: CSV %s: status %d type %q: %s", c.a.name, path, r.status, r.header.Get("Content-Type"), r.body)
	}
	recs, err := csv.NewReader(bytes.NewReader(r.body)).ReadAll()
	if err != nil || len(recs) == 0 {
		c.t.Fatalf("%s: CSV %s: %v", c.a.name, path, err)
	}
	return recs
}

func (c *pvChecker) checkCSV() {
	t, a, x := c.t, c.a, c.x
	recs := c.csvRows("/api/v1/usage?"+c.window+"group_by=entity", false)
	if len(recs)-1 != len(x.entities) || slices.Contains(recs[0], "users") != a.privacy.users() ||
		slices.Contains(recs[0], "devices") != a.privacy.devices() {
		t.Errorf("%s: usage CSV %v, want %d entities", a.name, recs, len(x.entities))
	}
	recs = c.csvRows("/api/v1/usage/events?"+c.window+"limit=1000", true)
	if int64(len(recs)-1) != x.events {
		t.Errorf("%s: events CSV has %d rows, want %d", a.name, len(recs)-1, x.events)
	}
	for _, col := range []string{"user", "device", "url", "template", "host"} {
		class := map[string]string{"user": "users", "device": "devices"}[col]
		if class == "" {
			class = "destinations"
		}
		if slices.Contains(recs[0], col) != a.privacy.visible(class) {
			t.Errorf("%s: events CSV header %v: column %q with %s visible=%v", a.name, recs[0], col, class, a.privacy.visible(class))
		}
	}
	if a.privacy.devices() {
		recs = c.csvRows("/api/v1/devices?limit=1000", false)
		if len(recs)-1 != len(x.deviceList) {
			t.Errorf("%s: devices CSV has %d rows, want %d", a.name, len(recs)-1, len(x.deviceList))
		}
	}
	if a.privacy.users() {
		recs = c.csvRows("/api/v1/users?limit=1000", true)
		if len(recs)-1 != len(x.users) {
			t.Errorf("%s: users CSV has %d rows, want %d", a.name, len(recs)-1, len(x.users))
		}
	}
}

func (c *pvChecker) checkListings(deviceCursor, userCursor string) {
	t, a, x := c.t, c.a, c.x
	path := "/api/v1/devices?limit=1000"
	r := c.get(path)
	if !a.privacy.devices() {
		c.hidden(r, path, "device")
	} else {
		rows := c.rows(r, path)
		if got := colStrings(rows, "device"); !slices.Equal(got, x.deviceList) {
			t.Errorf("%s: devices %v, want %v", a.name, got, x.deviceList)
		}
		for _, row := range rows {
			if _, ok := row["public_ip"]; !ok {
				t.Errorf("%s: device row without public_ip: %v", a.name, row)
			}
			if e, _ := row["entity"].(string); !slices.Contains(a.domain.entities, e) {
				t.Errorf("%s: device of entity %q", a.name, e)
			}
		}
		path = "/api/v1/devices?cursor=" + deviceCursor
		for _, row := range c.rows(c.get(path), path) {
			if e, _ := row["entity"].(string); !slices.Contains(a.domain.entities, e) {
				t.Errorf("%s: foreign device cursor shows entity %q", a.name, e)
			}
		}
		for _, q := range []string{"entity=Tokyo", "classification.Region=Asia", "device=TKY-DELTA", "entity=n/a"} {
			path = "/api/v1/devices?" + q
			if rows := c.rows(c.get(path), path); !a.domain.full() && len(rows) != 0 {
				t.Errorf("%s: GET %s returns %d out-of-domain devices", a.name, path, len(rows))
			}
		}
		path = "/api/v1/devices?user=bob.favre"
		if r := c.get(path); !a.privacy.users() {
			c.hidden(r, path, "user")
		} else if r.status != 400 {
			t.Errorf("%s: GET %s: status %d, want 400", a.name, path, r.status)
		}
	}

	path = "/api/v1/users?limit=1000"
	r = c.get(path)
	if !a.privacy.users() {
		c.hidden(r, path, "user")
		return
	}
	rows := c.rows(r, path)
	if got := colStrings(rows, "user"); !slices.Equal(got, x.users) {
		t.Errorf("%s: users %v, want %v", a.name, got, x.users)
	}
	for _, row := range rows {
		n, ok := row["devices"]
		if ok != a.privacy.devices() || (ok && n != float64(x.userDevices[row["user"].(string)])) {
			t.Errorf("%s: user %v devices=%v (present %v), want %d when devices are visible",
				a.name, row["user"], n, ok, x.userDevices[row["user"].(string)])
		}
		if row["upn"] != row["user"].(string)+"@corp.example" {
			t.Errorf("%s: user %v upn %v", a.name, row["user"], row["upn"])
		}
	}
	path = "/api/v1/users?cursor=" + userCursor
	for _, row := range c.rows(c.get(path), path) {
		if !slices.Contains(x.users, row["user"].(string)) {
			t.Errorf("%s: foreign user cursor shows %v", a.name, row["user"])
		}
	}
	for _, q := range []string{"user=taro.yamada", "user=nina.unset", "entity=Tokyo", "classification.Country=Japan"} {
		path = "/api/v1/users?" + q
		if rows := c.rows(c.get(path), path); !a.domain.full() && len(rows) != 0 {
			// zoe.keller was reported in Tokyo AND Zurich: a Europe filter on
			// Japan must still not show her.
			t.Errorf("%s: GET %s returns %v", a.name, path, rows)
		}
	}
	path = "/api/v1/users?device=ZRH-GAMMA"
	if r := c.get(path); !a.privacy.devices() {
		c.hidden(r, path, "device")
	} else if r.status != 400 {
		t.Errorf("%s: GET %s: status %d, want 400", a.name, path, r.status)
	}
}

func TestPrivacyMatrix(t *testing.T) {
	ts, base := pvServer(t)
	accounts := pvAccounts(ts)
	if len(accounts) != 72 {
		t.Fatalf("%d accounts", len(accounts))
	}
	window := "from=" + url.QueryEscape(base.Add(-time.Hour).Format(time.RFC3339)) +
		"&to=" + url.QueryEscape(base.Add(3*time.Hour).Format(time.RFC3339)) + "&"

	// Cursors taken by the full admin after its first record.
	first := func(path string) string {
		m := ts.do("GET", path, ts.admin, nil).must(t, 200).json(t)
		c, _ := m["next_cursor"].(string)
		if c == "" {
			t.Fatalf("no cursor from %s", path)
		}
		return c
	}
	eventCursor := first("/api/v1/usage/events?" + window + "limit=1")
	deviceCursor := first("/api/v1/devices?limit=1")
	userCursor := first("/api/v1/users?limit=1")

	// The full admin sees everything, n/a included: the seed is what we think.
	all := pvExpected(pvAllEntities)
	if all.events != 9 || len(all.deviceList) != 5 || len(all.users) != 5 {
		t.Fatalf("seed: %+v", all)
	}
	day := base.UTC().Truncate(24 * time.Hour)
	dayWindow := "from=" + day.AddDate(0, 0, -1).Format("2006-01-02") + "&to=" + day.AddDate(0, 0, 2).Format("2006-01-02") + "&"
	needles := pvNeedles()
	for _, a := range accounts {
		t.Run(a.name, func(t *testing.T) {
			c := &pvChecker{t: t, ts: ts, a: a, x: pvExpected(a.domain.entities), needles: needles, window: window, dayWindow: dayWindow}
			c.checkTotals()
			c.checkIdentityGrouping()
			c.checkAttempts()
			c.checkEvents(eventCursor)
			c.checkCSV()
			c.checkListings(deviceCursor, userCursor)
		})
	}

	// Every CSV export is in the audit trail with its endpoint and row count.
	audit := ts.do("GET", "/api/v1/audit?action=export.csv&limit=1000", ts.admin, nil).must(t, 200).json(t)
	var lausanneEvents int
	for _, e := range audit["entries"].([]any) {
		m := e.(map[string]any)
		if m["account"] == "lausanne-main-7" && strings.HasPrefix(m["target"].(string), "usage/events ") {
			lausanneEvents++
			if want := fmt.Sprintf("usage/events rows=%d", pvExpected([]string{"Lausanne"}).events); m["target"] != want {
				t.Errorf("audit target %q, want %q", m["target"], want)
			}
		}
	}
	if lausanneEvents != 1 {
		t.Errorf("%d audited event exports by lausanne-main-7, want 1", lausanneEvents)
	}
}

// A role without export_web_usage cannot get CSV from any read endpoint, by
// format or by Accept; without view_web_usage it reads nothing.
func TestPrivacyExportAndViewPermissions(t *testing.T) {
	ts, _ := pvServer(t)
	viewOnly := ts.createAccount("viewer", ts.createRole(map[string]any{"name": "viewer", "type": "main",
		"view_domain": map[string]any{"access": "full"}, "privacy": pvPrivacy(7).json(), "permissions": []string{"view_web_usage"}}))
	exportOnly := ts.createAccount("exporter", ts.createRole(map[string]any{"name": "exporter", "type": "main",
		"view_domain": map[string]any{"access": "full"}, "privacy": pvPrivacy(7).json(), "permissions": []string{"export_web_usage", "view_audit_log"}}))
	for _, p := range []string{"/api/v1/usage", "/api/v1/usage/events", "/api/v1/devices", "/api/v1/users"} {
		for _, hdr := range [][]string{nil, {"Accept", "text/csv"}} {
			path := p
			if hdr == nil {
				path += "?format=csv"
			}
			if r := ts.do("GET", path, viewOnly, nil, hdr...); r.status != 403 || bytes.Contains(r.body, []byte("alice")) {
				t.Errorf("viewer GET %s %v: status %d: %s", path, hdr, r.status, r.body)
			}
			if r := ts.do("GET", path, exportOnly, nil, hdr...); r.status != 403 {
				t.Errorf("exporter (no view_web_usage) GET %s: status %d", path, r.status)
			}
		}
		ts.do("GET", p, viewOnly, nil).must(t, 200)
		if r := ts.do("GET", p+"?format=xml", viewOnly, nil); r.status != 400 {
			t.Errorf("format=xml: %d", r.status)
		}
	}
}

// k-min-group-size: groups with fewer distinct users than k are folded into
// one "(other)" row, whatever the grouping, and totals are kept.
func TestPrivacyMinGroupSizeFolds(t *testing.T) {
	ts, base := pvServer(t)
	role := ts.createRole(map[string]any{"name": "k2", "type": "main", "view_domain": map[string]any{"access": "full"},
		"privacy": pvPrivacy(2).json(), "permissions": []string{"view_web_usage"}, "min_group_size": 2})
	tok := ts.createAccount("k2", role)
	window := "from=" + url.QueryEscape(base.Add(-time.Hour).Format(time.RFC3339)) +
		"&to=" + url.QueryEscape(base.Add(3*time.Hour).Format(time.RFC3339))
	all := pvExpected(pvAllEntities)

	rows := ts.do("GET", "/api/v1/usage?"+window+"&group_by=entity", tok, nil).must(t, 200).json(t)["rows"].([]any)
	got := map[string]float64{}
	var sum float64
	for _, r := range rows {
		m := r.(map[string]any)
		got[m["entity"].(string)] = m["usage_ms"].(float64)
		sum += m["usage_ms"].(float64)
		if _, ok := m["users"]; ok {
			t.Errorf("users count shown with users hidden: %v", m)
		}
	}
	// Lausanne has 2 users (kept); Zurich 1, Tokyo 2 (taro, zoe), n/a 1.
	lausanne := pvExpected([]string{"Lausanne"}).usageMs
	tokyo := pvExpected([]string{"Tokyo"}).usageMs
	if len(got) != 3 || got["Lausanne"] != float64(lausanne) || got["Tokyo"] != float64(tokyo) {
		t.Errorf("k=2 by entity: %v, want Lausanne, Tokyo and (other)", got)
	}
	if _, ok := got["Zurich"]; ok {
		t.Errorf("a one-user group is shown: %v", got)
	}
	if got["(other)"] != float64(all.usageMs-lausanne-tokyo) || sum != float64(all.usageMs) {
		t.Errorf("(other) = %v, total %v, want %d and %d", got["(other)"], sum, all.usageMs-lausanne-tokyo, all.usageMs)
	}

	// By device every group has one user except LAU-ALPHA (alice, bob) and TKY-DELTA (taro, zoe).
	rows = ts.do("GET", "/api/v1/usage?"+window+"&group_by=device", tok, nil).must(t, 200).json(t)["rows"].([]any)
	var devices []string
	for _, r := range rows {
		devices = append(devices, r.(map[string]any)["device"].(string))
	}
	sort.Strings(devices)
	if !slices.Equal(devices, []string{"(other)", "LAU-ALPHA", "TKY-DELTA"}) {
		t.Errorf("k=2 by device: %v", devices)
	}
	// Narrowing the query to one person does not read them through the
	// "(other)" row or an ungrouped total, by event or rollup window.
	day := base.UTC().Truncate(24 * time.Hour)
	dayWindow := "from=" + day.AddDate(0, 0, -1).Format("2006-01-02") + "&to=" + day.AddDate(0, 0, 2).Format("2006-01-02")
	for _, w := range []string{window, dayWindow} {
		for _, q := range []string{"device=ZRH-GAMMA", "device=ZRH-GAMMA&group_by=day", "device=ZRH-GAMMA&group_by=application",
			"device=LAU-BETA&group_by=hour,application", "entity=Zurich", "entity=Zurich&group_by=application", "entity=n/a&group_by=entity"} {
			rows := ts.do("GET", "/api/v1/usage?"+w+"&"+q, tok, nil).must(t, 200).json(t)["rows"].([]any)
			if len(rows) != 0 {
				t.Errorf("k=2, %s: one user's figures are returned: %v", q, rows)
			}
		}
	}
	// Two users together pass.
	if rows := ts.do("GET", "/api/v1/usage?"+dayWindow+"&device=TKY-DELTA", tok, nil).must(t, 200).json(t)["rows"].([]any); len(rows) != 1 {
		t.Errorf("k=2, TKY-DELTA (2 users): %v", rows)
	}
	usersVisible := ts.createAccount("k2u", ts.createRole(map[string]any{"name": "k2u", "type": "main",
		"view_domain": map[string]any{"access": "full"}, "privacy": pvPrivacy(7).json(),
		"permissions": []string{"view_web_usage"}, "min_group_size": 2}))
	for _, q := range []string{"group_by=user", "user=alice.martin&group_by=day", "user=alice.martin"} {
		r := ts.do("GET", "/api/v1/usage?"+window+"&"+q, usersVisible, nil).must(t, 200)
		if bytes.Contains(r.body, []byte("alice")) || (q != "group_by=user" && len(r.json(t)["rows"].([]any)) != 0) {
			t.Errorf("k=2, %s: %s", q, r.body)
		}
	}
	for _, d := range []string{"LAU-BETA", "ZRH-GAMMA", "WS-ORPHAN"} {
		if r := ts.do("GET", "/api/v1/usage?"+window+"&group_by=device", tok, nil); bytes.Contains(r.body, []byte(d)) {
			t.Errorf("folded device %s named in %s", d, r.body)
		}
	}
}

// Events of devices that match no rule (n/a) are visible only to a full
// view domain, and a limited role cannot even name n/a.
func TestPrivacyUnassignedOnlyForFullDomain(t *testing.T) {
	ts, base := pvServer(t)
	window := "from=" + url.QueryEscape(base.Add(-time.Hour).Format(time.RFC3339)) +
		"&to=" + url.QueryEscape(base.Add(3*time.Hour).Format(time.RFC3339))
	rows := ts.do("GET", "/api/v1/usage/events?"+window+"&entity=n/a", ts.admin, nil).must(t, 200).json(t)["rows"].([]any)
	if len(rows) != 1 || rows[0].(map[string]any)["device"] != "WS-ORPHAN" {
		t.Fatalf("admin sees n/a events %v", rows)
	}
	r := ts.do("POST", "/api/v1/roles", ts.admin, map[string]any{"name": "na", "type": "main",
		"view_domain": map[string]any{"access": "limited", "entities": []string{"n/a"}},
		"privacy":     pvPrivacy(7).json(), "permissions": []string{"view_web_usage"}})
	if f, _ := r.must(t, 400).errorField(t); f != "view_domain.entities[0]" {
		t.Errorf("role limited to n/a: field %q", f)
	}
}

// refused asserts status and the error field, and that the body echoes
// none of secrets.
func refused(t *testing.T, r response, status int, field string, secrets ...string) {
	t.Helper()
	if r.status != status {
		t.Errorf("status %d, want %d (field %q): %s", r.status, status, field, r.body)
		return
	}
	if f, _ := r.errorField(t); f != field {
		t.Errorf("error field %q, want %q: %s", f, field, r.body)
	}
	for _, s := range secrets {
		if bytes.Contains(bytes.ToLower(r.body), []byte(strings.ToLower(s))) {
			t.Errorf("error echoes %q: %s", s, r.body)
		}
	}
}

func TestPrivacyRoleValidation(t *testing.T) {
	ts, _ := pvServer(t)
	role := func(name, typ string, view any, perms ...string) map[string]any {
		m := map[string]any{"name": name, "type": typ, "privacy": pvPrivacy(0).json(), "permissions": perms}
		if view != nil {
			m["view_domain"] = view
		}
		return m
	}
	full := map[string]any{"access": "full"}
	lausanne := map[string]any{"access": "limited", "entities": []string{"Lausanne"}}
	post := func(body map[string]any) response { return ts.do("POST", "/api/v1/roles", ts.admin, body) }

	refused(t, post(role("a", "main", lausanne, "view_web_usage", "administrator")), 400, "permissions[1]")
	refused(t, post(role("b", "main", lausanne, "manage_applications")), 400, "permissions[0]")
	refused(t, post(role("c", "main", full, "view_web_usage", "data_management")), 400, "permissions[1]")
	refused(t, post(role("d", "main", map[string]any{"access": "limited", "entities": []string{"Lausanne", "Geneva"}})), 400, "view_domain.entities[1]")
	refused(t, post(role("e", "main", map[string]any{"access": "limited", "classification": "Continent", "values": []string{"Europe"}})), 400, "view_domain.classification")
	refused(t, post(role("f", "main", map[string]any{"access": "limited", "classification": "Region", "values": []string{"Europe", "Africa"}})), 400, "view_domain.values[1]")
	refused(t, post(role("g", "main", map[string]any{"access": "limited", "entities": []string{"n/a"}})), 400, "view_domain.entities[0]")
	refused(t, post(role("h", "main", map[string]any{"access": "limited", "entities": []string{"Lausanne"}, "classification": "Region", "values": []string{"Europe"}})), 400, "view_domain")
	refused(t, post(role("i", "main", nil, "view_web_usage")), 400, "view_domain")
	refused(t, post(role("j", "additional", full, "view_web_usage")), 400, "view_domain")
	refused(t, post(role("k", "owner", full)), 400, "type")
	refused(t, post(role("l", "main", full, "view_web_usage", "view_web_usage")), 400, "permissions[1]")
	refused(t, post(role("m", "main", full, "read_minds")), 400, "permissions[0]")
	bad := role("n", "main", full)
	bad["privacy"] = map[string]string{"users": "maybe", "devices": "hidden", "destinations": "hidden"}
	refused(t, post(bad), 400, "privacy.users")
	bad = role("o", "main", full)
	bad["min_group_size"] = 5000
	refused(t, post(bad), 400, "min_group_size")
	refused(t, post(role("", "main", full)), 400, "name")
	// data_management with administrator in the same role is fine, and only
	// with a full view domain.
	post(role("dm", "main", full, "administrator", "data_management")).must(t, 201)

	// Main and additional cannot be converted into each other.
	mainID := ts.createRole(role("Lausanne analysts", "main", lausanne, "view_web_usage"))
	extraID := ts.createRole(role("Helpers", "additional", nil, "export_web_usage"))
	refused(t, ts.do("PUT", fmt.Sprintf("/api/v1/roles/%d", mainID), ts.admin, role("Lausanne analysts", "additional", nil)), 400, "type")
	refused(t, ts.do("PUT", fmt.Sprintf("/api/v1/roles/%d", extraID), ts.admin, role("Helpers", "main", full)), 400, "type")
	refused(t, post(role("lausanne ANALYSTS", "main", full)), 409, "name")

	// An additional role cannot start granting administrator while a
	// limited account holds it.
	ts.createAccount("ana", mainID, extraID)
	refused(t, ts.do("PUT", fmt.Sprintf("/api/v1/roles/%d", extraID), ts.admin, role("Helpers", "additional", nil, "export_web_usage", "administrator")), 409, "permissions")
	refused(t, ts.do("PUT", fmt.Sprintf("/api/v1/roles/%d", mainID), ts.admin, role("Lausanne analysts", "main", lausanne, "manage_applications")), 400, "permissions[0]")
	// The built-in administrator role cannot be changed or deleted.
	refused(t, ts.do("PUT", "/api/v1/roles/1", ts.admin, role("Administrator", "main", lausanne, "view_web_usage")), 409, "")
	refused(t, ts.do("DELETE", "/api/v1/roles/1", ts.admin, nil), 409, "")
	refused(t, ts.do("DELETE", fmt.Sprintf("/api/v1/roles/%d", mainID), ts.admin, nil), 409, "")

	// Audit: who and what, never the values (role names, entities).
	entries := ts.do("GET", "/api/v1/audit?action=role.create&limit=1000", ts.admin, nil).must(t, 200)
	if bytes.Contains(entries.body, []byte("Lausanne")) || !bytes.Contains(entries.body, []byte(fmt.Sprintf("role:%d", mainID))) {
		t.Errorf("audit of role creation: %s", entries.body)
	}
}

func TestPrivacyAccountValidation(t *testing.T) {
	ts, _ := pvServer(t)
	mk := func(name, typ string, view any, perms ...string) int64 {
		m := map[string]any{"name": name, "type": typ, "privacy": pvPrivacy(7).json(), "permissions": perms}
		if view != nil {
			m["view_domain"] = view
		}
		return ts.createRole(m)
	}
	limited := mk("Lausanne", "main", map[string]any{"access": "limited", "entities": []string{"Lausanne"}}, "view_web_usage")
	fullMain := mk("Everything", "main", map[string]any{"access": "full"}, "view_web_usage")
	admins := mk("Admins", "additional", nil, "administrator")
	appMgr := mk("App managers", "additional", nil, "manage_applications")
	exporter := mk("Exporters", "additional", nil, "export_web_usage")
	post := func(body map[string]any) response { return ts.do("POST", "/api/v1/accounts", ts.admin, body) }

	r := post(map[string]any{"name": "ana", "main_role": limited, "additional_roles": []any{exporter, admins}})
	refused(t, r, 400, "additional_roles[1]")
	if !bytes.Contains(r.body, []byte("requires a full view domain")) {
		t.Errorf("message does not say why: %s", r.body)
	}
	refused(t, post(map[string]any{"name": "ana", "main_role": "Lausanne", "additional_roles": []any{"App managers"}}), 400, "additional_roles[0]")
	refused(t, post(map[string]any{"name": "ana", "main_role": admins}), 400, "main_role")
	refused(t, post(map[string]any{"name": "ana", "main_role": limited, "additional_roles": []any{fullMain}}), 400, "additional_roles[0]")
	refused(t, post(map[string]any{"name": "ana", "main_role": "No such role"}), 400, "main_role")
	refused(t, post(map[string]any{"name": "ana", "main_role": true}), 400, "main_role")
	refused(t, post(map[string]any{"main_role": limited}), 400, "name")
	// Full main role + administrator additional is allowed; names are unique.
	post(map[string]any{"name": "root2", "main_role": fullMain, "additional_roles": []any{admins, appMgr}}).must(t, 201)
	refused(t, post(map[string]any{"name": "ROOT2", "main_role": fullMain}), 409, "name")

	// Tokens: shown once, never listed, revocable; an account can hold several.
	m := post(map[string]any{"name": "ana", "main_role": limited, "additional_roles": []any{exporter}}).must(t, 201).json(t)
	tok1, id := m["token"].(string), int64(m["id"].(float64))
	t2 := ts.do("POST", fmt.Sprintf("/api/v1/accounts/%d/tokens", id), ts.admin, map[string]any{"name": "script"}).must(t, 201).json(t)
	tok2 := t2["token"].(string)
	list := ts.do("GET", fmt.Sprintf("/api/v1/accounts/%d/tokens", id), ts.admin, nil).must(t, 200)
	if bytes.Contains(list.body, []byte(tok1)) || bytes.Contains(list.body, []byte(tok2)) || bytes.Contains(ts.do("GET", fmt.Sprintf("/api/v1/accounts/%d", id), ts.admin, nil).body, []byte(tok1)) {
		t.Errorf("a token is shown again: %s", list.body)
	}
	ts.do("GET", "/api/v1/usage", tok1, nil).must(t, 200)
	ts.do("GET", "/api/v1/usage", tok2, nil).must(t, 200)
	ts.do("DELETE", fmt.Sprintf("/api/v1/accounts/%d/tokens/%d", id, int64(t2["id"].(float64))), ts.admin, nil).must(t, 204)
	ts.do("GET", "/api/v1/usage", tok2, nil).must(t, 401)
	ts.do("GET", "/api/v1/usage", tok1, nil).must(t, 200)
	assertNotInDatabase(t, ts, tok1, tok2)
}

func TestPrivacyOrganizationValidation(t *testing.T) {
	ts, _ := pvServer(t)
	before := ts.do("GET", "/api/v1/organization", ts.admin, nil).must(t, 200).body
	ents := func(names ...string) []map[string]any {
		var out []map[string]any
		for _, n := range names {
			out = append(out, map[string]any{"name": n, "classifications": map[string]string{"Region": pvRegion[n]}})
		}
		return out
	}
	put := func(entities []map[string]any, rules ...map[string]any) response {
		if rules == nil {
			rules = []map[string]any{}
		}
		return ts.do("PUT", "/api/v1/organization", ts.admin, map[string]any{"entities": entities, "rules": rules})
	}
	all := ents("Lausanne", "Zurich", "Tokyo")

	r := put(append(all, map[string]any{"name": "lausanne"}))
	if r.status != 400 || !strings.HasPrefix(func() string { f, _ := r.errorField(t); return f }(), "entities[3]") {
		t.Errorf("duplicate entity (case): %d %s", r.status, r.body)
	}
	r = put(append(all, map[string]any{"name": "N/A"}))
	if r.status != 400 || !strings.HasPrefix(func() string { f, _ := r.errorField(t); return f }(), "entities[3]") {
		t.Errorf("entity named n/a: %d %s", r.status, r.body)
	}
	refused(t, put(all, map[string]any{"entity": "Zurich", "public_ip": "198.51.100.7/24"}), 400, "rules[0].public_ip")
	refused(t, put(all, map[string]any{"entity": "Zurich", "local_ip": "10.0.0.0/33"}), 400, "rules[0].local_ip")
	refused(t, put(all, map[string]any{"entity": "Geneva", "device_name": "GVA-*"}), 400, "rules[0].entity")
	refused(t, put(all, map[string]any{"entity": "Zurich", "device_name": "ZRH-*", "tag": "zurich"}), 400, "rules[0]")
	refused(t, put(all, map[string]any{"entity": "Zurich"}), 400, "rules[0]")
	refused(t, put(all, map[string]any{"entity": "Zurich", "device_name": ""}), 400, "rules[0]")
	bad := ents("Lausanne")
	bad[0]["classifications"] = map[string]string{"Re gion!": "Europe"}
	if r := put(bad); r.status != 400 {
		t.Errorf("bad classification name: %d %s", r.status, r.body)
	}

	// A PUT that would orphan a role's entity or classification value → 409.
	ts.createRole(map[string]any{"name": "Tokyo team", "type": "main", "privacy": pvPrivacy(0).json(), "permissions": []string{"view_web_usage"},
		"view_domain": map[string]any{"access": "limited", "entities": []string{"Zurich", "Tokyo"}}})
	asia := ts.createRole(map[string]any{"name": "Asia team", "type": "main", "privacy": pvPrivacy(0).json(), "permissions": []string{"view_web_usage"},
		"view_domain": map[string]any{"access": "limited", "classification": "Region", "values": []string{"Asia"}}})
	refused(t, put(ents("Lausanne", "Zurich")), 409, "entities")
	moved := ents("Lausanne", "Zurich", "Tokyo")
	moved[2]["classifications"] = map[string]string{"Region": "Pacific"}
	r = put(moved)
	refused(t, r, 409, "entities")
	if !bytes.Contains(r.body, []byte("Asia team")) {
		t.Errorf("the conflict does not name the role: %s", r.body)
	}
	if after := ts.do("GET", "/api/v1/organization", ts.admin, nil).must(t, 200).body; !bytes.Equal(before, after) {
		t.Errorf("a refused PUT changed the organization:\n%s\n%s", before, after)
	}
	// Fixing the role first lets the change through; the role cannot then
	// be saved pointing to the removed value.
	ts.do("PUT", fmt.Sprintf("/api/v1/roles/%d", asia), ts.admin, map[string]any{"name": "Asia team", "type": "main", "privacy": pvPrivacy(0).json(),
		"permissions": []string{"view_web_usage"}, "view_domain": map[string]any{"access": "limited", "entities": []string{"Tokyo"}}}).must(t, 200)
	put(moved).must(t, 200)
	refused(t, ts.do("PUT", fmt.Sprintf("/api/v1/roles/%d", asia), ts.admin, map[string]any{"name": "Asia team", "type": "main", "privacy": pvPrivacy(0).json(),
		"permissions": []string{"view_web_usage"}, "view_domain": map[string]any{"access": "limited", "classification": "Region", "values": []string{"Asia"}}}), 400, "view_domain.values[0]")
	audit := ts.do("GET", "/api/v1/audit?action=organization.replace", ts.admin, nil).must(t, 200)
	if n := len(audit.json(t)["entries"].([]any)); n != 2 || bytes.Contains(audit.body, []byte("Pacific")) {
		t.Errorf("organization audit: %d entries: %s", n, audit.body)
	}
}

// Every endpoint: 401 without a valid account token, 403 without the
// permission (or with the enrollment token).
func TestPrivacyAuthOnEveryEndpoint(t *testing.T) {
	ts, _ := pvServer(t)
	nobody := ts.createAccount("nobody", ts.createRole(map[string]any{"name": "nobody", "type": "main",
		"view_domain": map[string]any{"access": "full"}, "privacy": pvPrivacy(7).json(), "permissions": []string{}}))
	analyst := ts.createAccount("analyst", ts.createRole(map[string]any{"name": "analyst", "type": "main",
		"view_domain": map[string]any{"access": "full"}, "privacy": pvPrivacy(7).json(),
		"permissions": []string{"view_web_usage", "export_web_usage", "view_audit_log"}}))
	endpoints := []struct {
		method, path string
		analystOK    bool // the analyst (view, export, audit) may call it
	}{
		{"GET", "/api/v1/usage", true}, {"GET", "/api/v1/usage/events", true},
		{"GET", "/api/v1/devices", true}, {"GET", "/api/v1/users", true}, {"GET", "/api/v1/audit", true},
		{"GET", "/api/v1/settings", false}, {"PATCH", "/api/v1/settings", false},
		{"GET", "/api/v1/organization", false}, {"PUT", "/api/v1/organization", false},
		{"GET", "/api/v1/locations", false}, {"PUT", "/api/v1/locations", false},
		{"GET", "/api/v1/roles", false}, {"POST", "/api/v1/roles", false},
		{"GET", "/api/v1/roles/1", false}, {"PUT", "/api/v1/roles/1", false}, {"DELETE", "/api/v1/roles/1", false},
		{"GET", "/api/v1/accounts", false}, {"POST", "/api/v1/accounts", false},
		{"GET", "/api/v1/accounts/1", false}, {"DELETE", "/api/v1/accounts/1", false},
		{"GET", "/api/v1/accounts/1/tokens", false}, {"POST", "/api/v1/accounts/1/tokens", false},
		{"DELETE", "/api/v1/accounts/1/tokens/1", false},
		{"GET", "/api/v1/enrollment-tokens", false}, {"POST", "/api/v1/enrollment-tokens", false},
		{"DELETE", "/api/v1/enrollment-tokens/1", false},
		{"POST", "/api/v1/applications", false}, {"PUT", "/api/v1/applications/1", false}, {"DELETE", "/api/v1/applications/1", false},
	}
	for _, e := range endpoints {
		for _, tok := range []string{"", "wua_not_a_real_token", "Basic " + ts.admin} {
			hdr := []string{}
			if strings.HasPrefix(tok, "Basic ") {
				hdr, tok = []string{"Authorization", tok}, ""
			}
			if r := ts.do(e.method, e.path, tok, "{}", hdr...); r.status != 401 {
				t.Errorf("%s %s with token %q: %d, want 401", e.method, e.path, tok, r.status)
			}
		}
		if r := ts.do(e.method, e.path, ts.enroll, "{}"); r.status != 403 {
			t.Errorf("%s %s with the enrollment token: %d, want 403", e.method, e.path, r.status)
		}
		if r := ts.do(e.method, e.path, nobody, "{}"); r.status != 403 {
			t.Errorf("%s %s without permissions: %d, want 403", e.method, e.path, r.status)
		}
		if r := ts.do(e.method, e.path, analyst, "{}"); (r.status == 403) == e.analystOK {
			t.Errorf("%s %s as analyst: %d (allowed: %v)", e.method, e.path, r.status, e.analystOK)
		}
	}
}
