// A worker consumes one subscription's topic: it fetches a batch, decodes it, delivers it
// through the channel with retries, and commits what was delivered.

package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/pkg/sdk/avroserde"
	"github.com/samnav/samnav/pkg/sdk/backoff"
	"github.com/samnav/samnav/pkg/sdk/envelope"
	"github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/delivery/internal/channel"
	"github.com/samnav/samnav/services/delivery/internal/projection"
)

// reader is what a worker needs of a kafka.Reader.
type reader interface {
	FetchMessage(ctx context.Context) (kafka.Message, error)
	CommitMessages(ctx context.Context, msgs ...kafka.Message) error
}

type worker struct {
	cfg     Config
	sub     client.Subscription
	proj    *projection.Projection
	des     *avroserde.Deserializer
	ch      channel.Channel
	batcher Batcher
	r       reader
	logger  *slog.Logger
}

// item is one fetched record and, once decoded, its event; skip marks a
// record that can never be delivered (committed past, logged).
type item struct {
	msg  kafka.Message
	ev   channel.Event
	skip bool
}

// run fetches, delivers and commits batches until ctx ends.
func (w *worker) run(ctx context.Context) {
	for ctx.Err() == nil {
		batch, err := w.fetch(ctx)
		if err != nil {
			if ctx.Err() == nil {
				w.logger.Warn("fetch", "err", err)
				w.pause(ctx, 1)
			}
			if len(batch) == 0 {
				continue
			}
		}
		accepted := w.deliver(ctx, batch)
		w.commit(accepted)
	}
}

// fetch returns at least one record (blocking until there is one) and
// then whatever more arrives within BatchWait, up to BatchSize.
func (w *worker) fetch(ctx context.Context) ([]item, error) {
	first, err := w.r.FetchMessage(ctx)
	if err != nil {
		return nil, err
	}
	batch := make([]item, 1, w.cfg.BatchSize)
	batch[0].msg = first
	bctx, cancel := context.WithTimeout(ctx, w.cfg.BatchWait)
	defer cancel()
	for len(batch) < w.cfg.BatchSize {
		m, err := w.r.FetchMessage(bctx)
		if err != nil {
			break // the wait is over (or ctx ended): deliver what we have
		}
		batch = append(batch, item{msg: m})
	}
	return batch, nil
}

