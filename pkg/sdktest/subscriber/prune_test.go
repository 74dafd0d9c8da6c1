package subscriber_test

import (
	"context"
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/sdk/subscriber"
)

// pruneRecorder is a MemoryStore that reports each Prune call.
type pruneRecorder struct {
	subscriber.MemoryStore
	calls chan pruneCall
}

type pruneCall struct {
	group  string
	before time.Time
}

func (p *pruneRecorder) Prune(ctx context.Context, group string, before time.Time) (int64, error) {
	p.calls <- pruneCall{group, before}
	return p.MemoryStore.Prune(ctx, group, before)
}

// Run prunes its group's idempotency marks older than the retention; a
// negative retention keeps them.
func TestRunPrunesIdempotencyMarks(t *testing.T) {
	h := newHarness(t)
	const retention = 48 * time.Hour
	store := &pruneRecorder{calls: make(chan pruneCall, 10)}
	cfg := h.config("skolplattform.prune")
	cfg.Store, cfg.IdempotencyRetention = store, retention
	s := h.subscriber(cfg, newRecorder().handle)
	started := time.Now()
	stop := run(t, s)
	var call pruneCall
	select {
	case call = <-store.calls:
	case <-h.ctx.Done():
		t.Fatal("Run did not prune")
	}
	stop()
	if call.group != "skolplattform.prune" {
		t.Errorf("pruned group %q", call.group)
	}
	if call.before.Before(started.Add(-retention)) || call.before.After(time.Now().Add(-retention)) {
		t.Errorf("pruned before %s, want the retention (%s) before now", call.before, retention)
	}

	keep := &pruneRecorder{calls: make(chan pruneCall, 10)}
	cfg = h.config("skolplattform.keep")
	cfg.Store, cfg.IdempotencyRetention = keep, -1
	rec := newRecorder()
	s = h.subscriber(cfg, rec.handle)
	h.send("p-1", "e-1", "created", &Person{ID: "p-1", GivenNames: "Astrid"})
	stop = run(t, s)
	rec.waitFor(t, 1) // Run is well under way
	stop()
	select {
	case c := <-keep.calls:
		t.Errorf("a negative retention pruned: %+v", c)
	default:
	}
}
