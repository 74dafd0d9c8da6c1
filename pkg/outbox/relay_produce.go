// Producing: what one write carries, what Kafka acknowledged of it, and what a failure
// says about the entry that blocks the stream.

package outbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/samnav/samnav/pkg/sdk/backoff"
	"github.com/samnav/samnav/pkg/sdk/kafkaauth"
	"github.com/samnav/samnav/pkg/sdk/kafkago"
)

// unknownTopicEntry returns the entry of failed (a write's unacknowledged
// entries, first first) whose topic Kafka reported unknown with err: the
// first one that failed when Kafka answered per entry, or the first sent
// one when all sent entries share one topic. ok is false when the error
// does not tell which topic is missing.
func unknownTopicEntry(failed []entry, err error) (e entry, ok bool) {
	var werrs kafka.WriteErrors
	if errors.As(err, &werrs) {
		return failed[0], true
	}
	for _, f := range failed {
		if f.skipped != "" {
			continue
		}
		if !ok {
			e, ok = f, true
		} else if f.msg.Topic != e.msg.Topic {
			return entry{}, false
		}
	}
	return e, ok
}

// unknownTopic handles entry e, whose topic Kafka reports missing: it asks
// OnUnknownTopic to create it and reports whether to retry at once (the
// hook created it, the first time in this stall). Otherwise the relay is
// blocked at e, which Status, last_error and the log name.
func (r *Relay) unknownTopic(ctx context.Context, client *kafka.Client, e entry, attempt int, healed *string) bool {
	topic := e.msg.Topic
	var msg string
	if r.cfg.OnUnknownTopic == nil {
		msg = fmt.Sprintf("entry %d (event id %s): topic %q does not exist on the broker; create it, or skip the entry with outbox.Skip",
			e.id, eventID(e.msg), topic)
	} else {
		hctx, cancel := context.WithTimeout(ctx, r.cfg.WriteTimeout)
		herr := r.cfg.OnUnknownTopic(hctx, client, topic)
		cancel()
		if ctx.Err() != nil {
			return false
		}
		if herr == nil {
			if *healed != topic {
				*healed = topic
				r.log.Warn("created missing topic; retrying at once", "topic", topic, "entry", e.id)
				return true
			}
			// Created or found before, yet still unknown to the write: the
			// broker is still propagating it; retry with backoff.
			msg = fmt.Sprintf("entry %d (event id %s): topic %q does not exist on the broker yet, though it was created",
				e.id, eventID(e.msg), topic)
		} else {
			msg = fmt.Sprintf("entry %d (event id %s): topic %q does not exist on the broker and was not created: %v",
				e.id, eventID(e.msg), topic, herr)
		}
	}
	r.block(e.id, topic, true, errors.New(msg))
	_ = r.setError(ctx, msg)
	r.log.Error("missing topic blocks the relay: every later entry waits",
		"entry", e.id, "event_id", eventID(e.msg), "topic", topic, "attempt", attempt, "err", msg)
	return false
}

// cut returns the prefix of pending one write carries: at most BatchSize
// entries and BatchBytes bytes, at least one entry; one entry when single.
func (r *Relay) cut(pending []entry, single bool) []entry {
	if single {
		return pending[:1]
	}
	n, bytes := 0, 0
	for n < len(pending) && n < r.cfg.BatchSize {
		if n > 0 && bytes+pending[n].size > r.cfg.BatchBytes {
			break
		}
		bytes += pending[n].size
		n++
	}
	return pending[:n]
}

// ackedPrefix returns how many leading entries of batch Kafka acknowledged
// in a write that failed with err.
func ackedPrefix(batch []entry, err error) int {
	var werrs kafka.WriteErrors
	if !errors.As(err, &werrs) {
		return 0 // nothing was sent, or we cannot tell what was
	}
	i := 0 // index into werrs, which has one error per unskipped entry
	for n, e := range batch {
		if e.skipped != "" {
			continue
		}
		if i >= len(werrs) || werrs[i] != nil {
			return n
		}
		i++
	}
	return len(batch)
}

// kafka returns the settings the relay's clients are built from: Kafka's,
// with the relay's brokers and its WriteTimeout bounding each request.
func (r *Relay) kafka() kafkaauth.Settings {
	s := r.cfg.Kafka
	s.Brokers = r.cfg.Brokers
	s.ReadTimeout, s.WriteTimeout = r.cfg.WriteTimeout, r.cfg.WriteTimeout
	return s
}

