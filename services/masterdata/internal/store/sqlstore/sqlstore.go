// Package sqlstore keeps master records in SQL: SQLite (modernc.org/sqlite,
// pure Go) as the embedded default and PostgreSQL (pgx) in production, with
// one generic schema for every concept: md_records (state as JSON),
// md_natural_keys (unique per concept, attribute and value) and md_changes
// (the history). The SQL is the subset both speak, with $n placeholders;
// where they differ (JSON access, types) the Dialect decides.
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
	"github.com/samnav/samnav/services/masterdata/record"
)

// Dialect is the SQL database behind a Store.
type Dialect int

const (
	SQLite Dialect = iota + 1
	Postgres
)

func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	}
	return fmt.Sprintf("dialect(%d)", int(d))
}

// Outbox appends the event of a committed change to the outbox. It is
// called inside the store's write transaction, so the event commits with
// the record and its change row or not at all. For Republish ch.Kind is
// record.KindResynced and ch.Seq is 0.
type Outbox interface {
	Append(ctx context.Context, tx *sql.Tx, rec *record.Record, ch *record.Change) error
}

// Store is a record.Store on a *sql.DB.
type Store struct {
	db      *sql.DB
	dialect Dialect
	model   *model.Model
	outbox  Outbox
	now     func() time.Time
	// writeMu serialises writers on SQLite, which allows one writer at a
	// time; waiting here is cheaper and fairer than busy retries.
	writeMu sync.Mutex
}

var _ record.Store = (*Store)(nil)

// New returns a store on db, which must have been migrated (Migrate).
// outbox receives every change's event inside its transaction.
func New(db *sql.DB, d Dialect, m *model.Model, outbox Outbox) (*Store, error) {
	if d != SQLite && d != Postgres {
		return nil, fmt.Errorf("new store: unknown dialect %v", d)
	}
	if m == nil || outbox == nil {
		return nil, errors.New("new store: model and outbox are required")
	}
	return &Store{db: db, dialect: d, model: m, outbox: outbox, now: time.Now}, nil
}

// Open opens a database for driver "sqlite" (dsn a file path, or a
// file: URI) or "postgres" (a pgx DSN), with the settings Samnav relies on:
// on SQLite WAL, a busy timeout, foreign keys and immediate transactions.
func Open(driver, dsn string) (*sql.DB, Dialect, error) {
	switch driver {
	case "sqlite":
		if !strings.HasPrefix(dsn, "file:") {
			dsn = "file:" + dsn
		}
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		dsn += sep + "_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_txlock=immediate"
		db, err := sql.Open("sqlite", dsn)
		if err != nil {
			return nil, 0, fmt.Errorf("open sqlite: %w", err)
		}
		return db, SQLite, nil
	case "postgres":
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, 0, fmt.Errorf("open postgres: %w", err)
		}
		return db, Postgres, nil
	}
	return nil, 0, fmt.Errorf("open store: driver %q is not sqlite or postgres", driver)
}

func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
	if s.dialect == SQLite {
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
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return unavailable("commit transaction", err)
	}
	return nil
}

func unavailable(what string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &record.Error{Code: record.CodeUnavailable, Message: what, Err: err}
	}
	return &record.Error{Code: record.CodeInternal, Message: what, Err: err}
}

func notFound(concept, id string) error {
	return &record.Error{Code: record.CodeNotFound, Message: fmt.Sprintf("%s %s does not exist", concept, id), Err: record.ErrNotFound}
}

