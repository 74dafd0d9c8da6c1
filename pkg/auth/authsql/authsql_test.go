package authsql_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/auth/authsql"
	"github.com/samnav/samnav/pkg/auth/authtest"
)

func TestSQLite(t *testing.T) {
	authtest.Run(t, func(t *testing.T) auth.TokenStore {
		db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "auth.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		s, err := authsql.New(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
