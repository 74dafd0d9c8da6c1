package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"path"

	"github.com/samnav/samnav/pkg/sqlmigrate"
)

//go:embed migrations
var migrations embed.FS

// Migrate brings the store's tables to the newest schema version. Each
// migration runs in its own transaction with the version row it adds, so
// a failed one leaves the schema at the previous version. On PostgreSQL
// an advisory lock keeps replicas starting together from racing.
func Migrate(ctx context.Context, db *sql.DB, d Dialect) error {
	cfg := sqlmigrate.Config{FS: migrations, Dir: path.Join("migrations", d.String()), Table: "md_migrations"}
	if d == Postgres {
		cfg.LockKey = 7234001
	}
	return sqlmigrate.Run(ctx, db, cfg)
}
