package kafkago

import (
	"context"
	"reflect"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/segmentio/kafka-go"
)

// dispatch is what both dispatchers share: the partitions of one
// generation with their fetchers and committer, the subscription's channel,
// the resend timer, and the one loop that offers messages and notices their
// Acks and Nacks. What differs is how many messages of a partition may be
// out, and so which messages the loop offers and watches: an offerer.
type dispatch struct {
	s      *Subscriber
	topic  string
	subCtx context.Context // the subscription: Close or the caller's ctx
	out    chan<- *message.Message
	// back is out's receiving end if out is buffered: drain takes back
	// what no consumer received.
	back   <-chan *message.Message
	commit *committer

	parts []*part
	// ready carries fetched chunks from every partition's fetcher.
	ready chan *chunk
	// rr is where the next search for a message to offer starts, so that
	// partitions take turns.
	rr int
	// nOut counts messages out; resting counts records waiting out
	// NackResendSleep.
	nOut, resting int
	resender
}

// offerer is one dispatcher's policy over the shared loop. Only the loop's
// goroutine calls it.
type offerer interface {
	// poll handles the Acks and Nacks that came in for messages out, as
	// far as it looks (see watching); with again, a Nacked record is
	// offered again after NackResendSleep.
	poll(again bool)
	// offer returns the next message to hand over, or nil; sent notes
	// that it was handed over.
	offer() *message.Message
	sent()
	// tick runs on every CommitInterval before the commit is asked for.
	tick()
	// watching yields the messages out whose Ack or Nack wakes a loop
	// with nothing to offer.
	watching(yield func(*message.Message) bool)
	// eachOut calls fn for every message out, with its context and what
	// to log about it.
	eachOut(fn func(*messageContext, watermill.LogFields))
}

func newDispatch(s *Subscriber, topic string, subCtx context.Context, out chan<- *message.Message, assigned []kafka.PartitionAssignment) dispatch {
	d := dispatch{s: s, topic: topic, subCtx: subCtx, out: out}
	d.parts, d.ready, d.commit = newParts(s, topic, subCtx, assigned)
	return d
}

// run fetches and delivers the assigned partitions until the generation or
// the subscription ends, then waits (up to CloseTimeout) for the messages
// still out, and marks the dispatcher finished for the committer.
func (d *dispatch) run(o offerer, genCtx context.Context, assigned []kafka.PartitionAssignment) {
	runParts(genCtx, d.subCtx, d.parts, assigned, d.commit,
		func(done <-chan struct{}) { d.loop(o, done) }, func() { d.drain(o) })
}

// loop offers messages until done is closed.
//
// It notices Acks by looking (poll) whenever it runs, and while it offers a
// message it is blocked in that send, not on the Acks: a consumer that
// Acks and then receives again (a loop) finds the next message already
// offered, and its Ack wakes nobody. With nothing to offer, it waits on the
// Acks and Nacks of the messages the offerer watches in one select. No
// goroutine waits per message: one per message out cost a goroutine start
// and a wake-up per message, and their reports competed with the next
// messages for the loop.
func (d *dispatch) loop(o offerer, done <-chan struct{}) {
	tick := time.NewTicker(d.s.cfg.CommitInterval)
	defer tick.Stop()
	defer d.stopResend()
	for {
		o.poll(true)
		if m := o.offer(); m != nil {
			// A consumer already waiting takes it without the select
			// below, which locks every channel it names.
			select {
			case d.out <- m:
				o.sent()
				continue
			default:
			}
			select {
			case d.out <- m:
				o.sent()
			case c := <-d.ready:
				c.part.enqueue(c)
			case <-tick.C:
				o.tick()
				d.commit.kick()
			case <-d.resendC:
				d.resendC = nil
			case <-done:
				return
			}
			continue
		}
		switch ev, c := d.wait(o, done, nil, tick.C, nil); ev {
		case evReady:
			c.part.enqueue(c)
		case evTick:
			o.tick()
			d.commit.kick()
		case evResend:
			d.resendC = nil
		case evDone:
			return
		}
	}
}

