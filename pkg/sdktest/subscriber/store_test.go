package subscriber_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/samnav/samnav/pkg/pgtest"
	"github.com/samnav/samnav/pkg/sdk/sqldb"
	"github.com/samnav/samnav/pkg/sdk/subscriber"
	"github.com/samnav/samnav/pkg/sdk/subscriber/sqlstore"
	"github.com/samnav/samnav/pkg/sdk/subscriber/subscribertest"
	_ "github.com/samnav/samnav/pkg/sqldb/drivers" // the drivers sqldb.Open uses
)

func sqlStore(t testing.TB, db *sql.DB, d sqldb.Dialect) subscriber.Store {
	t.Helper()
	for range 2 { // migrating twice is a no-op
		if err := sqlstore.Migrate(context.Background(), db, d); err != nil {
			t.Fatalf("migrate: %v", err)
		}
	}
	s, err := sqlstore.New(db)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sqliteStore(t testing.TB) subscriber.Store {
	t.Helper()
	db, d, err := sqldb.Open("sqlite:" + filepath.Join(t.TempDir(), "applied.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return sqlStore(t, db, d)
}

func TestMemoryStore(t *testing.T) {
	subscribertest.RunStore(t, func(*testing.T) subscriber.Store { return &subscriber.MemoryStore{} })
}

func TestSQLiteStore(t *testing.T) {
	subscribertest.RunStore(t, func(t *testing.T) subscriber.Store { return sqliteStore(t) })
}

func TestPostgresStore(t *testing.T) {
	cluster := pgtest.Start(t)
	subscribertest.RunStore(t, func(t *testing.T) subscriber.Store {
		db, d, err := sqldb.Open(cluster.NewDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return sqlStore(t, db, d)
	})
}
