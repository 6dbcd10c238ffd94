package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// DeviceColumns are the columns of the device listing, in order, before the
// caller's roles remove what they hide. Location and entity are the device's
// current ones (as of its last report).
var DeviceColumns = []string{"device", "device_id", "public_ip", "local_ips", "entity", "location_type", "site",
	"country_code", "country", "state", "city", "browser", "first_seen", "last_seen"}

// UserColumns are the columns of the user listing, in order, before the
// caller's roles remove what they hide. first_seen, last_seen and devices are
// computed from the events the caller may see.
var UserColumns = []string{"user", "upn", "first_seen", "last_seen", "devices"}

// ListQuery pages through a listing (devices or users), oldest record first.
type ListQuery struct {
	Filters map[string][]string // field → accepted values (any of)
	Limit   int                 // 1..1000, default 100
	Cursor  string              // from the previous page's next cursor
}

func (q *ListQuery) bound() {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	if q.Limit > 1000 {
		q.Limit = 1000
	}
}

// pageCond adds the cursor condition on idCol to conds.
func pageCond(cursor, idCol string) (string, []any, error) {
	if cursor == "" {
		return "", nil, nil
	}
	after, err := decodeCursor(cursor)
	if err != nil {
		return "", nil, &QueryError{Field: "cursor", Message: "invalid cursor"}
	}
	return idCol + " > ?", []any{after}, nil
}

