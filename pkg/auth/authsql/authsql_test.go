package authsql_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/auth/authsql"
	"github.com/samnav/samnav/pkg/auth/authtest"
	"github.com/samnav/samnav/pkg/pgtest"
	"github.com/samnav/samnav/pkg/sdk/sqldb"
	_ "github.com/samnav/samnav/pkg/sqldb/drivers" // the drivers sqldb.Open uses
	"github.com/samnav/samnav/pkg/sqldb/sqldbtest"
)

func open(t *testing.T, url string) auth.TokenStore {
	t.Helper()
	db, d, err := sqldb.Open(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	s, err := authsql.New(context.Background(), db, d)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSQLite(t *testing.T) {
	authtest.Run(t, func(t *testing.T) auth.TokenStore {
		return open(t, "sqlite:"+filepath.Join(t.TempDir(), "auth.db"))
	})
}

func TestPostgres(t *testing.T) {
	cluster := pgtest.Start(t)
	authtest.Run(t, func(t *testing.T) auth.TokenStore {
		return open(t, cluster.NewDatabase(t))
	})
}

// legacySchema is the table as releases before versioned migrations
// created it (authsql.New ran it on every start).
const legacySchema = `CREATE TABLE IF NOT EXISTS auth_tokens (
	id         TEXT PRIMARY KEY,
	subject    TEXT NOT NULL,
	kind       TEXT NOT NULL,
	name       TEXT NOT NULL,
	grants     TEXT NOT NULL,
	hash       TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL DEFAULT 0,
	revoked_at BIGINT NOT NULL DEFAULT 0
)`

// TestUpgradeFromUnversionedSchema opens a database an earlier release
// made: the table is adopted as version 1 and its tokens are kept.
func TestUpgradeFromUnversionedSchema(t *testing.T) {
	ctx := context.Background()
	sqldbtest.OnBoth(t, func(t *testing.T, url string) {
		db, d := sqldbtest.Open(t, url)
		sqldbtest.Exec(t, db, legacySchema,
			`INSERT INTO auth_tokens (id, subject, kind, name, grants, hash, created_at) VALUES ('tok1', 'sys', 'system', 'n', '[]', 'abcd', 1)`)
		s, err := authsql.New(ctx, db, d)
		if err != nil {
			t.Fatalf("upgrade: %v", err)
		}
		if got, err := s.TokenByID(ctx, "tok1"); err != nil || got.Subject != "sys" {
			t.Fatalf("TokenByID after upgrade = %+v, %v", got, err)
		}
	})
}
