package sqldb_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/samnav/samnav/pkg/pgtest"
	"github.com/samnav/samnav/pkg/sdk/sqldb"
	"github.com/samnav/samnav/pkg/sqldb/sqldbtest"
)

// newDB returns a URL for a fresh database.
type newDB func(t *testing.T) string

// cases are the migration runner's tests, each run on SQLite and on
// PostgreSQL (one cluster for all) by TestMigrate.
var cases = map[string]func(t *testing.T, url newDB){}

func TestMigrate(t *testing.T) {
	for name, test := range cases {
		t.Run("sqlite/"+name, func(t *testing.T) {
			test(t, func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "m.db") })
		})
	}
	cluster := pgtest.Start(t)
	for name, test := range cases {
		t.Run("postgres/"+name, func(t *testing.T) {
			test(t, func(t *testing.T) string { return cluster.NewDatabase(t) })
		})
	}
}

func open(t *testing.T, url string) (*sql.DB, sqldb.Dialect) {
	t.Helper()
	return sqldbtest.Open(t, url)
}

// files makes a migrations FS of name, text pairs.
func files(kv ...string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for i := 0; i < len(kv); i += 2 {
		fsys[kv[i]] = &fstest.MapFile{Data: []byte(kv[i+1])}
	}
	return fsys
}

const v1 = `CREATE TABLE widgets (id TEXT PRIMARY KEY, n BIGINT NOT NULL);
CREATE INDEX widgets_n ON widgets (n);`

func versions(t *testing.T, db *sql.DB, ns string) []string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), `SELECT name FROM `+ns+`_schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func init() {
	cases["AppliesInOrderOnce"] = func(t *testing.T, url newDB) {
		ctx := context.Background()
		db, d := open(t, url(t))
		m := sqldb.Migrations{Namespace: "widgets", FS: files("0001_init.sql", v1)}
		for range 2 { // the second run is a no-op (v1 is not IF NOT EXISTS)
			if err := sqldb.Migrate(ctx, db, d, m); err != nil {
				t.Fatal(err)
			}
		}
		m.FS = files("0001_init.sql", v1, "0002_more.sql", `ALTER TABLE widgets ADD COLUMN note TEXT`)
		if err := sqldb.Migrate(ctx, db, d, m); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO widgets (id, n, note) VALUES ('a', 1, 'x')`); err != nil {
			t.Fatalf("version 2 not applied: %v", err)
		}
		if got := strings.Join(versions(t, db, "widgets"), ","); got != "0001_init.sql,0002_more.sql" {
			t.Fatalf("recorded %s", got)
		}
		// A second store in the same database has its own versions.
		other := sqldb.Migrations{Namespace: "gadgets", FS: files("0001_init.sql", `CREATE TABLE gadgets (id TEXT PRIMARY KEY)`)}
		if err := sqldb.Migrate(ctx, db, d, other); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(versions(t, db, "gadgets"), ","); got != "0001_init.sql" {
			t.Fatalf("gadgets recorded %s", got)
		}
	}
}

