package sqlmigrate_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	_ "modernc.org/sqlite"

	"github.com/samnav/samnav/pkg/sqlmigrate"
)

func open(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func count(t *testing.T, db *sql.DB, q string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRunAppliesEachMigrationOnce(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	fsys := fstest.MapFS{
		"m/0001_a.sql": {Data: []byte("CREATE TABLE a (x INTEGER); INSERT INTO a VALUES (1);")},
		"m/0002_b.sql": {Data: []byte("CREATE TABLE b (y INTEGER)")},
	}
	cfg := sqlmigrate.Config{FS: fsys, Dir: "m", Table: "t_migrations", SplitStatements: true}
	for range 2 {
		if err := sqlmigrate.Run(ctx, db, cfg); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(t, db, "SELECT COUNT(*) FROM a"); n != 1 {
		t.Fatalf("migration 1 ran %d times, want once", n)
	}
	if n := count(t, db, "SELECT COUNT(*) FROM t_migrations"); n != 2 {
		t.Fatalf("%d versions recorded, want 2", n)
	}
}

func TestFailedMigrationLeavesThePreviousVersion(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	fsys := fstest.MapFS{
		"m/0001_a.sql":   {Data: []byte("CREATE TABLE a (x INTEGER)")},
		"m/0002_bad.sql": {Data: []byte("CREATE TABLE c (z INTEGER); THIS IS NOT SQL")},
	}
	err := sqlmigrate.Run(ctx, db, sqlmigrate.Config{FS: fsys, Dir: "m", Table: "t_migrations", SplitStatements: true})
	if err == nil || !strings.Contains(err.Error(), "apply migration 0002_bad.sql") {
		t.Fatalf("Run = %v, want an error naming 0002_bad.sql", err)
	}
	if n := count(t, db, "SELECT COUNT(*) FROM t_migrations"); n != 1 {
		t.Fatalf("%d versions recorded, want 1", n)
	}
	if n := count(t, db, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'c'"); n != 0 {
		t.Fatal("the failed migration's first statement was kept")
	}
}

func TestBadFileName(t *testing.T) {
	fsys := fstest.MapFS{"m/init.sql": {Data: []byte("SELECT 1")}}
	err := sqlmigrate.Run(context.Background(), open(t), sqlmigrate.Config{FS: fsys, Dir: "m", Table: "t_migrations"})
	if err == nil || !strings.Contains(err.Error(), "NNNN_what.sql") {
		t.Fatalf("Run = %v, want the naming rule", err)
	}
}
