package sqlstore_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/keyring"
	"github.com/samnav/samnav/pkg/sdk/sqldb"
	"github.com/samnav/samnav/pkg/sqldb/sqldbtest"
	"github.com/samnav/samnav/services/delivery/internal/webhook"
	"github.com/samnav/samnav/services/delivery/internal/webhook/sqlstore"
	"github.com/samnav/samnav/services/delivery/internal/webhook/webhooktest"
)

// testKeys seals the stores' secrets in these tests: one keyring, so a
// store started twice on a database (sqldbtest.NewStore) opens what the
// first start sealed.
var testKeys = func() keyring.Keyring {
	b := sha256.Sum256([]byte("webhook sqlstore test key"))
	kr, err := keyring.NewMemory(keyring.Key{ID: "test", Bytes: b[:]})
	if err != nil {
		panic(err)
	}
	return kr
}()

// newStore migrates the database and opens the store on it.
var newStore = sqldbtest.Migrated(sqlstore.Migrate, func(db *sql.DB, d sqldb.Dialect) (*sqlstore.Store, error) {
	return sqlstore.New(context.Background(), db, d, testKeys)
})

func TestConformance(t *testing.T) { sqldbtest.Stores(t, newStore, webhooktest.RunStoreTests) }

// Claim and Finish commit without waiting for the disk (see writeLax);
// the connection they borrow must go back to the pool as durable as the
// rest, or a later Enqueue on it would be acknowledged before it is on disk.
func TestSQLiteEnqueueStaysDurableAfterLaxCommits(t *testing.T) {
	ctx := context.Background()
	db, d := sqldbtest.Open(t, "sqlite:"+filepath.Join(t.TempDir(), "wh.db"))
	s := sqldbtest.NewStore(t, newStore, db, d)
	if err := s.CreateEndpoint(ctx, webhook.Endpoint{SubscriptionID: "sub1", URL: "https://receiver.example/", Status: webhook.StatusEnabled}, webhooktest.MustSecret(t)); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for i := range 20 {
		if _, err := s.EnqueueBatch(ctx, []webhook.Message{{SubscriptionID: "sub1", EventID: fmt.Sprint("e", i), Key: "k", Type: "t", Body: []byte("{}"), CreatedAt: now, NextAttemptAt: now}}); err != nil {
			t.Fatal(err)
		}
		ms, err := s.Claim(ctx, now, now.Add(time.Minute), 10)
		if err != nil || len(ms) != 1 {
			t.Fatalf("claim: %v, %v", ms, err)
		}
		if _, err := s.FinishBatch(ctx, []webhook.Result{{Message: ms[0], Outcome: webhook.OutcomeDelivered, Attempt: webhook.Attempt{N: 1, At: now}}}); err != nil {
			t.Fatal(err)
		}
	}
	// Hold every pooled connection at once and ask each.
	idle := db.Stats().Idle
	if idle == 0 {
		t.Fatal("no pooled connection to check")
	}
	var conns []*sql.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range idle {
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		var level int
		if err := c.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&level); err != nil {
			t.Fatal(err)
		}
		if level != 2 {
			t.Errorf("a pooled connection has synchronous=%d, want 2 (FULL)", level)
		}
	}
}

func TestNewRefusesASingleConnectionPool(t *testing.T) {
	db, d := sqldbtest.Open(t, "sqlite:"+filepath.Join(t.TempDir(), "wh.db"))
	sqldbtest.Migrate(t, sqlstore.Migrate, db, d)
	db.SetMaxOpenConns(1)
	if _, err := sqlstore.New(t.Context(), db, d, testKeys); err == nil {
		t.Fatal("New accepted a pool of one connection, which a transaction preparing a statement would deadlock")
	}
	db.SetMaxOpenConns(2)
	if _, err := sqlstore.New(t.Context(), db, d, testKeys); err != nil {
		t.Fatal(err)
	}
}

// TestUpgradeFromWhMigrations opens a database made by a release that
// recorded 0001_webhooks.sql in wh_migrations (pkg/sqlmigrate): it is
// adopted as version 1, not re-created.
func TestUpgradeFromWhMigrations(t *testing.T) {
	sqldbtest.Upgrade(t, newStore, func(t *testing.T, s *sqlstore.Store) {
		if _, err := s.GetEndpoint(t.Context(), "none"); !errors.Is(err, webhook.ErrNotFound) {
			t.Fatalf("GetEndpoint after upgrade = %v, want ErrNotFound", err)
		}
	}, sqldbtest.SQLMigrateRecord("wh_migrations", "0001_webhooks.sql")...)
}
