package backoff_test

import (
	"context"
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/sdk/backoff"
)

func TestDelayDoublesWithinBounds(t *testing.T) {
	const minD, maxD = 100 * time.Millisecond, time.Second
	for _, tc := range []struct {
		attempt int
		base    time.Duration // the delay before jitter: Delay is in [base/2, base]
	}{
		{1, 100 * time.Millisecond},
		{2, 200 * time.Millisecond},
		{3, 400 * time.Millisecond},
		{4, 800 * time.Millisecond},
		{5, time.Second},
		{1000, time.Second},
	} {
		for range 50 {
			if d := backoff.Delay(tc.attempt, minD, maxD); d < tc.base/2 || d > tc.base {
				t.Fatalf("Delay(%d) = %s, want within [%s, %s]", tc.attempt, d, tc.base/2, tc.base)
			}
		}
	}
	if d := backoff.Delay(3, 0, maxD); d != 0 {
		t.Errorf("Delay without a minimum = %s, want 0", d)
	}
}

func TestSleepEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	if !backoff.Sleep(ctx, time.Millisecond) {
		t.Error("Sleep of 1ms under a live context did not wait fully")
	}
	cancel()
	if backoff.Sleep(ctx, time.Hour) {
		t.Error("Sleep under an ended context reported a full wait")
	}
	if !backoff.Sleep(ctx, 0) {
		t.Error("Sleep of 0 reported an interrupted wait")
	}
}

func TestCheckBounds(t *testing.T) {
	for _, tc := range []struct {
		minD, maxD time.Duration
		want       string // "" for no error
	}{
		{0, 0, ""},
		{time.Second, 0, ""}, // an unset max takes the client's default
		{time.Second, time.Second, ""},
		{-time.Second, 0, "min backoff, max backoff: must not be negative"},
		{0, -time.Second, "min backoff, max backoff: must not be negative"},
		{2 * time.Second, time.Second, "min backoff 2s: must not exceed max backoff 1s"},
	} {
		got := ""
		if err := backoff.CheckBounds(tc.minD, tc.maxD); err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("CheckBounds(%s, %s) = %q, want %q", tc.minD, tc.maxD, got, tc.want)
		}
	}
}
