package sqlstore_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/sqldb/sqldbtest"
	"github.com/samnav/samnav/services/delivery/internal/kafkaview"
	"github.com/samnav/samnav/services/delivery/internal/store/sqlstore"
)

// TestProtected: a record that becomes protected is recorded and marks its
// concept pending in one step; seeing it protected again does not; a
// pending mark is cleared only if nothing became protected since it was
// read; an unprotected (or erased) record is forgotten.
func TestProtected(t *testing.T) {
	sqldbtest.Stores(t, sqlstore.New, func(t *testing.T, open func(t *testing.T) *sqlstore.Store) {
		s := open(t)
		ctx := t.Context()
		check := func(id string, want bool) {
			t.Helper()
			if got, err := s.Protected(ctx, "person", id); err != nil || got != want {
				t.Fatalf("Protected(%s) = %v, %v; want %v", id, got, err, want)
			}
		}
		set := func(id string, protected, wantBecame bool) {
			t.Helper()
			if became, err := s.SetProtected(ctx, "person", id, protected); err != nil || became != wantBecame {
				t.Fatalf("SetProtected(%s, %v) = %v, %v; want became %v", id, protected, became, err, wantBecame)
			}
		}
		pending := func() map[string]int64 {
			t.Helper()
			p, err := s.Pending(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		check("p1", false)
		set("p1", false, false)
		if p := pending(); len(p) != 0 {
			t.Fatalf("pending before any protection: %v", p)
		}
		set("p1", true, true)
		set("p1", true, false) // seen again: nothing new to deliver
		check("p1", true)
		first := pending()
		if !reflect.DeepEqual(first, map[string]int64{"person": 1}) {
			t.Fatalf("pending = %v, want person 1", first)
		}
		set("p2", true, true) // became protected while p1's re-delivery ran
		if err := s.Redelivered(ctx, "person", first["person"]); err != nil {
			t.Fatal(err)
		}
		second := pending()
		if len(second) != 1 || second["person"] == first["person"] {
			t.Fatalf("pending after a stale Redelivered = %v, want person still pending with a new mark", second)
		}
		if err := s.Redelivered(ctx, "person", second["person"]); err != nil {
			t.Fatal(err)
		}
		if p := pending(); len(p) != 0 {
			t.Fatalf("pending after Redelivered = %v", p)
		}
		set("p1", false, false)
		check("p1", false)
		check("p2", true)
	})
}

// TestRepublishes: a scheduled re-publish is due at its time, not before;
// scheduling a key again keeps one row with the earlier written time and
// the later due time; a re-publish done before it was scheduled again
// stays, one done after is gone; forgetting a subscription's removes
// only its own.
func TestRepublishes(t *testing.T) {
	sqldbtest.Stores(t, sqlstore.New, func(t *testing.T, open func(t *testing.T) *sqlstore.Store) {
		s := open(t)
		ctx := t.Context()
		t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
		due := func(at time.Time) []kafkaview.Republish {
			t.Helper()
			got, err := s.DueRepublishes(ctx, at, 10)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		if err := s.ScheduleRepublish(ctx, "s1", []string{"p-1", "p-2"}, t0, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got := due(t0.Add(time.Hour - time.Millisecond)); len(got) != 0 {
			t.Fatalf("due before their time: %v", got)
		}
		if got := due(t0.Add(time.Hour)); len(got) != 2 || got[0].Key != "p-1" || got[0].Subscription != "s1" || !got[0].Written.Equal(t0) {
			t.Fatalf("due at their time = %v, want p-1 and p-2 of s1 written at %s", got, t0)
		}
		listed := due(t0.Add(time.Hour))[0]
		// p-1 is written shielded again before its re-publish is done.
		if err := s.ScheduleRepublish(ctx, "s1", []string{"p-1"}, t0.Add(time.Minute), t0.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.Republished(ctx, listed); err != nil {
			t.Fatal(err)
		}
		got := due(t0.Add(2 * time.Hour))
		if len(got) != 2 || got[1].Key != "p-1" || !got[1].Written.Equal(t0) || !got[1].Due.Equal(t0.Add(2*time.Hour)) {
			t.Fatalf("after scheduling p-1 again = %v, want it kept, written at %s, due at %s", got, t0, t0.Add(2*time.Hour))
		}
		for _, r := range got {
			if err := s.Republished(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		if got := due(t0.Add(3 * time.Hour)); len(got) != 0 {
			t.Fatalf("after they were done: %v", got)
		}
		// A view deleted (rebuilt or revoked) has nothing to re-publish.
		if err := s.ScheduleRepublish(ctx, "s1", []string{"p-1"}, t0, t0); err != nil {
			t.Fatal(err)
		}
		if err := s.ScheduleRepublish(ctx, "s2", []string{"p-1"}, t0, t0); err != nil {
			t.Fatal(err)
		}
		if err := s.ForgetRepublishes(ctx, "s1"); err != nil {
			t.Fatal(err)
		}
		if got := due(t0); len(got) != 1 || got[0].Subscription != "s2" {
			t.Fatalf("after forgetting s1's = %v, want s2's only", got)
		}
	})
}
