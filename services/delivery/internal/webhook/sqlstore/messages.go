// The message queue: enqueueing, claiming due messages under a lease, finishing attempts,
// and reading messages and their attempts back.

package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/pkg/sdk/sqldb"
	"github.com/samnav/samnav/services/delivery/internal/webhook"
)

const messageColumns = `id, subscription_id, event_id, record_key, event_type, body, trace, created_at, state, attempts, step, next_attempt_at, manual, last_error, lease_token, body_key_id`

// scanMessage reads a row of messageColumns, its body still as stored
// under the returned key id (see openBody).
func scanMessage(sc sqldb.Scanner) (webhook.Message, string, error) {
	var m webhook.Message
	var state, keyID string
	var created, next int64
	var manual int
	if err := sc.Scan(&m.ID, &m.SubscriptionID, &m.EventID, &m.Key, &m.Type, &m.Body, &m.Trace, &created, &state, &m.Attempts, &m.Step, &next, &manual, &m.LastError, &m.LeaseToken, &keyID); err != nil {
		return webhook.Message{}, "", err
	}
	m.State = webhook.MessageState(state)
	m.CreatedAt, m.NextAttemptAt = fromNS(created), fromNS(next)
	m.Manual = manual != 0
	return m, keyID, nil
}

// readMessage reads a row of messageColumns with its body opened.
func (s *Store) readMessage(ctx context.Context, sc sqldb.Scanner) (webhook.Message, error) {
	m, keyID, err := scanMessage(sc)
	if err != nil {
		return webhook.Message{}, err
	}
	if err := s.openBody(ctx, &m, keyID); err != nil {
		return webhook.Message{}, err
	}
	return m, nil
}

