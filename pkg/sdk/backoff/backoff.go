// Package backoff is the one retry backoff of the hub's Kafka and outbox
// clients: capped exponential with jitter, and a sleep that ends with its
// context, so that every retry loop waits the same way.
package backoff

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Delay is the wait before retrying after attempt failed attempts: about
// minD after the first, doubling with each further one, never beyond maxD.
// Half of it is fixed and half random, which spreads the retries of many
// clients after a broker restart without ever retrying at once. It is 0
// when minD is not positive.
func Delay(attempt int, minD, maxD time.Duration) time.Duration {
	d := minD
	for i := 1; i < attempt && d < maxD; i++ {
		d *= 2
	}
	d = min(d, maxD)
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1) //nolint:gosec // G404: jitter for retry backoff, not security
}

// Sleep waits d or until ctx is done; it reports whether it waited fully
// (a wait of d <= 0 always does).
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// CheckBounds is the rule every retrying client's configuration keeps for
// its backoff bounds: neither is negative (0 means the client's default),
// and minD does not exceed maxD when maxD is set.
func CheckBounds(minD, maxD time.Duration) error {
	switch {
	case minD < 0 || maxD < 0:
		return errors.New("min backoff, max backoff: must not be negative")
	case maxD > 0 && minD > maxD:
		return fmt.Errorf("min backoff %s: must not exceed max backoff %s", minD, maxD)
	}
	return nil
}
