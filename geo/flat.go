package geo

import (
	"fmt"

	"github.com/oschwald/maxminddb-golang/v2/mmdbdata"
)

// flatRecord is one record of the flat ip-location-db layout:
// {country_code, state1, state2, city, postcode, latitude, longitude, timezone}.
// Only the fields webusage uses are kept; the others are skipped.
type flatRecord struct {
	countryCode, state, city string
	lat, lon                 float64
	hasLat, hasLon           bool
}

// Bounds on decoded strings, so a hostile file cannot make a lookup allocate
// without limit.
const (
	maxCodeLen = 16
	maxNameLen = 1024
)

// UnmarshalMaxMindDBCursor decodes a flat record without reflection. Latitude
// and longitude may be stored as float32 (as ip-location-db does) or float64.
func (r *flatRecord) UnmarshalMaxMindDBCursor(c mmdbdata.Cursor) (mmdbdata.Cursor, error) {
	m, err := c.MapReader()
	if err != nil {
		return mmdbdata.Cursor{}, mmdbdata.NormalizeUnmarshalError[flatRecord](err)
	}
	next := m.First()
	for range m.Len() {
		key, v, err := next.ReadMapKey()
		if err != nil {
			return mmdbdata.Cursor{}, err
		}
		switch string(key) {
		case "country_code":
			r.countryCode, next, err = v.ReadStringMaxSize(maxCodeLen)
		case "state1":
			r.state, next, err = v.ReadStringMaxSize(maxNameLen)
		case "city":
			r.city, next, err = v.ReadStringMaxSize(maxNameLen)
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
			return mmdbdata.Cursor{}, fmt.Errorf("geo: decode field %q: %w", string(key), err)
		}
	}
	return m.End(next)
}

// location converts the record, filling the English country name from the
// code. Coordinates are kept only when both are present and not the (0, 0)
// placeholder some files use for "unknown".
func (r *flatRecord) location() Location {
	loc := Location{
		CountryCode: normalizeCode(r.countryCode),
		State:       r.state,
		City:        r.city,
	}
	loc.Country = CountryName(loc.CountryCode)
	if r.hasLat && r.hasLon && (r.lat != 0 || r.lon != 0) {
		loc.Latitude, loc.Longitude = coordinates(r.lat, r.lon)
	}
	return loc
}
