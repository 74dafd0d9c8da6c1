// Package sqldbtest helps the stores' tests run on both databases: a fresh
// SQLite file and a fresh database in a throwaway PostgreSQL cluster
// (pkg/pgtest, which skips without PostgreSQL, or fails with CI=true).
package sqldbtest

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/samnav/samnav/pkg/pgtest"
	"github.com/samnav/samnav/pkg/sdk/sqldb"
	_ "github.com/samnav/samnav/pkg/sqldb/drivers" // the drivers sqldb.Open uses
)

// OnBoth runs test as subtests "sqlite" and "postgres", each with the URL
// of a fresh, empty database.
func OnBoth(t *testing.T, test func(t *testing.T, url string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { test(t, "sqlite:"+filepath.Join(t.TempDir(), "test.db")) })
	t.Run("postgres", func(t *testing.T) { test(t, pgtest.Start(t).NewDatabase(t)) })
}

// Opener opens a fresh, empty database for one test and closes it when
// the test ends.
type Opener func(t *testing.T) (*sql.DB, sqldb.Dialect)

// Suite runs suite as subtests "sqlite" and "postgres". The suite's open
// gives each of its tests a fresh, empty database: a new SQLite file, or a
// new database in one PostgreSQL cluster the suite's tests share (starting
// a cluster takes seconds).
func Suite(t *testing.T, suite func(t *testing.T, open Opener)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		suite(t, func(t *testing.T) (*sql.DB, sqldb.Dialect) {
			return Open(t, "sqlite:"+filepath.Join(t.TempDir(), "test.db"))
		})
	})
	t.Run("postgres", func(t *testing.T) {
		cluster := pgtest.Start(t)
		suite(t, func(t *testing.T) (*sql.DB, sqldb.Dialect) { return Open(t, cluster.NewDatabase(t)) })
	})
}

// Stores runs a store's conformance suite on both databases (Suite): the
// suite's open returns a store that newStore made on a fresh database.
// newStore runs twice on each database and the first store is dropped, so
// every suite also checks that a store's start-up is repeatable: migrating
// a migrated database is a no-op.
func Stores[S any](t *testing.T, newStore func(ctx context.Context, db *sql.DB, d sqldb.Dialect) (S, error), suite func(t *testing.T, open func(t *testing.T) S)) {
	t.Helper()
	Suite(t, func(t *testing.T, open Opener) {
		suite(t, func(t *testing.T) S {
			t.Helper()
			db, d := open(t)
			return NewStore(t, newStore, db, d)
		})
	})
}

// Migrated is the newStore of Stores for a store whose schema its own
// migrate makes (feed, webhooks, the SDK's dedupe store) before newStore
// opens it on the migrated database.
func Migrated[S any](migrate func(context.Context, *sql.DB, sqldb.Dialect) error, newStore func(*sql.DB, sqldb.Dialect) (S, error)) func(context.Context, *sql.DB, sqldb.Dialect) (S, error) {
	return func(ctx context.Context, db *sql.DB, d sqldb.Dialect) (S, error) {
		var zero S
		if err := migrate(ctx, db, d); err != nil {
			return zero, err
		}
		return newStore(db, d)
	}
}

// Upgrade checks, on both databases, that newStore starts on a database
// an earlier release left (OldRelease with stmts: version 1's schema,
// then that release's bookkeeping and rows), and then that check holds
// on the store it made: the upgrade kept the data.
func Upgrade[S any](t *testing.T, newStore func(ctx context.Context, db *sql.DB, d sqldb.Dialect) (S, error), check func(t *testing.T, s S), stmts ...string) {
	t.Helper()
	OnBoth(t, func(t *testing.T, url string) {
		db, d := OldRelease(t, url, stmts...)
		s, err := newStore(context.Background(), db, d)
		if err != nil {
			t.Fatalf("upgrade: %v", err)
		}
		check(t, s)
	})
}

// NewStore makes a store with newStore on db, twice (see Stores), failing
// the test if either fails.
func NewStore[S any](t testing.TB, newStore func(ctx context.Context, db *sql.DB, d sqldb.Dialect) (S, error), db *sql.DB, d sqldb.Dialect) S {
	t.Helper()
	var s S
	for i := range 2 {
		var err error
		if s, err = newStore(context.Background(), db, d); err != nil {
			t.Fatalf("new store on %s (start %d): %v", d, i+1, err)
		}
	}
	return s
}

