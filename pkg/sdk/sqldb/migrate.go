package sqldb

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Migrations are one store's versioned schema changes.
//
// FS holds one directory per dialect, "sqlite" and "postgres", each with
// files named NNNN_what.sql: NNNN is the version (1, 2, ...; no gaps, no
// repeats), applied in order, once each. A file is run as one batch, so it
// may hold several statements.
//
// Applied versions are recorded, with the SHA-256 of their file, in the
// table <Namespace>_schema_migrations, so several stores share a database
// without sharing a version sequence. An applied migration whose file has
// changed is refused: fix a mistake with a new version, never by editing
// one that has run somewhere.
type Migrations struct {
	// Namespace names the store: lower-case letters, digits and '_',
	// starting with a letter, e.g. "masterdata".
	Namespace string
	FS        fs.FS
	// Adopt, if set, is asked once, when nothing is recorded for the
	// namespace yet, whether the database already holds the schema that
	// version 1 creates, made by Samnav before its stores had versioned
	// migrations. If so, version 1 is recorded as applied instead of run.
	// Adopt runs inside the migration transaction, under its lock; it may
	// bring the old schema to exactly version 1's shape (a column an old
	// release added later) before it answers.
	Adopt func(ctx context.Context, tx *sql.Tx, d Dialect) (bool, error)
}

var namespaceRule = regexp.MustCompile(`^[a-z][a-z0-9_]{0,40}$`)

type migration struct {
	version  int
	name     string
	text     string
	checksum string
}

// Migrate brings the store's schema in db to its newest version. All
// pending migrations run in one transaction with the rows that record
// them, so a failure leaves the schema as it was. Concurrent starters take
// turns: on PostgreSQL under a transaction-level advisory lock derived from
// the namespace, on SQLite under the write lock that an IMMEDIATE
// transaction (Open's setting) takes at begin. Running it again is a
// no-op.
func Migrate(ctx context.Context, db *sql.DB, d Dialect, m Migrations) (err error) {
	if !namespaceRule.MatchString(m.Namespace) {
		return fmt.Errorf("migrate: namespace %q: must be lower-case letters, digits and '_', starting with a letter", m.Namespace)
	}
	if err := d.Valid(); err != nil {
		return fmt.Errorf("migrate %s: %w", m.Namespace, err)
	}
	files, err := load(m.FS, d)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", m.Namespace, err)
	}
	table := m.Namespace + "_schema_migrations"
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate %s: begin: %w", m.Namespace, err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err := d.LockTx(ctx, tx, lockKey(m.Namespace)); err != nil {
		return fmt.Errorf("migrate %s: %w", m.Namespace, err)
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+table+` (
		version    BIGINT PRIMARY KEY,
		name       TEXT NOT NULL,
		checksum   TEXT NOT NULL,
		applied_at BIGINT NOT NULL,
		adopted    BOOLEAN NOT NULL DEFAULT FALSE
	)`); err != nil {
		return fmt.Errorf("migrate %s: create %s: %w", m.Namespace, table, err)
	}
	applied, err := appliedVersions(ctx, tx, table)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", m.Namespace, err)
	}
	for v, sum := range applied {
		if v > len(files) {
			return fmt.Errorf("migrate %s: the database is at version %d, newer than this program's newest migration (%d); run a newer release", m.Namespace, v, len(files))
		}
		f := files[v-1]
		if sum != f.checksum {
			return fmt.Errorf("migrate %s: migration %s (version %d) was edited after it was applied (checksum recorded %.12s, file now %.12s); restore the file and put the change in a new migration", m.Namespace, f.name, v, sum, f.checksum)
		}
	}
	for _, f := range files {
		if _, ok := applied[f.version]; ok {
			continue
		}
		adopted := false
		if f.version == 1 && len(applied) == 0 && m.Adopt != nil {
			if adopted, err = m.Adopt(ctx, tx, d); err != nil {
				return fmt.Errorf("migrate %s: adopt existing schema: %w", m.Namespace, err)
			}
		}
		if !adopted {
			if _, err := tx.ExecContext(ctx, f.text); err != nil {
				return fmt.Errorf("migrate %s: apply %s: %w", m.Namespace, f.name, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+table+` (version, name, checksum, applied_at, adopted) VALUES ($1, $2, $3, $4, $5)`, //nolint:gosec // G202: table is built from the checked namespace
			f.version, f.name, f.checksum, time.Now().UnixMilli(), adopted); err != nil {
			return fmt.Errorf("migrate %s: record %s: %w", m.Namespace, f.name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate %s: commit: %w", m.Namespace, err)
	}
	return nil
}

// load reads d's migration files, in version order, and checks that the
// versions run 1, 2, ... without a gap or a repeat.
func load(fsys fs.FS, d Dialect) ([]migration, error) {
	if fsys == nil {
		return nil, errors.New("migrations: FS must not be nil")
	}
	dir := d.String()
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v < 1 {
			return nil, fmt.Errorf("migration %s/%s: name must be NNNN_what.sql with NNNN a version from 1", dir, e.Name())
		}
		text, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		sum := sha256.Sum256(text)
		out = append(out, migration{version: v, name: e.Name(), text: string(text), checksum: hex.EncodeToString(sum[:])})
	}
	slices.SortFunc(out, func(a, b migration) int { return a.version - b.version })
	for i, f := range out {
		if f.version != i+1 {
			return nil, fmt.Errorf("migration %s/%s: version %d where %d was expected; versions run 1, 2, ... without gaps or repeats", dir, f.name, f.version, i+1)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("migrations: %s holds no NNNN_what.sql file", dir)
	}
	return out, nil
}

func appliedVersions(ctx context.Context, tx *sql.Tx, table string) (map[int]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT version, checksum FROM `+table) //nolint:gosec // G202: table is built from the checked namespace
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", table, err)
	}
	defer func() { _ = rows.Close() }() // read-only; rows.Err is checked below
	out := map[int]string{}
	for rows.Next() {
		var v int
		var sum string
		if err := rows.Scan(&v, &sum); err != nil {
			return nil, fmt.Errorf("read %s: %w", table, err)
		}
		out[v] = sum
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", table, err)
	}
	return out, nil
}

// lockKey is the advisory lock of a namespace's migrations: the same in
// every process, different (but for a 2^-64 chance) between namespaces.
func lockKey(namespace string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte("samnav sqldb migrate " + namespace))
	return int64(h.Sum64()) //nolint:gosec // G115: any 64 bits make a key; wrapping is intended
}

// TableExists reports whether table exists: in the search path's schemas
// on PostgreSQL, in the main database on SQLite. Adopt functions use it to
// recognise a schema made by older code.
func TableExists(ctx context.Context, tx *sql.Tx, d Dialect, table string) (bool, error) {
	var n int
	q := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1`
	if d == Postgres {
		q = `SELECT COUNT(*) FROM (SELECT to_regclass($1) AS r) t WHERE r IS NOT NULL`
	}
	if err := tx.QueryRowContext(ctx, q, table).Scan(&n); err != nil {
		return false, fmt.Errorf("look for table %s: %w", table, err)
	}
	return n > 0, nil
}

// AdoptTable is an Adopt function for a store whose old code created
// table together with the rest of what version 1 creates: the table's
// presence means the schema is there.
func AdoptTable(table string) func(context.Context, *sql.Tx, Dialect) (bool, error) {
	return func(ctx context.Context, tx *sql.Tx, d Dialect) (bool, error) {
		return TableExists(ctx, tx, d, table)
	}
}
