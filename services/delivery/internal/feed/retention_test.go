package feed_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/services/delivery/internal/feed"
)

// A reader whose cursor is before pruned changes is told, with 410 Gone
// (code not_found), to take a new snapshot; the new snapshot is whole and
// its changes cursor works.
func TestExpiredCursorAsksForASnapshot(t *testing.T) {
	f := newFixture(t, func(c *feed.Config) { c.Retention = time.Nanosecond })
	start := f.snapshot("sub-school", nil).ChangesCursor // position 0
	f.deliver("sub-school", changed("p1", 1, "n1"), changed("p2", 1, "n2"), changed("p3", 1, "n3"))
	one := f.changes("sub-school", url.Values{"cursor": {start}, "limit": {"1"}}) // position 1
	if subjects(one.Items) != "p1:changed:n1" {
		t.Fatalf("first change = %q", subjects(one.Items))
	}

	time.Sleep(2 * time.Millisecond) // the entries are now older than the retention
	if n, err := f.feed.Prune(context.Background()); err != nil || n != 2 {
		t.Fatalf("Prune = %d, %v; want 2 (the newest entry stays)", n, err)
	}
	for _, cur := range []string{start, one.NextCursor} {
		r := f.get("school", prefix+"/sub-school/changes", url.Values{"cursor": {cur}})
		var body apierr.Problem
		if err := json.Unmarshal(r.body, &body); err != nil {
			t.Fatalf("changes with an expired cursor: %d %s", r.status, r.body)
		}
		if r.status != http.StatusGone || body.Status != http.StatusGone || body.Code != apierr.CodeNotFound {
			t.Errorf("changes with an expired cursor: %d %s, want 410 not_found", r.status, r.body)
		}
	}
	snap := f.snapshot("sub-school", nil)
	if got := subjects(snap.Items); got != "p1:changed:n1 p2:changed:n2 p3:changed:n3" {
		t.Fatalf("snapshot after pruning = %q", got)
	}
	f.deliver("sub-school", changed("p2", 2, "n2b"))
	if got := subjects(f.changes("sub-school", url.Values{"cursor": {snap.ChangesCursor}}).Items); got != "p2:changed:n2b" {
		t.Errorf("changes after the new snapshot = %q", got)
	}
}

func TestNegativeRetentionKeepsEverything(t *testing.T) {
	f := newFixture(t, func(c *feed.Config) { c.Retention = -1 })
	start := f.snapshot("sub-school", nil).ChangesCursor
	f.deliver("sub-school", changed("p1", 1, "n1"), changed("p2", 1, "n2"))
	time.Sleep(2 * time.Millisecond)
	if n, err := f.feed.Prune(context.Background()); err != nil || n != 0 {
		t.Fatalf("Prune = %d, %v; want nothing removed", n, err)
	}
	if got := subjects(f.changes("sub-school", url.Values{"cursor": {start}}).Items); got != "p1:changed:n1 p2:changed:n2" {
		t.Errorf("changes = %q", got)
	}
}
