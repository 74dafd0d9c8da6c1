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
)

func TestCan(t *testing.T) {
	steward := &auth.Principal{Subject: "anna", Grants: []auth.Grant{{Role: auth.RoleSteward, Concepts: []string{"unit"}}}}
	allSteward := &auth.Principal{Subject: "bo", Grants: []auth.Grant{{Role: auth.RoleSteward, Concepts: []string{auth.AnyConcept}}}}
	admin := &auth.Principal{Subject: "root", Grants: []auth.Grant{{Role: auth.RoleAdmin}}}
	auditor := &auth.Principal{Subject: "revisor", Grants: []auth.Grant{{Role: auth.RoleAuditor}}}
	publisher := &auth.Principal{Subject: "hr", Grants: []auth.Grant{{Role: auth.RolePublisher, System: "hr-system"}}}
	owner := &auth.Principal{Subject: "eva", Grants: []auth.Grant{{Role: auth.RoleOwner, Concepts: []string{"person"}}}}
	subscriber := &auth.Principal{Subject: "bibliotek", Kind: auth.KindSystem, Grants: []auth.Grant{{Role: auth.RoleSubscriber, System: "bibliotek"}}}
	if subscriber.System() != "bibliotek" || publisher.System() != "hr-system" || admin.System() != "" {
		t.Fatalf("System() = %q, %q, %q; want the grant's system for subscriber and publisher only", subscriber.System(), publisher.System(), admin.System())
	}
	tests := []struct {
		name    string
		p       *auth.Principal
		action  auth.Action
		concept string
		want    bool
	}{
		{"steward writes own concept", steward, auth.ActionWrite, "unit", true},
		{"steward writes other concept", steward, auth.ActionWrite, "person", false},
		{"steward cannot administer", steward, auth.ActionAdmin, "", false},
		{"steward cannot publish", steward, auth.ActionPublish, "unit", false},
		{"wildcard steward", allSteward, auth.ActionWrite, "person", true},
		{"admin does all", admin, auth.ActionAdmin, "", true},
		{"auditor reads", auditor, auth.ActionRead, "person", true},
		{"auditor cannot write", auditor, auth.ActionWrite, "person", false},
		{"publisher publishes", publisher, auth.ActionPublish, "employee", true},
		{"publisher cannot write as steward", publisher, auth.ActionWrite, "employee", false},
		{"publisher reads only through CanRead", publisher, auth.ActionRead, "person", false},
		{"anonymous nothing", nil, auth.ActionRead, "person", false},
		{"subscriber reads no master data", subscriber, auth.ActionRead, "person", false},
		{"subscriber cannot publish", subscriber, auth.ActionPublish, "person", false},
		{"owner approves own concept", owner, auth.ActionApprove, "person", true},
		{"owner cannot approve other concept", owner, auth.ActionApprove, "unit", false},
		{"owner cannot read records", owner, auth.ActionRead, "person", false},
		{"owner cannot write", owner, auth.ActionWrite, "person", false},
		{"owner cannot administer", owner, auth.ActionAdmin, "", false},
		{"admin approves", admin, auth.ActionApprove, "person", true},
		{"steward cannot approve", allSteward, auth.ActionApprove, "person", false},
		{"auditor cannot approve", auditor, auth.ActionApprove, "person", false},
		{"publisher cannot approve", publisher, auth.ActionApprove, "person", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.Can(tt.action, tt.concept); got != tt.want {
				t.Fatalf("Can(%s, %q) = %v, want %v", tt.action, tt.concept, got, tt.want)
			}
			err := auth.Require(tt.p, tt.action, tt.concept)
			if (err == nil) != tt.want {
				t.Fatalf("Require = %v, want allowed=%v", err, tt.want)
			}
			if tt.p == nil && !errors.Is(err, auth.ErrUnauthenticated) {
				t.Fatalf("Require(nil) = %v, want ErrUnauthenticated", err)
			}
			if tt.p != nil && !tt.want && !errors.Is(err, auth.ErrForbidden) {
				t.Fatalf("Require = %v, want ErrForbidden", err)
			}
		})
	}
}

