package hubtest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/httproute"
	"github.com/samnav/samnav/pkg/sdk/poll"
)

// Authorisation tables: every route a server mounts × every role × the
// objects a role may own or not → the status, and for reads the fields
// shown. Master data's, delivery's and the console's tables share these
// pieces, so that each is built from its router the same way: a route
// added without a row fails the test, and so does a row for a route the
// router no longer mounts.

// EachRoute runs check, as a subtest named for the route ("GET
// /api/v1/x/{id}"), for every route h lists (httproute.RoutesOf) that has
// a row in table. It fails t for a route without a row, for a row whose
// route h does not mount, and when h lists no routes at all.
func EachRoute[Row any](t *testing.T, h http.Handler, table map[string]Row, check func(t *testing.T, r httproute.Route, row Row)) {
	t.Helper()
	routes := httproute.RoutesOf(h)
	if len(routes) == 0 {
		t.Fatal("the handler lists no routes: build it on an httproute.Mux")
	}
	seen := map[string]bool{}
	for _, r := range routes {
		key := r.String()
		seen[key] = true
		row, ok := table[key]
		if !ok {
			t.Errorf("route %s has no row in the authorisation table", key)
			continue
		}
		t.Run(key, func(t *testing.T) { check(t, r, row) })
	}
	for key := range table {
		if !seen[key] {
			t.Errorf("the authorisation table has a row for %s, which the router does not mount", key)
		}
	}
}

// EachRole splits statuses, one space-separated word per role in roles'
// order (a status such as "200", or whatever words the table's checker
// reads), and runs check for each role as a subtest named prefix+role.
// It fails t when the counts differ.
func EachRole(t *testing.T, prefix, statuses string, roles []string, check func(t *testing.T, role, want string)) {
	t.Helper()
	words := strings.Fields(statuses)
	if len(words) != len(roles) {
		t.Fatalf("%s: %d statuses for %d roles: %q", prefix, len(words), len(roles), statuses)
	}
	for i, role := range roles {
		t.Run(prefix+role, func(t *testing.T) { check(t, role, words[i]) })
	}
}

// RevokedToken issues an admin token from tokens and revokes it: the
// "revoked token" column of a table, a token that would allow everything
// were it accepted.
func RevokedToken(t testing.TB, tokens *auth.Tokens) string {
	t.Helper()
	secret, rec, err := tokens.Issue(t.Context(), auth.IssueRequest{Subject: "revoked", Kind: auth.KindUser, Name: "revoked",
		Grants: []auth.Grant{{Role: auth.RoleAdmin}}})
	if err != nil {
		t.Fatalf("hubtest: issue a token to revoke: %v", err)
	}
	if err := tokens.Store.RevokeToken(t.Context(), rec.ID, time.Now()); err != nil {
		t.Fatalf("hubtest: revoke a token: %v", err)
	}
	return secret
}

// ExpiredToken issues an admin token from tokens that expires at once,
// and waits until refused(secret) reports that the service refuses it:
// the "expired token" column of a table.
func ExpiredToken(t testing.TB, tokens *auth.Tokens, refused func(secret string) bool) string {
	t.Helper()
	secret, _, err := tokens.Issue(t.Context(), auth.IssueRequest{Subject: "expired", Kind: auth.KindUser, Name: "expired",
		Grants: []auth.Grant{{Role: auth.RoleAdmin}}, TTL: time.Millisecond})
	if err != nil {
		t.Fatalf("hubtest: issue a token that expires: %v", err)
	}
	poll.True(t.Context(), t, "the token expires", func() bool { return refused(secret) })
	return secret
}
