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
	// waits are the delays answers were held back for; with advance the
	// clock moves on by each (a guesser that waits for every answer).
	waits   []time.Duration
	advance bool
}

func newLimitHarness(t *testing.T) *limitHarness {
	h := &limitHarness{store: &countingStore{}, now: time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC), log: &bytes.Buffer{}, advance: true}
	h.tokens = &auth.Tokens{Store: h.store, Now: func() time.Time { return h.now },
		Logger: slog.New(slog.NewTextHandler(h.log, nil)),
		Wait: func(_ context.Context, d time.Duration) {
			h.waits = append(h.waits, d)
			if h.advance {
				h.now = h.now.Add(d)
			}
		}}
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

func total(ds []time.Duration) time.Duration {
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return sum
}

func TestFailedLoginsAreSlowedPerSource(t *testing.T) {
	h := newLimitHarness(t)
	tok := h.issue(t, "hr")
	for range 300 {
		if err := h.login(wrong(tok), "198.51.100.7"); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Fatalf("a wrong secret: %v", err)
		}
	}
	// Five free failures, then 250ms, 500ms, 1s ... up to 10s each.
	want := []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	if len(h.waits) != 295 || fmt.Sprint(h.waits[:len(want)]) != fmt.Sprint(want) {
		t.Fatalf("%d failures held back, the first by %v; want 295, by %v", len(h.waits), h.waits[:min(len(h.waits), len(want))], want)
	}
	if got := total(h.waits); got < 45*time.Minute {
		t.Errorf("300 wrong secrets took %s, want at least 45 min", got)
	}
	// A successful login from the same source is answered at once.
	n := len(h.waits)
	if err := h.login(tok, "198.51.100.7"); err != nil {
		t.Errorf("the right secret from the source: %v", err)
	}
	if len(h.waits) != n {
		t.Errorf("a successful login was held back by %v", h.waits[n:])
	}
	// The log says who and why, never the secret.
	logged := h.log.String()
	if !strings.Contains(logged, "token login failed") || !strings.Contains(logged, "198.51.100.7") || !strings.Contains(logged, "wrong secret") {
		t.Errorf("the failures are not logged with their source and reason:\n%.400s", logged)
	}
	cut := strings.LastIndex(tok, "_") + 1
	if strings.Contains(logged, tok[cut:]) || strings.Contains(logged, wrong(tok)[cut:]) {
		t.Error("a secret is in the log")
	}
}

// Guesses sent in parallel queue behind each other: the n-th waits for
// the delays of those before it, up to MaxWait.
func TestParallelGuessesQueue(t *testing.T) {
	h := newLimitHarness(t)
	h.advance = false
	for range 40 {
		_ = h.login("snv_0000000000000000_guess", "198.51.100.7")
	}
	if len(h.waits) != 35 || h.waits[0] != 250*time.Millisecond || h.waits[1] != 750*time.Millisecond || h.waits[34] != 30*time.Second {
		t.Fatalf("held back by %v; want 250ms, 750ms, ... up to 30s", h.waits)
	}
}

func TestFailedLoginsAreSlowedPerToken(t *testing.T) {
	h := newLimitHarness(t)
	tok := h.issue(t, "hr")
	other := h.issue(t, "school")
	for i := range 100 {
		_ = h.login(wrong(tok), fmt.Sprintf("10.0.%d.%d", i/250, i%250+1))
	}
	if len(h.waits) != 95 {
		t.Fatalf("%d of 100 wrong secrets from 100 sources held back; want 95", len(h.waits))
	}
	n := len(h.waits)
	if err := h.login(other, "192.0.2.1"); err != nil || len(h.waits) != n {
		t.Errorf("another token: %v, held back %v", err, h.waits[n:])
	}
	if !strings.Contains(h.log.String(), "token_id=") {
		t.Error("the log does not name the token id")
	}
}

func TestSuccessfulLoginsAreNotSlowed(t *testing.T) {
	h := newLimitHarness(t)
	tok := h.issue(t, "hr")
	for i := range 500 {
		if err := h.login(tok, "198.51.100.7"); err != nil {
			t.Fatalf("login %d: %v", i+1, err)
		}
	}
	if h.log.Len() != 0 || len(h.waits) != 0 {
		t.Errorf("successful logins were held back (%v) or logged as failures:\n%.300s", h.waits, h.log.String())
	}
	// A revoked token with its right secret, or a malformed one, guesses
	// nothing: refused, but not counted against the source.
	revoked := h.issue(t, "old")
	id := strings.Split(revoked, "_")[1]
	if err := h.store.RevokeToken(context.Background(), id, h.now); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if err := h.login(revoked, "198.51.100.7"); err == nil {
			t.Fatal("a revoked token logged in")
		}
		if err := h.login("snv_malformed", "198.51.100.7"); err == nil {
			t.Fatal("a malformed token logged in")
		}
	}
	if len(h.waits) != 0 {
		t.Errorf("logins that guessed nothing were held back: %v", h.waits)
	}
}
