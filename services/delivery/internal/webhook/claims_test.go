package webhook_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/samnav/samnav/services/delivery/internal/webhook"
)

// claimLog is a Store that records what the dispatcher claims: every
// message it will attempt passes through Claim, so a test that must see
// nothing sent waits for claim rounds instead of sleeping.
type claimLog struct {
	webhook.Store
	mu      sync.Mutex
	rounds  int
	claimed []webhook.Message
	round   chan struct{} // closed and replaced after every round
}

func newClaimLog(t testing.TB) *claimLog {
	return &claimLog{Store: newStore(t), round: make(chan struct{})}
}

func (c *claimLog) Claim(ctx context.Context, now, leaseUntil time.Time, limit int) ([]webhook.Message, error) {
	msgs, err := c.Store.Claim(ctx, now, leaseUntil, limit)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rounds++
	c.claimed = append(c.claimed, msgs...)
	close(c.round)
	c.round = make(chan struct{})
	return msgs, err
}

// afterNextRounds waits until n claim rounds have finished that began
// after it was called (the round in progress then may have read the
// queue before the caller's last change, so it does not count).
func (c *claimLog) afterNextRounds(t testing.TB, n int) {
	t.Helper()
	c.mu.Lock()
	want := c.rounds + n + 1
	c.mu.Unlock()
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		done, next := c.rounds >= want, c.round
		c.mu.Unlock()
		if done {
			return
		}
		select {
		case <-next:
		case <-deadline:
			t.Fatalf("the dispatcher did not claim %d times within 10s", n)
		}
	}
}

// claimedIDs returns the event ids of every message claimed so far.
func (c *claimLog) claimedIDs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	ids := make([]string, len(c.claimed))
	for i, m := range c.claimed {
		ids[i] = m.EventID
	}
	return ids
}
