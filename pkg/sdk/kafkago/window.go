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
// meanwhile.
//
// The loop watches, per partition, only the oldest message out: the
// committed offset moves only when it is settled, and then the loop looks
// on through the window for every later message settled meanwhile. A Nack
// behind a message still out is noticed then, or at the latest on the next
// CommitInterval tick, when the whole window is looked at. Watching every
// message out took a goroutine per message (a start and a wake-up each),
// and their reports competed with the next messages for the loop: a
// batching consumer got its batches in smaller pieces.
type windowDispatcher struct {
	dispatch
	wins [][]*flight // by slot: the partition's window, in offset order
	// next is the flight candidate chose and the loop has not handed over
	// yet: it is in its window already, so it is offered first.
	next *flight
}

var _ offerer = (*windowDispatcher)(nil)

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

// newWindowDispatcher takes out both ways: it takes back, when it stops,
// what is still in out's buffer (see Subscribe).
func newWindowDispatcher(s *Subscriber, topic string, subCtx context.Context, out chan *message.Message, assigned []kafka.PartitionAssignment) *windowDispatcher {
	d := &windowDispatcher{dispatch: newDispatch(s, topic, subCtx, out, assigned)}
	d.back = out
	d.wins = make([][]*flight, len(d.parts))
	return d
}

// run is dispatch.run with this dispatcher's policy.
func (d *windowDispatcher) run(genCtx context.Context, assigned []kafka.PartitionAssignment) {
	d.dispatch.run(d, genCtx, assigned)
}

func (d *windowDispatcher) loop(done <-chan struct{}) { d.dispatch.loop(d, done) }
func (d *windowDispatcher) drain()                    { d.dispatch.drain(d) }

// poll implements offerer: per partition, the messages out are looked at
// in offset order up to the first one still out.
func (d *windowDispatcher) poll(again bool) { d.look(again, false) }

// tick implements offerer: every message out is looked at, so that a Nack
// behind a message still out is offered again.
func (d *windowDispatcher) tick() { d.look(true, true) }

func (d *windowDispatcher) look(again, all bool) {
	if d.nOut == 0 {
		return
	}
	for slot, w := range d.wins {
		moved := false
		for _, f := range w {
			if !f.out {
				continue
			}
			acked, nacked := settled(f.msg)
			if !acked && !nacked {
				if all {
					continue
				}
				break
			}
			d.settle(f, acked, again)
			moved = moved || acked
		}
		if moved {
			d.advanceCommit(slot)
		}
	}
}

// watching implements offerer: the oldest message out of each partition.
func (d *windowDispatcher) watching(yield func(*message.Message) bool) {
	for _, w := range d.wins {
		for _, f := range w {
			if f.out {
				if !yield(f.msg) {
					return
				}
				break
			}
		}
	}
}

// offer implements offerer.
func (d *windowDispatcher) offer() *message.Message {
	if f := d.candidate(); f != nil {
		return f.msg
	}
	return nil
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

// sent implements offerer: the candidate is out.
func (d *windowDispatcher) sent() {
	f := d.next
	d.next = nil
	if !f.restUntil.IsZero() {
		f.restUntil = time.Time{}
		d.resting--
	}
	f.out = true
	d.nOut++
}

// settle records an Ack or Nack; with again, a Nacked record is offered
// again after NackResendSleep. The caller moves the commit (advanceCommit).
func (d *windowDispatcher) settle(f *flight, acked, again bool) {
	f.out = false
	d.nOut--
	f.ctx.end(context.Canceled)
	f.msg, f.ctx = nil, nil
	if acked {
		f.acked = true
		return
	}
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

func (d *windowDispatcher) eachOut(fn func(*messageContext, watermill.LogFields)) {
	for _, w := range d.wins {
		for _, f := range w {
			if f.out {
				fn(f.ctx, watermill.LogFields{"topic": d.topic, "partition": f.rec.Partition, "offset": f.rec.Offset})
			}
		}
	}
}
