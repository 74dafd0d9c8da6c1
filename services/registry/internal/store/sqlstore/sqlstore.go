// Package sqlstore keeps the schema registry in SQL: SQLite (pure Go,
// modernc.org/sqlite) embedded for `samnav dev` and single-node use, and
// PostgreSQL (pgx v5) in production.
//
// Why SQL rather than a compacted Kafka topic, as Confluent does: the
// registry's one hard invariant is that ids are allocated once and never
// reused, and that the same schema gets the same id under every subject.
// In SQL that is one transaction (read the counter, insert, bump), and
// several replicas stay safe because every write takes the same PostgreSQL
// advisory transaction lock; there is no leader election and no replaying
// of a topic at start-up. SQLite gives the same semantics in one file.
//
// The SQL is written once, with $n placeholders, which both drivers accept.
// Migrations are embedded and applied by New (sqldb.Migrate).
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/samnav/samnav/pkg/sdk/sqldb"
	"github.com/samnav/samnav/services/registry/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// writeLockKey is the PostgreSQL advisory lock every write transaction
// takes, serialising writers across replicas.
const writeLockKey = 0x5a4d4e4156 // "SAMNAV"-ish; any constant shared by all replicas

// Store is a store.Store over database/sql.
type Store struct {
	queries
	db      *sql.DB
	dialect sqldb.Dialect
	// mu serialises writers inside this process; on SQLite it is the
	// write lock (one file, one process), on PostgreSQL it only saves a
	// round trip to the advisory lock.
	mu sync.Mutex
}

var _ store.Store = (*Store)(nil)

