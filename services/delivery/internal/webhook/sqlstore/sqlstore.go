// Package sqlstore keeps webhook endpoints, the durable delivery queue and
// the delivery log in SQL: SQLite (modernc.org/sqlite, pure Go) as the
// embedded default and PostgreSQL (pgx) in production. The SQL is the
// subset both speak, with $n placeholders; times are BIGINT unix
// nanoseconds so both compare them the same way.
package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/samnav/samnav/pkg/keyring"
	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/pkg/sdk/sqldb"
	"github.com/samnav/samnav/services/delivery/internal/webhook"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate brings the webhook tables to the newest schema version
// (sqldb.Migrate, namespace "webhook"); running it again is a no-op. A
// database made by a release that recorded its versions in wh_migrations
// is adopted as version 1.
func Migrate(ctx context.Context, db *sql.DB, d sqldb.Dialect) error {
	return sqldb.Migrate(ctx, db, d, sqldb.Migrations{Namespace: "webhook", FS: migrations, Dir: "migrations", Adopt: sqldb.AdoptVersionTable("wh_migrations")})
}

// Store is a webhook.Store on a migrated *sql.DB.
type Store struct {
	db      *sql.DB
	dialect sqldb.Dialect
	lock    sqldb.WriteLock
	// stmts prepares every statement once, on both databases.
	stmts *sqldb.Stmts
	// keys seals the signing secrets (secrets.go); nil stores none.
	keys keyring.Keyring
}

var _ webhook.Store = (*Store)(nil)

// runner runs the store's statements, prepared once, in a transaction or
// on the database.
type runner = *sqldb.Runner

// New returns a store on db, which must have been migrated (Migrate) and
// allow at least two open connections: a transaction may prepare a
// statement on another connection while it holds its own. keys seals the
// endpoints' signing secrets; New first seals any a release before
// stored in plain text. With nil keys the store cannot store a secret
// (CreateEndpoint and AddSecret fail), and New fails if the database
// holds any.
func New(ctx context.Context, db *sql.DB, d sqldb.Dialect, keys keyring.Keyring) (*Store, error) {
	if err := d.Valid(); err != nil {
		return nil, fmt.Errorf("new store: %w", err)
	}
	if db.Stats().MaxOpenConnections == 1 {
		return nil, errors.New("new store: the database allows one open connection; the webhook store needs at least two")
	}
	s := &Store{db: db, dialect: d, lock: sqldb.NewWriteLock(d), stmts: sqldb.NewStmts(db, true), keys: keys}
	if err := s.sealPlaintext(ctx); err != nil {
		return nil, fmt.Errorf("new store: %w", err)
	}
	return s, nil
}

// Times are Unix nanoseconds, 0 for none.
func ns(t time.Time) int64 { return sqldb.IntTime(t, time.Nanosecond) }

func fromNS(n int64) time.Time { return sqldb.FromIntTime(n, time.Nanosecond) }

func unavailable(what string, err error) error {
	return apierr.Unavailable(what).Wrap(err)
}

func (s *Store) write(ctx context.Context, fn func(tx runner) error) error {
	defer s.lock.Lock()()
	return s.commit(ctx, s.db, fn)
}

