package sqldb

// One migration source per store, rendered per dialect.
//
// Decision: a store keeps ONE file per version, written in the SQL both
// databases speak, with a small, closed set of tokens where the two must
// differ (dialectTokens: the column types SQLite and PostgreSQL name
// differently, and the two ways of making an auto-incrementing key).
// Migrate renders the file for the database it runs on. Before, each store
// kept a sqlite/ and a postgres/ copy of every version; five of the eight
// stores' copies were byte-identical and the other three differed only in
// those types, so the copies could drift apart silently (a column added to
// one copy only) and every schema change had to be written twice. With one
// source the schemas agree by construction, and the few places they may not
// are tokens a reviewer sees.
//
// Compatibility with databases migrated from the two copies: the checksum
// recorded for a version is the SHA-256 of the text that ran, so where the
// rendered text is byte-identical to the old copy (six stores) nothing
// changes. The master data and outbox copies differed in layout and
// comments, so their rendered text is new; each of those stores lists its
// old checksums in Migrations.Rewritten, Migrate accepts a database that
// recorded one of them as being at that version, and leaves the record as
// it is (so the release before can still start on the database). The store
// upgrade tests prove it on both databases.

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
// FS holds, in directory Dir, one file per version named NNNN_what.sql:
// NNNN is the version (1, 2, ...; no gaps, no repeats), applied in order,
// once each. A file is run as one batch, so it may hold several
// statements. It is written once for both databases; where they differ it
// uses the tokens of dialectTokens, which Migrate replaces for the
// database at hand (Text shows the result).
//
// Applied versions are recorded, with the SHA-256 of their rendered text,
// in the table <Namespace>_schema_migrations, so several stores share a
// database without sharing a version sequence. An applied migration whose
// text has changed is refused: fix a mistake with a new version, never by
// editing one that has run somewhere.
type Migrations struct {
	// Namespace names the store: lower-case letters, digits and '_',
	// starting with a letter, e.g. "masterdata".
	Namespace string
	FS        fs.FS
	// Dir is the directory of FS that holds the files; "" or "." is FS's
	// root.
	Dir string
	// Adopt, if set, is asked once, when nothing is recorded for the
	// namespace yet, whether the database already holds the schema that
	// version 1 creates, made by Samnav before its stores had versioned
	// migrations. If so, version 1 is recorded as applied instead of run.
	// Adopt runs inside the migration transaction, under its lock; it may
	// bring the old schema to exactly version 1's shape (a column an old
	// release added later) before it answers.
	Adopt func(ctx context.Context, tx *sql.Tx, d Dialect) (bool, error)
	// Rewritten maps the checksum (hex SHA-256) a version had before its
	// text was rewritten without changing what it makes, to that version:
	// a database that recorded it is at that version. It is how a store
	// whose two per-dialect copies became one source keeps starting on
	// the databases the copies migrated.
	Rewritten map[string]int
}

// dialectTokens are the only places where a migration's text differs
// between the databases: {{token}} is replaced by the SQLite text (first)
// or the PostgreSQL text (second). SQLite's type names matter beyond
// documentation: they decide a column's affinity (BYTEA or JSONB would be
// NUMERIC and turn digit strings into numbers) and whether the driver
// returns time.Time (TIMESTAMP).
var dialectTokens = map[string][2]string{
	// {{identity}} is an auto-incrementing BIGINT primary key, the
	// SQL-standard form PostgreSQL recommends; use it in new tables.
	"identity": {"INTEGER PRIMARY KEY AUTOINCREMENT", "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"},
	// {{serial}} is the same key as a PostgreSQL sequence default, as the
	// webhook and master data tables were made.
	"serial":    {"INTEGER PRIMARY KEY AUTOINCREMENT", "BIGSERIAL PRIMARY KEY"},
	"blob":      {"BLOB", "BYTEA"},
	"json":      {"TEXT", "JSONB"},
	"timestamp": {"TIMESTAMP", "TIMESTAMPTZ"},
}

var token = regexp.MustCompile(`\{\{([^{}]*)\}\}`)

// render replaces text's tokens for d; an unknown token is an error naming
// it and the known ones.
func render(name, text string, d Dialect) (string, error) {
	var bad []string
	out := token.ReplaceAllStringFunc(text, func(m string) string {
		t, ok := dialectTokens[strings.TrimSpace(token.FindStringSubmatch(m)[1])]
		if !ok {
			bad = append(bad, m)
			return m
		}
		if d == Postgres {
			return t[1]
		}
		return t[0]
	})
	if len(bad) > 0 {
		known := make([]string, 0, len(dialectTokens))
		for k := range dialectTokens {
			known = append(known, "{{"+k+"}}")
		}
		slices.Sort(known)
		return "", fmt.Errorf("migration %s: unknown token %s; the tokens are %s", name, strings.Join(bad, ", "), strings.Join(known, ", "))
	}
	return out, nil
}

// Text returns the text version runs on d, rendered from its file: what an
// Adopt function or an upgrade test builds the old schema from.
func (m Migrations) Text(d Dialect, version int) (string, error) {
	if err := d.Valid(); err != nil {
		return "", fmt.Errorf("migrations %s: %w", m.Namespace, err)
	}
	files, err := load(m.FS, m.Dir, d)
	if err != nil {
		return "", fmt.Errorf("migrations %s: %w", m.Namespace, err)
	}
	if version < 1 || version > len(files) {
		return "", fmt.Errorf("migrations %s: version %d: must be 1 to %d", m.Namespace, version, len(files))
	}
	return files[version-1].text, nil
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
	files, err := load(m.FS, m.Dir, d)
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
		if sum != f.checksum && m.Rewritten[sum] != v {
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

// load reads the migration files in dir, rendered for d, in version
// order, and checks that the versions run 1, 2, ... without a gap or a
// repeat.
func load(fsys fs.FS, dir string, d Dialect) ([]migration, error) {
	if fsys == nil {
		return nil, errors.New("migrations: FS must not be nil")
	}
	if dir == "" {
		dir = "."
	}
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
		rendered, err := render(e.Name(), string(text), d)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256([]byte(rendered))
		out = append(out, migration{version: v, name: e.Name(), text: rendered, checksum: hex.EncodeToString(sum[:])})
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

// AdoptVersionTable is an Adopt function for a store whose old code applied
// the same version 1 through a runner of its own, which recorded version
// numbers in table (column version): a row for version 1 means the schema
// is exactly version 1.
func AdoptVersionTable(table string) func(context.Context, *sql.Tx, Dialect) (bool, error) {
	return func(ctx context.Context, tx *sql.Tx, d Dialect) (bool, error) {
		ok, err := TableExists(ctx, tx, d, table)
		if err != nil || !ok {
			return false, err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table+` WHERE version = 1`).Scan(&n); err != nil { //nolint:gosec // G202: table is the store's constant name
			return false, fmt.Errorf("read %s: %w", table, err)
		}
		return n == 1, nil
	}
}
