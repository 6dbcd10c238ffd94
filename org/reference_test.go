package org

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
)

// referenceAssign is the obvious implementation: try every rule in order.
func referenceAssign(rs Ruleset, d Device) string {
	name := strings.ToLower(d.Name)
	for _, r := range rs.Rules {
		switch {
		case r.DeviceName != "":
			if globRegexp(r.DeviceName).MatchString(name) {
				return r.Entity
			}
		case r.PublicIP != "":
			p, _ := parseNet(r.PublicIP)
			if d.PublicIP.IsValid() && p.Contains(d.PublicIP.Unmap()) {
				return r.Entity
			}
		case r.LocalIP != "":
			p, _ := parseNet(r.LocalIP)
			for _, a := range d.LocalIPs {
				if p.Contains(a.Unmap().WithZone("")) {
					return r.Entity
				}
			}
		case r.Tag != "":
			for _, t := range d.Tags {
				if strings.EqualFold(t, r.Tag) {
					return r.Entity
				}
			}
		}
	}
	return Unassigned
}

// TestAssignMatchesReference compares the indexed matcher with the linear
// reference on random rulesets drawn from small alphabets, so rules overlap,
// shadow each other and collide in every index.
func TestAssignMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(s string) byte { return s[rng.IntN(len(s))] }
	word := func(alphabet string, n int) string {
		b := make([]byte, 1+rng.IntN(n))
		for i := range b {
			b[i] = pick(alphabet)
		}
		return string(b)
	}
	v4 := func() netip.Addr {
		return netip.AddrFrom4([4]byte{10, byte(rng.IntN(4)), byte(rng.IntN(4)), byte(rng.IntN(4))})
	}
	for round := range 300 {
		var rs Ruleset
		for i := range 5 {
			rs.Entities = append(rs.Entities, Entity{Name: fmt.Sprintf("E%d", i)})
		}
		for range 1 + rng.IntN(25) {
			r := Rule{Entity: fmt.Sprintf("E%d", rng.IntN(5))}
			switch rng.IntN(4) {
			case 0:
				r.DeviceName = word("aAb*?", 5)
			case 1:
				p, _ := v4().Prefix([]int{8, 16, 24, 30, 32}[rng.IntN(5)])
				r.PublicIP = p.String()
			case 2:
				p, _ := v4().Prefix([]int{8, 16, 24, 32}[rng.IntN(4)])
				r.LocalIP = p.String()
			case 3:
				r.Tag = word("xX", 2)
			}
			rs.Rules = append(rs.Rules, r)
		}
		o, err := Compile(rs)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for range 50 {
			d := Device{Name: word("aAbB", 5)}
			if rng.IntN(4) > 0 {
				d.PublicIP = v4()
				if rng.IntN(2) == 0 {
					d.PublicIP = netip.AddrFrom16(d.PublicIP.As16()) // IPv4-mapped
				}
			}
			for range rng.IntN(3) {
				d.LocalIPs = append(d.LocalIPs, v4())
			}
			for range rng.IntN(3) {
				d.Tags = append(d.Tags, word("xXy", 2))
			}
			if got, want := o.Assign(d), referenceAssign(rs, d); got != want {
				t.Fatalf("round %d: device %+v\nrules %+v\nAssign = %q, reference %q", round, d, rs.Rules, got, want)
			}
		}
	}
}
