package geo

import (
	"fmt"
	"net/netip"
	"strings"
)

// Site is one on-site location: devices whose public IP is in PublicIPs, or
// that report a local IP in LocalIPs, are on this site. Entries are CIDRs or
// bare addresses.
type Site struct {
	Name      string   `json:"name"`
	PublicIPs []string `json:"public_ips"`
	LocalIPs  []string `json:"local_ips"`
}

// Sites is the admin's on-site definition (GET/PUT /api/v1/locations):
// the sites and the public egress ranges of the VPN.
type Sites struct {
	Sites        []Site   `json:"sites"`
	VPNPublicIPs []string `json:"vpn_public_ips"`
}

// Limits on a definition, so one PUT cannot exhaust memory.
const (
	MaxSites       = 10_000
	MaxRanges      = 100_000 // all public, local and VPN entries together
	MaxSiteNameLen = 200
)

// FieldError says which field of a Sites definition is invalid, in the
// JSON path form the API reports (e.g. "sites[1].public_ips[0]").
type FieldError struct {
	Field   string
	Message string
}

// Error implements error.
func (e *FieldError) Error() string { return "geo: " + e.Field + ": " + e.Message }

// Placement types and deciding rules.
const (
	TypeOnsite = "onsite"
	TypeRemote = "remote"

	RuleLocalIP  = "local_ip"
	RulePublicIP = "public_ip"
	RuleVPN      = "vpn"
	RuleDefault  = "default"
)

// Placement says whether a device is on-site (and where) or remote, and which
// rule decided.
type Placement struct {
	Type string `json:"type"`           // TypeOnsite or TypeRemote
	Site string `json:"site,omitempty"` // site name when on-site
	VPN  bool   `json:"vpn"`            // remote through the VPN egress
	Rule string `json:"rule"`           // RuleLocalIP, RulePublicIP, RuleVPN or RuleDefault
}

// Locator classifies devices by a compiled Sites definition. It is immutable
// and safe for concurrent use; compile a new one when the definition changes.
type Locator struct {
	def    Sites       // normalized copy of the definition
	names  []string    // site names by index
	local  prefixTable // local range → site index
	public prefixTable // public range → site index, or vpnOwner
}

const vpnOwner = -1

// Compile validates s and builds a Locator whose classification cost does not
// grow with the number of ranges. Site names must be non-empty, at most
// MaxSiteNameLen bytes and unique (case-insensitively); every entry must be a
// CIDR or an address (host bits are cleared, IPv4-mapped forms become IPv4).
// The same range may not be claimed by two sites (or by a site and the VPN)
// in the same list kind; nested ranges are fine and the most specific wins.
// Errors are *FieldError.
func Compile(s Sites) (*Locator, error) {
	if len(s.Sites) > MaxSites {
		return nil, &FieldError{"sites", fmt.Sprintf("at most %d sites", MaxSites)}
	}
	total := len(s.VPNPublicIPs)
	for _, site := range s.Sites {
		total += len(site.PublicIPs) + len(site.LocalIPs)
	}
	if total > MaxRanges {
		return nil, &FieldError{"sites", fmt.Sprintf("at most %d ranges in all", MaxRanges)}
	}
	l := &Locator{def: Sites{Sites: make([]Site, len(s.Sites)), VPNPublicIPs: []string{}}}
	seen := map[string]int{}
	for i, site := range s.Sites {
		name := strings.TrimSpace(site.Name)
		field := fmt.Sprintf("sites[%d]", i)
		switch {
		case name == "":
			return nil, &FieldError{field + ".name", "must not be empty"}
		case len(name) > MaxSiteNameLen:
			return nil, &FieldError{field + ".name", fmt.Sprintf("at most %d bytes", MaxSiteNameLen)}
		}
		if j, dup := seen[strings.ToLower(name)]; dup {
			return nil, &FieldError{field + ".name", fmt.Sprintf("duplicate of sites[%d].name", j)}
		}
		seen[strings.ToLower(name)] = i
		l.names = append(l.names, name)
		out := Site{Name: name}
		var err error
		if out.PublicIPs, err = l.add(&l.public, site.PublicIPs, i, field+".public_ips"); err != nil {
			return nil, err
		}
		if out.LocalIPs, err = l.add(&l.local, site.LocalIPs, i, field+".local_ips"); err != nil {
			return nil, err
		}
		l.def.Sites[i] = out
	}
	var err error
	if l.def.VPNPublicIPs, err = l.add(&l.public, s.VPNPublicIPs, vpnOwner, "vpn_public_ips"); err != nil {
		return nil, err
	}
	return l, nil
}

