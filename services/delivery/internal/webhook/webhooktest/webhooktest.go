// Package webhooktest is the conformance suite every webhook.Store must
// pass. A store's test file calls RunStoreTests, through sqldbtest.Stores.
package webhooktest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/keyring"
	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/pkg/sdk/envelope"
	"github.com/samnav/samnav/services/delivery/internal/webhook"
)

var t0 = time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)

// MustSecret generates a webhook secret, failing the test if it cannot.
func MustSecret(t *testing.T) webhook.Secret {
	t.Helper()
	s, err := webhook.GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Keys returns a keyring of one random key for a store to seal its
// secrets with.
func Keys(t testing.TB) keyring.Keyring {
	t.Helper()
	k, err := keyring.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	kr, err := keyring.NewMemory(k)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// KeysFrom returns a keyring of one key with id whose bytes are derived
// from id: two keyrings made with one id open each other's data.
func KeysFrom(t testing.TB, id string) keyring.Keyring {
	t.Helper()
	b := sha256.Sum256([]byte(id))
	kr, err := keyring.NewMemory(keyring.Key{ID: id, Bytes: b[:]})
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func newEndpoint(t *testing.T, s webhook.Store, id string) webhook.Secret {
	t.Helper()
	sec := MustSecret(t)
	ep := webhook.Endpoint{SubscriptionID: id, URL: "https://receiver.example/" + id, Owner: "sys-" + id, Status: webhook.StatusEnabled, CreatedAt: t0, UpdatedAt: t0}
	if err := s.CreateEndpoint(context.Background(), ep, sec); err != nil {
		t.Fatalf("create endpoint %s: %v", id, err)
	}
	return sec
}

func enqueue(t *testing.T, s webhook.Store, sub, event, key string, at time.Time) webhook.Message {
	t.Helper()
	m, created, err := s.Enqueue(context.Background(), webhook.Message{
		SubscriptionID: sub, EventID: event, Key: key, Type: envelope.EventType("person", envelope.Changed),
		Body: []byte(`{"id":"` + event + `"}`), Trace: "00-trace-" + event, CreatedAt: at, NextAttemptAt: at,
	})
	if err != nil || !created {
		t.Fatalf("enqueue %s: created %v, %v", event, created, err)
	}
	return m
}

func msg(sub, event, key string, at time.Time) webhook.Message {
	return webhook.Message{SubscriptionID: sub, EventID: event, Key: key, Type: envelope.EventType("person", envelope.Changed),
		Body: []byte(`{"id":"` + event + `"}`), Trace: "00-trace-" + event, CreatedAt: at, NextAttemptAt: at}
}

func claimIDs(t *testing.T, s webhook.Store, now time.Time, limit int) ([]webhook.Message, []string) {
	t.Helper()
	ms, err := s.Claim(context.Background(), now, now.Add(time.Minute), limit)
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.EventID
	}
	slices.Sort(ids)
	return ms, ids
}

func finish(t *testing.T, s webhook.Store, m webhook.Message, o webhook.Outcome, at time.Time, next time.Time) webhook.Endpoint {
	t.Helper()
	ep, err := s.Finish(context.Background(), webhook.Result{
		Message: m, Outcome: o, NextAttemptAt: next, NextStep: m.Step + 1,
		Attempt: webhook.Attempt{N: m.Attempts + 1, Trigger: "scheduled", At: at, StatusCode: 500, Latency: 3 * time.Millisecond, Error: "status 500", Response: "oops"},
	})
	if err != nil {
		t.Fatalf("finish %s: %v", m.EventID, err)
	}
	return ep
}

// claimHeadOfTwo queues a1 and a2 of one key for a new endpoint sub1 and
// claims; it returns what was claimed (a1) and a1 under a lease that does
// not hold.
func claimHeadOfTwo(t *testing.T, s webhook.Store) (claimed []webhook.Message, stale webhook.Message) {
	t.Helper()
	newEndpoint(t, s, "sub1")
	enqueue(t, s, "sub1", "a1", "ka", t0)
	enqueue(t, s, "sub1", "a2", "ka", t0)
	claimed, _ = claimIDs(t, s, t0, 10)
	stale = claimed[0]
	stale.LeaseToken = "not-the-lease"
	return claimed, stale
}

func wantCode(t *testing.T, err error, c apierr.Code) {
	t.Helper()
	if got := apierr.CodeOf(err); got != c {
		t.Fatalf("error %v: code %s, want %s", err, got, c)
	}
}

// RunStoreTests runs the conformance suite; open returns a fresh, empty
// store for one test.
func RunStoreTests[S webhook.Store](t *testing.T, open func(t *testing.T) S) {
	ctx := context.Background()

	t.Run("endpoints", func(t *testing.T) {
		s := open(t)
		sec := newEndpoint(t, s, "sub1")
		ep, err := s.GetEndpoint(ctx, "sub1")
		if err != nil {
			t.Fatal(err)
		}
		if ep.URL != "https://receiver.example/sub1" || ep.Owner != "sys-sub1" || ep.Status != webhook.StatusEnabled || !ep.CreatedAt.Equal(t0) {
			t.Fatalf("endpoint %+v", ep)
		}
		if got := ep.SigningSecrets(t0); len(got) != 1 || got[0].String() != sec.String() {
			t.Fatalf("secrets %v, want [%v]", got, sec)
		}
		err = s.CreateEndpoint(ctx, webhook.Endpoint{SubscriptionID: "sub1", URL: "https://x.example/", Status: webhook.StatusEnabled, CreatedAt: t0}, sec)
		wantCode(t, err, apierr.CodeConflict)
		_, err = s.GetEndpoint(ctx, "nope")
		wantCode(t, err, apierr.CodeNotFound)
		if !errors.Is(err, webhook.ErrNotFound) {
			t.Fatalf("%v is not ErrNotFound", err)
		}
		if err := s.UpdateEndpointURL(ctx, "sub1", "https://new.example/hook", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		ep, _ = s.GetEndpoint(ctx, "sub1")
		if ep.URL != "https://new.example/hook" || !ep.UpdatedAt.Equal(t0.Add(time.Hour)) {
			t.Fatalf("after update %+v", ep)
		}
		wantCode(t, s.UpdateEndpointURL(ctx, "nope", "https://x.example/", t0), apierr.CodeNotFound)
		wantCode(t, s.SetStatus(ctx, "nope", webhook.StatusDisabled, webhook.ReasonOwner, t0), apierr.CodeNotFound)
		wantCode(t, s.AddSecret(ctx, "nope", sec, t0, t0), apierr.CodeNotFound)
	})

	t.Run("rotation keeps the old secret signing until it expires", func(t *testing.T) {
		s := open(t)
		old := newEndpoint(t, s, "sub1")
		next := MustSecret(t)
		rotated := t0.Add(time.Hour)
		if err := s.AddSecret(ctx, "sub1", next, rotated, rotated.Add(24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		ep, err := s.GetEndpoint(ctx, "sub1")
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			at   time.Time
			want []webhook.Secret
		}{
			{rotated, []webhook.Secret{next, old}},
			{rotated.Add(24*time.Hour - time.Nanosecond), []webhook.Secret{next, old}},
			{rotated.Add(24 * time.Hour), []webhook.Secret{next}},
		}
		for _, tt := range tests {
			got := ep.SigningSecrets(tt.at)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("at %v: signing %v, want %v", tt.at, got, tt.want)
			}
		}
		// A second rotation inside the overlap pulls nothing later.
		third := MustSecret(t)
		if err := s.AddSecret(ctx, "sub1", third, rotated.Add(time.Hour), rotated.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		ep, _ = s.GetEndpoint(ctx, "sub1")
		if got := ep.SigningSecrets(rotated.Add(2 * time.Hour)); fmt.Sprint(got) != fmt.Sprint([]webhook.Secret{third}) {
			t.Errorf("after second rotation: %v", got)
		}
	})

	t.Run("enqueue is idempotent on event id", func(t *testing.T) {
		s := open(t)
		newEndpoint(t, s, "sub1")
		newEndpoint(t, s, "sub2")
		m := enqueue(t, s, "sub1", "e1", "k1", t0)
		again, created, err := s.Enqueue(ctx, webhook.Message{SubscriptionID: "sub1", EventID: "e1", Key: "k1", Type: "t", Body: []byte("{}"), CreatedAt: t0, NextAttemptAt: t0})
		if err != nil || created || again.ID != m.ID {
			t.Fatalf("second enqueue: %+v created %v err %v; first id %d", again, created, err, m.ID)
		}
		// The same event to another endpoint is another message.
		other := enqueue(t, s, "sub2", "e1", "k1", t0)
		if other.ID == m.ID {
			t.Fatal("one message id for two endpoints")
		}
		_, _, err = s.Enqueue(ctx, webhook.Message{SubscriptionID: "nope", EventID: "e9", Key: "k", Type: "t", Body: []byte("{}"), CreatedAt: t0, NextAttemptAt: t0})
		wantCode(t, err, apierr.CodeNotFound)
		got, err := s.GetMessage(ctx, "sub1", m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != webhook.MessagePending || string(got.Body) != `{"id":"e1"}` || got.Trace != "00-trace-e1" || !got.NextAttemptAt.Equal(t0) {
			t.Fatalf("message %+v", got)
		}
		_, err = s.GetMessage(ctx, "sub2", m.ID)
		wantCode(t, err, apierr.CodeNotFound)
	})

	t.Run("enqueue batch stores all in order, duplicates once", func(t *testing.T) {
		s := open(t)
		newEndpoint(t, s, "sub1")
		newEndpoint(t, s, "sub2")
		before := enqueue(t, s, "sub1", "e0", "ka", t0)
		batch := []webhook.Message{
			msg("sub1", "e1", "ka", t0), msg("sub1", "e0", "ka", t0), // e0: queued before
			msg("sub1", "e2", "kb", t0), msg("sub1", "e1", "ka", t0), // e1: earlier in the batch
			msg("sub2", "e1", "ka", t0), msg("sub1", "e3", "ka", t0),
		}
		stored, err := s.EnqueueBatch(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		if stored != 4 {
			t.Fatalf("stored %d, want 4 (e1, e2, e3 of sub1 and e1 of sub2)", stored)
		}
		// The batch again (the pipeline offering it after an error) adds nothing.
		if stored, err := s.EnqueueBatch(ctx, batch); err != nil || stored != 0 {
			t.Fatalf("second offer stored %d, %v; want 0, nil", stored, err)
		}
		// Each message is there once, with its body, in batch order per key.
		var order []string
		for {
			ms, err := s.Claim(ctx, t0, t0.Add(time.Minute), 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(ms) == 0 {
				break
			}
			slices.SortFunc(ms, func(a, b webhook.Message) int { return int(a.ID - b.ID) })
			for _, m := range ms {
				if m.SubscriptionID != "sub1" {
					continue
				}
				if string(m.Body) != `{"id":"`+m.EventID+`"}` || m.Trace != "00-trace-"+m.EventID || m.State != webhook.MessagePending {
					t.Fatalf("message %+v", m)
				}
				order = append(order, m.EventID)
			}
			for _, m := range ms {
				finish(t, s, m, webhook.OutcomeDelivered, t0, time.Time{})
			}
		}
		if want := []string{"e0", "e2", "e1", "e3"}; !slices.Equal(order, want) {
			t.Fatalf("sent %v, want %v (ka in enqueue order e0 e1 e3, kb beside it)", order, want)
		}
		if got, _ := s.GetMessage(ctx, "sub1", before.ID); got.EventID != "e0" || got.State != webhook.MessageDelivered {
			t.Fatalf("e0 after the batch: %+v", got)
		}
		if stored, err := s.EnqueueBatch(ctx, nil); err != nil || stored != 0 {
			t.Fatalf("empty batch: %d, %v", stored, err)
		}
	})

	t.Run("enqueue batch is all or nothing", func(t *testing.T) {
		s := open(t)
		newEndpoint(t, s, "sub1")
		_, err := s.EnqueueBatch(ctx, []webhook.Message{
			msg("sub1", "e1", "ka", t0), msg("sub1", "e2", "kb", t0), msg("nope", "e3", "kc", t0), msg("sub1", "e4", "kd", t0),
		})
		wantCode(t, err, apierr.CodeNotFound)
		if _, ids := claimIDs(t, s, t0, 10); len(ids) != 0 {
			t.Fatalf("a refused batch left %v queued", ids)
		}
		// The same batch without the bad message is then stored whole.
		stored, err := s.EnqueueBatch(ctx, []webhook.Message{msg("sub1", "e1", "ka", t0), msg("sub1", "e2", "kb", t0), msg("sub1", "e4", "kd", t0)})
		if err != nil || stored != 3 {
			t.Fatalf("stored %d, %v; want 3", stored, err)
		}
		if _, ids := claimIDs(t, s, t0, 10); !slices.Equal(ids, []string{"e1", "e2", "e4"}) {
			t.Fatalf("claimed %v, want [e1 e2 e4]", ids)
		}
	})

	t.Run("finish batch applies every outcome in one go", func(t *testing.T) {
		s := open(t)
		newEndpoint(t, s, "sub1")
		newEndpoint(t, s, "sub2")
		enqueue(t, s, "sub1", "a1", "ka", t0)
		enqueue(t, s, "sub1", "a2", "ka", t0)
		enqueue(t, s, "sub1", "b1", "kb", t0)
		enqueue(t, s, "sub2", "c1", "kc", t0)
		ms, ids := claimIDs(t, s, t0, 10)
		if !slices.Equal(ids, []string{"a1", "b1", "c1"}) {
			t.Fatalf("claimed %v", ids)
		}
		byID := map[string]webhook.Message{}
		for _, m := range ms {
			byID[m.EventID] = m
		}
		result := func(m webhook.Message, o webhook.Outcome, at time.Time) webhook.Result {
			return webhook.Result{Message: m, Outcome: o, NextAttemptAt: at.Add(time.Hour), NextStep: m.Step + 1,
				Attempt: webhook.Attempt{N: m.Attempts + 1, Trigger: "scheduled", At: at, StatusCode: 500, Error: "status 500"}}
		}
		stale := byID["c1"]
		stale.LeaseToken = "not-the-lease"
		eps, err := s.FinishBatch(ctx, []webhook.Result{
			result(byID["b1"], webhook.OutcomeRetry, t0),                      // sub1 fails first...
			result(byID["a1"], webhook.OutcomeDelivered, t0.Add(time.Second)), // ...then succeeds: healthy
			result(stale, webhook.OutcomeGiveUp, t0),                          // a stale lease changes nothing
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(eps) != 2 || eps["sub1"].ConsecutiveFailures != 0 || !eps["sub1"].FailingSince.IsZero() || eps["sub2"].ConsecutiveFailures != 0 {
			t.Fatalf("endpoints after the batch %+v", eps)
		}
		if m, _ := s.GetMessage(ctx, "sub1", byID["a1"].ID); m.State != webhook.MessageDelivered || m.Attempts != 1 {
			t.Fatalf("a1 %+v", m)
		}
		if m, _ := s.GetMessage(ctx, "sub1", byID["b1"].ID); m.State != webhook.MessagePending || m.Attempts != 1 || !m.NextAttemptAt.Equal(t0.Add(time.Hour)) {
			t.Fatalf("b1 %+v", m)
		}
		if m, _ := s.GetMessage(ctx, "sub2", stale.ID); m.State != webhook.MessagePending || m.Attempts != 0 {
			t.Fatalf("c1 after a stale finish %+v", m)
		}
		for sub, want := range map[string]int{"sub1": 2, "sub2": 1} {
			if as, _ := s.ListAttempts(ctx, sub, webhook.AttemptFilter{}); len(as) != want {
				t.Fatalf("%s: %d attempts logged, want %d", sub, len(as), want)
			}
		}
		// a1 is done, so a2 heads its key; c1's lease still holds.
		if _, ids := claimIDs(t, s, t0.Add(2*time.Second), 10); !slices.Equal(ids, []string{"a2"}) {
			t.Fatalf("after the batch claimed %v, want [a2]", ids)
		}
		if eps, err := s.FinishBatch(ctx, nil); err != nil || len(eps) != 0 {
			t.Fatalf("empty finish batch: %v, %v", eps, err)
		}
	})

	t.Run("claim takes only the head of each key", func(t *testing.T) {
		s := open(t)
		newEndpoint(t, s, "sub1")
		newEndpoint(t, s, "sub2")
		a1 := enqueue(t, s, "sub1", "a1", "ka", t0)
		enqueue(t, s, "sub1", "a2", "ka", t0)
		enqueue(t, s, "sub1", "b1", "kb", t0)
		enqueue(t, s, "sub2", "c1", "ka", t0) // same key, other endpoint: independent
		enqueue(t, s, "sub1", "d1", "kd", t0.Add(time.Hour))
		ms, ids := claimIDs(t, s, t0, 10)
		if want := []string{"a1", "b1", "c1"}; !slices.Equal(ids, want) {
			t.Fatalf("claimed %v, want %v", ids, want)
		}
		for _, m := range ms {
			if m.LeaseToken == "" {
				t.Fatalf("claimed %s without a lease token", m.EventID)
			}
		}
		// Leased messages, and the rest of their keys, are not claimed again.
		if _, ids := claimIDs(t, s, t0.Add(time.Second), 10); len(ids) != 0 {
			t.Fatalf("claimed %v while leased", ids)
		}
		// A lease that ran out is claimable again.
		_, ids = claimIDs(t, s, t0.Add(2*time.Minute), 1)
		if !slices.Equal(ids, []string{"a1"}) {
			t.Fatalf("after lease expiry claimed %v, want [a1]", ids)
		}
		_ = a1
	})

	t.Run("finish applies outcomes and keeps key order", func(t *testing.T) {
		s := open(t)
		newEndpoint(t, s, "sub1")
		enqueue(t, s, "sub1", "a1", "ka", t0)
		enqueue(t, s, "sub1", "a2", "ka", t0)
		enqueue(t, s, "sub1", "a3", "ka", t0)
		ms, _ := claimIDs(t, s, t0, 10)
		if len(ms) != 1 || ms[0].EventID != "a1" {
			t.Fatalf("claimed %+v", ms)
		}
		// Retry: a1 is not due until its next time; a2 stays behind it.
		ep := finish(t, s, ms[0], webhook.OutcomeRetry, t0, t0.Add(5*time.Second))
		if ep.ConsecutiveFailures != 1 || !ep.FailingSince.Equal(t0) {
			t.Fatalf("health after failure %+v", ep)
		}
		if _, ids := claimIDs(t, s, t0.Add(time.Second), 10); len(ids) != 0 {
			t.Fatalf("claimed %v before a1 is due", ids)
		}
		if next, ok, err := s.NextDue(ctx); err != nil || !ok || !next.Equal(t0.Add(5*time.Second)) {
			t.Fatalf("next due %v %v %v, want %v", next, ok, err, t0.Add(5*time.Second))
		}
		ms, _ = claimIDs(t, s, t0.Add(5*time.Second), 10)
		if len(ms) != 1 || ms[0].EventID != "a1" || ms[0].Attempts != 1 || ms[0].Step != 1 {
			t.Fatalf("second claim %+v", ms)
		}
		// Give up: a1 fails for good, a2 becomes the head.
		ep = finish(t, s, ms[0], webhook.OutcomeGiveUp, t0.Add(5*time.Second), time.Time{})
		if ep.ConsecutiveFailures != 2 || !ep.FailingSince.Equal(t0) {
			t.Fatalf("health after two failures %+v", ep)
		}
		m, _ := s.GetMessage(ctx, "sub1", ms[0].ID)
		if m.State != webhook.MessageFailed || m.Attempts != 2 || m.LastError != "status 500" {
			t.Fatalf("given-up message %+v", m)
		}
		ms, _ = claimIDs(t, s, t0.Add(6*time.Second), 10)
		if len(ms) != 1 || ms[0].EventID != "a2" {
			t.Fatalf("after give-up claimed %+v", ms)
		}
		ep = finish(t, s, ms[0], webhook.OutcomeDelivered, t0.Add(6*time.Second), time.Time{})
		if ep.ConsecutiveFailures != 0 || !ep.FailingSince.IsZero() {
			t.Fatalf("health after success %+v", ep)
		}
		m, _ = s.GetMessage(ctx, "sub1", ms[0].ID)
		if m.State != webhook.MessageDelivered || m.Attempts != 1 {
			t.Fatalf("delivered message %+v", m)
		}
		ms, _ = claimIDs(t, s, t0.Add(7*time.Second), 10)
		if len(ms) != 1 || ms[0].EventID != "a3" {
			t.Fatalf("after delivery claimed %+v", ms)
		}
		// A stale lease does not change the message, but the attempt is logged.
		stale := ms[0]
		stale.LeaseToken = "not-the-lease"
		finish(t, s, stale, webhook.OutcomeDelivered, t0.Add(8*time.Second), time.Time{})
		if m, _ := s.GetMessage(ctx, "sub1", stale.ID); m.State != webhook.MessagePending {
			t.Fatalf("stale finish changed the message: %+v", m)
		}
		as, err := s.ListAttempts(ctx, "sub1", webhook.AttemptFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(as) != 4 {
			t.Fatalf("%d attempts logged, want 4", len(as))
		}
		if as[0].EventID != "a3" || as[3].EventID != "a1" || as[3].N != 1 || as[2].N != 2 {
			t.Fatalf("log order: %+v", as)
		}
		a := as[3]
		if a.StatusCode != 500 || a.Latency != 3*time.Millisecond || a.Response != "oops" || a.Error != "status 500" || !a.At.Equal(t0) || a.Trigger != "scheduled" {
			t.Fatalf("attempt row %+v", a)
		}
		only, _ := s.ListAttempts(ctx, "sub1", webhook.AttemptFilter{MessageID: a.MessageID})
		if len(only) != 2 {
			t.Fatalf("attempts of message %d: %d, want 2", a.MessageID, len(only))
		}
		page, _ := s.ListAttempts(ctx, "sub1", webhook.AttemptFilter{BeforeID: as[1].ID, Limit: 1})
		if len(page) != 1 || page[0].ID != as[2].ID {
			t.Fatalf("page before %d: %+v", as[1].ID, page)
		}
	})

	t.Run("withheld ends the message without an attempt", func(t *testing.T) {
		s := open(t)
		ms, stale := claimHeadOfTwo(t, s)
		why := webhook.Attempt{Error: "subscription sub1 is revoked: it no longer delivers"}
		if _, err := s.FinishBatch(ctx, []webhook.Result{{Message: stale, Outcome: webhook.OutcomeWithheld, Attempt: why}}); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetMessage(ctx, "sub1", ms[0].ID); got.State != webhook.MessagePending {
			t.Fatalf("a stale lease withheld the message: %+v", got)
		}
		if _, err := s.FinishBatch(ctx, []webhook.Result{{Message: ms[0], Outcome: webhook.OutcomeWithheld, Attempt: why}}); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetMessage(ctx, "sub1", ms[0].ID)
		if err != nil || got.State != webhook.MessageWithheld || got.LastError != why.Error || got.Attempts != 0 || got.LeaseToken != "" {
			t.Fatalf("withheld message %+v, %v; want withheld saying why, no attempt", got, err)
		}
		if as, _ := s.ListAttempts(ctx, "sub1", webhook.AttemptFilter{}); len(as) != 0 {
			t.Fatalf("withholding logged %d attempts", len(as))
		}
		if ep, _ := s.GetEndpoint(ctx, "sub1"); ep.ConsecutiveFailures != 0 || !ep.FailingSince.IsZero() {
			t.Fatalf("withholding changed the endpoint's health: %+v", ep)
		}
		// The key moves on, and a redelivery makes it pending again.
		if _, ids := claimIDs(t, s, t0.Add(time.Second), 10); !slices.Equal(ids, []string{"a2"}) {
			t.Fatalf("after a1 was withheld claimed %v, want a2", ids)
		}
		if err := s.Redeliver(ctx, "sub1", ms[0].ID, t0); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetMessage(ctx, "sub1", ms[0].ID); got.State != webhook.MessagePending || !got.Manual {
			t.Fatalf("redelivered withheld message %+v, want pending", got)
		}
	})

	t.Run("newest is the latest message of a key in any state", func(t *testing.T) {
		s := open(t)
		newEndpoint(t, s, "sub1")
		newEndpoint(t, s, "sub2")
		_, err := s.Newest(ctx, "sub1", "ka")
		wantCode(t, err, apierr.CodeNotFound)
		a1 := enqueue(t, s, "sub1", "a1", "ka", t0)
		a2 := enqueue(t, s, "sub1", "a2", "ka", t0)
		enqueue(t, s, "sub1", "b1", "kb", t0)
		enqueue(t, s, "sub2", "c1", "ka", t0)
		got, err := s.Newest(ctx, "sub1", "ka")
		if err != nil || got.ID != a2.ID || string(got.Body) != `{"id":"a2"}` {
			t.Fatalf("newest of ka = %+v, %v; want a2 with its body", got, err)
		}
		// Delivered or not, the newest stays the newest.
		ms, _ := claimIDs(t, s, t0, 10)
		for _, m := range ms {
			if m.ID == a1.ID {
				finish(t, s, m, webhook.OutcomeDelivered, t0, time.Time{})
			}
		}
		ms, _ = claimIDs(t, s, t0, 10)
		for _, m := range ms {
			if m.ID == a2.ID {
				finish(t, s, m, webhook.OutcomeDelivered, t0, time.Time{})
			}
		}
		if got, err := s.Newest(ctx, "sub1", "ka"); err != nil || got.ID != a2.ID || got.State != webhook.MessageDelivered {
			t.Fatalf("newest of ka after delivery = %+v, %v; want a2 delivered", got, err)
		}
	})

	t.Run("not sent drops only the lease", func(t *testing.T) {
		s := open(t)
		ms, stale := claimHeadOfTwo(t, s)
		if _, err := s.FinishBatch(ctx, []webhook.Result{{Message: stale, Outcome: webhook.OutcomeNotSent}}); err != nil {
			t.Fatal(err)
		}
		if _, ids := claimIDs(t, s, t0.Add(time.Second), 10); len(ids) != 0 {
			t.Fatalf("a stale release freed the lease: claimed %v", ids)
		}
		if _, err := s.FinishBatch(ctx, []webhook.Result{{Message: ms[0], Outcome: webhook.OutcomeNotSent}}); err != nil {
			t.Fatal(err)
		}
		again, ids := claimIDs(t, s, t0.Add(time.Second), 10)
		if !slices.Equal(ids, []string{"a1"}) || again[0].Attempts != 0 || again[0].Step != 0 || again[0].LastError != "" {
			t.Fatalf("after release claimed %+v, want a1 untouched", again)
		}
		if as, _ := s.ListAttempts(ctx, "sub1", webhook.AttemptFilter{}); len(as) != 0 {
			t.Fatalf("a release logged %d attempts", len(as))
		}
		if ep, _ := s.GetEndpoint(ctx, "sub1"); ep.ConsecutiveFailures != 0 || !ep.FailingSince.IsZero() {
			t.Fatalf("a release changed the endpoint's health: %+v", ep)
		}
	})

	t.Run("gone disables and keeps the message", func(t *testing.T) {
		s := open(t)
		newEndpoint(t, s, "sub1")
		enqueue(t, s, "sub1", "a1", "ka", t0)
		ms, _ := claimIDs(t, s, t0, 10)
		ep := finish(t, s, ms[0], webhook.OutcomeGone, t0, time.Time{})
		if ep.Status != webhook.StatusDisabled || ep.DisabledReason != webhook.ReasonGone {
			t.Fatalf("after 410: %+v", ep)
		}
		if m, _ := s.GetMessage(ctx, "sub1", ms[0].ID); m.State != webhook.MessagePending {
			t.Fatalf("after 410 message %+v", m)
		}
		if _, ids := claimIDs(t, s, t0.Add(time.Hour), 10); len(ids) != 0 {
			t.Fatalf("claimed %v from a disabled endpoint", ids)
		}
		if _, ok, _ := s.NextDue(ctx); ok {
			t.Fatal("next due reported for a disabled endpoint")
		}
	})

	t.Run("enable resumes the backlog", func(t *testing.T) {
		s := open(t)
		newEndpoint(t, s, "sub1")
		enqueue(t, s, "sub1", "a1", "ka", t0)
		ms, _ := claimIDs(t, s, t0, 10)
		finish(t, s, ms[0], webhook.OutcomeRetry, t0, t0.Add(10*time.Hour))
		if err := s.SetStatus(ctx, "sub1", webhook.StatusDisabled, webhook.ReasonFailing, t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		enqueue(t, s, "sub1", "b1", "kb", t0.Add(2*time.Second))
		if _, ids := claimIDs(t, s, t0.Add(3*time.Second), 10); len(ids) != 0 {
			t.Fatalf("claimed %v while disabled", ids)
		}
		ep, _ := s.GetEndpoint(ctx, "sub1")
		if ep.Status != webhook.StatusDisabled || ep.DisabledReason != webhook.ReasonFailing || !ep.DisabledAt.Equal(t0.Add(time.Second)) {
			t.Fatalf("disabled endpoint %+v", ep)
		}
		on := t0.Add(time.Minute)
		if err := s.SetStatus(ctx, "sub1", webhook.StatusEnabled, "", on); err != nil {
			t.Fatal(err)
		}
		ep, _ = s.GetEndpoint(ctx, "sub1")
		if ep.Status != webhook.StatusEnabled || ep.ConsecutiveFailures != 0 || !ep.FailingSince.IsZero() || ep.DisabledReason != "" {
			t.Fatalf("enabled endpoint %+v", ep)
		}
		ms, ids := claimIDs(t, s, on, 10)
		if !slices.Equal(ids, []string{"a1", "b1"}) {
			t.Fatalf("after enable claimed %v, want [a1 b1]", ids)
		}
		for _, m := range ms {
			if m.Step != 0 {
				t.Fatalf("%s resumed at step %d, want 0", m.EventID, m.Step)
			}
		}
	})

	t.Run("redeliver revives a message in its key order", func(t *testing.T) {
		s := open(t)
		newEndpoint(t, s, "sub1")
		enqueue(t, s, "sub1", "a1", "ka", t0)
		ms, _ := claimIDs(t, s, t0, 10)
		finish(t, s, ms[0], webhook.OutcomeDelivered, t0, time.Time{})
		enqueue(t, s, "sub1", "a2", "ka", t0.Add(time.Second))
		if err := s.Redeliver(ctx, "sub1", ms[0].ID, t0.Add(2*time.Second)); err != nil {
			t.Fatal(err)
		}
		got, _ := claimIDs(t, s, t0.Add(2*time.Second), 10)
		if len(got) != 1 || got[0].EventID != "a1" || !got[0].Manual || got[0].State != webhook.MessagePending {
			t.Fatalf("after redeliver claimed %+v", got)
		}
		wantCode(t, s.Redeliver(ctx, "sub1", 999999, t0), apierr.CodeNotFound)
		wantCode(t, s.Redeliver(ctx, "nope", ms[0].ID, t0), apierr.CodeNotFound)
	})

	t.Run("concurrent claims never share a message", func(t *testing.T) {
		s := open(t)
		newEndpoint(t, s, "sub1")
		const n = 60
		for i := range n {
			enqueue(t, s, "sub1", fmt.Sprintf("e%d", i), fmt.Sprintf("k%d", i%20), t0)
		}
		var mu sync.Mutex
		seen := map[string]int{}
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range 30 {
					ms, err := s.Claim(ctx, t0, t0.Add(time.Minute), 3)
					if err != nil {
						t.Error(err)
						return
					}
					for _, m := range ms {
						mu.Lock()
						seen[m.Key]++
						mu.Unlock()
						if _, err := s.Finish(ctx, webhook.Result{Message: m, Outcome: webhook.OutcomeDelivered, Attempt: webhook.Attempt{N: 1, Trigger: "scheduled", At: t0}}); err != nil {
							t.Error(err)
						}
					}
				}
			})
		}
		wg.Wait()
		as, _ := s.ListAttempts(ctx, "sub1", webhook.AttemptFilter{Limit: 1000})
		if len(as) != n {
			t.Fatalf("%d attempts for %d messages", len(as), n)
		}
		ids := map[int64]bool{}
		for _, a := range as {
			if ids[a.MessageID] {
				t.Fatalf("message %d sent twice", a.MessageID)
			}
			ids[a.MessageID] = true
		}
	})
}
