package geo

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"go4.org/netipx"
)

// The forwarding headers a ClientIPResolver can read.
const (
	HeaderXForwardedFor = "X-Forwarded-For"
	HeaderXRealIP       = "X-Real-Ip" // canonical form of X-Real-IP
	HeaderForwarded     = "Forwarded" // RFC 7239
)

// maxHops bounds how many forwarding hops are examined, so a huge header
// cannot make resolution expensive.
const maxHops = 64

// ClientIPResolver finds the client address of an HTTP request, believing
// forwarding headers only from trusted proxies. It is safe for concurrent use.
type ClientIPResolver struct {
	trusted *netipx.IPSet
	headers []string
}

// ResolverOption adjusts a ClientIPResolver.
type ResolverOption func(*ClientIPResolver)

// OnlyHeader makes the resolver read just the named header (HeaderXForwardedFor,
// HeaderXRealIP or HeaderForwarded). Use it when the proxy sets one header and
// passes the others through from the client unchanged.
func OnlyHeader(name string) ResolverOption {
	return func(r *ClientIPResolver) { r.headers = []string{http.CanonicalHeaderKey(name)} }
}

// NewClientIPResolver returns a resolver that trusts the given proxy ranges.
// By default it reads, from a trusted peer, the first of X-Forwarded-For,
// X-Real-IP and Forwarded that is present. With no trusted ranges it always
// returns the TCP peer.
func NewClientIPResolver(trusted []netip.Prefix, opts ...ResolverOption) *ClientIPResolver {
	var b netipx.IPSetBuilder
	for _, p := range trusted {
		if p.IsValid() {
			b.AddPrefix(unmapPrefix(p.Masked()))
		}
	}
	set, _ := b.IPSet() // only invalid prefixes make this fail, and they were skipped
	r := &ClientIPResolver{trusted: set, headers: []string{HeaderXForwardedFor, HeaderXRealIP, HeaderForwarded}}
	for _, o := range opts {
		o(r)
	}
	return r
}

// ParsePrefixes parses a comma-separated list of CIDRs and bare addresses
// ("10.0.0.0/8,127.0.0.1,::1"; a bare address means /32 or /128). Spaces and
// empty items are ignored; host bits are cleared. An empty list is valid.
func ParsePrefixes(csv string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for item := range strings.SplitSeq(csv, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		p, err := parsePrefix(item)
		if err != nil {
			return nil, fmt.Errorf("geo: parse prefixes: %w", err)
		}
		out = append(out, p)
	}
	return out, nil
}

// parsePrefix parses a CIDR or a bare address into a masked prefix, with
// IPv4-mapped IPv6 forms turned into IPv4.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("invalid CIDR %q", s)
		}
		return unmapPrefix(p.Masked()), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("invalid IP address %q", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// unmapPrefix turns ::ffff:a.b.c.d/n (n >= 96) into a.b.c.d/(n-96), so mapped
// and plain IPv4 forms match the same addresses.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96).Masked()
	}
	return p
}

// Resolve returns the client address: the TCP peer from remoteAddr ("ip:port"
// or a bare IP), unless the peer is a trusted proxy. Only then are the
// forwarding headers read, walking the hops from right (nearest) to left and
// returning the first address that is not itself a trusted proxy. If every
// hop is trusted, the left-most is returned; a malformed hop stops the walk
// at the last good one. The zero Addr means remoteAddr was not an address.
// IPv4-mapped addresses are returned as IPv4.
func (r *ClientIPResolver) Resolve(remoteAddr string, h http.Header) netip.Addr {
	peer := parseHostPort(remoteAddr)
	if !peer.IsValid() || r == nil || !r.trusted.Contains(peer) {
		return peer
	}
	for _, name := range r.headers {
		values := h.Values(name)
		if len(values) == 0 {
			continue
		}
		var hops []netip.Addr
		switch name {
		case HeaderXRealIP:
			hops = []netip.Addr{parseHostPort(strings.TrimSpace(values[len(values)-1]))}
		case HeaderForwarded:
			hops = forwardedHops(values)
		default:
			hops = xffHops(values)
		}
		return r.pick(peer, hops)
	}
	return peer
}

// pick walks hops (ordered left to right; a zero Addr marks a malformed hop)
// from the right and returns the first untrusted one; if it meets a malformed
// hop or runs out, it returns the last trusted address seen.
func (r *ClientIPResolver) pick(peer netip.Addr, hops []netip.Addr) netip.Addr {
	last := peer
	for i := len(hops) - 1; i >= 0; i-- {
		if !hops[i].IsValid() {
			return last
		}
		if !r.trusted.Contains(hops[i]) {
			return hops[i]
		}
		last = hops[i]
	}
	return last
}

// xffHops parses X-Forwarded-For values (several header lines are one list,
// in order) into at most maxHops right-most hops; an unparsable hop becomes
// the zero Addr.
func xffHops(values []string) []netip.Addr {
	var hops []netip.Addr
	for i := len(values) - 1; i >= 0 && len(hops) < maxHops; i-- {
		v := values[i]
		for len(v) > 0 && len(hops) < maxHops {
			item := v
			if j := strings.LastIndexByte(v, ','); j >= 0 {
				item, v = v[j+1:], v[:j]
			} else {
				v = ""
			}
			hops = append(hops, parseHostPort(strings.TrimSpace(item)))
		}
	}
	reverse(hops)
	return hops
}

func reverse(a []netip.Addr) {
	for i, j := 0, len(a)-1; i < j; i, j = i+1, j-1 {
		a[i], a[j] = a[j], a[i]
	}
}

// parseHostPort accepts "1.2.3.4", "1.2.3.4:80", "::1", "[::1]" and
// "[::1]:80"; anything else (including zones) gives the zero Addr.
func parseHostPort(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return clean(ap.Addr())
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		s = s[1 : len(s)-1]
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}
	}
	return clean(a)
}

func clean(a netip.Addr) netip.Addr {
	if a.Zone() != "" {
		return netip.Addr{}
	}
	return a.Unmap()
}
