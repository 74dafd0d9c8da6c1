package feed

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/samnav/samnav/pkg/sdk/sqldb"
)

// stored is one row's state, by the position (log) or key (current state)
// that locates it.
type stored struct {
	pos   int64
	state string
}

func scanStored(row sqldb.Scanner) (stored, error) {
	var s stored
	err := row.Scan(&s.pos, &s.state)
	return s, err
}

// withhold sets e.Withheld to null in the state of every entry of e.Key
// that sub's log holds before pos, and in the key's current state: the
// record became (or still is) a protected identity, and the subscription
// may no longer receive those fields from any cursor or snapshot. It runs
// in the appending transaction, so no reader sees the shielded entry while
// an earlier one still shows the value. The log rows are found through
// feed_log_key (migration 2); only rows that still hold a value are
// written.
func withhold(ctx context.Context, tx *sql.Tx, e Entry, pos int64) error {
	if len(e.Withheld) == 0 {
		return nil
	}
	rows, err := sqldb.Query(ctx, tx, scanStored, `SELECT position, state FROM feed_log
		WHERE subscription_id = $1 AND record_key = $2 AND position < $3 AND state IS NOT NULL`, e.SubscriptionID, e.Key, pos)
	if err != nil {
		return fmt.Errorf("read earlier entries of %s: %w", e.Key, err)
	}
	for _, r := range rows {
		state, changed, err := nullFields(r.state, e.Withheld)
		if err != nil {
			return fmt.Errorf("entry %d: %w", r.pos, err)
		}
		if !changed {
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE feed_log SET state = $1 WHERE subscription_id = $2 AND position = $3`,
			state, e.SubscriptionID, r.pos); err != nil {
			return fmt.Errorf("withhold fields of entry %d: %w", r.pos, err)
		}
	}
	// The current state is the entry just written unless it kept a newer
	// revision stored earlier; either way it must not show the value.
	cur, err := sqldb.Query(ctx, tx, scanStored, `SELECT position, state FROM feed_state
		WHERE subscription_id = $1 AND record_key = $2 AND state IS NOT NULL`, e.SubscriptionID, e.Key)
	if err != nil {
		return fmt.Errorf("read current state of %s: %w", e.Key, err)
	}
	for _, r := range cur {
		state, changed, err := nullFields(r.state, e.Withheld)
		if err != nil {
			return fmt.Errorf("current state: %w", err)
		}
		if !changed {
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE feed_state SET state = $1 WHERE subscription_id = $2 AND record_key = $3`,
			state, e.SubscriptionID, e.Key); err != nil {
			return fmt.Errorf("withhold fields of the current state: %w", err)
		}
	}
	return nil
}

// nullFields returns state (a JSON object) with every field of fields that
// it holds set to null, and whether any held a value. Fields it lacks stay
// absent: an entry stored before a field was approved never held it.
func nullFields(state string, fields []string) (string, bool, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(state), &obj); err != nil {
		return "", false, fmt.Errorf("decode state: %w", err)
	}
	changed := false
	for _, f := range fields {
		if v, ok := obj[f]; ok && string(v) != "null" {
			obj[f] = json.RawMessage("null")
			changed = true
		}
	}
	if !changed {
		return state, false, nil
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return "", false, fmt.Errorf("encode state: %w", err)
	}
	return string(b), true, nil
}
