package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// RetentionPolicy says what has expired.
type RetentionPolicy struct {
	// EventsBefore: events that started before the UTC midnight at or
	// before this instant are deleted, with the rows of any table that
	// expires with them (a start_ms or bucket_ms column) and the rollups of
	// those days. Zero: none. Whole days keep rollups exact: an event is
	// kept at least as long as asked, at most one day longer.
	EventsBefore time.Time
	// InactiveBefore: devices and users last seen before this instant are
	// deleted with every row tied to them. Zero: none.
	InactiveBefore time.Time
	// BatchRows bounds the rows one transaction deletes (default 1000), so
	// ingest never waits long for the write connection.
	BatchRows int
}

// RetentionResult counts what a retention run deleted.
type RetentionResult struct {
	// Deleted counts deleted rows by table.
	Deleted map[string]int64 `json:"deleted"`
	// Cleared counts rows kept with a reference to a deleted user or device
	// cleared.
	Cleared map[string]int64 `json:"cleared"`
	// Transactions is how many write transactions the run used.
	Transactions int `json:"transactions"`
}

// ApplyRetention deletes what p says has expired, in transactions of at most
// p.BatchRows rows with secure_delete on, and checkpoints the write-ahead log
// when it deleted anything. An event is kept while its start is at or after
// p.EventsBefore; a device or user while its last report is at or after
// p.InactiveBefore. An interrupted run (ctx cancelled) leaves a consistent
// database; the next run continues.
func (s *Store) ApplyRetention(ctx context.Context, p RetentionPolicy) (RetentionResult, error) {
	if p.BatchRows <= 0 {
		p.BatchRows = 1000
	}
	res := RetentionResult{Deleted: map[string]int64{}, Cleared: map[string]int64{}}
	tables, err := schema(ctx, s.r)
	if err != nil {
		return res, err
	}
	if !p.EventsBefore.IsZero() {
		if err := s.expireEvents(ctx, tables, p, &res); err != nil {
			return res, err
		}
	}
	if !p.InactiveBefore.IsZero() {
		cutoff := p.InactiveBefore.UnixMilli()
		for _, target := range []string{tableDevices, tableUsers} {
			expired := "SELECT id FROM " + target + " WHERE last_seen < ?"
			col := map[string]string{tableUsers: "user_id", tableDevices: "device_id"}[target]
			cond := "e.id IN (SELECT id FROM events WHERE " + col + " IN (" + expired + ") ORDER BY id LIMIT ?)"
			if err := s.eventBatches(ctx, cond, []any{cutoff, p.BatchRows}, p.BatchRows, &res); err != nil {
				return res, err
			}
			for _, t := range tables {
				if t.Name == target || t.Name == "events" {
					continue
				}
				for _, r := range t.refsTo(target) {
					where := quoteIdent(r.Column) + " IN (" + expired + ")"
					if r.SetNull {
						err = s.clearBatches(ctx, t, r.Column, where, []any{cutoff}, p.BatchRows, &res)
					} else {
						err = s.deleteBatches(ctx, t, where, []any{cutoff}, p.BatchRows, &res)
					}
					if err != nil {
						return res, err
					}
				}
			}
			subject := tableSchema{Name: target, RowID: true}
			if err := s.deleteBatches(ctx, subject, "last_seen < ?", []any{cutoff}, p.BatchRows, &res); err != nil {
				return res, err
			}
		}
	}
	var deleted int64
	for _, n := range res.Deleted {
		deleted += n
	}
	if deleted > 0 {
		s.checkpoint(ctx)
	}
	return res, nil
}

// rollupTables are pruned by day (pruneRollups) when events expire, and
// recomputed from the remaining events when a subject's events are deleted
// (deleteEvents).
var rollupTables = map[string]bool{"usage_daily": true, "presence_users": true, "presence_devices": true}

// expireEvents deletes the events that started before the UTC midnight at
// or before p.EventsBefore, and every row of another table that expires with
// them, then prunes the rollups of the days before it. Events that started
// the day before and run past midnight go through deleteEvents, which also
// subtracts what they carried into the kept day.
func (s *Store) expireEvents(ctx context.Context, tables []tableSchema, p RetentionPolicy, res *RetentionResult) error {
	cutoffDay := p.EventsBefore.UnixMilli() / dayMs
	if p.EventsBefore.UnixMilli() < 0 {
		return nil
	}
	cutoff := cutoffDay * dayMs
	crossing := "e.id IN (SELECT id FROM events WHERE start_ms / 86400000 = ? AND start_ms + duration_ms > ? ORDER BY id LIMIT ?)"
	if err := s.eventBatches(ctx, crossing, []any{cutoffDay - 1, cutoff, p.BatchRows}, p.BatchRows, res); err != nil {
		return err
	}
	for _, t := range tables {
		if t.TimeCol == "" || t.Name == tableUsers || t.Name == tableDevices {
			continue
		}
		// The cutoff is a midnight, so comparing days is the same as comparing
		// ms, and the day form is what the events_day index covers.
		where := quoteIdent(t.TimeCol) + " / 86400000 < ?"
		if err := s.deleteBatches(ctx, t, where, []any{cutoffDay}, p.BatchRows, res); err != nil {
			return err
		}
	}
	err := s.secureTx(ctx, func(tx *sqlx.Tx) error { return pruneRollups(ctx, tx, cutoffDay) })
	if err != nil {
		return err
	}
	res.Transactions++
	return nil
}

