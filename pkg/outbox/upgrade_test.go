package outbox_test

import (
	"context"
	"testing"

	"github.com/samnav/samnav/pkg/outbox"
	"github.com/samnav/samnav/pkg/sdk/sqldb"
	"github.com/samnav/samnav/pkg/sqldb/sqldbtest"
)

// TestUpgradeFromOutboxMigrations opens a database made by a release that
// recorded 001_init.sql in outbox_migrations: the tables are adopted as
// version 1, the unpublished entry stays, and the outbox keeps working.
func TestUpgradeFromOutboxMigrations(t *testing.T) {
	ctx := context.Background()
	sqldbtest.OnBoth(t, func(t *testing.T, url string) {
		db, d := sqldbtest.OldRelease(t, url,
			`CREATE TABLE outbox_migrations (name TEXT PRIMARY KEY)`,
			`INSERT INTO outbox_migrations (name) VALUES ('001_init.sql')`)
		appendTx(t, db, d, outbox.Entry{Topic: "samnav.person.v1", Key: []byte("k"), Value: []byte("v"), EventID: "old"})
		if err := outbox.Migrate(ctx, db, d); err != nil {
			t.Fatalf("upgrade: %v", err)
		}
		appendTx(t, db, d, outbox.Entry{Topic: "samnav.person.v1", Key: []byte("k"), Value: []byte("v2"), EventID: "new"})
		if n := count(t, db, `SELECT COUNT(*) FROM outbox_entries`); n != 2 {
			t.Fatalf("%d entries after the upgrade, want the old and the new", n)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM outbox_schema_migrations WHERE adopted`); n != 1 {
			t.Fatalf("%d adopted versions, want 1", n)
		}
	})
}

// TestUpgradeFromPerDialectCopies starts on a database that a release with
// migrations/sqlite and migrations/postgres copies of version 1 migrated.
func TestUpgradeFromPerDialectCopies(t *testing.T) {
	sqldbtest.UpgradeFromChecksums(t, "outbox", outbox.Migrate, map[sqldb.Dialect]string{
		sqldb.SQLite:   "2eb7971cdc2d46829f198e6cb9edb37d9821d429b6395a7458d7202ba1ef2a58",
		sqldb.Postgres: "f806e201392606c4171d3d4b4081454baf7ed3db569b5199ad2df240f68a80f8",
	})
}
