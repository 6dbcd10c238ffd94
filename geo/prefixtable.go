package geo

import (
	"encoding/binary"
	"net/netip"
)

// prefixTable maps prefixes to values and answers longest-prefix-match
// queries. It keeps one hash map per prefix length in use, so a query costs at
// most one map probe per distinct length (≤ 33 for IPv4, ≤ 129 for IPv6),
// whatever the number of prefixes. It is read-only after building and safe
// for concurrent reads.
type prefixTable struct {
	v4 struct {
		lengths []int // distinct lengths in use, longest first
		byLen   [33]map[uint32]int
	}
	v6 struct {
		lengths []int
		byLen   [129]map[[2]uint64]int
	}
}

// key6 returns the two 64-bit halves of an IPv6 address with all bits after
// the first n cleared.
func key6(a netip.Addr, n int) [2]uint64 {
	b := a.As16()
	hi, lo := binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	switch {
	case n == 0:
		return [2]uint64{}
	case n <= 64:
		return [2]uint64{hi &^ (^uint64(0) >> n), 0}
	case n == 128:
		return [2]uint64{hi, lo}
	default:
		return [2]uint64{hi, lo &^ (^uint64(0) >> (n - 64))}
	}
}

// key4 returns an IPv4 address as a number with all bits after the first n
// cleared.
func key4(a netip.Addr, n int) uint32 {
	b := a.As4()
	if n == 0 {
		return 0
	}
	return binary.BigEndian.Uint32(b[:]) &^ (^uint32(0) >> n)
}

// insert adds p (unmapped) with value v. If p is already present it returns
// the existing value and false, leaving the table as it was.
func (t *prefixTable) insert(p netip.Prefix, v int) (int, bool) {
	n := p.Bits()
	if p.Addr().Is4() {
		m := t.v4.byLen[n]
		if m == nil {
			m = map[uint32]int{}
			t.v4.byLen[n] = m
			t.v4.lengths = insertLength(t.v4.lengths, n)
		}
		return insertKey(m, key4(p.Addr(), n), v)
	}
	m := t.v6.byLen[n]
	if m == nil {
		m = map[[2]uint64]int{}
		t.v6.byLen[n] = m
		t.v6.lengths = insertLength(t.v6.lengths, n)
	}
	return insertKey(m, key6(p.Addr(), n), v)
}

func insertKey[K comparable](m map[K]int, k K, v int) (int, bool) {
	if old, ok := m[k]; ok {
		return old, false
	}
	m[k] = v
	return v, true
}

// insertLength adds n to lengths, kept in descending order.
func insertLength(lengths []int, n int) []int {
	i := 0
	for i < len(lengths) && lengths[i] > n {
		i++
	}
	lengths = append(lengths, 0)
	copy(lengths[i+1:], lengths[i:])
	lengths[i] = n
	return lengths
}

// lookup returns the value of the longest prefix containing a (unmapped, no
// zone) and that prefix's length.
func (t *prefixTable) lookup(a netip.Addr) (value, bits int, ok bool) {
	if a.Is4() {
		for _, n := range t.v4.lengths {
			if v, found := t.v4.byLen[n][key4(a, n)]; found {
				return v, n, true
			}
		}
		return 0, 0, false
	}
	for _, n := range t.v6.lengths {
		if v, found := t.v6.byLen[n][key6(a, n)]; found {
			return v, n, true
		}
	}
	return 0, 0, false
}
