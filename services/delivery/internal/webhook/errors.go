package webhook

import (
	"errors"
	"fmt"

	"github.com/samnav/samnav/pkg/sdk/apierr"
)

// Sentinels, matched with errors.Is through an *apierr.Error's cause.
var (
	ErrNotFound = errors.New("not found")
	// ErrDisallowedAddress is wrapped by every refusal of the address
	// policy, at registration and at dial time.
	ErrDisallowedAddress = errors.New("address not allowed")
)

// invalidf is an invalid request naming field and rule (for a refused URL
// the rule is the address rule it broke, such as "loopback").
func invalidf(field, rule, format string, args ...any) *apierr.Error {
	return apierr.Invalid(fmt.Sprintf(format, args...), apierr.FieldError{Field: field, Rule: rule, Message: fmt.Sprintf(format, args...)})
}
