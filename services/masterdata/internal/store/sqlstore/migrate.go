package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/samnav/samnav/pkg/sdk/sqldb"
)

//go:embed migrations
var migrations embed.FS

// Migrate brings the store's tables to the newest schema version
// (sqldb.Migrate, namespace "masterdata"). A database made by a release
// that recorded its versions in md_migrations is adopted as version 1.
func Migrate(ctx context.Context, db *sql.DB, d sqldb.Dialect) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("migrate master data store: %w", err)
	}
	return sqldb.Migrate(ctx, db, d, sqldb.Migrations{Namespace: "masterdata", FS: sub, Adopt: adopt})
}

// adopt recognises the schema of releases that applied 0001_init.sql
// through md_migrations (the runner before sqldb); the file is unchanged,
// so the tables are exactly version 1.
func adopt(ctx context.Context, tx *sql.Tx, d sqldb.Dialect) (bool, error) {
	ok, err := sqldb.TableExists(ctx, tx, d, "md_migrations")
	if err != nil || !ok {
		return false, err
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM md_migrations WHERE version = 1`).Scan(&n); err != nil {
		return false, fmt.Errorf("read md_migrations: %w", err)
	}
	return n == 1, nil
}
