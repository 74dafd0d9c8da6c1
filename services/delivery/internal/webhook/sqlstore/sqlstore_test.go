package sqlstore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/samnav/samnav/pkg/pgtest"
	"github.com/samnav/samnav/services/delivery/internal/webhook"
	"github.com/samnav/samnav/services/delivery/internal/webhook/sqlstore"
	"github.com/samnav/samnav/services/delivery/internal/webhook/webhooktest"
)

func harness(open func(t *testing.T) (*sql.DB, sqlstore.Dialect)) webhooktest.Harness {
	return func(t *testing.T) webhook.Store {
		db, d := open(t)
		t.Cleanup(func() { db.Close() })
		for range 2 { // migrating twice is a no-op
			if err := sqlstore.Migrate(context.Background(), db, d); err != nil {
				t.Fatalf("migrate: %v", err)
			}
		}
		s, err := sqlstore.New(db, d)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}

func TestSQLite(t *testing.T) {
	webhooktest.RunStoreTests(t, harness(func(t *testing.T) (*sql.DB, sqlstore.Dialect) {
		db, d, err := sqlstore.Open("sqlite", filepath.Join(t.TempDir(), "wh.db"))
		if err != nil {
			t.Fatal(err)
		}
		return db, d
	}))
}

func TestPostgres(t *testing.T) {
	cluster := pgtest.Start(t)
	webhooktest.RunStoreTests(t, harness(func(t *testing.T) (*sql.DB, sqlstore.Dialect) {
		db, d, err := sqlstore.Open("postgres", cluster.NewDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		return db, d
	}))
}
