// Package apierr is Samnav's one error model: a closed set of codes, one
// field-error shape, one mapping to HTTP (RFC 9457 problem+json, see
// Write) and one to Kafka (Retryable). Services, their transports, the
// console and the CLI all speak it; no other code enum exists.
//
// An *Error carries a Code, a Message for people (never personal data: it
// goes on the wire), the field problems of an invalid request, an
// optional HTTP status for the few answers the code alone does not decide
// (410, 412, 413, 415), and the wrapped cause, which is logged but never
// sent. errors.Is and errors.As see through it to the cause.
package apierr

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// Code is one of the closed set of error codes every Samnav API speaks.
type Code string

// The codes. Each has one HTTP status (Status) and one Kafka decision
// (Retryable).
const (
	CodeInvalid      Code = "invalid"      // 400: the request is wrong; retrying it unchanged fails again
	CodeNotFound     Code = "not_found"    // 404
	CodeConflict     Code = "conflict"     // 409: the state changed or forbids it
	CodeUnauthorized Code = "unauthorized" // 401: no or a refused credential
	CodeForbidden    Code = "forbidden"    // 403: the caller may not
	CodeUnavailable  Code = "unavailable"  // 503: a dependency is down or slow; retry later
	CodeInternal     Code = "internal"     // 500: a bug or an unexpected failure
)

// Codes lists every code, in a stable order.
func Codes() []Code {
	return []Code{CodeInvalid, CodeNotFound, CodeConflict, CodeUnauthorized, CodeForbidden, CodeUnavailable, CodeInternal}
}

// Valid reports whether c is one of the codes.
func (c Code) Valid() bool {
	switch c {
	case CodeInvalid, CodeNotFound, CodeConflict, CodeUnauthorized, CodeForbidden, CodeUnavailable, CodeInternal:
		return true
	}
	return false
}

