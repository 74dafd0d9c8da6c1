// Package sqlstore is the subscription.Store on SQL: SQLite (modernc, the
// embedded default) and PostgreSQL (pgx), with the same statements, their
// ? placeholders rebound by sqldb.Dialect. A subscription is kept as a JSON document beside the
// columns it is selected by; its history is append-only.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/samnav/samnav/pkg/sdk/sqldb"
	"github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/delivery/internal/subscription"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store implements subscription.Store.
type Store struct {
	db *sql.DB
	d  sqldb.Dialect
}

var _ subscription.Store = (*Store)(nil)

// New brings the subscription tables to their newest version
// (sqldb.Migrate, namespace "delivery"; tables made by a release before
// versioned migrations are adopted) and returns the store.
func New(ctx context.Context, db *sql.DB, d sqldb.Dialect) (*Store, error) {
	if err := sqldb.Migrate(ctx, db, d, sqldb.Migrations{Namespace: "delivery", FS: migrations, Dir: "migrations", Adopt: sqldb.AdoptTable("delivery_subscriptions")}); err != nil {
		return nil, fmt.Errorf("migrate subscription tables: %w", err)
	}
	return &Store{db: db, d: d}, nil
}

// q rewrites the ? placeholders for the store's database.
func (s *Store) q(query string) string { return s.d.Rebind(query) }

// Create implements subscription.Store.
func (s *Store) Create(ctx context.Context, sub client.Subscription, ch client.SubscriptionChange) error {
	return sqldb.InTx(ctx, s.db, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM delivery_subscriptions WHERE id = ?`), sub.ID).Scan(&n); err != nil {
			return fmt.Errorf("check subscription %s: %w", sub.ID, err)
		}
		if n > 0 {
			return fmt.Errorf("create subscription %s: %w", sub.ID, subscription.ErrConflict)
		}
		body, err := json.Marshal(sub)
		if err != nil {
			return fmt.Errorf("encode subscription: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO delivery_subscriptions (id, system, concept, status, version, body) VALUES (?, ?, ?, ?, ?, ?)`),
			sub.ID, sub.System, sub.Concept, string(sub.Status), sub.Version, string(body)); err != nil {
			return fmt.Errorf("insert subscription %s: %w", sub.ID, err)
		}
		return s.appendChange(ctx, tx, sub, ch)
	})
}

func (s *Store) appendChange(ctx context.Context, tx *sql.Tx, sub client.Subscription, ch client.SubscriptionChange) error {
	ch.Seq = sub.Version
	ch.After = sub
	body, err := json.Marshal(ch)
	if err != nil {
		return fmt.Errorf("encode change: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO delivery_subscription_history (subscription_id, seq, body) VALUES (?, ?, ?)`), sub.ID, ch.Seq, string(body)); err != nil {
		return fmt.Errorf("insert history of %s: %w", sub.ID, err)
	}
	return nil
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) get(ctx context.Context, q querier, id string) (client.Subscription, error) {
	sub, err := scanJSON[client.Subscription](q.QueryRowContext(ctx, s.q(`SELECT body FROM delivery_subscriptions WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return client.Subscription{}, fmt.Errorf("get subscription %s: %w", id, subscription.ErrNotFound)
	}
	if err != nil {
		return client.Subscription{}, fmt.Errorf("get subscription %s: %w", id, err)
	}
	return sub, nil
}

// Get implements subscription.Store.
func (s *Store) Get(ctx context.Context, id string) (client.Subscription, error) {
	return s.get(ctx, s.db, id)
}

// List implements subscription.Store.
func (s *Store) List(ctx context.Context, f subscription.Filter) ([]client.Subscription, error) {
	query := `SELECT body FROM delivery_subscriptions WHERE 1 = 1`
	var args []any
	if f.System != "" {
		query += ` AND system = ?`
		args = append(args, f.System)
	}
	if f.Concept != "" {
		query += ` AND concept = ?`
		args = append(args, f.Concept)
	}
	if f.Status != "" {
		query += ` AND status = ?`
		args = append(args, string(f.Status))
	}
	if f.After != "" {
		query += ` AND id > ?`
		args = append(args, f.After)
	}
	query += ` ORDER BY id`
	if f.Limit > 0 {
		query += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	out, err := sqldb.Query(ctx, s.db, scanJSON[client.Subscription], s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("list subscriptions: %w", err)
	}
	return out, nil
}

// scanJSON reads a row of one column, body, holding a T as JSON.
func scanJSON[T any](row sqldb.Scanner) (T, error) {
	var body string
	var v T
	if err := row.Scan(&body); err != nil {
		return v, err
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		return v, fmt.Errorf("decode: %w", err)
	}
	return v, nil
}

// Update implements subscription.Store.
func (s *Store) Update(ctx context.Context, id string, fn func(client.Subscription) (client.Subscription, client.SubscriptionChange, error)) (client.Subscription, error) {
	var out client.Subscription
	err := sqldb.InTx(ctx, s.db, func(tx *sql.Tx) error {
		cur, err := s.get(ctx, tx, id)
		if err != nil {
			return err
		}
		next, ch, err := fn(cur)
		if err != nil {
			return err
		}
		next.ID, next.Version = cur.ID, cur.Version+1
		body, err := json.Marshal(next)
		if err != nil {
			return fmt.Errorf("encode subscription: %w", err)
		}
		res, err := tx.ExecContext(ctx, s.q(`UPDATE delivery_subscriptions SET system = ?, concept = ?, status = ?, version = ?, body = ? WHERE id = ? AND version = ?`),
			next.System, next.Concept, string(next.Status), next.Version, string(body), id, cur.Version)
		if err != nil {
			return fmt.Errorf("update subscription %s: %w", id, err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return fmt.Errorf("update subscription %s: %w", id, subscription.ErrConflict)
		}
		if err := s.appendChange(ctx, tx, next, ch); err != nil {
			return err
		}
		out = next
		return nil
	})
	return out, err
}

// History implements subscription.Store.
func (s *Store) History(ctx context.Context, id string) ([]client.SubscriptionChange, error) {
	if _, err := s.Get(ctx, id); err != nil {
		return nil, err
	}
	out, err := sqldb.Query(ctx, s.db, scanJSON[client.SubscriptionChange], s.q(`SELECT body FROM delivery_subscription_history WHERE subscription_id = ? ORDER BY seq`), id)
	if err != nil {
		return nil, fmt.Errorf("history of %s: %w", id, err)
	}
	return out, nil
}
