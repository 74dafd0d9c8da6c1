// Recording progress: what Kafka acknowledged is recorded, and what every relay has
// passed is pruned, in one transaction fenced by the lease.

package outbox

import (
	"context"
	"fmt"
	"time"
)

// progress records, in one transaction, that every entry up to pos is
// acknowledged, renews the lease and deletes entries every relay has passed;
// only if the lease still names this instance (the fence). ok is false when
// it does not.
func (r *Relay) progress(ctx context.Context, pos int64) (ok bool, err error) {
	tx, err := r.cfg.DB.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("begin progress: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	res, err := tx.ExecContext(ctx, r.q.progress, pos, r.cfg.LeaseTTL.Milliseconds(), r.cfg.Name, r.cfg.Owner)
	if err != nil {
		return false, fmt.Errorf("record progress %d: %w", pos, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("record progress %d: %w", pos, err)
	}
	if n == 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, r.q.prune, pos); err != nil {
		return false, fmt.Errorf("prune outbox up to %d: %w", pos, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("commit progress %d: %w", pos, err)
	}
	return true, nil
}

func (r *Relay) setError(ctx context.Context, msg string) error {
	_, err := r.cfg.DB.ExecContext(ctx, r.q.setError, msg, r.cfg.Name, r.cfg.Owner)
	return err
}

// record records that Kafka acknowledged acked (the leading entries of
// the pending ones), written at start, and advances past them. whole says
// the write succeeded entirely. It stops when the lease was lost; when
// recording fails the entries stay pending and are resent.
func (r *Relay) record(ctx context.Context, l *leadership, acked []entry, start time.Time, whole bool) step {
	last := acked[len(acked)-1].id
	ok, err := r.progress(ctx, last)
	switch {
	case err != nil:
		// Kafka has the entries but recording failed: resend them
		// (duplicates, never loss) and record again.
		r.block(0, "", false, err)
		r.log.Warn("record progress failed; entries will be resent", "position", last, "err", err)
		r.pause(ctx, 1)
		return stepAgain
	case !ok:
		r.log.Warn("lease lost before progress was recorded; stopping publishing", "position", last)
		return stepStop
	}
	l.deadline = start.Add(r.cfg.LeaseTTL)
	r.observe(acked, time.Since(start), whole)
	l.pos, l.pending = last, l.pending[len(acked):]
	r.advanced(l.pos, time.Now())
	return stepNext
}
