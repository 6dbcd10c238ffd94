package store

// Data management: a data subject's export and erasure, anonymization,
// re-sealing under a new data key, and backup.
//
// Which tables hold a subject's data is discovered from the schema, so a
// table added by a later migration is covered without changing this file:
//   - a column refers to a user when it has a foreign key to users(id) or is
//     named user_id; to a device when it has a foreign key to devices(id) or
//     is named device_id;
//   - a column whose name ends in _enc is sealed with the associated data
//     "<table>.<column without _enc>".
//
// Every table must either hold such a reference or be listed in
// tablesWithoutSubjects; the tests fail otherwise, so a new table cannot be
// forgotten.

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// tablesWithoutSubjects are the tables that hold nothing about the people
// and devices that report usage, with the reason.
var tablesWithoutSubjects = map[string]string{
	"schema_migrations": "applied migration versions",
	"config":            "instance configuration documents",
	"applications":      "web application definitions",
	"roles":             "role definitions",
	"accounts":          "operator accounts, not data subjects",
	"account_roles":     "operator accounts' roles",
	"tokens":            "hashed API tokens",
	"audit":             "operator actions; data requests name their subject by keyed hash only",
	"usage_daily":       "usage summed by day, application and entity; erasure subtracts the subject's events (deleteEvents)",
}

// Subject tables.
const (
	tableUsers   = "users"
	tableDevices = "devices"
)

// refColumn is a column that points at a user or a device.
type refColumn struct {
	Column  string
	Target  string // tableUsers or tableDevices
	SetNull bool   // ON DELETE SET NULL: erasure clears it instead of deleting the row
}

// tableSchema is what data management needs to know about one table.
type tableSchema struct {
	Name    string
	Columns []string
	Refs    []refColumn
	RowID   bool   // false for WITHOUT ROWID tables
	TimeCol string // column in ms since the epoch by which rows expire with events ("" if none)
}

// refsTo returns the columns of t that point at target.
func (t tableSchema) refsTo(target string) []refColumn {
	var out []refColumn
	for _, r := range t.Refs {
		if r.Target == target {
			out = append(out, r)
		}
	}
	return out
}

// eventTimeColumns are the column names, in ms since the epoch, by which
// rows of a table holding subject references expire with the events.
var eventTimeColumns = []string{"start_ms", "bucket_ms"}

// schema reads the user tables of the database and their references to
// users and devices.
func schema(ctx context.Context, q sqlx.QueryerContext) ([]tableSchema, error) {
	var tables []struct {
		Name string         `db:"name"`
		SQL  sql.NullString `db:"sql"`
	}
	if err := sqlx.SelectContext(ctx, q, &tables,
		"SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"); err != nil {
		return nil, fmt.Errorf("store: read schema: %w", err)
	}
	out := make([]tableSchema, 0, len(tables))
	for _, tb := range tables {
		t := tableSchema{Name: tb.Name, RowID: !strings.Contains(strings.ToUpper(tb.SQL.String), "WITHOUT ROWID")}
		if err := sqlx.SelectContext(ctx, q, &t.Columns, "SELECT name FROM pragma_table_info(?) ORDER BY cid", tb.Name); err != nil {
			return nil, fmt.Errorf("store: read columns of %s: %w", tb.Name, err)
		}
		var fks []struct {
			Table    string `db:"table"`
			From     string `db:"from"`
			OnDelete string `db:"on_delete"`
		}
		if err := sqlx.SelectContext(ctx, q, &fks, `SELECT "table", "from", on_delete FROM pragma_foreign_key_list(?)`, tb.Name); err != nil {
			return nil, fmt.Errorf("store: read foreign keys of %s: %w", tb.Name, err)
		}
		seen := map[string]bool{}
		for _, fk := range fks {
			if target := strings.ToLower(fk.Table); target == tableUsers || target == tableDevices {
				t.Refs = append(t.Refs, refColumn{Column: fk.From, Target: target, SetNull: strings.EqualFold(fk.OnDelete, "SET NULL")})
				seen[fk.From] = true
			}
		}
		for _, c := range t.Columns {
			if seen[c] {
				continue
			}
			switch c {
			case "user_id":
				t.Refs = append(t.Refs, refColumn{Column: c, Target: tableUsers})
			case "device_id":
				t.Refs = append(t.Refs, refColumn{Column: c, Target: tableDevices})
			}
		}
		for _, c := range eventTimeColumns {
			if slices.Contains(t.Columns, c) {
				t.TimeCol = c
				break
			}
		}
		out = append(out, t)
	}
	return out, nil
}

