// Package kafkabench compares Kafka transports on one broker: Samnav's
// Watermill transport (pkg/sdk/kafkago), raw segmentio/kafka-go with the same
// settings, and watermill-kafka (the Sarama-based Watermill transport).
//
// Each transport implements Transport; the benchmarks in this package's
// tests drive every transport over the same embedded broker, topics and
// payloads in one process, so the ratios between them come from one run.
package kafkabench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/samnav/samnav/pkg/sdk/configcheck"
)

// UUIDHeader is the Kafka header that carries a Watermill message's UUID,
// the same name in pkg/sdk/kafkago and watermill-kafka. Every transport writes
// records of one shape: key = message UUID, this header = message UUID,
// value = payload; the consume topics are filled with such records.
const UUIDHeader = "_watermill_message_uuid"

// Settings are the knobs every transport is configured from, so that all of
// them run with the same batching, flush and commit behaviour as far as each
// allows.
type Settings struct {
	// Brokers is the bootstrap list.
	Brokers []string
	// Publishers is the number of goroutines that publish concurrently.
	Publishers int
	// Slice is the number of messages one Publish call carries. Watermill's
	// Publish is synchronous per call, so a producer that wants throughput
	// publishes slices (as an outbox relay does) from several goroutines.
	Slice int
	// BatchSize is the number of messages per partition that triggers a
	// flush (kafka-go Writer.BatchSize, Sarama Producer.Flush.Messages).
	BatchSize int
	// BatchBytes is the size of a batch that triggers a flush (kafka-go
	// Writer.BatchBytes, Sarama Producer.Flush.Bytes).
	BatchBytes int
	// Linger is how long a batch waits for more messages before it is sent
	// (kafka-go Writer.BatchTimeout, Sarama Producer.Flush.Frequency).
	Linger time.Duration
	// CommitInterval is how often acked offsets are committed (kafka-go
	// Reader.CommitInterval, Sarama Consumer.Offsets.AutoCommit.Interval).
	CommitInterval time.Duration
	// FetchMaxBytes bounds one fetch response (kafka-go Reader.MaxBytes,
	// Sarama Consumer.Fetch.Default).
	FetchMaxBytes int
	// FetchMaxWait is how long the broker may hold a fetch that has less
	// than its minimum of one byte (kafka-go Reader.MaxWait, Sarama
	// Consumer.MaxWaitTime).
	FetchMaxWait time.Duration
	// QueueCapacity is how many fetched messages the raw kafka-go Reader
	// buffers (Reader.QueueCapacity). pkg/sdk/kafkago has no such queue: each
	// partition holds the fetch response it delivers and the next one.
	QueueCapacity int
}

// DefaultSettings returns the settings the benchmark documents in
// docs/benchmarks.md.
func DefaultSettings(brokers []string) Settings {
	return Settings{
		Brokers:        brokers,
		Publishers:     4,
		Slice:          100,
		BatchSize:      100,
		BatchBytes:     1 << 20,
		Linger:         5 * time.Millisecond,
		CommitInterval: time.Second,
		FetchMaxBytes:  1 << 20,
		FetchMaxWait:   500 * time.Millisecond,
		QueueCapacity:  1000,
	}
}

// Validate reports every problem with the settings at once.
func (s Settings) Validate() error {
	var errs []error
	if len(s.Brokers) == 0 {
		errs = append(errs, errors.New("brokers: must not be empty"))
	}
	if s.CommitInterval <= 0 {
		errs = append(errs, fmt.Errorf("commit interval: must be positive (0 means a synchronous commit per message in kafka-go), got %s", s.CommitInterval))
	}
	return errors.Join(append(errs,
		configcheck.AtLeast("publishers", s.Publishers, 1), configcheck.AtLeast("slice", s.Slice, 1),
		configcheck.AtLeast("batch size", s.BatchSize, 1), configcheck.AtLeast("batch bytes", s.BatchBytes, 1),
		configcheck.Positive("linger", s.Linger), configcheck.AtLeast("fetch max bytes", s.FetchMaxBytes, 1),
		configcheck.Positive("fetch max wait", s.FetchMaxWait))...)
}

// Transport is one way of moving messages through Kafka. Implementations
// are used by one goroutine at a time, but their methods start their own
// goroutines as Settings ask.
type Transport interface {
	// Name is the short label used in benchmark names and the table.
	Name() string
	// Publisher builds a publisher for n messages of payload to topic. The
	// returned Run creates the n messages (each with a fresh UUID) and
	// publishes them, returning once the broker acknowledged every one of
	// them (acks=all).
	Publisher(ctx context.Context, topic string, payload []byte, n int) (Run, error)
	// Consume joins a fresh consumer group, reads n messages from topic
	// starting at the earliest offset and acks each one, committing by the
	// transport's batched mechanism. It returns when the n-th message is
	// acked, with the time the first message arrived. Committed offsets
	// are flushed by the time it returns.
	Consume(ctx context.Context, topic, group string, n, payloadSize int) (ConsumeResult, error)
}

// Run is a prepared publish run: it publishes and then releases what it
// holds.
type Run struct {
	// Publish sends the prepared messages; it is the timed part.
	Publish func(ctx context.Context) error
	// Close flushes and releases the publisher.
	Close func() error
}

// ConsumeResult describes one consume run.
type ConsumeResult struct {
	// FirstMessage is the time from subscribing (group join included) to
	// the first message received.
	FirstMessage time.Duration
	// LastAck is the time from subscribing to the n-th message acked.
	LastAck time.Duration
}

// publishSlices runs publishers goroutines that together call publish for
// every slice [lo, hi) of [0, n) of at most slice messages, and returns the
// first error. It is shared by every transport so that all of them split the
// work the same way.
func publishSlices(ctx context.Context, n, publishers, slice int, publish func(ctx context.Context, lo, hi int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	for range publishers {
		wg.Go(func() {
			for ctx.Err() == nil {
				lo := int(next.Add(int64(slice))) - slice
				if lo >= n {
					return
				}
				hi := min(lo+slice, n)
				if err := publish(ctx, lo, hi); err != nil {
					errOnce.Do(func() {
						firstErr = fmt.Errorf("publish messages %d..%d: %w", lo, hi, err)
						cancel()
					})
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}
