package masterdata_test

import (
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/auth/oidctest"
	"github.com/samnav/samnav/services/masterdata"
)

// TestBearerAccessTokensBesideAPITokens: with an issuer configured, a
// steward signed in at the city's provider writes with its access token
// and the history names that person; a person the mapping gives no grant
// is refused (403), an expired access token is refused (401), and API
// tokens work as before.
func TestBearerAccessTokensBesideAPITokens(t *testing.T) {
	key := oidctest.NewRSAKey(t, "k1")
	iss := oidctest.NewIssuer(t, key)
	a := startAPIWith(t, masterdata.Config{OIDC: auth.OIDCConfig{Issuer: iss.URL, Audience: "api://samnav", Claims: auth.ClaimMapping{
		RolesClaim: "groups",
		Grants:     map[string][]auth.Grant{"unit-stewards": {{Role: auth.RoleSteward, Concepts: []string{"unit"}}}},
	}}}, masterdata.Deps{})
	access := func(groups []string, exp time.Time) string {
		cl := iss.Claims("api://samnav", "7f3c-anna", time.Now())
		cl["groups"], cl["name"], cl["exp"] = groups, "Anna Andersson", exp.Unix()
		return oidctest.Mint(t, key, cl)
	}
	steward := access([]string{"unit-stewards"}, time.Now().Add(time.Hour))

	c := a.do("POST", "/api/v1/unit", steward, unit("Solskolan"), "Samnav-Reason", "new school")
	if c.status != 201 {
		t.Fatalf("steward's access token: %d %s", c.status, c.raw)
	}
	h := a.do("GET", "/api/v1/unit/"+c.body["id"].(string)+"/history", steward, nil)
	changes, _ := h.body["changes"].([]any)
	if len(changes) != 1 {
		t.Fatalf("history: %d %s", h.status, h.raw)
	}
	actor := changes[0].(map[string]any)["actor"].(map[string]any)
	if actor["subject"] != "7f3c-anna" || actor["credentialId"] != "oidc" {
		t.Fatalf("the history must name the person signed in at the provider: %v", actor)
	}
	if r := a.do("POST", "/api/v1/unit", access([]string{"coffee-club"}, time.Now().Add(time.Hour)), unit("Månskolan")); r.status != 403 {
		t.Fatalf("a person without the steward role: %d %s; want 403", r.status, r.raw)
	}
	if r := a.do("GET", "/api/v1/unit", access([]string{"unit-stewards"}, time.Now().Add(-time.Minute)), nil); r.status != 401 {
		t.Fatalf("an expired access token: %d %s; want 401", r.status, r.raw)
	}
	if r := a.do("POST", "/api/v1/unit", a.token("bo", auth.Grant{Role: auth.RoleSteward, Concepts: []string{"unit"}}), unit("Stjärnskolan")); r.status != 201 {
		t.Fatalf("an API token beside the issuer: %d %s", r.status, r.raw)
	}
}