// Status is the HTTP status of c: the one place codes become statuses.
// An unknown code is 500.
func (c Code) Status() int {
	switch c {
	case CodeInvalid:
		return http.StatusBadRequest
	case CodeNotFound:
		return http.StatusNotFound
	case CodeConflict:
		return http.StatusConflict
	case CodeUnauthorized:
		return http.StatusUnauthorized
	case CodeForbidden:
		return http.StatusForbidden
	case CodeUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// Title is the short, fixed text for c (RFC 9457 "title").
func (c Code) Title() string {
	switch c {
	case CodeInvalid:
		return "Invalid request"
	case CodeNotFound:
		return "Not found"
	case CodeConflict:
		return "Conflict"
	case CodeUnauthorized:
		return "Unauthorized"
	case CodeForbidden:
		return "Forbidden"
	case CodeUnavailable:
		return "Unavailable"
	}
	return "Internal error"
}

// FieldError names one field of a request, the rule it breaks (a stable
// word such as "required", "format", "maxLength", which clients translate)
// and a message in English. Field is a path: "a.b[0].c", or a header or
// query parameter name.
type FieldError struct {
	Field   string `json:"field"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

// Error is a failure a caller can act on. Build it with the constructors
// (Invalid, NotFound, ...); it is used as a value and never mutated once
// returned, so the With methods return copies.
type Error struct {
	Code Code
	// Message is sent to the caller as the problem's detail: it names
	// ids and rules, never personal data.
	Message string
	// Fields are the field problems of an invalid request.
	Fields []FieldError
	// Status overrides Code's HTTP status where HTTP says more than the
	// code: 412 (a stale If-Match, conflict), 413 (body too large,
	// invalid), 415 (wrong content type, invalid), 410 (gone for good,
	// not_found). 0 means Code.Status().
	Status int
	// Extensions are further members of the problem body (RFC 9457 §3.2),
	// e.g. the current state of a record a stale write was refused for.
	Extensions map[string]any
	// TraceID is the trace id a server answered with; set by Parse only
	// (servers take it from the request's span).
	TraceID string
	// Err is the cause: logged, never sent.
	Err error
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = string(e.Code)
	}
	for i, f := range e.Fields {
		if i == 3 {
			msg += fmt.Sprintf(" (and %d more)", len(e.Fields)-i)
			break
		}
		msg += fmt.Sprintf(" (field %s, rule %s)", f.Field, f.Rule)
	}
	if e.Err != nil && e.Err.Error() != e.Message {
		return msg + ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// HTTPStatus is the status e is answered with.
func (e *Error) HTTPStatus() int {
	if e.Status != 0 {
		return e.Status
	}
	return e.Code.Status()
}

// Wrap returns a copy of e with cause err.
func (e *Error) Wrap(err error) *Error {
	c := *e
	c.Err = err
	return &c
}

// WithStatus returns a copy of e answered with HTTP status (see Status).
func (e *Error) WithStatus(status int) *Error {
	c := *e
	c.Status = status
	return &c
}

// WithExtension returns a copy of e whose problem body carries the
// member name with value v (encoded as JSON). The standard members
// (type, title, status, detail, code, fields, traceId) cannot be replaced.
func (e *Error) WithExtension(name string, v any) *Error {
	c := *e
	c.Extensions = make(map[string]any, len(e.Extensions)+1)
	for k, x := range e.Extensions {
		c.Extensions[k] = x
	}
	c.Extensions[name] = v
	return &c
}

// New returns an *Error with code, message and field problems.
func New(code Code, msg string, fields ...FieldError) *Error {
	return &Error{Code: code, Message: msg, Fields: fields}
}

// Errorf returns an *Error with code and a formatted message. With a %w
// verb the formatted error is the cause too, so errors.Is finds the
// wrapped error (its text is part of the message: use %w only for errors
// whose text may be shown).
func Errorf(code Code, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	e := &Error{Code: code, Message: err.Error()}
	if errors.Unwrap(err) != nil {
		e.Err = err
	}
	return e
}

// Invalid is a refused request: msg says what is wrong, fields name each
// field and rule.
func Invalid(msg string, fields ...FieldError) *Error { return New(CodeInvalid, msg, fields...) }

// InvalidField is an invalid request with one field problem; its message
// is "field message".
func InvalidField(field, rule, msg string) *Error {
	return Invalid(field+" "+msg, FieldError{Field: field, Rule: rule, Message: msg})
}

// NotFound is a request for something that does not exist.
func NotFound(msg string) *Error { return New(CodeNotFound, msg) }

// Conflict is a request the current state refuses.
func Conflict(msg string) *Error { return New(CodeConflict, msg) }

// Unauthorized is a request without an accepted credential.
func Unauthorized(msg string) *Error { return New(CodeUnauthorized, msg) }

// Forbidden is a request the caller may not make.
func Forbidden(msg string) *Error { return New(CodeForbidden, msg) }

// Unavailable is a failure of a dependency that retrying later may fix.
func Unavailable(msg string) *Error { return New(CodeUnavailable, msg) }

// Internal is an unexpected failure.
func Internal(msg string) *Error { return New(CodeInternal, msg) }

// PreconditionFailed is a stale If-Match: conflict, answered with 412.
func PreconditionFailed(msg string) *Error {
	return Conflict(msg).WithStatus(http.StatusPreconditionFailed)
}

// As returns the *Error in err's chain, or one that classifies err:
// a context that ended (the caller left, or a deadline passed while a
// dependency was asked) is unavailable, anything else internal, with a
// generic message and err as the cause. nil for a nil err.
func As(err error) *Error {
	if err == nil {
		return nil
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Code: CodeUnavailable, Message: "a dependency did not answer in time; retry later", Err: err}
	case errors.Is(err, context.Canceled):
		return &Error{Code: CodeUnavailable, Message: "the request ended before it was answered", Err: err}
	}
	return &Error{Code: CodeInternal, Message: "internal error", Err: err}
}

// CodeOf returns the code of err: that of the *Error in its chain;
// unavailable for an ended context; internal for anything else. "" for
// nil.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	return As(err).Code
}

// Is reports whether err's code is code.
func Is(err error, code Code) bool { return err != nil && CodeOf(err) == code }

// Retryable is the Kafka mapping: whether a consumer should retry the
// record (unavailable, internal: the failure is not the record's) rather
// than dead-letter or skip it (every other code: the record itself, or the
// permission to apply it, is wrong, and retrying cannot change that).
func Retryable(err error) bool {
	switch CodeOf(err) {
	case CodeUnavailable, CodeInternal:
		return true
	}
	return false
}
