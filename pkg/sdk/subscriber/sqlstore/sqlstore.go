// Package sqlstore is the subscriber SDK's idempotency store in SQL: it
// remembers, in the importer's own SQLite or PostgreSQL database, which
// events a consumer group has applied. It uses database/sql only; the
// program that imports it registers the driver it opens db with (for
// example modernc.org/sqlite or github.com/jackc/pgx/v5/stdlib), so the
// SDK itself brings no database driver.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/samnav/samnav/pkg/sdk/sqldb"
	"github.com/samnav/samnav/pkg/sdk/subscriber"
)

// Store is a subscriber.Store and subscriber.Pruner in SQLite or
// PostgreSQL, in the table subscriber_applied (group, event id, record
// time, applied time). A business system can keep it in its own database,
// beside the data its handlers write.
type Store struct {
	db *sql.DB
}

var (
	_ subscriber.Store  = (*Store)(nil)
	_ subscriber.Pruner = (*Store)(nil)
)

// New returns a store on db, which must have been migrated (Migrate).
func New(db *sql.DB) (*Store, error) {
	if db == nil {
		return nil, errors.New("new subscriber store: db is nil")
	}
	return &Store{db: db}, nil
}

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate brings the store's table to its newest version
// (sqldb.Migrate, namespace "subscriber"); a table made by an earlier
// release is adopted. It is idempotent and safe to run from several
// processes at once.
func Migrate(ctx context.Context, db *sql.DB, d sqldb.Dialect) error {
	return sqldb.Migrate(ctx, db, d, sqldb.Migrations{Namespace: "subscriber", FS: migrations, Dir: "migrations", Adopt: sqldb.AdoptTable("subscriber_applied")})
}

// Seen implements subscriber.Store.
func (s *Store) Seen(ctx context.Context, group, eventID string) (bool, error) {
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

// Mark implements subscriber.Store.
func (s *Store) Mark(ctx context.Context, group, eventID string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO subscriber_applied (group_id, event_id, record_time, applied_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (group_id, event_id) DO NOTHING`, group, eventID, at.UnixMicro(), time.Now().UnixMicro())
	if err != nil {
		return fmt.Errorf("mark event %s applied: %w", eventID, err)
	}
	return nil
}

// Forget implements subscriber.Store.
func (s *Store) Forget(ctx context.Context, group string, from time.Time) (int64, error) {
	n, err := sqldb.Affected(s.db.ExecContext(ctx, `DELETE FROM subscriber_applied WHERE group_id = $1 AND record_time >= $2`, group, from.UnixMicro()))
	if err != nil {
		return 0, fmt.Errorf("forget applied events of %s: %w", group, err)
	}
	return n, nil
}

// Prune implements subscriber.Pruner.
func (s *Store) Prune(ctx context.Context, group string, before time.Time) (int64, error) {
	n, err := sqldb.Affected(s.db.ExecContext(ctx, `DELETE FROM subscriber_applied WHERE group_id = $1 AND applied_at < $2`, group, before.UnixMicro()))
	if err != nil {
		return 0, fmt.Errorf("prune applied events of %s: %w", group, err)
	}
	return n, nil
}