// New returns a store on db (opened by sqldb.Open), which it owns and
// closes on Close, after checking the connection and applying pending
// migrations (sqldb.Migrate, namespace "registry"). A database made by a
// release that recorded 001_init.sql in its own schema_migrations table
// is adopted as version 1.
func New(ctx context.Context, db *sql.DB, d sqldb.Dialect) (*Store, error) {
	if err := d.Valid(); err != nil {
		return nil, fmt.Errorf("open registry store: %w", err)
	}
	s := &Store{queries: queries{q: db}, db: db, dialect: d}
	if err := db.PingContext(ctx); err != nil {
		return nil, fmt.Errorf("connect store: %w", err)
	}
	if err := sqldb.Migrate(ctx, db, d, sqldb.Migrations{Namespace: "registry", FS: migrations, Dir: "migrations", Adopt: sqldb.AdoptTable("subject_versions")}); err != nil {
		return nil, err
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

// Update implements store.Store.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) error {
	var fnErr error
	err := s.update(ctx, func(tx *sql.Tx) error {
		fnErr = fn(&txn{queries{q: tx}})
		return fnErr
	})
	if fnErr != nil {
		return fnErr
	}
	return err
}

func (s *Store) update(ctx context.Context, fn func(*sql.Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sqldb.InTx(ctx, s.db, func(tx *sql.Tx) error {
		if err := s.dialect.LockTx(ctx, tx, writeLockKey); err != nil {
			return fmt.Errorf("take write lock: %w", err)
		}
		return fn(tx)
	})
}

type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// queries implements store.Reader over a *sql.DB or a *sql.Tx.
type queries struct{ q querier }

func (r queries) Subjects(ctx context.Context, includeDeleted bool) ([]string, error) {
	query := `SELECT DISTINCT subject FROM subject_versions WHERE NOT deleted ORDER BY subject`
	if includeDeleted {
		query = `SELECT DISTINCT subject FROM subject_versions ORDER BY subject`
	}
	subjects, err := sqldb.Query(ctx, r.q, func(row sqldb.Scanner) (string, error) {
		var s string
		err := row.Scan(&s)
		return s, err
	}, query)
	if err != nil {
		return nil, fmt.Errorf("list subjects: %w", err)
	}
	return subjects, nil
}

func (r queries) Versions(ctx context.Context, subject string) ([]store.Version, error) {
	vs, err := r.versions(ctx, `SELECT subject, version, schema_id, deleted FROM subject_versions WHERE subject = $1 ORDER BY version`, subject)
	if err != nil {
		return nil, fmt.Errorf("list versions of %q: %w", subject, err)
	}
	return vs, nil
}

func (r queries) VersionsBySchemaID(ctx context.Context, id int) ([]store.Version, error) {
	vs, err := r.versions(ctx, `SELECT subject, version, schema_id, deleted FROM subject_versions WHERE schema_id = $1 ORDER BY subject, version`, id)
	if err != nil {
		return nil, fmt.Errorf("list versions of schema %d: %w", id, err)
	}
	return vs, nil
}

func (r queries) versions(ctx context.Context, query string, arg any) ([]store.Version, error) {
	vs, err := sqldb.Query(ctx, r.q, func(row sqldb.Scanner) (store.Version, error) {
		var v store.Version
		err := row.Scan(&v.Subject, &v.Version, &v.SchemaID, &v.Deleted)
		return v, err
	}, query, arg)
	return vs, err
}

func (r queries) SchemaByID(ctx context.Context, id int) (store.Schema, error) {
	s, err := r.schema(ctx, `SELECT id, schema_type, schema_text, refs, fingerprint FROM schemas WHERE id = $1`, id)
	if err != nil {
		return store.Schema{}, fmt.Errorf("get schema %d: %w", id, err)
	}
	return s, nil
}

func (r queries) SchemaByFingerprint(ctx context.Context, fingerprint string) (store.Schema, error) {
	s, err := r.schema(ctx, `SELECT id, schema_type, schema_text, refs, fingerprint FROM schemas WHERE fingerprint = $1`, fingerprint)
	if err != nil {
		return store.Schema{}, fmt.Errorf("get schema by fingerprint %s: %w", fingerprint, err)
	}
	return s, nil
}

func (r queries) schema(ctx context.Context, query string, arg any) (store.Schema, error) {
	var (
		s    store.Schema
		refs string
	)
	err := r.q.QueryRowContext(ctx, query, arg).Scan(&s.ID, &s.Type, &s.Text, &refs, &s.Fingerprint)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Schema{}, store.ErrNotFound
	}
	if err != nil {
		return store.Schema{}, err
	}
	if err := json.Unmarshal([]byte(refs), &s.References); err != nil {
		return store.Schema{}, fmt.Errorf("decode references: %w", err)
	}
	return s, nil
}

func (r queries) Config(ctx context.Context, subject string) (string, error) {
	return r.setting(ctx, `SELECT level FROM configs WHERE subject = $1`, "config", subject)
}

func (r queries) Mode(ctx context.Context, subject string) (string, error) {
	return r.setting(ctx, `SELECT mode FROM modes WHERE subject = $1`, "mode", subject)
}

func (r queries) setting(ctx context.Context, query, what, subject string) (string, error) {
	var v string
	err := r.q.QueryRowContext(ctx, query, subject).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("get %s of %q: %w", what, subject, store.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("get %s of %q: %w", what, subject, err)
	}
	return v, nil
}

// txn implements store.Tx.
type txn struct{ queries }

func (t *txn) InsertSchema(ctx context.Context, s store.Schema) (int, error) {
	if _, err := t.SchemaByFingerprint(ctx, s.Fingerprint); err == nil {
		return 0, fmt.Errorf("insert schema: fingerprint %s: %w", s.Fingerprint, store.ErrConflict)
	} else if !errors.Is(err, store.ErrNotFound) {
		return 0, fmt.Errorf("insert schema: %w", err)
	}
	var next int
	if err := t.q.QueryRowContext(ctx, `SELECT next_id FROM id_counter WHERE singleton = 1`).Scan(&next); err != nil {
		return 0, fmt.Errorf("insert schema: read id counter: %w", err)
	}
	id := s.ID
	if id == 0 {
		id = next
	} else if _, err := t.SchemaByID(ctx, id); err == nil {
		return 0, fmt.Errorf("insert schema: id %d: %w", id, store.ErrConflict)
	} else if !errors.Is(err, store.ErrNotFound) {
		return 0, fmt.Errorf("insert schema: %w", err)
	}
	refs := s.References
	if refs == nil {
		refs = []store.Reference{}
	}
	refsJSON, err := json.Marshal(refs)
	if err != nil {
		return 0, fmt.Errorf("insert schema: encode references: %w", err)
	}
	if _, err := t.q.ExecContext(ctx, `INSERT INTO schemas (id, schema_type, schema_text, refs, fingerprint) VALUES ($1, $2, $3, $4, $5)`,
		id, s.Type, s.Text, string(refsJSON), s.Fingerprint); err != nil {
		return 0, fmt.Errorf("insert schema %d: %w", id, err)
	}
	if id >= next {
		if _, err := t.q.ExecContext(ctx, `UPDATE id_counter SET next_id = $1 WHERE singleton = 1`, id+1); err != nil {
			return 0, fmt.Errorf("insert schema: bump id counter: %w", err)
		}
	}
	return id, nil
}

func (t *txn) InsertVersion(ctx context.Context, v store.Version) error {
	var n int
	if err := t.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM subject_versions WHERE subject = $1 AND version = $2`, v.Subject, v.Version).Scan(&n); err != nil {
		return fmt.Errorf("insert version %s/%d: %w", v.Subject, v.Version, err)
	}
	if n > 0 {
		return fmt.Errorf("insert version %s/%d: %w", v.Subject, v.Version, store.ErrConflict)
	}
	if _, err := t.q.ExecContext(ctx, `INSERT INTO subject_versions (subject, version, schema_id, deleted) VALUES ($1, $2, $3, $4)`,
		v.Subject, v.Version, v.SchemaID, v.Deleted); err != nil {
		return fmt.Errorf("insert version %s/%d: %w", v.Subject, v.Version, err)
	}
	return nil
}

func (t *txn) SoftDeleteVersion(ctx context.Context, subject string, version int) error {
	return t.execOne(ctx, "soft-delete version "+subject+"/"+strconv.Itoa(version),
		`UPDATE subject_versions SET deleted = TRUE WHERE subject = $1 AND version = $2`, subject, version)
}

func (t *txn) HardDeleteVersion(ctx context.Context, subject string, version int) error {
	return t.execOne(ctx, "hard-delete version "+subject+"/"+strconv.Itoa(version),
		`DELETE FROM subject_versions WHERE subject = $1 AND version = $2`, subject, version)
}

func (t *txn) execOne(ctx context.Context, what, query string, args ...any) error {
	n, err := sqldb.Affected(t.q.ExecContext(ctx, query, args...))
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}

func (t *txn) SetConfig(ctx context.Context, subject, level string) error {
	return t.set(ctx, "config", subject, level)
}

func (t *txn) DeleteConfig(ctx context.Context, subject string) error {
	return t.unset(ctx, "config", subject)
}

func (t *txn) SetMode(ctx context.Context, subject, mode string) error {
	return t.set(ctx, "mode", subject, mode)
}

func (t *txn) DeleteMode(ctx context.Context, subject string) error {
	return t.unset(ctx, "mode", subject)
}

// settingStatements are the upsert and delete of a subject's setting, by
// its name: a config's level or a mode.
var settingStatements = map[string][2]string{
	"config": {`INSERT INTO configs (subject, level) VALUES ($1, $2) ON CONFLICT (subject) DO UPDATE SET level = excluded.level`, `DELETE FROM configs WHERE subject = $1`},
	"mode":   {`INSERT INTO modes (subject, mode) VALUES ($1, $2) ON CONFLICT (subject) DO UPDATE SET mode = excluded.mode`, `DELETE FROM modes WHERE subject = $1`},
}

// set sets subject's setting what (a key of settingStatements) to value.
func (t *txn) set(ctx context.Context, what, subject, value string) error {
	if _, err := t.q.ExecContext(ctx, settingStatements[what][0], subject, value); err != nil {
		return fmt.Errorf("set %s of %q: %w", what, subject, err)
	}
	return nil
}

// unset deletes subject's setting what (a key of settingStatements).
func (t *txn) unset(ctx context.Context, what, subject string) error {
	if _, err := t.q.ExecContext(ctx, settingStatements[what][1], subject); err != nil {
		return fmt.Errorf("delete %s of %q: %w", what, subject, err)
	}
	return nil
}
