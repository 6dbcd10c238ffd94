package loadgen_test

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"regexp"
	"slices"
	"testing"
	"time"

	"webusage/loadgen"
	"webusage/webapps"
)

var testApps = []loadgen.App{
	{ID: 1, Name: "CRM", Patterns: []string{"crm.example.com/*"}},
	{ID: 2, Name: "Wiki", Patterns: []string{"*.wiki.example.com/docs/*", "intranet/wiki/*"}},
	{ID: 3, Name: "Portal", Patterns: []string{"portal.example.com/home"}},
}

var epoch = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func newFleet(t *testing.T, seed uint64, n int) *loadgen.Fleet {
	t.Helper()
	f, err := loadgen.NewFleet(seed, n, 50, testApps, epoch)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

type body struct {
	Device struct {
		ID       string   `json:"id"`
		Name     string   `json:"name"`
		LocalIPs []string `json:"local_ips"`
	} `json:"device"`
	User struct {
		Name string `json:"name"`
		UPN  string `json:"upn"`
	} `json:"user"`
	Browser struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	} `json:"browser"`
	Events []struct {
		ID          string `json:"id"`
		Type        string `json:"type"`
		URL         string `json:"url"`
		Start       string `json:"start"`
		DurationMS  int64  `json:"duration_ms"`
		Application int64  `json:"application"`
	} `json:"events"`
}