// newWriter builds the producer where every Kafka client is built
// (acks=all, murmur2 partitioning: a key lands on the same partition
// whoever publishes it), with the relay's own batching.
func (r *Relay) newWriter(transport kafka.RoundTripper) (*kafka.Writer, error) {
	return r.kafka().Writer("outbox", kafkaauth.WriterOptions{
		Transport: transport,
		// The relay retries itself, resending from the first unacknowledged
		// entry; a writer retrying one partition's batch while the next
		// batch of that partition is sent could reorder them.
		MaxAttempts: 1,
		// One write carries at most BatchSize entries and BatchBytes bytes
		// (by an estimate that is never below kafka-go's), so each
		// partition's share goes out as ONE request: nothing in a partition
		// is sent after an entry whose request failed.
		BatchSize:    r.cfg.BatchSize,
		BatchBytes:   int64(r.cfg.BatchBytes),
		BatchTimeout: time.Millisecond,
		ErrorLogger: kafka.LoggerFunc(func(msg string, args ...any) {
			r.log.Debug(fmt.Sprintf(msg, args...))
		}),
	})
}

// unskipped returns the messages of batch's entries that are not skipped.
func unskipped(batch []entry) []kafka.Message {
	msgs := make([]kafka.Message, 0, len(batch))
	for _, e := range batch {
		if e.skipped == "" {
			msgs = append(msgs, e.msg)
		}
	}
	return msgs
}

// writeFailed handles a write of batch that failed with err after Kafka
// acknowledged its first acked entries: it blocks the relay at the first
// unacknowledged entry, isolates a poison or missing-topic entry by
// publishing one entry per write, and waits before the next attempt.
func (r *Relay) writeFailed(ctx context.Context, l *leadership, batch []entry, acked int, err error) {
	l.attempt++
	failed := batch[acked]
	retryable := kafkago.Retryable(kafkago.FirstError(err))
	r.metric.errors.Add(ctx, 1, metric.WithAttributes(attribute.String("relay", r.cfg.Name), attribute.Bool("retryable", retryable)))
	if errors.Is(kafkago.FirstError(err), kafka.UnknownTopicOrPartition) {
		e, ok := unknownTopicEntry(batch[acked:], err)
		if !ok {
			// The writer's metadata lookup failed before it sent
			// anything, naming no topic: publish one entry per write to
			// find the entry whose topic is missing.
			r.log.Warn("kafka reports an unknown topic; isolating the entry", "from_entry", failed.id, "to_entry", batch[len(batch)-1].id)
			l.single = batch[len(batch)-1].id
			return
		}
		if r.unknownTopic(ctx, l.client, e, l.attempt, &l.healed) {
			return // created: retry at once
		}
		r.pause(ctx, l.attempt)
		return
	}
	switch {
	case retryable:
		r.block(failed.id, failed.msg.Topic, false, kafkago.FirstError(err))
		r.log.Warn("kafka write failed; retrying from the first unacknowledged entry",
			"entry", failed.id, "attempt", l.attempt, "err", kafkago.FirstError(err))
		r.pause(ctx, l.attempt)
	case len(batch) > 1:
		// The broker refuses a partition's whole request: publish the
		// entries of the refused write one by one to find the culprit.
		r.log.Warn("kafka refused a write for good; isolating the refused entry", "from_entry", failed.id, "to_entry", batch[len(batch)-1].id, "err", kafkago.FirstError(err))
		l.single = batch[len(batch)-1].id
	default:
		if l.poisonID != failed.id {
			l.attempt = 1
			l.poisonID = failed.id
		}
		msg := fmt.Sprintf("entry %d (event id %s, topic %s, %d bytes) refused by Kafka: %v", failed.id,
			eventID(failed.msg), failed.msg.Topic, failed.size, kafkago.FirstError(err))
		_ = r.setError(ctx, msg)
		r.block(failed.id, failed.msg.Topic, false, errors.New(msg))
		r.log.Error("poison entry blocks the relay: fix the cause, or skip it with outbox.Skip",
			"entry", failed.id, "event_id", eventID(failed.msg), "topic", failed.msg.Topic, "bytes", failed.size,
			"attempt", l.attempt, "err", kafkago.FirstError(err))
		backoff.Sleep(ctx, r.cfg.MaxBackoff)
		l.pending = nil // re-read: an operator may have skipped it meanwhile
	}
}
