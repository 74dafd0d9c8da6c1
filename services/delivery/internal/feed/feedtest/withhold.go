package feedtest

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/samnav/samnav/services/delivery/internal/channel"
	"github.com/samnav/samnav/services/delivery/internal/feed"
)

// The address a person had before becoming a protected identity: no
// entry of a subscription not approved for protected identities may show
// it once the shielded entry is stored.
const oldAddress = "Storgatan 1"

// runWithhold is the part of the suite on Entry.Withheld: a person who
// becomes protected leaves no earlier value of a shielded field readable
// from any cursor or snapshot.
func runWithhold[S feed.Store](t *testing.T, open func(t *testing.T) S) {
	ctx := context.Background()
	shielded := func(e feed.Entry) feed.Entry {
		e.Withheld = []string{"registeredAddress", "phone"}
		return e
	}
	before := []feed.Entry{
		entry("a", "p", "e1", channel.TypeChanged, 1, `{"id":"p","givenNames":"Ada","registeredAddress":"`+oldAddress+`","phone":null}`),
		entry("a", "q", "e2", channel.TypeChanged, 1, `{"id":"q","givenNames":"Bo","registeredAddress":"Lillgatan 2"}`),
		entry("a", "p", "e3", channel.TypeChanged, 2, `{"id":"p","givenNames":"Ada Lovisa","registeredAddress":"`+oldAddress+`","phone":"070"}`),
		// The subscription approved for protected identities keeps them.
		entry("b", "p", "e4", channel.TypeChanged, 1, `{"id":"p","registeredAddress":"`+oldAddress+`"}`),
		// An entry stored before the field was approved never held it.
		entry("a", "p", "e0", channel.TypeChanged, 0, `{"id":"p","givenNames":"Ada"}`),
	}
	after := shielded(entry("a", "p", "e5", channel.TypeChanged, 3, `{"id":"p","givenNames":"Ada Lovisa","registeredAddress":null,"phone":null}`))

	check := func(t *testing.T, s feed.Store) {
		t.Helper()
		log, err := s.Changes(ctx, "a", 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		snap, err := s.Snapshot(ctx, "a", "", 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range append(log, snap...) {
			if e.Key == "p" && strings.Contains(string(e.State), oldAddress) {
				t.Errorf("entry %d (%s) of subscription a still shows the old address: %s", e.Position, e.EventID, e.State)
			}
		}
		want := map[string]string{
			"e0": `{"givenNames":"Ada","id":"p"}`,
			"e1": `{"givenNames":"Ada","id":"p","phone":null,"registeredAddress":null}`,
			"e2": `{"givenNames":"Bo","id":"q","registeredAddress":"Lillgatan 2"}`,
			"e3": `{"givenNames":"Ada Lovisa","id":"p","phone":null,"registeredAddress":null}`,
		}
		for _, e := range log {
			if w, ok := want[e.EventID]; ok && !sameJSON(t, string(e.State), w) {
				t.Errorf("entry %s = %s, want %s (other fields and keys untouched)", e.EventID, e.State, w)
			}
		}
		if len(log) != len(want)+1 {
			t.Errorf("log = %v, want every entry kept", keys(log))
		}
		other, err := s.Changes(ctx, "b", 0, 100)
		if err != nil || len(other) != 1 || !strings.Contains(string(other[0].State), oldAddress) {
			t.Errorf("subscription b = %v, %v; want its entry untouched", other, err)
		}
	}

	t.Run("a shielded entry withholds its fields from every earlier entry of its key", func(t *testing.T) {
		s := open(t)
		for _, e := range before {
			mustAppend(t, s, e)
		}
		mustAppend(t, s, after)
		check(t, s)
	})

	t.Run("a shielded entry in a batch withholds its fields from earlier entries, in the batch too", func(t *testing.T) {
		s := open(t)
		for _, e := range before[:2] {
			mustAppend(t, s, e)
		}
		if n, err := s.AppendBatch(ctx, []feed.Entry{before[2], before[4], after}); err != nil || n != 3 {
			t.Fatalf("batch a = %d, %v", n, err)
		}
		mustAppend(t, s, before[3])
		check(t, s)
	})

	t.Run("a newer current state stored earlier is withheld too", func(t *testing.T) {
		s := open(t)
		mustAppend(t, s, entry("a", "p", "new", channel.TypeChanged, 9, `{"id":"p","registeredAddress":"`+oldAddress+`"}`))
		mustAppend(t, s, shielded(entry("a", "p", "old", channel.TypeChanged, 8, `{"id":"p","registeredAddress":null}`)))
		snap, err := s.Snapshot(ctx, "a", "", 10)
		if err != nil || len(snap) != 1 || snap[0].EventID != "new" || strings.Contains(string(snap[0].State), oldAddress) {
			t.Fatalf("snapshot = %+v, %v; want revision 9 without the address", snap, err)
		}
	})
}

func sameJSON(t *testing.T, a, b string) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal([]byte(a), &x); err != nil {
		t.Fatalf("state %s: %v", a, err)
	}
	if err := json.Unmarshal([]byte(b), &y); err != nil {
		t.Fatalf("want %s: %v", b, err)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}