// writeLax is write for transactions whose loss in an OS crash or power
// cut costs only a repeated send, never an accepted event: leases (Claim)
// and attempt outcomes (Finish, FinishBatch). A lost lease runs out anyway;
// a lost outcome leaves its message pending, so it is sent again (at
// least once; receivers deduplicate by webhook-id). Such a commit does not
// wait for the disk: SQLite commits it with synchronous(NORMAL) on a
// connection borrowed for it, PostgreSQL with synchronous_commit off. Both
// keep the log in commit order, so the next durable commit (an Enqueue,
// synchronous(FULL)) makes every earlier one durable too, and a crash can
// only drop a tail of lax commits, never an enqueued message.
func (s *Store) writeLax(ctx context.Context, fn func(tx runner) error) (err error) {
	if s.dialect == sqldb.Postgres {
		return s.write(ctx, func(tx runner) error {
			if _, err := tx.Tx().ExecContext(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
				return unavailable("relax commit", err)
			}
			return fn(tx)
		})
	}
	defer s.lock.Lock()()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return unavailable("get connection", err)
	}
	defer func() {
		// The connection goes back to the pool only as durable as the
		// others; if that cannot be ensured it is closed instead.
		if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA synchronous = FULL`); rerr != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		_ = conn.Close()
	}()
	if _, err := conn.ExecContext(ctx, `PRAGMA synchronous = NORMAL`); err != nil {
		return unavailable("relax commit", err)
	}
	return s.commit(ctx, conn, fn)
}

// commit runs fn in a transaction that b begins (sqldb.InTx); failing to
// begin or commit is unavailable.
func (s *Store) commit(ctx context.Context, b sqldb.Beginner, fn func(tx runner) error) error {
	err := sqldb.InTx(ctx, b, func(tx *sql.Tx) error { return fn(s.stmts.In(tx)) })
	if txErr := (*sqldb.TxError)(nil); errors.As(err, &txErr) {
		return unavailable(txErr.Op+" transaction", txErr.Err)
	}
	return err
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// CreateEndpoint implements webhook.Store.
func (s *Store) CreateEndpoint(ctx context.Context, ep webhook.Endpoint, first webhook.Secret) error {
	return s.write(ctx, func(tx runner) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM wh_endpoints WHERE subscription_id = $1`, ep.SubscriptionID).Scan(&n); err != nil {
			return unavailable("check endpoint", err)
		}
		if n > 0 {
			return apierr.Errorf(apierr.CodeConflict, "subscription %s already has a webhook endpoint", ep.SubscriptionID)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO wh_endpoints (subscription_id, url, owner, status, disabled_reason, disabled_at, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`,
			ep.SubscriptionID, ep.URL, ep.Owner, string(ep.Status), ep.DisabledReason, ns(ep.DisabledAt), ns(ep.CreatedAt)); err != nil {
			return unavailable("insert endpoint", err)
		}
		keyID, sealed, err := s.sealSecret(ctx, ep.SubscriptionID, first.String())
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO wh_secrets (subscription_id, secret, key_id, created_at) VALUES ($1, $2, $3, $4)`,
			ep.SubscriptionID, sealed, keyID, ns(ep.CreatedAt)); err != nil {
			return unavailable("insert secret", err)
		}
		return nil
	})
}

func notFoundEndpoint(id string) error {
	return apierr.Errorf(apierr.CodeNotFound, "subscription %s has no webhook endpoint", id).Wrap(webhook.ErrNotFound)
}

func mustAffect(res sql.Result, notFound func() error) error {
	n, err := res.RowsAffected()
	if err != nil {
		return unavailable("count rows", err)
	}
	if n == 0 {
		return notFound()
	}
	return nil
}

// UpdateEndpointURL implements webhook.Store.
func (s *Store) UpdateEndpointURL(ctx context.Context, id, url string, now time.Time) error {
	return s.write(ctx, func(tx runner) error {
		res, err := tx.ExecContext(ctx, `UPDATE wh_endpoints SET url = $1, updated_at = $2 WHERE subscription_id = $3`, url, ns(now), id)
		if err != nil {
			return unavailable("update endpoint", err)
		}
		return mustAffect(res, func() error { return notFoundEndpoint(id) })
	})
}

// GetEndpoint implements webhook.Store.
func (s *Store) GetEndpoint(ctx context.Context, id string) (webhook.Endpoint, error) {
	return s.getEndpoint(ctx, s.stmts.In(nil), id)
}

