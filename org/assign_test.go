package org

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
)

func mustCompile(t testing.TB, rs Ruleset) *Organization {
	t.Helper()
	o, err := Compile(rs)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}

func TestAssign(t *testing.T) {
	o := mustCompile(t, Ruleset{
		Entities: []Entity{ent("Lausanne"), ent("Zurich"), ent("Tokyo"), ent("Lab"), ent("Kiosk"), ent("V6")},
		Rules: []Rule{
			{Entity: "Lab", Tag: "Lab"},                     // 0: tags first
			{Entity: "Kiosk", DeviceName: "KIOSK-01"},       // 1: literal name
			{Entity: "Lausanne", DeviceName: "LAU-*"},       // 2
			{Entity: "Zurich", PublicIP: "198.51.100.0/24"}, // 3
			{Entity: "Tokyo", LocalIP: "10.81.0.0/16"},      // 4
			{Entity: "Zurich", DeviceName: "ZRH-???"},       // 5
			{Entity: "Tokyo", PublicIP: "203.0.113.9"},      // 6: bare address
			{Entity: "V6", LocalIP: "2001:db8:1::/48"},      // 7
			{Entity: "Kiosk", DeviceName: "*"},              // 8: catch-all for named devices
			{Entity: "Lausanne", Tag: "lab"},                // 9: shadowed duplicate tag
		},
	})
	tests := []struct {
		name string
		d    Device
		want string
		rule int
	}{
		{"name glob", Device{Name: "LAU-042"}, "Lausanne", 2},
		{"name glob lower case", Device{Name: "lau-042"}, "Lausanne", 2},
		{"literal name case-insensitive", Device{Name: "kiosk-01"}, "Kiosk", 1},
		{"tag beats later rules", Device{Name: "LAU-042", Tags: []string{"other", "LAB"}}, "Lab", 0},
		{"earlier name beats later public ip", Device{Name: "LAU-1", PublicIP: netip.MustParseAddr("198.51.100.7")}, "Lausanne", 2},
		{"public ip before later glob", Device{Name: "ZRH-001", PublicIP: netip.MustParseAddr("198.51.100.7")}, "Zurich", 3},
		{"public ip mapped", Device{Name: "", PublicIP: netip.MustParseAddr("::ffff:198.51.100.7")}, "Zurich", 3},
		{"local ip: any address", Device{Name: "", LocalIPs: addrs("192.168.1.2", "10.81.3.4")}, "Tokyo", 4},
		{"local ip before later glob", Device{Name: "ZRH-001", LocalIPs: addrs("10.81.3.4")}, "Tokyo", 4},
		{"? glob", Device{Name: "zrh-001"}, "Zurich", 5},
		{"bare public address", Device{Name: "", PublicIP: netip.MustParseAddr("203.0.113.9")}, "Tokyo", 6},
		{"bare address is /32", Device{Name: "", PublicIP: netip.MustParseAddr("203.0.113.10")}, Unassigned, -1},
		{"local ip is not public", Device{Name: "", PublicIP: netip.MustParseAddr("10.81.3.4")}, Unassigned, -1},
		{"public ip is not local", Device{Name: "", LocalIPs: addrs("198.51.100.7")}, Unassigned, -1},
		{"ipv6 local", Device{Name: "", LocalIPs: addrs("2001:db8:1::5")}, "V6", 7},
		{"catch-all", Device{Name: "PC-9"}, "Kiosk", 8},
		{"no name no match", Device{Name: ""}, "Kiosk", 8}, // "*" matches the empty name too
		{"zero public ip never matches", Device{Name: "", PublicIP: netip.Addr{}}, "Kiosk", 8},
	}
	for _, tt := range tests {
		e, i := o.AssignRule(tt.d)
		if tt.want == Unassigned && tt.rule == -1 {
			// Only meaningful without the catch-all: checked below.
			continue
		}
		if e != tt.want || i != tt.rule {
			t.Errorf("%s: AssignRule = %q, %d; want %q, %d", tt.name, e, i, tt.want, tt.rule)
		}
		if got := o.Assign(tt.d); got != tt.want {
			t.Errorf("%s: Assign = %q, want %q", tt.name, got, tt.want)
		}
	}

	// Without the catch-all, unmatched devices are n/a.
	rs := o.Ruleset()
	rs.Rules = rs.Rules[:8]
	o2 := mustCompile(t, rs)
	for _, tt := range tests {
		if tt.rule >= 8 || tt.rule == -1 {
			if got := o2.Assign(tt.d); got != Unassigned {
				t.Errorf("%s without catch-all: Assign = %q, want n/a", tt.name, got)
			}
		}
	}
}

func TestAssignFirstMatchAcrossKinds(t *testing.T) {
	// The same device matched by every kind of rule: whichever rule is first wins.
	d := Device{Name: "LAU-1", PublicIP: netip.MustParseAddr("198.51.100.7"), LocalIPs: addrs("10.0.0.1"), Tags: []string{"t"}}
	kinds := []Rule{
		{DeviceName: "LAU-*"}, {DeviceName: "LAU-1"}, {PublicIP: "198.51.100.0/24"}, {LocalIP: "10.0.0.0/8"}, {Tag: "T"},
	}
	for first := range kinds {
		var rs Ruleset
		for i := range kinds {
			rs.Entities = append(rs.Entities, ent(fmt.Sprintf("E%d", i)))
		}
		// Put kinds[first] first, the rest after it.
		order := append([]int{first}, func() []int {
			var rest []int
			for i := range kinds {
				if i != first {
					rest = append(rest, i)
				}
			}
			return rest
		}()...)
		for _, k := range order {
			r := kinds[k]
			r.Entity = fmt.Sprintf("E%d", k)
			rs.Rules = append(rs.Rules, r)
		}
		o := mustCompile(t, rs)
		if got, want := o.Assign(d), fmt.Sprintf("E%d", first); got != want {
			t.Errorf("kind %d first: Assign = %q, want %q", first, got, want)
		}
	}
}

