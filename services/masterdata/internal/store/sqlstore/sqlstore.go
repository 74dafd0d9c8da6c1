// Package sqlstore keeps master records in SQL: SQLite (modernc.org/sqlite,
// pure Go) as the embedded default and PostgreSQL (pgx) in production, with
// one generic schema for every concept: md_records (state as JSON),
// md_natural_keys (unique per concept, attribute and value) and md_changes
// (the history). The SQL is the subset both speak, with $n placeholders;
// where they differ (JSON access, types) the sqldb.Dialect decides.
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/outbox"
	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/pkg/sdk/sqldb"
	"github.com/samnav/samnav/services/masterdata/client"
	"github.com/samnav/samnav/services/masterdata/record"
)

// Outbox appends the event of a committed change to the outbox. It is
// called inside the store's write transaction, so the event commits with
// the record and its change row or not at all. For Republish ch.Kind is
// client.KindResynced and ch.Seq is 0.
type Outbox interface {
	Append(ctx context.Context, tx *sql.Tx, rec *client.Record, ch *client.Change) error
}

// EntryBuilder is an Outbox that can also build a change's outbox entry
// without writing it (event.Builder is one). With such an Outbox the store
// appends the entries of a transaction together, in change order, in
// multi-row inserts just before commit (on PostgreSQL that keeps the
// outbox's advisory lock for the shortest time), and Republish builds its
// entries on several goroutines. Entry must be safe for concurrent use.
type EntryBuilder interface {
	Outbox
	Entry(ctx context.Context, rec *client.Record, ch *client.Change) (outbox.Entry, error)
}

// Store is a record.Store on a *sql.DB. It also implements
// record.Transactor: InTx runs several writes in one transaction.
type Store struct {
	db      *sql.DB
	dialect sqldb.Dialect
	model   *model.Model
	outbox  Outbox
	entries EntryBuilder // outbox as an EntryBuilder, or nil
	now     func() time.Time
	lock    sqldb.WriteLock
	// stmts prepares statements once, on SQLite only, where
	// modernc.org/sqlite would otherwise parse every statement on every
	// call.
	stmts *sqldb.Stmts
	// tx is set on the view InTx hands out: every method runs in it.
	tx *txState
}

var (
	_ record.Store      = (*Store)(nil)
	_ record.Transactor = (*Store)(nil)
)

// txState is one write transaction: its statements and the outbox entries
// it will append just before commit.
type txState struct {
	run     *sqldb.Runner
	pending []outbox.Entry
}

// New returns a store on db, which must have been migrated (Migrate).
// outbox receives every change's event inside its transaction.
func New(db *sql.DB, d sqldb.Dialect, m *model.Model, ob Outbox) (*Store, error) {
	if err := d.Valid(); err != nil {
		return nil, fmt.Errorf("new store: %w", err)
	}
	if m == nil || ob == nil {
		return nil, errors.New("new store: model and outbox are required")
	}
	s := &Store{db: db, dialect: d, model: m, outbox: ob, now: time.Now, lock: sqldb.NewWriteLock(d), stmts: sqldb.NewStmts(db, d == sqldb.SQLite)}
	s.entries, _ = ob.(EntryBuilder)
	return s, nil
}

// readRow runs a single-row read in the view's transaction, or on the
// pool outside one.
func (s *Store) readRow(ctx context.Context, q string, args ...any) *sql.Row {
	if s.tx != nil {
		return s.tx.run.QueryRowContext(ctx, q, args...)
	}
	return s.stmts.In(nil).QueryRowContext(ctx, q, args...)
}

// read runs a query in the view's transaction, or on the pool outside one,
// and reads its rows with scan (sqldb.Query).
func read[T any](ctx context.Context, s *Store, scan func(sqldb.Scanner) (T, error), q string, args ...any) ([]T, error) {
	var on sqldb.Querier = s.db
	if s.tx != nil {
		on = s.tx.run.Tx()
	}
	return sqldb.Query(ctx, on, scan, q, args...)
}

// write runs fn in a transaction of its own, or in the view's transaction
// when s is the view InTx handed out (then InTx commits).
func (s *Store) write(ctx context.Context, fn func(t *txState) error) error {
	if s.tx != nil {
		return fn(s.tx)
	}
	return s.inTx(ctx, fn)
}

