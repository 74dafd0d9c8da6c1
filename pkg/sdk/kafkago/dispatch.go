package kafkago

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/segmentio/kafka-go"
)

// dispatcher hands out the records of every partition a member holds in
// one generation, on the subscription's channel, one message per partition
// at a time: a partition's next message is offered only once the one before
// it was Acked, and a Nacked one is offered again (as a new message).
//
// One goroutine serves all partitions. It notices Acks by looking (a
// non-blocking receive on each message that is out) whenever it runs, and
// while it offers a message it is blocked in that send, not on the Acks:
//
//   - A consumer that Acks and then receives again (a loop) finds the next
//     message already offered, and its Ack wakes nobody. With a goroutine
//     per partition waiting on its message's Ack, every message cost two
//     goroutine switches, and the runtime's habit of running a woken
//     goroutine next made one partition's consumer and goroutine ping-pong
//     while the other partitions waited.
//   - A consumer that takes messages as fast as they come and Acks them
//     elsewhere (a goroutine per message, as the router and Samnav's SDK
//     do) soon has every partition's message; then the dispatcher waits on
//     their Acks and Nacks in one select.
//
// Acks are recorded for the committer whenever the dispatcher looks, and at
// least every CommitInterval (its ticker), so a consumer that stops
// receiving still has its Acks committed.
type dispatcher struct {
	dispatch
	// cur is the partition whose message offer returned.
	cur *part
}

var _ offerer = (*dispatcher)(nil)

// resender is a dispatcher's timer for offering a Nacked record again: it
// fires when the earliest resting record may be offered; resendC is its
// channel while armed.
type resender struct {
	resend   *time.Timer
	resendC  <-chan time.Time
	resendAt time.Time
}

// part is one partition's state in a dispatcher.
type part struct {
	id   int
	slot int // in the committer
	f    *fetcher
	// queue holds fetched chunks in offset order; the current record is
	// queue[0].records[next].
	queue []*chunk
	next  int
	// msg is the current record's message: prepared by the fetcher, or
	// nil to unmarshal it again (after a Nack, or if the fetcher could not).
	msg    *message.Message
	msgCtx *messageContext
	// out: msg is with the consumer, neither Acked nor Nacked yet.
	out bool
	// restUntil is set after a Nack: the record is offered again then.
	restUntil time.Time
}

// record returns the partition's current record, or nil if none is fetched.
func (p *part) record() *kafka.Message {
	c := p.current()
	if c == nil {
		return nil
	}
	return &c.records[p.next]
}

// newDispatcher prepares a dispatcher for the assigned partitions of one
// generation; run starts their fetchers.
func newDispatcher(s *Subscriber, topic string, subCtx context.Context, out chan<- *message.Message, assigned []kafka.PartitionAssignment) *dispatcher {
	return &dispatcher{dispatch: newDispatch(s, topic, subCtx, out, assigned)}
}

// newParts returns the partitions of one generation, each with its
// fetcher, the channel their fetchers hand chunks over on, and their
// committer.
func newParts(s *Subscriber, topic string, subCtx context.Context, assigned []kafka.PartitionAssignment) ([]*part, chan *chunk, *committer) {
	ids := make([]int, len(assigned))
	for i, pa := range assigned {
		ids[i] = pa.ID
	}
	ready := make(chan *chunk, chunkCredits*max(1, len(assigned)))
	parts := make([]*part, len(ids))
	for i, id := range ids {
		p := &part{id: id, slot: i}
		p.f = newFetcher(s, topic, id, subCtx, ready, p)
		parts[i] = p
	}
	return parts, ready, newCommitter(ids)
}

// run is dispatch.run with this dispatcher's policy.
func (d *dispatcher) run(genCtx context.Context, assigned []kafka.PartitionAssignment) {
	d.dispatch.run(d, genCtx, assigned)
}

func (d *dispatcher) loop(done <-chan struct{}) { d.dispatch.loop(d, done) }
func (d *dispatcher) drain()                    { d.dispatch.drain(d) }

