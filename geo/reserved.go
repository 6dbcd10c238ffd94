package geo

import (
	"net/netip"

	"go4.org/netipx"
)

// nonPublic4 lists the IPv4 special-purpose ranges (IANA IPv4 Special-Purpose
// Address Registry and RFC 6890 successors) that never identify a device's
// location on the public Internet.
var nonPublic4 = []string{
	"0.0.0.0/8",       // "this network" (RFC 791)
	"10.0.0.0/8",      // private (RFC 1918)
	"100.64.0.0/10",   // shared address space, CGNAT (RFC 6598)
	"127.0.0.0/8",     // loopback
	"169.254.0.0/16",  // link-local
	"172.16.0.0/12",   // private
	"192.0.0.0/24",    // IETF protocol assignments (RFC 6890)
	"192.0.2.0/24",    // documentation TEST-NET-1 (RFC 5737)
	"192.88.99.0/24",  // deprecated 6to4 relay anycast (RFC 7526)
	"192.168.0.0/16",  // private
	"198.18.0.0/15",   // benchmarking (RFC 2544)
	"198.51.100.0/24", // documentation TEST-NET-2
	"203.0.113.0/24",  // documentation TEST-NET-3
	"224.0.0.0/4",     // multicast
	"240.0.0.0/4",     // reserved, including 255.255.255.255 broadcast
}

// nonPublic6 lists IPv6 special-purpose ranges inside 2000::/3 (everything
// outside 2000::/3 — loopback, unspecified, IPv4-compatible, NAT64, discard,
// ULA fc00::/7, link-local, site-local, multicast — is rejected before this
// list is consulted).
var nonPublic6 = []string{
	"2001::/23",     // IETF protocol assignments: Teredo, benchmarking 2001:2::/48, ORCHID, AS112, ...
	"2001:db8::/32", // documentation (RFC 3849)
	"3fff::/20",     // documentation (RFC 9637)
	"5f00::/16",     // SRv6 SIDs (RFC 9602)
}

var (
	nonPublic = mustIPSet(append(append([]string{}, nonPublic4...), nonPublic6...))
	global6   = netip.MustParsePrefix("2000::/3")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

func mustIPSet(prefixes []string) *netipx.IPSet {
	var b netipx.IPSetBuilder
	for _, p := range prefixes {
		b.AddPrefix(netip.MustParsePrefix(p))
	}
	s, err := b.IPSet()
	if err != nil {
		panic("geo: reserved ranges: " + err.Error())
	}
	return s
}

// IsPublic reports whether ip is a public unicast address that can carry a
// geolocation. It is false for invalid, private, loopback, link-local, CGNAT,
// documentation, benchmarking, multicast, reserved and "this network"
// addresses, for unique-local and other special-purpose IPv6 ranges, and for
// 6to4 addresses whose embedded IPv4 address is not public. IPv4-mapped IPv6
// addresses are judged as the IPv4 address they carry; zones are ignored.
func IsPublic(ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is4() {
		return !nonPublic.Contains(ip)
	}
	if !global6.Contains(ip) {
		return false
	}
	if sixToFour.Contains(ip) {
		b := ip.As16()
		return IsPublic(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
	}
	return !nonPublic.Contains(ip)
}
