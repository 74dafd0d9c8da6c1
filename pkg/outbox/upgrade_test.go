package outbox_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/samnav/samnav/pkg/outbox"
	"github.com/samnav/samnav/pkg/sqldb/sqldbtest"
)

// TestUpgradeFromOutboxMigrations opens a database made by a release that
// recorded 001_init.sql in outbox_migrations: the tables are adopted as
// version 1, the unpublished entry stays, and the outbox keeps working.
func TestUpgradeFromOutboxMigrations(t *testing.T) {
	ctx := context.Background()
	sqldbtest.OnBoth(t, func(t *testing.T, url string) {
		db, d := openDB(t, url)
		ddl, err := os.ReadFile(filepath.Join("migrations", d.String(), "001_init.sql"))
		if err != nil {
			t.Fatal(err)
		}
		sqldbtest.Exec(t, db, string(ddl),
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
