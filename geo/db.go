package geo

import (
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/oschwald/maxminddb-golang/v2"
)

// Layout names the record layout of a database file.
type Layout string

// The record layouts Open understands.
const (
	// LayoutGeoIP2 is MaxMind's nested GeoIP2/GeoLite2 City or Country layout
	// (also used by DB-IP's own "DBIP-City-Lite" style files): the record
	// types of geoip2-golang, of which only the fields Location carries are
	// decoded.
	LayoutGeoIP2 Layout = "geoip2"
	// LayoutFlat is the flat ip-location-db layout (country_code, state1,
	// city, latitude, longitude, ...), read with maxminddb-golang.
	LayoutFlat Layout = "flat"
)

// DBIPAttribution is the attribution the DB-IP Lite licence (CC BY 4.0)
// requires wherever results from its data are shown or used.
const DBIPAttribution = "IP Geolocation by DB-IP (https://db-ip.com), CC BY 4.0"

// GeoLite2Attribution is the attribution MaxMind's GeoLite2 licence requires.
const GeoLite2Attribution = "This product includes GeoLite2 data created by MaxMind, available from https://www.maxmind.com"

// Source describes one opened database file, for the API's metadata and for
// attribution.
type Source struct {
	File        string    `json:"file"`                  // base name of the path, never the directory
	Type        string    `json:"database_type"`         // metadata database_type, e.g. "GeoLite2-City", "city ipv4"
	Layout      Layout    `json:"layout"`                // how its records are read
	IPVersion   int       `json:"ip_version"`            // 4: IPv4 only; 6: IPv6 (and IPv4)
	BuildTime   time.Time `json:"build_time"`            // when the file was built (UTC)
	Attribution string    `json:"attribution,omitempty"` // text that must be shown with results, if any
}

// DB is a set of opened geolocation databases, searched in order. It is safe
// for concurrent use; open it once and share it.
type DB struct {
	files  []dbFile
	closed atomic.Bool
}

type dbFile struct {
	src Source
	r   *maxminddb.Reader
}

// geoip2Types are the database types whose records follow the GeoIP2 City or
// Country layout: the list geoip2-golang v2 accepts for City lookups.
var geoip2Types = map[string]bool{
	"DBIP-City-Lite": true, "DBIP-Country-Lite": true, "DBIP-Country": true,
	"DBIP-Location (compat=City)": true, "GeoLite2-City": true, "GeoIP-City-Redacted-US": true,
	"GeoIP2-City": true, "GeoIP2-City-Africa": true, "GeoIP2-City-Asia-Pacific": true,
	"GeoIP2-City-Europe": true, "GeoIP2-City-North-America": true, "GeoIP2-City-South-America": true,
	"GeoIP2-Precision-City": true, "GeoLite2-Country": true, "GeoIP2-Country": true,
	"DBIP-ISP (compat=Enterprise)": true, "DBIP-Location-ISP (compat=Enterprise)": true,
	"GeoIP-Enterprise-Redacted-US": true, "GeoIP2-Enterprise": true,
}

// detectLayout decides from the metadata database_type how records are laid
// out. Types that carry no location (ASN, ISP, anonymous IP, domain,
// connection type) are refused.
func detectLayout(dbType string) (Layout, error) {
	if geoip2Types[dbType] {
		return LayoutGeoIP2, nil
	}
	lower := strings.ToLower(dbType)
	for _, w := range []string{"asn", "isp", "anonymous", "domain", "connection"} {
		if strings.Contains(lower, w) {
			return "", fmt.Errorf("database type %q carries no location", dbType)
		}
	}
	if strings.HasPrefix(dbType, "GeoIP") || strings.HasPrefix(dbType, "GeoLite") {
		return "", fmt.Errorf("unsupported MaxMind database type %q", dbType)
	}
	// Anything else (ip-location-db writes e.g. "city ipv4", "country ipv6")
	// is read as the flat layout; fields it lacks simply stay empty.
	return LayoutFlat, nil
}

