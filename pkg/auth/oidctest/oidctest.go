// Package oidctest runs an OpenID Provider's token-checking side for
// tests: an httptest server with a discovery document and a JWKS whose
// keys the test generates, rotates and counts fetches of, and a Mint that
// signs access tokens with them. It issues no tokens over HTTP (that is
// the development provider's job); it lets tests of auth.OIDC and of the
// services behind it hold the keys.
package oidctest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Key is a signing key of the issuer.
type Key struct {
	ID  string
	Alg jose.SignatureAlgorithm
	// Private is an *rsa.PrivateKey or *ecdsa.PrivateKey.
	Private any
}

// NewRSAKey generates a 2048-bit RSA key for RS256.
func NewRSAKey(t testing.TB, id string) Key {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("generate RSA key: %v", err)
	}
	return Key{ID: id, Alg: jose.RS256, Private: k}
}

// NewECKey generates a P-256 key for ES256.
func NewECKey(t testing.TB, id string) Key {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generate EC key: %v", err)
	}
	return Key{ID: id, Alg: jose.ES256, Private: k}
}

// Public returns the key's public half as a JWK.
func (k Key) Public() jose.JSONWebKey {
	var pub any
	switch p := k.Private.(type) {
	case *rsa.PrivateKey:
		pub = &p.PublicKey
	case *ecdsa.PrivateKey:
		pub = &p.PublicKey
	}
	return jose.JSONWebKey{Key: pub, KeyID: k.ID, Algorithm: string(k.Alg), Use: "sig"}
}

// Issuer is a test OpenID Provider's discovery and key endpoints.
type Issuer struct {
	// URL is the issuer URL (the server's root).
	URL string

	srv       *httptest.Server
	mu        sync.Mutex
	published []Key
	jwks      atomic.Int64
	discovery atomic.Int64
}

// NewIssuer starts an issuer publishing keys, closed when the test ends.
func NewIssuer(t testing.TB, keys ...Key) *Issuer {
	t.Helper()
	iss := &Issuer{published: keys}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		iss.discovery.Add(1)
		writeJSON(w, map[string]any{
			"issuer":                                iss.URL,
			"jwks_uri":                              iss.URL + "/keys",
			"authorization_endpoint":                iss.URL + "/authorize",
			"token_endpoint":                        iss.URL + "/token",
			"response_types_supported":              []string{"code"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
		})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, _ *http.Request) {
		iss.jwks.Add(1)
		iss.mu.Lock()
		set := jose.JSONWebKeySet{}
		for _, k := range iss.published {
			set.Keys = append(set.Keys, k.Public())
		}
		iss.mu.Unlock()
		writeJSON(w, set)
	})
	iss.srv = httptest.NewServer(mux)
	iss.URL = iss.srv.URL
	t.Cleanup(iss.srv.Close)
	return iss
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// Publish replaces the published keys (a rotation).
func (iss *Issuer) Publish(keys ...Key) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.published = keys
}

// JWKSFetches counts the GETs of the key set so far.
func (iss *Issuer) JWKSFetches() int64 { return iss.jwks.Load() }

// DiscoveryFetches counts the GETs of the discovery document so far.
func (iss *Issuer) DiscoveryFetches() int64 { return iss.discovery.Load() }

// Claims returns the registered claims of an access token for audience
// and subject, valid from now for an hour; the caller adds or changes any.
func (iss *Issuer) Claims(audience, subject string, now time.Time) map[string]any {
	return map[string]any{
		"iss": iss.URL, "aud": audience, "sub": subject,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
}

// Mint signs claims with key, whether or not the issuer publishes it.
func Mint(t testing.TB, key Key, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: key.Alg, Key: jose.JSONWebKey{Key: key.Private, KeyID: key.ID}},
		(&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		t.Fatalf("signer: %v", err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatalf("encode claims: %v", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatalf("serialize: %v", err)
	}
	return s
}
