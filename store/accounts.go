package store

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"webusage/privacy"
)

// Token kinds.
const (
	TokenAccount    = "account"
	TokenEnrollment = "enrollment"
)

// Account is a person's (or a script's) identity: one main role and any
// number of additional roles.
type Account struct {
	ID              int64   `json:"id"`
	Name            string  `json:"name"`
	MainRoleID      int64   `json:"main_role"`
	AdditionalRoles []int64 `json:"additional_roles"`
	Builtin         bool    `json:"builtin,omitempty"`
}

// Token describes a stored token (never the token itself).
type Token struct {
	ID        int64      `json:"id"`
	Kind      string     `json:"kind"`
	AccountID int64      `json:"account_id,omitempty"`
	Name      string     `json:"name,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// Principal is what a valid token authenticates.
type Principal struct {
	Kind      string // TokenAccount or TokenEnrollment
	TokenID   int64
	AccountID int64
}

// Authenticate finds the live token whose SHA-256 is hash. The final
// comparison is constant-time. ErrNotFound when no live token matches.
func (s *Store) Authenticate(ctx context.Context, hash []byte) (Principal, error) {
	var row struct {
		ID        int64         `db:"id"`
		Kind      string        `db:"kind"`
		AccountID sql.NullInt64 `db:"account_id"`
		Hash      []byte        `db:"hash"`
	}
	err := s.r.GetContext(ctx, &row, "SELECT id, kind, account_id, hash FROM tokens WHERE hash = ? AND revoked_at IS NULL", hash)
	if errors.Is(err, sql.ErrNoRows) {
		return Principal{}, ErrNotFound
	}
	if err != nil {
		return Principal{}, fmt.Errorf("store: authenticate: %w", err)
	}
	if subtle.ConstantTimeCompare(row.Hash, hash) != 1 {
		return Principal{}, ErrNotFound
	}
	return Principal{Kind: row.Kind, TokenID: row.ID, AccountID: row.AccountID.Int64}, nil
}

// Bootstrap creates, on an empty database, the built-in full-access main role,
// the first admin account with adminHash as its token, and an enrollment token
// with enrollHash. It reports whether it created them.
func (s *Store) Bootstrap(ctx context.Context, adminHash, enrollHash []byte) (bool, error) {
	created := false
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var n int
		if err := tx.GetContext(ctx, &n, "SELECT count(*) FROM accounts"); err != nil {
			return fmt.Errorf("store: bootstrap: %w", err)
		}
		if n > 0 {
			return nil
		}
		role := administratorRole()
		def, _ := json.Marshal(role)
		now := nowMs()
		res, err := tx.ExecContext(ctx, "INSERT INTO roles (name, type, definition, builtin, created_at, updated_at) VALUES (?, 'main', ?, 1, ?, ?)",
			role.Name, string(def), now, now)
		if err != nil {
			return fmt.Errorf("store: bootstrap role: %w", err)
		}
		roleID, _ := res.LastInsertId()
		res, err = tx.ExecContext(ctx, "INSERT INTO accounts (name, main_role_id, builtin, created_at) VALUES ('admin', ?, 1, ?)", roleID, now)
		if err != nil {
			return fmt.Errorf("store: bootstrap account: %w", err)
		}
		accountID, _ := res.LastInsertId()
		if _, err := tx.ExecContext(ctx, "INSERT INTO tokens (kind, account_id, name, hash, created_at) VALUES ('account', ?, 'initial', ?, ?)",
			accountID, adminHash, now); err != nil {
			return fmt.Errorf("store: bootstrap admin token: %w", err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO tokens (kind, name, hash, created_at) VALUES ('enrollment', 'initial', ?, ?)",
			enrollHash, now); err != nil {
			return fmt.Errorf("store: bootstrap enrollment token: %w", err)
		}
		created = true
		return writeAudit(ctx, tx, Actor{Name: "system"}, "instance.bootstrap", "account:"+strconv.FormatInt(accountID, 10))
	})
	return created, err
}

// --- roles ---

type roleRow struct {
	ID         int64  `db:"id"`
	Definition string `db:"definition"`
	Builtin    bool   `db:"builtin"`
}

func (r roleRow) role() (privacy.Role, error) {
	var role privacy.Role
	if err := json.Unmarshal([]byte(r.Definition), &role); err != nil {
		return role, fmt.Errorf("store: decode role %d: %w", r.ID, err)
	}
	role.ID, role.Builtin = r.ID, r.Builtin
	return role, nil
}

// ListRoles returns every role by id.
func (s *Store) ListRoles(ctx context.Context) ([]privacy.Role, error) {
	var rows []roleRow
	if err := s.r.SelectContext(ctx, &rows, "SELECT id, definition, builtin FROM roles ORDER BY id"); err != nil {
		return nil, fmt.Errorf("store: list roles: %w", err)
	}
	out := make([]privacy.Role, 0, len(rows))
	for _, r := range rows {
		role, err := r.role()
		if err != nil {
			return nil, err
		}
		out = append(out, role)
	}
	return out, nil
}

// GetRole returns one role or ErrNotFound.
func (s *Store) GetRole(ctx context.Context, id int64) (privacy.Role, error) {
	var r roleRow
	err := s.r.GetContext(ctx, &r, "SELECT id, definition, builtin FROM roles WHERE id = ?", id)
	if errors.Is(err, sql.ErrNoRows) {
		return privacy.Role{}, ErrNotFound
	}
	if err != nil {
		return privacy.Role{}, fmt.Errorf("store: get role: %w", err)
	}
	return r.role()
}

// RoleByName returns the role named name (case-insensitive) or ErrNotFound.
func (s *Store) RoleByName(ctx context.Context, name string) (privacy.Role, error) {
	var r roleRow
	err := s.r.GetContext(ctx, &r, "SELECT id, definition, builtin FROM roles WHERE name = ?", name)
	if errors.Is(err, sql.ErrNoRows) {
		return privacy.Role{}, ErrNotFound
	}
	if err != nil {
		return privacy.Role{}, fmt.Errorf("store: get role: %w", err)
	}
	return r.role()
}

// CreateRole stores a validated role. A taken name gives ErrConflict.
func (s *Store) CreateRole(ctx context.Context, actor Actor, role privacy.Role) (privacy.Role, error) {
	role.ID, role.Builtin = 0, false
	def, _ := json.Marshal(role)
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		now := nowMs()
		res, err := tx.ExecContext(ctx, "INSERT INTO roles (name, type, definition, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
			role.Name, role.Type, string(def), now, now)
		if isUniqueViolation(err) {
			return ErrNameTaken
		}
		if err != nil {
			return fmt.Errorf("store: create role: %w", err)
		}
		role.ID, _ = res.LastInsertId()
		return writeAudit(ctx, tx, actor, "role.create", "role:"+strconv.FormatInt(role.ID, 10))
	})
	return role, err
}

// UpdateRole replaces a role's definition. check runs inside the transaction
// with the accounts that use the role, so a change that would give an account
// an invalid combination is refused atomically.
func (s *Store) UpdateRole(ctx context.Context, actor Actor, role privacy.Role, check func(users []Account) error) error {
	def, _ := json.Marshal(role)
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		var builtin bool
		err := tx.GetContext(ctx, &builtin, "SELECT builtin FROM roles WHERE id = ?", role.ID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("store: update role: %w", err)
		}
		if builtin {
			return fmt.Errorf("%w: the built-in role cannot be changed", ErrConflict)
		}
		users, err := accountsUsingRole(ctx, tx, role.ID)
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(users); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, "UPDATE roles SET name = ?, definition = ?, updated_at = ? WHERE id = ?",
			role.Name, string(def), nowMs(), role.ID)
		if isUniqueViolation(err) {
			return ErrNameTaken
		}
		if err != nil {
			return fmt.Errorf("store: update role: %w", err)
		}
		return writeAudit(ctx, tx, actor, "role.update", "role:"+strconv.FormatInt(role.ID, 10))
	})
}

// DeleteRole removes a role no account uses (ErrConflict otherwise).
func (s *Store) DeleteRole(ctx context.Context, actor Actor, id int64) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		var builtin bool
		err := tx.GetContext(ctx, &builtin, "SELECT builtin FROM roles WHERE id = ?", id)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("store: delete role: %w", err)
		}
		if builtin {
			return fmt.Errorf("%w: the built-in role cannot be deleted", ErrConflict)
		}
		users, err := accountsUsingRole(ctx, tx, id)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return fmt.Errorf("%w: the role is used by %d account(s)", ErrConflict, len(users))
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM roles WHERE id = ?", id); err != nil {
			return fmt.Errorf("store: delete role: %w", err)
		}
		return writeAudit(ctx, tx, actor, "role.delete", "role:"+strconv.FormatInt(id, 10))
	})
}

func accountsUsingRole(ctx context.Context, tx *sqlx.Tx, roleID int64) ([]Account, error) {
	var ids []int64
	if err := tx.SelectContext(ctx, &ids, `SELECT id FROM accounts WHERE main_role_id = ?
		UNION SELECT account_id FROM account_roles WHERE role_id = ?`, roleID, roleID); err != nil {
		return nil, fmt.Errorf("store: accounts using role: %w", err)
	}
	out := make([]Account, 0, len(ids))
	for _, id := range ids {
		a, err := getAccount(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// --- accounts ---

type queryer interface {
	GetContext(ctx context.Context, dest any, query string, args ...any) error
	SelectContext(ctx context.Context, dest any, query string, args ...any) error
}

func getAccount(ctx context.Context, q queryer, id int64) (Account, error) {
	var row struct {
		ID      int64  `db:"id"`
		Name    string `db:"name"`
		Main    int64  `db:"main_role_id"`
		Builtin bool   `db:"builtin"`
	}
	err := q.GetContext(ctx, &row, "SELECT id, name, main_role_id, builtin FROM accounts WHERE id = ?", id)
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, ErrNotFound
	}
	if err != nil {
		return Account{}, fmt.Errorf("store: get account: %w", err)
	}
	a := Account{ID: row.ID, Name: row.Name, MainRoleID: row.Main, Builtin: row.Builtin, AdditionalRoles: []int64{}}
	if err := q.SelectContext(ctx, &a.AdditionalRoles, "SELECT role_id FROM account_roles WHERE account_id = ? ORDER BY role_id", id); err != nil {
		return Account{}, fmt.Errorf("store: get account roles: %w", err)
	}
	return a, nil
}

// GetAccount returns one account or ErrNotFound.
func (s *Store) GetAccount(ctx context.Context, id int64) (Account, error) {
	return getAccount(ctx, s.r, id)
}

// ListAccounts returns every account by id.
func (s *Store) ListAccounts(ctx context.Context) ([]Account, error) {
	var ids []int64
	if err := s.r.SelectContext(ctx, &ids, "SELECT id FROM accounts ORDER BY id"); err != nil {
		return nil, fmt.Errorf("store: list accounts: %w", err)
	}
	out := make([]Account, 0, len(ids))
	for _, id := range ids {
		a, err := getAccount(ctx, s.r, id)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// CreateAccount stores an account and its first token (tokenHash) together.
func (s *Store) CreateAccount(ctx context.Context, actor Actor, a Account, tokenHash []byte) (Account, error) {
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		now := nowMs()
		res, err := tx.ExecContext(ctx, "INSERT INTO accounts (name, main_role_id, created_at) VALUES (?, ?, ?)", a.Name, a.MainRoleID, now)
		if isUniqueViolation(err) {
			return ErrNameTaken
		}
		if err != nil {
			return fmt.Errorf("store: create account: %w", err)
		}
		a.ID, _ = res.LastInsertId()
		for _, r := range a.AdditionalRoles {
			if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO account_roles (account_id, role_id) VALUES (?, ?)", a.ID, r); err != nil {
				return fmt.Errorf("store: create account roles: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO tokens (kind, account_id, name, hash, created_at) VALUES ('account', ?, 'initial', ?, ?)",
			a.ID, tokenHash, now); err != nil {
			return fmt.Errorf("store: create account token: %w", err)
		}
		return writeAudit(ctx, tx, actor, "account.create", "account:"+strconv.FormatInt(a.ID, 10))
	})
	return a, err
}

// DeleteAccount removes an account and its tokens. The built-in admin cannot
// be deleted.
func (s *Store) DeleteAccount(ctx context.Context, actor Actor, id int64) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		a, err := getAccount(ctx, tx, id)
		if err != nil {
			return err
		}
		if a.Builtin {
			return fmt.Errorf("%w: the first admin account cannot be deleted", ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM accounts WHERE id = ?", id); err != nil {
			return fmt.Errorf("store: delete account: %w", err)
		}
		return writeAudit(ctx, tx, actor, "account.delete", "account:"+strconv.FormatInt(id, 10))
	})
}

// --- tokens ---

// CreateToken stores a new token of kind (for accountID when kind is
// TokenAccount) and audits it.
func (s *Store) CreateToken(ctx context.Context, actor Actor, kind string, accountID int64, name string, hash []byte) (Token, error) {
	t := Token{Kind: kind, AccountID: accountID, Name: name, CreatedAt: time.UnixMilli(nowMs()).UTC()}
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var acct any
		if kind == TokenAccount {
			if _, err := getAccount(ctx, tx, accountID); err != nil {
				return err
			}
			acct = accountID
		}
		res, err := tx.ExecContext(ctx, "INSERT INTO tokens (kind, account_id, name, hash, created_at) VALUES (?, ?, ?, ?, ?)",
			kind, acct, name, hash, t.CreatedAt.UnixMilli())
		if err != nil {
			return fmt.Errorf("store: create token: %w", err)
		}
		t.ID, _ = res.LastInsertId()
		return writeAudit(ctx, tx, actor, "token.create", kind+"-token:"+strconv.FormatInt(t.ID, 10))
	})
	return t, err
}

// ListTokens lists tokens of kind (and of accountID when non-zero).
func (s *Store) ListTokens(ctx context.Context, kind string, accountID int64) ([]Token, error) {
	var rows []struct {
		ID        int64         `db:"id"`
		Kind      string        `db:"kind"`
		AccountID sql.NullInt64 `db:"account_id"`
		Name      string        `db:"name"`
		Created   int64         `db:"created_at"`
		Revoked   sql.NullInt64 `db:"revoked_at"`
	}
	q, args := "SELECT id, kind, account_id, name, created_at, revoked_at FROM tokens WHERE kind = ?", []any{kind}
	if accountID != 0 {
		q += " AND account_id = ?"
		args = append(args, accountID)
	}
	if err := s.r.SelectContext(ctx, &rows, q+" ORDER BY id", args...); err != nil {
		return nil, fmt.Errorf("store: list tokens: %w", err)
	}
	out := make([]Token, 0, len(rows))
	for _, r := range rows {
		t := Token{ID: r.ID, Kind: r.Kind, AccountID: r.AccountID.Int64, Name: r.Name, CreatedAt: time.UnixMilli(r.Created).UTC()}
		if r.Revoked.Valid {
			rt := time.UnixMilli(r.Revoked.Int64).UTC()
			t.RevokedAt = &rt
		}
		out = append(out, t)
	}
	return out, nil
}

// RevokeToken revokes a live token of kind (and of accountID when non-zero).
func (s *Store) RevokeToken(ctx context.Context, actor Actor, kind string, accountID, id int64) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		q, args := "UPDATE tokens SET revoked_at = ? WHERE id = ? AND kind = ? AND revoked_at IS NULL", []any{nowMs(), id, kind}
		if accountID != 0 {
			q += " AND account_id = ?"
			args = append(args, accountID)
		}
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("store: revoke token: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return writeAudit(ctx, tx, actor, "token.revoke", kind+"-token:"+strconv.FormatInt(id, 10))
	})
}

// administratorRole is the built-in main role of the first admin: full view
// domain, everything visible, every permission.
func administratorRole() privacy.Role {
	return privacy.Role{
		Name:        "Administrator",
		Type:        privacy.MainRole,
		ViewDomain:  &privacy.ViewDomain{Access: privacy.AccessFull},
		Privacy:     privacy.DataPrivacy{Users: privacy.Visible, Devices: privacy.Visible, Destinations: privacy.Visible},
		Permissions: privacy.AllPermissions(),
	}
}