func (s *Store) inTx(ctx context.Context, fn func(t *txState) error) error {
	defer s.lock.Lock()()
	err := sqldb.InTx(ctx, s.db, func(tx *sql.Tx) error {
		t := &txState{run: s.stmts.In(tx)}
		if err := fn(t); err != nil {
			return err
		}
		if len(t.pending) > 0 {
			if err := outbox.Append(ctx, tx, s.dialect, t.pending...); err != nil {
				return fmt.Errorf("append to outbox: %w", err)
			}
		}
		return nil
	})
	if txErr := (*sqldb.TxError)(nil); errors.As(err, &txErr) {
		return unavailable(txErr.Op+" transaction", txErr.Err)
	}
	return err
}

// InTx implements record.Transactor: fn's writes through st commit together
// after fn returns nil, with their outbox entries in the order of the
// writes, or not at all. Reads through st see fn's earlier writes. st must
// not be used after fn returns. On SQLite other writers wait until the
// transaction ends.
func (s *Store) InTx(ctx context.Context, fn func(st record.Store) error) error {
	if s.tx != nil {
		return fn(s)
	}
	return s.inTx(ctx, func(t *txState) error {
		view := *s
		view.tx = t
		return fn(&view)
	})
}

func unavailable(what string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &apierr.Error{Code: apierr.CodeUnavailable, Message: what, Err: err}
	}
	return &apierr.Error{Code: apierr.CodeInternal, Message: what, Err: err}
}

func notFound(concept, id string) error {
	return &apierr.Error{Code: apierr.CodeNotFound, Message: fmt.Sprintf("%s %s does not exist", concept, id), Err: record.ErrNotFound}
}

