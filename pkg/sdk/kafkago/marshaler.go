package kafkago

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/segmentio/kafka-go"
)

// UUIDHeader is the Kafka header that carries a Watermill message's UUID. The
// name is the one watermill-kafka uses, so both transports read each other's
// messages.
const UUIDHeader = "_watermill_message_uuid"

// PartitionKeyMetadata is the metadata key whose value becomes the Kafka
// record key, and so decides the partition: messages with the same key always
// land on the same partition, in the order they were published. A message
// without it is keyed by its UUID.
const PartitionKeyMetadata = "partition_key"

// Marshaler turns a Watermill message into a Kafka record for a topic.
// Implementations must be safe for concurrent use and must not keep msg.
type Marshaler interface {
	Marshal(topic string, msg *message.Message) (kafka.Message, error)
}

// Unmarshaler turns a consumed Kafka record into a Watermill message.
// Implementations must be safe for concurrent use. The record's Value and
// header values may be kept by the returned message: the subscriber never
// reuses them.
type Unmarshaler interface {
	Unmarshal(kafka.Message) (*message.Message, error)
}

// DefaultMarshaler is the Marshaler and Unmarshaler used when a config names
// none. It maps a Watermill message to a record as:
//
//   - key: metadata PartitionKeyMetadata if set and not empty, else the UUID;
//   - value: the payload, unchanged;
//   - headers: UUIDHeader with the UUID, then every metadata entry as one
//     header, sorted by key, values unchanged (so a telemetry decorator's
//     traceparent, or CloudEvents' ce_* attributes, pass through as headers).
//
// Unmarshal reverses it: every header except UUIDHeader becomes metadata.
type DefaultMarshaler struct{}

var (
	_ Marshaler   = DefaultMarshaler{}
	_ Unmarshaler = DefaultMarshaler{}
)

// Marshal implements Marshaler.
func (DefaultMarshaler) Marshal(_ string, msg *message.Message) (kafka.Message, error) {
	if msg.UUID == "" {
		return kafka.Message{}, errors.New("marshal message: uuid: must not be empty")
	}
	// One copy of the UUID serves as header value and, usually, as key: the
	// writer only reads them.
	id := []byte(msg.UUID)
	headers := make([]kafka.Header, 0, len(msg.Metadata)+1)
	headers = append(headers, kafka.Header{Key: UUIDHeader, Value: id})
	if len(msg.Metadata) > 0 {
		start := len(headers)
		for k, v := range msg.Metadata {
			if k == UUIDHeader {
				return kafka.Message{}, fmt.Errorf("marshal message %s: metadata %q: key is reserved for the message uuid", msg.UUID, k)
			}
			headers = append(headers, kafka.Header{Key: k, Value: []byte(v)})
		}
		slices.SortFunc(headers[start:], func(a, b kafka.Header) int {
			switch {
			case a.Key < b.Key:
				return -1
			case a.Key > b.Key:
				return 1
			}
			return 0
		})
	}
	key := id
	if k := msg.Metadata.Get(PartitionKeyMetadata); k != "" {
		key = []byte(k)
	}
	return kafka.Message{
		Key:     key,
		Value:   msg.Payload,
		Headers: headers,
	}, nil
}

// ExternalMarshaler is the Marshaler for topics read by systems outside
// the hub, such as a subscriber's view topic: nothing of the hub's own
// plumbing reaches them. It maps a message to a record as
// DefaultMarshaler does, except that the headers are only the message's
// metadata without PartitionKeyMetadata and without any "_watermill"
// key: no UUIDHeader, no partition key (it is the record key already).
// Consumers deduplicate by the event id in the headers (envelope.HeaderID);
// DefaultMarshaler.Unmarshal gives such a record a UUID from its
// coordinates. It only marshals.
type ExternalMarshaler struct{}

var _ Marshaler = ExternalMarshaler{}

// Marshal implements Marshaler.
func (ExternalMarshaler) Marshal(_ string, msg *message.Message) (kafka.Message, error) {
	if msg.UUID == "" {
		return kafka.Message{}, errors.New("marshal message: uuid: must not be empty")
	}
	headers := make([]kafka.Header, 0, len(msg.Metadata))
	for k, v := range msg.Metadata {
		if k == PartitionKeyMetadata || strings.HasPrefix(k, "_watermill") {
			continue
		}
		headers = append(headers, kafka.Header{Key: k, Value: []byte(v)})
	}
	slices.SortFunc(headers, func(a, b kafka.Header) int { return strings.Compare(a.Key, b.Key) })
	key := []byte(msg.UUID)
	if k := msg.Metadata.Get(PartitionKeyMetadata); k != "" {
		key = []byte(k)
	}
	return kafka.Message{Key: key, Value: msg.Payload, Headers: headers}, nil
}

