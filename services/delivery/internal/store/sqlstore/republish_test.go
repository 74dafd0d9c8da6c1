package sqlstore_test

import (
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/sqldb/sqldbtest"
	"github.com/samnav/samnav/services/delivery/internal/kafkaview"
	"github.com/samnav/samnav/services/delivery/internal/store/sqlstore"
)

// TestRepublishes: a scheduled re-publish is due at its time, not before;
// scheduling a key again keeps one row with the earlier written time and
// the later due time; a re-publish done before it was scheduled again
// stays, one done after is gone.
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
	})
}
