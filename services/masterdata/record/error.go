package record

import "errors"

// Sentinels the stores and the service wrap in an *apierr.Error (with
// not_found and conflict), so that callers can tell them apart with
// errors.Is while transports answer by the code.
var (
	ErrNotFound = errors.New("record not found")
	ErrConflict = errors.New("record state conflicts with the write")
	// ErrStaleRevision: a write named a revision the record has moved
	// past. Wrapped in a conflict whose "current" extension is the record
	// as it is now; HTTP answers it with 412 (the If-Match is stale).
	ErrStaleRevision = errors.New("stale revision")
)
