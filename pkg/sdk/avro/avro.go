// Package avro is Samnav's one door to an Avro implementation. Everything in
// Samnav that parses schemas, checks compatibility, or encodes and decodes
// Avro goes through here, so the implementation (today hamba/avro/v2, whose
// README says it is no longer maintained) can be swapped in one place. The
// tests in this package pin the behaviour Samnav relies on, so a swap that
// changes it fails them.
package avro

import (
	"errors"
	"fmt"

	hamba "github.com/hamba/avro/v2"
)

// Schema is a parsed Avro schema. It is immutable and safe for concurrent
// use.
type Schema struct {
	s         hamba.Schema
	canonical string
	fp        [32]byte
}

// ErrInvalidSchema is wrapped by every error Parse returns.
var ErrInvalidSchema = errors.New("invalid avro schema")

// Parse parses an Avro schema from its JSON text. Each call parses with a
// fresh named-type cache: hamba's package-level cache would otherwise let one
// schema's named types leak into the parsing of another (two versions of
// the same record, for instance).
//
// Parse never panics: hamba v2.31.0 panics on some malformed schemas (an
// empty union with a default, found by fuzzing), and Parse reports those as
// ErrInvalidSchema.
func Parse(text string) (s *Schema, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("%w: %v", ErrInvalidSchema, r)
		}
	}()
	parsed, err := hamba.ParseWithCache(text, "", &hamba.SchemaCache{})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidSchema, err)
	}
	return &Schema{s: parsed, canonical: parsed.String(), fp: parsed.Fingerprint()}, nil
}

// MustParse is Parse for schemas known at compile time; it panics on error.
func MustParse(text string) *Schema {
	s, err := Parse(text)
	if err != nil {
		panic(err)
	}
	return s
}

// Canonical returns the schema's Parsing Canonical Form (Avro spec): the
// form two schemas share when they are the same for reading and writing,
// without docs, defaults, aliases or custom properties.
func (s *Schema) Canonical() string { return s.canonical }

// Fingerprint returns the SHA-256 of the Parsing Canonical Form.
func (s *Schema) Fingerprint() [32]byte { return s.fp }

// Type returns the schema's top-level type name ("record", "string", ...).
func (s *Schema) Type() string { return string(s.s.Type()) }

// FullName returns the full name of a named schema (record, enum, fixed), or
// "" for other schemas.
func (s *Schema) FullName() string {
	if n, ok := s.s.(hamba.NamedSchema); ok {
		return n.FullName()
	}
	return ""
}

// Compatible reports whether data written with writer can be read with
// reader, following the Avro specification's schema resolution rules. It
// returns nil when it can, and an error explaining the first incompatibility
// when it cannot.
//
// A fresh checker is used for every call: hamba's checker caches verdicts by
// a fingerprint that ignores field defaults, so a reused checker would give
// a stale verdict when two schemas differ only in a default.
func Compatible(reader, writer *Schema) error {
	if err := hamba.NewSchemaCompatibility().Compatible(reader.s, writer.s); err != nil {
		return fmt.Errorf("reader %s cannot read writer %s: %w", describe(reader), describe(writer), err)
	}
	return nil
}

func describe(s *Schema) string {
	if n := s.FullName(); n != "" {
		return n
	}
	return s.Type()
}

// Marshal encodes v with schema s in Avro binary encoding. v is a Go value
// tagged with `avro:"field"` tags, or a map[string]any.
func Marshal(s *Schema, v any) ([]byte, error) {
	b, err := hamba.Marshal(s.s, v)
	if err != nil {
		return nil, fmt.Errorf("avro encode: %w", err)
	}
	return b, nil
}

// Unmarshal decodes data, written with schema s, into v.
func Unmarshal(s *Schema, data []byte, v any) error {
	if err := hamba.Unmarshal(s.s, data, v); err != nil {
		return fmt.Errorf("avro decode: %w", err)
	}
	return nil
}

// Resolver decodes data written with one schema into values shaped by
// another: the Avro schema-resolution rules (fields added with defaults,
// fields removed, int promoted to long, ...). It is safe for concurrent use.
type Resolver struct {
	resolved hamba.Schema
}

// NewResolver prepares decoding of writer-schema data into reader-shaped
// values. It fails when reader cannot read writer.
func NewResolver(reader, writer *Schema) (*Resolver, error) {
	if reader.fp == writer.fp {
		return &Resolver{resolved: reader.s}, nil
	}
	resolved, err := hamba.NewSchemaCompatibility().Resolve(reader.s, writer.s)
	if err != nil {
		return nil, fmt.Errorf("resolve reader %s against writer %s: %w", describe(reader), describe(writer), err)
	}
	return &Resolver{resolved: resolved}, nil
}

// Unmarshal decodes data written with the resolver's writer schema into v.
func (r *Resolver) Unmarshal(data []byte, v any) error {
	if err := hamba.Unmarshal(r.resolved, data, v); err != nil {
		return fmt.Errorf("avro decode: %w", err)
	}
	return nil
}
