package kafkago

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/segmentio/kafka-go"
)

// dispatchHarness runs a dispatcher without a broker: each partition is
// fed records as its fetcher would hand them over.
type dispatchHarness struct {
	commit *committer
	parts  []*part
	out    chan *message.Message
	ctx    context.Context
	cancel context.CancelFunc
	loop   chan struct{} // closed when the dispatcher's loop and drain end
}

func newDispatchHarness(t testing.TB, partitions int, configure func(*SubscriberConfig)) *dispatchHarness {
	t.Helper()
	cfg := SubscriberConfig{CommitInterval: time.Hour}
	if configure != nil {
		configure(&cfg)
	}
	cfg.setDefaults()
	s := &Subscriber{cfg: cfg, logger: watermill.NopLogger{}}
	ctx, cancel := context.WithCancel(context.Background())
	h := &dispatchHarness{out: make(chan *message.Message, outBuffer(cfg.MaxInFlight)), ctx: ctx, cancel: cancel, loop: make(chan struct{})}
	assigned := make([]kafka.PartitionAssignment, partitions)
	for i := range assigned {
		assigned[i] = kafka.PartitionAssignment{ID: i}
	}
	var loop func(<-chan struct{})
	var drain func()
	if cfg.MaxInFlight > 1 {
		d := newWindowDispatcher(s, "t", ctx, h.out, assigned)
		h.commit, h.parts, loop, drain = d.commit, d.parts, d.loop, d.drain
	} else {
		d := newDispatcher(s, "t", ctx, h.out, assigned)
		h.commit, h.parts, loop, drain = d.commit, d.parts, d.loop, d.drain
	}
	go func() {
		defer close(h.loop)
		defer h.commit.finish()
		loop(ctx.Done())
		drain()
	}()
	t.Cleanup(func() {
		cancel()
		<-h.loop
	})
	return h
}

// feed hands partition p the records at offsets [from, to), building and
// handing over chunkSize of them at a time, as its fetcher would. mutate,
// if set, may change each record; a record it leaves without a value gets
// "p/offset".
func (h *dispatchHarness) feed(p, from, to int, mutate func(*kafka.Message)) {
	f := h.parts[p].f
	go func() {
		for lo := from; lo < to; lo += chunkSize {
			batch := make([]kafka.Message, min(chunkSize, to-lo))
			for i := range batch {
				km := &batch[i]
				*km = kafka.Message{
					Topic: "t", Partition: p, Offset: int64(lo + i),
					Headers: []kafka.Header{{Key: UUIDHeader, Value: []byte(watermill.NewUUID())}},
				}
				if mutate != nil {
					mutate(km)
				}
				if km.Value == nil {
					km.Value = fmt.Appendf(nil, "%d/%d", p, km.Offset)
				}
			}
			if !f.handOver(h.ctx, batch) {
				return
			}
		}
	}()
}

func (h *dispatchHarness) receive(t testing.TB) *message.Message {
	t.Helper()
	select {
	case m := <-h.out:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no message within 5s")
		return nil
	}
}

func (h *dispatchHarness) expectNone(t testing.TB, within time.Duration) {
	t.Helper()
	select {
	case m := <-h.out:
		ri, _ := RecordInfoFromContext(m.Context())
		t.Fatalf("got message %d/%d, want none", ri.Partition, ri.Offset)
	case <-time.After(within):
	}
}

// expectAllCommitted checks that nothing more is offered, stops the
// dispatcher and checks that each of partitions is to be committed up to
// offset want.
func (h *dispatchHarness) expectAllCommitted(t testing.TB, partitions int, want int64) {
	t.Helper()
	h.expectNone(t, 50*time.Millisecond)
	h.cancel()
	<-h.loop
	got := h.commit.pending()
	for p := range partitions {
		if got[p] != want {
			t.Errorf("partition %d: offset to commit %d, want %d", p, got[p], want)
		}
	}
}

func coords(m *message.Message) (partition int, offset int64) {
	ri, _ := RecordInfoFromContext(m.Context())
	return ri.Partition, ri.Offset
}

