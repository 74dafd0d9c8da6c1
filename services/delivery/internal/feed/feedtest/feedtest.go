// Package feedtest is the conformance suite every feed.Store passes: the
// SQLite and PostgreSQL stores run the same tests.
package feedtest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/samnav/samnav/services/delivery/internal/channel"
	"github.com/samnav/samnav/services/delivery/internal/feed"
)

var t0 = time.Date(2026, 11, 27, 8, 0, 0, 123456000, time.UTC)

func entry(sub, key, id, typ string, rev int64, state string) feed.Entry {
	e := feed.Entry{SubscriptionID: sub, Concept: "person", Key: key, EventID: id, Type: typ, Time: t0.Add(time.Duration(rev) * time.Second),
		Revision: rev, Trace: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
	if state != "" {
		e.State = json.RawMessage(state)
	}
	return e
}

func mustAppend(t *testing.T, s feed.Store, e feed.Entry) int64 {
	t.Helper()
	pos, stored, err := s.Append(context.Background(), e)
	if err != nil || !stored {
		t.Fatalf("append %s: pos %d, stored %v, %v", e.EventID, pos, stored, err)
	}
	return pos
}

func keys(es []feed.Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Key + "@" + e.EventID
	}
	return out
}

// followUntil reads subscription "a"'s changes page by page while writers
// run, as a long-polling reader does, failing on any gap in positions;
// once done closes it reads up to want more pages for what is left. It
// returns the event ids seen and the last position.
func followUntil(t *testing.T, ctx context.Context, s feed.Store, done <-chan struct{}, page, want int) (map[string]bool, int64) {
	t.Helper()
	seen := map[string]bool{}
	var after int64
	follow := func() {
		got, err := s.Changes(ctx, "a", after, page)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range got {
			if e.Position != after+1 {
				t.Fatalf("position %d follows %d: a gap", e.Position, after)
			}
			after = e.Position
			seen[e.EventID] = true
		}
	}
loop:
	for {
		select {
		case <-done:
			break loop
		default:
			follow()
		}
	}
	for range want {
		follow()
	}
	return seen, after
}

