package subscription_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/samnav/samnav/contracts/contractstest"
	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/pkg/sdk/sqldb"
	_ "github.com/samnav/samnav/pkg/sqldb/drivers" // the drivers sqldb.Open uses
	"github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/delivery/internal/store/sqlstore"
	"github.com/samnav/samnav/services/delivery/internal/subscription"
)

func newService(t *testing.T) subscription.Service {
	t.Helper()
	db, d, err := sqldb.Open("sqlite:" + filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st, err := sqlstore.New(context.Background(), db, d)
	if err != nil {
		t.Fatal(err)
	}
	m := contractstest.Model(t)
	return subscription.NewService(st, m, subscription.ServiceOptions{})
}

func as(p *auth.Principal) context.Context { return auth.WithPrincipal(context.Background(), p) }

// TestWhoDecides: the concept's information owner (and an admin) approves,
// narrows, rejects and revokes a concept's subscriptions and reads them;
// an owner of another concept, a steward, an auditor and another system
// do not decide; the requesting system revokes its own but never
// approves it.
func TestWhoDecides(t *testing.T) {
	var (
		admin       = &auth.Principal{Subject: "root", Kind: auth.KindUser, Grants: []auth.Grant{{Role: auth.RoleAdmin}}}
		personOwner = &auth.Principal{Subject: "eva", Kind: auth.KindUser, Grants: []auth.Grant{{Role: auth.RoleOwner, Concepts: []string{"person"}}}}
		anyOwner    = &auth.Principal{Subject: "kim", Kind: auth.KindUser, Grants: []auth.Grant{{Role: auth.RoleOwner, Concepts: []string{auth.AnyConcept}}}}
		unitOwner   = &auth.Principal{Subject: "ola", Kind: auth.KindUser, Grants: []auth.Grant{{Role: auth.RoleOwner, Concepts: []string{"unit"}}}}
		steward     = &auth.Principal{Subject: "sten", Kind: auth.KindUser, Grants: []auth.Grant{{Role: auth.RoleSteward, Concepts: []string{"person"}}}}
		auditor     = &auth.Principal{Subject: "rev", Kind: auth.KindUser, Grants: []auth.Grant{{Role: auth.RoleAuditor}}}
		school      = &auth.Principal{Subject: "skolplattform", Kind: auth.KindSystem, Grants: []auth.Grant{{Role: auth.RolePublisher, System: "skolplattform"}}}
		library     = &auth.Principal{Subject: "bibliotek", Kind: auth.KindSystem, Grants: []auth.Grant{{Role: auth.RolePublisher, System: "bibliotek"}}}
	)
	tests := []struct {
		name string
		who  *auth.Principal
		do   string // approve, narrow, reject, revoke, get
		want apierr.Code
	}{
		{"owner approves", personOwner, "approve", ""},
		{"owner narrows", personOwner, "narrow", ""},
		{"owner rejects", personOwner, "reject", ""},
		{"owner revokes", personOwner, "revoke", ""},
		{"owner reads", personOwner, "get", ""},
		{"owner of every concept approves", anyOwner, "approve", ""},
		{"admin approves", admin, "approve", ""},
		{"admin rejects", admin, "reject", ""},
		{"owner of another concept may not approve", unitOwner, "approve", apierr.CodeNotFound},
		{"owner of another concept does not see it", unitOwner, "get", apierr.CodeNotFound},
		{"steward may not approve", steward, "approve", apierr.CodeForbidden},
		{"auditor may not approve", auditor, "approve", apierr.CodeForbidden},
		{"auditor may not reject", auditor, "reject", apierr.CodeForbidden},
		{"requesting system may not approve itself", school, "approve", apierr.CodeForbidden},
		{"requesting system may not reject", school, "reject", apierr.CodeForbidden},
		{"requesting system revokes its own", school, "revoke", ""},
		{"another system sees nothing", library, "approve", apierr.CodeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := newService(t)
			sub, err := svc.Request(as(school), client.Request{Concept: "person", Purpose: "placing pupils", Channel: client.ChannelKafka,
				LegalBasis: client.LegalBasis{Basis: client.BasisPublicTask, Reference: "Skollagen (2010:800)"},
				Fields:     []string{"givenNames", "surname", "registeredAddress"}, Reason: "new platform"})
			if err != nil {
				t.Fatal(err)
			}
			ctx := as(tt.who)
			var got client.Subscription
			switch tt.do {
			case "approve":
				got, err = svc.Approve(ctx, sub.ID, client.Decision{Reason: "ok"})
			case "narrow":
				got, err = svc.Approve(ctx, sub.ID, client.Decision{Fields: []string{"givenNames", "surname"}, Reason: "no address needed"})
			case "reject":
				got, err = svc.Reject(ctx, sub.ID, "no legal basis")
			case "revoke":
				got, err = svc.Revoke(ctx, sub.ID, "not needed")
			case "get":
				got, err = svc.Get(ctx, sub.ID)
			}
			if tt.want != "" {
				if code := apierr.CodeOf(err); err == nil || code != tt.want {
					t.Fatalf("%s by %s = %v (code %q), want %s", tt.do, tt.who.Subject, err, code, tt.want)
				}
				after, err := svc.Get(as(admin), sub.ID)
				if err != nil {
					t.Fatal(err)
				}
				if after.Status != client.StatusRequested || after.Version != sub.Version {
					t.Fatalf("a refused %s changed the subscription: %+v", tt.do, after)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s by %s: %v", tt.do, tt.who.Subject, err)
			}
			wantStatus := map[string]client.Status{"approve": client.StatusApproved, "narrow": client.StatusApproved,
				"reject": client.StatusRejected, "revoke": client.StatusRevoked, "get": client.StatusRequested}[tt.do]
			if got.Status != wantStatus {
				t.Fatalf("status %s, want %s", got.Status, wantStatus)
			}
			if tt.do == "get" {
				return
			}
			hist, err := svc.History(ctx, sub.ID)
			if err != nil {
				t.Fatal(err)
			}
			last := hist[len(hist)-1]
			if last.Actor != tt.who.Subject {
				t.Fatalf("history names %q, want %q", last.Actor, tt.who.Subject)
			}
			if tt.do == "narrow" && (last.Action != client.ActionNarrowed || len(got.ApprovedFields) != 2) {
				t.Fatalf("narrowed: %+v %+v", last, got)
			}
		})
	}
}
