// Package sqlmigrate applies a service's embedded SQL migrations, in order,
// once each, on SQLite and PostgreSQL.
//
// Migrations are files named NNNN_what.sql in one directory of an fs.FS.
// Each runs in its own transaction together with the row that records its
// version, so a failed migration leaves the schema at the version before
// it; running Run again applies only what is new.
package sqlmigrate

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Config says where a service's migrations are and how to record them.
type Config struct {
	// FS and Dir hold the migration files.
	FS  fs.FS
	Dir string
	// Table records applied versions; each service has its own, e.g.
	// "md_migrations". It is a trusted constant, not input.
	Table string
	// LockKey, when not zero, is a PostgreSQL advisory lock taken by every
	// migration's transaction, so replicas starting together take turns.
	// Leave it zero on SQLite, which has no advisory locks.
	LockKey int64
	// SplitStatements runs a file as statements separated by ';' rather
	// than as one batch. Only for files whose statements hold no ';'.
	SplitStatements bool
}

// Run applies every migration in cfg.Dir not yet recorded in cfg.Table.
func Run(ctx context.Context, db *sql.DB, cfg Config) error {
	entries, err := fs.ReadDir(cfg.FS, cfg.Dir)
	if err != nil {
		return fmt.Errorf("read migrations: %w", err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+cfg.Table+` (version INTEGER PRIMARY KEY, name TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("create migrations table: %w", err)
	}
	for _, name := range names {
		num, _, ok := strings.Cut(name, "_")
		if !ok {
			return fmt.Errorf("migration %s: name must be NNNN_what.sql", name)
		}
		version, err := strconv.Atoi(num)
		if err != nil {
			return fmt.Errorf("parse migration %s: %w", name, err)
		}
		text, err := fs.ReadFile(cfg.FS, path.Join(cfg.Dir, name))
		if err != nil {
			return fmt.Errorf("read migration %s: %w", name, err)
		}
		if err := apply(ctx, db, cfg, version, name, string(text)); err != nil {
			return err
		}
	}
	return nil
}

func apply(ctx context.Context, db *sql.DB, cfg Config, version int, name, text string) (err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin migration %s: %w", name, err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if cfg.LockKey != 0 {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, cfg.LockKey); err != nil {
			return fmt.Errorf("lock migration %s: %w", name, err)
		}
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+cfg.Table+` WHERE version = $1`, version).Scan(&n); err != nil {
		return fmt.Errorf("check migration %s: %w", name, err)
	}
	if n > 0 {
		return tx.Rollback()
	}
	stmts := []string{text}
	if cfg.SplitStatements {
		stmts = strings.Split(text, ";")
	}
	for _, stmt := range stmts {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("apply migration %s: %w", name, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO `+cfg.Table+` (version, name) VALUES ($1, $2)`, version, name); err != nil { //nolint:gosec // G202: cfg.Table is a trusted constant (see Config.Table), not input; values are bound
		return fmt.Errorf("record migration %s: %w", name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit migration %s: %w", name, err)
	}
	return nil
}
