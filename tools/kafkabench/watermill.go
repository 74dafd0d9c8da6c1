package kafkabench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
)

// watermillPublishRun publishes n messages of payload through pub in
// slices from several goroutines, the same way for every Watermill
// transport. Each goroutine builds the messages of its slice, each with its
// own UUID, as an application does right before publishing.
func watermillPublishRun(s Settings, pub message.Publisher, topic string, payload []byte, n int) Run {
	return Run{
		Publish: func(ctx context.Context) error {
			return publishSlices(ctx, n, s.Publishers, s.Slice, func(_ context.Context, lo, hi int) error {
				msgs := make([]*message.Message, hi-lo)
				for i := range msgs {
					msgs[i] = message.NewMessage(watermill.NewUUID(), payload)
				}
				return pub.Publish(topic, msgs...)
			})
		},
		Close: pub.Close,
	}
}

// watermillConsume subscribes sub to topic, acks n messages as one handler
// goroutine would, and closes sub. Close is outside the measured time; a
// Watermill subscriber commits what was acked on Close.
func watermillConsume(ctx context.Context, sub message.Subscriber, topic string, n, payloadSize int) (res ConsumeResult, err error) {
	defer func() {
		if cerr := sub.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("close subscriber: %w", cerr))
		}
	}()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	ch, err := sub.Subscribe(ctx, topic)
	if err != nil {
		return res, fmt.Errorf("subscribe to %q: %w", topic, err)
	}
	for i := range n {
		var msg *message.Message
		select {
		case m, ok := <-ch:
			if !ok {
				return res, fmt.Errorf("subscription closed after %d of %d messages", i, n)
			}
			msg = m
		case <-ctx.Done():
			return res, fmt.Errorf("after %d of %d messages: %w", i, n, ctx.Err())
		}
		if i == 0 {
			res.FirstMessage = time.Since(start)
		}
		if len(msg.Payload) != payloadSize {
			msg.Nack()
			return res, fmt.Errorf("message %d (%s): payload of %d bytes, want %d", i+1, msg.UUID, len(msg.Payload), payloadSize)
		}
		msg.Ack()
	}
	res.LastAck = time.Since(start)
	return res, nil
}
