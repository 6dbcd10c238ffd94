package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"webusage/org"
	"webusage/privacy"
)

// Table is a query result: ordered columns and rows of values. JSON handlers
// turn each row into an object; CSV writes it as is.
type Table struct {
	Columns []string
	Rows    [][]any
}

// QueryError is a refused query: a field that does not exist, cannot be used
// that way, or is hidden by the caller's roles (Hidden).
type QueryError struct {
	Field   string
	Message string
	Hidden  bool
}

func (e *QueryError) Error() string { return e.Message }

// Scope is who reads: the caller's effective access and the organization
// their view domain is resolved against.
type Scope struct {
	Access privacy.Access
	Org    *org.Organization
}

// UsageQuery selects usage in [From, To), grouped and filtered.
type UsageQuery struct {
	From, To time.Time
	GroupBy  []string
	Filters  map[string][]string // field → accepted values (any of)
	Sort     string              // output column; default usage_ms descending
	Desc     bool
	Limit    int // rows; 0 = all
	// ForceScan reads the events table even where rollups could answer
	// (tests and benchmarks compare both paths).
	ForceScan bool
}

const dayMs = 86_400_000

// groupExpr returns the SQL expression grouping by field, or a QueryError.
func groupExpr(field string, o *org.Organization) (string, error) {
	switch field {
	case "application":
		return "e.app_id", nil
	case "user":
		return "e.user_id", nil
	case "device":
		return "e.device_id", nil
	case "entity", "location_type", "site", "state", "city", "browser", "host", "template":
		return "e." + field, nil
	case "country":
		return "e.country_code", nil
	case "day":
		return "(e.start_ms / 86400000)", nil
	case "hour":
		return "(e.start_ms / 3600000)", nil
	}
	if name, ok := strings.CutPrefix(field, "classification."); ok {
		if !hasClassification(o, name) {
			return "", &QueryError{Field: field, Message: fmt.Sprintf("unknown classification %q", name)}
		}
		return classificationCase(o, name), nil
	}
	return "", &QueryError{Field: field, Message: fmt.Sprintf("cannot group by %q", field)}
}

func hasClassification(o *org.Organization, name string) bool {
	if o == nil {
		return false
	}
	for _, c := range o.Classifications() {
		if c == name {
			return true
		}
	}
	return false
}

// classificationCase maps the event's entity to its value of classification name.
func classificationCase(o *org.Organization, name string) string {
	var b strings.Builder
	b.WriteString("(CASE e.entity")
	for _, ent := range o.Ruleset().Entities {
		if v := o.ClassificationOf(ent.Name, name); v != "" {
			fmt.Fprintf(&b, " WHEN %s THEN %s", sqlQuote(ent.Name), sqlQuote(v))
		}
	}
	b.WriteString(" ELSE '' END)")
	return b.String()
}

func sqlQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// checkField refuses fields hidden by the caller's roles or unknown to the
// privacy engine.
func checkField(a privacy.Access, field string) error {
	if err := a.RequireVisible(field); err != nil {
		var hidden *privacy.HiddenFieldError
		if errors.As(err, &hidden) {
			return &QueryError{Field: field, Message: hidden.Error(), Hidden: true}
		}
		var unknown *privacy.FieldError
		if errors.As(err, &unknown) {
			return &QueryError{Field: unknown.Field, Message: fmt.Sprintf("unknown field %q", unknown.Field)}
		}
		return &QueryError{Field: field, Message: "unknown field"}
	}
	return nil
}

// where builds the WHERE clause shared by usage and event queries: the time
// window, the view domain and the filters.
func (s *Store) where(ctx context.Context, sc Scope, from, to time.Time, filters map[string][]string) (string, []any, error) {
	if !to.After(from) {
		return "", nil, &QueryError{Field: "to", Message: "to must be after from"}
	}
	f, t := from.UnixMilli(), to.UnixMilli()
	// The day range lets SQLite use the events_day / events_app_day indexes;
	// an interval lasts at most a day, so it starts at most a day before from.
	conds := []string{"e.start_ms / 86400000 BETWEEN ? AND ?",
		"e.start_ms >= ? AND e.start_ms < ? AND e.start_ms + e.duration_ms > ?"}
	args := []any{(f - dayMs) / dayMs, (t - 1) / dayMs, f - dayMs, t, f}
	more, moreArgs, err := s.scopeConds(ctx, sc, filters)
	if err != nil {
		return "", nil, err
	}
	return strings.Join(append(conds, more...), " AND "), append(args, moreArgs...), nil
}