func (s *Store) getEndpoint(ctx context.Context, q querier, id string) (webhook.Endpoint, error) {
	var ep webhook.Endpoint
	var status string
	var disabledAt, failingSince, created, updated int64
	err := q.QueryRowContext(ctx, `SELECT subscription_id, url, owner, status, disabled_reason, disabled_at, failing_since, consecutive_failures, created_at, updated_at
		FROM wh_endpoints WHERE subscription_id = $1`, id).
		Scan(&ep.SubscriptionID, &ep.URL, &ep.Owner, &status, &ep.DisabledReason, &disabledAt, &failingSince, &ep.ConsecutiveFailures, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return webhook.Endpoint{}, notFoundEndpoint(id)
	}
	if err != nil {
		return webhook.Endpoint{}, unavailable("get endpoint", err)
	}
	ep.Status = webhook.EndpointStatus(status)
	ep.DisabledAt, ep.FailingSince, ep.CreatedAt, ep.UpdatedAt = fromNS(disabledAt), fromNS(failingSince), fromNS(created), fromNS(updated)
	type stored struct {
		v          webhook.SecretVersion
		raw, keyID string
	}
	secrets, err := sqldb.Query(ctx, q, func(row sqldb.Scanner) (stored, error) {
		var sec stored
		var c, e int64
		err := row.Scan(&sec.v.ID, &sec.raw, &sec.keyID, &c, &e)
		sec.v.CreatedAt, sec.v.ExpiresAt = fromNS(c), fromNS(e)
		return sec, err
	}, `SELECT id, secret, key_id, created_at, expires_at FROM wh_secrets WHERE subscription_id = $1 ORDER BY id`, id)
	if err != nil {
		return webhook.Endpoint{}, unavailable("get secrets", err)
	}
	for _, sec := range secrets {
		if sec.v.Secret, err = s.openSecret(ctx, id, sec.v.ID, sec.keyID, sec.raw); err != nil {
			return webhook.Endpoint{}, err
		}
		ep.Secrets = append(ep.Secrets, sec.v)
	}
	return ep, nil
}

// AddSecret implements webhook.Store.
func (s *Store) AddSecret(ctx context.Context, id string, sec webhook.Secret, now, oldUntil time.Time) error {
	return s.write(ctx, func(tx runner) error {
		res, err := tx.ExecContext(ctx, `UPDATE wh_endpoints SET updated_at = $1 WHERE subscription_id = $2`, ns(now), id)
		if err != nil {
			return unavailable("touch endpoint", err)
		}
		if err := mustAffect(res, func() error { return notFoundEndpoint(id) }); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE wh_secrets SET expires_at = $1 WHERE subscription_id = $2 AND (expires_at = 0 OR expires_at > $1)`, ns(oldUntil), id); err != nil {
			return unavailable("expire secrets", err)
		}
		keyID, sealed, err := s.sealSecret(ctx, id, sec.String())
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO wh_secrets (subscription_id, secret, key_id, created_at) VALUES ($1, $2, $3, $4)`, id, sealed, keyID, ns(now)); err != nil {
			return unavailable("insert secret", err)
		}
		return nil
	})
}

// SetStatus implements webhook.Store.
func (s *Store) SetStatus(ctx context.Context, id string, status webhook.EndpointStatus, reason string, now time.Time) error {
	return s.write(ctx, func(tx runner) error {
		var res sql.Result
		var err error
		if status == webhook.StatusEnabled {
			res, err = tx.ExecContext(ctx, `UPDATE wh_endpoints SET status = $1, disabled_reason = '', disabled_at = 0, failing_since = 0, consecutive_failures = 0, updated_at = $2
				WHERE subscription_id = $3`, string(status), ns(now), id)
		} else {
			res, err = tx.ExecContext(ctx, `UPDATE wh_endpoints SET status = $1, disabled_reason = $2, disabled_at = $3, updated_at = $3
				WHERE subscription_id = $4`, string(status), reason, ns(now), id)
		}
		if err != nil {
			return unavailable("set endpoint status", err)
		}
		if err := mustAffect(res, func() error { return notFoundEndpoint(id) }); err != nil {
			return err
		}
		if status == webhook.StatusEnabled {
			if _, err := tx.ExecContext(ctx, `UPDATE wh_messages SET next_attempt_at = $1, step = 0 WHERE subscription_id = $2 AND state = 'pending'`, ns(now), id); err != nil {
				return unavailable("resume backlog", err)
			}
		}
		return nil
	})
}