// Create implements record.Store.
func (s *Store) Create(ctx context.Context, rec *record.Record, ch *record.Change) error {
	state, err := json.Marshal(rec.State)
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM md_records WHERE concept = $1 AND id = $2`, rec.Concept, rec.ID).Scan(&n); err != nil {
			return unavailable("check id", err)
		}
		if n > 0 {
			return &record.Error{Code: record.CodeConflict, Message: fmt.Sprintf("%s %s exists already", rec.Concept, rec.ID), Err: record.ErrConflict}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO md_records (concept, id, revision, state, ended_at, end_reason, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			rec.Concept, rec.ID, rec.Revision, string(state), nullTime(rec.EndedAt), rec.EndReason, rec.CreatedAt.UTC(), rec.UpdatedAt.UTC()); err != nil {
			return unavailable("insert record", err)
		}
		if err := s.putNaturalKeys(ctx, tx, rec, false); err != nil {
			return err
		}
		return s.appendChange(ctx, tx, rec, ch)
	})
}

// Update implements record.Store.
func (s *Store) Update(ctx context.Context, concept, id string, fn func(*record.Record, *record.Change) (*record.Record, error)) (*record.Record, error) {
	var out *record.Record
	err := s.write(ctx, func(tx *sql.Tx) error {
		q := `SELECT concept, id, revision, state, ended_at, end_reason, created_at, updated_at FROM md_records WHERE concept = $1 AND id = $2`
		if s.dialect == Postgres {
			q += ` FOR UPDATE`
		}
		cur, err := scanRecord(tx.QueryRowContext(ctx, q, concept, id))
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
		if _, err := tx.ExecContext(ctx, `UPDATE md_records SET revision = $1, state = $2, ended_at = $3, end_reason = $4, updated_at = $5 WHERE concept = $6 AND id = $7`,
			next.Revision, state, nullTime(next.EndedAt), next.EndReason, next.UpdatedAt.UTC(), concept, id); err != nil {
			return unavailable("update record", err)
		}
		if err := s.putNaturalKeys(ctx, tx, next, true); err != nil {
			return err
		}
		if ch.Kind == record.KindErased {
			// Erasure removes the personal data from the history too: who
			// changed what and why stays, the states do not.
			if _, err := tx.ExecContext(ctx, `UPDATE md_changes SET state = NULL WHERE concept = $1 AND record_id = $2`, concept, id); err != nil {
				return unavailable("erase history", err)
			}
		}
		if err := s.appendChange(ctx, tx, next, ch); err != nil {
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
func (s *Store) putNaturalKeys(ctx context.Context, tx *sql.Tx, rec *record.Record, replace bool) error {
	c := s.model.Concept(rec.Concept)
	if c == nil {
		return record.Errorf(record.CodeNotFound, "concept %q is not in the model", rec.Concept)
	}
	if replace {
		if _, err := tx.ExecContext(ctx, `DELETE FROM md_natural_keys WHERE concept = $1 AND id = $2`, rec.Concept, rec.ID); err != nil {
			return unavailable("delete natural keys", err)
		}
	}
	for _, a := range c.NaturalKeys() {
		v, ok := rec.State[a.Name]
		if !ok || v == nil {
			continue
		}
		value := fmt.Sprint(v)
		var holder string
		err := tx.QueryRowContext(ctx, `SELECT id FROM md_natural_keys WHERE concept = $1 AND attribute = $2 AND value = $3`, rec.Concept, a.Name, value).Scan(&holder)
		switch {
		case err == nil:
			return &record.Error{Code: record.CodeConflict, Err: record.ErrConflict,
				Message: fmt.Sprintf("%s is a natural key and %s %s holds that value already", a.Name, rec.Concept, holder),
				Fields:  []model.FieldError{{Field: a.Name, Rule: "unique", Message: "is held by another record"}}}
		case !errors.Is(err, sql.ErrNoRows):
			return unavailable("check natural key", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO md_natural_keys (concept, attribute, value, id) VALUES ($1, $2, $3, $4)`, rec.Concept, a.Name, value, rec.ID); err != nil {
			if isUniqueViolation(err) {
				// A concurrent transaction took the value between check and insert.
				return &record.Error{Code: record.CodeConflict, Err: record.ErrConflict,
					Message: fmt.Sprintf("%s is a natural key and another %s holds that value already", a.Name, rec.Concept),
					Fields:  []model.FieldError{{Field: a.Name, Rule: "unique", Message: "is held by another record"}}}
			}
			return unavailable("insert natural key", err)
		}
	}
	return nil
}