func TestAssignConcurrent(t *testing.T) {
	o := mustCompile(t, Ruleset{Entities: []Entity{ent("A")}, Rules: []Rule{{Entity: "A", DeviceName: "a*"}}})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				if o.Assign(Device{Name: "Abc"}) != "A" || o.Assign(Device{Name: "b"}) != Unassigned {
					t.Error("wrong assignment under concurrency")
					return
				}
			}
		})
	}
	wg.Wait()
}

// benchOrg builds 1,000 rules of mixed kinds, none of which matches benchDevice
// before the last rule, so Assign pays for the whole rule list.
func benchOrg(b *testing.B) *Organization {
	var rs Ruleset
	for i := range 100 {
		rs.Entities = append(rs.Entities, ent(fmt.Sprintf("Site %d", i), "Region", fmt.Sprintf("R%d", i%7)))
	}
	for i := range 999 {
		e := fmt.Sprintf("Site %d", i%100)
		var r Rule
		switch i % 5 {
		case 0:
			r = Rule{DeviceName: fmt.Sprintf("S%03d-*", i)}
		case 1:
			r = Rule{DeviceName: fmt.Sprintf("*-S%03d-??", i)}
		case 2:
			r = Rule{PublicIP: fmt.Sprintf("198.%d.%d.0/24", i/256, i%256)}
		case 3:
			r = Rule{LocalIP: fmt.Sprintf("10.%d.%d.0/24", i/256, i%256)}
		case 4:
			r = Rule{Tag: fmt.Sprintf("tag-%d", i)}
		}
		r.Entity = e
		rs.Rules = append(rs.Rules, r)
	}
	rs.Rules = append(rs.Rules, Rule{Entity: "Site 1", DeviceName: "*"})
	o, err := Compile(rs)
	if err != nil {
		b.Fatal(err)
	}
	return o
}

var benchDevice = Device{
	Name:     "LAPTOP-AB12CD34",
	PublicIP: netip.MustParseAddr("203.0.113.9"),
	LocalIPs: addrs("192.168.1.20", "fe80::1"),
	Tags:     []string{"finance"},
}

func BenchmarkAssign(b *testing.B) {
	o := benchOrg(b)
	if got := o.Assign(benchDevice); got != "Site 1" {
		b.Fatalf("Assign = %q", got)
	}
	b.ReportAllocs()
	for b.Loop() {
		o.Assign(benchDevice)
	}
}

func BenchmarkCompile(b *testing.B) {
	o := benchOrg(b)
	rs := o.Ruleset()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(rs); err != nil {
			b.Fatal(err)
		}
	}
}

func TestAssignOverlappingPrefixesFirstWins(t *testing.T) {
	d := Device{Name: "pc", PublicIP: netip.MustParseAddr("10.1.2.3"), LocalIPs: addrs("fe80::1%eth0", "10.1.2.3")}
	broadFirst := mustCompile(t, Ruleset{Entities: []Entity{ent("A"), ent("B"), ent("C")}, Rules: []Rule{
		{Entity: "A", PublicIP: "10.0.0.0/8"}, {Entity: "B", PublicIP: "10.1.0.0/16"}, {Entity: "C", PublicIP: "10.1.0.0/16"},
	}})
	if got := broadFirst.Assign(d); got != "A" {
		t.Errorf("broad prefix first: %q, want A (first match, not longest match)", got)
	}
	narrowFirst := mustCompile(t, Ruleset{Entities: []Entity{ent("A"), ent("B")}, Rules: []Rule{
		{Entity: "B", LocalIP: "10.1.0.0/16"}, {Entity: "A", LocalIP: "10.0.0.0/8"},
	}})
	if got := narrowFirst.Assign(d); got != "B" {
		t.Errorf("narrow prefix first: %q, want B", got)
	}
	zoned := mustCompile(t, Ruleset{Entities: []Entity{ent("A")}, Rules: []Rule{{Entity: "A", LocalIP: "fe80::/10"}}})
	if got := zoned.Assign(Device{LocalIPs: addrs("fe80::1%eth0")}); got != "A" {
		t.Errorf("zoned local address: %q, want A", got)
	}
	everything := mustCompile(t, Ruleset{Entities: []Entity{ent("A")}, Rules: []Rule{{Entity: "A", PublicIP: "0.0.0.0/0"}}})
	if got := everything.Assign(Device{PublicIP: netip.MustParseAddr("2001:db8::1")}); got != Unassigned {
		t.Errorf("IPv4 /0 matched an IPv6 address: %q", got)
	}
	if got := everything.Assign(Device{PublicIP: netip.MustParseAddr("192.0.2.1")}); got != "A" {
		t.Errorf("IPv4 /0: %q, want A", got)
	}
}

func TestAssignGlobBuckets(t *testing.T) {
	// Globs with and without a literal first byte interleave in rule order.
	o := mustCompile(t, Ruleset{Entities: []Entity{ent("A"), ent("B"), ent("C")}, Rules: []Rule{
		{Entity: "A", DeviceName: "*-042"}, {Entity: "B", DeviceName: "LAU-*"}, {Entity: "C", DeviceName: "?AU-*"},
	}})
	for name, want := range map[string]string{"LAU-042": "A", "LAU-043": "B", "XAU-1": "C", "ÉAU-1": "C", "": Unassigned} {
		if got := o.Assign(Device{Name: name}); got != want {
			t.Errorf("Assign(%q) = %q, want %q", name, got, want)
		}
	}
}
