package geo

import "net/netip"

// prefixTable maps prefixes to values and answers longest-prefix-match
// queries. It keeps one hash map per prefix length in use, so a query costs at
// most one map probe per distinct length (≤ 33 for IPv4, ≤ 129 for IPv6)
// whatever the number of prefixes. It is read-only after building and safe for
// concurrent reads.
type prefixTable struct {
	v4, v6 lengthTable
}

type lengthTable struct {
	lengths []int                   // distinct prefix lengths in use, longest first
	byLen   [129]map[netip.Addr]int // length → masked address → value
}

// insert adds p (already masked and unmapped) with value v. If p is already
// present it returns the existing value and false, leaving the table as it
// was.
func (t *prefixTable) insert(p netip.Prefix, v int) (int, bool) {
	lt := &t.v6
	if p.Addr().Is4() {
		lt = &t.v4
	}
	m := lt.byLen[p.Bits()]
	if m == nil {
		m = map[netip.Addr]int{}
		lt.byLen[p.Bits()] = m
		lt.addLength(p.Bits())
	}
	if old, ok := m[p.Addr()]; ok {
		return old, false
	}
	m[p.Addr()] = v
	return v, true
}

func (lt *lengthTable) addLength(n int) {
	i := 0
	for i < len(lt.lengths) && lt.lengths[i] > n {
		i++
	}
	lt.lengths = append(lt.lengths, 0)
	copy(lt.lengths[i+1:], lt.lengths[i:])
	lt.lengths[i] = n
}

// lookup returns the value of the longest prefix containing a (unmapped, no
// zone) and that prefix's length.
func (t *prefixTable) lookup(a netip.Addr) (value, bits int, ok bool) {
	lt := &t.v6
	if a.Is4() {
		lt = &t.v4
	}
	for _, n := range lt.lengths {
		p, err := a.Prefix(n)
		if err != nil {
			continue
		}
		if v, found := lt.byLen[n][p.Addr()]; found {
			return v, n, true
		}
	}
	return 0, 0, false
}