// deliver decodes and offers the batch, and returns, per partition, the
// last record accepted (or skipped) such that every earlier one of that
// partition in the batch was accepted too: what may be committed.
func (w *worker) deliver(ctx context.Context, batch []item) map[int]kafka.Message {
	for i := range batch {
		w.decode(ctx, &batch[i])
	}
	if ctx.Err() != nil {
		return nil
	}
	if w.batcher != nil {
		evs := make([]channel.Event, 0, len(batch))
		for _, it := range batch {
			if !it.skip {
				evs = append(evs, it.ev)
			}
		}
		for attempt := 1; len(evs) > 0; attempt++ {
			err := w.batcher.DeliverBatch(ctx, w.sub, evs)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return nil
			}
			w.logger.Warn("channel refused batch, offering it again", "events", len(evs), "attempt", attempt, "err", err)
			if !w.pause(ctx, attempt) {
				return nil
			}
		}
		out := map[int]kafka.Message{}
		for _, it := range batch {
			out[it.msg.Partition] = it.msg
		}
		return out
	}
	// One event at a time per partition (the channel's order per key),
	// the partitions in parallel.
	parts := map[int][]item{}
	var order []int
	for _, it := range batch {
		if _, ok := parts[it.msg.Partition]; !ok {
			order = append(order, it.msg.Partition)
		}
		parts[it.msg.Partition] = append(parts[it.msg.Partition], it)
	}
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		out = map[int]kafka.Message{}
	)
	for _, p := range order {
		wg.Go(func() {
			for _, it := range parts[p] {
				if !it.skip && !w.deliverOne(ctx, it.ev) {
					return
				}
				mu.Lock()
				out[p] = it.msg
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return out
}

// deliverOne offers ev until the channel accepts it; false if ctx ended
// first.
func (w *worker) deliverOne(ctx context.Context, ev channel.Event) bool {
	for attempt := 1; ; attempt++ {
		err := w.ch.Deliver(ctx, w.sub, ev)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		w.logger.Warn("channel refused event, offering it again", "event", ev.EventID, "key", ev.Key, "attempt", attempt, "err", err)
		if !w.pause(ctx, attempt) {
			return false
		}
	}
}

// decode builds it.ev; a record that cannot be decoded for good (bad
// headers, a body that does not decode: apierr.Retryable says no) is
// skipped and logged, so one bad record cannot stop a partition; a
// registry that cannot be reached, or refuses the hub's credentials, is
// waited for.
func (w *worker) decode(ctx context.Context, it *item) {
	for attempt := 1; ; attempt++ {
		ev, err := w.event(ctx, it.msg)
		if err == nil {
			it.ev = ev
			return
		}
		if !apierr.Retryable(err) {
			w.logger.Error("skip undeliverable record", "topic", it.msg.Topic, "partition", it.msg.Partition, "offset", it.msg.Offset, "err", err)
			it.skip = true
			return
		}
		w.logger.Warn("decode later", "err", err, "attempt", attempt)
		if !w.pause(ctx, attempt) {
			return
		}
	}
}

// commit commits the consumer group's offsets past last. A failed commit
// (a rebalance took the partition) only means the events are offered
// again, to this or another replica.
func (w *worker) commit(last map[int]kafka.Message) {
	if len(last) == 0 {
		return
	}
	msgs := make([]kafka.Message, 0, len(last))
	for _, m := range last {
		msgs = append(msgs, m)
	}
	// Commit even while stopping: these events were accepted.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.r.CommitMessages(ctx, msgs...); err != nil {
		w.logger.Warn("commit offsets (the events will be offered again)", "err", err)
	}
}

// pause waits a capped exponential backoff before attempt+1; false if ctx
// ended first.
func (w *worker) pause(ctx context.Context, attempt int) bool {
	return sleepBackoff(ctx, w.cfg, attempt)
}

func sleepBackoff(ctx context.Context, cfg Config, attempt int) bool {
	d := cfg.MinBackoff << min(attempt-1, 16)
	if d > cfg.MaxBackoff || d <= 0 {
		d = cfg.MaxBackoff
	}
	return backoff.Sleep(ctx, d)
}

// event builds the projected event of one state-topic record.
func (w *worker) event(ctx context.Context, msg kafka.Message) (channel.Event, error) {
	// Bad optional headers must not hold up the subscription: what parses
	// is used, and only an event id and a key are required.
	env := envelope.ReadKafka(msg.Headers)
	ev := channel.Event{SubscriptionID: w.sub.ID, System: w.sub.System, Concept: w.sub.Concept, Key: string(msg.Key),
		EventID: env.ID, Trace: env.TraceParent, Topic: msg.Topic, Partition: msg.Partition, Offset: msg.Offset,
		Time: env.Time, Revision: env.Revision, EndedAt: env.EndedAt}
	if ev.Key == "" {
		ev.Key = env.Subject
	}
	if ev.EventID == "" || ev.Key == "" {
		return ev, apierr.Errorf(apierr.CodeInvalid, "record at %s/%d/%d: header %s and a key are required", msg.Topic, msg.Partition, msg.Offset, envelope.HeaderID)
	}
	switch env.Kind() {
	case envelope.Erased:
		ev.Type = channel.TypeErased
	case envelope.Ended:
		ev.Type = channel.TypeEnded
	default: // created, changed, resynced
		ev.Type = channel.TypeChanged
	}
	if len(msg.Value) == 0 {
		ev.Type = channel.TypeErased
	}
	if ev.Time.IsZero() {
		ev.Time = msg.Time
	}
	if ev.Type == channel.TypeErased {
		return ev, nil
	}
	var dec map[string]any
	if err := w.des.DecodeContext(ctx, msg.Value, &dec); err != nil {
		return ev, fmt.Errorf("decode %s %s: %w", w.sub.Concept, ev.Key, err)
	}
	plain, err := w.proj.Plain(dec)
	if err != nil {
		return ev, fmt.Errorf("read %s %s: %w", w.sub.Concept, ev.Key, apierr.Invalid("the record does not fit the concept's schema").Wrap(err))
	}
	ev.Source = plain
	if !w.proj.Referring() {
		ev.State = w.proj.Apply(plain)
		ev.Withheld = withheld(w.proj.Fields(), plain, ev.State)
		return ev, nil
	}
	if ev.State, err = w.referring(ctx, plain); err != nil {
		return ev, fmt.Errorf("project %s %s: %w", w.sub.Concept, ev.Key, err)
	}
	if ev.Withheld = withheld(w.proj.Fields(), plain, ev.State); len(ev.Withheld) > 0 {
		ev.EventID += ShieldedSuffix
	}
	return ev, nil
}

// withheld names the approved fields that held a value in plain, the
// record at the source, and none in projected: those the projection
// withheld (shielded attributes of a protected identity, for a
// subscription not approved for them). Reading it off the projection's
// result, rather than repeating its rule, keeps every reason the
// projection has to withhold a field.
func withheld(fields []string, plain, projected map[string]any) []string {
	var out []string
	for _, f := range fields {
		if plain[f] != nil && projected[f] == nil {
			out = append(out, f)
		}
	}
	return out
}