// sealedAAD returns the associated data of a sealed column, and whether the
// column is sealed.
func sealedAAD(table, column string) (string, bool) {
	base, ok := strings.CutSuffix(column, "_enc")
	if !ok {
		return "", false
	}
	return table + "." + base, true
}

// looksLikePseudonym reports whether v has the form of keys.Pseudonym in a
// domain starting with prefix: "u-" or "d-" and 16 base32 characters.
func looksLikePseudonym(v string, prefix byte) bool {
	if len(v) != 18 || v[0] != prefix || v[1] != '-' {
		return false
	}
	for i := 2; i < len(v); i++ {
		if c := v[i]; !('a' <= c && c <= 'z' || '2' <= c && c <= '7') {
			return false
		}
	}
	return true
}

// devicePseudonym is the pseudonym an anonymized device name is stored as.
func devicePseudonym(c Cipher, name string) string {
	return c.Pseudonym(indexDevice, strings.ToLower(name))
}

// UserAuditTarget is how the audit trail names a data subject given by user
// name: the keyed lookup hash of the name as given, never the name.
func (s *Store) UserAuditTarget(name string) string { return "user:" + s.cipher.Index(indexUser, name) }

// DeviceAuditTarget is how the audit trail names a device given by id or
// name: its keyed hash, never the value.
func (s *Store) DeviceAuditTarget(idOrName string) string {
	return "device:" + s.cipher.Index(indexDevice, idOrName)
}

// findUsers returns the ids of the users stored under name: in clear, or as
// its pseudonym (hashed username mode, anonymization).
func (s *Store) findUsers(ctx context.Context, q sqlx.QueryerContext, name string) ([]int64, error) {
	var ids []int64
	err := sqlx.SelectContext(ctx, q, &ids, "SELECT id FROM users WHERE key IN (?, ?) ORDER BY id",
		s.cipher.Index(indexUser, name), s.cipher.Index(indexUser, s.cipher.Pseudonym(indexUser, name)))
	if err != nil {
		return nil, fmt.Errorf("store: find user: %w", err)
	}
	return ids, nil
}

// findDevices returns the ids of the devices whose extension id is v, or
// whose name is v (any letter case), in clear or anonymized.
func (s *Store) findDevices(ctx context.Context, q sqlx.QueryerContext, v string) ([]int64, error) {
	var ids []int64
	err := sqlx.SelectContext(ctx, q, &ids, "SELECT id FROM devices WHERE key = ? OR name_key IN (?, ?) ORDER BY id",
		s.cipher.Index(indexDevice, v), s.cipher.Index(indexDeviceName, strings.ToLower(v)),
		s.cipher.Index(indexDeviceName, devicePseudonym(s.cipher, v)))
	if err != nil {
		return nil, fmt.Errorf("store: find device: %w", err)
	}
	return ids, nil
}

// --- export ---

// SubjectTable is the rows of one table about a data subject.
type SubjectTable struct {
	Name string
	Table
}

// UserExport is every stored record about one user: the user record(s),
// every row of every table that refers to them (events with their context,
// and any later table such as rollups), and the devices they used. Sealed
// values are opened; lookup hashes are given as stored.
type UserExport struct {
	Tables []SubjectTable
}

// Rows returns the number of rows exported from table.
func (e UserExport) Rows(table string) int {
	for _, t := range e.Tables {
		if t.Name == table {
			return len(t.Rows)
		}
	}
	return 0
}

// ExportUser collects everything stored about the user called name (clear
// name; in hashed mode it is hashed to find them) and records the request in
// the audit trail, naming the subject by keyed hash. It returns ErrNotFound
// (after auditing) when no user is stored under that name.
func (s *Store) ExportUser(ctx context.Context, a Actor, name string) (UserExport, error) {
	exp, err := s.exportUser(ctx, name)
	if aerr := s.Audit(ctx, a, "data.user.export", s.UserAuditTarget(name)); aerr != nil {
		return UserExport{}, aerr
	}
	return exp, err
}

