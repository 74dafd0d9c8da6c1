package subscriber

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/pkg/sdk/backoff"
	"github.com/samnav/samnav/pkg/sdk/envelope"
	"github.com/samnav/samnav/pkg/sdk/instrument"
	"github.com/samnav/samnav/pkg/sdk/kafkago"
)

// This file takes one record to its end: decoded, deduplicated, handled
// with retries, or dead-lettered; and the metrics of that.

// process handles one record to the end: applied, duplicate or
// dead-lettered (Ack), or abandoned because Run is ending (Nack, so it is
// delivered again).
func (s *Subscriber) process(pub *kafkago.Publisher, r Route, msg *message.Message) {
	info, _ := kafkago.RecordInfoFromContext(msg.Context())
	_, err := s.tracing(func(msg *message.Message) ([]*message.Message, error) {
		return nil, s.handle(msg.Context(), pub, r, msg, info)
	})(msg)
	if err != nil {
		msg.Nack()
		return
	}
	msg.Ack()
	s.advance(info.Topic, info.Partition, info.Offset+1)
	s.checkCaughtUp()
}

func (s *Subscriber) handle(ctx context.Context, pub *kafkago.Publisher, r Route, msg *message.Message, info kafkago.RecordInfo) error {
	headers := make(map[string]string, len(msg.Metadata))
	for k, v := range msg.Metadata {
		headers[k] = v
	}
	env := readEnvelope(headers, len(msg.Payload) == 0)
	if env.id == "" {
		env.id = msg.UUID // stable per record; see kafkago.DefaultMarshaler
	}
	env.key, env.topic, env.partition, env.offset = string(info.Key), info.Topic, info.Partition, info.Offset
	attrs := metric.WithAttributes(attribute.String("topic", info.Topic))
	outcome := func(o string) metric.AddOption {
		return metric.WithAttributes(attribute.String("topic", info.Topic), attribute.String("outcome", o))
	}
	log := s.logger.With("topic", info.Topic, "partition", info.Partition, "offset", info.Offset, "event", env.id)

	// A view the hub rebuilt for a new shape of the subscription (fields
	// added or withdrawn) carries the same events again, projected the new
	// way: they must be applied again, so the shape is part of what makes
	// an event a duplicate.
	mark := env.id
	if shape := headers[HeaderViewShape]; shape != "" {
		mark += "@" + shape
	}
	seen, err := retryForever(ctx, s, func() (bool, error) { return s.cfg.Store.Seen(ctx, s.cfg.Group, mark) }, log, "look up event id")
	if err != nil {
		return err
	}
	if seen {
		s.m.events.Add(ctx, 1, outcome("duplicate"))
		log.DebugContext(ctx, "duplicate event skipped")
		return nil
	}
	value, err := retryForever(ctx, s, func() (any, error) {
		v, err := r.decode(ctx, s.decs[r.topic], msg.Payload)
		if err != nil && !apierr.Retryable(err) {
			return nil, Permanent(err)
		}
		return v, err
	}, log, "decode")
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return s.deadLetter(ctx, pub, msg, info, 0, fmt.Errorf("decode: %w", err), log)
	}
	for attempt := 1; ; attempt++ {
		env.attempt = attempt
		start := time.Now()
		err := r.call(ctx, env, value)
		s.m.duration.Record(ctx, time.Since(start).Seconds(), attrs)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if IsPermanent(err) || !apierr.Retryable(err) || attempt >= s.cfg.MaxAttempts {
			return s.deadLetter(ctx, pub, msg, info, attempt, err, log)
		}
		s.m.retries.Add(ctx, 1, attrs)
		log.WarnContext(ctx, "handler failed; retrying", "attempt", attempt, "err", err)
		if !backoff.Sleep(ctx, backoff.Delay(attempt, s.cfg.MinBackoff, s.cfg.MaxBackoff)) {
			return ctx.Err()
		}
	}
	if _, err := retryForever(ctx, s, func() (struct{}, error) {
		return struct{}{}, s.cfg.Store.Mark(ctx, s.cfg.Group, mark, info.Time)
	}, log, "mark event applied"); err != nil {
		// Applied but not marked: a redelivery after this would apply
		// it again. Only a stopping Run gets here.
		return err
	}
	s.m.events.Add(ctx, 1, outcome("applied"))
	return nil
}

// deadLetter publishes the original record with the reason to the
// dead-letter topic, retrying until it is stored or Run ends.
func (s *Subscriber) deadLetter(ctx context.Context, pub *kafkago.Publisher, msg *message.Message, info kafkago.RecordInfo, attempts int, cause error, log *slog.Logger) error {
	dlq := DeadLetterTopic(info.Topic, s.cfg.Group)
	out := message.NewMessage(msg.UUID, msg.Payload)
	for k, v := range msg.Metadata {
		out.Metadata.Set(k, v)
	}
	out.Metadata.Set(kafkago.PartitionKeyMetadata, string(info.Key))
	out.Metadata.Set(HeaderDLQError, cause.Error())
	out.Metadata.Set(HeaderDLQAttempts, strconv.Itoa(attempts))
	out.Metadata.Set(HeaderDLQTopic, info.Topic)
	out.Metadata.Set(HeaderDLQPartition, strconv.Itoa(info.Partition))
	out.Metadata.Set(HeaderDLQOffset, strconv.FormatInt(info.Offset, 10))
	out.Metadata.Set(HeaderDLQGroup, s.cfg.Group)
	out.Metadata.Set(HeaderDLQTime, envelope.FormatTime(time.Now()))
	if _, err := retryForever(ctx, s, func() (struct{}, error) { return struct{}{}, pub.Publish(dlq, out) }, log, "publish to dead-letter topic"); err != nil {
		return err
	}
	log.ErrorContext(ctx, "record dead-lettered", "dlq", dlq, "attempts", attempts, "err", cause)
	s.m.events.Add(ctx, 1, metric.WithAttributes(attribute.String("topic", info.Topic), attribute.String("outcome", "dead_lettered")))
	return nil
}

// retryForever calls fn until it succeeds, returns a Permanent error, or
// ctx ends: for outages (the registry, the idempotency store, the
// dead-letter topic) that say nothing about the record.
func retryForever[V any](ctx context.Context, s *Subscriber, fn func() (V, error), log *slog.Logger, what string) (V, error) {
	for attempt := 1; ; attempt++ {
		v, err := fn()
		if err == nil || IsPermanent(err) {
			return v, err
		}
		if ctx.Err() != nil {
			return v, ctx.Err()
		}
		log.WarnContext(ctx, what+" failed; retrying", "attempt", attempt, "err", err)
		if !backoff.Sleep(ctx, backoff.Delay(attempt, s.cfg.MinBackoff, s.cfg.MaxBackoff)) {
			return v, ctx.Err()
		}
	}
}

type metrics struct {
	events   metric.Int64Counter
	retries  metric.Int64Counter
	duration metric.Float64Histogram
}

func newMetrics(mp metric.MeterProvider) (metrics, error) {
	s := instrument.New(mp.Meter("github.com/samnav/samnav/pkg/sdk/subscriber"))
	m := metrics{
		events:   s.Counter("samnav.subscriber.events", "", "Records handled, by topic and outcome (applied, duplicate, dead_lettered)."),
		retries:  s.Counter("samnav.subscriber.retries", "", "Handler attempts that failed and were retried."),
		duration: s.Histogram("samnav.subscriber.handle.duration", "s", "Duration of one handler call."),
	}
	return m, s.Err()
}
