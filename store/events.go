package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"time"
)

// EventColumns are the columns of an event listing, in order, before the
// caller's roles remove what they hide.
var EventColumns = []string{"id", "application", "user", "device", "start", "duration_ms", "url", "template", "host",
	"browser", "browser_version", "entity", "location_type", "site", "vpn", "country_code", "country", "state", "city",
	"latitude", "longitude"}

// EventsQuery pages through stored events in [From, To).
type EventsQuery struct {
	From, To time.Time
	Filters  map[string][]string
	Limit    int    // 1..1000, default 100
	Cursor   string // from the previous page's next cursor
}

// Events lists stored events with their context, oldest stored first. The
// caller's scope is enforced as in Usage: hidden columns are absent, rows
// outside the view domain never appear. next is empty on the last page.
func (s *Store) Events(ctx context.Context, sc Scope, q EventsQuery) (tab Table, next string, err error) {
	where, args, err := s.where(ctx, sc, q.From, q.To, q.Filters)
	if err != nil {
		return Table{}, "", err
	}
	if q.Cursor != "" {
		after, err := decodeCursor(q.Cursor)
		if err != nil {
			return Table{}, "", &QueryError{Field: "cursor", Message: "invalid cursor"}
		}
		where += " AND e.id > ?"
		args = append(args, after)
	}
	if q.Limit <= 0 {
		q.Limit = 100
	}
	if q.Limit > 1000 {
		q.Limit = 1000
	}
	args = append(args, q.Limit+1)
	rows, err := s.r.QueryContext(ctx, `SELECT e.id, e.event_id, e.app_id, e.user_id, e.device_id, e.start_ms, e.duration_ms,
		e.url, e.template, e.host, e.browser, e.browser_version, e.entity, e.location_type, e.site, e.vpn,
		e.country_code, e.country, e.state, e.city, e.latitude, e.longitude
		FROM events e WHERE `+where+" ORDER BY e.id LIMIT ?", args...)
	if err != nil {
		return Table{}, "", fmt.Errorf("store: events query: %w", err)
	}
	defer rows.Close()
	type raw struct {
		rowID, appID, deviceID, start, duration int64
		userID                                  sql.NullInt64
		eventID                                 []byte
		url, template, host                     sql.NullString
		browser, browserVersion, entity         string
		locType, site                           string
		vpn                                     bool
		cc, country, state, city                string
		lat, lon                                sql.NullFloat64
	}
	var list []raw
	for rows.Next() {
		var r raw
		if err := rows.Scan(&r.rowID, &r.eventID, &r.appID, &r.userID, &r.deviceID, &r.start, &r.duration,
			&r.url, &r.template, &r.host, &r.browser, &r.browserVersion, &r.entity, &r.locType, &r.site, &r.vpn,
			&r.cc, &r.country, &r.state, &r.city, &r.lat, &r.lon); err != nil {
			return Table{}, "", fmt.Errorf("store: events scan: %w", err)
		}
		list = append(list, r)
	}
	if err := rows.Err(); err != nil {
		return Table{}, "", fmt.Errorf("store: events rows: %w", err)
	}
	if len(list) > q.Limit {
		list = list[:q.Limit]
		next = encodeCursor(list[len(list)-1].rowID)
	}
	userIDs, deviceIDs := map[int64]bool{}, map[int64]bool{}
	for _, r := range list {
		if r.userID.Valid {
			userIDs[r.userID.Int64] = true
		}
		deviceIDs[r.deviceID] = true
	}
	apps, err := s.ApplicationNames(ctx)
	if err != nil {
		return Table{}, "", err
	}
	var users, devices map[int64]string
	if sc.Access.Visible("user") {
		if users, err = s.userNames(ctx, userIDs); err != nil {
			return Table{}, "", err
		}
	}
	if sc.Access.Visible("device") {
		if devices, err = s.deviceNames(ctx, deviceIDs); err != nil {
			return Table{}, "", err
		}
	}
	var cols []int
	for i, c := range EventColumns {
		if sc.Access.Visible(c) {
			cols = append(cols, i)
			tab.Columns = append(tab.Columns, c)
		}
	}
	tab.Rows = make([][]any, 0, len(list))
	for _, r := range list {
		var user any
		if r.userID.Valid {
			user = users[r.userID.Int64]
		}
		all := []any{formatUUID(r.eventID), apps[r.appID], user, devices[r.deviceID],
			time.UnixMilli(r.start).UTC().Format(time.RFC3339Nano), r.duration,
			nullString(r.url), nullString(r.template), nullString(r.host), r.browser, r.browserVersion, r.entity,
			r.locType, r.site, r.vpn, r.cc, r.country, r.state, r.city, nullFloat(r.lat), nullFloat(r.lon)}
		row := make([]any, len(cols))
		for i, c := range cols {
			row[i] = all[c]
		}
		tab.Rows = append(tab.Rows, row)
	}
	return tab, next, nil
}

func nullString(s sql.NullString) any {
	if !s.Valid {
		return nil
	}
	return s.String
}

func nullFloat(f sql.NullFloat64) any {
	if !f.Valid {
		return nil
	}
	return f.Float64
}

func encodeCursor(id int64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(id))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func decodeCursor(c string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) != 8 {
		return 0, fmt.Errorf("bad cursor")
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}

// formatUUID renders a 16-byte id in the canonical 8-4-4-4-12 form.
func formatUUID(b []byte) string {
	if len(b) != 16 {
		return ""
	}
	const hexd = "0123456789abcdef"
	out := make([]byte, 36)
	j := 0
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out[j] = '-'
			j++
		}
		out[j], out[j+1] = hexd[c>>4], hexd[c&0xf]
		j += 2
	}
	return string(out)
}
