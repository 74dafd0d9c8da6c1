package auth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/sdk/apierr"
)

// touchCountingStore counts the last-use writes that reach the store.
type touchCountingStore struct {
	auth.MemoryStore
	touches int
}

func (c *touchCountingStore) TouchToken(ctx context.Context, id string, at time.Time) error {
	c.touches++
	return c.MemoryStore.TouchToken(ctx, id, at)
}

var admin = &auth.Principal{Subject: "anna", Kind: auth.KindUser, Grants: []auth.Grant{{Role: auth.RoleAdmin}}, CredentialID: "t0"}

// TestRefusalDoesNotTellUnknownIDFromWrongSecret: a token id that exists
// and one that does not get the same answer to a wrong secret, so the
// answers reveal no ids.
func TestRefusalDoesNotTellUnknownIDFromWrongSecret(t *testing.T) {
	tok := &auth.Tokens{Store: &auth.MemoryStore{}}
	secret, rec, err := tok.Issue(t.Context(), auth.IssueRequest{Subject: "hr", Kind: auth.KindSystem, Grants: []auth.Grant{{Role: auth.RoleAuditor}}})
	if err != nil {
		t.Fatal(err)
	}
	_, sec, _ := strings.Cut(strings.TrimPrefix(secret, "snv_"), "_")
	wrongSecret := "snv_" + rec.ID + "_" + strings.Repeat("A", len(sec))
	unknownID := "snv_" + strings.Repeat("0", len(rec.ID)) + "_" + sec
	answer := func(token string) (int, string) {
		h := auth.Middleware(tok, nil)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Fatal("a refused token reached the handler") }))
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code, w.Body.String()
	}
	c1, b1 := answer(wrongSecret)
	c2, b2 := answer(unknownID)
	if c1 != http.StatusUnauthorized || c1 != c2 || b1 != b2 {
		t.Fatalf("wrong secret: %d %q; unknown id: %d %q; want the same 401", c1, b1, c2, b2)
	}
	if strings.Contains(b1, rec.ID) {
		t.Fatalf("the refusal names the token id: %q", b1)
	}
}

