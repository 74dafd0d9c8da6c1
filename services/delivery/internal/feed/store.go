package feed

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/samnav/samnav/pkg/sdk/sqldb"
	"github.com/samnav/samnav/services/delivery/internal/channel"
)

// Entry is one stored event of a subscription's feed: a row of its change
// log, or (from Snapshot) the row of its current state that the newest
// change of a record left.
type Entry struct {
	// Position is the entry's place in the subscription's change log,
	// starting at 1 and growing by one per stored event, in commit order.
	// A snapshot entry has the position of the change that set its state.
	Position       int64
	SubscriptionID string
	Concept        string
	Key            string
	EventID        string
	// Type is channel.TypeChanged, TypeEnded or TypeErased.
	Type     string
	Time     time.Time
	Revision int64
	EndedAt  *time.Time
	// State is the projected record as JSON; nil for an erased record.
	State json.RawMessage
	Trace string
	// Withheld names the approved fields State holds as null because the
	// record is a protected identity and the subscription is not approved
	// for protected identities (channel.Event.Withheld). Storing such an
	// entry withholds the same fields from every earlier entry of Key in
	// the subscription's log and current state, in the same transaction.
	// It is not stored, and entries read back have none.
	Withheld []string
}

// Store keeps the feeds of every subscription: a change log per
// subscription and the current state of each of its records.
//
// Contract (feedtest.Run is the suite every implementation passes):
//   - Append stores an entry in the change log and applies it to the
//     current state in one transaction. Positions of one subscription are
//     1, 2, 3, ... without gaps, and a reader that sees position n also sees
//     every position below it (positions are assigned in commit order).
//   - Append of an EventID the subscription's log already holds stores
//     nothing and returns the existing position and false: a redelivered
//     event is accepted idempotently.
//   - Changed and ended entries replace the current state of their Key
//     unless it holds a newer Revision; an erased entry removes the Key from
//     the current state.
//   - An entry with Withheld fields sets those fields to null in the
//     State of every entry of its Key the subscription's log held before
//     it, and in the Key's current state, in the same transaction: from
//     any cursor, and in any snapshot, the subscription reads no earlier
//     value of a field it may no longer receive. Other fields, other keys
//     and other subscriptions are untouched.
//   - AppendBatch stores entries of one subscription as Append would one
//     after the other, in their order, but in one transaction: all of them
//     or none. An EventID already in the log, or earlier in the same batch,
//     is skipped; the stored ones get consecutive positions in batch order.
//   - Purge empties sub's log and current state; positions keep growing
//     from the head, and an EventID purged may be stored again.
//   - Prune removes log entries stored before a time, never a
//     subscription's newest one (so its log is empty only after Purge),
//     and never current state; an EventID pruned may be stored again.
//   - SetShape records what sub's feed was built for ("" forgets it);
//     Shape returns it ("" when none), whatever Purge or Prune did.
//   - All methods are safe for concurrent use.
type Store interface {
	// Append stores e (its Position is ignored) and returns the position
	// it was given, or the existing one and false for a known EventID.
	Append(ctx context.Context, e Entry) (pos int64, stored bool, err error)
	// AppendBatch stores es (their Positions are ignored), which must all
	// have the same SubscriptionID, and returns how many were new.
	AppendBatch(ctx context.Context, es []Entry) (stored int, err error)
	// Head returns the position of sub's newest entry; 0 for an empty log.
	Head(ctx context.Context, sub string) (int64, error)
	// Changes returns at most limit entries of sub's log with a position
	// greater than after, in position order.
	Changes(ctx context.Context, sub string, after int64, limit int) ([]Entry, error)
	// Snapshot returns at most limit current records of sub whose key
	// sorts after afterKey (byte order), in key order. Erased records
	// are absent; ended ones are present with Type ended.
	Snapshot(ctx context.Context, sub, afterKey string, limit int) ([]Entry, error)
	// Purge removes every entry of sub's log and its whole current state,
	// in one transaction, but keeps its head: the next entry stored gets
	// the position after the last one ever given, so a reader's cursor
	// stays valid and it sees what is stored again as changes after it.
	Purge(ctx context.Context, sub string) error
	// Prune removes the log entries of every subscription stored before
	// before, except each subscription's newest entry, and returns how
	// many it removed. The current state is untouched (snapshots stay
	// whole); a reader whose cursor is before a pruned entry has lost
	// changes and must take a new snapshot.
	Prune(ctx context.Context, before time.Time) (int64, error)
	// Shape returns what SetShape last recorded for sub, "" if nothing.
	Shape(ctx context.Context, sub string) (string, error)
	// SetShape records shape for sub; "" removes the record.
	SetShape(ctx context.Context, sub, shape string) error
}

