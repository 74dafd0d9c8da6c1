package authsql_test

import (
	"path/filepath"
	"testing"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/auth/authsql"
	"github.com/samnav/samnav/pkg/sqldb/sqldbtest"
)

// TestAuthenticatorDefaultsToTokensInTheDatabase: a service's own
// authenticator wins and comes without a token issuer; without one, the
// service authenticates by the API tokens in its database and issues them.
func TestAuthenticatorDefaultsToTokensInTheDatabase(t *testing.T) {
	db, d := sqldbtest.Open(t, "sqlite:"+filepath.Join(t.TempDir(), "auth.db"))
	given := &auth.Tokens{}
	authn, tokens, err := authsql.Authenticator(t.Context(), given, db, d)
	if err != nil || authn != given || tokens != nil {
		t.Fatalf("with an authenticator: %v, %v, %v", authn, tokens, err)
	}
	authn, tokens, err = authsql.Authenticator(t.Context(), nil, db, d)
	if err != nil || tokens == nil || authn != tokens {
		t.Fatalf("without one: %v, %v, %v", authn, tokens, err)
	}
	if _, ok := tokens.Store.(*authsql.Store); !ok {
		t.Fatalf("tokens kept in %T, want the database", tokens.Store)
	}
}
