package kafkago

import (
	"context"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/segmentio/kafka-go"
)

// windowDispatcher is the dispatcher of a subscription with MaxInFlight
// above one: up to MaxInFlight messages of each partition are out at once,
// offered in offset order without waiting for the ones before them, for a
// consumer that handles a batch of records together or many at once. Acks
// may come in any order; the committed offset of a partition is the end of
// its acknowledged prefix, so it never passes a message that is still out,
// Nacked or waiting to be offered again: nothing acknowledged is lost and
// nothing unacknowledged is skipped, though a crash or rebalance delivers
// again what was acknowledged after the first unacknowledged message.
//
// A Nacked message is offered again, as a new message, after
// NackResendSleep; messages after it may be offered, and acknowledged,
// meanwhile. Each message out has a goroutine that waits for its Ack or
// Nack and reports it to the dispatcher's loop.
type windowDispatcher struct {
	s      *Subscriber
	topic  string
	subCtx context.Context
	out    chan<- *message.Message
	commit *committer

	parts []*part
	wins  [][]*flight // by slot: the partition's window, in offset order
	ready chan *chunk
	// results carries the Ack or Nack of each message out; gone is closed
	// when the dispatcher stops listening.
	results chan result
	gone    chan struct{}
	rr      int
	nOut    int
	// next is the flight candidate chose and the loop has not handed over
	// yet: it is in its window already, so it is offered first.
	next *flight
	// resting counts flights waiting to be offered again after a Nack.
	resting int
	resender
}

// flight is one record of a partition's window: offered (out), waiting to
// be offered again after a Nack (restUntil set), or acknowledged but behind
// an earlier record that is not.
type flight struct {
	slot      int
	rec       kafka.Message // a copy: the fetcher reuses its responses
	msg       *message.Message
	ctx       *messageContext
	out       bool
	acked     bool
	restUntil time.Time
}

type result struct {
	f     *flight
	acked bool
}

func newWindowDispatcher(s *Subscriber, topic string, subCtx context.Context, out chan<- *message.Message, assigned []kafka.PartitionAssignment) *windowDispatcher {
	d := &windowDispatcher{s: s, topic: topic, subCtx: subCtx, out: out, results: make(chan result, 64), gone: make(chan struct{})}
	d.parts, d.ready, d.commit = newParts(s, topic, subCtx, assigned)
	d.wins = make([][]*flight, len(d.parts))
	return d
}

// run is dispatcher.run for a window dispatcher.
func (d *windowDispatcher) run(genCtx context.Context, assigned []kafka.PartitionAssignment) {
	runParts(genCtx, d.subCtx, d.parts, assigned, d.commit, d.loop, d.drain)
}

// loop offers messages until done is closed.
func (d *windowDispatcher) loop(done <-chan struct{}) {
	tick := time.NewTicker(d.s.cfg.CommitInterval)
	defer tick.Stop()
	defer d.stopResend()
	for {
		var out chan<- *message.Message
		var msg *message.Message
		if f := d.candidate(); f != nil {
			out, msg = d.out, f.msg
		}
		select {
		case out <- msg:
			d.sent(d.next)
		case r := <-d.results:
			d.settle(r, true)
		case c := <-d.ready:
			c.part.enqueue(c)
		case <-tick.C:
			d.commit.kick()
		case <-d.resendC:
			d.resendC = nil
		case <-done:
			return
		}
	}
}

// candidate returns the next message to offer, taking the partitions in
// turn: a Nacked record whose rest is over, else the partition's next
// fetched record if its window has room. A record the Unmarshaler refuses
// is logged and counts as acknowledged.
func (d *windowDispatcher) candidate() *flight {
	if d.next != nil {
		return d.next
	}
	d.next = d.choose()
	return d.next
}

