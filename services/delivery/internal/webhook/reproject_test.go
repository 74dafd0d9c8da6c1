package webhook_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/delivery/internal/webhook"
)

// Every attempt is projected again at send time; these tests change what
// the projection depends on (the person's protection, the subscription's
// fields, its status) after a message was queued.

// verify fails the test unless r carries a valid signature by sec over
// the body r received.
func verify(t *testing.T, r received, sec webhook.Secret) {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(sec.String())
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Verify(r.Body, r.Header); err != nil {
		t.Fatalf("signature of %s over the body sent: %v", r.Header.Get(webhook.HeaderID), err)
	}
}

// sentOf returns the requests made for event id, in order.
func sentOf(rc *receiver, id string) []received {
	var out []received
	for _, r := range rc.requests() {
		if r.Header.Get(webhook.HeaderID) == id {
			out = append(out, r)
		}
	}
	return out
}

// The person became protected after evt1 was delivered with their
// address: redelivering evt1 sends it shielded, never the address.
func TestRedeliverAfterProtectionNeverDeliversTheAddress(t *testing.T) {
	rc := newReceiver(t, nil)
	svc := start(t, webhook.Config{})
	sec := register(t, svc, rc.URL)
	deliver(t, svc, event("evt1", "p1", 1))
	waitFor(t, "evt1 delivered", func() bool { return slices.Contains(rc.delivered(), "evt1") })
	if !strings.Contains(string(sentOf(rc, "evt1")[0].Body), "Storgatan 1") {
		t.Fatalf("before protection evt1 went without the address: %s", sentOf(rc, "evt1")[0].Body)
	}
	protected := event("evt2", "p1", 2)
	protected.Source = person("p1", "PROTECTED_REGISTRATION")
	deliver(t, svc, protected)
	waitFor(t, "evt2 delivered", func() bool { return slices.Contains(rc.delivered(), "evt2") })

	m := messageOf(t, svc, "evt1")
	if err := svc.Redeliver(context.Background(), sub1.ID, m); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "evt1 redelivered", func() bool { return len(sentOf(rc, "evt1")) == 2 })
	for _, r := range append(sentOf(rc, "evt1")[1:], sentOf(rc, "evt2")...) {
		if strings.Contains(string(r.Body), "Storgatan") || strings.Contains(string(r.Body), "11122") {
			t.Fatalf("%s sent the protected person's address: %s", r.Header.Get(webhook.HeaderID), r.Body)
		}
		if v, ok := r.Env.Data["registeredAddress"]; !ok || v != nil {
			t.Fatalf("%s: registeredAddress %v (present %v), want null so the receiver overwrites it", r.Header.Get(webhook.HeaderID), v, ok)
		}
		if r.Env.Data["givenNames"] != "Astrid" {
			t.Fatalf("%s: %v, want the fields that are not shielded", r.Header.Get(webhook.HeaderID), r.Env.Data)
		}
		verify(t, r, sec)
	}
}

// A message whose own state was protected stays shielded after the
// protection is lifted: what was recorded while protected is never sent.
func TestProtectedStateStaysShieldedAfterProtectionIsLifted(t *testing.T) {
	rc := newReceiver(t, nil)
	svc := start(t, webhook.Config{})
	register(t, svc, rc.URL)
	protected := event("evt1", "p1", 1)
	protected.Source = person("p1", "CONFIDENTIALITY_MARKING")
	deliver(t, svc, protected, event("evt2", "p1", 2))
	waitFor(t, "both delivered", func() bool { return len(rc.delivered()) == 2 })
	if err := svc.Redeliver(context.Background(), sub1.ID, messageOf(t, svc, "evt1")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "evt1 redelivered", func() bool { return len(sentOf(rc, "evt1")) == 2 })
	for _, r := range sentOf(rc, "evt1") {
		if strings.Contains(string(r.Body), "Storgatan") {
			t.Fatalf("evt1, recorded while protected, sent the address: %s", r.Body)
		}
	}
	if !strings.Contains(string(sentOf(rc, "evt2")[0].Body), "Storgatan") {
		t.Fatalf("evt2, not protected, went without the address: %s", sentOf(rc, "evt2")[0].Body)
	}
}

