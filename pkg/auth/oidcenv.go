package auth

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// The environment variables of OIDCConfig, after a prefix (SAMNAV_ for
// the daemons: SAMNAV_OIDC_ISSUER ...).
const (
	EnvOIDCIssuer         = "OIDC_ISSUER"
	EnvOIDCAudience       = "OIDC_AUDIENCE"
	EnvOIDCRolesClaim     = "OIDC_ROLES_CLAIM"
	EnvOIDCGrants         = "OIDC_GRANTS"
	EnvOIDCAlgorithms     = "OIDC_ALGORITHMS"
	EnvOIDCJWKSMinRefresh = "OIDC_JWKS_MIN_REFRESH"
	EnvOIDCJWKSMaxAge     = "OIDC_JWKS_MAX_AGE"
)

// LoadOIDCConfig reads an OIDCConfig from prefix+EnvOIDC* through getenv.
// It does not validate (Validate does, naming the variables); a value it
// cannot read is reported, naming its variable. With no issuer set the
// config is off, whatever else is set.
func LoadOIDCConfig(getenv func(string) string, prefix string) (OIDCConfig, error) {
	c := OIDCConfig{
		Issuer:   strings.TrimSpace(getenv(prefix + EnvOIDCIssuer)),
		Audience: strings.TrimSpace(getenv(prefix + EnvOIDCAudience)),
		Claims:   ClaimMapping{RolesClaim: strings.TrimSpace(getenv(prefix + EnvOIDCRolesClaim))},
		env:      prefix,
	}
	for a := range strings.SplitSeq(getenv(prefix+EnvOIDCAlgorithms), ",") {
		if a = strings.TrimSpace(a); a != "" {
			c.Algorithms = append(c.Algorithms, a)
		}
	}
	var errs []error
	if v := getenv(prefix + EnvOIDCGrants); strings.TrimSpace(v) != "" {
		g, err := ParseClaimGrants(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s%s: %w", prefix, EnvOIDCGrants, err))
		}
		c.Claims.Grants = g
	}
	for _, d := range []struct {
		name string
		to   *time.Duration
	}{{EnvOIDCJWKSMinRefresh, &c.JWKSMinRefresh}, {EnvOIDCJWKSMaxAge, &c.JWKSMaxAge}} {
		if v := getenv(prefix + d.name); v != "" {
			t, err := time.ParseDuration(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s%s: must be a duration such as 30s or 5m, got %q", prefix, d.name, v))
			}
			*d.to = t
		}
	}
	return c, errors.Join(errs...)
}

// name names a setting in an error: its environment variable when the
// config was loaded from the environment, else its field.
func (c OIDCConfig) name(field, env string) string {
	if c.env != "" {
		return c.env + env
	}
	return field
}

// Validate reports every problem with c at once, each naming the variable
// (or field) and the rule. A config without an issuer is off and valid.
func (c OIDCConfig) Validate() error {
	if !c.Enabled() {
		return nil
	}
	var errs []error
	if !strings.HasPrefix(c.Issuer, "https://") && !strings.HasPrefix(c.Issuer, "http://") {
		errs = append(errs, fmt.Errorf("%s: must be an http(s) URL, got %q", c.name("Issuer", EnvOIDCIssuer), c.Issuer))
	}
	if c.Audience == "" {
		errs = append(errs, fmt.Errorf("%s: must be set with an issuer (the APIs' identifier at the provider)", c.name("Audience", EnvOIDCAudience)))
	}
	for _, a := range c.Algorithms {
		if !slices.Contains(oidcAlgorithms, a) {
			errs = append(errs, fmt.Errorf("%s: %q is not allowed; use asymmetric algorithms from %v", c.name("Algorithms", EnvOIDCAlgorithms), a, oidcAlgorithms))
		}
	}
	if c.JWKSMinRefresh < 0 {
		errs = append(errs, fmt.Errorf("%s: must not be negative, got %s", c.name("JWKSMinRefresh", EnvOIDCJWKSMinRefresh), c.JWKSMinRefresh))
	}
	if c.JWKSMaxAge < 0 {
		errs = append(errs, fmt.Errorf("%s: must not be negative, got %s", c.name("JWKSMaxAge", EnvOIDCJWKSMaxAge), c.JWKSMaxAge))
	}
	grants := c.name("Claims.Grants", EnvOIDCGrants)
	if len(c.Claims.Grants) == 0 {
		errs = append(errs, fmt.Errorf("%s: must map at least one claim value to grants, or nobody signing in may do anything", grants))
	}
	for _, v := range slices.Sorted(maps.Keys(c.Claims.Grants)) {
		if strings.TrimSpace(v) == "" {
			errs = append(errs, fmt.Errorf("%s: a claim value must not be empty", grants))
		}
		if len(c.Claims.Grants[v]) == 0 {
			errs = append(errs, fmt.Errorf("%s[%q]: must list at least one grant", grants, v))
		}
		for i, g := range c.Claims.Grants[v] {
			if err := g.Validate(); err != nil {
				errs = append(errs, fmt.Errorf("%s[%q][%d]: %w", grants, v, i, err))
			}
		}
	}
	return errors.Join(errs...)
}
