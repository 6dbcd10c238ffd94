package geo

import (
	"encoding/json"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// testSites is the on-site definition the classification table runs against.
const testSites = `{
  "sites": [
    {"name": "HQ", "public_ips": ["81.2.69.0/24", "2a02:1810::/32"], "local_ips": ["10.0.0.0/8", "fd00:1::/48"]},
    {"name": "Lab", "public_ips": ["81.2.69.128/25"], "local_ips": ["10.20.0.0/16"]},
    {"name": "Branch", "public_ips": ["5.148.1.1"], "local_ips": ["192.168.50.0/24", "::ffff:172.16.0.0/108"]}
  ],
  "vpn_public_ips": ["81.2.69.7/32", "95.216.0.0/16", "2a02:1810:ff::/48"]
}`

func compileTest(t *testing.T) *Locator {
	t.Helper()
	var s Sites
	if err := json.Unmarshal([]byte(testSites), &s); err != nil {
		t.Fatal(err)
	}
	l, err := Compile(s)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return l
}

func addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}

func TestClassify(t *testing.T) {
	l := compileTest(t)
	onsite := func(site, rule string) Placement { return Placement{Type: TypeOnsite, Site: site, Rule: rule} }
	remote := Placement{Type: TypeRemote, Rule: RuleDefault}
	vpn := Placement{Type: TypeRemote, VPN: true, Rule: RuleVPN}
	cases := []struct {
		name   string
		public string
		local  []netip.Addr
		want   Placement
	}{
		{"public HQ", "81.2.69.10", nil, onsite("HQ", RulePublicIP)},
		{"public Lab nested in HQ: most specific wins", "81.2.69.200", nil, onsite("Lab", RulePublicIP)},
		{"public bare IP", "5.148.1.1", nil, onsite("Branch", RulePublicIP)},
		{"public next to bare IP", "5.148.1.2", nil, remote},
		{"public IPv6", "2a02:1810:1::5", nil, onsite("HQ", RulePublicIP)},
		{"public mapped IPv4", "::ffff:81.2.69.10", nil, onsite("HQ", RulePublicIP)},
		{"local HQ", "8.8.8.8", addrs("10.1.2.3"), onsite("HQ", RuleLocalIP)},
		{"local Lab nested in HQ", "8.8.8.8", addrs("10.20.3.4"), onsite("Lab", RuleLocalIP)},
		{"local IPv6", "8.8.8.8", addrs("fd00:1::42"), onsite("HQ", RuleLocalIP)},
		{"local from mapped range", "8.8.8.8", addrs("172.16.3.4"), onsite("Branch", RuleLocalIP)},
		{"local mapped address", "8.8.8.8", addrs("::ffff:192.168.50.9"), onsite("Branch", RuleLocalIP)},
		{"local most specific across IPs", "8.8.8.8", addrs("10.1.2.3", "192.168.50.9", "10.20.1.1"), onsite("Branch", RuleLocalIP)},
		{"local tie: first reported", "8.8.8.8", addrs("10.20.1.1", "10.20.2.2"), onsite("Lab", RuleLocalIP)},
		{"local beats public", "81.2.69.10", addrs("192.168.50.9"), onsite("Branch", RuleLocalIP)},
		{"local unmatched falls back to public", "81.2.69.10", addrs("192.168.1.1"), onsite("HQ", RulePublicIP)},
		{"local invalid ignored", "81.2.69.10", []netip.Addr{{}}, onsite("HQ", RulePublicIP)},
		{"vpn /32 inside HQ range", "81.2.69.7", nil, vpn},
		{"vpn beats local", "95.216.3.3", addrs("10.1.2.3"), vpn},
		{"vpn IPv6 nested in HQ", "2a02:1810:ff:1::1", nil, vpn},
		{"remote", "8.8.8.8", addrs("192.168.1.1"), remote},
		{"remote IPv6", "2001:218::1", nil, remote},
		{"no public IP, local match", "", addrs("10.1.2.3"), onsite("HQ", RuleLocalIP)},
		{"nothing", "", nil, remote},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var pub netip.Addr
			if c.public != "" {
				pub = netip.MustParseAddr(c.public)
			}
			if got := l.Classify(pub, c.local); got != c.want {
				t.Errorf("Classify(%s, %v) = %+v, want %+v", c.public, c.local, got, c.want)
			}
		})
	}
}

func TestClassifyExaminesBoundedLocalIPs(t *testing.T) {
	l := compileTest(t)
	local := make([]netip.Addr, 0, maxLocalIPs+1)
	for range maxLocalIPs {
		local = append(local, netip.MustParseAddr("192.168.1.1"))
	}
	local = append(local, netip.MustParseAddr("10.1.1.1"))
	if got := l.Classify(netip.Addr{}, local); got.Type != TypeRemote {
		t.Errorf("Classify looked past %d local IPs: %+v", maxLocalIPs, got)
	}
}

func TestClassifyNilLocator(t *testing.T) {
	var l *Locator
	got := l.Classify(netip.MustParseAddr("81.2.69.10"), addrs("10.0.0.1"))
	if got != (Placement{Type: TypeRemote, Rule: RuleDefault}) {
		t.Errorf("nil Locator: %+v", got)
	}
	if d := l.Definition(); d.Sites == nil || d.VPNPublicIPs == nil || len(d.Sites) != 0 {
		t.Errorf("nil Locator definition = %+v", d)
	}
}

func TestCompileEmpty(t *testing.T) {
	l, err := Compile(Sites{})
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Classify(netip.MustParseAddr("81.2.69.10"), addrs("10.0.0.1")); got.Type != TypeRemote || got.Rule != RuleDefault {
		t.Errorf("empty definition: %+v", got)
	}
	b, _ := json.Marshal(l.Definition())
	if string(b) != `{"sites":[],"vpn_public_ips":[]}` {
		t.Errorf("empty definition JSON = %s", b)
	}
}

