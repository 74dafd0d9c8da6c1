package feed_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "modernc.org/sqlite"             // registers "sqlite"

	"github.com/samnav/samnav/pkg/pgtest"
	"github.com/samnav/samnav/services/delivery/internal/feed"
	"github.com/samnav/samnav/services/delivery/internal/feed/feedtest"
)

func openSQLite(t testing.TB) *sql.DB {
	t.Helper()
	dsn := "file:" + filepath.Join(t.TempDir(), "feed.db") +
		"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func migrated(t testing.TB, db *sql.DB, d feed.Dialect) feed.Store {
	t.Helper()
	ctx := context.Background()
	for range 2 { // migrating twice is a no-op
		if err := feed.Migrate(ctx, db, d); err != nil {
			t.Fatalf("migrate: %v", err)
		}
	}
	s, err := feed.NewSQLStore(db, d)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newSQLiteStore(t testing.TB) feed.Store {
	return migrated(t, openSQLite(t), feed.SQLite)
}

func TestSQLiteStore(t *testing.T) {
	feedtest.Run(t, func(t *testing.T) feed.Store { return newSQLiteStore(t) })
}

func TestPostgresStore(t *testing.T) {
	cluster := pgtest.Start(t)
	feedtest.Run(t, func(t *testing.T) feed.Store {
		db, err := sql.Open("pgx", cluster.NewDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return migrated(t, db, feed.Postgres)
	})
}
