package record

import (
	"errors"
	"fmt"

	"github.com/samnav/samnav/contracts/model"
)

// Code is one of the closed set of error codes every Samnav API speaks;
// transports map each to a status once.
type Code string

const (
	CodeInvalid      Code = "invalid"
	CodeNotFound     Code = "not_found"
	CodeConflict     Code = "conflict"
	CodeUnauthorized Code = "unauthorized"
	CodeForbidden    Code = "forbidden"
	CodeUnavailable  Code = "unavailable"
	CodeInternal     Code = "internal"
)

// Error is a failure the caller can act on: a code, a message for people,
// the field problems of an invalid write, and for a conflict the current
// record.
type Error struct {
	Code    Code               `json:"code"`
	Message string             `json:"message"`
	Fields  []model.FieldError `json:"fields,omitempty"`
	Current *Record            `json:"current,omitempty"`
	Err     error              `json:"-"`
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err: the code of the *Error in its chain,
// or CodeInternal.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// Sentinels the stores return, wrapped in *Error.
var (
	ErrNotFound = errors.New("record not found")
	ErrConflict = errors.New("conflict")
)