// Run runs the suite; open returns a fresh, empty, migrated store for one
// test (sqldbtest.Stores passes it).
func Run[S feed.Store](t *testing.T, open func(t *testing.T) S) {
	ctx := context.Background()

	t.Run("positions start at one and grow by one per subscription", func(t *testing.T) {
		s := open(t)
		if head, err := s.Head(ctx, "a"); err != nil || head != 0 {
			t.Fatalf("head of an empty feed = %d, %v", head, err)
		}
		for i, want := range []struct {
			sub string
			pos int64
		}{{"a", 1}, {"b", 1}, {"a", 2}, {"a", 3}, {"b", 2}} {
			got := mustAppend(t, s, entry(want.sub, "k", fmt.Sprintf("e%d", i), channel.TypeChanged, int64(i+1), `{"id":"k"}`))
			if got != want.pos {
				t.Errorf("append %d to %s: position %d, want %d", i, want.sub, got, want.pos)
			}
		}
		if head, err := s.Head(ctx, "a"); err != nil || head != 3 {
			t.Fatalf("head of a = %d, %v; want 3", head, err)
		}
	})

	t.Run("an event id is stored once", func(t *testing.T) {
		s := open(t)
		mustAppend(t, s, entry("a", "k1", "e1", channel.TypeChanged, 1, `{"id":"k1"}`))
		mustAppend(t, s, entry("a", "k2", "e2", channel.TypeChanged, 1, `{"id":"k2"}`))
		pos, stored, err := s.Append(ctx, entry("a", "k1", "e1", channel.TypeChanged, 1, `{"id":"k1"}`))
		if err != nil || stored || pos != 1 {
			t.Fatalf("re-append of e1 = %d, %v, %v; want 1, false, nil", pos, stored, err)
		}
		// The same event id in another subscription is its own event.
		if pos := mustAppend(t, s, entry("b", "k1", "e1", channel.TypeChanged, 1, `{"id":"k1"}`)); pos != 1 {
			t.Fatalf("e1 in b: position %d", pos)
		}
		if head, _ := s.Head(ctx, "a"); head != 2 {
			t.Fatalf("head after a duplicate = %d, want 2 (no gap)", head)
		}
		if pos := mustAppend(t, s, entry("a", "k3", "e3", channel.TypeChanged, 1, `{"id":"k3"}`)); pos != 3 {
			t.Fatalf("position after a duplicate = %d, want 3", pos)
		}
	})

	t.Run("changes after a position, in order, limited, round-tripped", func(t *testing.T) {
		s := open(t)
		ended := t0.Add(time.Hour)
		want := []feed.Entry{
			entry("a", "k1", "e1", channel.TypeChanged, 1, `{"id":"k1","name":"Åsa"}`),
			entry("a", "k2", "e2", channel.TypeChanged, 1, `{"id":"k2"}`),
			entry("a", "k1", "e3", channel.TypeEnded, 2, `{"id":"k1","name":"Åsa"}`),
			entry("a", "k2", "e4", channel.TypeErased, 2, ""),
		}
		want[2].EndedAt = &ended
		want[3].Trace = ""
		for i := range want {
			want[i].Position = mustAppend(t, s, want[i])
		}
		mustAppend(t, s, entry("b", "k9", "x", channel.TypeChanged, 1, `{}`))
		got, err := s.Changes(ctx, "a", 0, 10)
		if err != nil || len(got) != 4 {
			t.Fatalf("changes = %v, %v", keys(got), err)
		}
		for i := range want {
			g, w := got[i], want[i]
			if g.Position != w.Position || g.SubscriptionID != "a" || g.Concept != w.Concept || g.Key != w.Key || g.EventID != w.EventID ||
				g.Type != w.Type || !g.Time.Equal(w.Time) || g.Revision != w.Revision || g.Trace != w.Trace || string(g.State) != string(w.State) ||
				(g.EndedAt == nil) != (w.EndedAt == nil) || (g.EndedAt != nil && !g.EndedAt.Equal(*w.EndedAt)) {
				t.Errorf("entry %d = %+v, want %+v", i, g, w)
			}
		}
		if got[3].State != nil {
			t.Errorf("erased entry state = %s, want nil", got[3].State)
		}
		page, err := s.Changes(ctx, "a", 1, 2)
		if err != nil || len(page) != 2 || page[0].Position != 2 || page[1].Position != 3 {
			t.Fatalf("changes after 1, limit 2 = %v, %v", keys(page), err)
		}
		if rest, err := s.Changes(ctx, "a", 4, 10); err != nil || len(rest) != 0 {
			t.Fatalf("changes after the head = %v, %v", keys(rest), err)
		}
	})

	t.Run("snapshot holds the newest state per key, in key order, without erased", func(t *testing.T) {
		s := open(t)
		for _, e := range []feed.Entry{
			entry("a", "m", "e1", channel.TypeChanged, 1, `{"v":1}`),
			entry("a", "B", "e2", channel.TypeChanged, 1, `{"v":1}`),
			entry("a", "z", "e3", channel.TypeChanged, 1, `{"v":1}`),
			entry("a", "m", "e4", channel.TypeChanged, 2, `{"v":2}`),
			entry("a", "z", "e5", channel.TypeErased, 2, ""),
			entry("a", "b", "e6", channel.TypeChanged, 1, `{"v":1}`),
			entry("a", "B", "e7", channel.TypeEnded, 2, `{"v":2}`),
			entry("b", "c", "e8", channel.TypeChanged, 1, `{"v":1}`),
		} {
			mustAppend(t, s, e)
		}
		got, err := s.Snapshot(ctx, "a", "", 10)
		if err != nil {
			t.Fatal(err)
		}
		// Byte order: "B" < "b" < "m", whatever the database's collation.
		if fmt.Sprint(keys(got)) != "[B@e7 b@e6 m@e4]" {
			t.Fatalf("snapshot = %v, want [B@e7 b@e6 m@e4]", keys(got))
		}
		if got[0].Type != channel.TypeEnded || string(got[2].State) != `{"v":2}` || got[2].Revision != 2 || got[2].Position != 4 {
			t.Errorf("snapshot entries = %+v", got)
		}
		page, err := s.Snapshot(ctx, "a", "B", 1)
		if err != nil || fmt.Sprint(keys(page)) != "[b@e6]" {
			t.Fatalf("page after B = %v, %v", keys(page), err)
		}
		if rest, err := s.Snapshot(ctx, "a", "m", 10); err != nil || len(rest) != 0 {
			t.Fatalf("page after m = %v, %v", keys(rest), err)
		}
		// An erased key comes back when it changes again.
		mustAppend(t, s, entry("a", "z", "e9", channel.TypeChanged, 3, `{"v":3}`))
		if rest, err := s.Snapshot(ctx, "a", "m", 10); err != nil || fmt.Sprint(keys(rest)) != "[z@e9]" {
			t.Fatalf("after re-creation = %v, %v", keys(rest), err)
		}
	})

	t.Run("purge empties one subscription's log and state, positions keep growing", func(t *testing.T) {
		s := open(t)
		mustAppend(t, s, entry("a", "k", "e1", channel.TypeChanged, 1, `{"id":"k","wide":1}`))
		mustAppend(t, s, entry("a", "m", "e2", channel.TypeChanged, 1, `{"id":"m","wide":1}`))
		mustAppend(t, s, entry("b", "k", "e3", channel.TypeChanged, 1, `{"id":"k","wide":1}`))
		if err := s.Purge(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		if log, err := s.Changes(ctx, "a", 0, 10); err != nil || len(log) != 0 {
			t.Fatalf("log after purge = %v, %v", keys(log), err)
		}
		if snap, err := s.Snapshot(ctx, "a", "", 10); err != nil || len(snap) != 0 {
			t.Fatalf("snapshot after purge = %v, %v", keys(snap), err)
		}
		if head, err := s.Head(ctx, "a"); err != nil || head != 2 {
			t.Fatalf("head after purge = %d, %v; want 2 (kept)", head, err)
		}
		// The same event, stored again after the purge, gets the next position.
		if got := mustAppend(t, s, entry("a", "k", "e1", channel.TypeChanged, 1, `{"id":"k"}`)); got != 3 {
			t.Errorf("first append after purge at %d, want 3", got)
		}
		if snap, err := s.Snapshot(ctx, "a", "", 10); err != nil || fmt.Sprint(keys(snap)) != "[k@e1]" || string(snap[0].State) != `{"id":"k"}` {
			t.Fatalf("snapshot after refill = %v, %v", keys(snap), err)
		}
		if other, err := s.Snapshot(ctx, "b", "", 10); err != nil || len(other) != 1 {
			t.Fatalf("another subscription's snapshot after purge = %v, %v", keys(other), err)
		}
		if err := s.Purge(ctx, "never-stored"); err != nil {
			t.Errorf("purge of an unknown feed: %v", err)
		}
	})

	t.Run("a shape is recorded per subscription, replaced, and removed", func(t *testing.T) {
		s := open(t)
		if got, err := s.Shape(ctx, "a"); err != nil || got != "" {
			t.Fatalf("shape of a new feed = %q, %v; want none", got, err)
		}
		for _, shape := range []string{"fields=givenNames", "fields=givenNames,surname"} {
			if err := s.SetShape(ctx, "a", shape); err != nil {
				t.Fatal(err)
			}
			if got, err := s.Shape(ctx, "a"); err != nil || got != shape {
				t.Fatalf("shape = %q, %v; want %q", got, err, shape)
			}
		}
		if got, err := s.Shape(ctx, "b"); err != nil || got != "" {
			t.Fatalf("another subscription's shape = %q, %v; want none", got, err)
		}
		mustAppend(t, s, entry("a", "k", "e1", channel.TypeChanged, 1, `{"id":"k"}`))
		if err := s.Purge(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Shape(ctx, "a"); err != nil || got != "fields=givenNames,surname" {
			t.Fatalf("shape after purge = %q, %v; want it kept", got, err)
		}
		if err := s.SetShape(ctx, "a", ""); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Shape(ctx, "a"); err != nil || got != "" {
			t.Fatalf("shape after removal = %q, %v; want none", got, err)
		}
	})

	t.Run("prune removes log entries stored before a time, never a feed's newest, never state", func(t *testing.T) {
		s := open(t)
		mustAppend(t, s, entry("a", "k", "e1", channel.TypeChanged, 1, `{"v":1}`))
		mustAppend(t, s, entry("a", "m", "e2", channel.TypeChanged, 1, `{"v":1}`))
		mustAppend(t, s, entry("b", "k", "e3", channel.TypeChanged, 1, `{"v":1}`))
		if n, err := s.Prune(ctx, time.Now().Add(-time.Hour)); err != nil || n != 0 {
			t.Fatalf("prune of nothing old enough = %d, %v", n, err)
		}
		// Sleeps only order the stores and the cutoff in time.
		time.Sleep(2 * time.Millisecond)
		cutoff := time.Now()
		time.Sleep(2 * time.Millisecond)
		mustAppend(t, s, entry("a", "k", "e4", channel.TypeChanged, 2, `{"v":2}`))
		n, err := s.Prune(ctx, cutoff)
		if err != nil || n != 2 {
			t.Fatalf("prune = %d, %v; want 2 (e1, e2; e3 is b's newest, e4 is newer)", n, err)
		}
		if log, err := s.Changes(ctx, "a", 0, 10); err != nil || fmt.Sprint(keys(log)) != "[k@e4]" || log[0].Position != 3 {
			t.Fatalf("a's log after prune = %v, %v", keys(log), err)
		}
		if log, err := s.Changes(ctx, "b", 0, 10); err != nil || fmt.Sprint(keys(log)) != "[k@e3]" {
			t.Fatalf("b's log after prune = %v, %v", keys(log), err)
		}
		if snap, err := s.Snapshot(ctx, "a", "", 10); err != nil || fmt.Sprint(keys(snap)) != "[k@e4 m@e2]" {
			t.Fatalf("a's snapshot after prune = %v, %v", keys(snap), err)
		}
		if head, err := s.Head(ctx, "a"); err != nil || head != 3 {
			t.Fatalf("a's head after prune = %d, %v", head, err)
		}
	})

	t.Run("an older revision does not replace a newer state", func(t *testing.T) {
		s := open(t)
		mustAppend(t, s, entry("a", "k", "new", channel.TypeChanged, 5, `{"v":5}`))
		mustAppend(t, s, entry("a", "k", "old", channel.TypeChanged, 4, `{"v":4}`))
		got, err := s.Snapshot(ctx, "a", "", 10)
		if err != nil || len(got) != 1 || got[0].EventID != "new" {
			t.Fatalf("snapshot = %v, %v; want the revision 5 state", keys(got), err)
		}
		// Both are in the log: the feed hides nothing it was given.
		if log, _ := s.Changes(ctx, "a", 0, 10); len(log) != 2 {
			t.Fatalf("log = %v", keys(log))
		}
	})

	t.Run("a batch is stored as appends in order, duplicates once, in one step", func(t *testing.T) {
		s := open(t)
		mustAppend(t, s, entry("a", "k1", "e1", channel.TypeChanged, 1, `{"v":1}`))
		mustAppend(t, s, entry("a", "k2", "e2", channel.TypeChanged, 5, `{"v":5}`))
		batch := []feed.Entry{
			entry("a", "k1", "e1", channel.TypeChanged, 1, `{"v":1}`), // stored before the batch
			entry("a", "k1", "e3", channel.TypeChanged, 2, `{"v":2}`),
			entry("a", "k2", "e4", channel.TypeChanged, 4, `{"v":4}`), // older than k2's state
			entry("a", "k3", "e5", channel.TypeChanged, 1, `{"v":1}`),
			entry("a", "k1", "e3", channel.TypeChanged, 2, `{"v":2}`), // twice in the batch
			entry("a", "k3", "e6", channel.TypeErased, 2, ""),
			entry("a", "k4", "e7", channel.TypeChanged, 1, `{"v":1}`),
			entry("a", "k4", "e8", channel.TypeEnded, 2, `{"v":2}`),
		}
		n, err := s.AppendBatch(ctx, batch)
		if err != nil || n != 6 {
			t.Fatalf("append batch = %d, %v; want 6 stored", n, err)
		}
		log, err := s.Changes(ctx, "a", 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(keys(log)) != "[k1@e1 k2@e2 k1@e3 k2@e4 k3@e5 k3@e6 k4@e7 k4@e8]" {
			t.Fatalf("log = %v", keys(log))
		}
		for i, e := range log {
			if e.Position != int64(i+1) {
				t.Fatalf("entry %d has position %d", i, e.Position)
			}
		}
		if head, err := s.Head(ctx, "a"); err != nil || head != 8 {
			t.Fatalf("head = %d, %v; want 8", head, err)
		}
		snap, err := s.Snapshot(ctx, "a", "", 10)
		if err != nil || fmt.Sprint(keys(snap)) != "[k1@e3 k2@e2 k4@e8]" {
			t.Fatalf("snapshot = %v, %v; want [k1@e3 k2@e2 k4@e8]", keys(snap), err)
		}
		if snap[2].Type != channel.TypeEnded || snap[2].Position != 8 || snap[0].Position != 3 {
			t.Errorf("snapshot entries = %+v", snap)
		}
		// The whole batch again: accepted, nothing stored, no gap after it.
		if n, err := s.AppendBatch(ctx, batch); err != nil || n != 0 {
			t.Fatalf("re-append of the batch = %d, %v; want 0, nil", n, err)
		}
		if pos := mustAppend(t, s, entry("a", "k5", "e9", channel.TypeChanged, 1, `{}`)); pos != 9 {
			t.Fatalf("position after the batches = %d, want 9", pos)
		}
		// Other subscriptions keep their own positions; an empty batch is a no-op.
		if n, err := s.AppendBatch(ctx, []feed.Entry{entry("b", "k1", "e1", channel.TypeChanged, 1, `{}`)}); err != nil || n != 1 {
			t.Fatalf("batch of b = %d, %v", n, err)
		}
		if head, _ := s.Head(ctx, "b"); head != 1 {
			t.Fatalf("head of b = %d, want 1", head)
		}
		if n, err := s.AppendBatch(ctx, nil); err != nil || n != 0 {
			t.Fatalf("empty batch = %d, %v", n, err)
		}
		// Entries of two subscriptions are refused, nothing stored.
		if _, err := s.AppendBatch(ctx, []feed.Entry{entry("c", "k", "x1", channel.TypeChanged, 1, `{}`),
			entry("d", "k", "x2", channel.TypeChanged, 1, `{}`)}); err == nil {
			t.Fatal("a batch of two subscriptions was accepted")
		}
		if head, _ := s.Head(ctx, "c"); head != 0 {
			t.Fatalf("head of c after a refused batch = %d", head)
		}
	})

	t.Run("a batch that fails stores nothing", func(t *testing.T) {
		s := open(t)
		mustAppend(t, s, entry("a", "k1", "e1", channel.TypeChanged, 1, `{}`))
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.AppendBatch(cctx, []feed.Entry{entry("a", "k2", "e2", channel.TypeChanged, 1, `{}`)}); err == nil {
			t.Fatal("a batch with a cancelled context was accepted")
		}
		if head, _ := s.Head(ctx, "a"); head != 1 {
			t.Fatalf("head after a failed batch = %d, want 1", head)
		}
		if log, _ := s.Changes(ctx, "a", 0, 10); len(log) != 1 {
			t.Fatalf("log after a failed batch = %v", keys(log))
		}
	})

	t.Run("concurrent batches and appends: a follower sees every position, none skipped", func(t *testing.T) {
		s := open(t)
		const writers, batches, each = 4, 5, 10
		var ws []func() error
		for w := range writers {
			ws = append(ws, func() error {
				for b := range batches {
					es := make([]feed.Entry, each)
					for i := range es {
						id := fmt.Sprintf("w%d-%d-%d", w, b, i)
						es[i] = entry("a", id, id, channel.TypeChanged, 1, `{}`)
					}
					if _, err := s.AppendBatch(ctx, es); err != nil {
						return err
					}
				}
				return nil
			}, appendEach(ctx, s, fmt.Sprintf("s%d", w), each))
		}
		writeWhileFollowing(t, ctx, s, 13, writers*(batches*each+each), ws...)
	})

	runWithhold(t, open)

	t.Run("concurrent appends: a follower sees every position, none skipped", func(t *testing.T) {
		s := open(t)
		const writers, each = 4, 25
		var ws []func() error
		for w := range writers {
			ws = append(ws, appendEach(ctx, s, fmt.Sprintf("w%d", w), each))
		}
		// Follow while they write, as a long-polling reader does.
		writeWhileFollowing(t, ctx, s, 7, writers*each, ws...)
		if snap, err := s.Snapshot(ctx, "a", "", 1000); err != nil || len(snap) != writers*each {
			t.Fatalf("snapshot has %d, %v", len(snap), err)
		}
	})
}

// appendEach returns a writer for writeWhileFollowing that appends n
// entries to subscription "a" one at a time, with ids prefix-0 on.
func appendEach(ctx context.Context, s feed.Store, prefix string, n int) func() error {
	return func() error {
		for i := range n {
			id := fmt.Sprintf("%s-%d", prefix, i)
			if _, _, err := s.Append(ctx, entry("a", id, id, channel.TypeChanged, 1, `{}`)); err != nil {
				return err
			}
		}
		return nil
	}
}

// writeWhileFollowing runs the writers at once while a follower reads
// subscription "a" (followUntil, page entries a page), and fails the test
// on a writer's error, or unless the follower saw exactly total events up
// to position total: no position skipped under concurrent writes.
func writeWhileFollowing(t *testing.T, ctx context.Context, s feed.Store, page, total int, writers ...func() error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(writers))
	for _, w := range writers {
		wg.Go(func() {
			if err := w(); err != nil {
				errs <- err
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	seen, after := followUntil(t, ctx, s, done, page, total)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(seen) != total || after != int64(total) {
		t.Fatalf("follower saw %d events up to %d, want %d", len(seen), after, total)
	}
}