// scopeConds returns the view-domain and filter conditions on a table
// aliased e with app_id and entity columns (events or a rollup).
func (s *Store) scopeConds(ctx context.Context, sc Scope, filters map[string][]string) ([]string, []any, error) {
	var conds []string
	var args []any
	if entities, full := sc.Access.AllowedEntities(sc.Org); !full {
		if len(entities) == 0 {
			conds = append(conds, "0")
		} else {
			conds = append(conds, "e.entity IN ("+placeholders(len(entities))+")")
			for _, e := range entities {
				args = append(args, e)
			}
		}
	}
	keys := make([]string, 0, len(filters))
	for k := range filters {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, field := range keys {
		values := filters[field]
		if len(values) == 0 {
			continue
		}
		if err := checkField(sc.Access, field); err != nil {
			return nil, nil, err
		}
		cond, vals, err := s.filterCond(ctx, sc, field, values)
		if err != nil {
			return nil, nil, err
		}
		conds = append(conds, cond)
		args = append(args, vals...)
	}
	return conds, args, nil
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

func (s *Store) filterCond(ctx context.Context, sc Scope, field string, values []string) (string, []any, error) {
	in := func(col string, vals []any) (string, []any, error) {
		if len(vals) == 0 {
			return "0", nil, nil
		}
		return col + " IN (" + placeholders(len(vals)) + ")", vals, nil
	}
	strs := func() []any {
		out := make([]any, len(values))
		for i, v := range values {
			out[i] = v
		}
		return out
	}
	switch field {
	case "application":
		ids, err := s.applicationIDs(ctx, values)
		if err != nil {
			return "", nil, err
		}
		return in("e.app_id", ids)
	case "user":
		ids, err := s.findEach(ctx, values, s.findUsers)
		if err != nil {
			return "", nil, err
		}
		return in("e.user_id", ids)
	case "device":
		ids, err := s.findEach(ctx, values, s.findDevices)
		if err != nil {
			return "", nil, err
		}
		return in("e.device_id", ids)
	case "entity", "location_type", "site", "state", "city", "browser", "host", "template":
		return in("e."+field, strs())
	case "country":
		var vals []any
		for _, v := range values {
			vals = append(vals, strings.ToUpper(v))
		}
		return "(upper(e.country_code) IN (" + placeholders(len(vals)) + ") OR e.country IN (" + placeholders(len(vals)) + "))",
			append(vals, strs()...), nil
	case "day":
		var vals []any
		for _, v := range values {
			d, err := time.Parse("2006-01-02", v)
			if err != nil {
				return "", nil, &QueryError{Field: "day", Message: "day must be YYYY-MM-DD"}
			}
			vals = append(vals, d.UnixMilli()/dayMs)
		}
		return in("(e.start_ms / 86400000)", vals)
	case "hour":
		var vals []any
		for _, v := range values {
			h, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return "", nil, &QueryError{Field: "hour", Message: "hour must be RFC 3339, e.g. 2026-11-23T10:00:00Z"}
			}
			vals = append(vals, h.UnixMilli()/3_600_000)
		}
		return in("(e.start_ms / 3600000)", vals)
	}
	if name, ok := strings.CutPrefix(field, "classification."); ok {
		if !hasClassification(sc.Org, name) {
			return "", nil, &QueryError{Field: field, Message: fmt.Sprintf("unknown classification %q", name)}
		}
		var vals []any
		for _, e := range sc.Org.EntitiesWith(name, values) {
			vals = append(vals, e)
		}
		return in("e.entity", vals)
	}
	return "", nil, &QueryError{Field: field, Message: fmt.Sprintf("cannot filter on %q", field)}
}

func (s *Store) applicationIDs(ctx context.Context, values []string) ([]any, error) {
	var ids []any
	for _, v := range values {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil {
			ids = append(ids, id)
			continue
		}
		var found []int64
		if err := s.r.SelectContext(ctx, &found, "SELECT id FROM applications WHERE name = ? COLLATE NOCASE", v); err != nil {
			return nil, fmt.Errorf("store: find application: %w", err)
		}
		for _, id := range found {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// Usage aggregates usage time. The caller's scope is enforced here: fields
// hidden by its roles cannot be grouped, filtered or sorted on (QueryError
// with Hidden), distinct counts of a hidden class are not returned, rows
// outside the view domain never count, and groups with fewer distinct users
// than the roles' minimum group size are folded into one "(other)" row.
func (s *Store) Usage(ctx context.Context, sc Scope, q UsageQuery) (Table, error) {
	seen := map[string]bool{}
	var exprs []string
	for _, g := range q.GroupBy {
		if seen[g] {
			return Table{}, &QueryError{Field: "group_by", Message: fmt.Sprintf("%q is given twice", g)}
		}
		seen[g] = true
		if err := checkField(sc.Access, g); err != nil {
			return Table{}, err
		}
		expr, err := groupExpr(g, sc.Org)
		if err != nil {
			return Table{}, err
		}
		exprs = append(exprs, expr)
	}
	var aggs []usageAgg
	var err error
	if !q.ForceScan && rollupEligible(q) {
		aggs, err = s.usageFromRollups(ctx, sc, q, exprs)
	} else {
		aggs, err = s.usageFromEvents(ctx, sc, q, exprs)
	}
	if err != nil {
		return Table{}, err
	}

	// Minimum group size: fold small groups into one row; drop what would
	// still single people out.
	if k := sc.Access.MinGroupSize(); k > 1 {
		if aggs, err = s.foldSmallGroups(ctx, sc, q, exprs, aggs, int64(k)); err != nil {
			return Table{}, err
		}
	}

	names, err := s.resolver(ctx, q.GroupBy, func(yield func(col int, v any)) {
		for _, a := range aggs {
			for i, v := range a.keys {
				yield(i, v)
			}
		}
	})
	if err != nil {
		return Table{}, err
	}
	tab := Table{Columns: append([]string{}, q.GroupBy...)}
	showUsers := sc.Access.Visible("users")
	showDevices := sc.Access.Visible("devices")
	tab.Columns = append(tab.Columns, "usage_ms", "events")
	if showUsers {
		tab.Columns = append(tab.Columns, "users")
	}
	if showDevices {
		tab.Columns = append(tab.Columns, "devices")
	}
	for _, a := range aggs {
		row := make([]any, 0, len(tab.Columns))
		for i, v := range a.keys {
			row = append(row, names(i, v))
		}
		row = append(row, a.usage, a.events)
		if showUsers {
			row = append(row, countOrNil(a.users))
		}
		if showDevices {
			row = append(row, countOrNil(a.d))
		}
		tab.Rows = append(tab.Rows, row)
	}
	if err := sortTable(&tab, sc.Access, q.Sort, q.Desc); err != nil {
		return Table{}, err
	}
	if q.Limit > 0 && len(tab.Rows) > q.Limit {
		tab.Rows = tab.Rows[:q.Limit]
	}
	return tab, nil
}

// usageAgg is one group of a usage query before display: raw keys, sums
// and distinct counts (-1 = unknown).
type usageAgg struct {
	keys                    []any
	usage, events, users, d int64
}

// usageFromEvents aggregates straight from the events table (any grouping,
// any window), clipping intervals at the window edges.
func (s *Store) usageFromEvents(ctx context.Context, sc Scope, q UsageQuery, exprs []string) ([]usageAgg, error) {
	where, args, err := s.where(ctx, sc, q.From, q.To, q.Filters)
	if err != nil {
		return nil, err
	}
	f, t := q.From.UnixMilli(), q.To.UnixMilli()
	sel := append([]string{}, exprs...)
	sel = append(sel, "SUM(MIN(e.start_ms + e.duration_ms, ?) - MAX(e.start_ms, ?))", "COUNT(*)",
		"COUNT(DISTINCT e.user_id)", "COUNT(DISTINCT e.device_id)")
	query := "SELECT " + strings.Join(sel, ", ") + " FROM events e WHERE " + where
	if len(exprs) > 0 {
		query += " GROUP BY " + strings.Join(exprs, ", ")
	}
	args = append([]any{t, f}, args...)
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: usage query: %w", err)
	}
	defer rows.Close()
	var aggs []usageAgg
	for rows.Next() {
		a := usageAgg{keys: make([]any, len(exprs))}
		dst := make([]any, 0, len(exprs)+4)
		for i := range a.keys {
			dst = append(dst, &a.keys[i])
		}
		var usage sql.NullInt64
		dst = append(dst, &usage, &a.events, &a.users, &a.d)
		if err := rows.Scan(dst...); err != nil {
			return nil, fmt.Errorf("store: usage scan: %w", err)
		}
		a.usage = usage.Int64
		if a.events == 0 {
			continue // no group matched (aggregate over nothing)
		}
		aggs = append(aggs, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: usage rows: %w", err)
	}
	return aggs, nil
}

// foldSmallGroups folds the groups with fewer than k distinct users into one
// "(other)" row without distinct counts. The other row is kept only when the
// folded groups together hold at least k distinct users, and an ungrouped
// total only when it does: otherwise a filter narrowing the query to one
// person (user=…, device=…) would read that person's figures through it.
func (s *Store) foldSmallGroups(ctx context.Context, sc Scope, q UsageQuery, exprs []string, aggs []usageAgg, k int64) ([]usageAgg, error) {
	if len(exprs) == 0 {
		return slices.DeleteFunc(aggs, func(a usageAgg) bool { return a.users < k }), nil
	}
	var kept []usageAgg
	other := usageAgg{users: -1, d: -1}
	folded := false
	for _, a := range aggs {
		if a.users < k {
			folded = true
			other.usage += a.usage
			other.events += a.events
			continue
		}
		kept = append(kept, a)
	}
	if !folded {
		return kept, nil
	}
	n, err := s.distinctUsersOutside(ctx, sc, q, exprs, kept)
	if err != nil || n < k {
		return kept, err
	}
	other.keys = make([]any, len(exprs))
	for i := range other.keys {
		other.keys[i] = otherGroup
	}
	return append(kept, other), nil
}

// distinctUsersOutside counts the distinct users of the query's events whose
// group is not one of kept; 0 (drop the other row) when kept is too large to
// bind.
func (s *Store) distinctUsersOutside(ctx context.Context, sc Scope, q UsageQuery, exprs []string, kept []usageAgg) (int64, error) {
	if len(kept)*len(exprs) > 30_000 {
		return 0, nil
	}
	where, args, err := s.where(ctx, sc, q.From, q.To, q.Filters)
	if err != nil {
		return 0, err
	}
	query := "SELECT COUNT(DISTINCT e.user_id) FROM events e WHERE " + where
	if len(kept) > 0 {
		tuples := make([]string, len(kept))
		for i, a := range kept {
			tuples[i] = "(" + placeholders(len(exprs)) + ")"
			for _, v := range a.keys {
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				args = append(args, v)
			}
		}
		query += " AND (" + strings.Join(exprs, ", ") + ") NOT IN (VALUES " + strings.Join(tuples, ", ") + ")"
	}
	var n int64
	if err := s.r.GetContext(ctx, &n, query, args...); err != nil {
		return 0, fmt.Errorf("store: count folded users: %w", err)
	}
	return n, nil
}

// otherGroup is the group key of folded small groups.
const otherGroup = "(other)"

func countOrNil(n int64) any {
	if n < 0 {
		return nil
	}
	return n
}

func sortTable(tab *Table, a privacy.Access, by string, desc bool) error {
	col := -1
	if by == "" {
		by, desc = "usage_ms", true
	}
	for i, c := range tab.Columns {
		if c == by {
			col = i
		}
	}
	if col < 0 {
		var qe *QueryError
		if err := checkField(a, by); errors.As(err, &qe) && qe.Hidden {
			return err
		}
		return &QueryError{Field: "sort", Message: "sort must name a column of the result"}
	}
	sort.SliceStable(tab.Rows, func(i, j int) bool {
		less := compareValues(tab.Rows[i][col], tab.Rows[j][col])
		if desc {
			return less > 0
		}
		return less < 0
	})
	return nil
}

func compareValues(x, y any) int {
	switch xv := x.(type) {
	case int64:
		if yv, ok := y.(int64); ok {
			switch {
			case xv < yv:
				return -1
			case xv > yv:
				return 1
			}
			return 0
		}
	case string:
		if yv, ok := y.(string); ok {
			return strings.Compare(xv, yv)
		}
	}
	return strings.Compare(fmt.Sprint(x), fmt.Sprint(y))
}

// resolver turns raw group keys (ids, day numbers) into display values.
func (s *Store) resolver(ctx context.Context, cols []string, each func(yield func(col int, v any))) (func(col int, v any) any, error) {
	userIDs, deviceIDs := map[int64]bool{}, map[int64]bool{}
	each(func(col int, v any) {
		id, ok := v.(int64)
		if !ok {
			return
		}
		switch cols[col] {
		case "user":
			userIDs[id] = true
		case "device":
			deviceIDs[id] = true
		}
	})
	apps, err := s.ApplicationNames(ctx)
	if err != nil {
		return nil, err
	}
	users, err := s.userNames(ctx, userIDs)
	if err != nil {
		return nil, err
	}
	devices, err := s.deviceNames(ctx, deviceIDs)
	if err != nil {
		return nil, err
	}
	return func(col int, v any) any {
		if v == otherGroup {
			return v
		}
		if b, ok := v.([]byte); ok {
			v = string(b)
		}
		id, isInt := v.(int64)
		switch cols[col] {
		case "application":
			if isInt {
				return apps[id]
			}
		case "user":
			if v == nil {
				return ""
			}
			return users[id]
		case "device":
			return devices[id]
		case "day":
			if isInt {
				return time.UnixMilli(id * dayMs).UTC().Format("2006-01-02")
			}
		case "hour":
			if isInt {
				return time.UnixMilli(id * 3_600_000).UTC().Format(time.RFC3339)
			}
		}
		if v == nil {
			return ""
		}
		return v
	}, nil
}

func idList(m map[int64]bool) []any {
	out := make([]any, 0, len(m))
	for id := range m {
		out = append(out, id)
	}
	return out
}

func (s *Store) userNames(ctx context.Context, ids map[int64]bool) (map[int64]string, error) {
	out := make(map[int64]string, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct {
		ID   int64  `db:"id"`
		Name []byte `db:"name_enc"`
	}
	if err := s.selectIn(ctx, &rows, "SELECT id, name_enc FROM users WHERE id IN (%s)", idList(ids)); err != nil {
		return nil, fmt.Errorf("store: user names: %w", err)
	}
	for _, r := range rows {
		name, err := s.cipher.UnsealString(r.Name, aadUserName)
		if err != nil {
			return nil, fmt.Errorf("store: open user name: %w", err)
		}
		out[r.ID] = name
	}
	return out, nil
}

func (s *Store) deviceNames(ctx context.Context, ids map[int64]bool) (map[int64]string, error) {
	out := make(map[int64]string, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct {
		ID    int64  `db:"id"`
		ExtID []byte `db:"ext_id_enc"`
		Name  []byte `db:"name_enc"`
	}
	if err := s.selectIn(ctx, &rows, "SELECT id, ext_id_enc, name_enc FROM devices WHERE id IN (%s)", idList(ids)); err != nil {
		return nil, fmt.Errorf("store: device names: %w", err)
	}
	for _, r := range rows {
		sealed, aad := r.Name, aadDeviceName
		if len(sealed) == 0 {
			sealed, aad = r.ExtID, aadDeviceExtID
		}
		name, err := s.cipher.UnsealString(sealed, aad)
		if err != nil {
			return nil, fmt.Errorf("store: open device name: %w", err)
		}
		out[r.ID] = name
	}
	return out, nil
}

// selectIn runs query with its %s replaced by placeholders for ids, in
// chunks; sqlx appends each chunk's rows to dest.
func (s *Store) selectIn(ctx context.Context, dest any, query string, ids []any) error {
	const chunk = 500
	for start := 0; start < len(ids); start += chunk {
		end := min(start+chunk, len(ids))
		if err := s.r.SelectContext(ctx, dest, fmt.Sprintf(query, placeholders(end-start)), ids[start:end]...); err != nil {
			return err
		}
	}
	return nil
}

// findEach runs find (findUsers or findDevices) for every value and returns
// all the ids found, as query arguments.
func (s *Store) findEach(ctx context.Context, values []string, find func(context.Context, sqlx.QueryerContext, string) ([]int64, error)) ([]any, error) {
	var ids []any
	for _, v := range values {
		found, err := find(ctx, s.r, v)
		if err != nil {
			return nil, err
		}
		for _, id := range found {
			ids = append(ids, id)
		}
	}
	return ids, nil
}
