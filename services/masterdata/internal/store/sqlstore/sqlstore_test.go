package sqlstore_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/sdk/sqldb"
	"github.com/samnav/samnav/pkg/sqldb/sqldbtest"
	"github.com/samnav/samnav/services/masterdata/client"
	"github.com/samnav/samnav/services/masterdata/internal/store/sqlstore"
	"github.com/samnav/samnav/services/masterdata/internal/store/storetest"
	"github.com/samnav/samnav/services/masterdata/record"
)

// testOutbox writes each event into a table of the same database, inside
// the store's transaction, so the suite sees only committed events.
type testOutbox struct {
	fail func(*client.Change) error
}

func (o testOutbox) Append(ctx context.Context, tx *sql.Tx, rec *client.Record, ch *client.Change) error {
	if o.fail != nil {
		if err := o.fail(ch); err != nil {
			return err
		}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO test_outbox (concept, record_id, revision, kind, event_id) VALUES ($1, $2, $3, $4, $5)`,
		rec.Concept, rec.ID, rec.Revision, string(ch.Kind), ch.EventID)
	return err
}

func TestConformance(t *testing.T) {
	sqldbtest.Suite(t, func(t *testing.T, open sqldbtest.Opener) {
		storetest.Run(t, func(t *testing.T, m *model.Model, fail func(*client.Change) error) (record.Store, func() []storetest.Event) {
			db, d := open(t)
			sqldbtest.Migrate(t, sqlstore.Migrate, db, d)
			pk := "n INTEGER PRIMARY KEY AUTOINCREMENT"
			if d == sqldb.Postgres {
				pk = "n BIGSERIAL PRIMARY KEY"
			}
			sqldbtest.Exec(t, db, `CREATE TABLE test_outbox (`+pk+`, concept TEXT, record_id TEXT, revision BIGINT, kind TEXT, event_id TEXT)`)
			s, err := sqlstore.New(db, d, m, testOutbox{fail: fail})
			if err != nil {
				t.Fatal(err)
			}
			return s, func() []storetest.Event {
				out, err := sqldb.Query(context.Background(), db, func(row sqldb.Scanner) (storetest.Event, error) {
					var e storetest.Event
					err := row.Scan(&e.Concept, &e.RecordID, &e.Revision, &e.Kind, &e.EventID)
					return e, err
				}, `SELECT concept, record_id, revision, kind, event_id FROM test_outbox ORDER BY n`)
				if err != nil {
					t.Fatal(err)
				}
				return out
			}
		})
	})
}

// TestUpgradeFromMdMigrations opens a database made by a release that
// recorded 0001_init.sql in md_migrations (pkg/sqlmigrate): it is adopted
// as version 1, not re-created, and its records are kept.
func TestUpgradeFromMdMigrations(t *testing.T) {
	ctx := context.Background()
	sqldbtest.OnBoth(t, func(t *testing.T, url string) {
		db, d := sqldbtest.OldRelease(t, url, sqldbtest.SQLMigrateRecord("md_migrations", "0001_init.sql")...)
		if err := sqlstore.Migrate(ctx, db, d); err != nil {
			t.Fatalf("upgrade: %v", err)
		}
		var adopted bool
		if err := db.QueryRowContext(ctx, `SELECT adopted FROM masterdata_schema_migrations WHERE version = 1`).Scan(&adopted); err != nil || !adopted {
			t.Fatalf("version 1 adopted = %v, %v; want true", adopted, err)
		}
	})
}

// TestUpgradeFromPerDialectCopies starts on a database that a release with
// migrations/sqlite and migrations/postgres copies of version 1 migrated.
func TestUpgradeFromPerDialectCopies(t *testing.T) {
	sqldbtest.UpgradeFromChecksums(t, "masterdata", sqlstore.Migrate, map[sqldb.Dialect]string{
		sqldb.SQLite:   "6aba3a34c7125cc34d56e338adaa9898a676952d3daca535afbb9414a18c3671",
		sqldb.Postgres: "59f2864c5b33c6b049d09b6232cf85413fbc4d7a0f37b7ea9a9c0ec1a4b0e325",
	})
}
