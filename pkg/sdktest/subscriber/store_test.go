package subscriber_test

import (
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/samnav/samnav/pkg/sdk/sqldb"
	"github.com/samnav/samnav/pkg/sdk/subscriber"
	"github.com/samnav/samnav/pkg/sdk/subscriber/sqlstore"
	"github.com/samnav/samnav/pkg/sdk/subscriber/subscribertest"
	"github.com/samnav/samnav/pkg/sqldb/sqldbtest"
)

// newSQLStore migrates the database and opens the store on it (the store
// needs no dialect: its statements are the same on both).
var newSQLStore = sqldbtest.Migrated(sqlstore.Migrate, func(db *sql.DB, _ sqldb.Dialect) (*sqlstore.Store, error) { return sqlstore.New(db) })

func sqliteStore(t testing.TB) subscriber.Store {
	t.Helper()
	db, d := sqldbtest.Open(t, "sqlite:"+filepath.Join(t.TempDir(), "applied.db"))
	return sqldbtest.NewStore(t, newSQLStore, db, d)
}

func TestMemoryStore(t *testing.T) {
	subscribertest.RunStore(t, func(*testing.T) *subscriber.MemoryStore { return &subscriber.MemoryStore{} })
}

func TestSQLStore(t *testing.T) { sqldbtest.Stores(t, newSQLStore, subscribertest.RunStore) }