// runParts runs the fetchers of parts and a dispatcher's loop until the
// generation or the subscription ends, then its drain; the partitions are
// handed over (the generation ends) only once their fetchers stopped too,
// and the committer is told the dispatcher finished.
func runParts(genCtx, subCtx context.Context, parts []*part, assigned []kafka.PartitionAssignment, c *committer, loop func(<-chan struct{}), drain func()) {
	defer c.finish()
	// fetchCtx ends with the generation or the subscription.
	fetchCtx, cancel := context.WithCancel(genCtx)
	stop := context.AfterFunc(subCtx, cancel)
	var fetching sync.WaitGroup
	for i, p := range parts {
		fetching.Go(func() { p.f.run(fetchCtx, assigned[i].Offset) })
	}
	defer func() {
		cancel()
		stop()
		fetching.Wait()
	}()
	loop(fetchCtx.Done())
	cancel()
	drain()
}

// poll handles the Acks and Nacks of the messages that are out; with
// again, a Nacked record is offered again (see nacked).
func (d *dispatcher) poll(again bool) {
	if d.nOut == 0 {
		return
	}
	for _, p := range d.parts {
		if !p.out {
			continue
		}
		switch acked, nacked := settled(p.msg); {
		case acked:
			d.acked(p)
		case nacked:
			d.nacked(p, again)
		}
	}
}

// offer implements offerer: the current message of the next partition
// that has one to offer.
func (d *dispatcher) offer() *message.Message {
	d.cur = d.candidate()
	if d.cur == nil {
		return nil
	}
	return d.cur.msg
}

func (d *dispatcher) sent() {
	d.cur.out = true
	d.nOut++
}

func (d *dispatcher) tick() {}

// watching implements offerer: every message out, one per partition.
func (d *dispatcher) watching(yield func(*message.Message) bool) {
	for _, p := range d.parts {
		if p.out && !yield(p.msg) {
			return
		}
	}
}

func (d *dispatcher) eachOut(fn func(*messageContext, watermill.LogFields)) {
	for _, p := range d.parts {
		if p.out {
			fn(p.msgCtx, watermill.LogFields{"topic": d.topic, "partition": p.id, "uuid": p.msg.UUID})
		}
	}
}

// acked records p's current record as consumed and moves to its next.
func (d *dispatcher) acked(p *part) {
	p.out = false
	d.nOut--
	p.msgCtx.end(context.Canceled)
	d.commit.ack(p.slot, p.record().Offset+1)
	p.advance()
}

// nacked takes p's message back; with again, the record is offered again
// after NackResendSleep, as a new message.
func (d *dispatcher) nacked(p *part, again bool) {
	p.out = false
	d.nOut--
	p.msgCtx.end(context.Canceled)
	p.msg, p.msgCtx = nil, nil
	if !again || d.s.cfg.NackResendSleep <= 0 {
		return
	}
	p.restUntil = time.Now().Add(d.s.cfg.NackResendSleep)
	d.resting++
	d.armResend(p.restUntil)
}

// advance moves p past its current record, releasing a chunk once all its
// records are done.
func (p *part) advance() {
	c := p.queue[0]
	p.next++
	if p.next == len(c.records) {
		p.queue[0] = nil
		p.queue = p.queue[1:]
		p.next = 0
		p.f.release(c)
	}
	p.msg, p.msgCtx = nil, nil
	if c := p.current(); c != nil {
		p.msg, p.msgCtx = c.msgs[p.next].msg, c.msgs[p.next].ctx
	}
}

// current returns the chunk holding p's current record, or nil.
func (p *part) current() *chunk {
	if len(p.queue) == 0 {
		return nil
	}
	return p.queue[0]
}

// enqueue adds a fetched chunk to its partition.
func (p *part) enqueue(c *chunk) {
	p.queue = append(p.queue, c)
	if len(p.queue) == 1 {
		p.next = 0
		p.msg, p.msgCtx = c.msgs[0].msg, c.msgs[0].ctx
	}
}

