package geo

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// testBuildEpoch is the build time written into test databases.
const testBuildEpoch = 1_780_000_000

// place is one test record, written in either layout.
type place struct {
	cidr                    string
	code, name, state, city string
	lat, lon                float64
	noCoordinates           bool
}

// writeDB writes records with mmdbwriter into dir/file and returns the path.
// ipVersion 4 builds an IPv4-only tree, 6 a tree with IPv4 aliased into it.
func writeDB(t testing.TB, dir, file, dbType string, ipVersion int, includeReserved bool, records []place, encode func(place) mmdbtype.Map) string {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            dbType,
		IPVersion:               ipVersion,
		BuildEpoch:              testBuildEpoch,
		IncludeReservedNetworks: includeReserved,
		Description:             map[string]string{"en": "webusage test database"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range records {
		_, network, err := net.ParseCIDR(r.cidr)
		if err != nil {
			t.Fatal(err)
		}
		if err := tree.Insert(network, encode(r)); err != nil {
			t.Fatalf("insert %s: %v", r.cidr, err)
		}
	}
	path := filepath.Join(dir, file)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// nestedRecordOf encodes p in MaxMind's nested City layout.
func nestedRecordOf(p place) mmdbtype.Map {
	m := mmdbtype.Map{}
	if p.code != "" || p.name != "" {
		c := mmdbtype.Map{}
		if p.code != "" {
			c["iso_code"] = mmdbtype.String(p.code)
		}
		if p.name != "" {
			c["names"] = mmdbtype.Map{"en": mmdbtype.String(p.name), "de": mmdbtype.String("x-" + p.name)}
		}
		m["country"] = c
	}
	if p.state != "" {
		m["subdivisions"] = mmdbtype.Slice{
			mmdbtype.Map{"iso_code": mmdbtype.String("S1"), "names": mmdbtype.Map{"en": mmdbtype.String(p.state)}},
			mmdbtype.Map{"iso_code": mmdbtype.String("S2"), "names": mmdbtype.Map{"en": mmdbtype.String("Smaller " + p.state)}},
		}
	}
	if p.city != "" {
		m["city"] = mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(p.city)}}
	}
	if !p.noCoordinates {
		m["location"] = mmdbtype.Map{
			"latitude":        mmdbtype.Float64(p.lat),
			"longitude":       mmdbtype.Float64(p.lon),
			"accuracy_radius": mmdbtype.Uint16(20),
		}
	}
	m["registered_country"] = mmdbtype.Map{"iso_code": mmdbtype.String("US")}
	return m
}

// flatRecordOf encodes p in the flat ip-location-db layout, with float32
// coordinates as the published files have.
func flatRecordOf(p place) mmdbtype.Map {
	m := mmdbtype.Map{
		"country_code": mmdbtype.String(p.code),
		"state1":       mmdbtype.String(p.state),
		"state2":       mmdbtype.String(""),
		"city":         mmdbtype.String(p.city),
		"postcode":     mmdbtype.String("1000"),
		"timezone":     mmdbtype.String(""),
	}
	if !p.noCoordinates {
		m["latitude"] = mmdbtype.Float32(p.lat)
		m["longitude"] = mmdbtype.Float32(p.lon)
	}
	return m
}

// countryOnlyRecord encodes p as the country-only ip-location-db files do.
func countryOnlyRecord(p place) mmdbtype.Map {
	return mmdbtype.Map{"country_code": mmdbtype.String(p.code)}
}
