// Package authsql keeps API tokens in SQL: SQLite (modernc.org/sqlite) for
// the embedded default and PostgreSQL (pgx) in production. The SQL is the
// subset both speak, with $n placeholders.
package authsql

import (
	"context"
	"database/sql"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/sdk/sqldb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is an auth.TokenStore on a *sql.DB.
type Store struct {
	db *sql.DB
}

var _ auth.LifecycleStore = (*Store)(nil)

// New brings the token table in db to its newest version (sqldb.Migrate,
// namespace "auth"; a table made by an earlier release is adopted) and
// returns a store on it.
func New(ctx context.Context, db *sql.DB, d sqldb.Dialect) (*Store, error) {
	if err := sqldb.Migrate(ctx, db, d, sqldb.Migrations{Namespace: "auth", FS: migrations, Dir: "migrations", Adopt: sqldb.AdoptTable("auth_tokens")}); err != nil {
		return nil, fmt.Errorf("migrate auth_tokens: %w", err)
	}
	return &Store{db: db}, nil
}

// Authenticator returns given when it is set; else the API tokens kept
// in db (New), with their issuer, which a service keeping its own tokens
// also needs (the bootstrap admin, token management). It is the one
// default of every service's Deps.Authenticator.
func Authenticator(ctx context.Context, given auth.Authenticator, db *sql.DB, d sqldb.Dialect) (auth.Authenticator, *auth.Tokens, error) {
	if given != nil {
		return given, nil, nil
	}
	st, err := New(ctx, db, d)
	if err != nil {
		return nil, nil, fmt.Errorf("token store: %w", err)
	}
	tokens := &auth.Tokens{Store: st}
	return tokens, tokens, nil
}

// Times are Unix milliseconds, 0 for none.
func millis(t time.Time) int64 { return sqldb.IntTime(t, time.Millisecond) }

func fromMillis(ms int64) time.Time { return sqldb.FromIntTime(ms, time.Millisecond) }

func (s *Store) CreateToken(ctx context.Context, t auth.TokenRecord) error {
	return create(ctx, s.db, t)
}

// execer is a *sql.DB or a *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func create(ctx context.Context, db execer, t auth.TokenRecord) error {
	grants, err := json.Marshal(t.Grants)
	if err != nil {
		return fmt.Errorf("create token %s: encode grants: %w", t.ID, err)
	}
	_, err = db.ExecContext(ctx,
		`INSERT INTO auth_tokens (id, subject, kind, name, grants, hash, created_at, expires_at, revoked_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		t.ID, t.Subject, string(t.Kind), t.Name, string(grants), hex.EncodeToString(t.Hash),
		millis(t.CreatedAt), millis(t.ExpiresAt), millis(t.RevokedAt))
	if err != nil {
		return fmt.Errorf("create token %s: %w", t.ID, err)
	}
	return nil
}

const columns = `id, subject, kind, name, grants, hash, created_at, expires_at, revoked_at, last_used_at`

func scan(row sqldb.Scanner) (auth.TokenRecord, error) {
	var (
		t                         auth.TokenRecord
		kind, grants, hash        string
		created, expires, revoked int64
		used                      int64
	)
	if err := row.Scan(&t.ID, &t.Subject, &kind, &t.Name, &grants, &hash, &created, &expires, &revoked, &used); err != nil {
		return t, err
	}
	t.Kind = auth.Kind(kind)
	if err := json.Unmarshal([]byte(grants), &t.Grants); err != nil {
		return t, fmt.Errorf("decode grants: %w", err)
	}
	h, err := hex.DecodeString(hash)
	if err != nil {
		return t, fmt.Errorf("decode hash: %w", err)
	}
	t.Hash = h
	t.CreatedAt, t.ExpiresAt, t.RevokedAt, t.LastUsedAt = fromMillis(created), fromMillis(expires), fromMillis(revoked), fromMillis(used)
	return t, nil
}

func (s *Store) TokenByID(ctx context.Context, id string) (auth.TokenRecord, error) {
	t, err := scan(s.db.QueryRowContext(ctx, `SELECT `+columns+` FROM auth_tokens WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, fmt.Errorf("token %s: %w", id, auth.ErrTokenNotFound)
	}
	if err != nil {
		return t, fmt.Errorf("token %s: %w", id, err)
	}
	return t, nil
}

