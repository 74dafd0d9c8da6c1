package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// maxJWKSBytes bounds the key set document read from an issuer.
const maxJWKSBytes = 1 << 20

// errUnknownKey is a token signed with a key the issuer does not publish
// (or no longer does): an unknown kid, or a key rotated away.
var errUnknownKey = errors.New("signed with a key the issuer does not publish")

// keySet is the issuer's published signing keys (its JWKS), cached. It
// implements go-oidc's KeySet, so go-oidc's verifier checks the claims and
// the algorithm allow-list while the keys come from here.
//
// Why not go-oidc's RemoteKeySet: it fetches the key set again on every
// verification that misses its cache, coalescing only the fetches that
// overlap in time, so a stream of tokens with made-up kids makes the
// service fetch the issuer's JWKS once per token. keySet fetches at most
// once per minRefresh, whatever the tokens say, and all verifications
// waiting on a fetch share it. Keys older than maxAge are fetched again
// on the next verification, so a key the issuer rotated away stops being
// accepted within maxAge (plus minRefresh).
type keySet struct {
	url        string
	client     *http.Client
	now        func() time.Time
	algs       []jose.SignatureAlgorithm
	minRefresh time.Duration
	maxAge     time.Duration

	mu       sync.Mutex
	keys     []jose.JSONWebKey
	version  int       // counts successful fetches, so a waiter sees whether keys changed
	fetched  time.Time // when keys were last fetched successfully
	tried    time.Time // when the last fetch started, successful or not
	inflight chan struct{}
	lastErr  error
}

// VerifySignature returns the payload of jwt if a published key with its
// kid verifies it. A kid the cache does not hold makes one fetch, unless
// one started less than minRefresh ago.
func (k *keySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(jwt, k.algs)
	if err != nil {
		return nil, fmt.Errorf("parse token: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("parse token: want exactly one signature")
	}
	sig := jws.Signatures[0].Header
	keys, version, err := k.current(ctx)
	if err != nil {
		return nil, err
	}
	payload, known, err := verifyWith(jws, sig, keys)
	if known || err == nil {
		return payload, err
	}
	keys, err = k.refresh(ctx, version)
	if err != nil {
		return nil, err
	}
	payload, _, err = verifyWith(jws, sig, keys)
	return payload, err
}

// verifyWith tries the keys carrying the token's kid (all keys when it
// names none). known reports that some key had the kid, so a failure is a
// bad signature, not a key to look for at the issuer.
func verifyWith(jws *jose.JSONWebSignature, sig jose.Header, keys []jose.JSONWebKey) (payload []byte, known bool, err error) {
	for i := range keys {
		key := &keys[i]
		if sig.KeyID != "" && key.KeyID != sig.KeyID {
			continue
		}
		if key.Algorithm != "" && key.Algorithm != sig.Algorithm {
			continue
		}
		known = sig.KeyID != ""
		if payload, err := jws.Verify(key); err == nil {
			return payload, true, nil
		}
	}
	if known {
		return nil, true, errors.New("signature does not verify")
	}
	return nil, false, errUnknownKey
}

// current returns the cached keys, fetching them first when there are
// none yet or they are older than maxAge (and no fetch started within
// minRefresh). Stale keys are kept when a fetch fails.
func (k *keySet) current(ctx context.Context) ([]jose.JSONWebKey, int, error) {
	k.mu.Lock()
	fresh := k.version > 0 && k.now().Sub(k.fetched) < k.maxAge
	keys, version := k.keys, k.version
	k.mu.Unlock()
	if fresh {
		return keys, version, nil
	}
	keys, err := k.refresh(ctx, version)
	k.mu.Lock()
	defer k.mu.Unlock()
	if err != nil && k.version == 0 {
		return nil, 0, err
	}
	return keys, k.version, nil
}

// refresh fetches the key set unless it changed since the caller saw
// version, a fetch is under way (then it waits for that one), or one
// started less than minRefresh ago. It returns the keys to use.
func (k *keySet) refresh(ctx context.Context, version int) ([]jose.JSONWebKey, error) {
	k.mu.Lock()
	if k.version != version {
		keys := k.keys
		k.mu.Unlock()
		return keys, nil
	}
	wait := k.inflight
	if wait == nil {
		if !k.tried.IsZero() && k.now().Sub(k.tried) < k.minRefresh {
			keys, err := k.keys, k.lastErr
			k.mu.Unlock()
			if len(keys) == 0 && err != nil {
				return nil, err
			}
			return keys, nil
		}
		wait = make(chan struct{})
		k.inflight = wait
		k.tried = k.now()
		// The fetch runs on its own: a caller giving up must not fail
		// the others waiting for it.
		go k.fetch(context.WithoutCancel(ctx), wait)
	}
	k.mu.Unlock()
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for the issuer's keys: %w", ctx.Err())
	case <-wait:
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.keys) == 0 && k.lastErr != nil {
		return nil, k.lastErr
	}
	return k.keys, nil
}

// fetch reads the key set and publishes it (or the failure), then wakes
// the waiters.
func (k *keySet) fetch(ctx context.Context, done chan struct{}) {
	keys, err := k.download(ctx)
	k.mu.Lock()
	defer k.mu.Unlock()
	if err == nil {
		k.keys, k.fetched, k.lastErr = keys, k.now(), nil
		k.version++
	} else {
		k.lastErr = err
	}
	k.inflight = nil
	close(done)
}

// download GETs the JWKS. Keys of a type or algorithm this side cannot
// use, private or symmetric keys, and keys not for signatures are left
// out rather than failing the whole set (RFC 7517 section 5).
func (k *keySet) download(ctx context.Context) ([]jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch issuer keys: %w", err)
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch issuer keys: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch issuer keys: status %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes))
	if err != nil {
		return nil, fmt.Errorf("fetch issuer keys: %w", err)
	}
	var raw struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("fetch issuer keys: decode: %w", err)
	}
	keys := make([]jose.JSONWebKey, 0, len(raw.Keys))
	for _, m := range raw.Keys {
		var key jose.JSONWebKey
		if err := json.Unmarshal(m, &key); err != nil {
			continue
		}
		if !key.Valid() || !key.IsPublic() || (key.Use != "" && key.Use != "sig") {
			continue
		}
		keys = append(keys, key)
	}
	return keys, nil
}
