package delivery_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/hubtest"
)

// TestClientAgainstTheServer runs the typed client against a running hub:
// request, list, approve, read the feed, register a webhook, reject,
// revoke, and errors read back as *apierr.Error.
func TestClientAgainstTheServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	h := startHub(t)
	fb := hubtest.Issue(t, h.Masterdata.Tokens(), "folkbokforing", auth.KindSystem, auth.Grant{Role: auth.RolePublisher, System: "folkbokforing"})
	if st, body := hubtest.CallJSON(t, "POST", h.MasterdataURL+"/api/v1/publish/person", fb, map[string]any{"items": []any{map[string]any{"op": "upsert",
		"state": personState("201405052380", "Ella", "Storgatan 1", "NONE")}}}); st != 200 {
		t.Fatalf("publish: %d %v", st, body)
	}
	admin := &client.Client{BaseURL: h.DeliveryURL, Token: hubtest.Issue(t, h.Delivery.Tokens(), "admin", auth.KindUser, auth.Grant{Role: auth.RoleAdmin})}
	home := &client.Client{BaseURL: h.DeliveryURL, Token: hubtest.Issue(t, h.Delivery.Tokens(), "hemtjanst", auth.KindSystem, auth.Grant{Role: auth.RoleSubscriber, System: "hemtjanst"})}
	req := client.Request{Concept: "person", Purpose: "home care visits", Channel: "feed", Fields: []string{"givenNames", "surname"},
		LegalBasis: client.LegalBasis{Basis: "public_task", Reference: "Socialtjänstlagen (2001:453)"}}
	sub, err := home.Request(ctx, req)
	if err != nil || sub.Status != "requested" || sub.System != "hemtjanst" {
		t.Fatalf("request: %+v %v", sub, err)
	}
	if page, err := admin.List(ctx, client.Filter{Concept: "person"}); err != nil || len(page.Subscriptions) != 1 {
		t.Fatalf("list: %+v %v", page, err)
	}
	if sub, err = admin.Approve(ctx, sub.ID, client.Decision{Fields: []string{"givenNames"}, Reason: "names are enough"}); err != nil || sub.Status != "approved" {
		t.Fatalf("approve: %+v %v", sub, err)
	}
	var snap *client.SnapshotPage
	hubtest.Eventually(ctx, t, "the published person in the snapshot", func() bool {
		snap, err = home.Snapshot(ctx, sub.ID, "", 10)
		if err != nil {
			t.Fatalf("snapshot: %v", err)
		}
		return len(snap.Items) == 1
	})
	if d := string(snap.Items[0].Data); !strings.Contains(d, "Ella") || strings.Contains(d, "surname") {
		t.Fatalf("snapshot item %s: want givenNames only", d)
	}
	if ch, err := home.Changes(ctx, sub.ID, snap.ChangesCursor, 10, 0); err != nil || ch.NextCursor == "" {
		t.Fatalf("changes: %+v %v", ch, err)
	}
	if _, err := home.Changes(ctx, sub.ID, "", 10, 0); apierr.CodeOf(err) != apierr.CodeInvalid {
		t.Fatalf("changes without a cursor: %v, want invalid", err)
	}

	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer receiver.Close()
	req.Channel = "webhook"
	wh, err := home.Request(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	ep, err := home.PutWebhook(ctx, wh.ID, receiver.URL+"/hook", "")
	if err != nil || !strings.HasPrefix(ep.Secret, "whsec_") || ep.Status != "enabled" {
		t.Fatalf("register webhook: %+v %v", ep, err)
	}
	if ep, err := home.Webhook(ctx, wh.ID); err != nil || ep.Secret != "" || ep.URL != receiver.URL+"/hook" {
		t.Fatalf("read webhook: %+v %v", ep, err)
	}
	if got, err := admin.Reject(ctx, wh.ID, "not needed"); err != nil || got.Status != "rejected" {
		t.Fatalf("reject: %+v %v", got, err)
	}
	if got, err := home.Revoke(ctx, sub.ID, "retired"); err != nil || got.Status != "revoked" {
		t.Fatalf("revoke: %+v %v", got, err)
	}
	if _, err := home.Get(ctx, "no-such-subscription"); apierr.CodeOf(err) != apierr.CodeNotFound {
		t.Fatalf("unknown subscription: %v, want not_found", err)
	}
}