func (s *Store) exportUser(ctx context.Context, name string) (UserExport, error) {
	tx, err := s.r.BeginTxx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return UserExport{}, fmt.Errorf("store: export: %w", err)
	}
	defer tx.Rollback()
	ids, err := s.findUsers(ctx, tx, name)
	if err != nil {
		return UserExport{}, err
	}
	if len(ids) == 0 {
		return UserExport{}, ErrNotFound
	}
	tables, err := schema(ctx, tx)
	if err != nil {
		return UserExport{}, err
	}
	x := &exporter{s: s, q: tx, users: map[int64]string{}, devices: map[int64]bool{}}
	if x.apps, err = s.ApplicationNames(ctx); err != nil {
		return UserExport{}, err
	}
	idArgs := int64Args(ids)
	var out UserExport
	var userTab, devTab *tableSchema
	for i := range tables {
		t := &tables[i]
		switch t.Name {
		case tableUsers:
			userTab = t
		case tableDevices:
			devTab = t
		}
	}
	if userTab == nil || devTab == nil {
		return UserExport{}, errors.New("store: export: schema has no users or devices table")
	}
	tab, err := x.rows(ctx, *userTab, "id IN ("+placeholders(len(ids))+")", idArgs)
	if err != nil {
		return UserExport{}, err
	}
	out.Tables = append(out.Tables, SubjectTable{Name: tableUsers, Table: tab})
	for _, t := range tables {
		refs := t.refsTo(tableUsers)
		if len(refs) == 0 || t.Name == tableUsers || t.Name == tableDevices {
			continue
		}
		where, args := refWhere(refs, idArgs)
		tab, err := x.rows(ctx, t, where, args)
		if err != nil {
			return UserExport{}, err
		}
		out.Tables = append(out.Tables, SubjectTable{Name: t.Name, Table: tab})
	}
	// The devices they used: referenced from their rows, or last used by them.
	where, args := refWhere(devTab.refsTo(tableUsers), idArgs)
	if len(x.devices) > 0 {
		where = "(" + where + ") OR id IN (" + placeholders(len(x.devices)) + ")"
		for id := range x.devices {
			args = append(args, id)
		}
	}
	tab, err = x.rows(ctx, *devTab, where, args)
	if err != nil {
		return UserExport{}, err
	}
	out.Tables = append(out.Tables, SubjectTable{Name: tableDevices, Table: tab})
	return out, nil
}

// refWhere returns "col1 IN (…) OR col2 IN (…)" for refs and ids.
func refWhere(refs []refColumn, ids []any) (string, []any) {
	if len(refs) == 0 {
		return "0", nil
	}
	conds := make([]string, len(refs))
	var args []any
	for i, r := range refs {
		conds[i] = quoteIdent(r.Column) + " IN (" + placeholders(len(ids)) + ")"
		args = append(args, ids...)
	}
	return strings.Join(conds, " OR "), args
}

func int64Args(ids []int64) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// exporter renders rows for a person to read: sealed values opened, event
// ids as UUIDs, times as RFC 3339, references resolved to names.
type exporter struct {
	s       *Store
	q       sqlx.QueryerContext
	apps    map[int64]string
	users   map[int64]string // the subject's ids → their stored name
	devices map[int64]bool   // devices referenced by exported rows
}

// timeColumns hold ms since the epoch and are exported as RFC 3339.
var timeColumns = map[string]bool{"first_seen": true, "last_seen": true, "start_ms": true, "received_ms": true,
	"bucket_ms": true, "created_at": true, "updated_at": true}

func (x *exporter) rows(ctx context.Context, t tableSchema, where string, args []any) (Table, error) {
	rows, err := x.q.QueryxContext(ctx, "SELECT * FROM "+quoteIdent(t.Name)+" WHERE "+where, args...)
	if err != nil {
		return Table{}, fmt.Errorf("store: export %s: %w", t.Name, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return Table{}, fmt.Errorf("store: export %s: %w", t.Name, err)
	}
	refOf := map[string]string{}
	for _, r := range t.Refs {
		refOf[r.Column] = r.Target
	}
	var tab Table
	for _, c := range cols {
		name := strings.TrimSuffix(c, "_enc")
		tab.Columns = append(tab.Columns, name)
		if c == "app_id" {
			tab.Columns = append(tab.Columns, "application")
		}
		if refOf[c] == tableDevices {
			tab.Columns = append(tab.Columns, strings.TrimSuffix(c, "_id"))
		}
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var deviceRefs [][2]int // (row, column) of device references to resolve
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return Table{}, fmt.Errorf("store: export %s: %w", t.Name, err)
		}
		row := make([]any, 0, len(tab.Columns))
		for i, c := range cols {
			v, err := x.value(t.Name, c, refOf[c], vals[i])
			if err != nil {
				return Table{}, err
			}
			row = append(row, v)
			if c == "app_id" {
				if id, ok := vals[i].(int64); ok {
					row = append(row, x.apps[id])
				} else {
					row = append(row, nil)
				}
			}
			if refOf[c] == tableDevices {
				if id, ok := vals[i].(int64); ok {
					x.devices[id] = true
					deviceRefs = append(deviceRefs, [2]int{len(tab.Rows), len(row)})
				}
				row = append(row, v)
			}
			if t.Name == tableUsers && c == "id" {
				if id, ok := vals[i].(int64); ok {
					x.users[id] = ""
				}
			}
		}
		tab.Rows = append(tab.Rows, row)
	}
	if err := rows.Err(); err != nil {
		return Table{}, fmt.Errorf("store: export %s: %w", t.Name, err)
	}
	if t.Name == tableUsers {
		x.recordUserNames(tab)
	}
	if len(deviceRefs) > 0 {
		ids := map[int64]bool{}
		for _, rc := range deviceRefs {
			ids[tab.Rows[rc[0]][rc[1]].(int64)] = true
		}
		names, err := x.s.deviceNames(ctx, ids)
		if err != nil {
			return Table{}, err
		}
		for _, rc := range deviceRefs {
			tab.Rows[rc[0]][rc[1]] = names[tab.Rows[rc[0]][rc[1]].(int64)]
		}
	}
	return tab, nil
}