func (d *windowDispatcher) choose() *flight {
	now := time.Now()
	n := len(d.parts)
	for k := range n {
		i := (d.rr + k) % n
		p := d.parts[i]
		for _, f := range d.wins[p.slot] {
			if d.resting == 0 {
				break
			}
			if f.out || f.acked || f.restUntil.IsZero() {
				continue
			}
			if now.Before(f.restUntil) {
				d.armResend(f.restUntil)
				continue
			}
			if f.msg == nil && !d.prepare(f) {
				continue
			}
			d.rr = i + 1
			return f
		}
		for len(d.wins[p.slot]) < d.s.cfg.MaxInFlight {
			km := p.record()
			if km == nil {
				break
			}
			f := &flight{slot: p.slot, rec: *km, msg: p.msg, ctx: p.msgCtx}
			p.advance()
			d.wins[p.slot] = append(d.wins[p.slot], f)
			if f.msg == nil && !d.prepare(f) {
				continue
			}
			d.rr = i + 1
			return f
		}
	}
	return nil
}

// prepare unmarshals f's record into a new message; a record the
// Unmarshaler refuses is logged and acknowledged (false).
func (d *windowDispatcher) prepare(f *flight) bool {
	m, err := d.s.unmarshal(&f.rec)
	if err != nil {
		d.s.logger.Error("Cannot unmarshal record, skipping it", err, watermill.LogFields{
			"topic": f.rec.Topic, "partition": f.rec.Partition, "offset": f.rec.Offset,
		})
		if !f.restUntil.IsZero() {
			f.restUntil = time.Time{}
			d.resting--
		}
		f.acked = true
		d.advanceCommit(f.slot)
		return false
	}
	f.ctx = newMessageContext(d.subCtx, recordInfo(&f.rec))
	m.SetContext(f.ctx)
	f.msg = m
	return true
}

// sent notes f as out and starts waiting for its Ack or Nack.
func (d *windowDispatcher) sent(f *flight) {
	d.next = nil
	if !f.restUntil.IsZero() {
		f.restUntil = time.Time{}
		d.resting--
	}
	f.out = true
	d.nOut++
	msg := f.msg
	go func() {
		var r result
		select {
		case <-msg.Acked():
			r = result{f: f, acked: true}
		case <-msg.Nacked():
			r = result{f: f}
		case <-d.gone:
			return
		}
		select {
		case d.results <- r:
		case <-d.gone:
		}
	}()
}

// settle records an Ack or Nack; with again, a Nacked record is offered
// again after NackResendSleep.
func (d *windowDispatcher) settle(r result, again bool) {
	f := r.f
	f.out = false
	d.nOut--
	f.ctx.end(context.Canceled)
	if r.acked {
		f.acked = true
		f.msg, f.ctx = nil, nil
		d.advanceCommit(f.slot)
		return
	}
	f.msg, f.ctx = nil, nil
	if again {
		f.restUntil = time.Now().Add(max(d.s.cfg.NackResendSleep, time.Nanosecond))
		d.resting++
		d.armResend(f.restUntil)
	}
}

// advanceCommit drops the acknowledged prefix of a partition's window and
// records the offset after it for the committer.
func (d *windowDispatcher) advanceCommit(slot int) {
	w := d.wins[slot]
	i := 0
	for i < len(w) && w[i].acked {
		i++
	}
	if i == 0 {
		return
	}
	d.commit.ack(slot, w[i-1].rec.Offset+1)
	clear(w[:i])
	d.wins[slot] = w[i:]
}

// drain waits up to CloseTimeout for the messages still out, as
// dispatcher.drain does; a Nack now leaves its record to whoever reads the
// partition next.
func (d *windowDispatcher) drain() {
	defer close(d.gone)
	if d.nOut == 0 {
		return
	}
	t := time.NewTimer(d.s.cfg.CloseTimeout)
	defer t.Stop()
	subDone := d.subCtx.Done()
	for d.nOut > 0 {
		select {
		case r := <-d.results:
			d.settle(r, false)
		case <-subDone:
			d.eachOut(func(f *flight) { f.ctx.end(d.subCtx.Err()) })
			subDone = nil
		case <-t.C:
			d.eachOut(func(f *flight) {
				d.s.logger.Info("Message not acknowledged before the partition was released; it will be delivered again", watermill.LogFields{
					"topic": d.topic, "partition": f.rec.Partition, "offset": f.rec.Offset,
				})
				f.ctx.end(context.Canceled)
			})
			return
		}
	}
}

func (d *windowDispatcher) eachOut(fn func(*flight)) {
	for _, w := range d.wins {
		for _, f := range w {
			if f.out {
				fn(f)
			}
		}
	}
}
