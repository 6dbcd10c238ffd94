package geo

import (
	"net/http"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func TestParsePrefixes(t *testing.T) {
	got, err := ParsePrefixes(" 10.0.0.0/8, 127.0.0.1,::1,,2001:db8::/32, 10.1.2.3/16, ::ffff:192.168.0.0/112 ")
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.1/32"),
		netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("2001:db8::/32"),
		netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("192.168.0.0/16"),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParsePrefixes = %v, want %v", got, want)
	}
	if got, err := ParsePrefixes(""); err != nil || len(got) != 0 {
		t.Errorf("ParsePrefixes(\"\") = %v, %v", got, err)
	}
	for _, bad := range []string{"10.0.0.0/33", "abc", "10.0.0.0/8,nope", "fe80::1%eth0", "1.2.3", "/8"} {
		if _, err := ParsePrefixes(bad); err == nil || !strings.HasPrefix(err.Error(), "geo: parse prefixes") {
			t.Errorf("ParsePrefixes(%q) error = %v", bad, err)
		}
	}
}

func TestResolve(t *testing.T) {
	trusted, err := ParsePrefixes("10.0.0.0/8,192.168.1.1,2001:db8:ffff::/48,127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	const proxy = "10.0.0.1:443"
	deepChain := "81.2.69.142" + strings.Repeat(", 10.0.0.3", 100)
	cases := []struct {
		name   string
		remote string
		hdr    map[string][]string
		opts   []ResolverOption
		want   string // "" means the zero Addr
	}{
		// spoofing attempts from untrusted peers: headers are ignored
		{"untrusted XFF", "81.2.69.142:5555", h("X-Forwarded-For", "1.2.3.4"), nil, "81.2.69.142"},
		{"untrusted X-Real-IP", "81.2.69.142:5555", h("X-Real-IP", "1.2.3.4"), nil, "81.2.69.142"},
		{"untrusted Forwarded", "81.2.69.142:5555", h("Forwarded", "for=1.2.3.4"), nil, "81.2.69.142"},
		{"untrusted claims trusted XFF", "81.2.69.142:5555", h("X-Forwarded-For", "10.0.0.9"), nil, "81.2.69.142"},
		{"untrusted IPv6 peer", "[2001:218::1]:443", h("X-Forwarded-For", "1.2.3.4"), nil, "2001:218::1"},
		{"no headers", proxy, nil, nil, "10.0.0.1"},

		// X-Forwarded-For through trusted proxies
		{"XFF single", proxy, h("X-Forwarded-For", "81.2.69.142"), nil, "81.2.69.142"},
		{"XFF client spoof on the left", proxy, h("X-Forwarded-For", "6.6.6.6, 81.2.69.142, 10.0.0.2"), nil, "81.2.69.142"},
		{"XFF several lines", proxy, h("X-Forwarded-For", "6.6.6.6", "81.2.69.142, 10.0.0.2"), nil, "81.2.69.142"},
		{"XFF all trusted", proxy, h("X-Forwarded-For", "10.1.1.1, 10.0.0.2"), nil, "10.1.1.1"},
		{"XFF malformed right-most", proxy, h("X-Forwarded-For", "81.2.69.142, garbage"), nil, "10.0.0.1"},
		{"XFF malformed left of proxy", proxy, h("X-Forwarded-For", "garbage, 10.0.0.2"), nil, "10.0.0.2"},
		{"XFF empty", proxy, h("X-Forwarded-For", ""), nil, "10.0.0.1"},
		{"XFF empty items", proxy, h("X-Forwarded-For", " , ,"), nil, "10.0.0.1"},
		{"XFF with port", proxy, h("X-Forwarded-For", "81.2.69.142:1234"), nil, "81.2.69.142"},
		{"XFF bracketed IPv6 with port", proxy, h("X-Forwarded-For", "[2001:218::1]:443"), nil, "2001:218::1"},
		{"XFF bracketed IPv6", proxy, h("X-Forwarded-For", "[2001:218::1]"), nil, "2001:218::1"},
		{"XFF IPv6", proxy, h("X-Forwarded-For", "2001:218::1, 2001:db8:ffff::7"), nil, "2001:218::1"},
		{"XFF mapped", proxy, h("X-Forwarded-For", "::ffff:81.2.69.142"), nil, "81.2.69.142"},
		{"XFF zone", proxy, h("X-Forwarded-For", "fe80::1%eth0"), nil, "10.0.0.1"},
		{"XFF only 64 hops examined", proxy, h("X-Forwarded-For", deepChain), nil, "10.0.0.3"},
		{"XFF before X-Real-IP", proxy, map[string][]string{"X-Forwarded-For": {"81.2.69.142"}, "X-Real-Ip": {"5.5.5.5"}}, nil, "81.2.69.142"},

		// X-Real-IP
		{"X-Real-IP", proxy, h("X-Real-IP", "81.2.69.142"), nil, "81.2.69.142"},
		{"X-Real-IP malformed", proxy, h("X-Real-IP", "81.2.69"), nil, "10.0.0.1"},
		{"X-Real-IP trusted value", proxy, h("X-Real-IP", "10.9.9.9"), nil, "10.9.9.9"},
		{"OnlyHeader X-Real-IP ignores XFF", proxy, map[string][]string{"X-Forwarded-For": {"6.6.6.6"}, "X-Real-Ip": {"81.2.69.142"}},
			[]ResolverOption{OnlyHeader("x-real-ip")}, "81.2.69.142"},
		{"OnlyHeader Forwarded ignores XFF", proxy, map[string][]string{"X-Forwarded-For": {"6.6.6.6"}},
			[]ResolverOption{OnlyHeader("Forwarded")}, "10.0.0.1"},

		// Forwarded (RFC 7239)
		{"Forwarded RFC example", proxy, h("Forwarded", `for=192.0.2.60;proto=http;by=203.0.113.43, for="[2001:218::17]:4711"`), nil, "2001:218::17"},
		{"Forwarded quoted v4 with port", proxy, h("Forwarded", `for="81.2.69.142:8080"`), nil, "81.2.69.142"},
		{"Forwarded unquoted v4 with port", proxy, h("Forwarded", `for=81.2.69.142:8080`), nil, "81.2.69.142"},
		{"Forwarded key case", proxy, h("Forwarded", `proto=https;For=81.2.69.142`), nil, "81.2.69.142"},
		{"Forwarded quoted IPv6 no port", proxy, h("Forwarded", `for="[2001:218::1]"`), nil, "2001:218::1"},
		{"Forwarded unquoted IPv6", proxy, h("Forwarded", `for=[2001:218::1]`), nil, "10.0.0.1"},
		{"Forwarded IPv6 without brackets", proxy, h("Forwarded", `for="2001:218::1"`), nil, "10.0.0.1"},
		{"Forwarded IPv6 bad port", proxy, h("Forwarded", `for="[2001:218::1]:99999x"`), nil, "10.0.0.1"},
		{"Forwarded IPv6 junk after bracket", proxy, h("Forwarded", `for="[2001:218::1]x"`), nil, "10.0.0.1"},
		{"Forwarded obfuscated port", proxy, h("Forwarded", `for="[2001:218::1]:_abc"`), nil, "2001:218::1"},
		{"Forwarded unknown", proxy, h("Forwarded", `for=unknown`), nil, "10.0.0.1"},
		{"Forwarded obfuscated node right-most", proxy, h("Forwarded", `for=81.2.69.142, for=_hidden`), nil, "10.0.0.1"},
		{"Forwarded obfuscated node left", proxy, h("Forwarded", `for=_hidden, for=81.2.69.142`), nil, "81.2.69.142"},
		{"Forwarded chain with trusted proxy", proxy, h("Forwarded", `for=6.6.6.6, for=81.2.69.142, for=10.0.0.5`), nil, "81.2.69.142"},
		{"Forwarded several lines", proxy, h("Forwarded", `for=6.6.6.6`, `for=81.2.69.142;proto=https`), nil, "81.2.69.142"},
		{"Forwarded quoted separators", proxy, h("Forwarded", `for="[2001:218::1]";proto=https;host="a;b,c", for=10.0.0.5`), nil, "2001:218::1"},
		{"Forwarded escaped quote", proxy, h("Forwarded", `host="x\"y,z";for="81.2.69.142"`), nil, "81.2.69.142"},
		{"Forwarded element without for", proxy, h("Forwarded", `for=81.2.69.142, proto=https`), nil, "10.0.0.1"},
		{"Forwarded empty", proxy, h("Forwarded", ``), nil, "10.0.0.1"},

		// peer forms
		{"trusted IPv6 peer", "[2001:db8:ffff::1]:443", h("X-Forwarded-For", "81.2.69.142"), nil, "81.2.69.142"},
		{"trusted mapped peer", "[::ffff:10.0.0.1]:80", h("X-Forwarded-For", "81.2.69.142"), nil, "81.2.69.142"},
		{"trusted bare peer", "192.168.1.1", h("X-Forwarded-For", "81.2.69.142"), nil, "81.2.69.142"},
		{"near-trusted peer", "192.168.1.2:80", h("X-Forwarded-For", "81.2.69.142"), nil, "192.168.1.2"},
		{"invalid peer", "garbage", h("X-Forwarded-For", "81.2.69.142"), nil, ""},
		{"empty peer", "", nil, nil, ""},
		{"zoned peer", "[fe80::1%eth0]:80", nil, nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := NewClientIPResolver(trusted, c.opts...)
			got := r.Resolve(c.remote, http.Header(c.hdr))
			if got.String() != addrString(c.want) {
				t.Errorf("Resolve = %v, want %v", got, addrString(c.want))
			}
		})
	}
}

func TestResolveWithoutTrustedProxies(t *testing.T) {
	hdr := http.Header(h("X-Forwarded-For", "81.2.69.142"))
	for _, r := range []*ClientIPResolver{nil, NewClientIPResolver(nil)} {
		if got := r.Resolve("127.0.0.1:9999", hdr); got != netip.MustParseAddr("127.0.0.1") {
			t.Errorf("Resolve = %v, want the peer", got)
		}
	}
}

// h builds headers with canonical keys, one value per header line.
func h(name string, values ...string) map[string][]string {
	return map[string][]string{http.CanonicalHeaderKey(name): values}
}

func addrString(s string) string {
	if s == "" {
		return netip.Addr{}.String()
	}
	return netip.MustParseAddr(s).String()
}
