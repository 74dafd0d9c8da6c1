package auth_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/auth"
)

// countingStore counts the lookups that reach the store: a blocked login
// must be refused before its secret is looked at.
type countingStore struct {
	auth.MemoryStore
	lookups atomic.Int64
}

func (s *countingStore) TokenByID(ctx context.Context, id string) (auth.TokenRecord, error) {
	s.lookups.Add(1)
	return s.MemoryStore.TokenByID(ctx, id)
}

type limitHarness struct {
	tokens *auth.Tokens
	store  *countingStore
	now    time.Time
	log    *bytes.Buffer
}

func newLimitHarness(t *testing.T) *limitHarness {
	h := &limitHarness{store: &countingStore{}, now: time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC), log: &bytes.Buffer{}}
	h.tokens = &auth.Tokens{Store: h.store, Now: func() time.Time { return h.now },
		Logger: slog.New(slog.NewTextHandler(h.log, nil))}
	return h
}

func (h *limitHarness) issue(t *testing.T, subject string) string {
	t.Helper()
	tok, _, err := h.tokens.Issue(context.Background(), auth.IssueRequest{Subject: subject, Kind: auth.KindSystem, Grants: []auth.Grant{{Role: auth.RoleAdmin}}})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// login authenticates a request carrying token from addr.
func (h *limitHarness) login(token, addr string) error {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = addr + ":40000"
	r.Header.Set("Authorization", "Bearer "+token)
	_, err := h.tokens.Authenticate(r)
	return err
}

func wrong(token string) string { return token[:len(token)-4] + "AAAA" }

func tooMany(err error) bool {
	return errors.Is(err, auth.ErrUnauthenticated) && strings.Contains(err.Error(), "too many failed logins")
}

func TestFailedLoginsAreLimitedPerSource(t *testing.T) {
	h := newLimitHarness(t)
	tok := h.issue(t, "hr")
	other := h.issue(t, "school")
	refused := 0
	for range 300 {
		if err := h.login(wrong(tok), "198.51.100.7"); tooMany(err) {
			refused++
		} else if !errors.Is(err, auth.ErrUnauthenticated) {
			t.Fatalf("a wrong secret: %v", err)
		}
	}
	// Five free failures and the sixth, which blocks; the other 294 never
	// reach the store.
	if refused != 294 || h.store.lookups.Load() != 6 {
		t.Fatalf("%d of 300 wrong secrets refused as too many, %d looked up; want 294 and 6", refused, h.store.lookups.Load())
	}
	// The source is blocked whatever it sends; another source is not.
	if err := h.login(other, "198.51.100.7"); !tooMany(err) {
		t.Errorf("a blocked source logged in: %v", err)
	}
	if err := h.login(other, "203.0.113.9"); err != nil {
		t.Errorf("another source was refused: %v", err)
	}
	// The delay grows: 1s, then 2s, then 4s.
	for _, d := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		h.now = h.now.Add(d - time.Millisecond)
		if err := h.login(wrong(tok), "198.51.100.7"); !tooMany(err) {
			t.Fatalf("%s after the block began the source was let through: %v", d-time.Millisecond, err)
		}
		h.now = h.now.Add(time.Millisecond)
		if err := h.login(wrong(tok), "198.51.100.7"); tooMany(err) || !errors.Is(err, auth.ErrUnauthenticated) {
			t.Fatalf("after %s the source is still blocked: %v", d, err)
		}
	}
	// The log says who and why, never the secret.
	logged := h.log.String()
	if !strings.Contains(logged, "token login failed") || !strings.Contains(logged, "198.51.100.7") || !strings.Contains(logged, "too many failed logins") {
		t.Errorf("the failures are not logged with their source:\n%.400s", logged)
	}
	secret := tok[strings.LastIndex(tok, "_")+1:]
	if strings.Contains(logged, secret) || strings.Contains(logged, wrong(tok)[strings.LastIndex(tok, "_")+1:]) {
		t.Error("a secret is in the log")
	}
}

func TestFailedLoginsAreLimitedPerToken(t *testing.T) {
	h := newLimitHarness(t)
	tok := h.issue(t, "hr")
	other := h.issue(t, "school")
	refused := 0
	for i := range 100 {
		if tooMany(h.login(wrong(tok), fmt.Sprintf("10.0.%d.%d", i/250, i%250+1))) {
			refused++
		}
	}
	if refused != 94 {
		t.Fatalf("%d of 100 wrong secrets from 100 sources refused as too many; want 94", refused)
	}
	if err := h.login(tok, "192.0.2.1"); !tooMany(err) {
		t.Errorf("the blocked token logged in from a fresh source: %v", err)
	}
	if err := h.login(other, "192.0.2.1"); err != nil {
		t.Errorf("another token was refused: %v", err)
	}
	if !strings.Contains(h.log.String(), "token_id=") {
		t.Error("the log does not name the token id")
	}
}

func TestSuccessfulLoginsAreNotLimited(t *testing.T) {
	h := newLimitHarness(t)
	tok := h.issue(t, "hr")
	for i := range 500 {
		if err := h.login(tok, "198.51.100.7"); err != nil {
			t.Fatalf("login %d: %v", i+1, err)
		}
	}
	if h.log.Len() != 0 {
		t.Errorf("successful logins were logged as failures:\n%.300s", h.log.String())
	}
	// A revoked token with its right secret, or a malformed one, guesses
	// nothing: refused, but not counted against the source.
	revoked := h.issue(t, "old")
	id := strings.Split(revoked, "_")[1]
	if err := h.store.RevokeToken(context.Background(), id, h.now); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if err := h.login(revoked, "198.51.100.7"); err == nil || tooMany(err) {
			t.Fatalf("a revoked token: %v", err)
		}
		if err := h.login("snv_malformed", "198.51.100.7"); err == nil || tooMany(err) {
			t.Fatalf("a malformed token: %v", err)
		}
	}
	if err := h.login(tok, "198.51.100.7"); err != nil {
		t.Errorf("the source was blocked by logins that guessed nothing: %v", err)
	}
}
