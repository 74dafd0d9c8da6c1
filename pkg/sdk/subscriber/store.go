package subscriber

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"time"

	"github.com/samnav/samnav/pkg/sdk/sqldb"
)

// Store remembers which events a consumer group has applied, so that an
// event delivered again (Kafka delivers at least once; the hub may publish
// an event twice) is applied once.
//
// Contract (subscribertest.RunStore is the suite every implementation
// passes):
//   - Seen reports whether Mark was called for (group, eventID) and not
//     undone by Forget.
//   - Mark is idempotent: marking a marked event is not an error and keeps
//     the first mark.
//   - Forget removes the group's marks whose record time is at or after
//     from, so a replay from that time applies those events again; it
//     returns how many it removed. Other groups' marks are untouched.
//   - Methods are safe for concurrent use.
type Store interface {
	Seen(ctx context.Context, group, eventID string) (bool, error)
	Mark(ctx context.Context, group, eventID string, recordTime time.Time) error
	Forget(ctx context.Context, group string, from time.Time) (int64, error)
}

// Pruner is a Store that can drop old marks, so that it does not grow
// without bound. MemoryStore and SQLStore are Pruners; Run prunes a
// Pruner every hour (Config.IdempotencyRetention).
//
// Prune removes the group's marks applied before before and returns how
// many it removed. An event whose mark was pruned is applied again if it
// is delivered again. Kafka delivers an event again only after a crash
// (records since the last commit: seconds to minutes old) or when the
// group reads the topic again from the start (ReplayFrom, a group whose
// offsets expired or were deleted, a rebuilt view topic), and then the
// compacted topic hands out each record's latest state however old: with
// its mark pruned, the handler applies it again. That is harmless for
// handlers that store the state they are given (an upsert, a delete);
// handlers with side effects (a letter sent) should keep marks longer.
type Pruner interface {
	Prune(ctx context.Context, group string, before time.Time) (int64, error)
}

// MemoryStore is a Store in memory: duplicates are removed only while the
// process lives. For tests and for handlers that are idempotent anyway.
// The zero value is ready to use.
type MemoryStore struct {
	mu    sync.Mutex
	marks map[[2]string]mark
}

type mark struct{ record, applied time.Time }

var (
	_ Store  = (*MemoryStore)(nil)
	_ Pruner = (*MemoryStore)(nil)
	_ Pruner = (*SQLStore)(nil)
)

// Seen implements Store.
func (m *MemoryStore) Seen(_ context.Context, group, eventID string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.marks[[2]string{group, eventID}]
	return ok, nil
}

// Mark implements Store.
func (m *MemoryStore) Mark(_ context.Context, group, eventID string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.marks == nil {
		m.marks = map[[2]string]mark{}
	}
	k := [2]string{group, eventID}
	if _, ok := m.marks[k]; !ok {
		m.marks[k] = mark{record: at, applied: time.Now()}
	}
	return nil
}

// Prune implements Pruner.
func (m *MemoryStore) Prune(_ context.Context, group string, before time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for k, mk := range m.marks {
		if k[0] == group && mk.applied.Before(before) {
			delete(m.marks, k)
			n++
		}
	}
	return n, nil
}

// Forget implements Store.
func (m *MemoryStore) Forget(_ context.Context, group string, from time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for k, mk := range m.marks {
		if k[0] == group && !mk.record.Before(from) {
			delete(m.marks, k)
			n++
		}
	}
	return n, nil
}

// SQLStore is a Store in SQLite or PostgreSQL, in the table
// subscriber_applied (group, event id, record time). A business system can
// keep it in its own database, beside the data its handlers write.
type SQLStore struct {
	db *sql.DB
}

var _ Store = (*SQLStore)(nil)

// NewSQLStore returns a store on db, which must have been migrated
// (MigrateSQLStore).
func NewSQLStore(db *sql.DB) (*SQLStore, error) {
	if db == nil {
		return nil, errors.New("new subscriber store: db is nil")
	}
	return &SQLStore{db: db}, nil
}

//go:embed migrations
var migrations embed.FS

// MigrateSQLStore brings the store's table to its newest version
// (sqldb.Migrate, namespace "subscriber"); a table made by an earlier
// release is adopted. It is idempotent and safe to run from several
// processes at once.
func MigrateSQLStore(ctx context.Context, db *sql.DB, d sqldb.Dialect) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("migrate subscriber store: %w", err)
	}
	return sqldb.Migrate(ctx, db, d, sqldb.Migrations{Namespace: "subscriber", FS: sub, Adopt: sqldb.AdoptTable("subscriber_applied")})
}

// Seen implements Store.
func (s *SQLStore) Seen(ctx context.Context, group, eventID string) (bool, error) {
	var one int
	err := s.db.QueryRowContext(ctx, `SELECT 1 FROM subscriber_applied WHERE group_id = $1 AND event_id = $2`, group, eventID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look up applied event %s: %w", eventID, err)
	}
	return true, nil
}

// Mark implements Store.
func (s *SQLStore) Mark(ctx context.Context, group, eventID string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO subscriber_applied (group_id, event_id, record_time, applied_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (group_id, event_id) DO NOTHING`, group, eventID, at.UnixMicro(), time.Now().UnixMicro())
	if err != nil {
		return fmt.Errorf("mark event %s applied: %w", eventID, err)
	}
	return nil
}

// Forget implements Store.
func (s *SQLStore) Forget(ctx context.Context, group string, from time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM subscriber_applied WHERE group_id = $1 AND record_time >= $2`, group, from.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("forget applied events of %s: %w", group, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("forget applied events of %s: %w", group, err)
	}
	return n, nil
}

// Prune implements Pruner.
func (s *SQLStore) Prune(ctx context.Context, group string, before time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM subscriber_applied WHERE group_id = $1 AND applied_at < $2`, group, before.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("prune applied events of %s: %w", group, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("prune applied events of %s: %w", group, err)
	}
	return n, nil
}