// recordUserNames remembers the subject's stored names, to show them where
// other rows refer to the subject.
func (x *exporter) recordUserNames(tab Table) {
	idCol, nameCol := slices.Index(tab.Columns, "id"), slices.Index(tab.Columns, "name")
	if idCol < 0 || nameCol < 0 {
		return
	}
	for _, r := range tab.Rows {
		if id, ok := r[idCol].(int64); ok {
			name, _ := r[nameCol].(string)
			x.users[id] = name
		}
	}
}

// value renders one stored value of table.column.
func (x *exporter) value(table, column, ref string, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	if aad, ok := sealedAAD(table, column); ok {
		b, _ := v.([]byte)
		pt, err := x.s.cipher.UnsealString(b, aad)
		if err != nil {
			return nil, fmt.Errorf("store: export: open %s: %w", aad, err)
		}
		return pt, nil
	}
	if ref == tableUsers && table != tableUsers {
		id, _ := v.(int64)
		if name, ok := x.users[id]; ok {
			return name, nil
		}
		return nil, nil // another person: not theirs to see
	}
	switch b := v.(type) {
	case []byte:
		if column == "event_id" && len(b) == 16 {
			return formatUUID(b), nil
		}
		return hex.EncodeToString(b), nil
	case int64:
		if timeColumns[column] {
			return time.UnixMilli(b).UTC().Format(time.RFC3339Nano), nil
		}
	}
	return v, nil
}

// --- erasure ---

// ErasureResult says what an erasure removed.
type ErasureResult struct {
	// Subjects is how many user or device records matched.
	Subjects int `json:"subjects"`
	// Deleted counts deleted rows by table.
	Deleted map[string]int64 `json:"deleted"`
	// Cleared counts rows that only referred to the subject and were kept
	// with that reference cleared (e.g. a device the user used last).
	Cleared map[string]int64 `json:"cleared"`
	// Checkpointed is true when the write-ahead log was emptied afterwards,
	// so no copy of the deleted rows is left in the database files.
	Checkpointed bool `json:"checkpointed"`
}

// EraseUser deletes the user called name (clear name; hashed names are
// found too) and every row of every table tied to them, in one transaction,
// with SQLite's secure_delete on so the freed space is overwritten; then it
// checkpoints the write-ahead log. The request is audited, the subject named
// by keyed hash. It returns ErrNotFound (after auditing) when no user matches.
func (s *Store) EraseUser(ctx context.Context, a Actor, name string) (ErasureResult, error) {
	return s.erase(ctx, a, tableUsers, "data.user.delete", s.UserAuditTarget(name),
		func(q sqlx.QueryerContext) ([]int64, error) { return s.findUsers(ctx, q, name) })
}

// EraseDevice deletes the devices whose extension id or name is idOrName,
// with every event and row tied to them, like EraseUser.
func (s *Store) EraseDevice(ctx context.Context, a Actor, idOrName string) (ErasureResult, error) {
	return s.erase(ctx, a, tableDevices, "data.device.delete", s.DeviceAuditTarget(idOrName),
		func(q sqlx.QueryerContext) ([]int64, error) { return s.findDevices(ctx, q, idOrName) })
}

