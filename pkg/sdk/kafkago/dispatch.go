package kafkago

import (
	"context"
	"reflect"
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
	s      *Subscriber
	topic  string
	subCtx context.Context // the subscription: Close or the caller's ctx
	out    chan<- *message.Message
	commit *committer

	parts []*part
	// ready carries fetched chunks from every partition's fetcher.
	ready chan *chunk
	// rr is where the next search for a message to offer starts, so that
	// partitions take turns.
	rr int
	// out counts partitions with a message out; resting counts those
	// waiting out NackResendSleep.
	nOut, resting int
	resender
}

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
	d := &dispatcher{s: s, topic: topic, subCtx: subCtx, out: out}
	d.parts, d.ready, d.commit = newParts(s, topic, subCtx, assigned)
	return d
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

// run fetches and delivers the assigned partitions until the generation or
// the subscription ends, then waits (up to CloseTimeout) for the messages
// still out, and marks the dispatcher finished for the committer.
func (d *dispatcher) run(genCtx context.Context, assigned []kafka.PartitionAssignment) {
	runParts(genCtx, d.subCtx, d.parts, assigned, d.commit, d.loop, d.drain)
}

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

// loop offers messages until done is closed.
func (d *dispatcher) loop(done <-chan struct{}) {
	tick := time.NewTicker(d.s.cfg.CommitInterval)
	defer tick.Stop()
	defer d.stopResend()
	for {
		d.poll(true)
		if p := d.candidate(); p != nil {
			// A consumer already waiting takes it without the select
			// below, which locks every channel it names.
			select {
			case d.out <- p.msg:
				p.out = true
				d.nOut++
				continue
			default:
			}
			select {
			case d.out <- p.msg:
				p.out = true
				d.nOut++
			case c := <-d.ready:
				c.part.enqueue(c)
			case <-tick.C:
				d.commit.kick()
			case <-d.resendC:
				d.resendC = nil
			case <-done:
				return
			}
			continue
		}
		switch ev, c := d.wait(done, nil, tick.C, nil); ev {
		case evReady:
			c.part.enqueue(c)
		case evTick:
			d.commit.kick()
		case evResend:
			d.resendC = nil
		case evDone:
			return
		}
	}
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
		// Two single-channel checks: a select with both would lock both
		// channels every time.
		select {
		case <-p.msg.Acked():
			d.acked(p)
			continue
		default:
		}
		select {
		case <-p.msg.Nacked():
			d.nacked(p, again)
		default:
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

// drain waits up to CloseTimeout for the messages still out, so a handler
// in the middle of its work can have its Ack committed. Their contexts end
// as soon as the subscription does, as the message's context promises. A
// message neither Acked nor Nacked by then is delivered again, by whoever
// reads the partition next.
func (d *dispatcher) drain() {
	if d.nOut == 0 {
		return
	}
	t := time.NewTimer(d.s.cfg.CloseTimeout)
	defer t.Stop()
	subDone := d.subCtx.Done()
	for {
		// Nacked now means delivered again later, by whoever reads the
		// partition next: not here.
		d.poll(false)
		if d.nOut == 0 {
			return
		}
		switch ev, _ := d.wait(nil, subDone, nil, t.C); ev {
		case evSubDone:
			for _, p := range d.parts {
				if p.out {
					p.msgCtx.end(d.subCtx.Err())
				}
			}
			subDone = nil
		case evTimeout:
			for _, p := range d.parts {
				if p.out {
					d.s.logger.Info("Message not acknowledged before the partition was released; it will be delivered again", watermill.LogFields{
						"topic": d.topic, "partition": p.id, "uuid": p.msg.UUID,
					})
					p.msgCtx.end(context.Canceled)
				}
			}
			return
		}
	}
}

// event is what ended a wait.
type event int

const (
	evAckOrNack event = iota // a message out was Acked or Nacked: poll
	evReady                  // a chunk was fetched
	evTick                   // the commit ticker
	evResend                 // a Nacked record may be offered again
	evDone                   // the generation or subscription ended
	evSubDone                // the subscription ended (while draining)
	evTimeout                // CloseTimeout passed (while draining)
)

// staticWaits is how many messages out wait selects on with a plain select
// statement; with more out it uses reflect.Select, slower but unbounded.
const staticWaits = 4

// wait blocks until a message that is out is Acked or Nacked, a chunk
// arrives, or one of the given channels (nil ones never) fires. It reports
// which, and the chunk.
func (d *dispatcher) wait(done, subDone <-chan struct{}, tick, timeout <-chan time.Time) (event, *chunk) {
	var acks, nacks [staticWaits]<-chan struct{}
	k := 0
	for _, p := range d.parts {
		if !p.out {
			continue
		}
		if k == staticWaits {
			return d.waitMany(done, subDone, tick, timeout)
		}
		acks[k], nacks[k] = p.msg.Acked(), p.msg.Nacked()
		k++
	}
	ready := d.ready
	if timeout != nil {
		ready = nil // draining: fetched records are no longer delivered
	}
	select {
	case <-acks[0]:
	case <-acks[1]:
	case <-acks[2]:
	case <-acks[3]:
	case <-nacks[0]:
	case <-nacks[1]:
	case <-nacks[2]:
	case <-nacks[3]:
	case c := <-ready:
		return evReady, c
	case <-tick:
		return evTick, nil
	case <-d.resendC:
		return evResend, nil
	case <-done:
		return evDone, nil
	case <-subDone:
		return evSubDone, nil
	case <-timeout:
		return evTimeout, nil
	}
	return evAckOrNack, nil
}

// waitMany is wait for more messages out than a select statement holds.
func (d *dispatcher) waitMany(done, subDone <-chan struct{}, tick, timeout <-chan time.Time) (event, *chunk) {
	ready := d.ready
	if timeout != nil {
		ready = nil
	}
	others := []struct {
		ev event
		ch any
	}{{evReady, ready}, {evTick, tick}, {evResend, d.resendC}, {evDone, done}, {evSubDone, subDone}, {evTimeout, timeout}}
	cases := make([]reflect.SelectCase, 0, 2*d.nOut+len(others))
	for _, o := range others {
		v := reflect.ValueOf(o.ch)
		if v.IsNil() {
			v = reflect.Value{} // a zero Chan: the case is ignored
		}
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: v})
	}
	for _, p := range d.parts {
		if p.out {
			cases = append(cases,
				reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(p.msg.Acked())},
				reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(p.msg.Nacked())})
		}
	}
	i, v, _ := reflect.Select(cases)
	if i >= len(others) {
		return evAckOrNack, nil
	}
	if others[i].ev == evReady {
		return evReady, v.Interface().(*chunk)
	}
	return others[i].ev, nil
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
