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
}
