// The records a worker reads come from a pkg/sdk/kafkago subscription; this file adapts
// it to the worker's fetch-then-commit reader.

package pipeline

import (
	"context"
	"errors"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/segmentio/kafka-go"

	"github.com/samnav/samnav/pkg/sdk/kafkago"
)

// errSubscriptionEnded is returned by a source whose subscription closed.
var errSubscriptionEnded = errors.New("kafka subscription ended")

// source is a worker's reader over a kafkago subscription with MaxInFlight
// of at least the batch size: FetchMessage hands over the subscription's
// messages as records and keeps them, and CommitMessages acknowledges,
// per partition, every kept message up to the record named, so kafkago
// commits exactly what the channel accepted (the acknowledged prefix).
// release gives back (Nacks) what the worker fetched and did not
// accept, so that a stopping subscription need not wait for it. Only the
// worker's goroutine calls it.
type source struct {
	msgs <-chan *message.Message
	// held are the messages fetched and not yet acknowledged, by
	// partition, in offset order.
	held map[int][]held
}

type held struct {
	offset int64
	msg    *message.Message
}

var _ reader = (*source)(nil)

func newSource(msgs <-chan *message.Message) *source {
	return &source{msgs: msgs, held: map[int][]held{}}
}

// FetchMessage returns the next message as the record it was read from.
func (s *source) FetchMessage(ctx context.Context) (kafka.Message, error) {
	var m *message.Message
	select {
	case <-ctx.Done():
		return kafka.Message{}, ctx.Err()
	case msg, ok := <-s.msgs:
		if !ok {
			return kafka.Message{}, errSubscriptionEnded
		}
		m = msg
	}
	ri, _ := kafkago.RecordInfoFromContext(m.Context())
	// The record as fetched: its headers, not a copy rebuilt from the
	// message's Metadata map.
	km := kafka.Message{Topic: ri.Topic, Partition: ri.Partition, Offset: ri.Offset, Time: ri.Time, Key: ri.Key, Value: m.Payload, Headers: ri.Headers}
	s.held[ri.Partition] = append(s.held[ri.Partition], held{offset: ri.Offset, msg: m})
	return km, nil
}

// CommitMessages acknowledges every held message of each named record's
// partition up to and including that record.
func (s *source) CommitMessages(_ context.Context, msgs ...kafka.Message) error {
	for _, km := range msgs {
		hs := s.held[km.Partition]
		i := 0
		for i < len(hs) && hs[i].offset <= km.Offset {
			hs[i].msg.Ack()
			i++
		}
		s.held[km.Partition] = hs[i:]
	}
	return nil
}

// release Nacks every held message: it is delivered again, to whoever
// reads its partition next.
func (s *source) release() {
	for p, hs := range s.held {
		for _, h := range hs {
			h.msg.Nack()
		}
		delete(s.held, p)
	}
}
