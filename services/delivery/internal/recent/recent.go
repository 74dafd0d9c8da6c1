// Package recent keeps the last deliveries the pipeline handed to the
// channels, in memory, so that a console can show changes flowing from a
// master to its subscribers as they happen ("person X changed at 10:01:02
// → skolplattform over kafka at 10:01:03, bibliotek over webhook ...").
//
// It is a window for people, not a record: it holds the last N entries of
// this process, starts empty after a restart, and sees only what this
// replica delivered. The delivery log of each channel (the webhook
// attempts, the feed log, the view topic) stays the record.
package recent

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/delivery/internal/channel"
	"github.com/samnav/samnav/services/delivery/internal/pipeline"
)

// DefaultSize is the number of deliveries a Ring keeps by default.
const DefaultSize = 1000

// Delivery is one event a channel accepted for one subscription, as the
// recent deliveries API serves it; the typed client (package client) is
// its one home.
type Delivery = client.Delivery

// Ring is a fixed-size window of the latest deliveries. It is safe for
// concurrent use.
type Ring struct {
	size   int // cap(buf), read without the lock
	mu     sync.Mutex
	buf    []Delivery
	pos    int    // where the next entry goes in buf
	seq    uint64 // of the last entry added
	notify chan struct{}
	now    func() time.Time
}

// NewRing returns a Ring keeping the last size deliveries (DefaultSize if
// size <= 0).
func NewRing(size int) *Ring {
	if size <= 0 {
		size = DefaultSize
	}
	return &Ring{size: size, buf: make([]Delivery, 0, size), notify: make(chan struct{}), now: time.Now}
}

// Add appends ds (Seq is assigned) and wakes every Wait.
func (r *Ring) Add(ds ...Delivery) {
	if len(ds) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, d := range ds {
		r.seq++
		d.Seq = r.seq
		if len(r.buf) < r.size {
			r.buf = append(r.buf, d)
		} else {
			r.buf[r.pos] = d
		}
		r.pos = (r.pos + 1) % r.size
	}
	close(r.notify)
	r.notify = make(chan struct{})
}

// After returns the retained deliveries with Seq > seq that keep returns
// true for (nil keeps all), oldest first, at most limit of them (the
// newest ones when more match), and the Seq of the latest delivery, the
// cursor to ask with next. A seq beyond the latest (a cursor from before
// a restart) counts as 0.
func (r *Ring) After(seq uint64, limit int, keep func(Delivery) bool) ([]Delivery, uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if seq > r.seq {
		seq = 0
	}
	var out []Delivery
	n := len(r.buf)
	// Walk from the newest backwards so limit keeps the latest.
	for i := range n {
		d := r.buf[(r.pos-1-i+2*r.size)%r.size]
		if d.Seq <= seq {
			break
		}
		if keep != nil && !keep(d) {
			continue
		}
		out = append(out, d)
		if limit > 0 && len(out) == limit {
			break
		}
	}
	slices.Reverse(out)
	return out, r.seq
}

// Wait blocks until a delivery with Seq > seq is added or ctx ends.
func (r *Ring) Wait(ctx context.Context, seq uint64) {
	r.mu.Lock()
	if r.seq > seq {
		r.mu.Unlock()
		return
	}
	ch := r.notify
	r.mu.Unlock()
	select {
	case <-ch:
	case <-ctx.Done():
	}
}

// Wrap returns ch recording into r every event ch accepts; kind names
// the channel. The result is a pipeline.Batcher when ch is one, so the
// pipeline batches as before.
func Wrap(ch channel.Channel, r *Ring, kind client.ChannelKind) channel.Channel {
	return pipeline.Observe(ch, func(_ context.Context, sub client.Subscription, evs []channel.Event, err error) {
		if err != nil {
			return
		}
		at := r.now().UTC()
		// A snapshot batch may be far larger than the window: record only
		// what the ring keeps.
		tail := evs[max(len(evs)-r.size, 0):]
		ds := make([]Delivery, len(tail))
		for i, ev := range tail {
			ds[i] = delivery(sub, ev, string(kind), at)
		}
		r.Add(ds...)
	})
}

// delivery is ev as the window shows it, accepted by channel kind at at.
func delivery(sub client.Subscription, ev channel.Event, kind string, at time.Time) Delivery {
	fields := make([]string, 0, len(ev.State))
	for k := range ev.State {
		if k != "id" {
			fields = append(fields, k)
		}
	}
	slices.Sort(fields)
	return Delivery{Subscription: sub.ID, System: sub.System, Concept: sub.Concept, Channel: kind, RecordID: ev.Key, EventID: ev.EventID,
		Operation: ev.Type, Revision: ev.Revision, ChangedAt: ev.Time.UTC(), DeliveredAt: at, Fields: fields}
}
