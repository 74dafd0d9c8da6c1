package auth_test

import (
	"context"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/auth/oidctest"
	"github.com/samnav/samnav/pkg/sdk/apierr"
)

const audience = "api://samnav"

// clock is a settable test clock.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }
func (c *clock) claims(iss *oidctest.Issuer) map[string]any {
	return iss.Claims(audience, "u-1", c.Now())
}

// grants is the claim mapping of the tests: one value per kind of grant.
var grants = map[string][]auth.Grant{
	"unit-stewards":  {{Role: auth.RoleSteward, Concepts: []string{"unit"}}},
	"unit-owners":    {{Role: auth.RoleOwner, Concepts: []string{"unit"}}},
	"auditors":       {{Role: auth.RoleAuditor}},
	"privacy":        {{Role: auth.RoleAuditor, ProtectedIdentities: true}},
	"samnav-admins":  {{Role: auth.RoleAdmin}},
	"hr-system":      {{Role: auth.RolePublisher, System: "hr-system"}},
	"person-editors": {{Role: auth.RoleSteward, Concepts: []string{"person", "unit"}}},
}

func newOIDC(t *testing.T, iss *oidctest.Issuer, c *clock, edit ...func(*auth.OIDCConfig)) *auth.OIDC {
	t.Helper()
	cfg := auth.OIDCConfig{Issuer: iss.URL, Audience: audience, Claims: auth.ClaimMapping{Grants: grants}, Now: c.Now}
	for _, e := range edit {
		e(&cfg)
	}
	o, err := auth.NewOIDC(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// unsigned builds a compact JWS with the given header and signature, for
// tokens no library would sign.
func unsigned(header, claims map[string]any, sign func(input string) []byte) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	input := enc(header) + "." + enc(claims)
	return input + "." + base64.RawURLEncoding.EncodeToString(sign(input))
}

// TestOIDCRefuses: every way an access token can be wrong is refused with
// 401, for the reason the row names.
func TestOIDCRefuses(t *testing.T) {
	key := oidctest.NewRSAKey(t, "k1")
	cases := []struct {
		name string
		// token mints the token; before, when set, runs first (a rotation).
		token  func(t *testing.T, iss *oidctest.Issuer, c *clock) string
		before func(t *testing.T, iss *oidctest.Issuer, c *clock, o *auth.OIDC)
		want   string
	}{
		{name: "wrong issuer", want: "different provider", token: func(t *testing.T, iss *oidctest.Issuer, c *clock) string {
			cl := c.claims(iss)
			cl["iss"] = "https://idp.example.org"
			return oidctest.Mint(t, key, cl)
		}},
		{name: "wrong audience", want: "expected audience", token: func(t *testing.T, iss *oidctest.Issuer, c *clock) string {
			cl := c.claims(iss)
			cl["aud"] = "console-client"
			return oidctest.Mint(t, key, cl)
		}},
		{name: "expired", want: "expired", token: func(t *testing.T, iss *oidctest.Issuer, c *clock) string {
			cl := c.claims(iss)
			cl["exp"] = c.Now().Add(-time.Second).Unix()
			return oidctest.Mint(t, key, cl)
		}},
		{name: "no expiry", want: "expired", token: func(t *testing.T, iss *oidctest.Issuer, c *clock) string {
			cl := c.claims(iss)
			delete(cl, "exp")
			return oidctest.Mint(t, key, cl)
		}},
		{name: "not yet valid", want: "nbf", token: func(t *testing.T, iss *oidctest.Issuer, c *clock) string {
			cl := c.claims(iss)
			cl["nbf"] = c.Now().Add(time.Hour).Unix()
			return oidctest.Mint(t, key, cl)
		}},
		{name: "alg none", want: `unexpected signature algorithm "none"`, token: func(t *testing.T, iss *oidctest.Issuer, c *clock) string {
			return unsigned(map[string]any{"alg": "none", "kid": "k1"}, c.claims(iss), func(string) []byte { return nil })
		}},
		{name: "HMAC signed with the public key", want: `unexpected signature algorithm "HS256"`, token: func(t *testing.T, iss *oidctest.Issuer, c *clock) string {
			der, err := x509.MarshalPKIXPublicKey(&key.Private.(*rsa.PrivateKey).PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
			return unsigned(map[string]any{"alg": "HS256", "kid": "k1", "typ": "JWT"}, c.claims(iss), func(in string) []byte {
				m := hmac.New(sha256.New, secret)
				m.Write([]byte(in))
				return m.Sum(nil)
			})
		}},
		{name: "unknown kid", want: "does not publish", token: func(t *testing.T, iss *oidctest.Issuer, c *clock) string {
			return oidctest.Mint(t, oidctest.NewRSAKey(t, "stranger"), c.claims(iss))
		}},
		{name: "known kid, other key", want: "signature does not verify", token: func(t *testing.T, iss *oidctest.Issuer, c *clock) string {
			return oidctest.Mint(t, oidctest.NewRSAKey(t, "k1"), c.claims(iss))
		}},
		{name: "key the issuer rotated away", want: "does not publish",
			before: func(t *testing.T, iss *oidctest.Issuer, c *clock, o *auth.OIDC) {
				// The old key worked and is cached; the issuer withdraws it.
				if _, err := o.Verify(context.Background(), oidctest.Mint(t, key, c.claims(iss))); err != nil {
					t.Fatalf("before the rotation: %v", err)
				}
				iss.Publish(oidctest.NewRSAKey(t, "k2"))
				c.Advance(auth.DefaultJWKSMaxAge)
			},
			token: func(t *testing.T, iss *oidctest.Issuer, c *clock) string { return oidctest.Mint(t, key, c.claims(iss)) }},
		{name: "no subject", want: "no sub claim", token: func(t *testing.T, iss *oidctest.Issuer, c *clock) string {
			cl := c.claims(iss)
			delete(cl, "sub")
			return oidctest.Mint(t, key, cl)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			iss := oidctest.NewIssuer(t, key)
			c := newClock()
			o := newOIDC(t, iss, c)
			if tc.before != nil {
				tc.before(t, iss, c, o)
			}
			r := httptest.NewRequest("GET", "/api/v1/unit", nil)
			r.Header.Set("Authorization", "Bearer "+tc.token(t, iss, c))
			p, err := o.Authenticate(r)
			if p != nil || !errors.Is(err, auth.ErrUnauthenticated) || apierr.CodeOf(err) != apierr.CodeUnauthorized {
				t.Fatalf("got %v, %v; want a refusal wrapping ErrUnauthenticated", p, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("refused for %q; want the reason %q", err, tc.want)
			}
		})
	}
}

// TestOIDCMapsClaims: an accepted token's principal is its subject with
// the grants the mapping gives its roles claim's values.
func TestOIDCMapsClaims(t *testing.T) {
	key := oidctest.NewECKey(t, "ec1")
	cases := []struct {
		name       string
		rolesClaim string
		extra      map[string]any
		wantName   string
		wantKind   auth.Kind
		wantGrants []auth.Grant
		wantCred   string
	}{
		{name: "steward of a concept", extra: map[string]any{"roles": []string{"unit-stewards"}, "name": "Anna Andersson"},
			wantName: "Anna Andersson", wantKind: auth.KindUser, wantCred: "oidc",
			wantGrants: []auth.Grant{{Role: auth.RoleSteward, Concepts: []string{"unit"}}}},
		{name: "several roles, unknown ones ignored, repeats once", extra: map[string]any{"roles": []string{"unit-owners", "auditors", "coffee-club", "unit-owners"}, "preferred_username": "bo", "jti": "t-9"},
			wantName: "bo", wantKind: auth.KindUser, wantCred: "oidc:t-9",
			wantGrants: []auth.Grant{{Role: auth.RoleOwner, Concepts: []string{"unit"}}, {Role: auth.RoleAuditor}}},
		{name: "privacy officer", extra: map[string]any{"roles": "privacy"},
			wantName: "u-1", wantKind: auth.KindUser, wantCred: "oidc",
			wantGrants: []auth.Grant{{Role: auth.RoleAuditor, ProtectedIdentities: true}}},
		{name: "admin from groups", rolesClaim: "groups", extra: map[string]any{"groups": []string{"samnav-admins"}, "roles": []string{"auditors"}},
			wantName: "u-1", wantKind: auth.KindUser, wantCred: "oidc", wantGrants: []auth.Grant{{Role: auth.RoleAdmin}}},
		{name: "Keycloak realm roles by a dotted path", rolesClaim: "realm_access.roles",
			extra:    map[string]any{"realm_access": map[string]any{"roles": []string{"person-editors"}}},
			wantName: "u-1", wantKind: auth.KindUser, wantCred: "oidc",
			wantGrants: []auth.Grant{{Role: auth.RoleSteward, Concepts: []string{"person", "unit"}}}},
		{name: "system by client credentials", extra: map[string]any{"roles": []string{"hr-system"}},
			wantName: "u-1", wantKind: auth.KindSystem, wantCred: "oidc",
			wantGrants: []auth.Grant{{Role: auth.RolePublisher, System: "hr-system"}}},
		{name: "no mapped role: authenticated, may do nothing", extra: map[string]any{"roles": []string{"coffee-club"}},
			wantName: "u-1", wantKind: auth.KindUser, wantCred: "oidc"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			iss := oidctest.NewIssuer(t, key)
			c := newClock()
			o := newOIDC(t, iss, c, func(cfg *auth.OIDCConfig) { cfg.Claims.RolesClaim = tc.rolesClaim })
			cl := c.claims(iss)
			for k, v := range tc.extra {
				cl[k] = v
			}
			r := httptest.NewRequest("GET", "/api/v1/unit", nil)
			r.Header.Set("Authorization", "Bearer "+oidctest.Mint(t, key, cl))
			p, err := o.Authenticate(r)
			if err != nil {
				t.Fatal(err)
			}
			if p.Subject != "u-1" || p.Name != tc.wantName || p.Kind != tc.wantKind || p.CredentialID != tc.wantCred {
				t.Fatalf("principal %+v; want subject u-1, name %q, kind %s, credential %q", p, tc.wantName, tc.wantKind, tc.wantCred)
			}
			if !slices.EqualFunc(p.Grants, tc.wantGrants, func(a, b auth.Grant) bool {
				return a.Role == b.Role && a.System == b.System && a.ProtectedIdentities == b.ProtectedIdentities && slices.Equal(a.Concepts, b.Concepts)
			}) {
				t.Fatalf("grants %+v; want %+v", p.Grants, tc.wantGrants)
			}
		})
	}
}

// TestOIDCInAChain: beside the API tokens, a JWT goes to OIDC and an
// snv_ token to Tokens; a refused JWT does not fall through to anonymous.
func TestOIDCInAChain(t *testing.T) {
	key := oidctest.NewRSAKey(t, "k1")
	iss := oidctest.NewIssuer(t, key)
	c := newClock()
	tokens := &auth.Tokens{Store: &auth.MemoryStore{}}
	secret, _, err := tokens.Issue(context.Background(), auth.IssueRequest{Subject: "hr", Kind: auth.KindSystem, Grants: []auth.Grant{{Role: auth.RolePublisher, System: "hr"}}})
	if err != nil {
		t.Fatal(err)
	}
	chain := auth.Chain{newOIDC(t, iss, c), tokens}
	cl := c.claims(iss)
	cl["roles"] = []string{"auditors"}
	expired := c.claims(iss)
	expired["exp"] = c.Now().Add(-time.Minute).Unix()
	for _, tc := range []struct{ header, subject, refusal string }{
		{header: "Bearer " + oidctest.Mint(t, key, cl), subject: "u-1"},
		{header: "Bearer " + secret, subject: "hr"},
		{header: "Bearer " + oidctest.Mint(t, key, expired), refusal: "access token expired"},
		{header: "Bearer snv_nope_nope", refusal: "token not recognised"},
		{header: ""},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		if tc.header != "" {
			r.Header.Set("Authorization", tc.header)
		}
		p, err := chain.Authenticate(r)
		switch {
		case tc.refusal != "":
			if p != nil || err == nil || !strings.Contains(err.Error(), tc.refusal) {
				t.Errorf("%.20s...: got %v, %v; want refused for %q", tc.header, p, err, tc.refusal)
			}
		case tc.subject == "":
			if p != nil || err != nil {
				t.Errorf("no credentials: got %v, %v; want anonymous", p, err)
			}
		case err != nil || p == nil || p.Subject != tc.subject:
			t.Errorf("%.20s...: got %v, %v; want %s", tc.header, p, err, tc.subject)
		}
	}
}

// TestOIDCKeyFetchesDoNotStorm: 1,000 concurrent validations naming keys
// the cache does not hold cost one fetch of the issuer's JWKS, which
// brings the key the issuer rotated in; tokens naming keys nobody
// publishes are refused without fetching again within the minimum
// refresh interval, however many arrive.
func TestOIDCKeyFetchesDoNotStorm(t *testing.T) {
	old, rotated := oidctest.NewRSAKey(t, "old"), oidctest.NewECKey(t, "new")
	iss := oidctest.NewIssuer(t, old)
	c := newClock()
	o := newOIDC(t, iss, c)
	ctx := context.Background()
	if _, err := o.Verify(ctx, oidctest.Mint(t, old, c.claims(iss))); err != nil {
		t.Fatal(err)
	}
	if n := iss.JWKSFetches(); n != 1 {
		t.Fatalf("warming the cache fetched the JWKS %d times; want 1", n)
	}
	iss.Publish(old, rotated)
	c.Advance(auth.DefaultJWKSMinRefresh)

	good := oidctest.Mint(t, rotated, c.claims(iss))
	strangers := make([]string, 8)
	for i := range strangers {
		strangers[i] = oidctest.Mint(t, oidctest.NewECKey(t, "made-up-"+string(rune('a'+i))), c.claims(iss))
	}
	const n = 1000
	var wg sync.WaitGroup
	var accepted, refused, other atomic.Int64
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			token := good
			if i%2 == 1 {
				token = strangers[i%len(strangers)]
			}
			_, err := o.Verify(ctx, token)
			switch {
			case err == nil && token == good:
				accepted.Add(1)
			case err != nil && token != good && strings.Contains(err.Error(), "does not publish"):
				refused.Add(1)
			default:
				other.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if accepted.Load() != n/2 || refused.Load() != n/2 || other.Load() != 0 {
		t.Fatalf("accepted %d, refused %d, other %d; want %d, %d, 0", accepted.Load(), refused.Load(), other.Load(), n/2, n/2)
	}
	if got := iss.JWKSFetches(); got != 2 {
		t.Fatalf("the JWKS was fetched %d times in all; want 2 (the warm-up and one refresh)", got)
	}
	if got := iss.DiscoveryFetches(); got != 1 {
		t.Fatalf("the discovery document was fetched %d times; want 1", got)
	}
	// Nor does a stream of them, one after another (go-oidc's own
	// RemoteKeySet fetches once per such token).
	for i := range 100 {
		if _, err := o.Verify(ctx, strangers[i%len(strangers)]); err == nil {
			t.Fatal("a made-up key was accepted")
		}
	}
	if got := iss.JWKSFetches(); got != 2 {
		t.Fatalf("100 made-up kids in a row fetched the JWKS %d times in all; want still 2", got)
	}
	// Past the interval, an unknown kid may fetch once more.
	c.Advance(auth.DefaultJWKSMinRefresh)
	if _, err := o.Verify(ctx, strangers[0]); err == nil {
		t.Fatal("a made-up key was accepted")
	}
	if got := iss.JWKSFetches(); got != 3 {
		t.Fatalf("after the interval the JWKS was fetched %d times in all; want 3", got)
	}
}
