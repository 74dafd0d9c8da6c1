package sqlstore_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/pgtest"
	"github.com/samnav/samnav/pkg/sdk/sqldb"
	_ "github.com/samnav/samnav/pkg/sqldb/drivers" // the drivers sqldb.Open uses
	"github.com/samnav/samnav/pkg/sqldb/sqldbtest"
	"github.com/samnav/samnav/services/masterdata/internal/store/sqlstore"
	"github.com/samnav/samnav/services/masterdata/internal/store/storetest"
	"github.com/samnav/samnav/services/masterdata/record"
)

// testOutbox writes each event into a table of the same database, inside
// the store's transaction, so the suite sees only committed events.
type testOutbox struct {
	fail func(*record.Change) error
}

func (o testOutbox) Append(ctx context.Context, tx *sql.Tx, rec *record.Record, ch *record.Change) error {
	if o.fail != nil {
		if err := o.fail(ch); err != nil {
			return err
		}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO test_outbox (concept, record_id, revision, kind, event_id) VALUES ($1, $2, $3, $4, $5)`,
		rec.Concept, rec.ID, rec.Revision, string(ch.Kind), ch.EventID)
	return err
}

func harness(open func(t *testing.T) (*sql.DB, sqldb.Dialect)) storetest.Harness {
	return func(t *testing.T, m *model.Model, fail func(*record.Change) error) (record.Store, func() []storetest.Event) {
		db, d := open(t)
		t.Cleanup(func() { db.Close() })
		ctx := context.Background()
		if err := sqlstore.Migrate(ctx, db, d); err != nil {
			t.Fatalf("migrate: %v", err)
		}
		// Migrating twice is a no-op.
		if err := sqlstore.Migrate(ctx, db, d); err != nil {
			t.Fatalf("migrate again: %v", err)
		}
		pk := "n INTEGER PRIMARY KEY AUTOINCREMENT"
		if d == sqldb.Postgres {
			pk = "n BIGSERIAL PRIMARY KEY"
		}
		if _, err := db.Exec(`CREATE TABLE test_outbox (` + pk + `, concept TEXT, record_id TEXT, revision BIGINT, kind TEXT, event_id TEXT)`); err != nil {
			t.Fatal(err)
		}
		s, err := sqlstore.New(db, d, m, testOutbox{fail: fail})
		if err != nil {
			t.Fatal(err)
		}
		return s, func() []storetest.Event {
			rows, err := db.Query(`SELECT concept, record_id, revision, kind, event_id FROM test_outbox ORDER BY n`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var out []storetest.Event
			for rows.Next() {
				var e storetest.Event
				var kind string
				if err := rows.Scan(&e.Concept, &e.RecordID, &e.Revision, &kind, &e.EventID); err != nil {
					t.Fatal(err)
				}
				e.Kind = record.Kind(kind)
				out = append(out, e)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			return out
		}
	}
}

func TestSQLite(t *testing.T) {
	storetest.Run(t, harness(func(t *testing.T) (*sql.DB, sqldb.Dialect) {
		db, d, err := sqldb.Open("sqlite:" + filepath.Join(t.TempDir(), "md.db"))
		if err != nil {
			t.Fatal(err)
		}
		return db, d
	}))
}

func TestPostgres(t *testing.T) {
	cluster := pgtest.Start(t)
	storetest.Run(t, harness(func(t *testing.T) (*sql.DB, sqldb.Dialect) {
		db, d, err := sqldb.Open(cluster.NewDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		return db, d
	}))
}

// TestUpgradeFromMdMigrations opens a database made by a release that
// recorded 0001_init.sql in md_migrations (pkg/sqlmigrate): it is adopted
// as version 1, not re-created, and its records are kept.
func TestUpgradeFromMdMigrations(t *testing.T) {
	ctx := context.Background()
	sqldbtest.OnBoth(t, func(t *testing.T, url string) {
		db, d := sqldbtest.Open(t, url)
		ddl, err := os.ReadFile(filepath.Join("migrations", d.String(), "0001_init.sql"))
		if err != nil {
			t.Fatal(err)
		}
		sqldbtest.Exec(t, db, string(ddl),
			`CREATE TABLE md_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)`,
			`INSERT INTO md_migrations (version, name) VALUES (1, '0001_init.sql')`)
		if err := sqlstore.Migrate(ctx, db, d); err != nil {
			t.Fatalf("upgrade: %v", err)
		}
		var adopted bool
		if err := db.QueryRowContext(ctx, `SELECT adopted FROM masterdata_schema_migrations WHERE version = 1`).Scan(&adopted); err != nil || !adopted {
			t.Fatalf("version 1 adopted = %v, %v; want true", adopted, err)
		}
	})
}
