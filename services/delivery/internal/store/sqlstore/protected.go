// Protected identities of referenced records, kept from their state topic,
// so that delivery withholds what locates them in the records referring to
// them (an employee of a protected person); see pipeline.ProtectedStore.

package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/samnav/samnav/pkg/sdk/sqldb"
)

// Protected reports whether record id of concept was last seen as a
// protected identity.
func (s *Store) Protected(ctx context.Context, concept, id string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.q(`SELECT 1 FROM delivery_protected_records WHERE concept = ? AND id = ?`), concept, id).Scan(&n)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("read protection of %s %s: %w", concept, id, err)
	}
	return true, nil
}

// SetProtected records whether record id of concept is a protected
// identity. When it becomes one (it was not recorded as protected), the
// same transaction marks concept pending (Pending), so that the records
// referring to it are delivered again even if the process stops right
// after; became reports that.
func (s *Store) SetProtected(ctx context.Context, concept, id string, protected bool) (became bool, err error) {
	err = sqldb.InTx(ctx, s.db, func(tx *sql.Tx) error {
		if !protected {
			if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM delivery_protected_records WHERE concept = ? AND id = ?`), concept, id); err != nil {
				return fmt.Errorf("clear protection of %s %s: %w", concept, id, err)
			}
			return nil
		}
		var n int
		err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM delivery_protected_records WHERE concept = ? AND id = ?`), concept, id).Scan(&n)
		if err != nil {
			return fmt.Errorf("read protection of %s %s: %w", concept, id, err)
		}
		if n > 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO delivery_protected_records (concept, id) VALUES (?, ?)`), concept, id); err != nil {
			return fmt.Errorf("record protection of %s %s: %w", concept, id, err)
		}
		res, err := tx.ExecContext(ctx, s.q(`UPDATE delivery_protected_pending SET seq = seq + 1 WHERE concept = ?`), concept)
		if err != nil {
			return fmt.Errorf("mark %s pending: %w", concept, err)
		}
		if k, err := res.RowsAffected(); err != nil || k == 0 {
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO delivery_protected_pending (concept, seq) VALUES (?, 1)`), concept); err != nil {
				return fmt.Errorf("mark %s pending: %w", concept, err)
			}
		}
		became = true
		return nil
	})
	return became, err
}

// Pending returns, by concept, the mark of every concept that had a record
// become protected since Redelivered was last called for it.
func (s *Store) Pending(ctx context.Context) (map[string]int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT concept, seq FROM delivery_protected_pending`)
	if err != nil {
		return nil, fmt.Errorf("list pending protections: %w", err)
	}
	defer func() { _ = rows.Close() }()
	out := map[string]int64{}
	for rows.Next() {
		var c string
		var seq int64
		if err := rows.Scan(&c, &seq); err != nil {
			return nil, fmt.Errorf("list pending protections: %w", err)
		}
		out[c] = seq
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list pending protections: %w", err)
	}
	return out, nil
}

// Redelivered clears concept's pending mark if it is still mark: a record
// that became protected since Pending keeps it pending.
func (s *Store) Redelivered(ctx context.Context, concept string, mark int64) error {
	if _, err := s.db.ExecContext(ctx, s.q(`DELETE FROM delivery_protected_pending WHERE concept = ? AND seq = ?`), concept, mark); err != nil {
		return fmt.Errorf("clear pending protection of %s: %w", concept, err)
	}
	return nil
}