func (s *Store) erase(ctx context.Context, a Actor, target, action, auditTarget string,
	find func(q sqlx.QueryerContext) ([]int64, error)) (ErasureResult, error) {
	res := ErasureResult{Deleted: map[string]int64{}, Cleared: map[string]int64{}}
	err := s.secureTx(ctx, func(tx *sqlx.Tx) error {
		if err := writeAudit(ctx, tx, a, action, auditTarget); err != nil {
			return err
		}
		ids, err := find(tx)
		if err != nil || len(ids) == 0 {
			return err
		}
		res.Subjects = len(ids)
		tables, err := schema(ctx, tx)
		if err != nil {
			return err
		}
		args := int64Args(ids)
		// Events first, through the rollups' own path, which also subtracts
		// their contribution to the daily sums and presence masks.
		col := "user_id"
		if target == tableDevices {
			col = "device_id"
		}
		n, err := deleteEvents(ctx, tx, "e."+col+" IN ("+placeholders(len(ids))+")", args...)
		if err != nil {
			return err
		}
		res.Deleted["events"] += n
		for _, t := range tables {
			if t.Name == target || t.Name == "events" {
				continue
			}
			for _, r := range t.refsTo(target) {
				in := quoteIdent(r.Column) + " IN (" + placeholders(len(ids)) + ")"
				q := "DELETE FROM " + quoteIdent(t.Name) + " WHERE " + in
				if r.SetNull {
					q = "UPDATE " + quoteIdent(t.Name) + " SET " + quoteIdent(r.Column) + " = NULL WHERE " + in
				}
				n, err := execCount(ctx, tx, q, args...)
				if err != nil {
					return fmt.Errorf("store: erase from %s: %w", t.Name, err)
				}
				if r.SetNull {
					res.Cleared[t.Name] += n
				} else {
					res.Deleted[t.Name] += n
				}
			}
		}
		n, err = execCount(ctx, tx, "DELETE FROM "+target+" WHERE id IN ("+placeholders(len(ids))+")", args...)
		if err != nil {
			return fmt.Errorf("store: erase from %s: %w", target, err)
		}
		res.Deleted[target] += n
		return nil
	})
	if err != nil {
		return ErasureResult{}, err
	}
	if res.Subjects == 0 {
		return res, ErrNotFound
	}
	res.Checkpointed = s.checkpoint(ctx)
	return res, nil
}

func execCount(ctx context.Context, tx *sqlx.Tx, q string, args ...any) (int64, error) {
	r, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return r.RowsAffected()
}

