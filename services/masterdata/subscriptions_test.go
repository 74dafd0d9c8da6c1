package masterdata_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/auth"
	dlclient "github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/hubtest"
	"github.com/samnav/samnav/services/masterdata"
	"github.com/samnav/samnav/services/masterdata/record"
)

// fixedSubscriptions answers with subs, or fails while down.
type fixedSubscriptions struct {
	subs []record.Subscription
	down atomic.Bool
}

func (f *fixedSubscriptions) Of(_ context.Context, system, concept string) ([]record.Subscription, error) {
	var out []record.Subscription
	for _, s := range f.subs {
		if s.System == system && s.Concept == concept {
			out = append(out, s)
		}
	}
	if f.down.Load() {
		return nil, errors.New("delivery is down")
	}
	return out, nil
}

// TestASubscriptionSelectsOnlyByWhatItMayRead: a subscriber system filters,
// looks up and searches only by the attributes its subscription is
// approved for, by a shielded one only when approved for protected
// identities, reads no history, and is refused, not answered unprojected,
// when its subscriptions cannot be learnt.
func TestASubscriptionSelectsOnlyByWhatItMayRead(t *testing.T) {
	subs := &fixedSubscriptions{subs: []record.Subscription{{ID: "s-1", System: "bibliotek", Concept: "person",
		Status: record.SubscriptionApproved, ApprovedFields: []string{"givenNames", "emailAddress"}}}}
	a := startAPIWith(t, masterdata.Config{}, masterdata.Deps{Subscriptions: subs})
	fb := a.publisher("folkbokforing")
	lib := a.token("bibliotek", auth.Grant{Role: auth.RoleSubscriber, System: "bibliotek"})
	pnr, _ := hubtest.Personnummer(7)
	p := person(pnr, "Lindqvist")
	p["emailAddress"] = "anna@example.se"
	created := a.do("POST", "/api/v1/person", fb, p)
	if created.status != 201 {
		t.Fatalf("create: %d %s", created.status, created.raw)
	}
	id := created.body["id"].(string)
	for _, rd := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"filter by an attribute not approved", map[string]any{"filter": map[string]any{"surname": "Lindqvist"}}, "surname"},
		{"filter by a shielded attribute, not approved for protected identities", map[string]any{"filter": map[string]any{"emailAddress": "anna@example.se"}}, "emailAddress"},
	} {
		if r := a.do("POST", "/api/v1/search/person", lib, rd.body); r.status != 403 || !hasField(r, rd.field, "not-approved") {
			t.Errorf("%s: %d %s, want 403 naming %s", rd.name, r.status, r.raw, rd.field)
		}
	}
	if r := a.do("POST", "/api/v1/lookup/person", lib, map[string]any{"attribute": "personalIdentityNumber", "value": pnr}); r.status != 403 || !hasField(r, "personalIdentityNumber", "not-approved") {
		t.Errorf("lookup by a natural key not approved: %d %s", r.status, r.raw)
	}
	if r := a.do("POST", "/api/v1/search/person", lib, map[string]any{"q": "Lindqvist"}); r.status != 200 || len(r.body["records"].([]any)) != 0 {
		t.Errorf("a search found the person by an attribute the subscription is not approved for: %d %s", r.status, r.raw)
	}
	if r := a.do("POST", "/api/v1/search/person", lib, map[string]any{"filter": map[string]any{"givenNames": "Anna"}}); r.status != 200 || len(r.body["records"].([]any)) != 1 {
		t.Errorf("filter by an approved attribute: %d %s", r.status, r.raw)
	}
	if r := a.do("GET", "/api/v1/person/"+id+"/history", lib, nil); r.status != 403 {
		t.Errorf("history through a subscription: %d %s", r.status, r.raw)
	}
	subs.down.Store(true)
	if r := a.do("GET", "/api/v1/person/"+id, lib, nil); r.status != 503 {
		t.Errorf("subscriptions unknown: %d %s, want 503", r.status, r.raw)
	}
}

// TestDeliverySubscriptionsKeepsAnswersTTL: one question to delivery per
// system and concept within TTL, a fresh one after it, none kept from a
// failure, and nothing before Connect.
func TestDeliverySubscriptionsKeepsAnswersTTL(t *testing.T) {
	var calls atomic.Int64
	var fail atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if fail.Load() || r.URL.Query().Get("system") != "bibliotek" || r.Header.Get("Authorization") != "Bearer md-token" {
			http.Error(w, `{"status":503,"code":"unavailable"}`, http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"subscriptions":[{"id":"s-1","system":"bibliotek","concept":"person","status":"revoked","approvedFields":["givenNames"]}]}`))
	}))
	defer srv.Close()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	d := masterdata.NewDeliverySubscriptions(nil)
	d.TTL, d.Now = time.Minute, func() time.Time { return now }
	ctx := t.Context()
	if _, err := d.Of(ctx, "bibliotek", "person"); err == nil {
		t.Fatal("answered before Connect")
	}
	d.Connect(&dlclient.Client{BaseURL: srv.URL, Token: "md-token"})
	for range 3 {
		subs, err := d.Of(ctx, "bibliotek", "person")
		if err != nil || len(subs) != 1 || subs[0].Status != "revoked" || subs[0].ID != "s-1" {
			t.Fatalf("Of: %v %v", subs, err)
		}
	}
	if calls.Load() != 1 {
		t.Errorf("%d questions within TTL, want 1", calls.Load())
	}
	now = now.Add(2 * time.Minute)
	fail.Store(true)
	if _, err := d.Of(ctx, "bibliotek", "person"); err == nil {
		t.Error("an expired answer was kept after delivery failed")
	}
	fail.Store(false)
	if _, err := d.Of(ctx, "bibliotek", "person"); err != nil || calls.Load() != 3 {
		t.Errorf("after a failure: %v, %d questions, want 3", err, calls.Load())
	}
}
