package sqlstore_test

import (
	"path/filepath"
	"testing"

	"github.com/samnav/samnav/pkg/sqldb/sqldbtest"
	"github.com/samnav/samnav/services/registry/internal/store"
	"github.com/samnav/samnav/services/registry/internal/store/sqlstore"
	"github.com/samnav/samnav/services/registry/internal/store/storetest"
)

func TestConformance(t *testing.T) { sqldbtest.Stores(t, sqlstore.New, storetest.Run) }

// TestReopenAppliesNoMigrationTwice reopens one SQLite file: the second
// Open must find the migrations recorded and keep the data.
func TestReopenAppliesNoMigrationTwice(t *testing.T) {
	ctx := t.Context()
	url := "sqlite:" + filepath.Join(t.TempDir(), "registry.db")
	db, d := sqldbtest.Open(t, url)
	s := sqldbtest.NewStore(t, sqlstore.New, db, d)
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.SetConfig(ctx, "", "FULL") }); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, d = sqldbtest.Open(t, url)
	s = sqldbtest.NewStore(t, sqlstore.New, db, d)
	if got, err := s.Config(ctx, ""); err != nil || got != "FULL" {
		t.Fatalf("Config after reopen = %q, %v; want FULL", got, err)
	}
}

// TestUpgradeFromSchemaMigrations opens a database made by a release that
// applied migrations/001_init.sql through its own schema_migrations table:
// it is adopted as version 1, its data kept.
func TestUpgradeFromSchemaMigrations(t *testing.T) {
	sqldbtest.Upgrade(t, sqlstore.New, func(t *testing.T, s *sqlstore.Store) {
		t.Cleanup(func() { _ = s.Close() })
		ctx := t.Context()
		if err := s.Update(ctx, func(tx store.Tx) error { return tx.SetConfig(ctx, "", "FULL") }); err != nil {
			t.Fatalf("write after upgrade: %v", err)
		}
	},
		`CREATE TABLE schema_migrations (name TEXT PRIMARY KEY)`,
		`INSERT INTO schema_migrations (name) VALUES ('migrations/001_init.sql')`)
}
