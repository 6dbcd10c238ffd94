package geo

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// benchPlaces returns n distinct public /24 (IPv4) networks with city data,
// and a sample of addresses inside them.
func benchPlaces(n int) ([]place, []netip.Addr) {
	rng := rand.New(rand.NewPCG(1, 2))
	cities := []place{
		{code: "GB", name: "United Kingdom", state: "England", city: "London", lat: 51.5142, lon: -0.0931},
		{code: "CH", name: "Switzerland", state: "Vaud", city: "Lausanne", lat: 46.516, lon: 6.6328},
		{code: "US", name: "United States", state: "California", city: "Mountain View", lat: 37.422, lon: -122.085},
		{code: "JP", name: "Japan", state: "Tokyo", city: "Chiyoda City", lat: 35.6869, lon: 139.767},
	}
	seen := map[netip.Prefix]bool{}
	var places []place
	var ips []netip.Addr
	for len(places) < n {
		a := netip.AddrFrom4([4]byte{byte(1 + rng.IntN(222)), byte(rng.IntN(256)), byte(rng.IntN(256)), 0})
		p := netip.PrefixFrom(a, 24)
		if !IsPublic(a) || seen[p] {
			continue
		}
		seen[p] = true
		c := cities[len(places)%len(cities)]
		c.cidr = p.String()
		places = append(places, c)
		b := a.As4()
		b[3] = byte(1 + rng.IntN(254))
		ips = append(ips, netip.AddrFrom4(b))
	}
	return places, ips
}

// BenchmarkLookupCity measures one geolocation lookup on a City database
// (50,000 networks) in each record layout; target ≤ 2 µs per lookup.
func BenchmarkLookupCity(b *testing.B) {
	places, ips := benchPlaces(50_000)
	dir := b.TempDir()
	for _, layout := range []struct {
		name, file, dbType string
		encode             func(place) mmdbtype.Map
	}{
		{"geoip2", "GeoLite2-City.mmdb", "GeoLite2-City", nestedRecordOf},
		{"flat", "dbip-city-ipv4.mmdb", "city ipv4", flatRecordOf},
	} {
		path := writeDB(b, dir, layout.file, layout.dbType, 6, false, places, layout.encode)
		db := openTest(b, path)
		b.Run(layout.name, func(b *testing.B) { benchLookups(b, db, ips) })
	}
}

// BenchmarkLookupFile measures lookups on real files named by
// WEBUSAGE_GEO_BENCH_DB (comma-separated, e.g. the DB-IP v4 and v6 files),
// with random public IPv4 addresses. It is skipped when the variable is unset.
func BenchmarkLookupFile(b *testing.B) {
	paths := os.Getenv("WEBUSAGE_GEO_BENCH_DB")
	if paths == "" {
		b.Skip("set WEBUSAGE_GEO_BENCH_DB to a database path to run this benchmark")
	}
	db := openTest(b, strings.Split(paths, ",")...)
	rng := rand.New(rand.NewPCG(3, 4))
	var ips []netip.Addr
	for len(ips) < 10_000 {
		a := netip.AddrFrom4([4]byte{byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))})
		if IsPublic(a) {
			ips = append(ips, a)
		}
	}
	benchLookups(b, db, ips)
}

func benchLookups(b *testing.B, db *DB, ips []netip.Addr) {
	found := 0
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := db.Lookup(ips[i%len(ips)]); ok {
			found++
		}
		i++
	}
	b.ReportMetric(float64(found)/float64(i), "found/op")
}

// BenchmarkClassify measures on-site/remote classification with 10, 1,000
// and 10,000 configured ranges of mixed lengths; the cost per event must not
// grow with the number of ranges.
func BenchmarkClassify(b *testing.B) {
	for _, n := range []int{10, 1_000, 10_000} {
		l, publics, locals := benchSites(b, n)
		b.Run(fmt.Sprintf("ranges=%d", n), func(b *testing.B) {
			i := 0
			onsite := 0
			b.ReportAllocs()
			for b.Loop() {
				p := l.Classify(publics[i%len(publics)], locals[i%len(locals):i%len(locals)+1])
				if p.Type == TypeOnsite {
					onsite++
				}
				i++
			}
			b.ReportMetric(float64(onsite)/float64(i), "onsite/op")
		})
	}
}

// BenchmarkClassify1000 is the headline figure: 1,000 ranges.
func BenchmarkClassify1000(b *testing.B) {
	l, publics, locals := benchSites(b, 1_000)
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		l.Classify(publics[i%len(publics)], locals[i%len(locals):i%len(locals)+1])
		i++
	}
}

// benchSites builds n ranges (a third public /24–/28, a third local /20–/28,
// a third IPv6 /48–/64 local), plus probe addresses of which about half hit.
func benchSites(b *testing.B, n int) (*Locator, []netip.Addr, []netip.Addr) {
	rng := rand.New(rand.NewPCG(5, 6))
	var s Sites
	var publics, locals []netip.Addr
	for i := 0; i < n; i++ {
		site := i / 10
		for len(s.Sites) <= site {
			s.Sites = append(s.Sites, Site{Name: fmt.Sprintf("site-%d", len(s.Sites))})
		}
		st := &s.Sites[site]
		switch i % 3 {
		case 0:
			a := netip.AddrFrom4([4]byte{byte(11 + i%80), byte(i >> 8), byte(i), 0})
			st.PublicIPs = append(st.PublicIPs, netip.PrefixFrom(a, 24+i%5).Masked().String())
			publics = append(publics, a, netip.AddrFrom4([4]byte{byte(150 + rng.IntN(50)), byte(rng.IntN(256)), 1, 1}))
		case 1:
			a := netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 9})
			st.LocalIPs = append(st.LocalIPs, netip.PrefixFrom(a, 20+i%9).Masked().String())
			locals = append(locals, a, netip.AddrFrom4([4]byte{172, 16, byte(rng.IntN(256)), 1}))
		default:
			a := netip.AddrFrom16([16]byte{0xfd, 0, byte(i >> 8), byte(i), 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 1})
			st.LocalIPs = append(st.LocalIPs, netip.PrefixFrom(a, 48+i%17).Masked().String())
			locals = append(locals, a)
		}
	}
	if len(publics) == 0 || len(locals) == 0 {
		b.Fatal("no probe addresses")
	}
	l, err := Compile(s)
	if err != nil {
		b.Fatal(err)
	}
	return l, publics, locals
}
