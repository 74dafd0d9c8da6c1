// Package poll waits, in tests, for what a test can only see by looking
// again (a record arriving, a counter moving, a goroutine returning) until
// a deadline, and fails the test naming what never happened. It is the one
// home of that loop for every module of the workspace: tests wait on an
// observable event with a deadline and never sleep a fixed time and then
// assert.
package poll

import (
	"context"
	"testing"
	"time"
)

// The interval between two looks starts short, so a condition that holds
// soon is seen soon, and doubles up to maxInterval, so a check that is
// expensive (a read of a Kafka topic, an HTTP call) does not spin.
const (
	minInterval = 5 * time.Millisecond
	maxInterval = 100 * time.Millisecond
)

// Until calls check until it returns nil, and fails t with what and
// check's last error once ctx ends first. check runs on the caller's
// goroutine, so it may itself fail t (t.Fatal) for an error that makes
// waiting pointless.
func Until(ctx context.Context, t testing.TB, what string, check func() error) {
	t.Helper()
	interval := minInterval
	timer := time.NewTimer(interval)
	defer timer.Stop()
	for {
		err := check()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: never happened (%v; %v)", what, err, context.Cause(ctx))
		case <-timer.C:
		}
		interval = min(2*interval, maxInterval)
		timer.Reset(interval)
	}
}

// errNotYet is the account True gives of a condition that does not hold.
type errNotYet struct{}

func (errNotYet) Error() string { return "condition not met" }

// True calls cond until it holds, and fails t naming what never happened
// once ctx ends first.
func True(ctx context.Context, t testing.TB, what string, cond func() bool) {
	t.Helper()
	Until(ctx, t, what, func() error {
		if cond() {
			return nil
		}
		return errNotYet{}
	})
}

// Receive returns the next value from ch, and fails t naming what never
// arrived once ctx ends first (a closed ch gives its zero value at once,
// as a receive does).
func Receive[T any](ctx context.Context, t testing.TB, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-ctx.Done():
		t.Fatalf("%s: never happened (%v)", what, context.Cause(ctx))
		var zero T
		return zero
	}
}

// Within returns a context that ends after d, or when the test ends,
// for the deadline of Until, True and Receive.
func Within(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}
