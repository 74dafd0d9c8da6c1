package sqlstore_test

import (
	"reflect"
	"testing"

	"github.com/samnav/samnav/pkg/sqldb/sqldbtest"
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
