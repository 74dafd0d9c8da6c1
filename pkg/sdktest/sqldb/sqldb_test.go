package sqldb_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/samnav/samnav/pkg/sdk/sqldb"
	_ "github.com/samnav/samnav/pkg/sqldb/drivers" // the drivers Open uses
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		setting string
		dialect sqldb.Dialect
		file    string
	}{
		{"sqlite:///var/lib/samnav/md.db", sqldb.SQLite, "/var/lib/samnav/md.db"},
		{"sqlite:data/md.db", sqldb.SQLite, "data/md.db"},
		{"sqlite://data/md.db", sqldb.SQLite, "data/md.db"},
		{"sqlite:md.db?mode=rwc", sqldb.SQLite, "md.db"},
		{"file:/tmp/x.db", sqldb.SQLite, "/tmp/x.db"},
		{"postgres://u:secret@db:5432/samnav?sslmode=disable", sqldb.Postgres, ""},
		{"postgresql://u@db/samnav", sqldb.Postgres, ""},
		{"host=db user=u password=secret dbname=samnav", sqldb.Postgres, ""},
	} {
		l, err := sqldb.Parse(tc.setting)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.setting, err)
			continue
		}
		if l.Dialect != tc.dialect || l.File != tc.file {
			t.Errorf("Parse(%q) = %v %q, want %v %q", tc.setting, l.Dialect, l.File, tc.dialect, tc.file)
		}
		if strings.Contains(l.String(), "secret") {
			t.Errorf("Location(%q).String() = %q shows the password", tc.setting, l.String())
		}
	}
}

func TestParseErrorsHideThePassword(t *testing.T) {
	for _, setting := range []string{
		"",
		"mysql://u:secret@db/x",
		"postgres://u:secret@db:notaport/x",
		"postgres://u:secret@db/x?sslmode=bogus",
		"sqlite:",
		"sqlite:x.db?a=%zz&password=secret",
		"/plain/path.db",
	} {
		_, err := sqldb.Parse(setting)
		if err == nil {
			t.Errorf("Parse(%q): no error", setting)
			continue
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("Parse(%q) error %q shows the password", setting, err)
		}
		if !strings.Contains(err.Error(), "database URL") {
			t.Errorf("Parse(%q) error %q does not name the setting", setting, err)
		}
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:secret@db/x":               "postgres://u:xxxxx@db/x",
		"postgres://u:se/cr@et@db/x?sslmode=x":   "postgres://u:xxxxx@db/x?sslmode=x",
		"postgres://u@db/x?password=secret&a=b":  "postgres://u@db/x?password=xxxxx&a=b",
		"host=db password=secret user=u":         "host=db password=xxxxx user=u",
		"host=db password='se cret' user=u":      "host=db password=xxxxx user=u",
		"sqlite:///var/lib/x.db":                 "sqlite:///var/lib/x.db",
		"postgres://u:%zz@db/x (does not parse)": "postgres://u:xxxxx@db/x (does not parse)",
	} {
		if got := sqldb.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRebind(t *testing.T) {
	q := `SELECT a FROM t WHERE b = ? AND c = '?' AND "d?" = ? LIMIT ?`
	if got := sqldb.SQLite.Rebind(q); got != q {
		t.Errorf("SQLite.Rebind = %q, want it unchanged", got)
	}
	want := `SELECT a FROM t WHERE b = $1 AND c = '?' AND "d?" = $2 LIMIT $3`
	if got := sqldb.Postgres.Rebind(q); got != want {
		t.Errorf("Postgres.Rebind = %q, want %q", got, want)
	}
}

func TestDialectValid(t *testing.T) {
	var zero sqldb.Dialect
	if zero.Valid() == nil {
		t.Error("the zero Dialect is valid; want an error")
	}
	if sqldb.SQLite.Valid() != nil || sqldb.Postgres.Valid() != nil {
		t.Error("SQLite or Postgres is not valid")
	}
}

// TestOpenSQLiteSettings checks the settings every store relies on are set
// on each connection, not only the first.
func TestOpenSQLiteSettings(t *testing.T) {
	ctx := context.Background()
	db, d, err := sqldb.Open("sqlite:" + filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if d != sqldb.SQLite {
		t.Fatalf("dialect %v, want sqlite", d)
	}
	db.SetMaxIdleConns(0) // every query below on a fresh connection
	for pragma, want := range map[string]string{
		"journal_mode": "wal",
		"busy_timeout": "10000",
		"synchronous":  "2", // FULL
		"foreign_keys": "1",
	} {
		var got string
		if err := db.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", pragma, err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %s, want %s", pragma, got, want)
		}
	}
}

func TestResolve(t *testing.T) {
	for _, tc := range []struct {
		database, driver, dsn, dataDir string
		want, err                      string
	}{
		{database: "postgres://u@db/x", want: "postgres://u@db/x"},
		{database: "sqlite:a.db", driver: "sqlite", dataDir: "/d", want: "sqlite:a.db"},
		{dataDir: "/data", want: "sqlite:/data/md.db"},
		{driver: "sqlite", dataDir: "/data", want: "sqlite:/data/md.db"},
		{driver: "sqlite", dsn: "/x/md.db", dataDir: "/data", want: "sqlite:/x/md.db"},
		{dsn: "file:/x/md.db?mode=rwc", want: "file:/x/md.db?mode=rwc"},
		{driver: "postgres", dsn: "postgres://u:secret@db/x", want: "postgres://u:secret@db/x"},
		{driver: "postgres", dsn: "host=db dbname=x", want: "host=db dbname=x"},
		{err: "Database, DSN or DataDir: one is required"},
		{driver: "postgres", err: "DSN: required for driver postgres"},
		{driver: "postgres", dsn: "sqlite:x.db", err: "DSN: not a PostgreSQL"},
		{driver: "mysql", dsn: "x", err: `Driver: "mysql" is not sqlite or postgres`},
		{database: "mysql://u:secret@x/y", err: "Database: database URL mysql://u:xxxxx@x/y"},
		{database: "sqlite:a.db", dsn: "b.db", err: "Database and DSN: set one, not both"},
	} {
		got, err := sqldb.Resolve(tc.database, tc.driver, tc.dsn, tc.dataDir, "md.db")
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("Resolve(%+v) = %q, %v; want error %q", tc, got, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("Resolve(%+v) = %q, %v; want %q", tc, got, err, tc.want)
		}
	}
}

func TestOpenCreatesTheDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "x.db")
	db, _, err := sqldb.Open("sqlite:" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.PingContext(context.Background()); err != nil {
		t.Fatalf("ping: %v", err)
	}
}