// candidate returns the next partition, in turn, that has a message to
// offer: not out, fetched, and not resting after a Nack. A record the
// Unmarshaler refuses is logged and skipped (its offset counts as consumed,
// so one bad record cannot stop a partition).
func (d *dispatcher) candidate() *part {
	var now time.Time
	if d.resting > 0 {
		now = time.Now()
	}
	n := len(d.parts)
	for k := range n {
		i := (d.rr + k) % n
		p := d.parts[i]
		if p.out {
			continue
		}
		if !p.restUntil.IsZero() {
			if now.Before(p.restUntil) {
				d.armResend(p.restUntil)
				continue
			}
			p.restUntil = time.Time{}
			d.resting--
		}
		for p.msg == nil {
			km := p.record()
			if km == nil {
				break
			}
			m, err := d.s.unmarshal(km)
			if err != nil {
				d.s.logger.Error("Cannot unmarshal record, skipping it", err, watermill.LogFields{
					"topic": km.Topic, "partition": km.Partition, "offset": km.Offset,
				})
				d.commit.ack(p.slot, km.Offset+1)
				p.advance()
				continue
			}
			p.msgCtx = newMessageContext(d.subCtx, recordInfo(km))
			m.SetContext(p.msgCtx)
			p.msg = m
		}
		if p.msg == nil {
			continue
		}
		d.rr = i + 1
		return p
	}
	return nil
}

// armResend makes the resend timer fire by at.
func (d *resender) armResend(at time.Time) {
	if d.resendC != nil && !at.Before(d.resendAt) {
		return
	}
	wait := max(time.Until(at), 0)
	if d.resend == nil {
		d.resend = time.NewTimer(wait)
	} else {
		d.resend.Reset(wait)
	}
	d.resendC, d.resendAt = d.resend.C, at
}

func (d *resender) stopResend() {
	if d.resend != nil {
		d.resend.Stop()
	}
	d.resendC = nil
}

// committer holds, per partition of a generation, the offset after the
// last acknowledged message, written by the dispatcher and committed by
// the generation's commit goroutine. A partition is acknowledged in order,
// so that offset never skips an unacknowledged message.
type committer struct {
	ids  []int          // partition ids, by slot
	next []atomic.Int64 // offset to commit, by slot; -1 before any Ack
	// committed is what was last committed, by slot; only the commit
	// goroutine uses it.
	committed []int64
	kicks     chan struct{} // commit now (the dispatcher's ticker)
	finished  chan struct{} // the dispatcher is done: commit a last time
	// failed counts commits that failed since the last one logged, and
	// loggedAt is when that was; only the commit goroutine uses them.
	failed   int
	loggedAt time.Time
}

func newCommitter(ids []int) *committer {
	c := &committer{
		ids: ids, next: make([]atomic.Int64, len(ids)), committed: make([]int64, len(ids)),
		kicks: make(chan struct{}, 1), finished: make(chan struct{}),
	}
	for i := range ids {
		c.next[i].Store(-1)
		c.committed[i] = -1
	}
	return c
}

func (c *committer) ack(slot int, next int64) { c.next[slot].Store(next) }

// kick asks for a commit, unless one is already asked for.
func (c *committer) kick() {
	select {
	case c.kicks <- struct{}{}:
	default:
	}
}

func (c *committer) finish() { close(c.finished) }

// pending returns the offsets acknowledged since the last commit.
func (c *committer) pending() map[int]int64 {
	var offsets map[int]int64
	for i := range c.next {
		if n := c.next[i].Load(); n >= 0 && n != c.committed[i] {
			if offsets == nil {
				offsets = make(map[int]int64, len(c.next))
			}
			offsets[c.ids[i]] = n
		}
	}
	return offsets
}

// committed notes offsets as committed. Offsets that failed to commit are
// not noted, so the next commit tries them again.
func (c *committer) done(offsets map[int]int64) {
	for i, id := range c.ids {
		if n, ok := offsets[id]; ok {
			c.committed[i] = n
		}
	}
}

// unmarshal turns a fetched record into a message with the configured
// Unmarshaler; the default one shares the record's UUID bytes (see
// unmarshal in marshaler.go), since fetched records are never written to.
func (s *Subscriber) unmarshal(km *kafka.Message) (*message.Message, error) {
	if _, ok := s.cfg.Unmarshaler.(DefaultMarshaler); ok {
		return unmarshal(*km, true)
	}
	return s.cfg.Unmarshaler.Unmarshal(*km)
}
