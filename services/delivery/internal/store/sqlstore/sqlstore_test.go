package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/samnav/samnav/pkg/pgtest"
	"github.com/samnav/samnav/services/delivery/internal/store/sqlstore"
	"github.com/samnav/samnav/services/delivery/internal/store/storetest"
	"github.com/samnav/samnav/services/delivery/internal/subscription"
)

func open(t *testing.T, driver, dsn string) subscription.Store {
	db, d, err := sqlstore.Open(driver, dsn)
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
		return open(t, "sqlite", filepath.Join(t.TempDir(), "delivery.db"))
	})
}

func TestPostgres(t *testing.T) {
	cluster := pgtest.Start(t)
	storetest.Run(t, func(t *testing.T) subscription.Store {
		return open(t, "postgres", cluster.NewDatabase(t))
	})
}
