// Package geo works out where a device is: its geolocation from its public IP
// (MaxMind GeoIP2/GeoLite2 or DB-IP/ip-location-db mmdb files), the client IP
// behind trusted proxies, and whether it is on-site or remote according to the
// admin's site definitions.
//
// Everything here is safe for concurrent use once built, and nothing logs:
// callers decide what to record, and must never record raw IPs.
package geo

import (
	"fmt"
	"math"
	"strings"
)

// Granularity is how much geolocation the admin allows to be stored.
type Granularity string

// The granularities, from least to most detailed.
const (
	GranularityOff     Granularity = "off"     // store nothing
	GranularityCountry Granularity = "country" // country code and name
	GranularityState   Granularity = "state"   // plus state / region
	GranularityCity    Granularity = "city"    // plus city and coordinates rounded to 2 decimals
)

// ParseGranularity returns the granularity named by s ("off", "country",
// "state" or "city"; case and surrounding space ignored) or an error naming
// the accepted values.
func ParseGranularity(s string) (Granularity, error) {
	switch g := Granularity(strings.ToLower(strings.TrimSpace(s))); g {
	case GranularityOff, GranularityCountry, GranularityState, GranularityCity:
		return g, nil
	}
	return "", fmt.Errorf("geo: invalid granularity %q: want off, country, state or city", s)
}

// Location is a geolocation; empty strings and nil coordinates mean unknown
// or not stored.
type Location struct {
	CountryCode string   `json:"country_code,omitempty"` // ISO 3166-1 alpha-2, upper case
	Country     string   `json:"country,omitempty"`      // English name
	State       string   `json:"state,omitempty"`        // first-level subdivision, English name
	City        string   `json:"city,omitempty"`         // English name
	Latitude    *float64 `json:"latitude,omitempty"`
	Longitude   *float64 `json:"longitude,omitempty"`
}

// IsZero reports whether l carries no information at all.
func (l Location) IsZero() bool {
	return l.CountryCode == "" && l.Country == "" && l.State == "" && l.City == "" &&
		l.Latitude == nil && l.Longitude == nil
}

// Limit returns only what granularity g allows: city keeps everything with
// latitude and longitude rounded to 2 decimals (about 1 km) and both or
// neither present; state keeps country code, country and state; country keeps
// country code and country; off, and any unknown granularity, keeps nothing.
// The result never shares pointers with l.
func (l Location) Limit(g Granularity) Location {
	var out Location
	switch g {
	case GranularityCity:
		out.City = l.City
		if l.Latitude != nil && l.Longitude != nil {
			out.Latitude, out.Longitude = coordinates(round2(*l.Latitude), round2(*l.Longitude))
		}
		fallthrough
	case GranularityState:
		out.State = l.State
		fallthrough
	case GranularityCountry:
		out.CountryCode, out.Country = l.CountryCode, l.Country
	}
	return out
}

// round2 rounds x to 2 decimal places, half away from zero.
func round2(x float64) float64 {
	r := math.Round(x*100) / 100
	if r == 0 {
		return 0 // no negative zero in stored data
	}
	return r
}

// coordinates returns pointers to copies of lat and lon, sharing one
// allocation.
func coordinates(lat, lon float64) (*float64, *float64) {
	c := &[2]float64{lat, lon}
	return &c[0], &c[1]
}
