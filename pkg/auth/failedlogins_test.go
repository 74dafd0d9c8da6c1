package auth_test

import (
	"slices"
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/auth"
)

// Each key counts its own failures; an answer waits for the longest delay
// any of its keys earned.
func TestFailedLoginsCountPerKey(t *testing.T) {
	f := auth.NewFailedLogins(auth.LoginLimits{Free: 2, Base: time.Second, Max: 4 * time.Second})
	now := time.Date(2026, 12, 8, 3, 0, 0, 0, time.UTC)
	var waits []time.Duration
	for range 4 {
		_, d := f.Fail(now, "source 192.0.2.1", "principal a")
		waits = append(waits, d)
		now = now.Add(d)
	}
	if want := []time.Duration{0, 0, time.Second, 2 * time.Second}; !slices.Equal(waits, want) {
		t.Errorf("one source and principal held back by %v, want %v", waits, want)
	}
	counts, d := f.Fail(now, "principal a", "source 192.0.2.2")
	if !slices.Equal(counts, []int{5, 1}) || d != 4*time.Second {
		t.Errorf("the same principal from a new source: counts %v, delay %v; want [5 1], 4s", counts, d)
	}
	if counts, d := f.Fail(now, "source 192.0.2.3"); !slices.Equal(counts, []int{1}) || d != 0 {
		t.Errorf("a new source alone: counts %v, delay %v; want [1], 0", counts, d)
	}
}