func decode(t *testing.T, b loadgen.Batch) body {
	t.Helper()
	var out body
	dec := json.NewDecoder(bytes.NewReader(b.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("batch body is not the CONTRACT shape: %v\n%s", err, b.Body)
	}
	return out
}

func TestFleetIsDeterministic(t *testing.T) {
	a, b := newFleet(t, 7, 5), newFleet(t, 7, 5)
	for d := range 5 {
		for seq := range 3 {
			if x, y := a.Batch(d, seq), b.Batch(d, seq); !bytes.Equal(x.Body, y.Body) {
				t.Fatalf("device %d batch %d differs between two fleets of the same seed", d, seq)
			}
		}
	}
	if x, y := a.Batch(0, 0), newFleet(t, 8, 5).Batch(0, 0); x.IDs[0] == y.IDs[0] {
		t.Fatal("different seeds gave the same event id")
	}
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestFleetEventIDsAreDistinctUUIDs(t *testing.T) {
	f := newFleet(t, 1, 20)
	seen := map[string]bool{}
	for d := range 20 {
		for seq := range 10 {
			b := f.Batch(d, seq)
			ev := decode(t, b).Events
			if len(ev) != 50 || len(b.IDs) != 50 {
				t.Fatalf("batch has %d events and %d ids, want 50", len(ev), len(b.IDs))
			}
			for i, id := range b.IDs {
				if !uuidV4.MatchString(id) || ev[i].ID != id {
					t.Fatalf("id %d = %q (body %q): want the body's version-4 UUID", i, id, ev[i].ID)
				}
				if seen[id] {
					t.Fatalf("id %s generated twice", id)
				}
				seen[id] = true
			}
		}
	}
}

func TestFleetEventsTargetTheirApplication(t *testing.T) {
	var apps []webapps.Application
	for _, a := range testApps {
		apps = append(apps, webapps.Application{ID: a.ID, Name: a.Name, Patterns: a.Patterns})
	}
	m, err := webapps.NewMatcher(apps)
	if err != nil {
		t.Fatal(err)
	}
	f := newFleet(t, 3, 10)
	perApp := map[int64]int{}
	for d := range 10 {
		for _, e := range decode(t, f.Batch(d, 0)).Events {
			id, ok := m.Match(e.URL)
			if !ok || id != e.Application {
				t.Errorf("URL %q matched application %d (ok=%v), event says %d", e.URL, id, ok, e.Application)
			}
			perApp[e.Application]++
			start, err := time.Parse(time.RFC3339, e.Start)
			if err != nil {
				t.Fatalf("start %q: %v", e.Start, err)
			}
			if end := start.Add(time.Duration(e.DurationMS) * time.Millisecond); end.After(epoch) || start.Before(epoch.Add(-47*time.Hour)) {
				t.Errorf("interval %s + %d ms is not within the 47 h before the epoch", e.Start, e.DurationMS)
			}
			if e.Type != "usage" || e.DurationMS < 1000 {
				t.Errorf("event type %q duration %d ms: want usage of at least 1 s", e.Type, e.DurationMS)
			}
		}
	}
	if len(perApp) != len(testApps) {
		t.Errorf("events spread over %d applications, want all %d", len(perApp), len(testApps))
	}
}

func TestFleetDevicesAreDistinct(t *testing.T) {
	const n = 200
	f := newFleet(t, 9, n)
	ids, names, users, ips := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[netip.Addr]bool{}
	for i := range n {
		d := f.Device(i)
		ids[d.ID], names[d.Name], users[d.User], ips[d.PublicIP] = true, true, true, true
		if !d.PublicIP.Is4() || !d.PublicIP.IsGlobalUnicast() || d.PublicIP.IsPrivate() {
			t.Errorf("device %d public IP %s is not a public unicast address", i, d.PublicIP)
		}
		if !d.LocalIP.IsPrivate() {
			t.Errorf("device %d local IP %s is not private", i, d.LocalIP)
		}
		b := decode(t, f.Batch(i, 0))
		if b.Device.ID != d.ID || b.Device.Name != d.Name || b.User.Name != d.User || b.User.UPN != d.UPN ||
			b.Browser.Name != d.Browser || len(b.Device.LocalIPs) != 1 || b.Device.LocalIPs[0] != d.LocalIP.String() {
			t.Errorf("device %d batch header %+v does not carry the device %+v", i, b, d)
		}
	}
	for what, got := range map[string]int{"ids": len(ids), "names": len(names), "users": len(users)} {
		if got != n {
			t.Errorf("%d distinct %s over %d devices", got, what, n)
		}
	}
	if len(ips) < n-2 {
		t.Errorf("only %d distinct public IPs over %d devices", len(ips), n)
	}
}

func TestNewFleetRejectsBadInput(t *testing.T) {
	for name, tc := range map[string]struct {
		n, batch int
		apps     []loadgen.App
	}{
		"no device":      {0, 10, testApps},
		"batch too big":  {1, 1001, testApps},
		"no application": {1, 10, nil},
		"no pattern":     {1, 10, []loadgen.App{{Name: "x"}}},
	} {
		if _, err := loadgen.NewFleet(1, tc.n, tc.batch, tc.apps, epoch); err == nil {
			t.Errorf("%s: NewFleet succeeded", name)
		}
	}
}

func TestParseApps(t *testing.T) {
	apps, err := loadgen.ParseApps("12=crm.example.com/*, *.wiki.example.com/docs/*")
	if err != nil {
		t.Fatal(err)
	}
	if len(apps) != 2 || apps[0].ID != 12 || apps[0].Patterns[0] != "crm.example.com/*" ||
		apps[1].ID != 0 || apps[1].Patterns[0] != "*.wiki.example.com/docs/*" {
		t.Fatalf("ParseApps = %+v", apps)
	}
	for _, bad := range []string{"", " , ", "x=crm.example.com/*", "-1=a/*", "https://crm.example.com/*"} {
		if _, err := loadgen.ParseApps(bad); err == nil {
			t.Errorf("ParseApps(%q) succeeded", bad)
		}
	}
}

// medianStart is the median event start of b.
func medianStart(t *testing.T, b loadgen.Batch) time.Time {
	t.Helper()
	var starts []time.Time
	for _, e := range decode(t, b).Events {
		s, err := time.Parse(time.RFC3339, e.Start)
		if err != nil {
			t.Fatal(err)
		}
		starts = append(starts, s)
	}
	slices.SortFunc(starts, time.Time.Compare)
	return starts[len(starts)/2]
}

func TestFleetTimesAdvanceWithTheRounds(t *testing.T) {
	f := newFleet(t, 5, 10)
	first, later := medianStart(t, f.Batch(3, 0)), medianStart(t, f.Batch(3, 60000))
	// 60000 more batches of each of 10 devices: 600000 rounds of 2 ms, 20 minutes.
	if d := later.Sub(first); d < 15*time.Minute || d > 25*time.Minute {
		t.Errorf("median start moved %v over 600000 rounds, want about 20 min", d)
	}
	// Far past 24 h of rounds, batches are pinned at the epoch, never after.
	for _, e := range decode(t, f.Batch(0, 1<<30)).Events {
		s, _ := time.Parse(time.RFC3339, e.Start)
		if s.Add(time.Duration(e.DurationMS) * time.Millisecond).After(epoch) {
			t.Fatalf("event of round 2^30·10 ends after the epoch: %s + %d ms", e.Start, e.DurationMS)
		}
	}
}