// Open opens the mmdb files at paths (searched in that order by Lookup),
// detecting each file's record layout from its metadata. It fails if any file
// cannot be opened or carries no location data; nothing stays open then.
func Open(paths ...string) (*DB, error) {
	if len(paths) == 0 {
		return nil, errors.New("geo: open database: no file given")
	}
	db := &DB{}
	for _, p := range paths {
		f, err := openFile(p)
		if err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("geo: open database %s: %w", filepath.Base(p), err)
		}
		db.files = append(db.files, f)
	}
	return db, nil
}

func openFile(path string) (dbFile, error) {
	if path == "" {
		return dbFile{}, errors.New("empty path")
	}
	r, err := maxminddb.Open(path)
	if err != nil {
		return dbFile{}, err
	}
	md := r.Metadata
	layout, err := detectLayout(md.DatabaseType)
	if err != nil {
		_ = r.Close()
		return dbFile{}, err
	}
	f := dbFile{src: Source{
		File:      filepath.Base(path),
		Type:      md.DatabaseType,
		Layout:    layout,
		IPVersion: int(md.IPVersion),
		BuildTime: md.BuildTime().UTC(),
	}}
	f.src.Attribution = attribution(f.src, md.Description["en"])
	f.r = r
	return f, nil
}

// attribution returns the text the data's licence requires for a source.
func attribution(s Source, description string) string {
	all := strings.ToLower(s.File + " " + s.Type + " " + description)
	switch {
	case strings.Contains(all, "dbip") || strings.Contains(all, "db-ip"):
		return DBIPAttribution
	case strings.HasPrefix(s.Type, "GeoLite2"):
		return GeoLite2Attribution
	}
	return ""
}

// Sources describes each opened file, in search order. A nil DB has none.
func (db *DB) Sources() []Source {
	if db == nil {
		return nil
	}
	out := make([]Source, len(db.files))
	for i, f := range db.files {
		out[i] = f.src
	}
	return out
}

// Attributions returns the distinct attribution texts of the opened files, in
// search order; the API's metadata and any page showing results must carry them.
func (db *DB) Attributions() []string {
	var out []string
	for _, s := range db.Sources() {
		if s.Attribution != "" && !contains(out, s.Attribution) {
			out = append(out, s.Attribution)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Lookup returns the geolocation of ip from the first file that has a record
// for it. It returns false for non-public addresses (see IsPublic), when no
// file has a record, on a nil or closed DB, and when a file's record cannot be
// decoded. IPv4-mapped IPv6 addresses are looked up as IPv4. The result is not
// limited: apply Location.Limit before storing it.
func (db *DB) Lookup(ip netip.Addr) (Location, bool) {
	if db == nil || db.closed.Load() || !IsPublic(ip) {
		return Location{}, false
	}
	ip = ip.Unmap().WithZone("")
	for i := range db.files {
		f := &db.files[i]
		if ip.Is6() && f.src.IPVersion == 4 {
			continue
		}
		if loc, err := f.lookup(ip); err == nil && !loc.IsZero() {
			return loc, true
		}
	}
	return Location{}, false
}

// Close releases every file. Lookup must not be running when Close is
// called; lookups started afterwards return false.
func (db *DB) Close() error {
	if db == nil || db.closed.Swap(true) {
		return nil
	}
	var errs []error
	for _, f := range db.files {
		errs = append(errs, f.r.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("geo: close database: %w", err)
	}
	return nil
}

// lookup decodes the record for ip, if any, in the file's layout.
func (f *dbFile) lookup(ip netip.Addr) (Location, error) {
	res := f.r.Lookup(ip)
	if !res.Found() {
		return Location{}, res.Err()
	}
	if f.src.Layout == LayoutGeoIP2 {
		var rec geoip2Record
		if err := res.Decode(&rec); err != nil {
			return Location{}, err
		}
		return rec.location(), nil
	}
	var rec flatRecord
	if err := res.Decode(&rec); err != nil {
		return Location{}, err
	}
	return rec.location(), nil
}
