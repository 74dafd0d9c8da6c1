// Package storetest is the conformance suite every subscription.Store
// passes: SQLite and PostgreSQL run the same tests.
package storetest

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/delivery/internal/subscription"
)

// Run runs the suite; open returns a fresh, empty store for one test.
func Run[S subscription.Store](t *testing.T, open func(t *testing.T) S) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s subscription.Store)
	}{
		{"CreateGetHistory", testCreateGet},
		{"CreateTwiceConflicts", testCreateTwice},
		{"UpdateAppendsHistory", testUpdate},
		{"UpdateClosureErrorChangesNothing", testUpdateError},
		{"UnknownIsNotFound", testUnknown},
		{"ListFilters", testList},
		{"ConcurrentUpdatesNeverLoseOne", testConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func sample(id, system, concept string) client.Subscription {
	return client.Subscription{ID: id, System: system, Concept: concept, Major: 1, Purpose: "school placement",
		LegalBasis: client.LegalBasis{Basis: client.BasisPublicTask, Reference: "Skollagen (2010:800)"}, Channel: client.ChannelKafka,
		RequestedFields: []string{"givenNames", "surname"}, Status: client.StatusRequested, Version: 1, CreatedAt: t0, UpdatedAt: t0}
}

func create(t *testing.T, s subscription.Store, sub client.Subscription) {
	t.Helper()
	if err := s.Create(context.Background(), sub, client.SubscriptionChange{At: t0, Actor: sub.System, Action: client.ActionRequested, Reason: "start"}); err != nil {
		t.Fatal(err)
	}
}

func testCreateGet(t *testing.T, s subscription.Store) {
	ctx := context.Background()
	sub := sample("s1", "skolplattform", "person")
	create(t, s, sub)
	got, err := s.Get(ctx, "s1")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, sub) {
		t.Errorf("Get =\n%+v\nwant\n%+v", got, sub)
	}
	h, err := s.History(ctx, "s1")
	if err != nil || len(h) != 1 || h[0].Seq != 1 || h[0].Action != client.ActionRequested || h[0].Actor != "skolplattform" || !reflect.DeepEqual(h[0].After, sub) {
		t.Fatalf("History = %+v, %v", h, err)
	}
}

func testCreateTwice(t *testing.T, s subscription.Store) {
	create(t, s, sample("s1", "a", "person"))
	err := s.Create(context.Background(), sample("s1", "b", "unit"), client.SubscriptionChange{})
	if !errors.Is(err, subscription.ErrConflict) {
		t.Fatalf("second Create = %v, want ErrConflict", err)
	}
}

func testUpdate(t *testing.T, s subscription.Store) {
	ctx := context.Background()
	create(t, s, sample("s1", "a", "person"))
	got, err := s.Update(ctx, "s1", func(cur client.Subscription) (client.Subscription, client.SubscriptionChange, error) {
		cur.Status = client.StatusApproved
		cur.ApprovedFields = []string{"surname"}
		return cur, client.SubscriptionChange{At: t0.Add(time.Hour), Actor: "owner", Action: client.ActionNarrowed, Reason: "surname suffices"}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 2 || got.Status != client.StatusApproved {
		t.Fatalf("Update = %+v", got)
	}
	again, err := s.Get(ctx, "s1")
	if err != nil || !reflect.DeepEqual(again, got) {
		t.Fatalf("Get after Update = %+v, %v", again, err)
	}
	approved, err := s.List(ctx, subscription.Filter{Status: client.StatusApproved})
	if err != nil || len(approved) != 1 {
		t.Fatalf("List approved = %+v, %v (the status column must follow the update)", approved, err)
	}
	h, err := s.History(ctx, "s1")
	if err != nil || len(h) != 2 || h[1].Seq != 2 || h[1].Actor != "owner" || h[1].Reason != "surname suffices" || !reflect.DeepEqual(h[1].After, got) {
		t.Fatalf("History = %+v, %v", h, err)
	}
}

func testUpdateError(t *testing.T, s subscription.Store) {
	ctx := context.Background()
	create(t, s, sample("s1", "a", "person"))
	boom := errors.New("boom")
	_, err := s.Update(ctx, "s1", func(cur client.Subscription) (client.Subscription, client.SubscriptionChange, error) {
		cur.Status = client.StatusApproved
		return cur, client.SubscriptionChange{}, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want the closure's error", err)
	}
	got, _ := s.Get(ctx, "s1")
	h, _ := s.History(ctx, "s1")
	if got.Version != 1 || got.Status != client.StatusRequested || len(h) != 1 {
		t.Fatalf("a failed closure changed the store: %+v, %d changes", got, len(h))
	}
}

func testUnknown(t *testing.T, s subscription.Store) {
	ctx := context.Background()
	if _, err := s.Get(ctx, "nope"); !errors.Is(err, subscription.ErrNotFound) {
		t.Errorf("Get = %v", err)
	}
	if _, err := s.History(ctx, "nope"); !errors.Is(err, subscription.ErrNotFound) {
		t.Errorf("History = %v", err)
	}
	_, err := s.Update(ctx, "nope", func(cur client.Subscription) (client.Subscription, client.SubscriptionChange, error) {
		t.Error("closure called for an unknown subscription")
		return cur, client.SubscriptionChange{}, nil
	})
	if !errors.Is(err, subscription.ErrNotFound) {
		t.Errorf("Update = %v", err)
	}
}

func testList(t *testing.T, s subscription.Store) {
	ctx := context.Background()
	create(t, s, sample("s1", "school", "person"))
	create(t, s, sample("s2", "school", "unit"))
	create(t, s, sample("s3", "library", "person"))
	tests := []struct {
		f    subscription.Filter
		want []string
	}{
		{subscription.Filter{}, []string{"s1", "s2", "s3"}},
		{subscription.Filter{System: "school"}, []string{"s1", "s2"}},
		{subscription.Filter{Concept: "person"}, []string{"s1", "s3"}},
		{subscription.Filter{System: "school", Concept: "person"}, []string{"s1"}},
		{subscription.Filter{Status: client.StatusApproved}, nil},
		{subscription.Filter{Limit: 2}, []string{"s1", "s2"}},
		{subscription.Filter{After: "s1"}, []string{"s2", "s3"}},
		{subscription.Filter{After: "s1", Limit: 1}, []string{"s2"}},
		{subscription.Filter{Concept: "person", After: "s1"}, []string{"s3"}},
		{subscription.Filter{After: "s3"}, nil},
	}
	for _, tt := range tests {
		got, err := s.List(ctx, tt.f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, g := range got {
			ids = append(ids, g.ID)
		}
		if !reflect.DeepEqual(ids, tt.want) {
			t.Errorf("List(%+v) = %v, want %v", tt.f, ids, tt.want)
		}
	}
}

// testConcurrent: concurrent updates either apply or fail with
// ErrConflict; none is lost silently (the version counts the applied ones).
func testConcurrent(t *testing.T, s subscription.Store) {
	ctx := context.Background()
	create(t, s, sample("s1", "a", "person"))
	var wg sync.WaitGroup
	var mu sync.Mutex
	applied := 0
	for range 8 {
		wg.Go(func() {
			_, err := s.Update(ctx, "s1", func(cur client.Subscription) (client.Subscription, client.SubscriptionChange, error) {
				cur.Purpose += "+"
				return cur, client.SubscriptionChange{Actor: "x", Action: client.ActionChanged}, nil
			})
			if err == nil {
				mu.Lock()
				applied++
				mu.Unlock()
			} else if !errors.Is(err, subscription.ErrConflict) {
				t.Errorf("Update = %v", err)
			}
		})
	}
	wg.Wait()
	got, err := s.Get(ctx, "s1")
	if err != nil {
		t.Fatal(err)
	}
	if int(got.Version) != 1+applied || len(got.Purpose) != len("school placement")+applied {
		t.Fatalf("version %d, purpose %q after %d applied updates", got.Version, got.Purpose, applied)
	}
}
