package sqlstore_test

import (
	"testing"

	"github.com/samnav/samnav/pkg/sqldb/sqldbtest"
	"github.com/samnav/samnav/services/delivery/internal/store/sqlstore"
	"github.com/samnav/samnav/services/delivery/internal/store/storetest"
)

func TestConformance(t *testing.T) { sqldbtest.Stores(t, sqlstore.New, storetest.Run) }

// TestUpgradeFromUnversionedSchema opens a database an earlier release
// made (it ran version 1's statements, as CREATE ... IF NOT EXISTS, on
// every start): its tables are adopted as version 1 and its subscriptions
// kept.
func TestUpgradeFromUnversionedSchema(t *testing.T) {
	sqldbtest.Upgrade(t, sqlstore.New, func(t *testing.T, s *sqlstore.Store) {
		if got, err := s.Get(t.Context(), "s1"); err != nil || got.System != "sys" {
			t.Fatalf("Get after upgrade = %+v, %v", got, err)
		}
	}, `INSERT INTO delivery_subscriptions (id, system, concept, status, version, body) VALUES ('s1', 'sys', 'person', 'active', 1, '{"id":"s1","system":"sys","concept":"person","version":1}')`)
}
