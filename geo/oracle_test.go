package geo

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/oschwald/geoip2-golang/v2"
	"github.com/oschwald/maxminddb-golang/v2"
)

// fromGeoIP2 is what Lookup must return for a geoip2-golang City record.
func fromGeoIP2(rec *geoip2.City) Location {
	loc := Location{
		CountryCode: normalizeCode(rec.Country.ISOCode),
		Country:     rec.Country.Names.English,
		City:        rec.City.Names.English,
	}
	if loc.Country == "" {
		loc.Country = CountryName(loc.CountryCode)
	}
	if len(rec.Subdivisions) > 0 {
		loc.State = rec.Subdivisions[0].Names.English
	}
	if rec.Location.HasCoordinates() {
		loc.Latitude, loc.Longitude = rec.Location.Latitude, rec.Location.Longitude
	}
	return loc
}

// TestGeoIP2LayoutMatchesGeoip2Golang decodes every network of MaxMind's test
// databases and of a generated one with our selective decoder and with
// geoip2-golang, and requires the same answer.
func TestGeoIP2LayoutMatchesGeoip2Golang(t *testing.T) {
	paths := []string{writeTestDBs(t).city}
	for _, f := range []string{"GeoIP2-City-Test.mmdb", "GeoLite2-City-Test.mmdb", "GeoIP2-Country-Test.mmdb", "GeoLite2-Country-Test.mmdb"} {
		paths = append(paths, filepath.Join("testdata", f))
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			db := openTest(t, path)
			oracle, err := geoip2.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer oracle.Close()
			raw, err := maxminddb.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			checked, withCity := 0, 0
			for res := range raw.Networks() {
				ip := res.Prefix().Addr()
				rec, err := oracle.City(ip)
				if err != nil {
					t.Fatalf("geoip2 City(%s): %v", ip, err)
				}
				want := fromGeoIP2(rec)
				wantOK := IsPublic(ip) && !want.IsZero()
				if !wantOK {
					want = Location{}
				}
				got, ok := db.Lookup(ip)
				if ok != wantOK || !reflect.DeepEqual(got, want) {
					t.Errorf("Lookup(%s) = %s, %v; geoip2-golang says %s, %v", ip, show(got), ok, show(want), wantOK)
				}
				checked++
				if got.City != "" {
					withCity++
				}
			}
			if checked < 5 {
				t.Fatalf("only %d networks checked", checked)
			}
			if strings.Contains(path, "City") && withCity == 0 {
				t.Error("no network with a city: the comparison proves little")
			}
			t.Logf("%d networks, %d with a city", checked, withCity)
		})
	}
}
