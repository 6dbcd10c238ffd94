// Package store keeps webusage's data in SQLite (WAL): configuration,
// applications, roles and accounts, the audit trail, devices, users and usage
// events. One writer connection owns all writes; reads use a separate pool.
//
// Reads of usage data take the caller's privacy.Access and enforce it here,
// in the query layer, so no HTTP handler can forget it.
package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/mattn/go-sqlite3" // SQLite driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// Errors the store returns; the server maps them to HTTP statuses.
var (
	ErrNotFound  = errors.New("not found")
	ErrConflict  = errors.New("conflict")
	ErrQueueFull = errors.New("ingest queue is full")
	ErrClosed    = errors.New("store is closed")
	// ErrNameTaken is a conflict on a unique name (application, role, account).
	ErrNameTaken = fmt.Errorf("%w: the name is already in use", ErrConflict)
)

// Cipher seals identifying values and computes keyed lookup hashes. keys.Keyring
// implements it.
type Cipher interface {
	SealString(s, aad string) []byte
	UnsealString(b []byte, aad string) (string, error)
	Index(domain, value string) string
	Pseudonym(domain, value string) string
}

// Options tune the store. Zero values take the defaults.
type Options struct {
	// QueueEvents bounds the events waiting for the writer (default 50,000).
	QueueEvents int
	// MaxCommitEvents caps the events in one commit (default 5,000).
	MaxCommitEvents int
	// CommitDelay is how long the writer may wait to gather more batches
	// when fewer than SmallCommitEvents are queued (default 2ms).
	CommitDelay time.Duration
	// SmallCommitEvents is the group size below which the writer waits for
	// more (default 200); a larger group is committed at once.
	SmallCommitEvents int
	// ReadConns is the size of the read pool (default 4).
	ReadConns int
	// Observer receives commit statistics (may be nil).
	Observer CommitObserver
}

// CommitObserver is told about every group commit (for metrics).
type CommitObserver interface {
	ObserveCommit(events int, d time.Duration, err error)
}

// Store is the database. Its methods are safe for concurrent use.
type Store struct {
	path   string
	w      *sqlx.DB // exactly one connection: all writes
	r      *sqlx.DB // read pool
	cipher Cipher
	writer *writer
	ck     *checkpointer
}

// Open opens (creating if needed) the SQLite database at path, applies the
// embedded migrations in order and starts the writer. The file is created with
// mode 0600.
func Open(ctx context.Context, path string, c Cipher, opt Options) (*Store, error) {
	if c == nil {
		return nil, errors.New("store: a cipher is required")
	}
	if opt.QueueEvents <= 0 {
		opt.QueueEvents = 50_000
	}
	if opt.MaxCommitEvents <= 0 {
		opt.MaxCommitEvents = 5_000
	}
	if opt.CommitDelay <= 0 {
		opt.CommitDelay = 2 * time.Millisecond
	}
	if opt.SmallCommitEvents <= 0 {
		opt.SmallCommitEvents = 200
	}
	if opt.ReadConns <= 0 {
		opt.ReadConns = 4
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: create directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: create database file: %w", err)
	}
	f.Close()
	base := "file:" + path + "?_journal_mode=WAL&_synchronous=NORMAL&_busy_timeout=10000&_foreign_keys=on"
	w, err := sqlx.Open("sqlite3", base+"&_txlock=immediate&_cache_size=-64000&_secure_delete=on")
	if err != nil {
		return nil, fmt.Errorf("store: open writer: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open writer: %w", err)
	}
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sqlx.Open("sqlite3", base+"&_query_only=1&_cache_size=-32000")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open readers: %w", err)
	}
	r.SetMaxOpenConns(opt.ReadConns)
	r.SetMaxIdleConns(opt.ReadConns)
	ck, err := sqlx.Open("sqlite3", base)
	if err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("store: open checkpointer: %w", err)
	}
	ck.SetMaxOpenConns(1)
	s := &Store{path: path, w: w, r: r, cipher: c, ck: newCheckpointer(ck, path)}
	if err := s.ensureRollups(ctx); err != nil {
		s.ck.close()
		r.Close()
		w.Close()
		return nil, err
	}
	s.writer = newWriter(s, opt)
	return s, nil
}

// Close stops accepting batches, commits every batch already queued, and
// closes the database.
func (s *Store) Close() error {
	s.writer.close()
	err0 := s.ck.close() // the last checkpoint folds the WAL into the database
	err1 := s.r.Close()
	err2 := s.w.Close()
	return errors.Join(err0, err1, err2)
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.r.GetContext(ctx, &one, "SELECT 1")
}

// Path returns the database file path.
func (s *Store) Path() string { return s.path }

func migrate(ctx context.Context, db *sqlx.DB) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("store: create migrations table: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("store: list migrations: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		version := strings.TrimSuffix(filepath.Base(name), ".sql")
		var n int
		if err := db.GetContext(ctx, &n, "SELECT count(*) FROM schema_migrations WHERE version = ?", version); err != nil {
			return fmt.Errorf("store: read migrations: %w", err)
		}
		if n > 0 {
			continue
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return fmt.Errorf("store: read migration %s: %w", version, err)
		}
		tx, err := db.BeginTxx(ctx, nil)
		if err != nil {
			return fmt.Errorf("store: migration %s: %w", version, err)
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("store: migration %s: %w", version, err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
			version, time.Now().UnixMilli()); err != nil {
			tx.Rollback()
			return fmt.Errorf("store: migration %s: %w", version, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("store: migration %s: %w", version, err)
		}
	}
	return nil
}

// Tables lists the user tables of the schema (for tests and data-subject
// exports that must cover every table).
func (s *Store) Tables(ctx context.Context) ([]string, error) {
	var names []string
	err := s.r.SelectContext(ctx, &names,
		"SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("store: list tables: %w", err)
	}
	return names, nil
}

// inTx runs fn in a write transaction on the writer connection.
func (s *Store) inTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := s.w.BeginTxx(ctx, nil)
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

func nowMs() int64 { return time.Now().UnixMilli() }

// ensureRollups rebuilds the rollups when events exist but rollups do not
// (a database written before the rollups were introduced).
func (s *Store) ensureRollups(ctx context.Context) error {
	var events, rolled int
	if err := s.w.GetContext(ctx, &events, "SELECT count(*) FROM (SELECT 1 FROM events LIMIT 1)"); err != nil {
		return fmt.Errorf("store: check rollups: %w", err)
	}
	if err := s.w.GetContext(ctx, &rolled, "SELECT count(*) FROM (SELECT 1 FROM usage_daily LIMIT 1)"); err != nil {
		return fmt.Errorf("store: check rollups: %w", err)
	}
	if events > 0 && rolled == 0 {
		return s.RebuildRollups(ctx)
	}
	return nil
}