// drain waits up to CloseTimeout for the messages still out, so a handler
// in the middle of its work can have its Ack committed. Their contexts end
// as soon as the subscription does, as the message's context promises. A
// message neither Acked nor Nacked by then is delivered again, by whoever
// reads the partition next; so is one Nacked now.
func (d *dispatch) drain(o offerer) {
	d.takeBack()
	if d.nOut == 0 {
		return
	}
	t := time.NewTimer(d.s.cfg.CloseTimeout)
	defer t.Stop()
	subDone := d.subCtx.Done()
	for {
		o.poll(false)
		if d.nOut == 0 {
			return
		}
		switch ev, _ := d.wait(o, nil, subDone, nil, t.C); ev {
		case evSubDone:
			o.eachOut(func(ctx *messageContext, _ watermill.LogFields) { ctx.end(d.subCtx.Err()) })
			subDone = nil
		case evTimeout:
			o.eachOut(func(ctx *messageContext, fields watermill.LogFields) {
				d.s.logger.Info("Message not acknowledged before the partition was released; it will be delivered again", fields)
				ctx.end(context.Canceled)
			})
			return
		}
	}
}

// takeBack Nacks the messages still in out's buffer, which no consumer
// received: they are delivered again, by whoever reads the partition next,
// and the drain need not wait for them. A consumer receiving meanwhile
// takes some first; those are out as any other.
func (d *dispatch) takeBack() {
	if d.back == nil {
		return
	}
	for {
		select {
		case m := <-d.back:
			m.Nack()
		default:
			return
		}
	}
}

// settled reports whether m was Acked (acked) or Nacked (nacked), without
// waiting. Two single-channel checks: a select with both would lock both
// channels every time.
func settled(m *message.Message) (acked, nacked bool) {
	select {
	case <-m.Acked():
		return true, false
	default:
	}
	select {
	case <-m.Nacked():
		return false, true
	default:
	}
	return false, false
}

// event is what ended a wait.
type event int

const (
	evAckOrNack event = iota // a watched message was Acked or Nacked: poll
	evReady                  // a chunk was fetched
	evTick                   // the commit ticker
	evResend                 // a Nacked record may be offered again
	evDone                   // the generation or subscription ended
	evSubDone                // the subscription ended (while draining)
	evTimeout                // CloseTimeout passed (while draining)
)

// staticWaits is how many watched messages wait selects on with a plain
// select statement; with more it uses reflect.Select, slower but unbounded.
const staticWaits = 4

// wait blocks until a message o watches is Acked or Nacked, a chunk
// arrives, or one of the given channels (nil ones never) fires. It reports
// which, and the chunk.
func (d *dispatch) wait(o offerer, done, subDone <-chan struct{}, tick, timeout <-chan time.Time) (event, *chunk) {
	var acks, nacks [staticWaits]<-chan struct{}
	k, many := 0, false
	for m := range o.watching {
		if k == staticWaits {
			many = true
			break
		}
		acks[k], nacks[k] = m.Acked(), m.Nacked()
		k++
	}
	if many {
		return d.waitMany(o, done, subDone, tick, timeout)
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

// waitMany is wait for more watched messages than a select statement holds.
func (d *dispatch) waitMany(o offerer, done, subDone <-chan struct{}, tick, timeout <-chan time.Time) (event, *chunk) {
	ready := d.ready
	if timeout != nil {
		ready = nil
	}
	others := []struct {
		ev event
		ch any
	}{{evReady, ready}, {evTick, tick}, {evResend, d.resendC}, {evDone, done}, {evSubDone, subDone}, {evTimeout, timeout}}
	cases := make([]reflect.SelectCase, 0, 2*len(d.parts)+len(others))
	for _, o := range others {
		v := reflect.ValueOf(o.ch)
		if v.IsNil() {
			v = reflect.Value{} // a zero Chan: the case is ignored
		}
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: v})
	}
	for m := range o.watching {
		cases = append(cases,
			reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(m.Acked())},
			reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(m.Nacked())})
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