// The subscription was narrowed between a failed attempt and its retry:
// the retry carries only the fields approved now, signed over what it
// carries.
func TestRetryAfterNarrowingSendsOnlyTheApprovedFields(t *testing.T) {
	subs := newSubscriptions(sub1)
	narrowed := sub1
	narrowed.ApprovedFields, narrowed.Version = []string{"givenNames"}, sub1.Version+1
	rc := newReceiver(t, func(_ received, n int) int {
		if n == 1 {
			subs.set(narrowed) // decided while the first attempt is in flight
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	svc := start(t, webhook.Config{Subscriptions: subs.lookup})
	sec := register(t, svc, rc.URL)
	deliver(t, svc, event("evt1", "p1", 1))
	waitFor(t, "evt1 retried", func() bool { return slices.Contains(rc.delivered(), "evt1") })
	got := sentOf(rc, "evt1")
	if _, ok := got[0].Env.Data["surname"]; !ok {
		t.Fatalf("first attempt %v, want the fields approved then", got[0].Env.Data)
	}
	retry := got[len(got)-1]
	var keys []string
	for k := range retry.Env.Data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"givenNames", "id"}; !slices.Equal(keys, want) {
		t.Fatalf("retry after narrowing carried %v, want %v: %s", keys, want, retry.Body)
	}
	verify(t, retry, sec)
}

// A message of a subscription revoked since is not sent, by retry or by
// hand; it says why.
func TestRevokedSubscriptionWithholdsItsMessages(t *testing.T) {
	subs := newSubscriptions(sub1)
	revoked := sub1
	revoked.Status = client.StatusRevoked
	rc := newReceiver(t, func(_ received, n int) int {
		if n == 1 {
			subs.set(revoked)
		}
		return http.StatusBadGateway
	})
	svc := start(t, webhook.Config{Subscriptions: subs.lookup})
	register(t, svc, rc.URL)
	deliver(t, svc, event("evt1", "p1", 1))
	id := int64(0)
	waitFor(t, "evt1 withheld", func() bool {
		ms, _ := svc.Attempts(context.Background(), sub1.ID, webhook.AttemptFilter{})
		if len(ms) == 1 {
			id = ms[0].MessageID
		}
		m, _ := svc.Message(context.Background(), sub1.ID, id)
		return m.State == webhook.MessageWithheld
	})
	m, _ := svc.Message(context.Background(), sub1.ID, id)
	if !strings.Contains(m.LastError, "revoked") || m.Attempts != 1 {
		t.Fatalf("withheld message %+v, want its last error to say the subscription is revoked, after 1 attempt", m)
	}
	if err := svc.Redeliver(context.Background(), sub1.ID, id); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "evt1 withheld again", func() bool {
		m, _ := svc.Message(context.Background(), sub1.ID, id)
		return m.State == webhook.MessageWithheld && !m.Manual
	})
	if n := len(rc.requests()); n != 1 {
		t.Fatalf("%d requests, want only the one made before the revocation", n)
	}
	log, _ := svc.Attempts(context.Background(), sub1.ID, webhook.AttemptFilter{})
	if len(log) != 1 {
		t.Fatalf("%d attempts logged, want 1 (withholding is not an attempt)", len(log))
	}
	ep, _ := svc.Endpoint(context.Background(), sub1.ID)
	if ep.ConsecutiveFailures != 1 {
		t.Fatalf("endpoint failure streak %d, want 1: withholding is not the receiver's failure", ep.ConsecutiveFailures)
	}
}

// messageOf returns the id of the message of event id, from the log.
func messageOf(t *testing.T, svc *webhook.Service, id string) int64 {
	t.Helper()
	// The receiver sees the request before the sender records the
	// attempt: wait for the record rather than read it once.
	var msg int64
	waitFor(t, "an attempt of "+id+" logged", func() bool {
		log, err := svc.Attempts(context.Background(), sub1.ID, webhook.AttemptFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range log {
			if a.EventID == id {
				msg = a.MessageID
				return true
			}
		}
		return false
	})
	return msg
}

// A message queued before bodies held the unprojected state holds the
// envelope projected then, without the protection marker (not an approved
// field): it is projected again too, and a marker it lacks counts as
// protected, so its address goes null.
func TestMessageQueuedBeforeUpgradeIsShielded(t *testing.T) {
	st, db := newStoreDB(t)
	rc := newReceiver(t, nil)
	svc := start(t, webhook.Config{Store: st})
	register(t, svc, rc.URL)
	if err := svc.Disable(context.Background(), sub1.ID); err != nil {
		t.Fatal(err)
	}
	deliver(t, svc, event("evt1", "p1", 1))
	legacy := `{"type":"se.samnav.person.changed","id":"evt1","subject":"p1","subscription":"sub1","revision":1,` +
		`"data":{"id":"p1","givenNames":"Astrid","surname":"Lind","registeredAddress":{"streetAddress":"Storgatan 1","postalCode":"11122","postTown":"Stockholm"}}}`
	if _, err := db.ExecContext(context.Background(), `UPDATE wh_messages SET body = $1, body_key_id = '' WHERE event_id = 'evt1'`, []byte(legacy)); err != nil {
		t.Fatal(err)
	}
	if err := svc.Enable(context.Background(), sub1.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "evt1 delivered", func() bool { return slices.Contains(rc.delivered(), "evt1") })
	r := sentOf(rc, "evt1")[0]
	if strings.Contains(string(r.Body), "Storgatan") || r.Env.Data["registeredAddress"] != nil || r.Env.Data["givenNames"] != "Astrid" {
		t.Fatalf("a message from before the upgrade went as %s, want the address null", r.Body)
	}
}
