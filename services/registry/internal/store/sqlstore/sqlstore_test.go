package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/samnav/samnav/pkg/pgtest"
	"github.com/samnav/samnav/services/registry/internal/store"
	"github.com/samnav/samnav/services/registry/internal/store/sqlstore"
	"github.com/samnav/samnav/services/registry/internal/store/storetest"
)

func TestSQLiteConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "registry.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestPostgresConformance(t *testing.T) {
	cluster := pgtest.Start(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlstore.OpenPostgres(context.Background(), cluster.NewDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestReopenAppliesNoMigrationTwice reopens one SQLite file: the second
// Open must find the migrations recorded and keep the data.
func TestReopenAppliesNoMigrationTwice(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "registry.db")
	s, err := sqlstore.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.SetConfig(ctx, "", "FULL") }); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = sqlstore.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if got, err := s.Config(ctx, ""); err != nil || got != "FULL" {
		t.Fatalf("Config after reopen = %q, %v; want FULL", got, err)
	}
}