func init() {
	more := `ALTER TABLE widgets ADD COLUMN note TEXT`
	// Each refusal: on a database migrated with before (if any), Migrate
	// with then fails with an error containing want and changes nothing
	// (recorded stays the versions recorded).
	for name, r := range map[string]struct {
		before, then   fstest.MapFS
		want, recorded string
	}{
		"FailureChangesNothing": {
			then: files("0001_init.sql", v1, "0002_bad.sql", `ALTER TABLE nosuch ADD COLUMN x TEXT`),
			want: "0002_bad.sql",
		},
		"RefusesAnEditedMigration": {
			before: files("0001_init.sql", v1), then: files("0001_init.sql", v1+"\n-- edited", "0002_more.sql", more),
			want: "0001_init.sql (version 1) was edited after it was applied", recorded: "0001_init.sql",
		},
		"RefusesANewerDatabase": {
			before: files("0001_init.sql", v1, "0002_more.sql", more), then: files("0001_init.sql", v1),
			want: "newer than this program", recorded: "0001_init.sql,0002_more.sql",
		},
	} {
		cases[name] = func(t *testing.T, url newDB) {
			ctx := context.Background()
			db, d := open(t, url(t))
			if r.before != nil {
				if err := sqldb.Migrate(ctx, db, d, sqldb.Migrations{Namespace: "widgets", FS: r.before}); err != nil {
					t.Fatal(err)
				}
			}
			err := sqldb.Migrate(ctx, db, d, sqldb.Migrations{Namespace: "widgets", FS: r.then})
			if err == nil || !strings.Contains(err.Error(), r.want) {
				t.Fatalf("Migrate = %v, want an error containing %q", err, r.want)
			}
			if r.before == nil {
				var n int
				if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM widgets`).Scan(&n); err == nil {
					t.Fatal("table widgets exists after a failed run; want the run rolled back")
				}
				return
			}
			if got := strings.Join(versions(t, db, "widgets"), ","); got != r.recorded {
				t.Fatalf("recorded %s; want %s, nothing applied after the refusal", got, r.recorded)
			}
		}
	}
}

func TestMigrateChecksFileNames(t *testing.T) {
	db, d := open(t, "sqlite:"+filepath.Join(t.TempDir(), "m.db"))
	for name, fsys := range map[string]fstest.MapFS{
		"gap":     files("0001_a.sql", v1, "0003_c.sql", v1),
		"repeat":  files("0001_a.sql", v1, "0001_b.sql", v1),
		"no num":  files("init.sql", v1),
		"empty":   {"README": &fstest.MapFile{}},
		"missing": files(),
	} {
		if err := sqldb.Migrate(context.Background(), db, d, sqldb.Migrations{Namespace: "w", FS: fsys}); err == nil {
			t.Errorf("%s: Migrate accepted it", name)
		}
	}
	if err := sqldb.Migrate(context.Background(), db, d, sqldb.Migrations{Namespace: "Bad-Name", FS: files("0001_a.sql", v1)}); err == nil {
		t.Error("a namespace with '-' and capitals was accepted")
	}
}

// TestMigrateAdoptsAnExistingSchema is the upgrade from code that made its
// tables without versions: version 1 is recorded, not run (running it
// would fail: the table exists), and the next version applies on top.
func init() {
	cases["AdoptsAnExistingSchema"] = func(t *testing.T, url newDB) {
		ctx := context.Background()
		db, d := open(t, url(t))
		if _, err := db.ExecContext(ctx, `CREATE TABLE widgets (id TEXT PRIMARY KEY, n BIGINT NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO widgets (id, n) VALUES ('kept', 7)`); err != nil {
			t.Fatal(err)
		}
		m := sqldb.Migrations{Namespace: "widgets", FS: files("0001_init.sql", v1, "0002_more.sql", `ALTER TABLE widgets ADD COLUMN note TEXT`),
			Adopt: func(ctx context.Context, tx *sql.Tx, d sqldb.Dialect) (bool, error) {
				ok, err := sqldb.TableExists(ctx, tx, d, "widgets")
				if ok && err == nil {
					// Bring the old shape to version 1's, as a real Adopt may.
					_, err = tx.ExecContext(ctx, `CREATE INDEX IF NOT EXISTS widgets_n ON widgets (n)`)
				}
				return ok, err
			}}
		if err := sqldb.Migrate(ctx, db, d, m); err != nil {
			t.Fatalf("adopting: %v", err)
		}
		var adopted bool
		if err := db.QueryRowContext(ctx, `SELECT adopted FROM widgets_schema_migrations WHERE version = 1`).Scan(&adopted); err != nil || !adopted {
			t.Fatalf("version 1 adopted = %v, %v; want true", adopted, err)
		}
		var note sql.NullString
		if err := db.QueryRowContext(ctx, `SELECT note FROM widgets WHERE id = 'kept'`).Scan(&note); err != nil {
			t.Fatalf("old row after adoption and version 2: %v", err)
		}
		// Adopt is asked only while nothing is recorded.
		m.Adopt = func(context.Context, *sql.Tx, sqldb.Dialect) (bool, error) {
			t.Fatal("Adopt asked again")
			return false, nil
		}
		if err := sqldb.Migrate(ctx, db, d, m); err != nil {
			t.Fatal(err)
		}
		// A database without the old table gets version 1 run.
		db2, _ := open(t, url(t))
		m.Adopt = sqldb.AdoptTable("widgets")
		if err := sqldb.Migrate(ctx, db2, d, m); err != nil {
			t.Fatal(err)
		}
		if err := db2.QueryRowContext(ctx, `SELECT adopted FROM widgets_schema_migrations WHERE version = 1`).Scan(&adopted); err != nil || adopted {
			t.Fatalf("fresh database: version 1 adopted = %v, %v; want false", adopted, err)
		}
	}
}

// TestMigrateConcurrentStarters starts several processes' worth of
// migrators (each its own pool) on one empty database at once: every one
// must succeed and each version be applied once.
func init() {
	cases["ConcurrentStarters"] = func(t *testing.T, url newDB) {
		ctx := context.Background()
		u := url(t)
		m := sqldb.Migrations{Namespace: "widgets", FS: files("0001_init.sql", v1, "0002_more.sql", `ALTER TABLE widgets ADD COLUMN note TEXT`)}
		const starters = 6
		dbs := make([]*sql.DB, starters)
		var d sqldb.Dialect
		for i := range dbs {
			dbs[i], d = open(t, u)
			if err := dbs[i].PingContext(ctx); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		errs := make([]error, starters)
		start := make(chan struct{})
		for i := range dbs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = sqldb.Migrate(ctx, dbs[i], d, m)
			}()
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("starter %d: %v", i, err)
			}
		}
		if got := strings.Join(versions(t, dbs[0], "widgets"), ","); got != "0001_init.sql,0002_more.sql" {
			t.Fatalf("recorded %s", got)
		}
	}
}