// add parses entries into t for owner and returns their normalized forms.
func (l *Locator) add(t *prefixTable, entries []string, owner int, field string) ([]string, error) {
	out := make([]string, 0, len(entries))
	for k, e := range entries {
		f := fmt.Sprintf("%s[%d]", field, k)
		p, err := parsePrefix(strings.TrimSpace(e))
		if err != nil {
			return nil, &FieldError{f, "must be a CIDR (10.0.0.0/8) or an IP address"}
		}
		if old, fresh := t.insert(p, owner); !fresh && old != owner {
			return nil, &FieldError{f, fmt.Sprintf("%s is already claimed by %s", p, l.ownerName(old))}
		}
		out = append(out, p.String())
	}
	return out, nil
}

func (l *Locator) ownerName(owner int) string {
	if owner == vpnOwner {
		return "vpn_public_ips"
	}
	return fmt.Sprintf("site %q", l.names[owner])
}

// Definition returns the normalized definition the Locator was compiled from
// (trimmed names, canonical CIDRs). A nil Locator has an empty definition.
func (l *Locator) Definition() Sites {
	if l == nil {
		return Sites{Sites: []Site{}, VPNPublicIPs: []string{}}
	}
	out := Sites{Sites: make([]Site, len(l.def.Sites)), VPNPublicIPs: append([]string{}, l.def.VPNPublicIPs...)}
	for i, s := range l.def.Sites {
		out.Sites[i] = Site{Name: s.Name, PublicIPs: append([]string{}, s.PublicIPs...), LocalIPs: append([]string{}, s.LocalIPs...)}
	}
	return out
}

// maxLocalIPs bounds how many reported local IPs are examined per event.
const maxLocalIPs = 32

// Classify places a device from its public IP and the local IPs its extension
// reported. Precedence, first match wins:
//
//  1. vpn: the most specific public range containing the public IP is a VPN
//     egress range → remote, VPN (a VPN client's local address may sit in a
//     corporate range, so this comes before local IPs);
//  2. local_ip: a local IP lies in a site's local ranges → on-site at that
//     site; across several local IPs the most specific range wins, then the
//     first reported;
//  3. public_ip: the most specific public range containing the public IP is a
//     site's → on-site at that site;
//  4. default: remote.
//
// IPv4-mapped addresses match IPv4 ranges; invalid addresses match nothing.
// A nil Locator always answers remote/default.
func (l *Locator) Classify(public netip.Addr, local []netip.Addr) Placement {
	if l == nil {
		return Placement{Type: TypeRemote, Rule: RuleDefault}
	}
	pubOwner, pubFound := 0, false
	if public.IsValid() {
		pubOwner, _, pubFound = l.public.lookup(public.Unmap().WithZone(""))
	}
	if pubFound && pubOwner == vpnOwner {
		return Placement{Type: TypeRemote, VPN: true, Rule: RuleVPN}
	}
	best, bestBits := -1, -1
	for i, a := range local {
		if i == maxLocalIPs {
			break
		}
		if !a.IsValid() {
			continue
		}
		if site, bits, ok := l.local.lookup(a.Unmap().WithZone("")); ok && bits > bestBits {
			best, bestBits = site, bits
		}
	}
	if best >= 0 {
		return Placement{Type: TypeOnsite, Site: l.names[best], Rule: RuleLocalIP}
	}
	if pubFound {
		return Placement{Type: TypeOnsite, Site: l.names[pubOwner], Rule: RulePublicIP}
	}
	return Placement{Type: TypeRemote, Rule: RuleDefault}
}
