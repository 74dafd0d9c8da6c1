package authsql_test

import (
	"testing"

	"github.com/samnav/samnav/pkg/auth/authsql"
	"github.com/samnav/samnav/pkg/auth/authtest"
	"github.com/samnav/samnav/pkg/sqldb/sqldbtest"
)

func TestConformance(t *testing.T) { sqldbtest.Stores(t, authsql.New, authtest.Run) }

// TestUpgradeFromUnversionedSchema opens a database an earlier release
// made (authsql.New ran version 1's statement, as CREATE TABLE IF NOT
// EXISTS, on every start): the table is adopted as version 1 and its tokens
// are kept.
func TestUpgradeFromUnversionedSchema(t *testing.T) {
	sqldbtest.Upgrade(t, authsql.New, func(t *testing.T, s *authsql.Store) {
		if got, err := s.TokenByID(t.Context(), "tok1"); err != nil || got.Subject != "sys" {
			t.Fatalf("TokenByID after upgrade = %+v, %v", got, err)
		}
	}, `INSERT INTO auth_tokens (id, subject, kind, name, grants, hash, created_at) VALUES ('tok1', 'sys', 'system', 'n', '[]', 'abcd', 1)`)
}
