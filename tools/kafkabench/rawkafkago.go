package kafkabench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/segmentio/kafka-go"
)

// RawKafkaGo is the baseline: segmentio/kafka-go's Writer and Reader used
// directly, configured from the same Settings as the Watermill transports.
type RawKafkaGo struct {
	Settings Settings
}

var _ Transport = (*RawKafkaGo)(nil)

// Name implements Transport.
func (*RawKafkaGo) Name() string { return "kafkago" }

// Publisher implements Transport with one kafka.Writer shared by all
// publishing goroutines, each building a slice of records and calling
// WriteMessages with it. The
// records have the shape the Watermill transports write (see UUIDHeader), so
// all three put the same bytes on the wire.
func (t *RawKafkaGo) Publisher(_ context.Context, topic string, payload []byte, n int) (Run, error) {
	s := t.Settings
	w := &kafka.Writer{
		Addr:  kafka.TCP(s.Brokers...),
		Topic: topic,
		// As pkg/sdk/kafkago: the Java client's partitioner.
		Balancer:     &kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll,
		BatchSize:    s.BatchSize,
		BatchBytes:   int64(s.BatchBytes),
		BatchTimeout: s.Linger,
	}
	return Run{
		Publish: func(ctx context.Context) error {
			return publishSlices(ctx, n, s.Publishers, s.Slice, func(ctx context.Context, lo, hi int) error {
				msgs := make([]kafka.Message, hi-lo)
				for i := range msgs {
					id := []byte(watermill.NewUUID())
					msgs[i] = kafka.Message{Key: id, Value: payload, Headers: []kafka.Header{{Key: UUIDHeader, Value: id}}}
				}
				return w.WriteMessages(ctx, msgs...)
			})
		},
		Close: w.Close,
	}, nil
}

// Consume implements Transport with a kafka.Reader in a consumer group,
// FetchMessage then CommitMessages for every message; with CommitInterval
// set, CommitMessages queues the offset and the Reader commits in batches.
func (t *RawKafkaGo) Consume(ctx context.Context, topic, group string, n, payloadSize int) (res ConsumeResult, err error) {
	s := t.Settings
	start := time.Now()
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:        s.Brokers,
		GroupID:        group,
		Topic:          topic,
		StartOffset:    kafka.FirstOffset,
		MinBytes:       1,
		MaxBytes:       s.FetchMaxBytes,
		MaxWait:        s.FetchMaxWait,
		CommitInterval: s.CommitInterval,
		QueueCapacity:  s.QueueCapacity,
	})
	defer func() {
		if cerr := r.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("close reader: %w", cerr))
		}
	}()
	for i := range n {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			return res, fmt.Errorf("fetch message %d of %d: %w", i+1, n, err)
		}
		if i == 0 {
			res.FirstMessage = time.Since(start)
		}
		if len(m.Value) != payloadSize {
			return res, fmt.Errorf("message %d at %d/%d: payload of %d bytes, want %d", i+1, m.Partition, m.Offset, len(m.Value), payloadSize)
		}
		if err := r.CommitMessages(ctx, m); err != nil {
			return res, fmt.Errorf("commit message %d of %d: %w", i+1, n, err)
		}
	}
	res.LastAck = time.Since(start)
	return res, nil
}
