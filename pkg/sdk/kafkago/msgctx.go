package kafkago

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// closedChan is the Done channel of a messageContext that ended before
// anyone asked for it.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// messageContext is the context of one delivered message: it carries the
// record's RecordInfo and the subscription's values and deadline, and is
// done once the dispatcher ends it, after the message's Ack or Nack or when
// the subscription ends.
//
// It replaces context.WithCancel(subscription) per message: that registers
// every message as a child of the subscription's context, under the lock
// all partitions of the subscription share. Here nothing is registered: the
// dispatcher, which stops when the subscription does and then ends the
// contexts of the messages still out, ends the context itself. The Done channel is made only if
// someone asks for it.
type messageContext struct {
	parent context.Context // the subscription
	info   RecordInfo

	mu     sync.Mutex
	done   chan struct{} // nil until Done is called or the context ends
	err    error
	afters []*afterFunc
}

type afterFunc struct {
	f       func()
	claimed atomic.Bool // by the run on cancel, or by stop
}

var _ context.Context = (*messageContext)(nil)

func newMessageContext(parent context.Context, info RecordInfo) *messageContext {
	return &messageContext{parent: parent, info: info}
}

// Deadline implements context.Context: the subscription's.
func (c *messageContext) Deadline() (time.Time, bool) { return c.parent.Deadline() }

// Done implements context.Context.
func (c *messageContext) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
	}
	return c.done
}

// Err implements context.Context.
func (c *messageContext) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Value implements context.Context: the message's RecordInfo, else the
// subscription's values.
func (c *messageContext) Value(key any) any {
	if _, ok := key.(recordInfoKey); ok {
		return &c.info
	}
	return c.parent.Value(key)
}

// AfterFunc lets context.WithCancel, WithTimeout and AfterFunc derive from
// a message's context without a goroutine each waiting for Done (the
// context package looks for this method). As context.AfterFunc: f runs in
// its own goroutine once the context is done; stop reports whether it
// stopped f from running.
func (c *messageContext) AfterFunc(f func()) (stop func() bool) {
	a := &afterFunc{f: f}
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		a.claimed.Store(true)
		go f()
		return func() bool { return false }
	}
	c.afters = append(c.afters, a)
	c.mu.Unlock()
	return func() bool { return a.claimed.CompareAndSwap(false, true) }
}

// end makes the context done with err; later calls do nothing.
func (c *messageContext) end(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	if c.done == nil {
		c.done = closedChan
	} else {
		close(c.done)
	}
	afters := c.afters
	c.afters = nil
	c.mu.Unlock()
	for _, a := range afters {
		if a.claimed.CompareAndSwap(false, true) {
			go a.f()
		}
	}
}

func (c *messageContext) String() string { return "kafkago.messageContext" }
