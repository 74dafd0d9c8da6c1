// Leasing and fencing: one relay of a Name publishes at a time. It takes the lease,
// renews it while it publishes, and releases it when it stops.

package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// acquire takes or renews the lease. deadline is when this instance must
// consider the lease lost: TTL after a moment before the statement was sent,
// which is no later than the expiry the database recorded.
func (r *Relay) acquire(ctx context.Context) (pos int64, deadline time.Time, held bool, err error) {
	start := time.Now()
	err = r.cfg.DB.QueryRowContext(ctx, r.q.acquire, r.cfg.Owner, r.cfg.LeaseTTL.Milliseconds(), r.cfg.Name).Scan(&pos)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, time.Time{}, false, nil
	}
	if err != nil {
		return 0, time.Time{}, false, fmt.Errorf("take lease %q: %w", r.cfg.Name, err)
	}
	return pos, start.Add(r.cfg.LeaseTTL), true, nil
}

// resign closes l's writer, then releases the lease. Close waits for
// requests still in flight: only then may another instance take over, so
// the lease is released after it.
func (r *Relay) resign(ctx context.Context, l *leadership) {
	if err := l.w.Close(); err != nil {
		r.log.Debug("close kafka writer", "err", err)
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := r.cfg.DB.ExecContext(rctx, r.q.release, r.cfg.Name, r.cfg.Owner); err != nil {
		r.log.Warn("release lease failed; it expires by itself", "err", err)
	} else {
		r.log.Info("lease released", "position", l.pos)
	}
}

// keepLease renews the lease when less than two thirds of its TTL is
// left. It stops when the lease is lost or expired while renewal failed.
func (r *Relay) keepLease(ctx context.Context, l *leadership) step {
	renewBefore := r.cfg.LeaseTTL * 2 / 3 // renew when less than this is left
	if time.Until(l.deadline) >= renewBefore {
		return stepNext
	}
	p, d, held, err := r.acquire(ctx)
	switch {
	case ctx.Err() != nil:
		return stepStop
	case err != nil:
		r.log.Warn("renew lease failed", "err", err)
		if time.Now().After(l.deadline) {
			r.log.Warn("lease expired while renewal failed; stopping publishing")
			return stepStop
		}
		r.pause(ctx, 1)
		return stepAgain
	case !held:
		r.log.Warn("lease lost to another instance; stopping publishing")
		return stepStop
	}
	if p != l.pos {
		// Only an operator editing the row moves it under us.
		r.log.Warn("relay position changed outside this relay", "was", l.pos, "now", p)
		l.pos, l.pending = p, nil
		r.setLeader(true, l.pos)
	}
	l.deadline = d
	return stepNext
}
