// Package subscribertest is the conformance suite every subscriber.Store
// passes: the memory, SQLite and PostgreSQL stores run the same tests.
package subscribertest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/sdk/subscriber"
)

// RunStore runs the suite; open returns a fresh, empty store for one test.
func RunStore[S subscriber.Store](t *testing.T, open func(t *testing.T) S) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

	seen := func(t *testing.T, s subscriber.Store, group, id string) bool {
		t.Helper()
		ok, err := s.Seen(ctx, group, id)
		if err != nil {
			t.Fatalf("seen %s/%s: %v", group, id, err)
		}
		return ok
	}

	t.Run("mark then seen, per group", func(t *testing.T) {
		s := open(t)
		if seen(t, s, "g", "e1") {
			t.Fatal("an unmarked event is seen")
		}
		if err := s.Mark(ctx, "g", "e1", t0); err != nil {
			t.Fatal(err)
		}
		if !seen(t, s, "g", "e1") {
			t.Fatal("a marked event is not seen")
		}
		if seen(t, s, "other", "e1") || seen(t, s, "g", "e2") {
			t.Fatal("a mark leaks to another group or event")
		}
		// Marking again is not an error.
		if err := s.Mark(ctx, "g", "e1", t0.Add(time.Hour)); err != nil {
			t.Fatalf("mark twice: %v", err)
		}
	})

	t.Run("forget from a time, in one group", func(t *testing.T) {
		s := open(t)
		for i := range 4 {
			if err := s.Mark(ctx, "g", fmt.Sprint("e", i), t0.Add(time.Duration(i)*time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Mark(ctx, "other", "e3", t0.Add(3*time.Minute)); err != nil {
			t.Fatal(err)
		}
		n, err := s.Forget(ctx, "g", t0.Add(2*time.Minute))
		if err != nil || n != 2 {
			t.Fatalf("forget = %d, %v; want 2", n, err)
		}
		for i, want := range []bool{true, true, false, false} {
			if got := seen(t, s, "g", fmt.Sprint("e", i)); got != want {
				t.Errorf("e%d seen = %v, want %v", i, got, want)
			}
		}
		if !seen(t, s, "other", "e3") {
			t.Error("forget removed another group's mark")
		}
		// A re-mark after forgetting takes the new time.
		if err := s.Mark(ctx, "g", "e3", t0.Add(3*time.Minute)); err != nil || !seen(t, s, "g", "e3") {
			t.Fatalf("re-mark: %v", err)
		}
	})

	t.Run("prune drops marks applied before a time, in one group", func(t *testing.T) {
		s := open(t)
		p, ok := any(s).(subscriber.Pruner)
		if !ok {
			t.Skip("the store is not a Pruner")
		}
		for _, id := range []string{"e1", "e2"} {
			if err := s.Mark(ctx, "g", id, t0); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Mark(ctx, "other", "e1", t0); err != nil {
			t.Fatal(err)
		}
		if n, err := p.Prune(ctx, "g", time.Now().Add(-time.Hour)); err != nil || n != 0 {
			t.Fatalf("prune of nothing old enough = %d, %v", n, err)
		}
		// Sleeps only order the marks and the cutoff in time.
		time.Sleep(2 * time.Millisecond)
		cutoff := time.Now()
		time.Sleep(2 * time.Millisecond)
		// e3's record is old, but it was applied after the cutoff.
		if err := s.Mark(ctx, "g", "e3", t0.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		n, err := p.Prune(ctx, "g", cutoff)
		if err != nil || n != 2 {
			t.Fatalf("prune = %d, %v; want 2", n, err)
		}
		for id, want := range map[string]bool{"e1": false, "e2": false, "e3": true} {
			if got := seen(t, s, "g", id); got != want {
				t.Errorf("%s seen after prune = %v, want %v", id, got, want)
			}
		}
		if !seen(t, s, "other", "e1") {
			t.Error("prune removed another group's mark")
		}
	})

	t.Run("concurrent marks of one event", func(t *testing.T) {
		s := open(t)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			wg.Go(func() {
				if err := s.Mark(ctx, "g", "same", t0); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if !seen(t, s, "g", "same") {
			t.Fatal("not seen")
		}
	})
}
