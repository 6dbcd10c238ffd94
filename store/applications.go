package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"

	"webusage/webapps"
)

type appRow struct {
	ID               int64  `db:"id"`
	Name             string `db:"name"`
	Patterns         string `db:"patterns"`
	CollectURLs      bool   `db:"collect_urls"`
	AllowedQueryKeys string `db:"allowed_query_keys"`
}

func (r appRow) app() (webapps.Application, error) {
	a := webapps.Application{ID: r.ID, Name: r.Name, CollectURLs: r.CollectURLs}
	if err := json.Unmarshal([]byte(r.Patterns), &a.Patterns); err != nil {
		return a, fmt.Errorf("store: decode patterns of application %d: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(r.AllowedQueryKeys), &a.AllowedQueryKeys); err != nil {
		return a, fmt.Errorf("store: decode allowed_query_keys of application %d: %w", r.ID, err)
	}
	if a.AllowedQueryKeys == nil {
		a.AllowedQueryKeys = []string{}
	}
	return a, nil
}

const appColumns = "id, name, patterns, collect_urls, allowed_query_keys"

// ListApplications returns the defined (not deleted) applications by id.
func (s *Store) ListApplications(ctx context.Context) ([]webapps.Application, error) {
	var rows []appRow
	if err := s.r.SelectContext(ctx, &rows, "SELECT "+appColumns+" FROM applications WHERE deleted_at IS NULL ORDER BY id"); err != nil {
		return nil, fmt.Errorf("store: list applications: %w", err)
	}
	out := make([]webapps.Application, 0, len(rows))
	for _, r := range rows {
		a, err := r.app()
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// GetApplication returns one defined application or ErrNotFound.
func (s *Store) GetApplication(ctx context.Context, id int64) (webapps.Application, error) {
	var r appRow
	err := s.r.GetContext(ctx, &r, "SELECT "+appColumns+" FROM applications WHERE id = ? AND deleted_at IS NULL", id)
	if errors.Is(err, sql.ErrNoRows) {
		return webapps.Application{}, ErrNotFound
	}
	if err != nil {
		return webapps.Application{}, fmt.Errorf("store: get application: %w", err)
	}
	return r.app()
}

// ApplicationNames returns id → name for every application ever defined,
// deleted ones included (past events keep their application).
func (s *Store) ApplicationNames(ctx context.Context) (map[int64]string, error) {
	var rows []struct {
		ID   int64  `db:"id"`
		Name string `db:"name"`
	}
	if err := s.r.SelectContext(ctx, &rows, "SELECT id, name FROM applications"); err != nil {
		return nil, fmt.Errorf("store: application names: %w", err)
	}
	m := make(map[int64]string, len(rows))
	for _, r := range rows {
		m[r.ID] = r.Name
	}
	return m, nil
}

func encodeApp(a webapps.Application) (patterns, keys string) {
	p, _ := json.Marshal(a.Patterns)
	if a.AllowedQueryKeys == nil {
		a.AllowedQueryKeys = []string{}
	}
	k, _ := json.Marshal(a.AllowedQueryKeys)
	return string(p), string(k)
}

func isUniqueViolation(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// CreateApplication stores a new application (already validated) and audits it.
// A name already in use gives ErrConflict.
func (s *Store) CreateApplication(ctx context.Context, actor Actor, a webapps.Application) (webapps.Application, error) {
	patterns, keys := encodeApp(a)
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		now := nowMs()
		res, err := tx.ExecContext(ctx, `INSERT INTO applications (name, patterns, collect_urls, allowed_query_keys, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?)`, a.Name, patterns, a.CollectURLs, keys, now, now)
		if isUniqueViolation(err) {
			return ErrNameTaken
		}
		if err != nil {
			return fmt.Errorf("store: create application: %w", err)
		}
		a.ID, _ = res.LastInsertId()
		return writeAudit(ctx, tx, actor, "application.create", "application:"+strconv.FormatInt(a.ID, 10))
	})
	return a, err
}

// UpdateApplication replaces an application's definition and audits it.
func (s *Store) UpdateApplication(ctx context.Context, actor Actor, a webapps.Application) error {
	patterns, keys := encodeApp(a)
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE applications SET name = ?, patterns = ?, collect_urls = ?,
			allowed_query_keys = ?, updated_at = ? WHERE id = ? AND deleted_at IS NULL`,
			a.Name, patterns, a.CollectURLs, keys, nowMs(), a.ID)
		if isUniqueViolation(err) {
			return ErrNameTaken
		}
		if err != nil {
			return fmt.Errorf("store: update application: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return writeAudit(ctx, tx, actor, "application.update", "application:"+strconv.FormatInt(a.ID, 10))
	})
}

// DeleteApplication removes an application from matching; its past events
// stay queryable under its name.
func (s *Store) DeleteApplication(ctx context.Context, actor Actor, id int64) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE applications SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL", nowMs(), id)
		if err != nil {
			return fmt.Errorf("store: delete application: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return writeAudit(ctx, tx, actor, "application.delete", "application:"+strconv.FormatInt(id, 10))
	})
}
