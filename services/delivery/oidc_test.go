package delivery_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/auth/oidctest"
	"github.com/samnav/samnav/services/delivery"
	"github.com/samnav/samnav/services/hubtest"
)

// TestBearerAccessTokens: with an issuer configured, delivery accepts
// its access tokens beside the API tokens: an auditor lists the
// subscriptions, a person without a mapped role is refused, and an access
// token for another audience is refused as unauthenticated.
func TestBearerAccessTokens(t *testing.T) {
	key := oidctest.NewECKey(t, "ec1")
	iss := oidctest.NewIssuer(t, key)
	h := startHub(t, hubtest.WithDelivery(func(c *delivery.Config, _ *delivery.Deps) {
		c.OIDC = auth.OIDCConfig{Issuer: iss.URL, Audience: "api://samnav", Claims: auth.ClaimMapping{
			Grants: map[string][]auth.Grant{"auditors": {{Role: auth.RoleAuditor}}},
		}}
	}))
	access := func(aud string, roles ...string) string {
		cl := iss.Claims(aud, "u-2", time.Now())
		cl["roles"] = roles
		return oidctest.Mint(t, key, cl)
	}
	request := map[string]any{"concept": "person", "purpose": "home care visits", "channel": "feed", "fields": []string{"givenNames"},
		"legalBasis": map[string]any{"basis": "public_task", "reference": "Socialtjänstlagen (2001:453)"}, "reason": "new"}
	for _, tc := range []struct {
		name, method, token string
		body                any
		want                int
	}{
		{"auditor lists", "GET", access("api://samnav", "auditors"), nil, http.StatusOK},
		{"auditor may not ask for a subscription", "POST", access("api://samnav", "auditors"), request, http.StatusForbidden},
		{"no mapped role may not ask", "POST", access("api://samnav", "coffee-club"), request, http.StatusForbidden},
		{"another audience", "GET", access("console", "auditors"), nil, http.StatusUnauthorized},
	} {
		if r := hubtest.Call(t, tc.method, h.DeliveryURL+"/api/v1/subscriptions", tc.token, tc.body); r.Status != tc.want {
			t.Errorf("%s: %d %s; want %d", tc.name, r.Status, r.Raw, tc.want)
		}
	}
}
