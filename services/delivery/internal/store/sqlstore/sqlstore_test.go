package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/samnav/samnav/pkg/pgtest"
	"github.com/samnav/samnav/pkg/sdk/sqldb"
	_ "github.com/samnav/samnav/pkg/sqldb/drivers" // the drivers sqldb.Open uses
	"github.com/samnav/samnav/pkg/sqldb/sqldbtest"
	"github.com/samnav/samnav/services/delivery/internal/store/sqlstore"
	"github.com/samnav/samnav/services/delivery/internal/store/storetest"
	"github.com/samnav/samnav/services/delivery/internal/subscription"
)

func open(t *testing.T, url string) subscription.Store {
	db, d, err := sqldb.Open(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := sqlstore.New(context.Background(), db, d)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) subscription.Store {
		return open(t, "sqlite:"+filepath.Join(t.TempDir(), "delivery.db"))
	})
}

func TestPostgres(t *testing.T) {
	cluster := pgtest.Start(t)
	storetest.Run(t, func(t *testing.T) subscription.Store {
		return open(t, cluster.NewDatabase(t))
	})
}

// legacySchema is what releases before versioned migrations ran on every
// start (without foreign keys on SQLite, which they did not switch on).
const legacySchema = `
CREATE TABLE IF NOT EXISTS delivery_subscriptions (
	id      TEXT PRIMARY KEY,
	system  TEXT NOT NULL,
	concept TEXT NOT NULL,
	status  TEXT NOT NULL,
	version BIGINT NOT NULL,
	body    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS delivery_subscriptions_system ON delivery_subscriptions (system, concept);
CREATE TABLE IF NOT EXISTS delivery_subscription_history (
	subscription_id TEXT NOT NULL REFERENCES delivery_subscriptions (id),
	seq             BIGINT NOT NULL,
	body            TEXT NOT NULL,
	PRIMARY KEY (subscription_id, seq)
)`

// TestUpgradeFromUnversionedSchema opens a database an earlier release
// made: its tables are adopted as version 1 and its subscriptions kept.
func TestUpgradeFromUnversionedSchema(t *testing.T) {
	ctx := context.Background()
	sqldbtest.OnBoth(t, func(t *testing.T, url string) {
		db, d := sqldbtest.Open(t, url)
		sqldbtest.Exec(t, db, legacySchema,
			`INSERT INTO delivery_subscriptions (id, system, concept, status, version, body) VALUES ('s1', 'sys', 'person', 'active', 1, '{"id":"s1","system":"sys","concept":"person","version":1}')`)
		s, err := sqlstore.New(ctx, db, d)
		if err != nil {
			t.Fatalf("upgrade: %v", err)
		}
		if got, err := s.Get(ctx, "s1"); err != nil || got.System != "sys" {
			t.Fatalf("Get after upgrade = %+v, %v", got, err)
		}
	})
}
