package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"

	"github.com/samnav/samnav/pkg/sdk/apierr"
)

// Defaults of OIDCConfig.
const (
	DefaultOIDCRolesClaim  = "roles"
	DefaultJWKSMinRefresh  = 10 * time.Second
	DefaultJWKSMaxAge      = 5 * time.Minute
	defaultOIDCHTTPTimeout = 10 * time.Second
)

// DefaultOIDCAlgorithms is the signature allow-list when none is
// configured: the asymmetric algorithms identity providers sign with.
var DefaultOIDCAlgorithms = []string{"RS256", "PS256", "ES256"}

// oidcAlgorithms are the algorithms an allow-list may name: asymmetric
// only. "none" and the HMAC algorithms are never accepted: a JWKS holds
// public keys, and an HMAC "signed" with one proves nothing.
var oidcAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// OIDCConfig configures bearer access tokens issued by an OpenID Provider
// (the city's Entra ID or Keycloak, or the development provider of
// `samnav dev`). The zero value (no Issuer) turns them off.
type OIDCConfig struct {
	// Issuer is the provider's issuer URL, exactly as in the tokens' iss
	// claim; its discovery document is Issuer + /.well-known/openid-configuration.
	Issuer string
	// Audience is the value the tokens' aud claim must contain: the APIs'
	// identifier at the provider (an application id URI or client id).
	Audience string
	// Algorithms is the allow-list of signature algorithms;
	// empty means DefaultOIDCAlgorithms.
	Algorithms []string
	// Claims maps the tokens' claims to grants.
	Claims ClaimMapping
	// JWKSMinRefresh is the least time between two fetches of the
	// issuer's keys, however many tokens name unknown keys; 0 means
	// DefaultJWKSMinRefresh.
	JWKSMinRefresh time.Duration
	// JWKSMaxAge is how long fetched keys are used before they are
	// fetched again (so a key the issuer withdrew stops working); 0 means
	// DefaultJWKSMaxAge.
	JWKSMaxAge time.Duration
	// HTTPClient fetches discovery and keys; nil means a client with a
	// 10 s timeout.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives a line when the provider cannot be reached (the
	// refusal itself says only "unavailable"); nil means slog.Default().
	Logger *slog.Logger

	// env is the variables' prefix when LoadOIDCConfig read c, so that
	// Validate names the variables rather than the fields.
	env string
}

// Enabled reports whether an issuer is configured.
func (c OIDCConfig) Enabled() bool { return c.Issuer != "" }

// ClaimMapping turns an access token's claims into a Principal: the
// provider keeps who holds which role (its app roles or groups), and the
// mapping says what each role may do in Samnav.
type ClaimMapping struct {
	// RolesClaim names the claim listing the person's roles or groups
	// (a string or an array of strings): a top-level claim ("roles" for
	// Entra ID app roles, "groups"), or a dotted path into nested objects
	// ("realm_access.roles" for Keycloak realm roles). Empty means
	// DefaultOIDCRolesClaim.
	RolesClaim string
	// Grants gives each value of RolesClaim the grants it carries
	// (Grant.Validate holds for each). A value not listed gives nothing:
	// its holder is authenticated but may do nothing.
	Grants map[string][]Grant
}

// ParseClaimGrants reads a claim mapping's grants from JSON, an object
// from claim value to a list of grants in the tokens API's form:
// {"samnav-stewards-unit":[{"role":"steward","concepts":["unit"]}]}.
// Unknown fields are refused, so a misspelt one is not silently dropped.
func ParseClaimGrants(s string) (map[string][]Grant, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	var m map[string][]Grant
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("must be a JSON object from claim value to a list of grants: %w", err)
	}
	return m, nil
}

