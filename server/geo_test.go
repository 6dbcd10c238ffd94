package server

import (
	"net/netip"
	"testing"
	"time"

	"webusage/geo"
)

// TestIngestStoresLocationContext proves, through the HTTP server, that each
// stored event carries the on-site/remote decision and the geolocation at the
// configured granularity, and that forwarded headers count only from trusted
// proxies.
func TestIngestStoresLocationContext(t *testing.T) {
	db, err := geo.Open("../geo/testdata/GeoIP2-City-Test.mmdb")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ts := startServer(t, withConfig(func(c *Config) {
		c.Geo = db
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	}))
	ts.createApp("CRM", []string{"crm.example.com/*"}, false)
	ts.do("PUT", "/api/v1/locations", ts.admin, map[string]any{
		"sites":          []any{map[string]any{"name": "HQ", "public_ips": []string{"89.160.20.0/24"}, "local_ips": []string{"10.9.0.0/16"}}},
		"vpn_public_ips": []string{"2001:218::/32"},
	}).must(t, 200)
	now := time.Now()
	send := func(device, ip string, local []string) {
		b := batch(device, "u", usage("https://crm.example.com/", now, 1000))
		b["device"].(map[string]any)["local_ips"] = local
		ts.post(b, "X-Forwarded-For", ip).must(t, 200)
	}
	send("remote-london", "81.2.69.142", []string{"192.168.1.5"})
	send("onsite-public", "89.160.20.112", nil)
	send("onsite-local", "81.2.69.142", []string{"10.9.1.1"})
	send("vpn-user", "2001:218::1", nil)
	send("private-only", "10.1.1.1", nil)

	byDevice := map[string]map[string]any{}
	for _, r := range ts.eventsRows(ts.admin, window(now)) {
		byDevice[r["device"].(string)] = r
	}
	check := func(device, field string, want any) {
		t.Helper()
		if got := byDevice[device][field]; got != want {
			t.Errorf("%s %s = %v, want %v", device, field, got, want)
		}
	}
	check("REMOTE-LONDON", "location_type", "remote")
	check("REMOTE-LONDON", "country_code", "GB")
	check("REMOTE-LONDON", "city", "London")
	check("ONSITE-PUBLIC", "location_type", "onsite")
	check("ONSITE-PUBLIC", "site", "HQ")
	check("ONSITE-PUBLIC", "country_code", "SE")
	check("ONSITE-LOCAL", "location_type", "onsite")
	check("ONSITE-LOCAL", "site", "HQ")
	check("VPN-USER", "location_type", "remote")
	check("VPN-USER", "vpn", true)
	check("VPN-USER", "country_code", "JP")
	check("PRIVATE-ONLY", "country_code", "")
	if lat, ok := byDevice["REMOTE-LONDON"]["latitude"].(float64); !ok || lat != 51.51 {
		t.Errorf("latitude %v, want 51.51 (2 decimals)", byDevice["REMOTE-LONDON"]["latitude"])
	}

	// Granularity country: no state, city or coordinates are stored.
	ts.patchSettings(map[string]any{"geolocation": "country"})
	send("country-only", "81.2.69.142", nil)
	for _, r := range ts.eventsRows(ts.admin, window(now)) {
		if r["device"] == "COUNTRY-ONLY" {
			if r["country_code"] != "GB" || r["city"] != "" || r["state"] != "" || r["latitude"] != nil {
				t.Errorf("country granularity stored %v", r)
			}
		}
	}
	// The raw public IPs are sealed, never stored in clear.
	assertNotInDatabase(t, ts, "81.2.69.142", "89.160.20.112")
}

// TestForwardedHeadersIgnoredFromUntrustedPeers: without trusted proxies a
// spoofed X-Forwarded-For has no effect.
func TestForwardedHeadersIgnoredFromUntrustedPeers(t *testing.T) {
	db, err := geo.Open("../geo/testdata/GeoIP2-City-Test.mmdb")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ts := startServer(t, withConfig(func(c *Config) { c.Geo = db }))
	ts.createApp("CRM", []string{"crm.example.com/*"}, false)
	now := time.Now()
	ts.post(batch("spoofer", "u", usage("https://crm.example.com/", now, 1000)), "X-Forwarded-For", "81.2.69.142").must(t, 200)
	rows := ts.eventsRows(ts.admin, window(now))
	if len(rows) != 1 || rows[0]["country_code"] != "" {
		t.Fatalf("spoofed header was believed: %v", rows)
	}
}
