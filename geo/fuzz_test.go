package geo

import (
	"net/http"
	"net/netip"
	"testing"
)

// FuzzResolve checks that client IP resolution never panics, never believes
// headers from an untrusted peer, and from a trusted peer always returns a
// valid, zone-free, unmapped address.
func FuzzResolve(f *testing.F) {
	f.Add("10.0.0.1:443", "81.2.69.142, 10.0.0.2", "5.5.5.5", `for="[2001:218::1]:80";proto=https`)
	f.Add("81.2.69.142:1", "1.2.3.4", "", "")
	f.Add("[::ffff:10.0.0.1]:80", " , ,", "x", `for=_hidden, for="\"`)
	f.Add("10.0.0.1", "[2001:218::1]:443", "", `host="a;b,c";for=unknown`)
	r := NewClientIPResolver([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")})
	rf := NewClientIPResolver([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, OnlyHeader(HeaderForwarded))
	f.Fuzz(func(t *testing.T, remote, xff, realIP, fwd string) {
		h := http.Header{}
		for name, v := range map[string]string{HeaderXForwardedFor: xff, HeaderXRealIP: realIP, HeaderForwarded: fwd} {
			if v != "" {
				h.Set(name, v)
			}
		}
		peer := parseHostPort(remote)
		for _, res := range []*ClientIPResolver{r, rf} {
			got := res.Resolve(remote, h)
			if !peer.IsValid() || !res.trusted.Contains(peer) {
				if got != peer {
					t.Fatalf("untrusted peer %q: Resolve = %v, want the peer", remote, got)
				}
				continue
			}
			if !got.IsValid() || got.Zone() != "" || got.Is4In6() {
				t.Fatalf("trusted peer %q: Resolve = %v", remote, got)
			}
		}
	})
}
