package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// Configuration documents kept in the config table.
const (
	ConfigSettings     = "settings"
	ConfigOrganization = "organization"
	ConfigLocations    = "locations"
)

// GetConfig decodes the configuration document key into dst. found is false
// when it was never written (dst is left as is: the caller's defaults).
func (s *Store) GetConfig(ctx context.Context, key string, dst any) (found bool, err error) {
	var raw string
	err = s.r.GetContext(ctx, &raw, "SELECT value FROM config WHERE key = ?", key)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: read config %s: %w", key, err)
	}
	if err := json.Unmarshal([]byte(raw), dst); err != nil {
		return false, fmt.Errorf("store: decode config %s: %w", key, err)
	}
	return true, nil
}

// PutConfig replaces the configuration document key with v and records
// action in the audit trail, in one transaction.
func (s *Store) PutConfig(ctx context.Context, a Actor, key string, v any, action string) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: encode config %s: %w", key, err)
	}
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO config (key, value, updated_at) VALUES (?, ?, ?)
			ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
			key, string(b), nowMs()); err != nil {
			return fmt.Errorf("store: write config %s: %w", key, err)
		}
		return writeAudit(ctx, tx, a, action, key)
	})
}
