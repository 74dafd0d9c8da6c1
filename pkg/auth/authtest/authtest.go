// Package authtest is the conformance suite every auth.TokenStore passes.
package authtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/auth"
)

// Run runs the suite against stores made by newStore; each subtest gets a
// fresh, empty store.
func Run[S auth.TokenStore](t *testing.T, newStore func(t *testing.T) S) {
	t.Helper()
	ctx := context.Background()
	at := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	rec := func(id string) auth.TokenRecord {
		return auth.TokenRecord{
			ID: id, Subject: "skolplattform", Kind: auth.KindSystem, Name: "Skolplattformen",
			Grants:    []auth.Grant{{Role: auth.RoleSteward, Concepts: []string{"person", "unit"}}, {Role: auth.RolePublisher, System: "skolplattform"}},
			Hash:      []byte{1, 2, 3, 4},
			CreatedAt: at,
			ExpiresAt: at.Add(time.Hour),
		}
	}

	t.Run("create then read back every field", func(t *testing.T) {
		s := newStore(t)
		want := rec("a1")
		if err := s.CreateToken(ctx, want); err != nil {
			t.Fatal(err)
		}
		got, err := s.TokenByID(ctx, "a1")
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != want.ID || got.Subject != want.Subject || got.Kind != want.Kind || got.Name != want.Name ||
			string(got.Hash) != string(want.Hash) || !got.CreatedAt.Equal(want.CreatedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) ||
			!got.RevokedAt.IsZero() || len(got.Grants) != 2 || got.Grants[0].Concepts[1] != "unit" || got.Grants[1].System != "skolplattform" {
			t.Fatalf("read back %+v, want %+v", got, want)
		}
	})
	t.Run("duplicate id refused", func(t *testing.T) {
		s := newStore(t)
		if err := s.CreateToken(ctx, rec("a1")); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateToken(ctx, rec("a1")); err == nil {
			t.Fatal("second CreateToken with the same id succeeded")
		}
	})
	t.Run("unknown id", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.TokenByID(ctx, "nope"); !errors.Is(err, auth.ErrTokenNotFound) {
			t.Fatalf("TokenByID(unknown) = %v, want ErrTokenNotFound", err)
		}
		if err := s.RevokeToken(ctx, "nope", at); !errors.Is(err, auth.ErrTokenNotFound) {
			t.Fatalf("RevokeToken(unknown) = %v, want ErrTokenNotFound", err)
		}
	})
	t.Run("revoke keeps the first time", func(t *testing.T) {
		s := newStore(t)
		if err := s.CreateToken(ctx, rec("a1")); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeToken(ctx, "a1", at.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeToken(ctx, "a1", at.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		got, err := s.TokenByID(ctx, "a1")
		if err != nil {
			t.Fatal(err)
		}
		if !got.RevokedAt.Equal(at.Add(time.Minute)) {
			t.Fatalf("RevokedAt = %v, want %v", got.RevokedAt, at.Add(time.Minute))
		}
	})
	t.Run("list oldest first", func(t *testing.T) {
		s := newStore(t)
		for i, id := range []string{"c", "a", "b"} {
			r := rec(id)
			r.CreatedAt = at.Add(time.Duration(i) * time.Second)
			if err := s.CreateToken(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.ListTokens(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || got[0].ID != "c" || got[1].ID != "a" || got[2].ID != "b" {
			ids := []string{}
			for _, r := range got {
				ids = append(ids, r.ID)
			}
			t.Fatalf("ListTokens ids = %v, want [c a b]", ids)
		}
	})
	runLifecycle(t, func(t *testing.T) auth.TokenStore { return newStore(t) }, rec, at)
}

// runLifecycle checks what a LifecycleStore adds: every change stored with
// its event, rotation shortening (never lengthening) the old token's
// expiry, the last use only moving forward.
func runLifecycle(t *testing.T, newStore func(t *testing.T) auth.TokenStore, rec func(string) auth.TokenRecord, at time.Time) {
	ctx := context.Background()
	open := func(t *testing.T) auth.LifecycleStore {
		s, ok := newStore(t).(auth.LifecycleStore)
		if !ok {
			t.Skipf("%T keeps no token history", s)
		}
		return s
	}
	ev := func(id string, a auth.TokenAction, when time.Time, reason string) auth.TokenEvent {
		return auth.TokenEvent{TokenID: id, At: when, Action: a, Actor: "user:anna (token t0)", Reason: reason}
	}
	events := func(t *testing.T, s auth.LifecycleStore, id string) []auth.TokenEvent {
		t.Helper()
		evs, err := s.TokenEvents(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}
	t.Run("issue stores the token and its event", func(t *testing.T) {
		s := open(t)
		if err := s.IssueToken(ctx, rec("a1"), ev("a1", auth.TokenIssued, at, "hr system")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.TokenByID(ctx, "a1"); err != nil {
			t.Fatal(err)
		}
		got := events(t, s, "a1")
		if len(got) != 1 || got[0].Action != auth.TokenIssued || got[0].Reason != "hr system" || got[0].Actor != "user:anna (token t0)" || !got[0].At.Equal(at) {
			t.Fatalf("events = %+v", got)
		}
		if err := s.IssueToken(ctx, rec("a1"), ev("a1", auth.TokenIssued, at, "again")); err == nil {
			t.Fatal("IssueToken with an existing id succeeded")
		}
		if got := events(t, s, "a1"); len(got) != 1 {
			t.Fatalf("a refused issue left an event: %+v", got)
		}
		if got := events(t, s, "nope"); len(got) != 0 {
			t.Fatalf("events of an unknown id = %+v", got)
		}
	})
	t.Run("rotate shortens the old token and stores the new one", func(t *testing.T) {
		s := open(t)
		if err := s.IssueToken(ctx, rec("a1"), ev("a1", auth.TokenIssued, at, "first")); err != nil {
			t.Fatal(err)
		}
		next := rec("a2")
		next.CreatedAt = at.Add(time.Minute)
		until := at.Add(2 * time.Minute)
		rot := []auth.TokenEvent{ev("a1", auth.TokenRotated, next.CreatedAt, "yearly"), ev("a2", auth.TokenIssued, next.CreatedAt, "yearly")}
		rot[0].Related, rot[1].Related = "a2", "a1"
		if err := s.RotateToken(ctx, "a1", until, next, rot); err != nil {
			t.Fatal(err)
		}
		old, err := s.TokenByID(ctx, "a1")
		if err != nil || !old.ExpiresAt.Equal(until) {
			t.Fatalf("old token after rotation: expires %v (%v), want %v", old.ExpiresAt, err, until)
		}
		if _, err := s.TokenByID(ctx, "a2"); err != nil {
			t.Fatal(err)
		}
		if got := events(t, s, "a1"); len(got) != 2 || got[1].Action != auth.TokenRotated || got[1].Related != "a2" {
			t.Fatalf("old token's events = %+v", got)
		}
		if got := events(t, s, "a2"); len(got) != 1 || got[0].Related != "a1" {
			t.Fatalf("new token's events = %+v", got)
		}
		// An overlap past the old expiry never lengthens it.
		if err := s.RotateToken(ctx, "a2", at.Add(48*time.Hour), rec("a3"), nil); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.TokenByID(ctx, "a2"); !got.ExpiresAt.Equal(next.ExpiresAt) {
			t.Fatalf("rotation lengthened the expiry to %v, want %v", got.ExpiresAt, next.ExpiresAt)
		}
	})
	t.Run("rotate of an unknown or revoked token changes nothing", func(t *testing.T) {
		s := open(t)
		if err := s.RotateToken(ctx, "nope", at, rec("b1"), nil); !errors.Is(err, auth.ErrTokenNotFound) {
			t.Fatalf("RotateToken(unknown) = %v, want ErrTokenNotFound", err)
		}
		if err := s.IssueToken(ctx, rec("a1"), ev("a1", auth.TokenIssued, at, "x")); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeTokenFor(ctx, "a1", ev("a1", auth.TokenRevoked, at, "leaked")); err != nil {
			t.Fatal(err)
		}
		if err := s.RotateToken(ctx, "a1", at, rec("b2"), []auth.TokenEvent{ev("a1", auth.TokenRotated, at, "x")}); !errors.Is(err, auth.ErrTokenNotFound) {
			t.Fatalf("RotateToken(revoked) = %v, want ErrTokenNotFound", err)
		}
		for _, id := range []string{"b1", "b2"} {
			if _, err := s.TokenByID(ctx, id); !errors.Is(err, auth.ErrTokenNotFound) {
				t.Errorf("a refused rotation stored %s: %v", id, err)
			}
		}
		if got := events(t, s, "a1"); len(got) != 2 {
			t.Fatalf("a refused rotation recorded an event: %+v", got)
		}
	})
	t.Run("revoke with a reason keeps the first time and every event", func(t *testing.T) {
		s := open(t)
		if err := s.RevokeTokenFor(ctx, "nope", ev("nope", auth.TokenRevoked, at, "x")); !errors.Is(err, auth.ErrTokenNotFound) {
			t.Fatalf("RevokeTokenFor(unknown) = %v, want ErrTokenNotFound", err)
		}
		if got := events(t, s, "nope"); len(got) != 0 {
			t.Fatalf("a refused revocation recorded %+v", got)
		}
		if err := s.IssueToken(ctx, rec("a1"), ev("a1", auth.TokenIssued, at, "x")); err != nil {
			t.Fatal(err)
		}
		for i, why := range []string{"leaked", "again"} {
			if err := s.RevokeTokenFor(ctx, "a1", ev("a1", auth.TokenRevoked, at.Add(time.Duration(i+1)*time.Minute), why)); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.TokenByID(ctx, "a1")
		if err != nil || !got.RevokedAt.Equal(at.Add(time.Minute)) {
			t.Fatalf("RevokedAt = %v (%v), want %v", got.RevokedAt, err, at.Add(time.Minute))
		}
		if evs := events(t, s, "a1"); len(evs) != 3 || evs[1].Reason != "leaked" || evs[2].Reason != "again" {
			t.Fatalf("events = %+v", evs)
		}
	})
	t.Run("last use only moves forward", func(t *testing.T) {
		s := open(t)
		if err := s.TouchToken(ctx, "nope", at); !errors.Is(err, auth.ErrTokenNotFound) {
			t.Fatalf("TouchToken(unknown) = %v, want ErrTokenNotFound", err)
		}
		if err := s.CreateToken(ctx, rec("a1")); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.TokenByID(ctx, "a1"); !got.LastUsedAt.IsZero() {
			t.Fatalf("a new token's LastUsedAt = %v, want zero", got.LastUsedAt)
		}
		for _, d := range []time.Duration{2 * time.Minute, time.Minute} {
			if err := s.TouchToken(ctx, "a1", at.Add(d)); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.TokenByID(ctx, "a1")
		if err != nil || !got.LastUsedAt.Equal(at.Add(2*time.Minute)) {
			t.Fatalf("LastUsedAt = %v (%v), want %v", got.LastUsedAt, err, at.Add(2*time.Minute))
		}
		list, err := s.ListTokens(ctx)
		if err != nil || len(list) != 1 || !list[0].LastUsedAt.Equal(got.LastUsedAt) {
			t.Fatalf("ListTokens = %+v, %v", list, err)
		}
	})
}
