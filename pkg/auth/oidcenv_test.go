package auth_test

import (
	"strings"
	"testing"

	"github.com/samnav/samnav/pkg/auth"
)

// TestLoadOIDCConfig: the settings read from SAMNAV_OIDC_*, off without
// an issuer, and every bad value reported naming its variable and rule.
func TestLoadOIDCConfig(t *testing.T) {
	valid := map[string]string{
		"SAMNAV_OIDC_ISSUER":      "https://login.example.org/tenant/v2.0",
		"SAMNAV_OIDC_AUDIENCE":    "api://samnav",
		"SAMNAV_OIDC_ROLES_CLAIM": "groups",
		"SAMNAV_OIDC_GRANTS":      `{"unit-stewards":[{"role":"steward","concepts":["unit"]}],"admins":[{"role":"admin"}]}`,
		"SAMNAV_OIDC_ALGORITHMS":  "RS256, ES256",
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range valid {
			m[a] = b
		}
		m[k] = v
		return m
	}
	cases := []struct {
		name string
		env  map[string]string
		want []string // "" = valid
	}{
		{name: "unset is off", env: map[string]string{}},
		{name: "off ignores the rest", env: with("SAMNAV_OIDC_ISSUER", "")},
		{name: "valid", env: valid},
		{name: "issuer not a URL", env: with("SAMNAV_OIDC_ISSUER", "login.example.org"), want: []string{"SAMNAV_OIDC_ISSUER: must be an http(s) URL"}},
		{name: "no audience", env: with("SAMNAV_OIDC_AUDIENCE", " "), want: []string{"SAMNAV_OIDC_AUDIENCE: must be set"}},
		{name: "HMAC algorithm", env: with("SAMNAV_OIDC_ALGORITHMS", "RS256,HS256"), want: []string{`SAMNAV_OIDC_ALGORITHMS: "HS256" is not allowed`}},
		{name: "alg none", env: with("SAMNAV_OIDC_ALGORITHMS", "none"), want: []string{`SAMNAV_OIDC_ALGORITHMS: "none" is not allowed`}},
		{name: "no grants", env: with("SAMNAV_OIDC_GRANTS", ""), want: []string{"SAMNAV_OIDC_GRANTS: must map at least one claim value"}},
		{name: "grants not JSON", env: with("SAMNAV_OIDC_GRANTS", "stewards=steward:unit"), want: []string{"SAMNAV_OIDC_GRANTS: must be a JSON object"}},
		{name: "misspelt grant field", env: with("SAMNAV_OIDC_GRANTS", `{"s":[{"role":"steward","concept":["unit"]}]}`), want: []string{`SAMNAV_OIDC_GRANTS: must be a JSON object`, `unknown field "concept"`}},
		{name: "invalid grant", env: with("SAMNAV_OIDC_GRANTS", `{"s":[{"role":"steward"}]}`), want: []string{`SAMNAV_OIDC_GRANTS["s"][0]: concepts: a steward grant must name at least one concept`}},
		{name: "unknown role", env: with("SAMNAV_OIDC_GRANTS", `{"s":[{"role":"king"}]}`), want: []string{`SAMNAV_OIDC_GRANTS["s"][0]: role "king": must be one of`}},
		{name: "value without grants", env: with("SAMNAV_OIDC_GRANTS", `{"s":[]}`), want: []string{`SAMNAV_OIDC_GRANTS["s"]: must list at least one grant`}},
		{name: "bad duration", env: with("SAMNAV_OIDC_JWKS_MAX_AGE", "soon"), want: []string{`SAMNAV_OIDC_JWKS_MAX_AGE: must be a duration`}},
		{name: "negative duration", env: with("SAMNAV_OIDC_JWKS_MIN_REFRESH", "-1s"), want: []string{`SAMNAV_OIDC_JWKS_MIN_REFRESH: must not be negative`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := auth.LoadOIDCConfig(func(k string) string { return tc.env[k] }, "SAMNAV_")
			if err == nil {
				err = c.Validate()
			}
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted %+v; want %q", c, tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("got %q; want it to say %q", err, w)
				}
			}
		})
	}
	c, err := auth.LoadOIDCConfig(func(k string) string { return valid[k] }, "SAMNAV_")
	if err != nil || !c.Enabled() || c.Claims.RolesClaim != "groups" || len(c.Claims.Grants["unit-stewards"]) != 1 ||
		c.Claims.Grants["unit-stewards"][0].Concepts[0] != "unit" || strings.Join(c.Algorithms, ",") != "RS256,ES256" {
		t.Fatalf("read %+v, %v", c, err)
	}
}
