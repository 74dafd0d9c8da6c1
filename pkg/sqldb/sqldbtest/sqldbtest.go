// Package sqldbtest helps the stores' tests run on both databases: a fresh
// SQLite file and a fresh database in a throwaway PostgreSQL cluster
// (pkg/pgtest, which skips without PostgreSQL, or fails with CI=true).
package sqldbtest

import (
	"context"
	"database/sql"
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
