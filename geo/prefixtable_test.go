package geo

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// TestPrefixTableMatchesLinearScan checks longest-prefix matching against a
// brute-force scan over random prefixes of every length, both families.
func TestPrefixTableMatchesLinearScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	randAddr := func(v6 bool) netip.Addr {
		if v6 {
			var b [16]byte
			for i := range b {
				b[i] = byte(rng.IntN(4)) // few distinct values, so prefixes nest often
			}
			return netip.AddrFrom16(b)
		}
		return netip.AddrFrom4([4]byte{byte(rng.IntN(4)), byte(rng.IntN(4)), byte(rng.IntN(256)), byte(rng.IntN(256))})
	}
	var table prefixTable
	var prefixes []netip.Prefix
	for i := range 3000 {
		v6 := i%2 == 1
		a := randAddr(v6)
		bits := rng.IntN(a.BitLen() + 1)
		p := netip.PrefixFrom(a, bits).Masked()
		if _, fresh := table.insert(p, len(prefixes)); fresh {
			prefixes = append(prefixes, p)
		}
	}
	for range 5_000 {
		a := randAddr(rng.IntN(2) == 1)
		want, wantBits := -1, -1
		for i, p := range prefixes {
			if p.Contains(a) && p.Bits() > wantBits {
				want, wantBits = i, p.Bits()
			}
		}
		got, gotBits, ok := table.lookup(a)
		if !ok {
			got, gotBits = -1, -1
		}
		if got != want || gotBits != wantBits {
			t.Fatalf("lookup(%s) = %d (/%d), want %d (/%d)", a, got, gotBits, want, wantBits)
		}
	}
}

func TestKeyMasks(t *testing.T) {
	a6 := netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")
	for n, want := range map[int][2]uint64{
		0: {0, 0}, 1: {1 << 63, 0}, 63: {^uint64(1), 0}, 64: {^uint64(0), 0},
		65: {^uint64(0), 1 << 63}, 127: {^uint64(0), ^uint64(1)}, 128: {^uint64(0), ^uint64(0)},
	} {
		if got := key6(a6, n); got != want {
			t.Errorf("key6(/%d) = %x, want %x", n, got, want)
		}
	}
	a4 := netip.MustParseAddr("255.255.255.255")
	for n, want := range map[int]uint32{0: 0, 1: 1 << 31, 24: 0xffffff00, 31: 0xfffffffe, 32: 0xffffffff} {
		if got := key4(a4, n); got != want {
			t.Errorf("key4(/%d) = %x, want %x", n, got, want)
		}
	}
}
