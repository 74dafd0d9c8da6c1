// Package avroserde encodes and decodes Samnav events in the Confluent wire
// format: a zero magic byte, the writer schema's registry id as four
// big-endian bytes, then the Avro binary body. A Serializer registers (or
// looks up) its schema once and stamps every event with the id; a
// Deserializer bound to a reader schema fetches each writer schema once by id
// from the registry and resolves it to the reader's shape, so one consumer
// reads every compatible version of a contract.
//
// Every failure is an *Error whose kind is one of the sentinels below, so
// callers branch with errors.Is and never see a panic, whatever the bytes.
package avroserde

import (
	"errors"
	"fmt"
	"strings"

	"github.com/samnav/samnav/pkg/sdk/apierr"
)

// Kinds of failure. Each error returned by this package matches exactly one
// of them with errors.Is. Each is an *apierr.Error, so that apierr.CodeOf
// and apierr.Retryable classify this package's errors: what is wrong with
// a record's bytes is invalid (skip or dead-letter it), a registry that
// cannot be reached unavailable, and a refusal or a missing schema, which
// need a change of configuration, internal (wait, do not skip).
var (
	// ErrUnknownSchemaID: the registry has no schema with the id in the
	// header (Confluent error code 40403). Not retryable.
	ErrUnknownSchemaID = apierr.Invalid("unknown schema id")
	// ErrNotRegistered: a lookup-only Serializer's schema is not registered
	// under its subject (40401 or 40403 on lookup). Not retryable.
	ErrNotRegistered = apierr.Internal("schema not registered under subject")
	// ErrWrongMagicByte: byte 0 is not the Confluent magic byte 0.
	ErrWrongMagicByte = apierr.Invalid("wrong magic byte")
	// ErrTruncated: fewer than the 5 header bytes, or the body ends before
	// the value does.
	ErrTruncated = apierr.Invalid("truncated message")
	// ErrMalformedBody: the body is not a valid Avro encoding of the writer
	// schema (bad lengths, indexes out of range, trailing bytes, ...).
	ErrMalformedBody = apierr.Invalid("malformed avro body")
	// ErrIncompatible: data written with the writer schema cannot be read
	// with the reader schema, or the registry refused to register a schema
	// as incompatible with its subject (HTTP 409).
	ErrIncompatible = apierr.Invalid("incompatible schemas")
	// ErrRegistryUnavailable: the registry could not be reached or answered
	// 5xx or 429. Retryable: nothing about the message is wrong.
	ErrRegistryUnavailable = apierr.Unavailable("schema registry unavailable")
	// ErrRegistryRejected: the registry refused a request for another reason
	// (unauthorised, invalid schema, unsupported schema type, ...). Not
	// retryable without a change of configuration or schema.
	ErrRegistryRejected = apierr.Internal("schema registry rejected request")
	// ErrEncode: the value cannot be encoded with the Serializer's schema.
	ErrEncode = apierr.Internal("cannot encode value")
)

// Error carries the detail of a failure: what was being done, the schema id
// and subject concerned (zero values when not known), the kind (one of the
// sentinels above) and the underlying cause.
type Error struct {
	Op       string // "decode", "encode", "fetch schema", "register", "lookup", "parse header"
	SchemaID uint32 // 0 when no id is concerned
	Subject  string // "" when no subject is concerned
	Kind     error  // one of the package's sentinels
	Err      error  // the cause, may be nil
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.Subject != "" {
		fmt.Fprintf(&b, " subject %q", e.Subject)
	}
	if e.SchemaID != 0 {
		fmt.Fprintf(&b, " schema %d", e.SchemaID)
	}
	b.WriteString(": ")
	b.WriteString(e.Kind.Error())
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap exposes both the kind and the cause to errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// Retryable reports whether err is worth retrying unchanged: only a
// registry that could not be reached or was overloaded qualifies.
func Retryable(err error) bool { return errors.Is(err, ErrRegistryUnavailable) }

// RegistryError is the registry's own account of a refused request: the
// HTTP status and the Confluent error body.
type RegistryError struct {
	Status  int
	Code    int    // Confluent error_code, e.g. 40403; 0 when the body had none
	Message string // Confluent message
}

func (e *RegistryError) Error() string {
	if e.Code != 0 {
		return fmt.Sprintf("registry answered %d (error_code %d): %s", e.Status, e.Code, e.Message)
	}
	return fmt.Sprintf("registry answered %d: %s", e.Status, e.Message)
}
