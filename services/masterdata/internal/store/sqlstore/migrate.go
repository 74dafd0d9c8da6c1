package sqlstore

import (
	"context"
	"database/sql"
	"embed"

	"github.com/samnav/samnav/pkg/sdk/sqldb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// rewritten are the checksums of the two per-dialect copies of version 1
// (SQLite first, PostgreSQL second) that releases before the one source
// applied: the one source makes the same tables, laid out differently
// (sqldb.Migrations.Rewritten).
var rewritten = map[string]int{
	"6aba3a34c7125cc34d56e338adaa9898a676952d3daca535afbb9414a18c3671": 1,
	"59f2864c5b33c6b049d09b6232cf85413fbc4d7a0f37b7ea9a9c0ec1a4b0e325": 1,
}

// Migrate brings the store's tables to the newest schema version
// (sqldb.Migrate, namespace "masterdata"). A database made by a release
// that recorded its versions in md_migrations is adopted as version 1.
func Migrate(ctx context.Context, db *sql.DB, d sqldb.Dialect) error {
	return sqldb.Migrate(ctx, db, d, sqldb.Migrations{Namespace: "masterdata", FS: migrations, Dir: "migrations",
		Adopt: sqldb.AdoptVersionTable("md_migrations"), Rewritten: rewritten})
}
