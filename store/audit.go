package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Actor is who performs an admin action, for the audit trail.
type Actor struct {
	AccountID int64
	Name      string
}

// AuditEntry is one line of the audit trail: who did what to which target,
// never the values set.
type AuditEntry struct {
	ID      int64     `json:"id" db:"id"`
	At      time.Time `json:"at" db:"-"`
	AtMs    int64     `json:"-" db:"at"`
	Account string    `json:"account" db:"account"`
	Action  string    `json:"action" db:"action"`
	Target  string    `json:"target" db:"target"`
}

func writeAudit(ctx context.Context, tx *sqlx.Tx, a Actor, action, target string) error {
	var id any
	if a.AccountID != 0 {
		id = a.AccountID
	}
	_, err := tx.ExecContext(ctx, "INSERT INTO audit (at, account_id, account, action, target) VALUES (?, ?, ?, ?, ?)",
		nowMs(), id, a.Name, action, target)
	if err != nil {
		return fmt.Errorf("store: write audit: %w", err)
	}
	return nil
}

// Audit records an action outside of another write (exports, data requests).
func (s *Store) Audit(ctx context.Context, a Actor, action, target string) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error { return writeAudit(ctx, tx, a, action, target) })
}

// AuditQuery selects audit entries, newest first.
type AuditQuery struct {
	From, To time.Time // zero = unbounded
	Action   string    // exact action code, optional
	BeforeID int64     // cursor: entries with a smaller id
	Limit    int
}

// ListAudit returns audit entries, newest first.
func (s *Store) ListAudit(ctx context.Context, q AuditQuery) ([]AuditEntry, error) {
	where, args := "1=1", []any{}
	if !q.From.IsZero() {
		where += " AND at >= ?"
		args = append(args, q.From.UnixMilli())
	}
	if !q.To.IsZero() {
		where += " AND at < ?"
		args = append(args, q.To.UnixMilli())
	}
	if q.Action != "" {
		where += " AND action = ?"
		args = append(args, q.Action)
	}
	if q.BeforeID > 0 {
		where += " AND id < ?"
		args = append(args, q.BeforeID)
	}
	if q.Limit <= 0 || q.Limit > 1000 {
		q.Limit = 1000
	}
	args = append(args, q.Limit)
	var out []AuditEntry
	if err := s.r.SelectContext(ctx, &out, "SELECT id, at, account, action, target FROM audit WHERE "+where+
		" ORDER BY id DESC LIMIT ?", args...); err != nil {
		return nil, fmt.Errorf("store: list audit: %w", err)
	}
	for i := range out {
		out[i].At = time.UnixMilli(out[i].AtMs).UTC()
	}
	return out, nil
}
