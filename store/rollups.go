package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"
)

const blockDays = 64

type dailyKey struct {
	day, app int64
	entity   string
}

type dailyVal struct{ usage, started, carried int64 }

type presenceKey struct {
	block, app, id int64
	entity         string
}

// rollupAcc accumulates the rollup contributions of the events of one
// commit (or of a rebuild) before they are written in a few upserts.
type rollupAcc struct {
	daily   map[dailyKey]*dailyVal
	users   map[presenceKey]int64
	devices map[presenceKey]int64
}

func newRollupAcc() *rollupAcc {
	return &rollupAcc{daily: map[dailyKey]*dailyVal{}, users: map[presenceKey]int64{}, devices: map[presenceKey]int64{}}
}

// add records one event; userID 0 means no user.
func (r *rollupAcc) add(app int64, entity string, start, dur, userID, deviceID int64) {
	d0 := start / dayMs
	end := start + dur
	d1 := (end - 1) / dayMs
	k0 := dailyKey{d0, app, entity}
	v := r.daily[k0]
	if v == nil {
		v = &dailyVal{}
		r.daily[k0] = v
	}
	v.usage += min(end, (d0+1)*dayMs) - start
	v.started++
	r.mark(app, entity, d0, userID, deviceID)
	if d1 > d0 {
		k1 := dailyKey{d1, app, entity}
		v1 := r.daily[k1]
		if v1 == nil {
			v1 = &dailyVal{}
			r.daily[k1] = v1
		}
		v1.usage += end - d1*dayMs
		v1.carried++
		r.mark(app, entity, d1, userID, deviceID)
	}
}

func (r *rollupAcc) mark(app int64, entity string, day, userID, deviceID int64) {
	bit := int64(1) << (day % blockDays)
	if userID != 0 {
		r.users[presenceKey{day / blockDays, app, userID, entity}] |= bit
	}
	r.devices[presenceKey{day / blockDays, app, deviceID, entity}] |= bit
}

// flush adds the accumulated contributions to the rollup tables.
func (r *rollupAcc) flush(ctx context.Context, tx *sqlx.Tx) error {
	if len(r.daily) > 0 {
		st, err := tx.PrepareContext(ctx, `INSERT INTO usage_daily (day, app_id, entity, usage_ms, started, carried)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (day, app_id, entity) DO UPDATE SET
			usage_ms = usage_ms + excluded.usage_ms, started = started + excluded.started, carried = carried + excluded.carried`)
		if err != nil {
			return fmt.Errorf("store: prepare rollup: %w", err)
		}
		defer st.Close()
		for k, v := range r.daily {
			if _, err := st.ExecContext(ctx, k.day, k.app, k.entity, v.usage, v.started, v.carried); err != nil {
				return fmt.Errorf("store: write rollup: %w", err)
			}
		}
	}
	for _, p := range []struct {
		table, col string
		m          map[presenceKey]int64
	}{{"presence_users", "user_id", r.users}, {"presence_devices", "device_id", r.devices}} {
		if len(p.m) == 0 {
			continue
		}
		st, err := tx.PrepareContext(ctx, "INSERT INTO "+p.table+" (block, app_id, entity, "+p.col+", mask) VALUES (?, ?, ?, ?, ?)"+
			" ON CONFLICT (app_id, "+p.col+", block, entity) DO UPDATE SET mask = mask | excluded.mask")
		if err != nil {
			return fmt.Errorf("store: prepare presence: %w", err)
		}
		for k, mask := range p.m {
			if _, err := st.ExecContext(ctx, k.block, k.app, k.entity, k.id, mask); err != nil {
				st.Close()
				return fmt.Errorf("store: write presence: %w", err)
			}
		}
		st.Close()
	}
	return nil
}

