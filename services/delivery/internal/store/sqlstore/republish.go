// Re-publishes of view records after the compaction lag, so that a view
// partition that receives nothing after a shielded record still rolls its
// segment and is compacted; see kafkaview.Republishes.

package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/samnav/samnav/pkg/sdk/sqldb"
	"github.com/samnav/samnav/services/delivery/internal/kafkaview"
)

var _ kafkaview.Republishes = (*Store)(nil)

// ScheduleRepublish implements kafkaview.Republishes: one row per key, in
// one transaction. A key already scheduled keeps the earlier written time
// and takes the later due time.
func (s *Store) ScheduleRepublish(ctx context.Context, sub string, keys []string, written, due time.Time) error {
	if len(keys) == 0 {
		return nil
	}
	return sqldb.InTx(ctx, s.db, func(tx *sql.Tx) error {
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO delivery_view_republish (subscription_id, record_key, written_at, due_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (subscription_id, record_key) DO UPDATE SET
				written_at = CASE WHEN excluded.written_at < delivery_view_republish.written_at THEN excluded.written_at ELSE delivery_view_republish.written_at END,
				due_at = CASE WHEN excluded.due_at > delivery_view_republish.due_at THEN excluded.due_at ELSE delivery_view_republish.due_at END`),
				sub, k, written.UnixMilli(), due.UnixMilli()); err != nil {
				return fmt.Errorf("schedule view re-publish of %s: %w", sub, err)
			}
		}
		return nil
	})
}

// DueRepublishes implements kafkaview.Republishes: the re-publishes due
// at now, earliest first, at most limit.
func (s *Store) DueRepublishes(ctx context.Context, now time.Time, limit int) ([]kafkaview.Republish, error) {
	out, err := sqldb.Query(ctx, s.db, func(row sqldb.Scanner) (kafkaview.Republish, error) {
		var r kafkaview.Republish
		var written, due int64
		if err := row.Scan(&r.Subscription, &r.Key, &written, &due); err != nil {
			return r, err
		}
		r.Written, r.Due = time.UnixMilli(written), time.UnixMilli(due)
		return r, nil
	}, s.q(`SELECT subscription_id, record_key, written_at, due_at FROM delivery_view_republish WHERE due_at <= ? ORDER BY due_at, subscription_id, record_key LIMIT ?`),
		now.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("list due view re-publishes: %w", err)
	}
	return out, nil
}

// Republished implements kafkaview.Republishes: it removes r unless it was
// scheduled again (a later due time) since it was listed.
func (s *Store) Republished(ctx context.Context, r kafkaview.Republish) error {
	if _, err := s.db.ExecContext(ctx, s.q(`DELETE FROM delivery_view_republish WHERE subscription_id = ? AND record_key = ? AND due_at = ?`),
		r.Subscription, r.Key, r.Due.UnixMilli()); err != nil {
		return fmt.Errorf("clear view re-publish of %s: %w", r.Subscription, err)
	}
	return nil
}

// ForgetRepublishes implements kafkaview.Republishes.
func (s *Store) ForgetRepublishes(ctx context.Context, sub string) error {
	if _, err := s.db.ExecContext(ctx, s.q(`DELETE FROM delivery_view_republish WHERE subscription_id = ?`), sub); err != nil {
		return fmt.Errorf("forget view re-publishes of %s: %w", sub, err)
	}
	return nil
}