// SQLStore is a Store in SQLite or PostgreSQL, in three tables:
// feed_heads (a subscription's newest position), feed_log (the change log)
// and feed_state (the current state per record).
//
// Positions come from the subscription's feed_heads row, incremented inside
// the appending transaction. The row lock it takes serialises the appends of
// one subscription until their commit, so on PostgreSQL a position can only
// be drawn once every smaller one has committed: readers that follow
// "position > n" never skip an entry that commits late. (A sequence alone
// would not give that; see pkg/outbox.) Appends to different
// subscriptions do not wait for each other.
type SQLStore struct {
	db      *sql.DB
	dialect sqldb.Dialect
	lock    sqldb.WriteLock
}

var _ Store = (*SQLStore)(nil)

// NewSQLStore returns a store on db, which must have been migrated.
func NewSQLStore(db *sql.DB, d sqldb.Dialect) (*SQLStore, error) {
	if err := d.Valid(); err != nil {
		return nil, fmt.Errorf("new feed store: %w", err)
	}
	if db == nil {
		return nil, errors.New("new feed store: db is nil")
	}
	return &SQLStore{db: db, dialect: d, lock: sqldb.NewWriteLock(d)}, nil
}

//go:embed migrations/*.sql
var migrations embed.FS

func feedMigrations(adopt func(context.Context, *sql.Tx, sqldb.Dialect) (bool, error)) sqldb.Migrations {
	return sqldb.Migrations{Namespace: "feed", FS: migrations, Dir: "migrations", Adopt: adopt}
}

// Migrate brings the feed tables to the newest version (sqldb.Migrate,
// namespace "feed"). It is idempotent and safe to run from several
// processes at once. Tables made by a release before versioned migrations
// are adopted as version 1.
func Migrate(ctx context.Context, db *sql.DB, d sqldb.Dialect) error {
	return sqldb.Migrate(ctx, db, d, feedMigrations(adopt))
}

// adopt recognises the tables of releases before versioned migrations and
// brings them to version 1. Those releases created every table and index
// IF NOT EXISTS on each start and added feed_log.stored_at later, so a
// database from any of them is version 1 after the column is added and
// version 1's file is run with IF NOT EXISTS.
func adopt(ctx context.Context, tx *sql.Tx, d sqldb.Dialect) (bool, error) {
	ok, err := sqldb.TableExists(ctx, tx, d, "feed_log")
	if err != nil || !ok {
		return false, err
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+columnsOf(d)+` WHERE name = 'stored_at'`).Scan(&n); err != nil {
		return false, fmt.Errorf("look for feed_log.stored_at: %w", err)
	}
	if n == 0 {
		if _, err := tx.ExecContext(ctx, `ALTER TABLE feed_log ADD COLUMN stored_at BIGINT NOT NULL DEFAULT 0`); err != nil {
			return false, fmt.Errorf("add feed_log.stored_at: %w", err)
		}
	}
	v1, err := feedMigrations(nil).Text(d, 1)
	if err != nil {
		return false, fmt.Errorf("read version 1: %w", err)
	}
	ddl := strings.NewReplacer("CREATE TABLE ", "CREATE TABLE IF NOT EXISTS ",
		"CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ",
		"CREATE UNIQUE INDEX ", "CREATE UNIQUE INDEX IF NOT EXISTS ").Replace(v1)
	if _, err := tx.ExecContext(ctx, ddl); err != nil {
		return false, fmt.Errorf("bring feed tables to version 1: %w", err)
	}
	return true, nil
}