// subtract removes the accumulated usage sums from usage_daily (presence
// rows are rebuilt instead, see rebuildPresence).
func (r *rollupAcc) subtract(ctx context.Context, tx *sqlx.Tx) error {
	for k, v := range r.daily {
		if _, err := tx.ExecContext(ctx, `UPDATE usage_daily SET usage_ms = usage_ms - ?, started = started - ?,
			carried = carried - ? WHERE day = ? AND app_id = ? AND entity = ?`,
			v.usage, v.started, v.carried, k.day, k.app, k.entity); err != nil {
			return fmt.Errorf("store: subtract rollup: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM usage_daily WHERE started <= 0 AND carried <= 0"); err != nil {
		return fmt.Errorf("store: prune rollup: %w", err)
	}
	return nil
}

// scanEvents feeds every event matching cond (SQL on alias e) to acc and
// returns the users and devices it saw.
func scanEvents(ctx context.Context, q queryer2, acc *rollupAcc, cond string, args ...any) (users, devices map[int64]bool, err error) {
	rows, err := q.QueryContext(ctx, "SELECT e.app_id, e.entity, e.start_ms, e.duration_ms, e.user_id, e.device_id FROM events e WHERE "+cond, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("store: scan events: %w", err)
	}
	defer rows.Close()
	users, devices = map[int64]bool{}, map[int64]bool{}
	for rows.Next() {
		var app, start, dur, dev int64
		var entity string
		var user sql.NullInt64
		if err := rows.Scan(&app, &entity, &start, &dur, &user, &dev); err != nil {
			return nil, nil, fmt.Errorf("store: scan events: %w", err)
		}
		acc.add(app, entity, start, dur, user.Int64, dev)
		if user.Valid {
			users[user.Int64] = true
		}
		devices[dev] = true
	}
	return users, devices, rows.Err()
}

type queryer2 interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// deleteEvents deletes the events matching cond (SQL on alias e, e.g.
// "e.user_id = ?") and removes their rollup contributions, in tx. It returns
// the number of events deleted.
func deleteEvents(ctx context.Context, tx *sqlx.Tx, cond string, args ...any) (int64, error) {
	acc := newRollupAcc()
	users, devices, err := scanEvents(ctx, tx, acc, cond, args...)
	if err != nil {
		return 0, err
	}
	if err := acc.subtract(ctx, tx); err != nil {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, "DELETE FROM events AS e WHERE "+cond, args...)
	if err != nil {
		return 0, fmt.Errorf("store: delete events: %w", err)
	}
	n, _ := res.RowsAffected()
	if err := rebuildPresence(ctx, tx, users, devices); err != nil {
		return 0, err
	}
	return n, nil
}

// rebuildPresence recomputes the presence rows of the given users and
// devices from the events that remain.
func rebuildPresence(ctx context.Context, tx *sqlx.Tx, users, devices map[int64]bool) error {
	for _, p := range []struct {
		table, col string
		ids        map[int64]bool
	}{{"presence_users", "user_id", users}, {"presence_devices", "device_id", devices}} {
		ids := idList(p.ids)
		for start := 0; start < len(ids); start += 500 {
			chunk := ids[start:min(start+500, len(ids))]
			in := "(" + placeholders(len(chunk)) + ")"
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+p.table+" WHERE "+p.col+" IN "+in, chunk...); err != nil {
				return fmt.Errorf("store: clear presence: %w", err)
			}
			acc := newRollupAcc()
			if _, _, err := scanEvents(ctx, tx, acc, "e."+p.col+" IN "+in, chunk...); err != nil {
				return err
			}
			// Only the presence of the dimension being rebuilt is written.
			acc.daily = nil
			if p.col == "user_id" {
				acc.devices = nil
			} else {
				acc.users = nil
			}
			if err := acc.flush(ctx, tx); err != nil {
				return err
			}
		}
	}
	return nil
}

// RebuildRollups recomputes every rollup from the events table, in one
// transaction. Open calls it when rollups are missing for stored events.
func (s *Store) RebuildRollups(ctx context.Context) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		for _, t := range []string{"usage_daily", "presence_users", "presence_devices"} {
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+t); err != nil {
				return fmt.Errorf("store: clear %s: %w", t, err)
			}
		}
		acc := newRollupAcc()
		if _, _, err := scanEvents(ctx, tx, acc, "1"); err != nil {
			return err
		}
		return acc.flush(ctx, tx)
	})
}

// pruneRollups drops rollup days before cutoffDay (retention).
func pruneRollups(ctx context.Context, tx *sqlx.Tx, cutoffDay int64) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM usage_daily WHERE day < ?", cutoffDay); err != nil {
		return fmt.Errorf("store: prune rollups: %w", err)
	}
	block := cutoffDay / blockDays
	keep := ^((int64(1) << (cutoffDay % blockDays)) - 1) // days ≥ cutoff within the block
	for _, t := range []string{"presence_users", "presence_devices"} {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+t+" WHERE block < ?", block); err != nil {
			return fmt.Errorf("store: prune %s: %w", t, err)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE "+t+" SET mask = mask & ? WHERE block = ?", keep, block); err != nil {
			return fmt.Errorf("store: prune %s: %w", t, err)
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+t+" WHERE mask = 0"); err != nil {
			return fmt.Errorf("store: prune %s: %w", t, err)
		}
	}
	return nil
}

// rollupEligible reports whether rollups answer q exactly: a window of whole
// UTC days, grouped and filtered only by application, entity and
// classifications.
func rollupEligible(q UsageQuery) bool {
	if q.From.UnixMilli()%dayMs != 0 || q.To.UnixMilli()%dayMs != 0 {
		return false
	}
	for _, g := range q.GroupBy {
		if !rollupField(g) {
			return false
		}
	}
	for f, v := range q.Filters {
		if len(v) > 0 && !rollupField(f) {
			return false
		}
	}
	return true
}

func rollupField(f string) bool {
	return f == "application" || f == "entity" || strings.HasPrefix(f, "classification.")
}

