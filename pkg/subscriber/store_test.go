package subscriber_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "modernc.org/sqlite"             // registers "sqlite"

	"github.com/samnav/samnav/pkg/pgtest"
	"github.com/samnav/samnav/pkg/subscriber"
	"github.com/samnav/samnav/pkg/subscriber/subscribertest"
)

func sqlStore(t testing.TB, db *sql.DB, d subscriber.Dialect) subscriber.Store {
	t.Helper()
	for range 2 { // migrating twice is a no-op
		if err := subscriber.MigrateSQLStore(context.Background(), db, d); err != nil {
			t.Fatalf("migrate: %v", err)
		}
	}
	s, err := subscriber.NewSQLStore(db)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sqliteStore(t testing.TB) subscriber.Store {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "applied.db")+
		"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return sqlStore(t, db, subscriber.SQLite)
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
		db, err := sql.Open("pgx", cluster.NewDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return sqlStore(t, db, subscriber.Postgres)
	})
}
