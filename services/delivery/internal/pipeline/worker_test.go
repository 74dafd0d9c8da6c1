package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/samnav/samnav/pkg/sdk/envelope"
	"github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/delivery/internal/channel"
)

// fakeReader hands out msgs in order, then blocks until ctx ends; it
// records commits.
type fakeReader struct {
	mu      sync.Mutex
	msgs    []kafka.Message
	commits []kafka.Message
}

func (r *fakeReader) FetchMessage(ctx context.Context) (kafka.Message, error) {
	r.mu.Lock()
	if len(r.msgs) > 0 {
		m := r.msgs[0]
		r.msgs = r.msgs[1:]
		r.mu.Unlock()
		return m, nil
	}
	r.mu.Unlock()
	<-ctx.Done()
	return kafka.Message{}, ctx.Err()
}

func (r *fakeReader) CommitMessages(_ context.Context, msgs ...kafka.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.commits = append(r.commits, msgs...)
	return nil
}

// committed returns the highest committed offset per partition.
func (r *fakeReader) committed() map[int]int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[int]int64{}
	for _, m := range r.commits {
		if o, ok := out[m.Partition]; !ok || m.Offset > o {
			out[m.Partition] = m.Offset
		}
	}
	return out
}

// tombstone is an erasure record: it needs no schema to become an event.
func tombstone(partition int, offset int64, key string) kafka.Message {
	return kafka.Message{Topic: "samnav.person.v1", Partition: partition, Offset: offset, Key: []byte(key),
		Headers: []kafka.Header{{Key: envelope.HeaderID, Value: []byte(fmt.Sprintf("ev-%d-%d", partition, offset))}, {Key: envelope.HeaderType, Value: []byte(envelope.EventType("person", envelope.Erased))}}}
}

type recorder struct {
	mu       sync.Mutex
	accepted []string // event ids in acceptance order
	refuse   map[string]int
	calls    int
}

func (r *recorder) try(ev channel.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.refuse[ev.EventID] > 0 {
		r.refuse[ev.EventID]--
		return errors.New("not now")
	}
	r.accepted = append(r.accepted, ev.EventID)
	return nil
}

func (r *recorder) Deliver(_ context.Context, _ client.Subscription, ev channel.Event) error {
	return r.try(ev)
}

type batchRecorder struct {
	*recorder
	batches int
}

func (b *batchRecorder) DeliverBatch(_ context.Context, _ client.Subscription, evs []channel.Event) error {
	b.mu.Lock()
	b.batches++
	for _, ev := range evs {
		if b.refuse[ev.EventID] > 0 {
			b.refuse[ev.EventID]--
			b.mu.Unlock()
			return errors.New("not now")
		}
	}
	b.mu.Unlock()
	for _, ev := range evs {
		_ = b.try(ev)
	}
	return nil
}

func runWorker(t *testing.T, ch channel.Channel, msgs []kafka.Message, until func() bool) *fakeReader {
	t.Helper()
	cfg := Config{BatchSize: 100, BatchWait: 5 * time.Millisecond}
	cfg.setDefaults()
	cfg.MinBackoff, cfg.MaxBackoff = time.Millisecond, 5*time.Millisecond
	r := &fakeReader{msgs: msgs}
	w := &worker{cfg: cfg, sub: client.Subscription{ID: "s1", System: "skola", Concept: "person"}, ch: ch, r: r, logger: slog.New(slog.DiscardHandler)}
	if b, ok := ch.(Batcher); ok {
		w.batcher = b
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.run(ctx) }()
	deadline := time.After(10 * time.Second)
	for !until() {
		select {
		case <-deadline:
			cancel()
			<-done
			t.Fatal("the worker did not get there")
		case <-time.After(time.Millisecond):
		}
	}
	cancel()
	<-done
	return r
}

// TestRefusedEventHoldsItsPartition: a refused event is offered again
// until accepted; later events of its partition wait for it, other
// partitions do not; offsets are committed only past accepted events.
func TestRefusedEventHoldsItsPartition(t *testing.T) {
	msgs := []kafka.Message{tombstone(0, 0, "a"), tombstone(0, 1, "a"), tombstone(0, 2, "b"), tombstone(1, 0, "c"), tombstone(1, 1, "d")}
	rec := &recorder{refuse: map[string]int{"ev-0-1": 3}}
	r := runWorker(t, rec, msgs, func() bool { rec.mu.Lock(); defer rec.mu.Unlock(); return len(rec.accepted) == 5 })
	var p0 []string
	for _, id := range rec.accepted {
		if id[3] == '0' {
			p0 = append(p0, id)
		}
	}
	if !slices.Equal(p0, []string{"ev-0-0", "ev-0-1", "ev-0-2"}) {
		t.Fatalf("partition 0 accepted in order %v", p0)
	}
	if rec.calls != 8 {
		t.Fatalf("%d Deliver calls, want 5 + 3 refusals", rec.calls)
	}
	if got := r.committed(); got[0] != 2 || got[1] != 1 {
		t.Fatalf("committed %v, want partition 0 at 2 and 1 at 1", got)
	}
}

// TestStopCommitsOnlyAccepted: a worker stopped while an event is refused
// commits the events before it and nothing from there on.
func TestStopCommitsOnlyAccepted(t *testing.T) {
	msgs := []kafka.Message{tombstone(0, 0, "a"), tombstone(0, 1, "b"), tombstone(0, 2, "c")}
	rec := &recorder{refuse: map[string]int{"ev-0-1": 1 << 30}}
	r := runWorker(t, rec, msgs, func() bool { rec.mu.Lock(); defer rec.mu.Unlock(); return rec.calls >= 5 })
	if got := r.committed(); len(got) != 1 || got[0] != 0 {
		t.Fatalf("committed %v, want only partition 0 offset 0", got)
	}
	if !slices.Equal(rec.accepted, []string{"ev-0-0"}) {
		t.Fatalf("accepted %v", rec.accepted)
	}
}

// TestBatcherGetsBatchesAndRetriesThem: a Batcher gets the fetched
// records in one call, in order; a refused batch is offered again whole
// and committed only once accepted.
func TestBatcherGetsBatchesAndRetriesThem(t *testing.T) {
	var msgs []kafka.Message
	for i := range 50 {
		msgs = append(msgs, tombstone(i%2, int64(i/2), fmt.Sprint("k", i)))
	}
	b := &batchRecorder{recorder: &recorder{refuse: map[string]int{"ev-1-3": 2}}}
	r := runWorker(t, b, msgs, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return len(b.accepted) == 50 })
	if b.batches != 3 {
		t.Fatalf("%d DeliverBatch calls, want one batch offered three times", b.batches)
	}
	for i, id := range b.accepted {
		if want := fmt.Sprintf("ev-%d-%d", i%2, i/2); id != want {
			t.Fatalf("accepted[%d] = %s, want %s", i, id, want)
		}
	}
	if got := r.committed(); got[0] != 24 || got[1] != 24 {
		t.Fatalf("committed %v", got)
	}
}