func TestDefinitionIsNormalized(t *testing.T) {
	l, err := Compile(Sites{
		Sites:        []Site{{Name: "  HQ ", PublicIPs: []string{" 81.2.69.1/24 "}, LocalIPs: []string{"10.0.0.1", "::ffff:172.16.0.0/108"}}},
		VPNPublicIPs: []string{"2a02:1810:ff::1/48"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Sites{
		Sites:        []Site{{Name: "HQ", PublicIPs: []string{"81.2.69.0/24"}, LocalIPs: []string{"10.0.0.1/32", "172.16.0.0/12"}}},
		VPNPublicIPs: []string{"2a02:1810:ff::/48"},
	}
	got := l.Definition()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Definition() = %+v, want %+v", got, want)
	}
	got.Sites[0].PublicIPs[0] = "changed"
	if l.Definition().Sites[0].PublicIPs[0] != "81.2.69.0/24" {
		t.Error("Definition shares slices with the Locator")
	}
}

func TestCompileErrors(t *testing.T) {
	many := make([]string, MaxRanges+1)
	for i := range many {
		many[i] = "10.0.0.1"
	}
	cases := []struct {
		name  string
		in    Sites
		field string
		msg   string
	}{
		{"empty name", Sites{Sites: []Site{{Name: "A"}, {Name: "  "}}}, "sites[1].name", "must not be empty"},
		{"long name", Sites{Sites: []Site{{Name: strings.Repeat("x", MaxSiteNameLen+1)}}}, "sites[0].name", "at most"},
		{"duplicate name", Sites{Sites: []Site{{Name: "HQ"}, {Name: "Lab"}, {Name: "hq "}}}, "sites[2].name", "duplicate of sites[0].name"},
		{"bad public CIDR", Sites{Sites: []Site{{Name: "A"}, {Name: "B", PublicIPs: []string{"81.2.69.0/24", "81.2.69.0/33"}}}}, "sites[1].public_ips[1]", "must be a CIDR"},
		{"bad local IP", Sites{Sites: []Site{{Name: "A", LocalIPs: []string{"10.0.0.256"}}}}, "sites[0].local_ips[0]", "must be a CIDR"},
		{"empty entry", Sites{Sites: []Site{{Name: "A", LocalIPs: []string{""}}}}, "sites[0].local_ips[0]", "must be a CIDR"},
		{"zone", Sites{Sites: []Site{{Name: "A", LocalIPs: []string{"fe80::1%eth0"}}}}, "sites[0].local_ips[0]", "must be a CIDR"},
		{"bad vpn", Sites{VPNPublicIPs: []string{"vpn.example.com"}}, "vpn_public_ips[0]", "must be a CIDR"},
		{"same public range in two sites", Sites{Sites: []Site{
			{Name: "A", PublicIPs: []string{"81.2.69.0/24"}}, {Name: "B", PublicIPs: []string{"81.2.69.9/24"}}}},
			"sites[1].public_ips[0]", `81.2.69.0/24 is already claimed by site "A"`},
		{"same local range in two sites", Sites{Sites: []Site{
			{Name: "A", LocalIPs: []string{"10.0.0.0/8"}}, {Name: "B", LocalIPs: []string{"::ffff:10.0.0.0/104"}}}},
			"sites[1].local_ips[0]", `10.0.0.0/8 is already claimed by site "A"`},
		{"site range is a vpn range", Sites{Sites: []Site{{Name: "A", PublicIPs: []string{"81.2.69.7"}}}, VPNPublicIPs: []string{"81.2.69.7/32"}},
			"vpn_public_ips[0]", `already claimed by site "A"`},
		{"too many ranges", Sites{VPNPublicIPs: many}, "sites", "at most"},
		{"too many sites", Sites{Sites: make([]Site, MaxSites+1)}, "sites", "at most"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, err := Compile(c.in)
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Compile = %v, %v; want a *FieldError", l, err)
			}
			if fe.Field != c.field || !strings.Contains(fe.Message, c.msg) {
				t.Errorf("FieldError{%q, %q}, want field %q and message containing %q", fe.Field, fe.Message, c.field, c.msg)
			}
			if !strings.HasPrefix(err.Error(), "geo: "+c.field+": ") {
				t.Errorf("Error() = %q", err)
			}
		})
	}
}

func TestCompileAllowsRepeatsAndOverlapsWithinOneOwner(t *testing.T) {
	l, err := Compile(Sites{Sites: []Site{
		{Name: "A", PublicIPs: []string{"81.2.69.0/24", "81.2.69.0/24"}, LocalIPs: []string{"10.0.0.0/8", "10.0.0.0/16"}},
		{Name: "B", PublicIPs: []string{"81.2.0.0/16"}, LocalIPs: []string{"10.0.0.0/24"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Classify(netip.MustParseAddr("81.2.70.1"), nil); got.Site != "B" {
		t.Errorf("81.2.70.1 → %+v, want site B", got)
	}
	if got := l.Classify(netip.Addr{}, addrs("10.0.0.9")); got.Site != "B" {
		t.Errorf("10.0.0.9 → %+v, want site B (/24 beats /16 and /8)", got)
	}
}

func TestPlacementJSON(t *testing.T) {
	b, _ := json.Marshal(Placement{Type: TypeOnsite, Site: "HQ", Rule: RuleLocalIP})
	if string(b) != `{"type":"onsite","site":"HQ","vpn":false,"rule":"local_ip"}` {
		t.Errorf("JSON = %s", b)
	}
}
