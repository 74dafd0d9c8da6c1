package webhook

import (
	"errors"
	"fmt"
	"net/http"
)

// Code is one of Samnav's closed set of error codes.
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

// Error is what this package returns for anything a caller can act on. For
// CodeInvalid, Field and Rule name what was wrong (for a refused URL the
// Rule is the address rule it broke, such as "loopback").
type Error struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	Rule    string `json:"rule,omitempty"`
	Err     error  `json:"-"`
}

func (e *Error) Error() string {
	msg := e.Message
	if e.Field != "" && e.Rule != "" {
		msg = fmt.Sprintf("%s (field %s, rule %s)", msg, e.Field, e.Rule)
	}
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, msg, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, msg)
}

func (e *Error) Unwrap() error { return e.Err }

// Sentinels, matched with errors.Is through an *Error's Err.
var (
	ErrNotFound = errors.New("not found")
	// ErrDisallowedAddress is wrapped by every refusal of the address
	// policy, at registration and at dial time.
	ErrDisallowedAddress = errors.New("address not allowed")
)

// ErrorCode returns the code of the *Error in err's chain, or CodeInternal.
func ErrorCode(err error) Code {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return CodeInternal
}

// HTTPStatus maps a code to its HTTP status; the one place that does.
func HTTPStatus(c Code) int {
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

func invalidf(field, rule, format string, args ...any) *Error {
	return &Error{Code: CodeInvalid, Field: field, Rule: rule, Message: fmt.Sprintf(format, args...)}
}