// Create implements record.Store.
func (s *Store) Create(ctx context.Context, rec *client.Record, ch *client.Change) error {
	state, err := json.Marshal(rec.State)
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	return s.write(ctx, func(t *txState) error {
		// ON CONFLICT DO NOTHING checks the id and inserts in one statement.
		n, err := sqldb.Affected(t.run.ExecContext(ctx, `INSERT INTO md_records (concept, id, revision, state, ended_at, end_reason, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
			rec.Concept, rec.ID, rec.Revision, string(state), nullTime(rec.EndedAt), rec.EndReason, rec.CreatedAt.UTC(), rec.UpdatedAt.UTC()))
		if err != nil {
			return unavailable("insert record", err)
		}
		if n == 0 {
			return &apierr.Error{Code: apierr.CodeConflict, Message: fmt.Sprintf("%s %s exists already", rec.Concept, rec.ID), Err: record.ErrConflict}
		}
		if err := s.putNaturalKeys(ctx, t, rec, false); err != nil {
			return err
		}
		return s.appendChange(ctx, t, rec, ch, string(state))
	})
}

// Update implements record.Store.
func (s *Store) Update(ctx context.Context, concept, id string, fn func(*client.Record, *client.Change) (*client.Record, error)) (*client.Record, error) {
	var out *client.Record
	err := s.write(ctx, func(t *txState) error {
		q := `SELECT concept, id, revision, state, ended_at, end_reason, created_at, updated_at FROM md_records WHERE concept = $1 AND id = $2`
		if s.dialect == sqldb.Postgres {
			q += ` FOR UPDATE`
		}
		cur, err := scanRecord(t.run.QueryRowContext(ctx, q, concept, id))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound(concept, id)
		}
		if err != nil {
			return unavailable("read record", err)
		}
		ch := &client.Change{Concept: concept, RecordID: id}
		next, err := fn(cur.Clone(), ch)
		if err != nil {
			return err
		}
		next.Concept, next.ID = concept, id
		next.Revision = cur.Revision + 1
		next.CreatedAt = cur.CreatedAt
		var state any
		if next.State != nil {
			b, err := json.Marshal(next.State)
			if err != nil {
				return fmt.Errorf("encode state: %w", err)
			}
			state = string(b)
		}
		if _, err := t.run.ExecContext(ctx, `UPDATE md_records SET revision = $1, state = $2, ended_at = $3, end_reason = $4, updated_at = $5 WHERE concept = $6 AND id = $7`,
			next.Revision, state, nullTime(next.EndedAt), next.EndReason, next.UpdatedAt.UTC(), concept, id); err != nil {
			return unavailable("update record", err)
		}
		if err := s.putNaturalKeys(ctx, t, next, true); err != nil {
			return err
		}
		if ch.Kind == client.KindErased {
			// Erasure removes the personal data from the history too: who
			// changed what and why stays, the states do not.
			if _, err := t.run.ExecContext(ctx, `UPDATE md_changes SET state = NULL WHERE concept = $1 AND record_id = $2`, concept, id); err != nil {
				return unavailable("erase history", err)
			}
		}
		if err := s.appendChange(ctx, t, next, ch, state); err != nil {
			return err
		}
		out = next
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// putNaturalKeys makes the natural-key rows of rec match its state.
func (s *Store) putNaturalKeys(ctx context.Context, t *txState, rec *client.Record, replace bool) error {
	c := s.model.Concept(rec.Concept)
	if c == nil {
		return apierr.Errorf(apierr.CodeNotFound, "concept %q is not in the model", rec.Concept)
	}
	if replace {
		if _, err := t.run.ExecContext(ctx, `DELETE FROM md_natural_keys WHERE concept = $1 AND id = $2`, rec.Concept, rec.ID); err != nil {
			return unavailable("delete natural keys", err)
		}
	}
	for _, a := range c.NaturalKeys() {
		v, ok := rec.State[a.Name]
		if !ok || v == nil {
			continue
		}
		value := fmt.Sprint(v)
		// The insert is the uniqueness check: on PostgreSQL it waits for a
		// concurrent transaction holding the value and then inserts nothing.
		n, err := sqldb.Affected(t.run.ExecContext(ctx, `INSERT INTO md_natural_keys (concept, attribute, value, id) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, rec.Concept, a.Name, value, rec.ID))
		if err != nil {
			if isUniqueViolation(err) {
				return &apierr.Error{Code: apierr.CodeConflict, Err: record.ErrConflict,
					Message: fmt.Sprintf("%s is a natural key and another %s holds that value already", a.Name, rec.Concept),
					Fields:  []apierr.FieldError{{Field: a.Name, Rule: "unique", Message: "is held by another record"}}}
			}
			return unavailable("insert natural key", err)
		}
		if n > 0 {
			continue
		}
		var holder string
		err = t.run.QueryRowContext(ctx, `SELECT id FROM md_natural_keys WHERE concept = $1 AND attribute = $2 AND value = $3`, rec.Concept, a.Name, value).Scan(&holder)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return unavailable("check natural key", err)
		}
		return &apierr.Error{Code: apierr.CodeConflict, Err: record.ErrConflict,
			Message: fmt.Sprintf("%s is a natural key and %s %s holds that value already", a.Name, rec.Concept, holder),
			Fields:  []apierr.FieldError{{Field: a.Name, Rule: "unique", Message: "is held by another record"}}}
	}
	return nil
}

func isUniqueViolation(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "SQLSTATE 23505") || strings.Contains(msg, "duplicate key value")
}

// appendChange writes ch's history row and hands its event to the outbox.
// state is rec.State as stored (a JSON string, or nil after erasure).
func (s *Store) appendChange(ctx context.Context, t *txState, rec *client.Record, ch *client.Change, state any) error {
	ch.Concept, ch.RecordID, ch.Revision, ch.State = rec.Concept, rec.ID, rec.Revision, rec.State
	err := t.run.QueryRowContext(ctx, `INSERT INTO md_changes (concept, record_id, revision, kind, at, actor_subject, actor_credential, actor_system, reason, event_id, trace_parent, state)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING seq`,
		ch.Concept, ch.RecordID, ch.Revision, string(ch.Kind), ch.At.UTC(), ch.Actor.Subject, ch.Actor.CredentialID, ch.Actor.System, ch.Reason, ch.EventID, ch.TraceParent, state).Scan(&ch.Seq)
	if err != nil {
		return unavailable("insert change", err)
	}
	if s.entries != nil {
		e, err := s.entries.Entry(ctx, rec, ch)
		if err != nil {
			return fmt.Errorf("append to outbox: %w", err)
		}
		t.pending = append(t.pending, e)
		return nil
	}
	if err := s.outbox.Append(ctx, t.run.Tx(), rec, ch); err != nil {
		return fmt.Errorf("append to outbox: %w", err)
	}
	return nil
}
