package subscription

import "errors"

// Sentinels stores return; the service wraps them in an *apierr.Error
// (not_found, conflict), so callers tell them apart with errors.Is while
// transports answer by the code.
var (
	ErrNotFound = errors.New("subscription not found")
	ErrConflict = errors.New("subscription changed concurrently")
)
