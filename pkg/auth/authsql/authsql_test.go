package authsql_test

import (
	"context"
	"testing"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/auth/authsql"
	"github.com/samnav/samnav/pkg/auth/authtest"
	"github.com/samnav/samnav/pkg/sqldb/sqldbtest"
)

func TestConformance(t *testing.T) {
	sqldbtest.Stores(t, authsql.New, func(t *testing.T, open func(*testing.T) *authsql.Store) {
		authtest.Run(t, func(t *testing.T) auth.TokenStore { return open(t) })
	})
}

// TestUpgradeFromUnversionedSchema opens a database an earlier release
// made (authsql.New ran version 1's statement, as CREATE TABLE IF NOT
// EXISTS, on every start): the table is adopted as version 1 and its tokens
// are kept.
func TestUpgradeFromUnversionedSchema(t *testing.T) {
	ctx := context.Background()
	sqldbtest.OnBoth(t, func(t *testing.T, url string) {
		db, d := sqldbtest.OldRelease(t, url,
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