func TestIssueValidation(t *testing.T) {
	tok := &auth.Tokens{Store: &auth.MemoryStore{}}
	_, _, err := tok.Issue(context.Background(), auth.IssueRequest{Kind: "robot", Grants: []auth.Grant{{Role: "king"}, {Role: auth.RoleSteward}, {Role: auth.RolePublisher}, {Role: auth.RoleOwner}}})
	if err == nil {
		t.Fatal("Issue accepted an invalid request")
	}
	for _, want := range []string{"subject", `kind "robot"`, `role "king"`, "grants[1]: concepts", "grants[2]: system", "grants[3]: concepts: an owner grant"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	list, _ := tok.Store.ListTokens(context.Background())
	if len(list) != 0 {
		t.Fatalf("an invalid request stored %d tokens", len(list))
	}
}

func TestVerify(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	tok := &auth.Tokens{Store: &auth.MemoryStore{}, Now: func() time.Time { return now }}
	secret, rec, err := tok.Issue(ctx, auth.IssueRequest{Subject: "anna", Kind: auth.KindUser, Grants: []auth.Grant{{Role: auth.RoleAuditor}}, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(rec.Hash), secret) {
		t.Fatal("the stored hash contains the secret")
	}
	p, err := tok.Verify(ctx, secret)
	if err != nil || p.Subject != "anna" || p.CredentialID != rec.ID {
		t.Fatalf("Verify(good) = %+v, %v", p, err)
	}
	bad := []struct{ name, token string }{
		{"empty", ""},
		{"no prefix", strings.TrimPrefix(secret, "snv_")},
		{"wrong secret", secret[:len(secret)-2] + "xx"},
		{"unknown id", "snv_0000000000000000_abc"},
	}
	for _, b := range bad {
		if _, err := tok.Verify(ctx, b.token); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Errorf("Verify(%s) = %v, want ErrUnauthenticated", b.name, err)
		}
	}
	now = now.Add(2 * time.Hour)
	if _, err := tok.Verify(ctx, secret); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("Verify(expired) = %v, want ErrUnauthenticated", err)
	}
	now = now.Add(-2 * time.Hour)
	if err := tok.Store.RevokeToken(ctx, rec.ID, now); err != nil {
		t.Fatal(err)
	}
	if _, err := tok.Verify(ctx, secret); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("Verify(revoked) = %v, want ErrUnauthenticated", err)
	}
}

func TestMiddleware(t *testing.T) {
	tok := &auth.Tokens{Store: &auth.MemoryStore{}}
	secret, _, err := tok.Issue(context.Background(), auth.IssueRequest{Subject: "anna", Kind: auth.KindUser, Grants: []auth.Grant{{Role: auth.RoleAdmin}}})
	if err != nil {
		t.Fatal(err)
	}
	h := auth.Middleware(auth.Chain{tok}, nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(auth.FromContext(r.Context()).String()))
	}))
	tests := []struct {
		name       string
		set        func(*http.Request)
		wantStatus int
		wantBody   string
	}{
		{"anonymous", func(*http.Request) {}, 200, "anonymous"},
		{"bearer", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+secret) }, 200, "user:anna"},
		{"basic, token as password", func(r *http.Request) { r.SetBasicAuth("anna", secret) }, 200, "user:anna"},
		{"bad bearer", func(r *http.Request) { r.Header.Set("Authorization", "Bearer snv_1_2") }, 401, "token not recognised"},
		{"unknown scheme", func(r *http.Request) { r.Header.Set("Authorization", "Digest x") }, 401, "unsupported authorization scheme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			tt.set(r)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.wantStatus || !strings.Contains(w.Body.String(), tt.wantBody) {
				t.Fatalf("got %d %q, want %d containing %q", w.Code, w.Body.String(), tt.wantStatus, tt.wantBody)
			}
		})
	}
}

func TestBootstrapAdminOnce(t *testing.T) {
	ctx := context.Background()
	tok := &auth.Tokens{Store: &auth.MemoryStore{}}
	first, err := tok.EnsureBootstrapAdmin(ctx)
	if err != nil || first == "" {
		t.Fatalf("first bootstrap = %q, %v; want a token", first, err)
	}
	p, err := tok.Verify(ctx, first)
	if err != nil || !p.Can(auth.ActionAdmin, "") {
		t.Fatalf("bootstrap token does not verify as admin: %+v %v", p, err)
	}
	second, err := tok.EnsureBootstrapAdmin(ctx)
	if err != nil || second != "" {
		t.Fatalf("second bootstrap = %q, %v; want none while an admin token is active", second, err)
	}
}
