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
	"sync"
	"time"

	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/outbox"
	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/pkg/sdk/sqldb"
	"github.com/samnav/samnav/services/masterdata/record"
)

// Outbox appends the event of a committed change to the outbox. It is
// called inside the store's write transaction, so the event commits with
// the record and its change row or not at all. For Republish ch.Kind is
// record.KindResynced and ch.Seq is 0.
type Outbox interface {
	Append(ctx context.Context, tx *sql.Tx, rec *record.Record, ch *record.Change) error
}

// EntryBuilder is an Outbox that can also build a change's outbox entry
// without writing it (event.Builder is one). With such an Outbox the store
// appends the entries of a transaction together, in change order, in
// multi-row inserts just before commit (on PostgreSQL that keeps the
// outbox's advisory lock for the shortest time), and Republish builds its
// entries on several goroutines. Entry must be safe for concurrent use.
type EntryBuilder interface {
	Outbox
	Entry(ctx context.Context, rec *record.Record, ch *record.Change) (outbox.Entry, error)
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
	// writeMu serialises writers on SQLite, which allows one writer at a
	// time; waiting here is cheaper and fairer than busy retries.
	writeMu *sync.Mutex
	stmts   *stmtCache
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
	tx      *sql.Tx
	stmts   map[string]*sql.Stmt
	pending []outbox.Entry
}

// stmtCache keeps one prepared statement per query text for the life of
// the Store. It prepares only on SQLite, where modernc.org/sqlite would
// otherwise parse every statement on every call; pgx caches prepared
// statements per connection by itself.
type stmtCache struct {
	mu sync.Mutex
	m  map[string]*sql.Stmt
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
	s := &Store{db: db, dialect: d, model: m, outbox: ob, now: time.Now, writeMu: &sync.Mutex{}, stmts: &stmtCache{m: map[string]*sql.Stmt{}}}
	s.entries, _ = ob.(EntryBuilder)
	return s, nil
}

// prepared returns the Store-wide prepared statement for q, or nil where
// statements are not prepared (PostgreSQL) or preparing failed (the caller
// then runs q unprepared, so a prepare error never fails a write).
func (s *Store) prepared(ctx context.Context, q string) *sql.Stmt {
	if s.dialect != sqldb.SQLite {
		return nil
	}
	c := s.stmts
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[q]; ok {
		return st
	}
	st, err := s.db.PrepareContext(ctx, q) //nolint:sqlclosecheck // kept in the Store's stmtCache for the Store's life, released with the DB
	if err != nil {
		return nil
	}
	c.m[q] = st
	return st
}

// stmt returns q as a statement of t, prepared once per Store and
// connection, or nil to run q unprepared.
func (s *Store) stmt(ctx context.Context, t *txState, q string) *sql.Stmt {
	if st, ok := t.stmts[q]; ok {
		return st
	}
	base := s.prepared(ctx, q)
	if base == nil {
		return nil
	}
	st := t.tx.StmtContext(ctx, base)
	if t.stmts == nil {
		t.stmts = map[string]*sql.Stmt{}
	}
	t.stmts[q] = st
	return st
}

func (s *Store) exec(ctx context.Context, t *txState, q string, args ...any) (sql.Result, error) {
	if st := s.stmt(ctx, t, q); st != nil { //nolint:sqlclosecheck // a statement of the transaction t, closed when t ends
		return st.ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, q, args...)
}

func (s *Store) queryRow(ctx context.Context, t *txState, q string, args ...any) *sql.Row {
	if st := s.stmt(ctx, t, q); st != nil { //nolint:sqlclosecheck // a statement of the transaction t, closed when t ends
		return st.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, q, args...)
}

// readRow runs a single-row read in the view's transaction, or on the
// pool outside one.
func (s *Store) readRow(ctx context.Context, q string, args ...any) *sql.Row {
	if s.tx != nil {
		return s.queryRow(ctx, s.tx, q, args...)
	}
	if st := s.prepared(ctx, q); st != nil { //nolint:sqlclosecheck // the Store's cached statement (stmtCache), not ours to close
		return st.QueryRowContext(ctx, args...)
	}
	return s.db.QueryRowContext(ctx, q, args...)
}

// read runs a query in the view's transaction, or on the pool outside one.
func (s *Store) read(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if s.tx != nil {
		return s.tx.tx.QueryContext(ctx, q, args...)
	}
	return s.db.QueryContext(ctx, q, args...)
}

// write runs fn in a transaction of its own, or in the view's transaction
// when s is the view InTx handed out (then InTx commits).
func (s *Store) write(ctx context.Context, fn func(t *txState) error) error {
	if s.tx != nil {
		return fn(s.tx)
	}
	return s.inTx(ctx, fn)
}