// secureTx runs fn in a write transaction on the writer connection with
// secure_delete on, so deleted and overwritten content is zeroed in the file
// instead of left in free space; the connection's previous setting is
// restored afterwards.
func (s *Store) secureTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	conn, err := s.w.Connx(ctx)
	if err != nil {
		return fmt.Errorf("store: writer connection: %w", err)
	}
	defer conn.Close()
	var prev int
	if err := conn.GetContext(ctx, &prev, "PRAGMA secure_delete"); err != nil {
		return fmt.Errorf("store: read secure_delete: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "PRAGMA secure_delete = 1"); err != nil {
		return fmt.Errorf("store: secure_delete: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf("PRAGMA secure_delete = %d", prev))
	tx, err := conn.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// checkpoint copies the write-ahead log into the database file and truncates
// it, retrying briefly while readers hold old snapshots. It reports whether
// the log was emptied.
func (s *Store) checkpoint(ctx context.Context) bool {
	for range 20 {
		var busy, logFrames, done int
		err := s.w.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &done)
		if err == nil && busy == 0 {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
	return false
}

// Checkpoint empties the write-ahead log into the database file (for tests
// and backups); it reports whether the log was fully emptied.
func (s *Store) Checkpoint(ctx context.Context) bool { return s.checkpoint(ctx) }

// --- anonymization ---

// ConfigAnonymization is the configuration document recording which classes
// of names are stored anonymized (see Anonymization).
const ConfigAnonymization = "anonymization"

// Anonymization is the storage-level anonymization policy: once a class is
// anonymized, names of that class are stored only as irreversible
// pseudonyms. It is not conditioned by anyone's role.
type Anonymization struct {
	Users     bool       `json:"users"`
	Devices   bool       `json:"devices"`
	UsersAt   *time.Time `json:"users_at,omitempty"`
	DevicesAt *time.Time `json:"devices_at,omitempty"`
}

// AnonymizeDevice applies device anonymization to what a request says about
// its device, before storage: the name becomes its pseudonym (the same one
// Anonymize gives stored devices of that name) and the public and local IP
// addresses are dropped. The extension's device id is kept: it is a random
// identifier, needed to recognise the device.
func AnonymizeDevice(c Cipher, d *DeviceInfo) {
	if d.Name != "" && !looksLikePseudonym(d.Name, 'd') {
		d.Name = devicePseudonym(c, d.Name)
	}
	d.PublicIP, d.LocalIPs = "", nil
}

// AnonymizeResult counts the records an anonymization pass rewrote.
type AnonymizeResult struct {
	Users   int64 `json:"users"`   // user records renamed to their pseudonym
	Merged  int64 `json:"merged"`  // of which merged into an existing record of the same pseudonym
	Devices int64 `json:"devices"` // device records renamed and stripped of IP addresses
}

// anonymizeBatch is how many records one anonymization transaction rewrites.
const anonymizeBatch = 500

// Anonymize replaces the stored names of every user (users) and every device
// (devices) with their irreversible pseudonyms — the ones the hashed
// username mode and AnonymizeDevice give new data, so old and new records of
// the same person or device stay one — in small transactions with
// secure_delete on, then checkpoints. Records already pseudonymized are left
// alone, so a second pass changes nothing. Device IP addresses are removed.
// A nil actor is not audited (the background pass); otherwise one audit line
// is written.
func (s *Store) Anonymize(ctx context.Context, a *Actor, users, devices bool) (AnonymizeResult, error) {
	var res AnonymizeResult
	if a != nil {
		var what []string
		if users {
			what = append(what, "users")
		}
		if devices {
			what = append(what, "devices")
		}
		if err := s.Audit(ctx, *a, "data.anonymize", strings.Join(what, ",")); err != nil {
			return res, err
		}
	}
	if users {
		if err := s.anonymizeUsers(ctx, &res); err != nil {
			return res, err
		}
	}
	if devices {
		if err := s.anonymizeDevices(ctx, &res); err != nil {
			return res, err
		}
	}
	if res.Users+res.Devices > 0 {
		s.checkpoint(ctx)
	}
	return res, nil
}

func (s *Store) anonymizeUsers(ctx context.Context, res *AnonymizeResult) error {
	var after int64
	for {
		done := false
		err := s.secureTx(ctx, func(tx *sqlx.Tx) error {
			var rows []struct {
				ID   int64  `db:"id"`
				Name []byte `db:"name_enc"`
				UPN  []byte `db:"upn_enc"`
			}
			if err := tx.SelectContext(ctx, &rows, "SELECT id, name_enc, upn_enc FROM users WHERE id > ? ORDER BY id LIMIT ?",
				after, anonymizeBatch); err != nil {
				return fmt.Errorf("store: anonymize users: %w", err)
			}
			done = len(rows) < anonymizeBatch
			var tables []tableSchema
			for _, r := range rows {
				after = r.ID
				name, err := s.cipher.UnsealString(r.Name, aadUserName)
				if err != nil {
					return fmt.Errorf("store: anonymize users: %w", err)
				}
				var upnEnc any
				if len(r.UPN) > 0 {
					upn, err := s.cipher.UnsealString(r.UPN, aadUserUPN)
					if err != nil {
						return fmt.Errorf("store: anonymize users: %w", err)
					}
					if !looksLikePseudonym(upn, 'u') {
						upnEnc = s.cipher.SealString(s.cipher.Pseudonym(indexUser, upn), aadUserUPN)
					}
				}
				if looksLikePseudonym(name, 'u') {
					if upnEnc != nil {
						if _, err := tx.ExecContext(ctx, "UPDATE users SET upn_enc = ? WHERE id = ?", upnEnc, r.ID); err != nil {
							return fmt.Errorf("store: anonymize users: %w", err)
						}
						res.Users++
					}
					continue
				}
				p := s.cipher.Pseudonym(indexUser, name)
				key := s.cipher.Index(indexUser, p)
				var into int64
				err = tx.GetContext(ctx, &into, "SELECT id FROM users WHERE key = ?", key)
				switch {
				case errors.Is(err, sql.ErrNoRows):
					if upnEnc == nil {
						upnEnc = r.UPN // nil, or already a pseudonym
					}
					if _, err := tx.ExecContext(ctx, "UPDATE users SET key = ?, name_enc = ?, upn_enc = ? WHERE id = ?",
						key, s.cipher.SealString(p, aadUserName), upnEnc, r.ID); err != nil {
						return fmt.Errorf("store: anonymize users: %w", err)
					}
				case err != nil:
					return fmt.Errorf("store: anonymize users: %w", err)
				default:
					// New data already arrives under the pseudonym: fold this record into it.
					if tables == nil {
						if tables, err = schema(ctx, tx); err != nil {
							return err
						}
					}
					if err := mergeUser(ctx, tx, tables, r.ID, into, upnEnc); err != nil {
						return err
					}
					res.Merged++
				}
				res.Users++
			}
			return nil
		})
		if err != nil || done {
			return err
		}
	}
}

// mergeUser moves every reference to user from onto user into, keeps the
// earliest first_seen and latest last_seen, and deletes from. Rollup rows
// of both are recomputed from the merged events.
func mergeUser(ctx context.Context, tx *sqlx.Tx, tables []tableSchema, from, into int64, upnEnc any) error {
	for _, t := range tables {
		if t.Name == tableUsers {
			continue
		}
		for _, r := range t.refsTo(tableUsers) {
			if rollupTables[t.Name] {
				if _, err := tx.ExecContext(ctx, "DELETE FROM "+quoteIdent(t.Name)+" WHERE "+quoteIdent(r.Column)+" = ?", from); err != nil {
					return fmt.Errorf("store: merge user records in %s: %w", t.Name, err)
				}
				continue
			}
			if _, err := tx.ExecContext(ctx, "UPDATE "+quoteIdent(t.Name)+" SET "+quoteIdent(r.Column)+" = ? WHERE "+
				quoteIdent(r.Column)+" = ?", into, from); err != nil {
				return fmt.Errorf("store: merge user records in %s: %w", t.Name, err)
			}
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE users SET
		first_seen = min(first_seen, (SELECT first_seen FROM users WHERE id = ?)),
		last_seen = max(last_seen, (SELECT last_seen FROM users WHERE id = ?)),
		upn_enc = coalesce(upn_enc, ?) WHERE id = ?`, from, from, upnEnc, into); err != nil {
		return fmt.Errorf("store: merge user records: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM users WHERE id = ?", from); err != nil {
		return fmt.Errorf("store: merge user records: %w", err)
	}
	return rebuildPresence(ctx, tx, map[int64]bool{into: true}, nil)
}

func (s *Store) anonymizeDevices(ctx context.Context, res *AnonymizeResult) error {
	var after int64
	for {
		done := false
		err := s.secureTx(ctx, func(tx *sqlx.Tx) error {
			var rows []struct {
				ID     int64  `db:"id"`
				Name   []byte `db:"name_enc"`
				Public []byte `db:"public_ip_enc"`
				Local  []byte `db:"local_ips_enc"`
			}
			if err := tx.SelectContext(ctx, &rows, "SELECT id, name_enc, public_ip_enc, local_ips_enc FROM devices WHERE id > ? ORDER BY id LIMIT ?",
				after, anonymizeBatch); err != nil {
				return fmt.Errorf("store: anonymize devices: %w", err)
			}
			done = len(rows) < anonymizeBatch
			for _, r := range rows {
				after = r.ID
				changed := r.Public != nil || r.Local != nil
				nameEnc, nameKey := any(nil), any(nil)
				if r.Name != nil {
					name, err := s.cipher.UnsealString(r.Name, aadDeviceName)
					if err != nil {
						return fmt.Errorf("store: anonymize devices: %w", err)
					}
					p := name
					if !looksLikePseudonym(name, 'd') {
						p, changed = devicePseudonym(s.cipher, name), true
					}
					nameEnc, nameKey = s.cipher.SealString(p, aadDeviceName), s.cipher.Index(indexDeviceName, p)
				}
				if !changed {
					continue
				}
				if _, err := tx.ExecContext(ctx, `UPDATE devices SET name_enc = ?, name_key = ?, public_ip_enc = NULL,
					local_ips_enc = NULL WHERE id = ?`, nameEnc, nameKey, r.ID); err != nil {
					return fmt.Errorf("store: anonymize devices: %w", err)
				}
				res.Devices++
			}
			return nil
		})
		if err != nil || done {
			return err
		}
	}
}

// --- re-sealing under a new data key ---

// Reseal re-encrypts, in transactions of at most batch rows, every sealed
// value for which stale returns true (typically: not under the active data
// key), with the cipher's active key. Deleted and overwritten ciphertexts are
// zeroed (secure_delete) and the write-ahead log is checkpointed at the end.
// It returns the values re-sealed by "table.column".
func (s *Store) Reseal(ctx context.Context, stale func(sealed []byte) bool, batch int) (map[string]int64, error) {
	if batch <= 0 {
		batch = 1000
	}
	counts := map[string]int64{}
	tables, err := schema(ctx, s.r)
	if err != nil {
		return nil, err
	}
	for _, t := range tables {
		var sealed []string
		for _, c := range t.Columns {
			if _, ok := sealedAAD(t.Name, c); ok {
				sealed = append(sealed, c)
			}
		}
		if len(sealed) == 0 {
			continue
		}
		if !t.RowID {
			return nil, fmt.Errorf("store: reseal: table %s has sealed columns but no rowid", t.Name)
		}
		if err := s.resealTable(ctx, t.Name, sealed, stale, batch, counts); err != nil {
			return nil, err
		}
	}
	s.checkpoint(ctx)
	return counts, nil
}

func (s *Store) resealTable(ctx context.Context, table string, cols []string, stale func([]byte) bool, batch int, counts map[string]int64) error {
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = quoteIdent(c)
	}
	sel := "SELECT rowid, " + strings.Join(quoted, ", ") + " FROM " + quoteIdent(table) + " WHERE rowid > ? ORDER BY rowid LIMIT ?"
	var after int64
	for {
		n := 0
		err := s.secureTx(ctx, func(tx *sqlx.Tx) error {
			rows, err := tx.QueryContext(ctx, sel, after, batch)
			if err != nil {
				return fmt.Errorf("store: reseal %s: %w", table, err)
			}
			type update struct {
				rowID int64
				col   int
				value []byte
			}
			var updates []update
			vals := make([][]byte, len(cols))
			ptrs := []any{&after}
			for i := range vals {
				ptrs = append(ptrs, &vals[i])
			}
			for rows.Next() {
				if err := rows.Scan(ptrs...); err != nil {
					rows.Close()
					return fmt.Errorf("store: reseal %s: %w", table, err)
				}
				n++
				for i, v := range vals {
					if v == nil || !stale(v) {
						continue
					}
					aad, _ := sealedAAD(table, cols[i])
					pt, err := s.cipher.UnsealString(v, aad)
					if err != nil {
						rows.Close()
						return fmt.Errorf("store: reseal %s: %w", aad, err)
					}
					updates = append(updates, update{after, i, s.cipher.SealString(pt, aad)})
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("store: reseal %s: %w", table, err)
			}
			for _, u := range updates {
				if _, err := tx.ExecContext(ctx, "UPDATE "+quoteIdent(table)+" SET "+quoted[u.col]+" = ? WHERE rowid = ?",
					u.value, u.rowID); err != nil {
					return fmt.Errorf("store: reseal %s: %w", table, err)
				}
				counts[table+"."+strings.TrimSuffix(cols[u.col], "_enc")]++
			}
			return nil
		})
		if err != nil {
			return err
		}
		if n < batch {
			return nil
		}
	}
}

// CountSealed counts, by "table.column", the sealed values for which match
// returns true (e.g. values still under a retired data key).
func (s *Store) CountSealed(ctx context.Context, match func(sealed []byte) bool) (map[string]int64, error) {
	counts := map[string]int64{}
	tables, err := schema(ctx, s.r)
	if err != nil {
		return nil, err
	}
	for _, t := range tables {
		for _, c := range t.Columns {
			aad, ok := sealedAAD(t.Name, c)
			if !ok {
				continue
			}
			rows, err := s.r.QueryContext(ctx, "SELECT "+quoteIdent(c)+" FROM "+quoteIdent(t.Name)+" WHERE "+quoteIdent(c)+" IS NOT NULL")
			if err != nil {
				return nil, fmt.Errorf("store: count sealed %s: %w", aad, err)
			}
			for rows.Next() {
				var v []byte
				if err := rows.Scan(&v); err != nil {
					rows.Close()
					return nil, fmt.Errorf("store: count sealed %s: %w", aad, err)
				}
				if match(v) {
					counts[aad]++
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, fmt.Errorf("store: count sealed %s: %w", aad, err)
			}
		}
	}
	return counts, nil
}

// --- backup ---

// Backup writes a consistent copy of the SQLite database at dbPath to dest
// with VACUUM INTO, which reads one snapshot: it is safe while a server uses
// the database. dest must not exist; it is created with mode 0600, synced,
// and checked with PRAGMA quick_check. Sealed values stay sealed: the copy
// needs the keyring and its key-encryption key to be read. It returns the
// size of the copy in bytes.
func Backup(ctx context.Context, dbPath, dest string) (int64, error) {
	if _, err := os.Stat(dbPath); err != nil {
		return 0, fmt.Errorf("store: backup: %w", err)
	}
	f, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, fmt.Errorf("store: backup: %w", err)
	}
	f.Close()
	ok := false
	defer func() {
		if !ok {
			os.Remove(dest)
		}
	}()
	db, err := sql.Open("sqlite3", "file:"+dbPath+"?mode=rw&_busy_timeout=10000")
	if err != nil {
		return 0, fmt.Errorf("store: backup: open: %w", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dest); err != nil {
		return 0, fmt.Errorf("store: backup: %w", err)
	}
	if err := syncFile(dest); err != nil {
		return 0, err
	}
	check, err := sql.Open("sqlite3", "file:"+dest+"?mode=ro")
	if err != nil {
		return 0, fmt.Errorf("store: backup: verify: %w", err)
	}
	defer check.Close()
	var result string
	if err := check.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&result); err != nil {
		return 0, fmt.Errorf("store: backup: verify: %w", err)
	}
	if result != "ok" {
		return 0, fmt.Errorf("store: backup: verify: quick_check says %q", result)
	}
	st, err := os.Stat(dest)
	if err != nil {
		return 0, fmt.Errorf("store: backup: %w", err)
	}
	ok = true
	return st.Size(), nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("store: backup: sync: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("store: backup: sync: %w", err)
	}
	return nil
}
