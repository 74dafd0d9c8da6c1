package schemas

import (
	"errors"
	"fmt"
)

// Error is a failure the API reports to its caller, carrying the Confluent
// Schema Registry error code. The HTTP status is the code's first three
// digits (40401 → 404), or the code itself when it has three digits (409).
type Error struct {
	Code    int
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%d: %s", e.Code, e.Message) }

// Status is the HTTP status for the error.
func (e *Error) Status() int {
	if e.Code >= 10000 {
		return e.Code / 100
	}
	return e.Code
}

// Confluent Schema Registry error codes.
const (
	CodeBadRequest            = 400
	CodeUnauthorized          = 401
	CodeForbidden             = 40301
	CodeIncompatible          = 409
	CodeUnsupportedMediaType  = 415
	CodeSubjectNotFound       = 40401
	CodeVersionNotFound       = 40402
	CodeSchemaNotFound        = 40403
	CodeSubjectSoftDeleted    = 40404
	CodeSubjectNotSoftDeleted = 40405
	CodeVersionSoftDeleted    = 40406
	CodeVersionNotSoftDeleted = 40407
	CodeSubjectConfigNotSet   = 40408
	CodeSubjectModeNotSet     = 40409
	CodeInvalidSchema         = 42201
	CodeInvalidVersion        = 42202
	CodeInvalidCompatibility  = 42203
	CodeInvalidMode           = 42204
	CodeOperationNotPermitted = 42205
	CodeStoreError            = 50001
	CodeOperationTimeout      = 50002
	CodeForwardingError       = 50003
)

func errorf(code int, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

func subjectNotFound(subject string) *Error {
	return errorf(CodeSubjectNotFound, "Subject '%s' not found.", subject)
}

func versionNotFound(version int) *Error {
	return errorf(CodeVersionNotFound, "Version %d not found.", version)
}

func schemaNotFound(id int) *Error {
	return errorf(CodeSchemaNotFound, "Schema %d not found", id)
}

// storeError wraps a backend failure as 50001, keeping the cause for logs.
type storeError struct {
	api   Error
	cause error
}

func (e *storeError) Error() string { return e.cause.Error() }
func (e *storeError) Unwrap() error { return e.cause }

func backend(op string, err error) error {
	var apiErr *Error
	if errors.As(err, &apiErr) {
		return err
	}
	return &storeError{api: Error{Code: CodeStoreError, Message: "Error in the backend data store"}, cause: fmt.Errorf("%s: %w", op, err)}
}

// AsError returns the *Error err carries, and whether it carries one.
func AsError(err error) (*Error, bool) {
	var se *storeError
	if errors.As(err, &se) {
		return &se.api, true
	}
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}