// OIDC authenticates requests carrying an OpenID Provider's JWT access
// token as a bearer token: it checks the signature against the issuer's
// published keys (its discovery document's jwks_uri), the algorithm
// allow-list, the issuer, the audience, expiry and not-before, and maps
// the claims to grants (ClaimMapping). It is safe for concurrent use.
//
// Put it before Tokens in a Chain: it takes only JWT-shaped bearer
// tokens and leaves everything else (snv_ tokens, basic auth) to the next
// authenticator.
type OIDC struct {
	cfg    OIDCConfig
	client *http.Client
	now    func() time.Time

	mu       sync.Mutex
	verifier *oidc.IDTokenVerifier
	tried    time.Time // last discovery attempt, for its throttle
	lastErr  error
}

var _ Authenticator = (*OIDC)(nil)

// NewOIDC returns an authenticator for cfg, which must be valid and
// enabled. It reaches the provider only when the first token arrives, so
// a service starts while the provider is down.
func NewOIDC(cfg OIDCConfig) (*OIDC, error) {
	if !cfg.Enabled() {
		return nil, errors.New("oidc: issuer: must be set")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("oidc: %w", err)
	}
	if len(cfg.Algorithms) == 0 {
		cfg.Algorithms = DefaultOIDCAlgorithms
	}
	if cfg.Claims.RolesClaim == "" {
		cfg.Claims.RolesClaim = DefaultOIDCRolesClaim
	}
	if cfg.JWKSMinRefresh == 0 {
		cfg.JWKSMinRefresh = DefaultJWKSMinRefresh
	}
	if cfg.JWKSMaxAge == 0 {
		cfg.JWKSMaxAge = DefaultJWKSMaxAge
	}
	o := &OIDC{cfg: cfg, client: cfg.HTTPClient, now: cfg.Now}
	if o.client == nil {
		o.client = &http.Client{Timeout: defaultOIDCHTTPTimeout}
	}
	if o.now == nil {
		o.now = time.Now
	}
	return o, nil
}

// Authenticate implements Authenticator. A request whose bearer token is
// not a JWT is not this authenticator's: (nil, nil).
func (o *OIDC) Authenticate(r *http.Request) (*Principal, error) {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "Bearer") || !looksLikeJWT(token) {
		return nil, nil
	}
	return o.Verify(r.Context(), token)
}

// looksLikeJWT tells a compact JWS (three dot-separated parts) from an
// snv_ API token, which has no dots.
func looksLikeJWT(s string) bool {
	return strings.Count(s, ".") == 2 && !strings.HasPrefix(s, tokenPrefix)
}

// Verify returns the principal an access token stands for. A token that
// does not verify wraps ErrUnauthenticated and says why, never echoing the
// token; a provider that cannot be reached is unavailable (503).
func (o *OIDC) Verify(ctx context.Context, token string) (*Principal, error) {
	v, err := o.verifierFor(ctx)
	if err != nil {
		return nil, err
	}
	idt, err := v.Verify(ctx, token)
	if err != nil {
		return nil, refused(err)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return nil, refused(err)
	}
	if idt.Subject == "" {
		return nil, apierr.Errorf(apierr.CodeUnauthorized, "%w: access token has no sub claim", ErrUnauthenticated)
	}
	return o.principal(idt.Subject, claims), nil
}

func refused(err error) error {
	var expired *oidc.TokenExpiredError
	if errors.As(err, &expired) {
		return apierr.Errorf(apierr.CodeUnauthorized, "%w: access token expired", ErrUnauthenticated)
	}
	return apierr.Errorf(apierr.CodeUnauthorized, "%w: access token refused: %v", ErrUnauthenticated, err)
}

// principal maps verified claims to a Principal. A person holding no
// mapped role gets a principal without grants: authenticated, and
// refused (403) by everything that needs a grant.
func (o *OIDC) principal(sub string, claims map[string]any) *Principal {
	p := &Principal{Subject: sub, Kind: KindUser, Name: sub, CredentialID: "oidc"}
	for _, c := range []string{"name", "preferred_username"} {
		if s, ok := claims[c].(string); ok && s != "" {
			p.Name = s
			break
		}
	}
	if jti, ok := claims["jti"].(string); ok && jti != "" {
		p.CredentialID = "oidc:" + jti
	}
	for _, v := range claimValues(claims, o.cfg.Claims.RolesClaim) {
		for _, g := range o.cfg.Claims.Grants[v] {
			if !slices.ContainsFunc(p.Grants, func(h Grant) bool { return sameGrant(g, h) }) {
				p.Grants = append(p.Grants, g)
			}
		}
	}
	// A client-credentials token of a system acting as a publisher or
	// subscriber is a system, as its API token would be.
	if p.System() != "" {
		p.Kind = KindSystem
	}
	return p
}