func isUniqueViolation(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "SQLSTATE 23505") || strings.Contains(msg, "duplicate key value")
}

func (s *Store) appendChange(ctx context.Context, tx *sql.Tx, rec *record.Record, ch *record.Change) error {
	ch.Concept, ch.RecordID, ch.Revision, ch.State = rec.Concept, rec.ID, rec.Revision, rec.State
	var state any
	if rec.State != nil {
		b, err := json.Marshal(rec.State)
		if err != nil {
			return fmt.Errorf("encode state: %w", err)
		}
		state = string(b)
	}
	err := tx.QueryRowContext(ctx, `INSERT INTO md_changes (concept, record_id, revision, kind, at, actor_subject, actor_credential, actor_system, reason, event_id, trace_parent, state)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING seq`,
		ch.Concept, ch.RecordID, ch.Revision, string(ch.Kind), ch.At.UTC(), ch.Actor.Subject, ch.Actor.CredentialID, ch.Actor.System, ch.Reason, ch.EventID, ch.TraceParent, state).Scan(&ch.Seq)
	if err != nil {
		return unavailable("insert change", err)
	}
	if err := s.outbox.Append(ctx, tx, rec, ch); err != nil {
		return fmt.Errorf("append to outbox: %w", err)
	}
	return nil
}

// Get implements record.Store.
func (s *Store) Get(ctx context.Context, concept, id string) (*record.Record, error) {
	rec, err := scanRecord(s.db.QueryRowContext(ctx, `SELECT concept, id, revision, state, ended_at, end_reason, created_at, updated_at FROM md_records WHERE concept = $1 AND id = $2`, concept, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(concept, id)
	}
	if err != nil {
		return nil, unavailable("read record", err)
	}
	return rec, nil
}

// GetByNaturalKey implements record.Store.
func (s *Store) GetByNaturalKey(ctx context.Context, concept, attribute, value string) (*record.Record, error) {
	var id string
	err := s.db.QueryRowContext(ctx, `SELECT id FROM md_natural_keys WHERE concept = $1 AND attribute = $2 AND value = $3`, concept, attribute, value).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &record.Error{Code: record.CodeNotFound, Message: fmt.Sprintf("no %s has %s %s", concept, attribute, value), Err: record.ErrNotFound}
	}
	if err != nil {
		return nil, unavailable("read natural key", err)
	}
	return s.Get(ctx, concept, id)
}

// List implements record.Store.
func (s *Store) List(ctx context.Context, concept string, q record.ListQuery) (*record.Page, error) {
	if q.Limit < 1 {
		q.Limit = 1
	}
	args := []any{concept, q.After}
	where := []string{`concept = $1`, `id > $2`}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if !q.IncludeEnded {
		where = append(where, `ended_at IS NULL`)
	}
	where = append(where, `state IS NOT NULL`)
	for _, attr := range sortedKeys(q.Filter) {
		where = append(where, s.textOf(arg, attr)+` = `+arg(q.Filter[attr]))
	}
	if q.Search != "" && len(q.SearchFields) > 0 {
		pattern := arg("%" + escapeLike(strings.ToLower(q.Search)) + "%")
		var ors []string
		for _, f := range q.SearchFields {
			ors = append(ors, `LOWER(`+s.textOf(arg, f)+`) LIKE `+pattern+` ESCAPE '\'`)
		}
		where = append(where, "("+strings.Join(ors, " OR ")+")")
	}
	query := `SELECT concept, id, revision, state, ended_at, end_reason, created_at, updated_at FROM md_records WHERE ` +
		strings.Join(where, " AND ") + ` ORDER BY id LIMIT ` + arg(q.Limit+1)
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, unavailable("list records", err)
	}
	defer rows.Close()
	page := &record.Page{Records: []*record.Record{}}
	for rows.Next() {
		rec, err := scanRecord(rows)
		if err != nil {
			return nil, unavailable("read record", err)
		}
		page.Records = append(page.Records, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable("list records", err)
	}
	if len(page.Records) > q.Limit {
		page.Records = page.Records[:q.Limit]
		page.Next = page.Records[q.Limit-1].ID
	}
	return page, nil
}