// filterKeys returns the fields of filters that carry values, sorted, after
// checking each against the caller's roles (hidden → QueryError with Hidden).
func filterKeys(sc Scope, filters map[string][]string) ([]string, error) {
	keys := make([]string, 0, len(filters))
	for k, v := range filters {
		if len(v) > 0 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := checkField(sc.Access, k); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// entityFilter narrows the entities a listing may show: the view domain
// intersected with entity and classification.<Name> filters. all is true
// when nothing restricts the entities (full domain, no such filter); an empty
// names slice with all false means no rows.
func entityFilter(sc Scope, field string, values []string, names []string, all bool) ([]string, bool, error) {
	var want []string
	if field == "entity" {
		want = values
	} else {
		class, _ := strings.CutPrefix(field, "classification.")
		if !hasClassification(sc.Org, class) {
			return nil, false, &QueryError{Field: field, Message: fmt.Sprintf("unknown classification %q", class)}
		}
		want = sc.Org.EntitiesWith(class, values)
	}
	if all {
		return slices.Clone(want), false, nil
	}
	return slices.DeleteFunc(slices.Clone(names), func(e string) bool { return !slices.Contains(want, e) }), false, nil
}

// Devices lists devices with their current entity and location. The scope
// is enforced here: the listing needs the devices class visible (a listing
// of devices is a count of distinct devices); a device appears only when
// its CURRENT entity is inside the view domain (never "n/a" for a limited
// one); hidden fields are absent and cannot be filtered on. next is empty on
// the last page.
func (s *Store) Devices(ctx context.Context, sc Scope, q ListQuery) (tab Table, next string, err error) {
	if err := checkField(sc.Access, "device"); err != nil {
		return Table{}, "", err
	}
	q.bound()
	keys, err := filterKeys(sc, q.Filters)
	if err != nil {
		return Table{}, "", err
	}
	entities, full := sc.Access.AllowedEntities(sc.Org)
	var conds []string
	var args []any
	for _, field := range keys {
		values := q.Filters[field]
		switch {
		case field == "entity" || strings.HasPrefix(field, "classification."):
			if entities, full, err = entityFilter(sc, field, values, entities, full); err != nil {
				return Table{}, "", err
			}
		case field == "device":
			ids, err := s.findEach(ctx, values, s.findDevices)
			if err != nil {
				return Table{}, "", err
			}
			conds, args = appendIn(conds, args, "d.id", ids)
		case field == "country":
			up, plain := make([]any, len(values)), make([]any, len(values))
			for i, v := range values {
				up[i], plain[i] = strings.ToUpper(v), v
			}
			conds = append(conds, "(upper(d.country_code) IN ("+placeholders(len(up))+") OR d.country IN ("+placeholders(len(plain))+"))")
			args = append(append(args, up...), plain...)
		case slices.Contains([]string{"location_type", "site", "state", "city", "browser"}, field):
			conds, args = appendIn(conds, args, "d."+field, stringArgs(values))
		default:
			return Table{}, "", &QueryError{Field: field, Message: fmt.Sprintf("cannot filter the device listing on %q", field)}
		}
	}
	if !full {
		conds, args = appendIn(conds, args, "d.entity", stringArgs(entities))
	}
	cond, cargs, err := pageCond(q.Cursor, "d.id")
	if err != nil {
		return Table{}, "", err
	}
	if cond != "" {
		conds, args = append(conds, cond), append(args, cargs...)
	}
	query := `SELECT d.id, d.ext_id_enc, d.name_enc, d.public_ip_enc, d.local_ips_enc, d.entity, d.location_type, d.site,
		d.country_code, d.country, d.state, d.city, d.browser, d.first_seen, d.last_seen FROM devices d`
	if len(conds) > 0 {
		query += " WHERE " + strings.Join(conds, " AND ")
	}
	var list []struct {
		ID          int64  `db:"id"`
		ExtID       []byte `db:"ext_id_enc"`
		Name        []byte `db:"name_enc"`
		PublicIP    []byte `db:"public_ip_enc"`
		LocalIPs    []byte `db:"local_ips_enc"`
		Entity      string `db:"entity"`
		LocType     string `db:"location_type"`
		Site        string `db:"site"`
		CountryCode string `db:"country_code"`
		Country     string `db:"country"`
		State       string `db:"state"`
		City        string `db:"city"`
		Browser     string `db:"browser"`
		FirstSeen   int64  `db:"first_seen"`
		LastSeen    int64  `db:"last_seen"`
	}
	if err := s.r.SelectContext(ctx, &list, query+" ORDER BY d.id LIMIT ?", append(args, q.Limit+1)...); err != nil {
		return Table{}, "", fmt.Errorf("store: list devices: %w", err)
	}
	if len(list) > q.Limit {
		list = list[:q.Limit]
		next = encodeCursor(list[len(list)-1].ID)
	}
	cols := visibleColumns(sc, DeviceColumns)
	tab.Columns = columnNames(DeviceColumns, cols)
	tab.Rows = make([][]any, 0, len(list))
	for _, d := range list {
		all := make([]any, len(DeviceColumns))
		// Device-class values are opened only when visible (checked above for
		// "device"; each column is checked again below).
		if sc.Access.Visible("device") {
			ext, err := s.cipher.UnsealString(d.ExtID, aadDeviceExtID)
			if err != nil {
				return Table{}, "", fmt.Errorf("store: open device id: %w", err)
			}
			all[0], all[1] = ext, ext
			if len(d.Name) > 0 {
				if all[0], err = s.cipher.UnsealString(d.Name, aadDeviceName); err != nil {
					return Table{}, "", fmt.Errorf("store: open device name: %w", err)
				}
			}
		}
		if sc.Access.Visible("public_ip") && len(d.PublicIP) > 0 {
			if all[2], err = s.cipher.UnsealString(d.PublicIP, aadDevicePublic); err != nil {
				return Table{}, "", fmt.Errorf("store: open public IP: %w", err)
			}
		}
		local := []string{}
		if sc.Access.Visible("local_ips") && len(d.LocalIPs) > 0 {
			j, err := s.cipher.UnsealString(d.LocalIPs, aadDeviceLocal)
			if err != nil {
				return Table{}, "", fmt.Errorf("store: open local IPs: %w", err)
			}
			if err := json.Unmarshal([]byte(j), &local); err != nil {
				return Table{}, "", fmt.Errorf("store: decode local IPs: %w", err)
			}
		}
		all[3] = local
		all[4], all[5], all[6] = d.Entity, d.LocType, d.Site
		all[7], all[8], all[9], all[10] = d.CountryCode, d.Country, d.State, d.City
		all[11], all[12], all[13] = d.Browser, formatMs(d.FirstSeen), formatMs(d.LastSeen)
		tab.Rows = append(tab.Rows, pick(all, cols))
	}
	return tab, next, nil
}

// Users lists users. The scope is enforced here: the listing needs the users
// class visible; a limited view domain sees a user only if the user was
// reported on at least one device inside the domain (an event whose stored
// entity is allowed, as recorded in the presence rollup), and first_seen, last_seen and the devices count come
// only from those events; hidden fields are absent and cannot be filtered
// on. next is empty on the last page.
func (s *Store) Users(ctx context.Context, sc Scope, q ListQuery) (tab Table, next string, err error) {
	if err := checkField(sc.Access, "user"); err != nil {
		return Table{}, "", err
	}
	q.bound()
	keys, err := filterKeys(sc, q.Filters)
	if err != nil {
		return Table{}, "", err
	}
	entities, full := sc.Access.AllowedEntities(sc.Org)
	var conds []string
	var args []any
	for _, field := range keys {
		values := q.Filters[field]
		switch {
		case field == "entity" || strings.HasPrefix(field, "classification."):
			if entities, full, err = entityFilter(sc, field, values, entities, full); err != nil {
				return Table{}, "", err
			}
		case field == "user":
			ids, err := s.findEach(ctx, values, s.findUsers)
			if err != nil {
				return Table{}, "", err
			}
			conds, args = appendIn(conds, args, "u.id", ids)
		default:
			return Table{}, "", &QueryError{Field: field, Message: fmt.Sprintf("cannot filter the user listing on %q", field)}
		}
	}
	// events restricts the events that make a user visible and feed the stats.
	events, eventArgs := "", []any(nil)
	if !full {
		if len(entities) == 0 {
			events = " AND 0"
		} else {
			events = " AND e.entity IN (" + placeholders(len(entities)) + ")"
			eventArgs = stringArgs(entities)
		}
		// presence_users (maintained with every commit, retention and
		// deletion) holds one row per user, application, 64-day block and
		// entity: the same test as on events, without reading them.
		conds = append(conds, "EXISTS (SELECT 1 FROM presence_users e WHERE e.user_id = u.id"+events+")")
		args = append(args, eventArgs...)
	}
	cond, cargs, err := pageCond(q.Cursor, "u.id")
	if err != nil {
		return Table{}, "", err
	}
	if cond != "" {
		conds, args = append(conds, cond), append(args, cargs...)
	}
	query := "SELECT u.id, u.name_enc, u.upn_enc FROM users u"
	if len(conds) > 0 {
		query += " WHERE " + strings.Join(conds, " AND ")
	}
	var list []struct {
		ID   int64  `db:"id"`
		Name []byte `db:"name_enc"`
		UPN  []byte `db:"upn_enc"`
	}
	if err := s.r.SelectContext(ctx, &list, query+" ORDER BY u.id LIMIT ?", append(args, q.Limit+1)...); err != nil {
		return Table{}, "", fmt.Errorf("store: list users: %w", err)
	}
	if len(list) > q.Limit {
		list = list[:q.Limit]
		next = encodeCursor(list[len(list)-1].ID)
	}
	type stat struct {
		UserID  int64 `db:"user_id"`
		First   int64 `db:"first"`
		Last    int64 `db:"last"`
		Devices int64 `db:"devices"`
	}
	stats := make(map[int64]stat, len(list))
	if len(list) > 0 {
		ids := make([]any, len(list))
		for i, u := range list {
			ids[i] = u.ID
		}
		var rows []stat
		err := s.r.SelectContext(ctx, &rows, `SELECT e.user_id, MIN(e.start_ms) AS first, MAX(e.start_ms + e.duration_ms) AS last,
			COUNT(DISTINCT e.device_id) AS devices FROM events e WHERE e.user_id IN (`+placeholders(len(ids))+")"+events+
			" GROUP BY e.user_id", append(ids, eventArgs...)...)
		if err != nil {
			return Table{}, "", fmt.Errorf("store: user stats: %w", err)
		}
		for _, r := range rows {
			stats[r.UserID] = r
		}
	}
	cols := visibleColumns(sc, UserColumns)
	tab.Columns = columnNames(UserColumns, cols)
	tab.Rows = make([][]any, 0, len(list))
	for _, u := range list {
		all := make([]any, len(UserColumns))
		if sc.Access.Visible("user") {
			if all[0], err = s.cipher.UnsealString(u.Name, aadUserName); err != nil {
				return Table{}, "", fmt.Errorf("store: open user name: %w", err)
			}
		}
		if sc.Access.Visible("upn") && len(u.UPN) > 0 {
			if all[1], err = s.cipher.UnsealString(u.UPN, aadUserUPN); err != nil {
				return Table{}, "", fmt.Errorf("store: open UPN: %w", err)
			}
		}
		st, ok := stats[u.ID]
		if ok {
			all[2], all[3] = formatMs(st.First), formatMs(st.Last)
		}
		all[4] = st.Devices
		tab.Rows = append(tab.Rows, pick(all, cols))
	}
	return tab, next, nil
}

// visibleColumns returns the indexes of the columns the caller may see.
func visibleColumns(sc Scope, columns []string) []int {
	var out []int
	for i, c := range columns {
		if sc.Access.Visible(c) {
			out = append(out, i)
		}
	}
	return out
}

func columnNames(columns []string, idx []int) []string {
	out := make([]string, len(idx))
	for i, c := range idx {
		out[i] = columns[c]
	}
	return out
}

func pick(all []any, idx []int) []any {
	row := make([]any, len(idx))
	for i, c := range idx {
		row[i] = all[c]
	}
	return row
}

// appendIn adds "col IN (…)" (or "0" for no values: no rows) to conds.
func appendIn(conds []string, args []any, col string, vals []any) ([]string, []any) {
	if len(vals) == 0 {
		return append(conds, "0"), args
	}
	return append(conds, col+" IN ("+placeholders(len(vals))+")"), append(args, vals...)
}

func stringArgs(values []string) []any {
	out := make([]any, len(values))
	for i, v := range values {
		out[i] = v
	}
	return out
}

func formatMs(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano) }
