package geo

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/maxmind/mmdbwriter/mmdbtype"
)

var cityRecords = []place{
	{cidr: "81.2.69.0/24", code: "GB", name: "United Kingdom", state: "England", city: "London", lat: 51.5142, lon: -0.0931},
	{cidr: "2a02:1810::/32", code: "BE", name: "Belgium", state: "Flanders", city: "Antwerp", lat: 51.2194, lon: 4.4025},
	{cidr: "5.148.0.0/16", code: "CH", state: "Vaud", city: "Lausanne", lat: 46.516, lon: 6.6328},
	{cidr: "31.13.0.0/16", code: "de", name: "Germany", noCoordinates: true},
	{cidr: "62.0.0.0/16", code: "", name: "", noCoordinates: true}, // a record with nothing useful
	{cidr: "10.0.0.0/8", code: "XX", name: "Private", city: "Nowhere", lat: 1, lon: 1},
}

var flat4Records = []place{
	{cidr: "81.2.69.0/24", code: "GB", state: "England", city: "City of London", lat: 51.51, lon: -0.09},
	{cidr: "95.216.0.0/16", code: "FI", state: "Uusimaa", city: "Helsinki", lat: 60.1699, lon: 24.9384},
	{cidr: "1.0.0.0/24", code: "AU", state: "Queensland", city: "South Brisbane", lat: -27.4766, lon: 153.0166},
	{cidr: "41.0.0.0/16", code: "ZZ", lat: 0, lon: 0},
	{cidr: "45.0.0.0/16", code: "US", noCoordinates: true},
}

var flat6Records = []place{
	{cidr: "2a01:4f8::/32", code: "DE", state: "Saxony", city: "Falkenstein", lat: 50.4779, lon: 12.3713},
}

// testDBs writes one database of each kind into a temporary directory.
type testDBs struct{ city, flat4, flat6, country, asn string }

func writeTestDBs(t testing.TB) testDBs {
	t.Helper()
	dir := t.TempDir()
	return testDBs{
		city:    writeDB(t, dir, "GeoLite2-City.mmdb", "GeoLite2-City", 6, true, cityRecords, nestedRecordOf),
		flat4:   writeDB(t, dir, "dbip-city-ipv4.mmdb", "city ipv4", 4, false, flat4Records, flatRecordOf),
		flat6:   writeDB(t, dir, "dbip-city-ipv6.mmdb", "city ipv6", 6, false, flat6Records, flatRecordOf),
		country: writeDB(t, dir, "geo-whois-asn-country-ipv4.mmdb", "country ipv4", 4, false, []place{{cidr: "200.0.0.0/8", code: "BR"}}, countryOnlyRecord),
		asn:     writeDB(t, dir, "asn.mmdb", "GeoLite2-ASN", 6, false, []place{{cidr: "8.8.8.0/24"}}, func(place) mmdbtype.Map { return mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(15169)} }),
	}
}

func ptr(f float64) *float64 { return &f }

// f32 is what a float32 coordinate reads back as.
func f32(f float64) *float64 { return ptr(float64(float32(f))) }

