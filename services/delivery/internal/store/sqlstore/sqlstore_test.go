package sqlstore_test

import (
	"context"
	"testing"

	"github.com/samnav/samnav/pkg/sqldb/sqldbtest"
	"github.com/samnav/samnav/services/delivery/internal/store/sqlstore"
	"github.com/samnav/samnav/services/delivery/internal/store/storetest"
	"github.com/samnav/samnav/services/delivery/internal/subscription"
)

func TestConformance(t *testing.T) {
	sqldbtest.Stores(t, sqlstore.New, func(t *testing.T, open func(*testing.T) *sqlstore.Store) {
		storetest.Run(t, func(t *testing.T) subscription.Store { return open(t) })
	})
}

// TestUpgradeFromUnversionedSchema opens a database an earlier release
// made (it ran version 1's statements, as CREATE ... IF NOT EXISTS, on
// every start): its tables are adopted as version 1 and its subscriptions
// kept.
func TestUpgradeFromUnversionedSchema(t *testing.T) {
	ctx := context.Background()
	sqldbtest.OnBoth(t, func(t *testing.T, url string) {
		db, d := sqldbtest.OldRelease(t, url,
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
