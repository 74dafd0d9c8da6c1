package feed_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/sdk/sqldb"
	"github.com/samnav/samnav/pkg/sqldb/sqldbtest"
	"github.com/samnav/samnav/services/delivery/internal/feed"
	"github.com/samnav/samnav/services/delivery/internal/feed/feedtest"
)

// newStore migrates the database and opens the store on it.
var newStore = sqldbtest.Migrated(feed.Migrate, feed.NewSQLStore)

func newSQLiteStore(t testing.TB) feed.Store {
	return sqldbtest.NewStore(t, newStore, openSQLite(t), sqldb.SQLite)
}

func openSQLite(t testing.TB) *sql.DB {
	db, _ := sqldbtest.Open(t, "sqlite:"+filepath.Join(t.TempDir(), "feed.db"))
	return db
}

func TestConformance(t *testing.T) { sqldbtest.Stores(t, newStore, feedtest.Run) }

// A feed database made before stored_at existed is migrated in place: old
// entries count as stored long ago, new ones are appended and served.
func TestMigrateAddsStoredAt(t *testing.T) {
	ctx := context.Background()
	db := openSQLite(t)
	if _, err := db.ExecContext(ctx, `CREATE TABLE feed_log (
		subscription_id TEXT NOT NULL, position BIGINT NOT NULL, concept TEXT NOT NULL, record_key TEXT NOT NULL,
		event_id TEXT NOT NULL, type TEXT NOT NULL, event_time TEXT NOT NULL, revision BIGINT NOT NULL,
		ended_at TEXT, state TEXT, trace TEXT NOT NULL, PRIMARY KEY (subscription_id, position))`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO feed_log VALUES ('a', 1, 'person', 'k', 'e1', 'changed', '2026-01-01T00:00:00Z', 1, NULL, '{}', '')`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE feed_heads (subscription_id TEXT PRIMARY KEY, position BIGINT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO feed_heads VALUES ('a', 1)`); err != nil {
		t.Fatal(err)
	}
	s := sqldbtest.NewStore(t, newStore, db, sqldb.SQLite)
	if _, _, err := s.Append(ctx, feed.Entry{SubscriptionID: "a", Concept: "person", Key: "k", EventID: "e2", Type: "changed", Revision: 2, State: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Prune(ctx, time.Now().Add(-time.Hour)); err != nil || n != 1 {
		t.Fatalf("prune = %d, %v; want the entry from before the migration", n, err)
	}
	if log, err := s.Changes(ctx, "a", 0, 10); err != nil || len(log) != 1 || log[0].EventID != "e2" {
		t.Fatalf("log = %+v, %v", log, err)
	}
}
