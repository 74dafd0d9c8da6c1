package avroserde

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/samnav/samnav/pkg/sdk/avro"
)

// Registrar is the part of the registry a Serializer needs.
// *RegistryClient implements it.
type Registrar interface {
	Register(ctx context.Context, subject, schemaText string) (uint32, error)
	Lookup(ctx context.Context, subject, schemaText string) (uint32, error)
}

// SchemaSource is the part of the registry a Deserializer needs.
// *RegistryClient implements it. Implementations must return the same
// schema for an id every time (registry ids are immutable).
type SchemaSource interface {
	SchemaByID(ctx context.Context, id uint32) (*avro.Schema, error)
}

var (
	_ Registrar    = (*RegistryClient)(nil)
	_ SchemaSource = (*RegistryClient)(nil)
)

// SerializerOption configures a Serializer.
type SerializerOption func(*Serializer)

// LookupOnly makes the Serializer look its schema up under the subject and
// fail with ErrNotRegistered if it is absent, instead of registering it
// (the default). Production publishers use this so that only the contracts
// pipeline registers schemas.
func LookupOnly() SerializerOption { return func(s *Serializer) { s.register = false } }

// Serializer encodes values with one schema under one subject. The schema's
// id is obtained from the registry on first use and kept; a failure is not
// kept, so the next Encode asks again. A Serializer is safe for concurrent
// use.
type Serializer struct {
	reg      Registrar
	subject  string
	text     string
	schema   *avro.Schema
	register bool

	id       atomic.Pointer[uint32] // nil until known
	mu       sync.Mutex             // serialises the first registration
	sizeHint atomic.Int64           // size of the last encoding, to allocate once
}

// NewSerializer prepares encoding with the schema text under subject. The
// text must be a valid Avro schema; it is registered exactly as given.
func NewSerializer(reg Registrar, subject, schemaText string, opts ...SerializerOption) (*Serializer, error) {
	if reg == nil {
		return nil, errors.New("new serializer: registry must not be nil")
	}
	if subject == "" {
		return nil, errors.New("new serializer: subject must not be empty")
	}
	s, err := avro.Parse(schemaText)
	if err != nil {
		return nil, fmt.Errorf("new serializer for subject %q: %w", subject, err)
	}
	ser := &Serializer{reg: reg, subject: subject, text: schemaText, schema: s, register: true}
	for _, o := range opts {
		o(ser)
	}
	return ser, nil
}

// Schema returns the Serializer's schema.
func (s *Serializer) Schema() *avro.Schema { return s.schema }

// Subject returns the Serializer's subject.
func (s *Serializer) Subject() string { return s.subject }

// SchemaID returns the schema's registry id, registering or looking it up
// on the first call.
func (s *Serializer) SchemaID(ctx context.Context) (uint32, error) {
	if id := s.id.Load(); id != nil {
		return *id, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if id := s.id.Load(); id != nil {
		return *id, nil
	}
	var (
		id  uint32
		err error
	)
	if s.register {
		id, err = s.reg.Register(ctx, s.subject, s.text)
	} else {
		id, err = s.reg.Lookup(ctx, s.subject, s.text)
	}
	if err != nil {
		return 0, err
	}
	s.id.Store(&id)
	return id, nil
}

// Encode is EncodeContext with context.Background(); the registry client's
// timeout bounds the first call's registration.
func (s *Serializer) Encode(v any) ([]byte, error) {
	return s.EncodeContext(context.Background(), v)
}

// EncodeContext returns v framed in the Confluent wire format. v is a Go
// value tagged `avro:"..."` matching the schema, or a map[string]any.
// Errors: those of SchemaID, and ErrEncode when v does not fit the schema.
func (s *Serializer) EncodeContext(ctx context.Context, v any) ([]byte, error) {
	id, err := s.SchemaID(ctx)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 0, HeaderSize+int(s.sizeHint.Load()))
	buf = AppendHeader(buf, id)
	buf, err = avro.AppendMarshal(buf, s.schema, v)
	if err != nil {
		return nil, &Error{Op: "encode", SchemaID: id, Subject: s.subject, Kind: ErrEncode, Err: err}
	}
	if n := int64(len(buf) - HeaderSize); n > s.sizeHint.Load() {
		s.sizeHint.Store(n)
	}
	return buf, nil
}

// Deserializer decodes Confluent-framed messages into values shaped by one
// reader schema, whichever compatible writer schema produced them. It
// prepares one resolver per writer id and keeps it; an incompatible writer
// id is remembered as such. It is safe for concurrent use.
type Deserializer struct {
	src    SchemaSource
	reader *avro.Schema

	resolvers sync.Map // uint32 -> *resolution
}

type resolution struct {
	r   *avro.Decoder
	err error // ErrIncompatible, final
}

// NewDeserializer returns a Deserializer reading into reader's shape.
func NewDeserializer(src SchemaSource, reader *avro.Schema) (*Deserializer, error) {
	if src == nil {
		return nil, errors.New("new deserializer: schema source must not be nil")
	}
	if reader == nil {
		return nil, errors.New("new deserializer: reader schema must not be nil")
	}
	return &Deserializer{src: src, reader: reader}, nil
}

// Decode is DecodeContext with context.Background(); the registry client's
// timeout bounds a schema fetch.
func (d *Deserializer) Decode(data []byte, v any) error {
	return d.DecodeContext(context.Background(), data, v)
}

// DecodeContext decodes one framed message into v, a pointer to a value
// tagged `avro:"..."` matching the reader schema (or to a map[string]any).
// Errors: ErrTruncated, ErrWrongMagicByte, ErrUnknownSchemaID,
// ErrRegistryUnavailable (retryable), ErrRegistryRejected, ErrIncompatible,
// ErrMalformedBody. On error v may be partly filled.
func (d *Deserializer) DecodeContext(ctx context.Context, data []byte, v any) error {
	id, body, err := ParseHeader(data)
	if err != nil {
		return err
	}
	r, err := d.resolver(ctx, id)
	if err != nil {
		return err
	}
	if err := r.Decode(body, v); err != nil {
		kind := ErrMalformedBody
		if errors.Is(err, avro.ErrShortData) {
			kind = ErrTruncated
		}
		return &Error{Op: "decode", SchemaID: id, Kind: kind, Err: err}
	}
	return nil
}

func (d *Deserializer) resolver(ctx context.Context, id uint32) (*avro.Decoder, error) {
	if e, ok := d.resolvers.Load(id); ok {
		res := e.(*resolution)
		return res.r, res.err
	}
	writer, err := d.src.SchemaByID(ctx, id)
	if err != nil {
		return nil, err // not remembered: the registry may answer next time
	}
	res := &resolution{}
	res.r, err = avro.NewDecoder(d.reader, writer)
	if err != nil {
		res.err = &Error{Op: "decode", SchemaID: id, Kind: ErrIncompatible, Err: err}
	}
	e, _ := d.resolvers.LoadOrStore(id, res)
	res = e.(*resolution)
	return res.r, res.err
}