func (s *Store) RevokeToken(ctx context.Context, id string, at time.Time) error {
	return revoke(ctx, s.db, id, at)
}

func revoke(ctx context.Context, db execer, id string, at time.Time) error {
	n, err := sqldb.Affected(db.ExecContext(ctx,
		`UPDATE auth_tokens SET revoked_at = CASE WHEN revoked_at = 0 THEN $1 ELSE revoked_at END WHERE id = $2`,
		millis(at.UTC().Truncate(time.Millisecond)), id))
	if err != nil {
		return fmt.Errorf("revoke token %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("revoke token %s: %w", id, auth.ErrTokenNotFound)
	}
	return nil
}

func (s *Store) ListTokens(ctx context.Context) ([]auth.TokenRecord, error) {
	out, err := sqldb.Query(ctx, s.db, scan, `SELECT `+columns+` FROM auth_tokens ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return out, nil
}

func addEvents(ctx context.Context, tx *sql.Tx, evs ...auth.TokenEvent) error {
	for _, e := range evs {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO auth_token_events (token_id, at, action, actor, reason, related) VALUES ($1, $2, $3, $4, $5, $6)`,
			e.TokenID, millis(e.At), string(e.Action), e.Actor, e.Reason, e.Related); err != nil {
			return fmt.Errorf("record token %s %s: %w", e.TokenID, e.Action, err)
		}
	}
	return nil
}

func (s *Store) IssueToken(ctx context.Context, t auth.TokenRecord, ev auth.TokenEvent) error {
	return sqldb.InTx(ctx, s.db, func(tx *sql.Tx) error {
		if err := create(ctx, tx, t); err != nil {
			return err
		}
		return addEvents(ctx, tx, ev)
	})
}

func (s *Store) RotateToken(ctx context.Context, oldID string, until time.Time, next auth.TokenRecord, evs []auth.TokenEvent) error {
	return sqldb.InTx(ctx, s.db, func(tx *sql.Tx) error {
		u := millis(until.UTC().Truncate(time.Millisecond))
		n, err := sqldb.Affected(tx.ExecContext(ctx,
			`UPDATE auth_tokens SET expires_at = CASE WHEN expires_at = 0 OR expires_at > $1 THEN $1 ELSE expires_at END
			 WHERE id = $2 AND revoked_at = 0`, u, oldID))
		if err != nil {
			return fmt.Errorf("rotate token %s: %w", oldID, err)
		}
		if n == 0 {
			return fmt.Errorf("rotate token %s: %w", oldID, auth.ErrTokenNotFound)
		}
		if err := create(ctx, tx, next); err != nil {
			return err
		}
		return addEvents(ctx, tx, evs...)
	})
}

func (s *Store) RevokeTokenFor(ctx context.Context, id string, ev auth.TokenEvent) error {
	return sqldb.InTx(ctx, s.db, func(tx *sql.Tx) error {
		if err := revoke(ctx, tx, id, ev.At); err != nil {
			return err
		}
		return addEvents(ctx, tx, ev)
	})
}

func (s *Store) TouchToken(ctx context.Context, id string, at time.Time) error {
	n, err := sqldb.Affected(s.db.ExecContext(ctx,
		`UPDATE auth_tokens SET last_used_at = CASE WHEN last_used_at < $1 THEN $1 ELSE last_used_at END WHERE id = $2`,
		millis(at.UTC().Truncate(time.Millisecond)), id))
	if err != nil {
		return fmt.Errorf("touch token %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("touch token %s: %w", id, auth.ErrTokenNotFound)
	}
	return nil
}

func (s *Store) TokenEvents(ctx context.Context, id string) ([]auth.TokenEvent, error) {
	out, err := sqldb.Query(ctx, s.db, func(row sqldb.Scanner) (auth.TokenEvent, error) {
		var (
			e      auth.TokenEvent
			at     int64
			action string
		)
		if err := row.Scan(&e.TokenID, &at, &action, &e.Actor, &e.Reason, &e.Related); err != nil {
			return e, err
		}
		e.At, e.Action = fromMillis(at), auth.TokenAction(action)
		return e, nil
	}, `SELECT token_id, at, action, actor, reason, related FROM auth_token_events WHERE token_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("token %s events: %w", id, err)
	}
	return out, nil
}