// Enqueue implements webhook.Store.
func (s *Store) Enqueue(ctx context.Context, m webhook.Message) (webhook.Message, bool, error) {
	var out webhook.Message
	created := false
	body, err := s.sealBody(ctx, m)
	if err != nil {
		return webhook.Message{}, false, err
	}
	err = s.write(ctx, func(tx runner) error {
		got, err := s.readMessage(ctx, tx.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM wh_messages WHERE subscription_id = $1 AND event_id = $2`, m.SubscriptionID, m.EventID))
		if err == nil {
			out = got
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return unavailable("find message", err)
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM wh_endpoints WHERE subscription_id = $1`, m.SubscriptionID).Scan(&n); err != nil {
			return unavailable("check endpoint", err)
		}
		if n == 0 {
			return notFoundEndpoint(m.SubscriptionID)
		}
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO wh_messages (subscription_id, event_id, record_key, event_type, body, trace, created_at, state, next_attempt_at, body_key_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9) RETURNING id`,
			m.SubscriptionID, m.EventID, m.Key, m.Type, body.body, m.Trace, ns(m.CreatedAt), ns(m.NextAttemptAt), body.keyID).Scan(&id); err != nil {
			return unavailable("insert message", err)
		}
		out = m
		out.Projected = false
		out.ID, out.State, out.Attempts, out.Step, out.Manual, out.LeaseToken, out.LastError = id, webhook.MessagePending, 0, 0, false, "", ""
		created = true
		return nil
	})
	if err != nil {
		return webhook.Message{}, false, err
	}
	return out, created, nil
}

// EnqueueBatch implements webhook.Store. It checks every endpoint first,
// then inserts the messages in their order; ON CONFLICT skips an event
// already queued for its endpoint, whether before or earlier in the batch.
func (s *Store) EnqueueBatch(ctx context.Context, ms []webhook.Message) (int, error) {
	if len(ms) == 0 {
		return 0, nil
	}
	stored := 0
	bodies, err := s.sealBodies(ctx, ms)
	if err != nil {
		return 0, err
	}
	err = s.write(ctx, func(tx runner) error {
		checked := map[string]bool{}
		for _, m := range ms {
			if checked[m.SubscriptionID] {
				continue
			}
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM wh_endpoints WHERE subscription_id = $1`, m.SubscriptionID).Scan(&n); err != nil {
				return unavailable("check endpoint", err)
			}
			if n == 0 {
				return notFoundEndpoint(m.SubscriptionID)
			}
			checked[m.SubscriptionID] = true
		}
		for i, m := range ms {
			n, err := sqldb.Affected(tx.ExecContext(ctx, `INSERT INTO wh_messages (subscription_id, event_id, record_key, event_type, body, trace, created_at, state, next_attempt_at, body_key_id)
				VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9) ON CONFLICT (subscription_id, event_id) DO NOTHING`,
				m.SubscriptionID, m.EventID, m.Key, m.Type, bodies[i].body, m.Trace, ns(m.CreatedAt), ns(m.NextAttemptAt), bodies[i].keyID))
			if err != nil {
				return unavailable("insert message", err)
			}
			stored += int(n)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return stored, nil
}

// Claim implements webhook.Store.
func (s *Store) Claim(ctx context.Context, now, leaseUntil time.Time, limit int) ([]webhook.Message, error) {
	var tok [12]byte
	_, _ = rand.Read(tok[:])
	token := hex.EncodeToString(tok[:])
	var out []webhook.Message
	err := s.writeLax(ctx, func(tx runner) error {
		ids, err := dueIDs(ctx, tx, now, limit)
		if err != nil {
			return err
		}
		for _, id := range ids {
			// The lease is taken only if nobody took it since the select
			// (on PostgreSQL another process may have).
			m, err := s.readMessage(ctx, tx.QueryRowContext(ctx, `UPDATE wh_messages SET lease_token = $1, lease_until = $2
				WHERE id = $3 AND state = 'pending' AND lease_until <= $4 RETURNING `+messageColumns,
				token, ns(leaseUntil), id, ns(now)))
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				// A body that does not open is an error too: the lease
				// is not taken (the transaction is not committed).
				return unavailable("lease message", err)
			}
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// dueIDs selects the ids of up to limit claimable messages (see Claim).
func dueIDs(ctx context.Context, tx runner, now time.Time, limit int) ([]int64, error) {
	ids, err := sqldb.Query(ctx, tx, scanInt64, `SELECT m.id FROM wh_messages m JOIN wh_endpoints e ON e.subscription_id = m.subscription_id
			WHERE m.state = 'pending' AND e.status = 'enabled' AND m.next_attempt_at <= $1 AND m.lease_until <= $1
			  AND NOT EXISTS (SELECT 1 FROM wh_messages p WHERE p.subscription_id = m.subscription_id AND p.record_key = m.record_key
			                  AND p.state = 'pending' AND p.id < m.id)
			  AND NOT EXISTS (SELECT 1 FROM wh_messages q WHERE q.subscription_id = m.subscription_id AND q.record_key = m.record_key
			                  AND q.state = 'pending' AND q.lease_until > $1 AND q.id <> m.id)
			ORDER BY m.next_attempt_at, m.id LIMIT $2`, ns(now), limit)
	if err != nil {
		return nil, unavailable("select due messages", err)
	}
	return ids, nil
}

func scanInt64(row sqldb.Scanner) (int64, error) {
	var n int64
	err := row.Scan(&n)
	return n, err
}

// Finish implements webhook.Store.
func (s *Store) Finish(ctx context.Context, r webhook.Result) (webhook.Endpoint, error) {
	var ep webhook.Endpoint
	err := s.writeLax(ctx, func(tx runner) error {
		if err := finish(ctx, tx, r); err != nil {
			return err
		}
		var err error
		ep, err = s.getEndpoint(ctx, tx, r.Message.SubscriptionID)
		return err
	})
	return ep, err
}

// FinishBatch implements webhook.Store.
func (s *Store) FinishBatch(ctx context.Context, rs []webhook.Result) (map[string]webhook.Endpoint, error) {
	eps := map[string]webhook.Endpoint{}
	if len(rs) == 0 {
		return eps, nil
	}
	err := s.writeLax(ctx, func(tx runner) error {
		for _, r := range rs {
			if err := finish(ctx, tx, r); err != nil {
				return err
			}
			eps[r.Message.SubscriptionID] = webhook.Endpoint{}
		}
		for id := range eps {
			ep, err := s.getEndpoint(ctx, tx, id)
			if err != nil {
				return err
			}
			eps[id] = ep
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return eps, nil
}

// finish records r's attempt and, if its lease holds, applies its outcome.
func finish(ctx context.Context, tx runner, r webhook.Result) error {
	if r.Outcome == webhook.OutcomeNotSent {
		if _, err := tx.ExecContext(ctx, `UPDATE wh_messages SET lease_token = '', lease_until = 0 WHERE id = $1 AND lease_token = $2 AND state = 'pending'`,
			r.Message.ID, r.Message.LeaseToken); err != nil {
			return unavailable("release message", err)
		}
		return nil
	}
	if r.Outcome == webhook.OutcomeWithheld {
		// Nothing was sent: no attempt is logged and the endpoint's
		// health is not touched; the message says why it was not sent.
		if _, err := tx.ExecContext(ctx, `UPDATE wh_messages SET state = 'withheld', manual = 0, last_error = $3, lease_token = '', lease_until = 0 WHERE id = $1 AND lease_token = $2 AND state = 'pending'`,
			r.Message.ID, r.Message.LeaseToken, r.Attempt.Error); err != nil {
			return unavailable("withhold message", err)
		}
		return nil
	}
	a := r.Attempt
	if _, err := tx.ExecContext(ctx, `INSERT INTO wh_attempts (message_id, subscription_id, event_id, n, trigger_kind, at, status_code, latency_ns, error, response)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		r.Message.ID, r.Message.SubscriptionID, r.Message.EventID, a.N, a.Trigger, ns(a.At), a.StatusCode, int64(a.Latency), a.Error, a.Response); err != nil {
		return unavailable("insert attempt", err)
	}
	var res sql.Result
	var err error
	const where = ` WHERE id = $1 AND lease_token = $2 AND state = 'pending'`
	switch r.Outcome {
	case webhook.OutcomeDelivered:
		res, err = tx.ExecContext(ctx, `UPDATE wh_messages SET state = 'delivered', attempts = attempts + 1, manual = 0, last_error = '', lease_token = '', lease_until = 0`+where,
			r.Message.ID, r.Message.LeaseToken)
	case webhook.OutcomeRetry:
		res, err = tx.ExecContext(ctx, `UPDATE wh_messages SET attempts = attempts + 1, step = $3, next_attempt_at = $4, manual = 0, last_error = $5, lease_token = '', lease_until = 0`+where,
			r.Message.ID, r.Message.LeaseToken, r.NextStep, ns(r.NextAttemptAt), a.Error)
	case webhook.OutcomeGiveUp:
		res, err = tx.ExecContext(ctx, `UPDATE wh_messages SET state = 'failed', attempts = attempts + 1, manual = 0, last_error = $3, lease_token = '', lease_until = 0`+where,
			r.Message.ID, r.Message.LeaseToken, a.Error)
	case webhook.OutcomeGone:
		res, err = tx.ExecContext(ctx, `UPDATE wh_messages SET attempts = attempts + 1, next_attempt_at = $3, manual = 0, last_error = $4, lease_token = '', lease_until = 0`+where,
			r.Message.ID, r.Message.LeaseToken, ns(a.At), a.Error)
	default:
		return fmt.Errorf("finish message %d: unknown outcome %d", r.Message.ID, r.Outcome)
	}
	n, err := sqldb.Affected(res, err)
	if err != nil {
		return unavailable("update message", err)
	}
	if n == 0 {
		return nil // a stale lease: the attempt is logged, nothing else changes
	}
	if r.Outcome == webhook.OutcomeDelivered {
		_, err = tx.ExecContext(ctx, `UPDATE wh_endpoints SET failing_since = 0, consecutive_failures = 0
			WHERE subscription_id = $1 AND (failing_since <> 0 OR consecutive_failures <> 0)`, r.Message.SubscriptionID)
	} else {
		_, err = tx.ExecContext(ctx, `UPDATE wh_endpoints SET consecutive_failures = consecutive_failures + 1,
			failing_since = CASE WHEN failing_since = 0 THEN $1 ELSE failing_since END WHERE subscription_id = $2`, ns(a.At), r.Message.SubscriptionID)
	}
	if err != nil {
		return unavailable("update endpoint health", err)
	}
	if r.Outcome == webhook.OutcomeGone {
		if _, err := tx.ExecContext(ctx, `UPDATE wh_endpoints SET status = 'disabled', disabled_reason = $1, disabled_at = $2, updated_at = $2 WHERE subscription_id = $3`,
			webhook.ReasonGone, ns(a.At), r.Message.SubscriptionID); err != nil {
			return unavailable("disable endpoint", err)
		}
	}
	return nil
}

// NextDue implements webhook.Store.
func (s *Store) NextDue(ctx context.Context) (time.Time, bool, error) {
	var t sql.NullInt64
	err := s.stmts.In(nil).QueryRowContext(ctx, `SELECT MIN(CASE WHEN m.lease_until > m.next_attempt_at THEN m.lease_until ELSE m.next_attempt_at END)
		FROM wh_messages m JOIN wh_endpoints e ON e.subscription_id = m.subscription_id
		WHERE m.state = 'pending' AND e.status = 'enabled'
		  AND NOT EXISTS (SELECT 1 FROM wh_messages p WHERE p.subscription_id = m.subscription_id AND p.record_key = m.record_key
		                  AND p.state = 'pending' AND p.id < m.id)`).Scan(&t)
	if err != nil {
		return time.Time{}, false, unavailable("find next due message", err)
	}
	if !t.Valid {
		return time.Time{}, false, nil
	}
	return fromNS(t.Int64), true, nil
}

func notFoundMessage(sub string, id int64) error {
	return apierr.Errorf(apierr.CodeNotFound, "subscription %s has no webhook message %d", sub, id).Wrap(webhook.ErrNotFound)
}

// GetMessage implements webhook.Store.
func (s *Store) GetMessage(ctx context.Context, sub string, id int64) (webhook.Message, error) {
	m, err := s.readMessage(ctx, s.stmts.In(nil).QueryRowContext(ctx, `SELECT `+messageColumns+` FROM wh_messages WHERE subscription_id = $1 AND id = $2`, sub, id))
	if errors.Is(err, sql.ErrNoRows) {
		return webhook.Message{}, notFoundMessage(sub, id)
	}
	if err != nil {
		return webhook.Message{}, unavailable("get message", err)
	}
	return m, nil
}

// Newest implements webhook.Store.
func (s *Store) Newest(ctx context.Context, sub, key string) (webhook.Message, error) {
	m, err := s.readMessage(ctx, s.stmts.In(nil).QueryRowContext(ctx, `SELECT `+messageColumns+` FROM wh_messages WHERE subscription_id = $1 AND record_key = $2 ORDER BY id DESC LIMIT 1`, sub, key))
	if errors.Is(err, sql.ErrNoRows) {
		return webhook.Message{}, apierr.Errorf(apierr.CodeNotFound, "subscription %s has no webhook message of that record", sub).Wrap(webhook.ErrNotFound)
	}
	if err != nil {
		return webhook.Message{}, unavailable("get newest message", err)
	}
	return m, nil
}

// Redeliver implements webhook.Store.
func (s *Store) Redeliver(ctx context.Context, sub string, id int64, now time.Time) error {
	return s.write(ctx, func(tx runner) error {
		res, err := tx.ExecContext(ctx, `UPDATE wh_messages SET state = 'pending', step = 0, next_attempt_at = $1, manual = 1 WHERE subscription_id = $2 AND id = $3`, ns(now), sub, id)
		if err != nil {
			return unavailable("redeliver message", err)
		}
		return mustAffect(res, func() error { return notFoundMessage(sub, id) })
	})
}

// ListAttempts implements webhook.Store.
func (s *Store) ListAttempts(ctx context.Context, sub string, f webhook.AttemptFilter) ([]webhook.Attempt, error) {
	q := `SELECT id, message_id, subscription_id, event_id, n, trigger_kind, at, status_code, latency_ns, error, response FROM wh_attempts WHERE subscription_id = $1`
	args := []any{sub}
	if f.MessageID != 0 {
		args = append(args, f.MessageID)
		q += fmt.Sprintf(` AND message_id = $%d`, len(args))
	}
	if f.BeforeID != 0 {
		args = append(args, f.BeforeID)
		q += fmt.Sprintf(` AND id < $%d`, len(args))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	args = append(args, limit)
	q += fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args))
	out, err := sqldb.Query(ctx, s.stmts.In(nil), func(row sqldb.Scanner) (webhook.Attempt, error) {
		var a webhook.Attempt
		var at, lat int64
		err := row.Scan(&a.ID, &a.MessageID, &a.SubscriptionID, &a.EventID, &a.N, &a.Trigger, &at, &a.StatusCode, &lat, &a.Error, &a.Response)
		a.At, a.Latency = fromNS(at), time.Duration(lat)
		return a, err
	}, q, args...)
	if err != nil {
		return nil, unavailable("list attempts", err)
	}
	return out, nil
}