// windowMasks returns the SQL CASE expression giving, per block, the bits of
// the days in [d1, d2).
func windowMasks(d1, d2 int64) string {
	var b strings.Builder
	b.WriteString("(CASE e.block")
	for blk := d1 / blockDays; blk <= (d2-1)/blockDays; blk++ {
		var mask int64
		for d := max(d1, blk*blockDays); d < min(d2, (blk+1)*blockDays); d++ {
			mask |= int64(1) << (d % blockDays)
		}
		b.WriteString(" WHEN " + strconv.FormatInt(blk, 10) + " THEN " + strconv.FormatInt(mask, 10))
	}
	b.WriteString(" ELSE 0 END)")
	return b.String()
}

// usageFromRollups answers an eligible usage query from the rollup tables:
// sums from usage_daily, distinct users and devices from the presence masks.
func (s *Store) usageFromRollups(ctx context.Context, sc Scope, q UsageQuery, exprs []string) ([]usageAgg, error) {
	d1, d2 := q.From.UnixMilli()/dayMs, q.To.UnixMilli()/dayMs
	conds, cargs, err := s.scopeConds(ctx, sc, q.Filters)
	if err != nil {
		return nil, err
	}
	extra := ""
	if len(conds) > 0 {
		extra = " AND " + strings.Join(conds, " AND ")
	}
	group := ""
	if len(exprs) > 0 {
		group = " GROUP BY " + strings.Join(exprs, ", ")
	}
	keySel := ""
	if len(exprs) > 0 {
		keySel = strings.Join(exprs, ", ") + ", "
	}
	byKey := map[string]*usageAgg{}
	var order []string
	scan := func(query string, args []any, n int, set func(a *usageAgg, v []int64)) error {
		rows, err := s.r.QueryContext(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("store: rollup query: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			keys := make([]any, len(exprs))
			vals := make([]sql.NullInt64, 2)
			dst := make([]any, 0, len(exprs)+2)
			for i := range keys {
				dst = append(dst, &keys[i])
			}
			for i := 0; i < n; i++ {
				dst = append(dst, &vals[i])
			}
			if err := rows.Scan(dst...); err != nil {
				return fmt.Errorf("store: rollup scan: %w", err)
			}
			for i, k := range keys {
				if b, ok := k.([]byte); ok {
					keys[i] = string(b)
				}
			}
			id := fmt.Sprintf("%#v", keys)
			a := byKey[id]
			if a == nil {
				a = &usageAgg{keys: keys}
				byKey[id] = a
				order = append(order, id)
			}
			v := make([]int64, n)
			for i := range v {
				v[i] = vals[i].Int64
			}
			set(a, v)
		}
		return rows.Err()
	}
	sumQ := "SELECT " + keySel + "SUM(e.usage_ms), SUM(e.started) + SUM(CASE WHEN e.day = ? THEN e.carried ELSE 0 END)" +
		" FROM usage_daily e WHERE e.day >= ? AND e.day < ?" + extra + group
	if err := scan(sumQ, append([]any{d1, d1, d2}, cargs...), 2, func(a *usageAgg, v []int64) {
		a.usage, a.events = v[0], v[1]
	}); err != nil {
		return nil, err
	}
	masks := windowMasks(d1, d2)
	for _, p := range []struct {
		table, col string
		set        func(a *usageAgg, n int64)
	}{
		{"presence_users", "user_id", func(a *usageAgg, n int64) { a.users = n }},
		{"presence_devices", "device_id", func(a *usageAgg, n int64) { a.d = n }},
	} {
		// COUNT(DISTINCT) as a grouped subquery: grouped by application, the
		// inner GROUP BY follows the primary key and streams.
		inner := make([]string, 0, len(exprs)+1)
		outer := make([]string, 0, len(exprs))
		for i, x := range exprs {
			inner = append(inner, x+" AS k"+strconv.Itoa(i))
			outer = append(outer, "k"+strconv.Itoa(i))
		}
		innerGroup := append(append([]string{}, exprs...), "e."+p.col)
		q := "SELECT " + strings.Join(append(outer, "COUNT(*)"), ", ") + " FROM (SELECT " +
			strings.Join(append(inner, "e."+p.col), ", ") + " FROM " + p.table + " e WHERE e.block >= ? AND e.block <= ?" +
			" AND (e.mask & " + masks + ") != 0" + extra + " GROUP BY " + strings.Join(innerGroup, ", ") + ")"
		if len(outer) > 0 {
			q += " GROUP BY " + strings.Join(outer, ", ")
		}
		if err := scan(q, append([]any{d1 / blockDays, (d2 - 1) / blockDays}, cargs...), 1, func(a *usageAgg, v []int64) {
			p.set(a, v[0])
		}); err != nil {
			return nil, err
		}
	}
	out := make([]usageAgg, 0, len(order))
	for _, id := range order {
		if a := byKey[id]; a.events > 0 {
			out = append(out, *a)
		}
	}
	return out, nil
}
