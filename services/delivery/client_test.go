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
	"github.com/samnav/samnav/pkg/sdk/poll"
	"github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/hubtest"
	mdclient "github.com/samnav/samnav/services/masterdata/client"
)

// TestClientAgainstTheServer runs every call of the typed client against a
// running hub (subscriptions, decisions, history, lag, ACLs, the feed, the
// webhook endpoint and its log, recent deliveries), each also where it
// fails, the error read back as *apierr.Error with its code.
func TestClientAgainstTheServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	h := startHub(t)
	fb := &mdclient.Client{BaseURL: h.MasterdataURL, Token: hubtest.Issue(t, h.Masterdata.Tokens(), "folkbokforing", auth.KindSystem, auth.Grant{Role: auth.RolePublisher, System: "folkbokforing"})}
	if _, err := fb.Publish(ctx, "person", []mdclient.PublishItem{{Op: "upsert", State: personState("201405052380", "Ella", "Storgatan 1", "NONE")}}); err != nil {
		t.Fatalf("publish: %v", err)
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
	poll.True(ctx, t, "the published person in the snapshot", func() bool {
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

	if hist, err := admin.History(ctx, sub.ID); err != nil || len(hist) != 2 || hist[1].Action != "narrowed" || hist[1].After.Status != "approved" {
		t.Fatalf("history: %+v %v", hist, err)
	}
	if _, err := admin.History(ctx, "no-such-subscription"); apierr.CodeOf(err) != apierr.CodeNotFound {
		t.Fatalf("history of an unknown subscription: %v, want not_found", err)
	}
	if l, err := home.Lag(ctx, sub.ID); err != nil || l.Subscription != sub.ID || len(l.Channels) != 1 || l.Channels[0].Channel != "feed" {
		t.Fatalf("lag: %+v %v", l, err)
	}
	if _, err := home.Lag(ctx, "no-such-subscription"); apierr.CodeOf(err) != apierr.CodeNotFound {
		t.Fatalf("lag of an unknown subscription: %v, want not_found", err)
	}
	if _, err := home.ACLs(ctx, sub.ID); apierr.CodeOf(err) != apierr.CodeInvalid {
		t.Fatalf("ACLs of a feed subscription: %v, want invalid", err)
	}
	kreq := req
	kreq.Channel = "kafka"
	ksub, err := home.Request(ctx, kreq)
	if err != nil {
		t.Fatal(err)
	}
	if a, err := home.ACLs(ctx, ksub.ID); err != nil || a.Topic == "" || len(a.ACLs) == 0 || a.ACLs[0].Principal != "User:hemtjanst" || len(a.Commands) != len(a.ACLs) {
		t.Fatalf("ACLs: %+v %v", a, err)
	}
	if all, err := admin.All(ctx, client.Filter{Concept: "person", Limit: 1}); err != nil || len(all) != 2 {
		t.Fatalf("all, one a page: %+v %v", all, err)
	}
	if _, err := admin.List(ctx, client.Filter{Limit: 100000}); apierr.CodeOf(err) != apierr.CodeInvalid {
		t.Fatalf("list with too large a page: %v, want invalid", err)
	}
	if got, err := admin.Reject(ctx, ksub.ID, "not needed"); err != nil || got.Status != "rejected" {
		t.Fatalf("reject: %+v %v", got, err)
	}
	if _, err := admin.Reject(ctx, sub.ID, "too late"); apierr.CodeOf(err) != apierr.CodeConflict {
		t.Fatalf("reject an approved subscription: %v, want conflict", err)
	}

	testClientWebhook(ctx, t, admin, home, req)

	if rd, err := admin.Recent(ctx, 0, 100, 0); err != nil || len(rd.Deliveries) == 0 || rd.Next == 0 {
		t.Fatalf("recent deliveries: %+v %v", rd, err)
	}
	if _, err := admin.Recent(ctx, 0, 1<<20, 0); apierr.CodeOf(err) != apierr.CodeInvalid {
		t.Fatalf("recent deliveries, too many: %v, want invalid", err)
	}
	if got, err := home.Revoke(ctx, sub.ID, "retired"); err != nil || got.Status != "revoked" {
		t.Fatalf("revoke: %+v %v", got, err)
	}
	if _, err := home.Get(ctx, "no-such-subscription"); apierr.CodeOf(err) != apierr.CodeNotFound {
		t.Fatalf("unknown subscription: %v, want not_found", err)
	}
}

// testClientWebhook runs the webhook calls against an endpoint that
// answers 204: register, read, the delivery log, one message, redeliver,
// disable and enable, rotate, and their errors.
func testClientWebhook(ctx context.Context, t *testing.T, admin, home *client.Client, req client.Request) {
	t.Helper()
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer receiver.Close()
	req.Channel = "webhook"
	wh, err := home.Request(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := home.PutWebhook(ctx, wh.ID, "ftp://example.org/hook", ""); apierr.CodeOf(err) != apierr.CodeInvalid {
		t.Fatalf("register a webhook at an ftp URL: %v, want invalid", err)
	}
	ep, err := home.PutWebhook(ctx, wh.ID, receiver.URL+"/hook", "")
	if err != nil || !strings.HasPrefix(ep.Secret, "whsec_") || ep.Status != "enabled" {
		t.Fatalf("register webhook: %+v %v", ep, err)
	}
	if ep, err := home.Webhook(ctx, wh.ID); err != nil || ep.Secret != "" || ep.URL != receiver.URL+"/hook" || ep.CreatedAt.IsZero() {
		t.Fatalf("read webhook: %+v %v", ep, err)
	}
	if _, err := admin.Approve(ctx, wh.ID, client.Decision{Reason: "home care needs it"}); err != nil {
		t.Fatalf("approve the webhook subscription: %v", err)
	}
	var attempts []client.Attempt
	poll.True(ctx, t, "an attempt in the delivery log", func() bool {
		attempts, err = home.WebhookAttempts(ctx, wh.ID, client.AttemptFilter{Limit: 10})
		if err != nil {
			t.Fatalf("attempts: %v", err)
		}
		return len(attempts) > 0
	})
	msg := attempts[0].MessageID
	if a := attempts[0]; a.StatusCode != http.StatusNoContent || a.Trigger != "scheduled" || a.SubscriptionID != wh.ID {
		t.Fatalf("attempt: %+v", a)
	}
	if m, err := home.WebhookMessage(ctx, wh.ID, msg); err != nil || m.ID != msg || m.State != "delivered" || m.Attempts != 1 {
		t.Fatalf("message: %+v %v", m, err)
	}
	if _, err := home.WebhookMessage(ctx, wh.ID, msg+1000); apierr.CodeOf(err) != apierr.CodeNotFound {
		t.Fatalf("unknown message: %v, want not_found", err)
	}
	// Redeliver answers the message as it now stands: with the endpoint
	// enabled, the dispatcher it wakes may have sent the message again
	// before the answer is read. Disabled, the message stays queued.
	if ep, err := home.DisableWebhook(ctx, wh.ID); err != nil || ep.Status != "disabled" {
		t.Fatalf("disable: %+v %v", ep, err)
	}
	if m, err := home.Redeliver(ctx, wh.ID, msg); err != nil || m.ID != msg || m.State != "pending" {
		t.Fatalf("redeliver: %+v %v", m, err)
	}
	if _, err := home.Redeliver(ctx, wh.ID, msg+1000); apierr.CodeOf(err) != apierr.CodeNotFound {
		t.Fatalf("redeliver an unknown message: %v, want not_found", err)
	}
	if ep, err := home.EnableWebhook(ctx, wh.ID); err != nil || ep.Status != "enabled" {
		t.Fatalf("enable: %+v %v", ep, err)
	}
	poll.True(ctx, t, "the manual attempt in the delivery log", func() bool {
		attempts, err = home.WebhookAttempts(ctx, wh.ID, client.AttemptFilter{Message: msg})
		if err != nil {
			t.Fatalf("attempts of message %d: %v", msg, err)
		}
		return len(attempts) == 2 && attempts[0].Trigger == "manual" && attempts[0].N == 2
	})
	if older, err := home.WebhookAttempts(ctx, wh.ID, client.AttemptFilter{Message: msg, Before: attempts[0].ID}); err != nil || len(older) != 1 || older[0].ID != attempts[1].ID {
		t.Fatalf("attempts before %d: %+v %v", attempts[0].ID, older, err)
	}
	if _, err := home.EnableWebhook(ctx, "no-such-subscription"); apierr.CodeOf(err) != apierr.CodeNotFound {
		t.Fatalf("enable an unknown endpoint: %v, want not_found", err)
	}
	rot, err := home.RotateWebhookSecret(ctx, wh.ID, "", time.Hour)
	if err != nil || !strings.HasPrefix(rot.Secret, "whsec_") || rot.Secret == ep.Secret || time.Until(rot.OldUntil) < 59*time.Minute {
		t.Fatalf("rotate: %+v %v", rot, err)
	}
	if _, err := home.RotateWebhookSecret(ctx, wh.ID, "not-a-secret", 0); apierr.CodeOf(err) != apierr.CodeInvalid {
		t.Fatalf("rotate to a malformed secret: %v, want invalid", err)
	}
}
