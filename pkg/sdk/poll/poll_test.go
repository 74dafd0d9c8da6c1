package poll_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/sdk/poll"
)

// recorder is a testing.TB that records a fatal failure instead of ending
// the test, and ends the calling goroutine as t.Fatal does.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(f string, args ...any) {
	r.failed = fmt.Sprintf(f, args...)
	panic(r)
}

// run calls f with a recorder and returns what it failed with ("" when it
// did not fail).
func run(t *testing.T, f func(tb testing.TB)) string {
	r := &recorder{TB: t}
	func() {
		defer func() {
			if p := recover(); p != nil && p != r {
				panic(p)
			}
		}()
		f(r)
	}()
	return r.failed
}

func TestUntilReturnsOnceCheckHolds(t *testing.T) {
	var n atomic.Int32
	failed := run(t, func(tb testing.TB) {
		poll.Until(poll.Within(t, 10*time.Second), tb, "third look", func() error {
			if n.Add(1) < 3 {
				return errors.New("not yet")
			}
			return nil
		})
	})
	if failed != "" || n.Load() != 3 {
		t.Fatalf("failed %q after %d looks, want no failure after 3", failed, n.Load())
	}
}

func TestUntilFailsWithWhatAndTheLastError(t *testing.T) {
	failed := run(t, func(tb testing.TB) {
		poll.Until(poll.Within(t, 30*time.Millisecond), tb, "the record", func() error { return errors.New("offset 7 missing") })
	})
	for _, want := range []string{"the record: never happened", "offset 7 missing", context.DeadlineExceeded.Error()} {
		if !strings.Contains(failed, want) {
			t.Errorf("failure %q does not contain %q", failed, want)
		}
	}
}

func TestTrue(t *testing.T) {
	var n atomic.Int32
	if failed := run(t, func(tb testing.TB) {
		poll.True(poll.Within(t, 10*time.Second), tb, "n", func() bool { return n.Add(1) == 2 })
	}); failed != "" {
		t.Errorf("a condition that comes to hold: failed %q", failed)
	}
	failed := run(t, func(tb testing.TB) {
		poll.True(poll.Within(t, 20*time.Millisecond), tb, "the lag to reach 0", func() bool { return false })
	})
	if !strings.Contains(failed, "the lag to reach 0: never happened") {
		t.Errorf("a condition that never holds: failed %q", failed)
	}
}

func TestReceive(t *testing.T) {
	ch := make(chan int, 1)
	go func() { ch <- 7 }()
	var got int
	if failed := run(t, func(tb testing.TB) { got = poll.Receive(poll.Within(t, 10*time.Second), tb, "seven", ch) }); failed != "" || got != 7 {
		t.Errorf("Receive = %d, failed %q; want 7", got, failed)
	}
	failed := run(t, func(tb testing.TB) { poll.Receive(poll.Within(t, 20*time.Millisecond), tb, "Serve to return", ch) })
	if !strings.Contains(failed, "Serve to return: never happened") {
		t.Errorf("nothing sent: failed %q", failed)
	}
}
