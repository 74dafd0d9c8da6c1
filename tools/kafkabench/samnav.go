package kafkabench

import (
	"context"
	"fmt"

	"github.com/ThreeDotsLabs/watermill"

	"github.com/samnav/samnav/pkg/sdk/kafkago"
)

// Samnav is Samnav's Watermill transport, pkg/sdk/kafkago, configured from the
// same Settings as the baseline.
type Samnav struct {
	Settings Settings
}

var _ Transport = (*Samnav)(nil)

// Name implements Transport.
func (*Samnav) Name() string { return "samnav" }

// Publisher implements Transport. kafkago batches concurrent Publish calls
// in one kafka-go Writer and returns once every message of the call is
// acknowledged.
func (t *Samnav) Publisher(_ context.Context, topic string, payload []byte, n int) (Run, error) {
	s := t.Settings
	pub, err := kafkago.NewPublisher(kafkago.PublisherConfig{
		Brokers:      s.Brokers,
		RequiredAcks: kafkago.AcksAll,
		BatchSize:    s.BatchSize,
		BatchBytes:   int64(s.BatchBytes),
		BatchTimeout: s.Linger,
	}, watermill.NopLogger{})
	if err != nil {
		return Run{}, fmt.Errorf("samnav publisher: %w", err)
	}
	return watermillPublishRun(s, pub, topic, payload, n), nil
}

// Consume implements Transport. kafkago commits the acknowledged offsets of
// all partitions every CommitInterval and on Close.
func (t *Samnav) Consume(ctx context.Context, topic, group string, n, payloadSize int) (ConsumeResult, error) {
	s := t.Settings
	sub, err := kafkago.NewSubscriber(kafkago.SubscriberConfig{
		Brokers:        s.Brokers,
		ConsumerGroup:  group,
		InitialOffset:  kafkago.Earliest,
		CommitInterval: s.CommitInterval,
		FetchMaxBytes:  s.FetchMaxBytes,
		FetchMaxWait:   s.FetchMaxWait,
	}, watermill.NopLogger{})
	if err != nil {
		return ConsumeResult{}, fmt.Errorf("samnav subscriber: %w", err)
	}
	return watermillConsume(ctx, sub, topic, n, payloadSize)
}
