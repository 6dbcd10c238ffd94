package geo

import (
	"fmt"

	"github.com/oschwald/maxminddb-golang/v2/mmdbdata"
)

// geoip2Record is the part of a GeoIP2/GeoLite2 City or Country record that
// webusage uses: country.iso_code, country.names.en, subdivisions[0].names.en,
// city.names.en, location.latitude and location.longitude. Decoding just
// these, without reflection, keeps a lookup well under the 2 µs target and
// free of heap allocations beyond the result; geoip2-golang, which decodes
// whole records, is the oracle this decoder is tested against.
type geoip2Record struct {
	code, country, state, city string
	lat, lon                   float64
	hasLat, hasLon             bool
}

// maxSubdivisions bounds the subdivisions array, as geoip2-golang does.
const maxSubdivisions = 32

// UnmarshalMaxMindDBCursor decodes the fields above and skips the rest.
// The map walks are written out rather than shared through callbacks so that
// nothing escapes to the heap.
func (r *geoip2Record) UnmarshalMaxMindDBCursor(c mmdbdata.Cursor) (mmdbdata.Cursor, error) {
	m, err := openMap(c)
	if err != nil {
		return mmdbdata.Cursor{}, err
	}
	next := m.First()
	for range m.Len() {
		key, v, err := next.ReadMapKey()
		if err != nil {
			return mmdbdata.Cursor{}, err
		}
		switch string(key) {
		case "country":
			next, err = decodeNamed(v, &r.code, &r.country)
		case "city":
			next, err = decodeNamed(v, nil, &r.city)
		case "subdivisions":
			next, err = r.decodeSubdivisions(v)
		case "location":
			next, err = r.decodeLocation(v)
		default:
			next, err = v.Skip()
		}
		if err != nil {
			return mmdbdata.Cursor{}, fmt.Errorf("geo: decode field %q: %w", string(key), err)
		}
	}
	return m.End(next)
}

// decodeLocation reads latitude and longitude from a location map.
func (r *geoip2Record) decodeLocation(c mmdbdata.Cursor) (mmdbdata.Cursor, error) {
	m, err := openMap(c)
	if err != nil {
		return mmdbdata.Cursor{}, err
	}
	next := m.First()
	for range m.Len() {
		key, v, err := next.ReadMapKey()
		if err != nil {
			return mmdbdata.Cursor{}, err
		}
		switch string(key) {
		case "latitude":
			r.lat, next, err = v.ReadFloat()
			r.hasLat = err == nil
		case "longitude":
			r.lon, next, err = v.ReadFloat()
			r.hasLon = err == nil
		default:
			next, err = v.Skip()
		}
		if err != nil {
			return mmdbdata.Cursor{}, err
		}
	}
	return m.End(next)
}

// decodeSubdivisions keeps the English name of the first (largest)
// subdivision.
func (r *geoip2Record) decodeSubdivisions(c mmdbdata.Cursor) (mmdbdata.Cursor, error) {
	s, err := c.SliceMaxSize(maxSubdivisions)
	if err != nil {
		return mmdbdata.Cursor{}, mmdbdata.NormalizeUnmarshalError[[]map[string]any](err)
	}
	var next mmdbdata.Cursor
	for {
		i, elem, ok := s.Next(next)
		if !ok {
			break
		}
		if i == 0 {
			next, err = decodeNamed(elem, nil, &r.state)
		} else {
			next, err = elem.Skip()
		}
		if err != nil {
			return mmdbdata.Cursor{}, err
		}
	}
	return s.End()
}

// decodeNamed reads a {"iso_code": ..., "names": {"en": ...}} map; code may
// be nil when the ISO code is not wanted.
func decodeNamed(c mmdbdata.Cursor, code, name *string) (mmdbdata.Cursor, error) {
	m, err := openMap(c)
	if err != nil {
		return mmdbdata.Cursor{}, err
	}
	next := m.First()
	for range m.Len() {
		key, v, err := next.ReadMapKey()
		if err != nil {
			return mmdbdata.Cursor{}, err
		}
		switch {
		case code != nil && string(key) == "iso_code":
			*code, next, err = v.ReadStringMaxSize(maxCodeLen)
		case string(key) == "names":
			next, err = decodeEnglish(v, name)
		default:
			next, err = v.Skip()
		}
		if err != nil {
			return mmdbdata.Cursor{}, err
		}
	}
	return m.End(next)
}

// decodeEnglish reads the "en" entry of a names map.
func decodeEnglish(c mmdbdata.Cursor, name *string) (mmdbdata.Cursor, error) {
	m, err := openMap(c)
	if err != nil {
		return mmdbdata.Cursor{}, err
	}
	next := m.First()
	for range m.Len() {
		key, v, err := next.ReadMapKey()
		if err != nil {
			return mmdbdata.Cursor{}, err
		}
		if string(key) == "en" {
			*name, next, err = v.ReadStringMaxSize(maxNameLen)
		} else {
			next, err = v.Skip()
		}
		if err != nil {
			return mmdbdata.Cursor{}, err
		}
	}
	return m.End(next)
}

func openMap(c mmdbdata.Cursor) (mmdbdata.MapReader, error) {
	m, err := c.MapReader()
	if err != nil {
		return m, mmdbdata.NormalizeUnmarshalError[map[string]any](err)
	}
	return m, nil
}

// location converts the record, filling the English country name from the
// code when the file has none.
func (r *geoip2Record) location() Location {
	loc := Location{CountryCode: normalizeCode(r.code), Country: r.country, State: r.state, City: r.city}
	if loc.Country == "" {
		loc.Country = CountryName(loc.CountryCode)
	}
	if r.hasLat && r.hasLon {
		loc.Latitude, loc.Longitude = coordinates(r.lat, r.lon)
	}
	return loc
}