// Migrate runs migrate (a store's Migrate) on db twice, failing the test
// if either run fails: the second checks that migrating a migrated
// database is a no-op.
func Migrate(t testing.TB, migrate func(context.Context, *sql.DB, sqldb.Dialect) error, db *sql.DB, d sqldb.Dialect) {
	t.Helper()
	for i := range 2 {
		if err := migrate(context.Background(), db, d); err != nil {
			t.Fatalf("migrate %s (run %d): %v", d, i+1, err)
		}
	}
}

// Open opens url with sqldb.Open and closes it when the test ends.
func Open(t testing.TB, url string) (*sql.DB, sqldb.Dialect) {
	t.Helper()
	db, d, err := sqldb.Open(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db, d
}

// Exec runs stmts in order, failing the test at the first error: how an
// upgrade test builds the schema an earlier release left.
func Exec(t testing.TB, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, stmt := range stmts {
		if _, err := db.ExecContext(context.Background(), stmt); err != nil {
			t.Fatalf("exec %.60q: %v", stmt, err)
		}
	}
}

// OldRelease opens the fresh database url and builds in it what an earlier
// release left: the schema of version 1 of the test's store (rendered from
// its "migrations" directory) and then stmts (that release's bookkeeping,
// some rows).
func OldRelease(t testing.TB, url string, stmts ...string) (*sql.DB, sqldb.Dialect) {
	t.Helper()
	db, d := Open(t, url)
	Exec(t, db, append([]string{Version(t, "migrations", d, 1)}, stmts...)...)
	return db, d
}

// SQLMigrateRecord is what pkg/sqlmigrate, the runner of releases before
// sqldb.Migrate, left in its bookkeeping table (md_migrations,
// wh_migrations) after applying file as version 1: statements for
// OldRelease.
func SQLMigrateRecord(table, file string) []string {
	return []string{
		`CREATE TABLE ` + table + ` (version INTEGER PRIMARY KEY, name TEXT NOT NULL)`,
		`INSERT INTO ` + table + ` (version, name) VALUES (1, '` + file + `')`,
	}
}

// Version returns the text of version in the migrations directory dir (a
// store test's "migrations"), rendered for d: the schema an earlier release
// made by applying it, for an upgrade test to build.
func Version(t testing.TB, dir string, d sqldb.Dialect, version int) string {
	t.Helper()
	text, err := sqldb.Migrations{Namespace: "test", FS: os.DirFS(dir)}.Text(d, version)
	if err != nil {
		t.Fatal(err)
	}
	return text
}

// UpgradeFromChecksums checks, on both databases, that migrate (a store's
// Migrate) starts on a database an earlier release migrated when the
// store's version 1 had another text: old gives, per dialect, the checksum
// that release recorded (sqldb.Migrations.Rewritten). The database's
// schema is the current version 1, which by the Rewritten promise is the
// same.
func UpgradeFromChecksums(t *testing.T, namespace string, migrate func(context.Context, *sql.DB, sqldb.Dialect) error, old map[sqldb.Dialect]string) {
	t.Helper()
	ctx := context.Background()
	OnBoth(t, func(t *testing.T, url string) {
		db, d := Open(t, url)
		if err := migrate(ctx, db, d); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `UPDATE `+namespace+`_schema_migrations SET checksum = $1 WHERE version = 1`, old[d]); err != nil { //nolint:gosec // G202: namespace is the test's constant store name
			t.Fatal(err)
		}
		if err := migrate(ctx, db, d); err != nil {
			t.Fatalf("start on a database migrated by an earlier release: %v", err)
		}
		var sum string
		if err := db.QueryRowContext(ctx, `SELECT checksum FROM `+namespace+`_schema_migrations WHERE version = 1`).Scan(&sum); err != nil || sum != old[d] {
			t.Fatalf("recorded checksum = %.12s, %v; want the earlier release's %.12s kept, so it can still start", sum, err, old[d])
		}
	})
}
