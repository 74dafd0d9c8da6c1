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

func sqlStore(t testing.TB, db *sql.DB, d sqldb.Dialect) subscriber.Store {
	t.Helper()
	sqldbtest.Migrate(t, sqlstore.Migrate, db, d)
	s, err := sqlstore.New(db)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sqliteStore(t testing.TB) subscriber.Store {
	t.Helper()
	db, d := sqldbtest.Open(t, "sqlite:"+filepath.Join(t.TempDir(), "applied.db"))
	return sqlStore(t, db, d)
}

func TestMemoryStore(t *testing.T) {
	subscribertest.RunStore(t, func(*testing.T) subscriber.Store { return &subscriber.MemoryStore{} })
}

func TestSQLStore(t *testing.T) {
	sqldbtest.Suite(t, func(t *testing.T, open sqldbtest.Opener) {
		subscribertest.RunStore(t, func(t *testing.T) subscriber.Store {
			db, d := open(t)
			return sqlStore(t, db, d)
		})
	})
}
