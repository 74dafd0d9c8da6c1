package subscriber

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/samnav/samnav/pkg/sdk/avro"
	"github.com/samnav/samnav/pkg/sdk/avroserde"
	"github.com/samnav/samnav/pkg/sdk/envelope"
)

// Type is what happened to a record: the last segment of the event's
// CloudEvents type (envelope.EventType).
type Type string

const (
	// Changed: Value is the record's full current state.
	Changed = Type(envelope.Changed)
	// Ended: Value is the record's last state; the record ended.
	Ended = Type(envelope.Ended)
	// Erased: the record was erased (a tombstone on the topic); Value is
	// nil, and the handler must delete everything it holds under Key.
	Erased = Type(envelope.Erased)
)

// Headers a Samnav state or view topic record carries besides the
// CloudEvents ones; pkg/sdk/envelope defines them all.
const (
	HeaderRevision = envelope.HeaderRevision
	HeaderEndedAt  = envelope.HeaderEndedAt
	HeaderTrace    = envelope.HeaderTraceParent
	// HeaderViewShape names the shape (approved fields, protected
	// identities) a view topic record was projected for. When the hub
	// rebuilds a view after its subscription was widened or narrowed, the
	// same events arrive again under a new shape; the SDK applies them
	// again (idempotency is by event id and shape), so newly approved
	// fields reach records that have not changed since.
	HeaderViewShape = envelope.HeaderViewShape
)

// Event is one record of a topic, decoded into T.
type Event[T any] struct {
	// ID is the event id (header ce_id); the same on every redelivery.
	ID   string
	Type Type
	// Key is the record key, the record's opaque id.
	Key string
	// Time is when the change happened (ce_time); zero if absent.
	Time time.Time
	// Revision is the record's revision (HeaderRevision); 0 if absent.
	Revision int64
	// EndedAt is set for Ended events that carry HeaderEndedAt.
	EndedAt *time.Time
	// Value is the decoded record; nil for Erased.
	Value *T
	// Where the record is stored in Kafka.
	Topic     string
	Partition int
	Offset    int64
	// Attempt is 1 on the first call of the handler for this delivery
	// and grows with each retry.
	Attempt int
	// Headers are every header of the record, as strings.
	Headers map[string]string
}

// Route is a topic and its typed handler, made by Handle.
type Route struct {
	topic  string
	reader string
	// decode returns a *T (as any), or nil for a tombstone.
	decode func(ctx context.Context, d decoder, payload []byte) (any, error)
	// call builds the Event[T] and calls the handler.
	call func(ctx context.Context, env recordEnvelope, value any) error
}

// Topic returns the route's topic.
func (r Route) Topic() string { return r.topic }

// Handle routes the records of topic to fn, decoded into T: a struct tagged
// `avro:"..."` such as a generated contracts/concepts type
// (concepts.PersonV1).
//
// readerSchema is the Avro schema T was made for (for a generated type,
// contracts.Contracts()' Schema of its topic): each record is resolved from
// its writer schema to it, so the handler reads every compatible version.
// "" decodes with each record's writer schema as it is, which suits view
// topics whose projected schema holds only some of T's fields.
//
// fn returning nil means "applied": the event is marked in the
// idempotency store and its offset committed. An error is retried with
// backoff; a Permanent error, an error apierr.Retryable refuses (such as
// an API's invalid or not_found answer, see apierr.FromResponse) or
// MaxAttempts failures send the record to the dead-letter topic.
func Handle[T any](topic, readerSchema string, fn func(ctx context.Context, ev Event[T]) error) Route {
	return Route{
		topic:  topic,
		reader: readerSchema,
		decode: func(ctx context.Context, d decoder, payload []byte) (any, error) {
			if len(payload) == 0 {
				return nil, nil
			}
			v := new(T)
			if err := d.decode(ctx, payload, v); err != nil {
				return nil, err
			}
			return v, nil
		},
		call: func(ctx context.Context, env recordEnvelope, value any) error {
			ev := Event[T]{ID: env.id, Type: env.typ, Key: env.key, Time: env.time, Revision: env.revision, EndedAt: env.endedAt,
				Topic: env.topic, Partition: env.partition, Offset: env.offset, Attempt: env.attempt, Headers: env.headers}
			if value != nil {
				ev.Value = value.(*T)
			}
			return fn(ctx, ev)
		},
	}
}

// recordEnvelope is what is read from a record besides its value.
type recordEnvelope struct {
	id, key, topic string
	typ            Type
	time           time.Time
	revision       int64
	endedAt        *time.Time
	partition      int
	offset         int64
	attempt        int
	headers        map[string]string
}

// readEnvelope reads the event's attributes from the record's headers.
// A tombstone is always Erased; otherwise the type is the last segment of
// the event type, Changed when there is none. Bad optional headers are
// ignored: they must not make a record undeliverable.
func readEnvelope(headers map[string]string, tombstone bool) recordEnvelope {
	e := envelope.Read(headers) // lenient: what parsed is used, see above
	env := recordEnvelope{id: e.ID, headers: headers, typ: Changed, time: e.Time, revision: e.Revision, endedAt: e.EndedAt}
	if e.Type != "" {
		env.typ = Type(e.Kind())
	}
	if tombstone {
		env.typ = Erased
	}
	return env
}

// decoder decodes one Confluent-framed value into v.
type decoder interface {
	decode(ctx context.Context, data []byte, v any) error
}

// readerDecoder resolves every writer schema to one reader schema.
type readerDecoder struct{ d *avroserde.Deserializer }

func (r readerDecoder) decode(ctx context.Context, data []byte, v any) error {
	return r.d.DecodeContext(ctx, data, v)
}

// writerDecoder decodes with each record's own writer schema.
type writerDecoder struct{ src avroserde.SchemaSource }

func (w writerDecoder) decode(ctx context.Context, data []byte, v any) error {
	id, body, err := avroserde.ParseHeader(data)
	if err != nil {
		return err
	}
	s, err := w.src.SchemaByID(ctx, id)
	if err != nil {
		return err
	}
	if err := avro.UnmarshalStrict(s, body, v); err != nil {
		return &avroserde.Error{Op: "decode", SchemaID: id, Kind: avroserde.ErrMalformedBody, Err: err}
	}
	return nil
}

func newDecoder(src avroserde.SchemaSource, readerSchema string) (decoder, error) {
	if readerSchema == "" {
		return writerDecoder{src: src}, nil
	}
	s, err := avro.Parse(readerSchema)
	if err != nil {
		return nil, fmt.Errorf("parse reader schema: %w", err)
	}
	d, err := avroserde.NewDeserializer(src, s)
	if err != nil {
		return nil, fmt.Errorf("new deserializer: %w", err)
	}
	return readerDecoder{d: d}, nil
}

// permanent marks an error that retrying cannot fix.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent wraps err so the SDK does not retry it: the record goes to the
// dead-letter topic at once. For records a handler can never apply
// (a value its business rules reject), not for outages.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err: err}
}

// IsPermanent reports whether err was wrapped by Permanent.
func IsPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p)
}