// columnsOf is a relation of feed_log's column names (column "name").
func columnsOf(d sqldb.Dialect) string {
	if d == sqldb.Postgres {
		return `(SELECT column_name AS name FROM information_schema.columns WHERE table_name = 'feed_log' AND table_schema = ANY (current_schemas(false))) c`
	}
	return `pragma_table_info('feed_log')`
}

// Key ordering must be byte order on both databases, whatever the
// PostgreSQL database's collation.
func (s *SQLStore) keyOrder() string {
	if s.dialect == sqldb.Postgres {
		return `record_key COLLATE "C"`
	}
	return `record_key`
}

// Append implements Store.
func (s *SQLStore) Append(ctx context.Context, e Entry) (int64, bool, error) {
	defer s.lock.Lock()()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, false, fmt.Errorf("append feed entry: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()

	// Take the subscription's head row first: its lock orders everything
	// below, including the duplicate check, after every earlier append.
	var pos int64
	err = tx.QueryRowContext(ctx, `INSERT INTO feed_heads (subscription_id, position) VALUES ($1, 1)
		ON CONFLICT (subscription_id) DO UPDATE SET position = feed_heads.position + 1
		RETURNING position`, e.SubscriptionID).Scan(&pos)
	if err != nil {
		return 0, false, fmt.Errorf("append feed entry: advance head: %w", err)
	}
	var existing int64
	err = tx.QueryRowContext(ctx, `SELECT position FROM feed_log WHERE subscription_id = $1 AND event_id = $2`,
		e.SubscriptionID, e.EventID).Scan(&existing)
	switch {
	case err == nil:
		return existing, false, nil // the deferred rollback undoes the head
	case !errors.Is(err, sql.ErrNoRows):
		return 0, false, fmt.Errorf("append feed entry: look up event %s: %w", e.EventID, err)
	}

	if err := s.write(ctx, execer{tx}, e, pos); err != nil {
		return 0, false, fmt.Errorf("append feed entry: %w", err)
	}
	if err := withhold(ctx, tx, e, pos); err != nil {
		return 0, false, fmt.Errorf("append feed entry: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, false, fmt.Errorf("append feed entry: commit: %w", err)
	}
	return pos, true, nil
}

const (
	insertLog = `INSERT INTO feed_log (subscription_id, position, concept, record_key, event_id, type, event_time, revision, ended_at, state, trace, stored_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`
	deleteState = `DELETE FROM feed_state WHERE subscription_id = $1 AND record_key = $2`
	upsertState = `INSERT INTO feed_state (subscription_id, record_key, position, concept, event_id, type, event_time, revision, ended_at, state, trace)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (subscription_id, record_key) DO UPDATE SET position = excluded.position, concept = excluded.concept,
			event_id = excluded.event_id, type = excluded.type, event_time = excluded.event_time, revision = excluded.revision,
			ended_at = excluded.ended_at, state = excluded.state, trace = excluded.trace
		WHERE feed_state.revision <= excluded.revision`
	lookupEvent = `SELECT position FROM feed_log WHERE subscription_id = $1 AND event_id = $2`
)

// writer runs the three writes of an entry: by a transaction's ad hoc
// statements (Append) or by statements prepared once per batch.
type writer interface {
	exec(ctx context.Context, query string, args ...any) error
}

type execer struct{ tx *sql.Tx }

func (x execer) exec(ctx context.Context, query string, args ...any) error {
	_, err := x.tx.ExecContext(ctx, query, args...)
	return err
}

// prepared holds the batch's statements by query text.
type prepared map[string]*sql.Stmt

func (p prepared) exec(ctx context.Context, query string, args ...any) error {
	_, err := p[query].ExecContext(ctx, args...)
	return err
}

// write stores e at pos in the change log and applies it to the current
// state: the rule every append follows, single or batched.
func (s *SQLStore) write(ctx context.Context, w writer, e Entry, pos int64) error {
	t := e.Time.UTC().Format(time.RFC3339Nano)
	var ended, state any
	if e.EndedAt != nil {
		ended = e.EndedAt.UTC().Format(time.RFC3339Nano)
	}
	if e.State != nil {
		state = string(e.State)
	}
	if err := w.exec(ctx, insertLog, e.SubscriptionID, pos, e.Concept, e.Key, e.EventID, e.Type, t, e.Revision, ended, state, e.Trace, time.Now().UnixMicro()); err != nil {
		return fmt.Errorf("insert log row: %w", err)
	}
	if e.Type == channel.TypeErased {
		if err := w.exec(ctx, deleteState, e.SubscriptionID, e.Key); err != nil {
			return fmt.Errorf("delete state: %w", err)
		}
	} else if err := w.exec(ctx, upsertState, e.SubscriptionID, e.Key, pos, e.Concept, e.EventID, e.Type, t, e.Revision, ended, state, e.Trace); err != nil {
		return fmt.Errorf("upsert state: %w", err)
	}
	return nil
}

// AppendBatch implements Store. It holds the subscription's head row (as
// Append does) for the whole transaction and moves it once, to the last
// position it gave, so positions stay gapless and in commit order.
func (s *SQLStore) AppendBatch(ctx context.Context, es []Entry) (int, error) {
	if len(es) == 0 {
		return 0, nil
	}
	sub := es[0].SubscriptionID
	for i, e := range es {
		if e.SubscriptionID != sub {
			return 0, fmt.Errorf("append feed batch: entry %d is of subscription %q, entry 0 of %q", i, e.SubscriptionID, sub)
		}
	}
	defer s.lock.Lock()()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("append feed batch: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()

	// Lock the head row without moving it (a new subscription's row starts
	// at 0; if nothing is stored the rollback removes it again).
	var head int64
	err = tx.QueryRowContext(ctx, `INSERT INTO feed_heads (subscription_id, position) VALUES ($1, 0)
		ON CONFLICT (subscription_id) DO UPDATE SET position = feed_heads.position
		RETURNING position`, sub).Scan(&head)
	if err != nil {
		return 0, fmt.Errorf("append feed batch: lock head: %w", err)
	}
	stmts := prepared{}
	for _, q := range []string{lookupEvent, insertLog, deleteState, upsertState} {
		st, err := tx.PrepareContext(ctx, q)
		if err != nil {
			return 0, fmt.Errorf("append feed batch: prepare: %w", err)
		}
		defer func() { _ = st.Close() }()
		stmts[q] = st
	}
	seen := make(map[string]bool, len(es))
	pos := head
	for _, e := range es {
		if seen[e.EventID] {
			continue
		}
		seen[e.EventID] = true
		var existing int64
		err := stmts[lookupEvent].QueryRowContext(ctx, sub, e.EventID).Scan(&existing)
		switch {
		case err == nil:
			continue // stored before: accepted without a second entry
		case !errors.Is(err, sql.ErrNoRows):
			return 0, fmt.Errorf("append feed batch: look up event %s: %w", e.EventID, err)
		}
		pos++
		if err := s.write(ctx, stmts, e, pos); err != nil {
			return 0, fmt.Errorf("append feed batch: event %s: %w", e.EventID, err)
		}
		if err := withhold(ctx, tx, e, pos); err != nil {
			return 0, fmt.Errorf("append feed batch: event %s: %w", e.EventID, err)
		}
	}
	if pos == head {
		return 0, nil // every event was known; the deferred rollback leaves the head as it was
	}
	if _, err := tx.ExecContext(ctx, `UPDATE feed_heads SET position = $1 WHERE subscription_id = $2`, pos, sub); err != nil {
		return 0, fmt.Errorf("append feed batch: advance head: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("append feed batch: commit: %w", err)
	}
	return int(pos - head), nil
}

// Head implements Store.
func (s *SQLStore) Head(ctx context.Context, sub string) (int64, error) {
	var pos int64
	err := s.db.QueryRowContext(ctx, `SELECT position FROM feed_heads WHERE subscription_id = $1`, sub).Scan(&pos)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read feed head of %s: %w", sub, err)
	}
	return pos, nil
}

const columns = `position, subscription_id, concept, record_key, event_id, type, event_time, revision, ended_at, state, trace`

// Changes implements Store.
func (s *SQLStore) Changes(ctx context.Context, sub string, after int64, limit int) ([]Entry, error) {
	es, err := sqldb.Query(ctx, s.db, scanEntry, `SELECT `+columns+` FROM feed_log
		WHERE subscription_id = $1 AND position > $2 ORDER BY position LIMIT $3`, sub, after, limit)
	if err != nil {
		return nil, fmt.Errorf("read feed changes of %s: %w", sub, err)
	}
	return es, nil
}

// Snapshot implements Store.
func (s *SQLStore) Snapshot(ctx context.Context, sub, afterKey string, limit int) ([]Entry, error) {
	order := s.keyOrder()
	//nolint:gosec // G202: columns and order (keyOrder) are constants; the values are bound
	es, err := sqldb.Query(ctx, s.db, scanEntry, `SELECT `+columns+` FROM feed_state
		WHERE subscription_id = $1 AND `+order+` > $2 ORDER BY `+order+` LIMIT $3`, sub, afterKey, limit)
	if err != nil {
		return nil, fmt.Errorf("read feed snapshot of %s: %w", sub, err)
	}
	return es, nil
}

func scanEntry(row sqldb.Scanner) (Entry, error) {
	var e Entry
	var t string
	var ended, state sql.NullString
	if err := row.Scan(&e.Position, &e.SubscriptionID, &e.Concept, &e.Key, &e.EventID, &e.Type, &t, &e.Revision, &ended, &state, &e.Trace); err != nil {
		return e, err
	}
	var err error
	if e.Time, err = time.Parse(time.RFC3339Nano, t); err != nil {
		return e, fmt.Errorf("entry %d: time: %w", e.Position, err)
	}
	if ended.Valid {
		at, err := time.Parse(time.RFC3339Nano, ended.String)
		if err != nil {
			return e, fmt.Errorf("entry %d: ended_at: %w", e.Position, err)
		}
		e.EndedAt = &at
	}
	if state.Valid {
		e.State = json.RawMessage(state.String)
	}
	return e, nil
}

// Purge implements Store.
func (s *SQLStore) Purge(ctx context.Context, sub string) error {
	defer s.lock.Lock()()
	err := sqldb.InTx(ctx, s.db, func(tx *sql.Tx) error {
		// The head row's lock orders the purge after every append in
		// flight, as Append and AppendBatch take it first.
		if _, err := tx.ExecContext(ctx, `UPDATE feed_heads SET position = position WHERE subscription_id = $1`, sub); err != nil {
			return fmt.Errorf("lock head: %w", err)
		}
		for _, q := range []string{`DELETE FROM feed_log WHERE subscription_id = $1`, `DELETE FROM feed_state WHERE subscription_id = $1`} {
			if _, err := tx.ExecContext(ctx, q, sub); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("purge feed %s: %w", sub, err)
	}
	return nil
}

// Prune implements Store.
func (s *SQLStore) Prune(ctx context.Context, before time.Time) (int64, error) {
	defer s.lock.Lock()()
	n, err := sqldb.Affected(s.db.ExecContext(ctx, `DELETE FROM feed_log WHERE stored_at < $1
		AND position < (SELECT h.position FROM feed_heads h WHERE h.subscription_id = feed_log.subscription_id)`, before.UnixMicro()))
	if err != nil {
		return 0, fmt.Errorf("prune feed logs: %w", err)
	}
	return n, nil
}

// Shape implements Store.
func (s *SQLStore) Shape(ctx context.Context, sub string) (string, error) {
	var shape string
	err := s.db.QueryRowContext(ctx, `SELECT shape FROM feed_shapes WHERE subscription_id = $1`, sub).Scan(&shape)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read feed shape of %s: %w", sub, err)
	}
	return shape, nil
}

// SetShape implements Store.
func (s *SQLStore) SetShape(ctx context.Context, sub, shape string) error {
	defer s.lock.Lock()()
	var err error
	if shape == "" {
		_, err = s.db.ExecContext(ctx, `DELETE FROM feed_shapes WHERE subscription_id = $1`, sub)
	} else {
		_, err = s.db.ExecContext(ctx, `INSERT INTO feed_shapes (subscription_id, shape) VALUES ($1, $2)
			ON CONFLICT (subscription_id) DO UPDATE SET shape = excluded.shape`, sub, shape)
	}
	if err != nil {
		return fmt.Errorf("record feed shape of %s: %w", sub, err)
	}
	return nil
}