func TestCreateChecksTheRequestAgainstThePolicy(t *testing.T) {
	now := time.Date(2026, 12, 8, 8, 0, 0, 0, time.UTC)
	tok := &auth.Tokens{Store: &auth.MemoryStore{}, Now: func() time.Time { return now }}
	policy := auth.TokenPolicy{DefaultTTL: 24 * time.Hour, MaxTTL: 48 * time.Hour, DefaultOverlap: time.Minute, MaxOverlap: time.Hour}
	bad := []struct {
		name string
		req  auth.CreateRequest
		want []string
	}{
		{"no name", auth.CreateRequest{Role: auth.RoleAuditor}, []string{"name: must not be empty"}},
		{"unknown role", auth.CreateRequest{Name: "x", Role: "boss"}, []string{`role "boss": must be one of`}},
		{"publisher without system", auth.CreateRequest{Name: "x", Role: auth.RolePublisher}, []string{"system: a publisher grant must name"}},
		{"steward without concepts", auth.CreateRequest{Name: "x", Role: auth.RoleSteward}, []string{"concepts: a steward grant"}},
		{"expiry past the maximum", auth.CreateRequest{Name: "x", Role: auth.RoleAuditor, Expires: "49h"}, []string{`expires "49h": must be at most 48h0m0s`}},
		{"expiry not a duration", auth.CreateRequest{Name: "x", Role: auth.RoleAuditor, Expires: "soon"}, []string{`expires "soon": must be a duration`}},
		{"zero expiry", auth.CreateRequest{Name: "x", Role: auth.RoleAuditor, Expires: "0s"}, []string{`expires "0s": must be positive`}},
		{"every problem at once", auth.CreateRequest{Role: auth.RolePublisher, Expires: "-1h"}, []string{"name:", "system:", "expires"}},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			_, _, err := tok.Create(t.Context(), admin, b.req, policy)
			if apierr.CodeOf(err) != apierr.CodeInvalid {
				t.Fatalf("Create = %v, want invalid", err)
			}
			for _, w := range b.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
	if recs, _ := tok.Store.ListTokens(t.Context()); len(recs) != 0 {
		t.Fatalf("refused requests stored %d tokens", len(recs))
	}
	_, rec, err := tok.Create(t.Context(), admin, auth.CreateRequest{Name: "HR", Role: auth.RolePublisher, System: "hr-system", Reason: "new HR system"}, policy)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.ExpiresAt.Equal(now.Add(24*time.Hour)) || rec.Subject != "hr-system" || rec.Kind != auth.KindSystem {
		t.Fatalf("created %+v, want the default expiry, the system as subject", rec)
	}
	evs, err := tok.Events(t.Context(), rec.ID)
	if err != nil || len(evs) != 1 || evs[0].Actor != admin.String() || evs[0].Reason != "new HR system" {
		t.Fatalf("events = %+v, %v", evs, err)
	}
}

func TestRotateKeepsTheOldTokenForTheOverlap(t *testing.T) {
	now := time.Date(2026, 12, 8, 8, 0, 0, 0, time.UTC)
	tok := &auth.Tokens{Store: &auth.MemoryStore{}, Now: func() time.Time { return now }}
	policy := auth.TokenPolicy{DefaultTTL: 24 * time.Hour, MaxTTL: 48 * time.Hour, DefaultOverlap: time.Minute, MaxOverlap: time.Hour}
	oldSecret, old, err := tok.Create(t.Context(), admin, auth.CreateRequest{Name: "HR", Role: auth.RoleAuditor, Expires: "2h"}, policy)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := tok.Rotate(t.Context(), admin, old.ID, "2h", "too long", policy); apierr.CodeOf(err) != apierr.CodeInvalid || !strings.Contains(err.Error(), "overlap") {
		t.Fatalf("Rotate with an overlap past the maximum = %v, want invalid naming overlap", err)
	}
	if _, _, err := tok.Rotate(t.Context(), admin, "nope", "", "x", policy); !errors.Is(err, auth.ErrTokenNotFound) {
		t.Fatalf("Rotate(unknown) = %v", err)
	}
	newSecret, next, err := tok.Rotate(t.Context(), admin, old.ID, "10m", "yearly", policy)
	if err != nil {
		t.Fatal(err)
	}
	if !next.ExpiresAt.Equal(now.Add(2*time.Hour)) || next.Name != "HR" {
		t.Fatalf("successor %+v, want the old lifetime from now", next)
	}
	for _, s := range []string{oldSecret, newSecret} {
		if _, err := tok.Verify(t.Context(), s); err != nil {
			t.Fatalf("within the overlap: %v", err)
		}
	}
	now = now.Add(10 * time.Minute)
	if _, err := tok.Verify(t.Context(), oldSecret); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Fatalf("old token after the overlap: %v, want refused", err)
	}
	if _, err := tok.Verify(t.Context(), newSecret); err != nil {
		t.Fatalf("new token after the overlap: %v", err)
	}
	if err := tok.Revoke(t.Context(), admin, next.ID, " "); apierr.CodeOf(err) != apierr.CodeInvalid {
		t.Fatalf("Revoke without a reason = %v, want invalid", err)
	}
	if err := tok.Revoke(t.Context(), admin, next.ID, "leaked"); err != nil {
		t.Fatal(err)
	}
	if _, err := tok.Verify(t.Context(), newSecret); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Fatalf("revoked: %v, want refused", err)
	}
	evs, _ := tok.Events(t.Context(), next.ID)
	if len(evs) != 2 || evs[0].Related != old.ID || evs[1].Action != auth.TokenRevoked || evs[1].Reason != "leaked" {
		t.Fatalf("events = %+v", evs)
	}
}

// TestLastUseIsWrittenOncePerInterval: a busy token costs one write per
// interval, and its last use still moves.
func TestLastUseIsWrittenOncePerInterval(t *testing.T) {
	now := time.Date(2026, 12, 8, 8, 0, 0, 0, time.UTC)
	st := &touchCountingStore{}
	tok := &auth.Tokens{Store: st, Now: func() time.Time { return now }}
	secret, rec, err := tok.Issue(t.Context(), auth.IssueRequest{Subject: "hr", Kind: auth.KindSystem, Grants: []auth.Grant{{Role: auth.RoleAuditor}}})
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if _, err := tok.Verify(t.Context(), secret); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Second)
	}
	if st.touches != 2 {
		t.Fatalf("100 uses over 100s wrote the last use %d times, want 2 (once a minute)", st.touches)
	}
	got, _ := st.TokenByID(t.Context(), rec.ID)
	if want := rec.CreatedAt.Add(time.Minute); !got.LastUsedAt.Equal(want) {
		t.Fatalf("LastUsedAt = %v, want %v", got.LastUsedAt, want)
	}
}