func (s *Store) inTx(ctx context.Context, fn func(t *txState) error) (err error) {
	if s.dialect == sqldb.SQLite {
		s.writeMu.Lock()
		defer s.writeMu.Unlock()
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return unavailable("begin transaction", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	t := &txState{tx: tx}
	if err := fn(t); err != nil {
		return err
	}
	if len(t.pending) > 0 {
		if err := outbox.Append(ctx, tx, s.dialect, t.pending...); err != nil {
			return fmt.Errorf("append to outbox: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return unavailable("commit transaction", err)
	}
	return nil
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
func (s *Store) Create(ctx context.Context, rec *record.Record, ch *record.Change) error {
	state, err := json.Marshal(rec.State)
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	return s.write(ctx, func(t *txState) error {
		// ON CONFLICT DO NOTHING checks the id and inserts in one statement.
		res, err := s.exec(ctx, t, `INSERT INTO md_records (concept, id, revision, state, ended_at, end_reason, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
			rec.Concept, rec.ID, rec.Revision, string(state), nullTime(rec.EndedAt), rec.EndReason, rec.CreatedAt.UTC(), rec.UpdatedAt.UTC())
		if err != nil {
			return unavailable("insert record", err)
		}
		n, err := res.RowsAffected()
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
func (s *Store) Update(ctx context.Context, concept, id string, fn func(*record.Record, *record.Change) (*record.Record, error)) (*record.Record, error) {
	var out *record.Record
	err := s.write(ctx, func(t *txState) error {
		q := `SELECT concept, id, revision, state, ended_at, end_reason, created_at, updated_at FROM md_records WHERE concept = $1 AND id = $2`
		if s.dialect == sqldb.Postgres {
			q += ` FOR UPDATE`
		}
		cur, err := scanRecord(s.queryRow(ctx, t, q, concept, id))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound(concept, id)
		}
		if err != nil {
			return unavailable("read record", err)
		}
		ch := &record.Change{Concept: concept, RecordID: id}
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
		if _, err := s.exec(ctx, t, `UPDATE md_records SET revision = $1, state = $2, ended_at = $3, end_reason = $4, updated_at = $5 WHERE concept = $6 AND id = $7`,
			next.Revision, state, nullTime(next.EndedAt), next.EndReason, next.UpdatedAt.UTC(), concept, id); err != nil {
			return unavailable("update record", err)
		}
		if err := s.putNaturalKeys(ctx, t, next, true); err != nil {
			return err
		}
		if ch.Kind == record.KindErased {
			// Erasure removes the personal data from the history too: who
			// changed what and why stays, the states do not.
			if _, err := s.exec(ctx, t, `UPDATE md_changes SET state = NULL WHERE concept = $1 AND record_id = $2`, concept, id); err != nil {
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
func (s *Store) putNaturalKeys(ctx context.Context, t *txState, rec *record.Record, replace bool) error {
	c := s.model.Concept(rec.Concept)
	if c == nil {
		return apierr.Errorf(apierr.CodeNotFound, "concept %q is not in the model", rec.Concept)
	}
	if replace {
		if _, err := s.exec(ctx, t, `DELETE FROM md_natural_keys WHERE concept = $1 AND id = $2`, rec.Concept, rec.ID); err != nil {
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
		res, err := s.exec(ctx, t, `INSERT INTO md_natural_keys (concept, attribute, value, id) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, rec.Concept, a.Name, value, rec.ID)
		if err != nil {
			if isUniqueViolation(err) {
				return &apierr.Error{Code: apierr.CodeConflict, Err: record.ErrConflict,
					Message: fmt.Sprintf("%s is a natural key and another %s holds that value already", a.Name, rec.Concept),
					Fields:  []apierr.FieldError{{Field: a.Name, Rule: "unique", Message: "is held by another record"}}}
			}
			return unavailable("insert natural key", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return unavailable("insert natural key", err)
		}
		if n > 0 {
			continue
		}
		var holder string
		err = s.queryRow(ctx, t, `SELECT id FROM md_natural_keys WHERE concept = $1 AND attribute = $2 AND value = $3`, rec.Concept, a.Name, value).Scan(&holder)
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
func (s *Store) appendChange(ctx context.Context, t *txState, rec *record.Record, ch *record.Change, state any) error {
	ch.Concept, ch.RecordID, ch.Revision, ch.State = rec.Concept, rec.ID, rec.Revision, rec.State
	err := s.queryRow(ctx, t, `INSERT INTO md_changes (concept, record_id, revision, kind, at, actor_subject, actor_credential, actor_system, reason, event_id, trace_parent, state)
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
	if err := s.outbox.Append(ctx, t.tx, rec, ch); err != nil {
		return fmt.Errorf("append to outbox: %w", err)
	}
	return nil
}