// textOf is the SQL expression for a top-level attribute's value as text
// ("true"/"false" for booleans, on both databases).
func (s *Store) textOf(arg func(any) string, attr string) string {
	if s.dialect == Postgres {
		return `(state ->> ` + arg(attr) + `)`
	}
	p := arg("$." + quoteJSONKey(attr))
	return `(CASE json_type(state, ` + p + `) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(json_extract(state, ` + p + `) AS TEXT) END)`
}

func quoteJSONKey(k string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(k) + `"`
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// History implements record.Store.
func (s *Store) History(ctx context.Context, concept, id string) ([]record.Change, error) {
	if _, err := s.Get(ctx, concept, id); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT seq, concept, record_id, revision, kind, at, actor_subject, actor_credential, actor_system, reason, event_id, trace_parent, state
		FROM md_changes WHERE concept = $1 AND record_id = $2 ORDER BY seq`, concept, id)
	if err != nil {
		return nil, unavailable("read history", err)
	}
	defer rows.Close()
	out := []record.Change{}
	for rows.Next() {
		var ch record.Change
		var kind string
		var at timeValue
		var state nullJSON
		if err := rows.Scan(&ch.Seq, &ch.Concept, &ch.RecordID, &ch.Revision, &kind, &at, &ch.Actor.Subject, &ch.Actor.CredentialID, &ch.Actor.System, &ch.Reason, &ch.EventID, &ch.TraceParent, &state); err != nil {
			return nil, unavailable("read change", err)
		}
		ch.Kind, ch.At, ch.State = record.Kind(kind), at.t, state.m
		out = append(out, ch)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable("read history", err)
	}
	return out, nil
}

// Republish implements record.Store.
func (s *Store) Republish(ctx context.Context, concept, after string, limit int) (string, int, error) {
	var last string
	var n int
	err := s.write(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT concept, id, revision, state, ended_at, end_reason, created_at, updated_at FROM md_records
			WHERE concept = $1 AND id > $2 AND state IS NOT NULL ORDER BY id LIMIT $3`, concept, after, limit)
		if err != nil {
			return unavailable("read records", err)
		}
		var recs []*record.Record
		for rows.Next() {
			rec, err := scanRecord(rows)
			if err != nil {
				rows.Close()
				return unavailable("read record", err)
			}
			recs = append(recs, rec)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return unavailable("read records", err)
		}
		now := s.now().UTC()
		for _, rec := range recs {
			ch := &record.Change{Concept: concept, RecordID: rec.ID, Revision: rec.Revision, Kind: record.KindResynced, At: now, State: rec.State}
			if err := s.outbox.Append(ctx, tx, rec, ch); err != nil {
				return fmt.Errorf("append to outbox: %w", err)
			}
		}
		n = len(recs)
		if n > 0 {
			last = recs[n-1].ID
		}
		return nil
	})
	return last, n, err
}

type rowScanner interface{ Scan(dest ...any) error }

func scanRecord(r rowScanner) (*record.Record, error) {
	var rec record.Record
	var state nullJSON
	var ended nullTimeValue
	var created, updated timeValue
	if err := r.Scan(&rec.Concept, &rec.ID, &rec.Revision, &state, &ended, &rec.EndReason, &created, &updated); err != nil {
		return nil, err
	}
	rec.State, rec.CreatedAt, rec.UpdatedAt = state.m, created.t, updated.t
	if ended.valid {
		t := ended.t
		rec.EndedAt = &t
	}
	return &rec, nil
}

func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortStrings(keys)
	return keys
}