// Unmarshal implements Unmarshaler. A record without a UUID header (one
// written by a non-Watermill producer) gets the UUID
// "<topic>-<partition>-<offset>", stable across redeliveries so consumers
// can still deduplicate by it. A record whose UUID header repeats or is
// empty is rejected, naming the header and the rule: its identity is
// ambiguous. A repeated other header keeps its last value, as metadata holds
// one value per key.
func (DefaultMarshaler) Unmarshal(km kafka.Message) (*message.Message, error) {
	return unmarshal(km, false)
}

// unmarshal is DefaultMarshaler.Unmarshal. With owned, the UUID string
// shares the bytes of its header's value instead of copying them: only for
// records the subscriber fetched, whose header values kafka-go allocated
// one by one and nobody writes to, so the string keeps nothing else alive.
func unmarshal(km kafka.Message, owned bool) (*message.Message, error) {
	uuidAt, size := -1, 0
	for i, h := range km.Headers {
		if h.Key == UUIDHeader {
			if uuidAt >= 0 {
				return nil, fmt.Errorf("unmarshal record %s/%d@%d: header %q: must appear at most once", km.Topic, km.Partition, km.Offset, UUIDHeader)
			}
			if len(h.Value) == 0 {
				return nil, fmt.Errorf("unmarshal record %s/%d@%d: header %q: must not be empty", km.Topic, km.Partition, km.Offset, UUIDHeader)
			}
			uuidAt = i
			continue
		}
		size += len(h.Value)
	}
	var uuid string
	switch {
	case uuidAt >= 0 && owned:
		v := km.Headers[uuidAt].Value
		uuid = unsafe.String(unsafe.SliceData(v), len(v)) //nolint:gosec // G103: see unmarshal's doc comment: the bytes are owned and never written
	case uuidAt >= 0:
		uuid = string(km.Headers[uuidAt].Value)
	default:
		uuid = km.Topic + "-" + strconv.Itoa(km.Partition) + "-" + strconv.FormatInt(km.Offset, 10)
	}
	msg := message.NewMessage(uuid, km.Value)
	if len(km.Headers) == 0 || (uuidAt >= 0 && len(km.Headers) == 1) {
		return msg, nil
	}
	// The metadata values share one string, one allocation per record
	// instead of one per header. The UUID has its own: deduplication keeps
	// UUIDs long after the message, and should not keep its metadata too.
	var sb strings.Builder
	sb.Grow(size)
	for i, h := range km.Headers {
		if i != uuidAt {
			sb.Write(h.Value)
		}
	}
	values := sb.String()
	// NewMessage made an empty map; a map of up to 8 entries fits its first
	// group, so filling it costs one allocation where a map sized up front
	// costs two. Larger ones are sized up front, to grow once.
	md := msg.Metadata
	if len(km.Headers) > 8 {
		md = make(message.Metadata, len(km.Headers))
	}
	off := 0
	for i, h := range km.Headers {
		if i == uuidAt {
			continue
		}
		md[h.Key] = values[off : off+len(h.Value)]
		off += len(h.Value)
	}
	msg.Metadata = md
	return msg, nil
}

// RecordInfo says where a consumed message was stored in Kafka.
type RecordInfo struct {
	Topic     string
	Partition int
	Offset    int64
	// Time is the record's timestamp (producer create time unless the topic
	// uses log-append time).
	Time time.Time
	// Key is the record key.
	Key []byte
	// Headers are the record's headers as fetched, UUIDHeader included,
	// for a consumer that reads the record itself rather than the
	// message's Metadata. The subscriber never reuses them; do not
	// modify them.
	Headers []kafka.Header
}

type recordInfoKey struct{}

// RecordInfoFromContext returns the Kafka coordinates of a message delivered
// by a Subscriber, from msg.Context().
func RecordInfoFromContext(ctx context.Context) (RecordInfo, bool) {
	ri, ok := ctx.Value(recordInfoKey{}).(*RecordInfo)
	if !ok {
		return RecordInfo{}, false
	}
	return *ri, true
}
