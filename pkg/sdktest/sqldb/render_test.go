package sqldb_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/samnav/samnav/pkg/sdk/sqldb"
)

// TestTextRendersTokensPerDialect pins what each token becomes: the
// schemas the per-dialect copies made, before there was one source.
func TestTextRendersTokensPerDialect(t *testing.T) {
	m := sqldb.Migrations{Namespace: "w", FS: fstest.MapFS{"m/0001_a.sql": {Data: []byte(
		`CREATE TABLE w (id {{identity}}, s {{ serial }}, b {{blob}}, j {{json}}, t {{timestamp}}, n BIGINT);`)}}, Dir: "m"}
	for d, want := range map[sqldb.Dialect]string{
		sqldb.SQLite:   `CREATE TABLE w (id INTEGER PRIMARY KEY AUTOINCREMENT, s INTEGER PRIMARY KEY AUTOINCREMENT, b BLOB, j TEXT, t TIMESTAMP, n BIGINT);`,
		sqldb.Postgres: `CREATE TABLE w (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, s BIGSERIAL PRIMARY KEY, b BYTEA, j JSONB, t TIMESTAMPTZ, n BIGINT);`,
	} {
		got, err := m.Text(d, 1)
		if err != nil || got != want {
			t.Errorf("%s: Text = %q, %v; want %q", d, got, err, want)
		}
	}
	if _, err := m.Text(sqldb.SQLite, 2); err == nil {
		t.Error("Text of a version that does not exist: no error")
	}
}

func TestMigrateRefusesAnUnknownToken(t *testing.T) {
	db, d := open(t, "sqlite:"+t.TempDir()+"/m.db")
	err := sqldb.Migrate(context.Background(), db, d, sqldb.Migrations{Namespace: "w", FS: files("0001_a.sql", `CREATE TABLE w (b {{bytes}})`)})
	if err == nil || !strings.Contains(err.Error(), "unknown token {{bytes}}") || !strings.Contains(err.Error(), "{{blob}}") {
		t.Fatalf("Migrate = %v, want the unknown token named with the known ones", err)
	}
}

func init() {
	// One source with every token runs on both databases.
	cases["RendersTokens"] = func(t *testing.T, url newDB) {
		ctx := context.Background()
		db, d := open(t, url(t))
		m := sqldb.Migrations{Namespace: "widgets", FS: files("0001_init.sql",
			`CREATE TABLE widgets (id {{identity}}, b {{blob}} NOT NULL, j {{json}}, at {{timestamp}});
CREATE TABLE gadgets (id {{serial}}, note TEXT);`)}
		if err := sqldb.Migrate(ctx, db, d, m); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO widgets (b, j) VALUES ($1, '{"n": "007"}')`, []byte("0123")); err != nil {
			t.Fatal(err)
		}
		var b []byte
		if err := db.QueryRowContext(ctx, `SELECT b FROM widgets`).Scan(&b); err != nil || string(b) != "0123" {
			t.Fatalf("blob = %q, %v; want the bytes 0123 kept as they are", b, err)
		}
	}

	// A version whose text was rewritten (Rewritten) is accepted under its
	// old checksum, which stays recorded, and the next version applies.
	cases["AcceptsARewrittenVersion"] = func(t *testing.T, url newDB) {
		ctx := context.Background()
		db, d := open(t, url(t))
		if err := sqldb.Migrate(ctx, db, d, sqldb.Migrations{Namespace: "widgets", FS: files("0001_init.sql", v1)}); err != nil {
			t.Fatal(err)
		}
		old := sha256.Sum256([]byte(v1))
		oldSum := hex.EncodeToString(old[:])
		m := sqldb.Migrations{Namespace: "widgets", FS: files("0001_init.sql", "-- laid out anew\n"+v1, "0002_more.sql", `ALTER TABLE widgets ADD COLUMN note TEXT`)}
		if err := sqldb.Migrate(ctx, db, d, m); err == nil || !strings.Contains(err.Error(), "was edited after it was applied") {
			t.Fatalf("without Rewritten: Migrate = %v, want the edit refused", err)
		}
		m.Rewritten = map[string]int{oldSum: 2} // the old text, but of another version
		if err := sqldb.Migrate(ctx, db, d, m); err == nil {
			t.Fatal("a checksum rewritten for version 2 was accepted for version 1")
		}
		m.Rewritten = map[string]int{oldSum: 1}
		if err := sqldb.Migrate(ctx, db, d, m); err != nil {
			t.Fatalf("with Rewritten: %v", err)
		}
		if got := strings.Join(versions(t, db, "widgets"), ","); got != "0001_init.sql,0002_more.sql" {
			t.Fatalf("recorded %s", got)
		}
		var sum string
		if err := db.QueryRowContext(ctx, `SELECT checksum FROM widgets_schema_migrations WHERE version = 1`).Scan(&sum); err != nil || sum != oldSum {
			t.Fatalf("version 1's checksum = %.12s, %v; want the old one kept", sum, err)
		}
	}
}
