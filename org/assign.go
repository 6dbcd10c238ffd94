package org

import (
	"fmt"
	"net/netip"
	"strings"
)

// matcher evaluates rules with "first match wins" semantics without scanning
// every rule: exact names, tags and network prefixes are map lookups (one per
// distinct prefix length), and the ordered glob lists are bucketed by their
// first literal byte and stop as soon as they pass the best rule found so far.
type matcher struct {
	entity  []string            // rule index → entity
	names   map[string]int      // lower-cased literal device name → first rule index
	tags    map[string]int      // lower-cased tag → first rule index
	byFirst map[byte][]globRule // globs with a literal first byte, in rule order
	anyGlob []globRule          // globs starting with a wildcard, in rule order
	public  netIndex
	local   netIndex
}

type globRule struct {
	idx int
	g   glob
}

// netIndex finds the first rule whose prefix contains an address.
type netIndex struct {
	first      map[netip.Prefix]int // masked prefix → first rule index
	lens4      []int                // distinct IPv4 prefix lengths in use
	lens6      []int                // distinct IPv6 prefix lengths in use
	seenLength map[int]bool         // IPv4 lengths as n, IPv6 as 1000+n
}

func (x *netIndex) add(p netip.Prefix, idx int) {
	if x.first == nil {
		x.first = map[netip.Prefix]int{}
		x.seenLength = map[int]bool{}
	}
	if _, seen := x.first[p]; !seen {
		x.first[p] = idx
	}
	key, lens := p.Bits(), &x.lens4
	if p.Addr().Is6() {
		key, lens = 1000+p.Bits(), &x.lens6
	}
	if !x.seenLength[key] {
		x.seenLength[key] = true
		*lens = append(*lens, p.Bits())
	}
}

// lookup returns the smallest rule index below best whose prefix contains a,
// or best.
func (x *netIndex) lookup(a netip.Addr, best int) int {
	a = a.Unmap()
	if !a.IsValid() || len(x.first) == 0 {
		return best
	}
	lens := x.lens4
	if a.Is6() {
		lens = x.lens6
		a = a.WithZone("")
	}
	for _, l := range lens {
		p, err := a.Prefix(l)
		if err != nil {
			continue
		}
		if i, ok := x.first[p]; ok && i < best {
			best = i
		}
	}
	return best
}

func compileRules(rules []Rule, entities map[string]int) (matcher, error) {
	m := matcher{
		entity:  make([]string, len(rules)),
		names:   map[string]int{},
		tags:    map[string]int{},
		byFirst: map[byte][]globRule{},
	}
	for i, r := range rules {
		f := fmt.Sprintf("rules[%d]", i)
		if r.Entity == "" {
			return m, fieldErr(f+".entity", "required")
		}
		if _, ok := entities[r.Entity]; !ok {
			if strings.EqualFold(r.Entity, Unassigned) {
				return m, fieldErr(f+".entity", "%q is what unmatched devices get; it cannot be assigned by a rule", Unassigned)
			}
			return m, fieldErr(f+".entity", "entity %q is not defined", r.Entity)
		}
		m.entity[i] = r.Entity
		n := 0
		for _, s := range []string{r.DeviceName, r.PublicIP, r.LocalIP, r.Tag} {
			if s != "" {
				n++
			}
		}
		if n != 1 {
			return m, fieldErr(f, "a rule needs exactly one of device_name, public_ip, local_ip, tag (it has %d)", n)
		}
		switch {
		case r.DeviceName != "":
			if reason := checkName(r.DeviceName, MaxNameLen); reason != "" {
				return m, fieldErr(f+".device_name", "pattern %s", reason)
			}
			g := compileGlob(r.DeviceName)
			switch {
			case g.literal():
				if _, seen := m.names[g.pat]; !seen {
					m.names[g.pat] = i
				}
			case g.prefix != "":
				m.byFirst[g.prefix[0]] = append(m.byFirst[g.prefix[0]], globRule{idx: i, g: g})
			default:
				m.anyGlob = append(m.anyGlob, globRule{idx: i, g: g})
			}
		case r.PublicIP != "":
			p, reason := parseNet(r.PublicIP)
			if reason != "" {
				return m, fieldErr(f+".public_ip", "%s", reason)
			}
			m.public.add(p, i)
		case r.LocalIP != "":
			p, reason := parseNet(r.LocalIP)
			if reason != "" {
				return m, fieldErr(f+".local_ip", "%s", reason)
			}
			m.local.add(p, i)
		default:
			if reason := checkName(r.Tag, MaxNameLen); reason != "" {
				return m, fieldErr(f+".tag", "tag %s", reason)
			}
			t := strings.ToLower(r.Tag)
			if _, seen := m.tags[t]; !seen {
				m.tags[t] = i
			}
		}
	}
	return m, nil
}

// Assign returns the entity of the first rule that matches d, or Unassigned
// when none does (also for a nil Organization). Device names and tags are
// compared case-insensitively; IPv4-mapped IPv6 device addresses match IPv4
// rules.
func (o *Organization) Assign(d Device) string {
	if o == nil {
		return Unassigned
	}
	if i := o.m.first(d); i >= 0 {
		return o.m.entity[i]
	}
	return Unassigned
}

// AssignRule is Assign that also returns the index of the matching rule in
// Ruleset().Rules, or -1 when no rule matches (useful to explain an
// assignment to an admin).
func (o *Organization) AssignRule(d Device) (entity string, rule int) {
	if o == nil {
		return Unassigned, -1
	}
	if i := o.m.first(d); i >= 0 {
		return o.m.entity[i], i
	}
	return Unassigned, -1
}

// first returns the index of the first matching rule or -1.
func (m *matcher) first(d Device) int {
	none := len(m.entity)
	if none == 0 {
		return -1
	}
	best := none
	name := strings.ToLower(d.Name)
	if i, ok := m.names[name]; ok && i < best {
		best = i
	}
	for _, t := range d.Tags {
		if i, ok := m.tags[strings.ToLower(t)]; ok && i < best {
			best = i
		}
	}
	best = m.public.lookup(d.PublicIP, best)
	for _, a := range d.LocalIPs {
		best = m.local.lookup(a, best)
	}
	mask := byteMask(name)
	if name != "" {
		best = firstGlob(m.byFirst[name[0]], name, mask, best)
	}
	best = firstGlob(m.anyGlob, name, mask, best)
	if best == none {
		return -1
	}
	return best
}

// firstGlob returns the index of the first rule in rules (sorted by index)
// below best that matches name (whose byteMask is mask), or best.
func firstGlob(rules []globRule, name string, mask uint64, best int) int {
	for _, r := range rules {
		if r.idx >= best {
			break
		}
		if r.g.bytes&^mask == 0 && r.g.match(name) {
			return r.idx
		}
	}
	return best
}
