package kafkabench

import (
	"context"
	"fmt"
	"math"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill"
	wmkafka "github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"
)

// WatermillKafka is github.com/ThreeDotsLabs/watermill-kafka/v3, the
// Sarama-based Watermill transport, configured from the same Settings.
type WatermillKafka struct {
	Settings Settings
	// Linger applies Settings' batch size, bytes and linger to Sarama's
	// Producer.Flush. Off by default: watermill-kafka sends the messages of
	// a Publish call one at a time and waits for each, so a linger only
	// delays every message (about Publishers messages per linger interval);
	// Sarama's default, sending at once and batching what piles up while
	// requests are in flight, is watermill-kafka at its best.
	Linger bool
}

var _ Transport = (*WatermillKafka)(nil)

// Name implements Transport.
func (*WatermillKafka) Name() string { return "watermill-kafka" }

// saramaVersion is the protocol version Sarama is told the broker speaks:
// Kafka 2.1, the oldest baseline Apache Kafka 4 still serves (KIP-896).
// watermill-kafka's own default (1.0) would send request versions Kafka 4
// no longer accepts.
var saramaVersion = sarama.V2_1_0_0

// Publisher implements Transport. watermill-kafka wraps a Sarama
// SyncProducer and sends the messages of one Publish call one at a time, so
// its batches are filled only across the concurrent publishers.
func (t *WatermillKafka) Publisher(_ context.Context, topic string, payload []byte, n int) (Run, error) {
	s := t.Settings
	cfg := wmkafka.DefaultSaramaSyncPublisherConfig()
	cfg.Version = saramaVersion
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Partitioner = sarama.NewRoundRobinPartitioner
	if t.Linger {
		cfg.Producer.Flush.Messages = s.BatchSize
		cfg.Producer.Flush.Bytes = s.BatchBytes
		cfg.Producer.Flush.Frequency = s.Linger
	}
	pub, err := wmkafka.NewPublisher(wmkafka.PublisherConfig{
		Brokers: s.Brokers,
		// Key every record by the message UUID, as pkg/sdk/kafkago does by
		// default, so the records match the other transports'.
		Marshaler: wmkafka.NewWithPartitioningMarshaler(func(_ string, msg *message.Message) (string, error) {
			return msg.UUID, nil
		}),
		OverwriteSaramaConfig: cfg,
	}, watermill.NopLogger{})
	if err != nil {
		return Run{}, fmt.Errorf("watermill-kafka publisher: %w", err)
	}
	return watermillPublishRun(s, pub, topic, payload, n), nil
}

// Consume implements Transport. watermill-kafka marks each acked message
// and Sarama's auto-commit commits the marks every CommitInterval.
func (t *WatermillKafka) Consume(ctx context.Context, topic, group string, n, payloadSize int) (ConsumeResult, error) {
	s := t.Settings
	cfg := wmkafka.DefaultSaramaSubscriberConfig()
	cfg.Version = saramaVersion
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.AutoCommit.Enable = true
	cfg.Consumer.Offsets.AutoCommit.Interval = s.CommitInterval
	cfg.Consumer.Fetch.Default = int32(min(s.FetchMaxBytes, math.MaxInt32)) //nolint:gosec // bounded by min
	cfg.Consumer.MaxWaitTime = s.FetchMaxWait
	sub, err := wmkafka.NewSubscriber(wmkafka.SubscriberConfig{
		Brokers:               s.Brokers,
		Unmarshaler:           wmkafka.DefaultMarshaler{},
		OverwriteSaramaConfig: cfg,
		ConsumerGroup:         group,
	}, watermill.NopLogger{})
	if err != nil {
		return ConsumeResult{}, fmt.Errorf("watermill-kafka subscriber: %w", err)
	}
	return watermillConsume(ctx, sub, topic, n, payloadSize)
}