// TestDispatchHoldsEveryPartition: a consumer holding one message of every
// partition (as a goroutine per message does) gets no second message of
// any partition before it Acks or Nacks; a Nacked one comes again, as a new
// message at the same offset; every partition ends up acknowledged in
// order. With 7 partitions the dispatcher waits on more messages than its
// select statement holds (staticWaits).
func TestDispatchHoldsEveryPartition(t *testing.T) {
	for _, partitions := range []int{3, staticWaits + 3} {
		t.Run(fmt.Sprintf("partitions=%d", partitions), func(t *testing.T) {
			h := newDispatchHarness(t, partitions, func(c *SubscriberConfig) { c.NackResendSleep = 10 * time.Millisecond })
			const perPartition = 600 // more than one chunk
			for p := range partitions {
				h.feed(p, 0, perPartition, nil)
			}
			held := map[int]*message.Message{}
			for range partitions {
				m := h.receive(t)
				p, o := coords(m)
				if held[p] != nil || o != 0 {
					t.Fatalf("got %d/%d while holding %v", p, o, held[p] != nil)
				}
				held[p] = m
			}
			h.expectNone(t, 50*time.Millisecond)

			// Nack the even partitions, Ack the odd ones; all at once, from
			// their own goroutines.
			var wg sync.WaitGroup
			for p, m := range held {
				wg.Go(func() {
					if p%2 == 0 {
						m.Nack()
					} else {
						m.Ack()
					}
				})
			}
			wg.Wait()

			next := make([]int64, partitions)
			for p := range partitions {
				if p%2 == 1 {
					next[p] = 1
				}
			}
			var acking sync.WaitGroup
			seen := map[string]bool{}
			for remaining := partitions*perPartition - partitions/2; remaining > 0; remaining-- {
				m := h.receive(t)
				p, o := coords(m)
				if o != next[p] {
					t.Fatalf("partition %d: got offset %d, want %d", p, o, next[p])
				}
				if seen[m.UUID] && o != 0 {
					t.Fatalf("partition %d offset %d: message %s delivered twice", p, o, m.UUID)
				}
				seen[m.UUID] = true
				next[p]++
				acking.Go(func() { m.Ack() })
			}
			acking.Wait()
			h.expectAllCommitted(t, partitions, perPartition)
		})
	}
}

// TestDispatchRecordsAcksOfAnIdleConsumer: a consumer that Acks and then
// stops receiving still has its Ack committed: the dispatcher, blocked
// offering the next message, looks at the Acks on its ticker and asks the
// committer to commit.
func TestDispatchRecordsAcksOfAnIdleConsumer(t *testing.T) {
	h := newDispatchHarness(t, 1, func(c *SubscriberConfig) { c.CommitInterval = 20 * time.Millisecond })
	h.feed(0, 0, 10, nil)
	h.receive(t).Ack()
	select {
	case <-h.commit.kicks:
	case <-time.After(5 * time.Second):
		t.Fatal("no commit asked for within 5s")
	}
	if got := h.commit.pending(); got[0] != 1 {
		t.Fatalf("offset to commit %v, want 1 for partition 0", got)
	}
}

// TestDispatchSkipsRecordsTheUnmarshalerRefuses: a record the Unmarshaler
// refuses is skipped and counts as consumed; the partition goes on.
func TestDispatchSkipsRecordsTheUnmarshalerRefuses(t *testing.T) {
	h := newDispatchHarness(t, 1, nil)
	h.feed(0, 0, 5, func(km *kafka.Message) {
		if km.Offset == 2 { // a repeated UUID header: refused
			km.Headers = append(km.Headers, km.Headers[0])
		}
	})
	for _, want := range []int64{0, 1, 3, 4} {
		m := h.receive(t)
		if _, o := coords(m); o != want {
			t.Fatalf("got offset %d, want %d", o, want)
		}
		m.Ack()
	}
	h.cancel()
	<-h.loop
	if got := h.commit.pending(); got[0] != 5 {
		t.Fatalf("offset to commit %v, want 5", got)
	}
}

// TestDispatchDrain: when the generation ends, an Ack given within
// CloseTimeout is still recorded, and a message never Acked is not: it is
// delivered again to whoever reads the partition next. Its context ends.
func TestDispatchDrain(t *testing.T) {
	for _, ack := range []bool{true, false} {
		t.Run(fmt.Sprintf("ack=%v", ack), func(t *testing.T) {
			// The drain ends as soon as nothing is out, so an Ack is given
			// a CloseTimeout no stall of a loaded machine reaches; without
			// one, the drain's end is the timeout, kept short.
			closeTimeout := 300 * time.Millisecond
			if ack {
				closeTimeout = 30 * time.Second
			}
			h := newDispatchHarness(t, 2, func(c *SubscriberConfig) { c.CloseTimeout = closeTimeout })
			h.feed(0, 0, 3, nil)
			h.feed(1, 0, 3, nil)
			m0, m1 := h.receive(t), h.receive(t)
			m0.Ack()
			if _, o := coords(m1); o != 0 {
				t.Fatalf("second message at offset %d, want 0", o)
			}
			h.cancel()
			if ack {
				time.Sleep(50 * time.Millisecond)
				m1.Ack()
			}
			select {
			case <-h.loop:
			case <-time.After(5 * time.Second):
				t.Fatal("dispatcher did not stop within 5s")
			}
			select {
			case <-m1.Context().Done():
			default:
				t.Error("the held message's context did not end")
			}
			got := h.commit.pending()
			p1, _ := coords(m1)
			if n, ok := got[p1]; ack && n != 1 {
				t.Errorf("partition %d: offset to commit %d (%v), want 1", p1, n, ok)
			} else if !ack && ok {
				t.Errorf("partition %d: offset %d to commit for a message never acked", p1, n)
			}
		})
	}
}