func openTest(t testing.TB, paths ...string) *DB {
	t.Helper()
	db, err := Open(paths...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

type lookupCase struct {
	ip   string
	want Location
	ok   bool
}

func checkLookups(t *testing.T, db *DB, cases []lookupCase) {
	t.Helper()
	for _, c := range cases {
		got, ok := db.Lookup(netip.MustParseAddr(c.ip))
		if ok != c.ok || !reflect.DeepEqual(got, c.want) {
			t.Errorf("Lookup(%s) = %s, %v; want %s, %v", c.ip, show(got), ok, show(c.want), c.ok)
		}
	}
}

func show(l Location) string {
	s := l.CountryCode + "|" + l.Country + "|" + l.State + "|" + l.City
	for _, f := range []*float64{l.Latitude, l.Longitude} {
		if f != nil {
			s += "|" + strconv.FormatFloat(*f, 'g', -1, 64)
		}
	}
	return s
}

func TestLookupGeoIP2Layout(t *testing.T) {
	db := openTest(t, writeTestDBs(t).city)
	checkLookups(t, db, []lookupCase{
		{"81.2.69.142", Location{"GB", "United Kingdom", "England", "London", ptr(51.5142), ptr(-0.0931)}, true},
		{"::ffff:81.2.69.142", Location{"GB", "United Kingdom", "England", "London", ptr(51.5142), ptr(-0.0931)}, true},
		{"2a02:1810:1::7", Location{"BE", "Belgium", "Flanders", "Antwerp", ptr(51.2194), ptr(4.4025)}, true},
		// no English country name in the record: filled from the code
		{"5.148.9.9", Location{"CH", "Switzerland", "Vaud", "Lausanne", ptr(46.516), ptr(6.6328)}, true},
		// lower-case code is normalized; no coordinates stays nil
		{"31.13.1.1", Location{CountryCode: "DE", Country: "Germany"}, true},
		{"62.0.1.1", Location{}, false},  // record without location data
		{"8.8.8.8", Location{}, false},   // no record
		{"10.1.2.3", Location{}, false},  // private, even though the file has a record
		{"2a00:1::1", Location{}, false}, // no record
	})
}

func TestLookupFlatLayout(t *testing.T) {
	dbs := writeTestDBs(t)
	db := openTest(t, dbs.flat4, dbs.flat6)
	checkLookups(t, db, []lookupCase{
		{"95.216.10.20", Location{"FI", "Finland", "Uusimaa", "Helsinki", f32(60.1699), f32(24.9384)}, true},
		{"::ffff:95.216.10.20", Location{"FI", "Finland", "Uusimaa", "Helsinki", f32(60.1699), f32(24.9384)}, true},
		{"1.0.0.1", Location{"AU", "Australia", "Queensland", "South Brisbane", f32(-27.4766), f32(153.0166)}, true},
		{"2a01:4f8:c0c:1::2", Location{"DE", "Germany", "Saxony", "Falkenstein", f32(50.4779), f32(12.3713)}, true},
		{"45.0.1.1", Location{CountryCode: "US", Country: "United States"}, true},
		{"41.0.1.1", Location{}, false},          // "ZZ" with 0,0: unknown
		{"2a02:1810::1", Location{}, false},      // IPv6 not in the v6 file; the v4 file is skipped
		{"100.64.1.1", Location{}, false},        // CGNAT
		{"fd00::1", Location{}, false},           // ULA
		{"2002:0a00:0001::1", Location{}, false}, // 6to4 of 10.0.0.1
	})
}

func TestLookupCountryOnlyFlatFile(t *testing.T) {
	db := openTest(t, writeTestDBs(t).country)
	checkLookups(t, db, []lookupCase{
		{"200.1.2.3", Location{CountryCode: "BR", Country: "Brazil"}, true},
		{"201.1.2.3", Location{}, false},
	})
}

func TestLookupSearchesFilesInOrder(t *testing.T) {
	dbs := writeTestDBs(t)
	london := Location{"GB", "United Kingdom", "England", "London", ptr(51.5142), ptr(-0.0931)}
	cityOfLondon := Location{"GB", "United Kingdom", "England", "City of London", f32(51.51), f32(-0.09)}

	checkLookups(t, openTest(t, dbs.flat4, dbs.city), []lookupCase{
		{"81.2.69.142", cityOfLondon, true}, // both have it: the first file wins
		{"5.148.1.1", Location{"CH", "Switzerland", "Vaud", "Lausanne", ptr(46.516), ptr(6.6328)}, true},
		{"2a02:1810::1", Location{"BE", "Belgium", "Flanders", "Antwerp", ptr(51.2194), ptr(4.4025)}, true},
		{"41.0.0.1", Location{}, false}, // empty in the first file, absent from the second
	})
	checkLookups(t, openTest(t, dbs.city, dbs.flat4), []lookupCase{
		{"81.2.69.142", london, true},
		{"95.216.1.1", Location{"FI", "Finland", "Uusimaa", "Helsinki", f32(60.1699), f32(24.9384)}, true},
		{"62.0.0.1", Location{}, false},
	})
}

func TestLookupMaxMindTestDatabases(t *testing.T) {
	cases := []struct {
		file string
		ip   string
		want Location
	}{
		{"GeoIP2-City-Test.mmdb", "81.2.69.142", Location{"GB", "United Kingdom", "England", "London", ptr(51.5142), ptr(-0.0931)}},
		{"GeoIP2-City-Test.mmdb", "2001:218::", Location{CountryCode: "JP", Country: "Japan", Latitude: ptr(35.68536), Longitude: ptr(139.75309)}},
		{"GeoIP2-City-Test.mmdb", "89.160.20.112", Location{"SE", "Sweden", "Östergötland County", "Linköping", ptr(58.4167), ptr(15.6167)}},
		{"GeoLite2-City-Test.mmdb", "81.2.69.142", Location{"GB", "United Kingdom", "England", "London", ptr(51.5142), ptr(-0.0931)}},
		{"GeoLite2-City-Test.mmdb", "89.160.20.112", Location{"SE", "Sweden", "Östergötland County", "Linköping", ptr(58.4167), ptr(15.6167)}},
		{"GeoIP2-Country-Test.mmdb", "81.2.69.142", Location{CountryCode: "GB", Country: "United Kingdom"}},
		{"GeoLite2-Country-Test.mmdb", "2001:218::", Location{CountryCode: "JP", Country: "Japan"}},
		{"GeoLite2-Country-Test.mmdb", "::ffff:89.160.20.112", Location{CountryCode: "SE", Country: "Sweden"}},
	}
	for _, c := range cases {
		t.Run(c.file+"/"+c.ip, func(t *testing.T) {
			db := openTest(t, filepath.Join("testdata", c.file))
			checkLookups(t, db, []lookupCase{{c.ip, c.want, true}})
		})
	}
}

func TestLookupNilAndClosed(t *testing.T) {
	var nilDB *DB
	if _, ok := nilDB.Lookup(netip.MustParseAddr("81.2.69.142")); ok {
		t.Error("nil DB found a location")
	}
	if nilDB.Sources() != nil || nilDB.Close() != nil {
		t.Error("nil DB: want no sources and a nil Close")
	}
	db, err := Open(filepath.Join("testdata", "GeoIP2-City-Test.mmdb"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := db.Lookup(netip.MustParseAddr("81.2.69.142")); !ok {
		t.Fatal("open DB: no location")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, ok := db.Lookup(netip.MustParseAddr("81.2.69.142")); ok {
		t.Error("closed DB found a location")
	}
	if _, ok := db.Lookup(netip.Addr{}); ok {
		t.Error("zero Addr found a location")
	}
}

func TestOpenErrors(t *testing.T) {
	dbs := writeTestDBs(t)
	dir := t.TempDir()
	notMMDB := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notMMDB, []byte("not a database"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		paths []string
		want  string
	}{
		{"none", nil, "no file given"},
		{"empty path", []string{""}, "empty path"},
		{"missing", []string{filepath.Join(dir, "missing.mmdb")}, "missing.mmdb"},
		{"not mmdb", []string{notMMDB}, "notes.txt"},
		{"asn", []string{dbs.asn}, "carries no location"},
		{"second bad", []string{dbs.city, dbs.asn}, "asn.mmdb"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db, err := Open(c.paths...)
			if err == nil {
				_ = db.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "geo: open database") {
				t.Errorf("error %q: want prefix %q and %q", err, "geo: open database", c.want)
			}
		})
	}
}

func TestDetectLayout(t *testing.T) {
	cases := map[string]Layout{
		"GeoIP2-City": LayoutGeoIP2, "GeoLite2-City": LayoutGeoIP2, "GeoLite2-Country": LayoutGeoIP2,
		"GeoIP2-Country": LayoutGeoIP2, "DBIP-City-Lite": LayoutGeoIP2, "GeoIP2-Enterprise": LayoutGeoIP2,
		"city ipv4": LayoutFlat, "city ipv6": LayoutFlat, "country ipv4": LayoutFlat, "": LayoutFlat,
		"GeoLite2-ASN": "", "GeoIP2-ISP": "", "GeoIP2-Anonymous-IP": "", "asn ipv4": "",
		"GeoIP2-Domain": "", "GeoIP2-Connection-Type": "", "GeoIP2-Something-New": "",
	}
	for typ, want := range cases {
		got, err := detectLayout(typ)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("detectLayout(%q) = %q, %v; want %q", typ, got, err, want)
		}
	}
}

func TestSources(t *testing.T) {
	dbs := writeTestDBs(t)
	db := openTest(t, dbs.flat4, dbs.city, filepath.Join("testdata", "GeoIP2-City-Test.mmdb"), dbs.country)
	built := time.Unix(testBuildEpoch, 0).UTC()
	want := []Source{
		{File: "dbip-city-ipv4.mmdb", Type: "city ipv4", Layout: LayoutFlat, IPVersion: 4, BuildTime: built, Attribution: DBIPAttribution},
		{File: "GeoLite2-City.mmdb", Type: "GeoLite2-City", Layout: LayoutGeoIP2, IPVersion: 6, BuildTime: built, Attribution: GeoLite2Attribution},
		{File: "GeoIP2-City-Test.mmdb", Type: "GeoIP2-City", Layout: LayoutGeoIP2, IPVersion: 6, BuildTime: time.Unix(1770245369, 0).UTC()},
		{File: "geo-whois-asn-country-ipv4.mmdb", Type: "country ipv4", Layout: LayoutFlat, IPVersion: 4, BuildTime: built},
	}
	if got := db.Sources(); !reflect.DeepEqual(got, want) {
		t.Errorf("Sources() =\n%+v\nwant\n%+v", got, want)
	}
	if got := db.Attributions(); !reflect.DeepEqual(got, []string{DBIPAttribution, GeoLite2Attribution}) {
		t.Errorf("Attributions() = %q", got)
	}
}

func TestLookupConcurrent(t *testing.T) {
	dbs := writeTestDBs(t)
	db := openTest(t, dbs.flat4, dbs.flat6, dbs.city)
	ips := []string{"81.2.69.142", "95.216.1.1", "2a01:4f8::1", "2a02:1810::1", "5.148.1.1", "10.0.0.1"}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				ip := ips[(g+i)%len(ips)]
				_, ok := db.Lookup(netip.MustParseAddr(ip))
				if ok == (ip == "10.0.0.1") {
					errs <- ip
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for ip := range errs {
		t.Errorf("concurrent Lookup(%s) gave the wrong answer", ip)
	}
}
