// The relay's health: what Status reports, and the metrics of what it published.

package outbox

import (
	"context"
	"math"
	"time"
)

// RelayStatus is what a relay reports about itself, for health checks and
// operators.
type RelayStatus struct {
	// Leader is true while this instance holds the lease and publishes.
	// Only the leader's Blocked says anything about the stream.
	Leader bool
	// Position is the id of the last entry this instance saw acknowledged
	// (or skipped), 0 before it led.
	Position int64
	// PublishedAt is when this instance last recorded progress; zero if it
	// has not.
	PublishedAt time.Time
	// Pending is how many entries wait to be published (Lag); -1 when the
	// database could not be asked.
	Pending int64
	// Blocked is set while the first unacknowledged entry cannot be
	// published: nothing after it is published until it is (order is
	// strict), so everything behind it waits.
	Blocked *RelayBlock
}

// RelayBlock describes why the relay does not advance.
type RelayBlock struct {
	// Entry is the outbox id of the entry that cannot be published; 0 when
	// the relay cannot even read the outbox or record progress.
	Entry int64
	// Topic is that entry's topic, if known.
	Topic string
	// UnknownTopic is true when Kafka reports Topic does not exist (and
	// OnUnknownTopic, if any, did not create it).
	UnknownTopic bool
	// Err says what fails, naming the topic when it is the cause.
	Err string
	// Since is when this entry first failed; Attempts counts failures since.
	Since    time.Time
	Attempts int
}

// Stalled reports whether the relay has been blocked for longer than d at
// now.
func (s RelayStatus) Stalled(now time.Time, d time.Duration) bool {
	return s.Leader && s.Blocked != nil && now.Sub(s.Blocked.Since) > d
}

// Status returns the relay's state. Its in-memory part is always returned;
// err is set (and Pending -1) when the pending count could not be read.
func (r *Relay) Status(ctx context.Context) (RelayStatus, error) {
	r.mu.Lock()
	st := r.status
	if st.Blocked != nil {
		b := *st.Blocked
		st.Blocked = &b
	}
	r.mu.Unlock()
	lag, err := r.Lag(ctx)
	if err != nil {
		st.Pending = -1
		return st, err
	}
	st.Pending = lag
	return st, nil
}

// block records that entry (0: none in particular) fails with err.
func (r *Relay) block(entry int64, topic string, unknownTopic bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.status.Blocked
	if b == nil || b.Entry != entry || b.Topic != topic {
		b = &RelayBlock{Entry: entry, Topic: topic, Since: time.Now()}
		r.status.Blocked = b
	}
	b.UnknownTopic, b.Err = unknownTopic, err.Error()
	b.Attempts++
}

// advanced records progress up to pos; a block ends only when its entry
// is passed (or the relay is idle), not when entries before it are.
func (r *Relay) advanced(pos int64, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status.Position, r.status.PublishedAt = pos, at
	if b := r.status.Blocked; b != nil && (b.Entry == 0 || b.Entry <= pos) {
		r.status.Blocked = nil
	}
}

func (r *Relay) unblock() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status.Blocked = nil
}

func (r *Relay) setLeader(leader bool, pos int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status.Leader, r.status.Position = leader, pos
	if !leader {
		r.status.Blocked = nil // the new leader reports its own
	}
}

// stalledFor is how long the relay has been blocked, 0 when it is not.
func (r *Relay) stalledFor(now time.Time) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.status.Leader || r.status.Blocked == nil {
		return 0
	}
	return now.Sub(r.status.Blocked.Since)
}

func (r *Relay) observe(batch []entry, took time.Duration, whole bool) {
	ctx := context.Background()
	var published, skipped int64
	for _, e := range batch {
		if e.skipped != "" {
			skipped++
			r.log.Warn("audit: skipped outbox entry passed without publishing",
				"entry", e.id, "event_id", eventID(e.msg), "topic", e.msg.Topic, "skip", e.skipped)
			continue
		}
		published++
	}
	r.metric.published.Add(ctx, published, r.attrs)
	if skipped > 0 {
		r.metric.skipped.Add(ctx, skipped, r.attrs)
	}
	if whole && published > 0 {
		r.metric.duration.Record(ctx, took.Seconds(), r.attrs)
	}
	if published > 0 {
		r.metric.batches.Add(ctx, 1, r.attrs)
		lat := time.Since(time.UnixMicro(batch[0].created)).Seconds()
		r.metric.latency.Record(ctx, math.Max(lat, 0), r.attrs)
	}
}
