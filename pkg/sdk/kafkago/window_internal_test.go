package kafkago

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/segmentio/kafka-go"

	"github.com/samnav/samnav/pkg/sdk/poll"
)

func windowed(n int) func(*SubscriberConfig) {
	return func(c *SubscriberConfig) { c.MaxInFlight, c.NackResendSleep = n, 5*time.Millisecond }
}

// waitCommit waits until the offset to commit for partition 0 is want.
func waitCommit(t *testing.T, h *dispatchHarness, want int64) {
	t.Helper()
	poll.Until(poll.Within(t, 5*time.Second), t, fmt.Sprintf("offset to commit %d", want), func() error {
		if got := h.commit.next[0].Load(); got != want {
			return fmt.Errorf("offset to commit %d", got)
		}
		return nil
	})
}

// TestWindowCommitsOnlyTheAckedPrefix: with MaxInFlight above one, a
// partition's messages are out together; Acks out of order never move the
// commit past a message that is not acknowledged (still out, or Nacked and
// offered again), and once it is, the commit moves past every later Ack.
func TestWindowCommitsOnlyTheAckedPrefix(t *testing.T) {
	h := newDispatchHarness(t, 1, windowed(10))
	h.feed(0, 0, 5, nil)
	msgs := make([]*message.Message, 5)
	for i := range msgs {
		msgs[i] = h.receive(t) // all five out at once, none acknowledged
		if _, o := coords(msgs[i]); o != int64(i) {
			t.Fatalf("message %d at offset %d", i, o)
		}
	}
	msgs[4].Ack()
	msgs[2].Ack()
	msgs[1].Ack()
	msgs[0].Nack()
	again := h.receive(t)
	if _, o := coords(again); o != 0 || again == msgs[0] {
		t.Fatalf("after a Nack got offset %d, want offset 0 again as a new message", o)
	}
	if got := h.commit.next[0].Load(); got >= 0 {
		t.Fatalf("offset to commit %d while offset 0 is not acknowledged", got)
	}
	again.Ack()
	waitCommit(t, h, 3) // 0, 1, 2 acknowledged; 3 is still out, 4 acknowledged
	msgs[3].Ack()
	waitCommit(t, h, 5)
	h.cancel()
	<-h.loop
	if got := h.commit.pending(); got[0] != 5 {
		t.Fatalf("offset to commit %v, want 5", got)
	}
}

// TestWindowBoundsWhatIsOut: no more than MaxInFlight messages of a
// partition are out; each Ack of the oldest lets one more go, and a
// record the Unmarshaler refuses counts as acknowledged.
func TestWindowBoundsWhatIsOut(t *testing.T) {
	h := newDispatchHarness(t, 1, windowed(3))
	h.feed(0, 0, 6, func(km *kafka.Message) {
		if km.Offset == 3 { // a repeated UUID header: refused
			km.Headers = append(km.Headers, km.Headers[0])
		}
	})
	first := []*message.Message{h.receive(t), h.receive(t), h.receive(t)}
	h.expectNone(t, 50*time.Millisecond)
	first[1].Ack() // not the oldest: the window stays full
	h.expectNone(t, 50*time.Millisecond)
	first[0].Ack()
	m := h.receive(t)
	if _, o := coords(m); o != 4 {
		t.Fatalf("got offset %d, want 4 (3 is refused)", o)
	}
	first[2].Ack()
	m.Ack()
	last := h.receive(t)
	if _, o := coords(last); o != 5 {
		t.Fatalf("got offset %d, want 5", o)
	}
	last.Ack()
	waitCommit(t, h, 6)
}

// TestWindowHandsOverEveryRecordInOrder: with several partitions fetched,
// Acked from goroutines in any order, every record of every partition is
// handed over once, in offset order per partition, and the whole of each
// partition is committed.
func TestWindowHandsOverEveryRecordInOrder(t *testing.T) {
	const partitions, perPartition = 3, 700 // more than one chunk each
	h := newDispatchHarness(t, partitions, windowed(50))
	for p := range partitions {
		h.feed(p, 0, perPartition, nil)
	}
	next := make([]int64, partitions)
	var acking sync.WaitGroup
	for range partitions * perPartition {
		m := h.receive(t)
		p, o := coords(m)
		if o != next[p] {
			t.Fatalf("partition %d: got offset %d, want %d", p, o, next[p])
		}
		next[p]++
		acking.Go(func() {
			time.Sleep(time.Duration(o%3) * time.Millisecond) // Acks out of order
			m.Ack()
		})
	}
	acking.Wait()
	h.expectAllCommitted(t, partitions, perPartition)
}

// TestWindowTakesBackWhatIsBuffered: messages handed over into the
// channel's buffer and never received do not hold up the end of the
// generation for CloseTimeout, and are not committed: the commit stops
// at the acknowledged prefix.
func TestWindowTakesBackWhatIsBuffered(t *testing.T) {
	h := newDispatchHarness(t, 1, func(c *SubscriberConfig) {
		windowed(10)(c)
		c.CloseTimeout = 10 * time.Second // well past the wait below
	})
	h.feed(0, 0, 5, nil)
	h.receive(t).Ack()
	h.receive(t).Ack()
	// The rest waits in the buffer.
	poll.True(poll.Within(t, 5*time.Second), t, "3 messages buffered", func() bool { return len(h.out) >= 3 })
	h.cancel()
	poll.Receive(poll.Within(t, 5*time.Second), t, "the dispatcher returning without waiting for messages no consumer received", h.loop)
	if got := h.commit.pending(); got[0] != 2 {
		t.Fatalf("offset to commit %v, want 2", got)
	}
}