// eventBatches deletes the events matching cond (on alias e; its last
// argument is the batch size) with deleteEvents, one transaction per batch.
func (s *Store) eventBatches(ctx context.Context, cond string, args []any, batch int, res *RetentionResult) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var n int64
		err := s.secureTx(ctx, func(tx *sqlx.Tx) error {
			var err error
			n, err = deleteEvents(ctx, tx, cond, args...)
			return err
		})
		if err != nil {
			return fmt.Errorf("store: retention on events: %w", err)
		}
		res.Transactions++
		res.Deleted["events"] += n
		if n < int64(batch) {
			return nil
		}
	}
}

// deleteBatches deletes the rows of t matching where, batch rows per
// transaction.
func (s *Store) deleteBatches(ctx context.Context, t tableSchema, where string, args []any, batch int, res *RetentionResult) error {
	if !t.RowID { // no rowid to batch on: one statement
		return s.batches(ctx, t.Name, "DELETE FROM "+quoteIdent(t.Name)+" WHERE "+where, args, 0, res, res.Deleted)
	}
	q := "DELETE FROM " + quoteIdent(t.Name) + " WHERE rowid IN (SELECT rowid FROM " + quoteIdent(t.Name) +
		" WHERE " + where + " LIMIT ?)"
	return s.batches(ctx, t.Name, q, append(args, batch), batch, res, res.Deleted)
}

// clearBatches sets column to NULL in the rows of t matching where.
func (s *Store) clearBatches(ctx context.Context, t tableSchema, column, where string, args []any, batch int, res *RetentionResult) error {
	set := "UPDATE " + quoteIdent(t.Name) + " SET " + quoteIdent(column) + " = NULL WHERE "
	if !t.RowID {
		return s.batches(ctx, t.Name, set+where, args, 0, res, res.Cleared)
	}
	q := set + "rowid IN (SELECT rowid FROM " + quoteIdent(t.Name) + " WHERE " + where + " LIMIT ?)"
	return s.batches(ctx, t.Name, q, append(args, batch), batch, res, res.Cleared)
}

// batches runs q, each time in its own transaction, until it affects fewer
// than batch rows (once when batch is 0: q is not limited).
func (s *Store) batches(ctx context.Context, table, q string, args []any, batch int, res *RetentionResult, count map[string]int64) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var n int64
		err := s.secureTx(ctx, func(tx *sqlx.Tx) error {
			var err error
			n, err = execCount(ctx, tx, q, args...)
			return err
		})
		if err != nil {
			return fmt.Errorf("store: retention on %s: %w", table, err)
		}
		res.Transactions++
		if n > 0 {
			count[table] += n
		}
		if n < int64(batch) || batch == 0 {
			return nil
		}
	}
}

// RetentionPending counts what a retention run with the same policy would
// delete now, without deleting anything.
type RetentionPending struct {
	Events          int64      `json:"expired_events"`
	InactiveDevices int64      `json:"inactive_devices"`
	InactiveUsers   int64      `json:"inactive_users"`
	OldestEvent     *time.Time `json:"oldest_event,omitempty"`
}

// PendingRetention counts the expired events and inactive devices and users
// under p, and reports the start of the oldest stored event.
func (s *Store) PendingRetention(ctx context.Context, p RetentionPolicy) (RetentionPending, error) {
	var out RetentionPending
	if err := s.r.GetContext(ctx, &out.Events, "SELECT count(*) FROM events WHERE start_ms / 86400000 < ?",
		p.EventsBefore.UnixMilli()/dayMs); err != nil {
		return out, fmt.Errorf("store: retention status: %w", err)
	}
	if err := s.r.GetContext(ctx, &out.InactiveDevices, "SELECT count(*) FROM devices WHERE last_seen < ?", p.InactiveBefore.UnixMilli()); err != nil {
		return out, fmt.Errorf("store: retention status: %w", err)
	}
	if err := s.r.GetContext(ctx, &out.InactiveUsers, "SELECT count(*) FROM users WHERE last_seen < ?", p.InactiveBefore.UnixMilli()); err != nil {
		return out, fmt.Errorf("store: retention status: %w", err)
	}
	var oldest *int64
	if err := s.r.GetContext(ctx, &oldest, `SELECT min(start_ms) FROM events
		WHERE start_ms / 86400000 = (SELECT min(start_ms / 86400000) FROM events)`); err != nil {
		return out, fmt.Errorf("store: retention status: %w", err)
	}
	if oldest != nil {
		t := time.UnixMilli(*oldest).UTC()
		out.OldestEvent = &t
	}
	return out, nil
}

// ConfigRetentionLastRun is the configuration document holding the report of
// the last retention run (RetentionRun).
const ConfigRetentionLastRun = "retention_last_run"

// RetentionRun is the report of one retention run, kept for the status
// endpoint.
type RetentionRun struct {
	Started        time.Time        `json:"started"`
	Finished       time.Time        `json:"finished"`
	EventsBefore   time.Time        `json:"events_before"`
	InactiveBefore time.Time        `json:"inactive_before"`
	Deleted        map[string]int64 `json:"deleted"`
	Error          string           `json:"error,omitempty"`
}

// RecordRetentionRun keeps r as the last run's report (not audited: the
// background job is not an operator action).
func (s *Store) RecordRetentionRun(ctx context.Context, r RetentionRun) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		return writeConfigDoc(ctx, tx, ConfigRetentionLastRun, r)
	})
}

// writeConfigDoc replaces the configuration document key with v, without an
// audit line.
func writeConfigDoc(ctx context.Context, tx *sqlx.Tx, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: encode config %s: %w", key, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO config (key, value, updated_at) VALUES (?, ?, ?)
		ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
		key, string(b), nowMs()); err != nil {
		return fmt.Errorf("store: write config %s: %w", key, err)
	}
	return nil
}