func sameGrant(a, b Grant) bool {
	return a.Role == b.Role && a.System == b.System && a.ProtectedIdentities == b.ProtectedIdentities && slices.Equal(a.Concepts, b.Concepts)
}

// claimValues returns the strings of claim name: the top-level claim of
// that name if there is one, else the dotted path into nested objects.
// A string claim is one value; an array gives its strings.
func claimValues(claims map[string]any, name string) []string {
	v, ok := claims[name]
	if !ok {
		var cur any = claims
		for part := range strings.SplitSeq(name, ".") {
			m, isMap := cur.(map[string]any)
			if !isMap {
				return nil
			}
			cur = m[part]
		}
		v = cur
	}
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// verifierFor returns the verifier, reading the issuer's discovery
// document first if that has not succeeded yet (at most once per
// JWKSMinRefresh, so a provider that is down is not asked per request).
func (o *OIDC) verifierFor(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.verifier != nil {
		return o.verifier, nil
	}
	if !o.tried.IsZero() && o.now().Sub(o.tried) < o.cfg.JWKSMinRefresh {
		return nil, o.lastErr
	}
	o.tried = o.now()
	v, err := o.discover(ctx)
	if err != nil {
		o.logger().Warn("oidc discovery failed", "issuer", o.cfg.Issuer, "err", err)
		o.lastErr = apierr.Errorf(apierr.CodeUnavailable, "identity provider unavailable: its discovery document could not be read")
		return nil, o.lastErr
	}
	o.verifier = v
	return v, nil
}

func (o *OIDC) logger() *slog.Logger {
	if o.cfg.Logger != nil {
		return o.cfg.Logger
	}
	return slog.Default()
}

// discover reads the discovery document (go-oidc checks that it names
// the configured issuer) and builds the verifier over a keySet on its
// jwks_uri.
func (o *OIDC) discover(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	provider, err := oidc.NewProvider(oidc.ClientContext(ctx, o.client), o.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("discover %s: %w", o.cfg.Issuer, err)
	}
	var doc struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := provider.Claims(&doc); err != nil || doc.JWKSURI == "" {
		return nil, fmt.Errorf("discover %s: no jwks_uri", o.cfg.Issuer)
	}
	algs := make([]jose.SignatureAlgorithm, len(o.cfg.Algorithms))
	for i, a := range o.cfg.Algorithms {
		algs[i] = jose.SignatureAlgorithm(a)
	}
	keys := &keySet{url: doc.JWKSURI, client: o.client, now: o.now, algs: algs,
		minRefresh: o.cfg.JWKSMinRefresh, maxAge: o.cfg.JWKSMaxAge}
	return oidc.NewVerifier(o.cfg.Issuer, keys, &oidc.Config{
		ClientID:             o.cfg.Audience,
		SupportedSigningAlgs: o.cfg.Algorithms,
		Now:                  o.now,
	}), nil
}

// WithOIDC returns a with bearer access tokens of cfg's issuer accepted
// before it (Chain{OIDC, a}), or a itself when cfg has no issuer: what a
// service configured with SAMNAV_OIDC_* authenticates with. logger, when
// not nil and cfg has none, receives the OIDC authenticator's lines.
func WithOIDC(a Authenticator, cfg OIDCConfig, logger *slog.Logger) (Authenticator, error) {
	if !cfg.Enabled() {
		return a, nil
	}
	if cfg.Logger == nil {
		cfg.Logger = logger
	}
	o, err := NewOIDC(cfg)
	if err != nil {
		return nil, err
	}
	if a == nil {
		return o, nil
	}
	return Chain{o, a}, nil
}
