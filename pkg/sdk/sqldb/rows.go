package sqldb

import (
	"context"
	"database/sql"
	"fmt"
)

// Scanner is a *sql.Row or *sql.Rows: what a store's function that reads
// one row of its own table is handed.
type Scanner interface {
	Scan(dest ...any) error
}

// Querier runs queries: a *sql.DB, *sql.Tx or *sql.Conn.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Query runs query on q and reads every row it returns with scan, in
// order:
//
//	subs, err := sqldb.Query(ctx, db, scanSubscription, `SELECT ...`, args...)
//
// It returns the query's error, the first error of scan, or the error that
// ended the rows; the caller wraps it with what it was reading. No rows
// give an empty slice, not nil (it encodes as [] in JSON).
func Query[T any](ctx context.Context, q Querier, scan func(Scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return Collect(rows, scan)
}

// Collect reads every row of rows with scan, in order, and closes rows;
// Query is it for a query not yet run.
func Collect[T any](rows *sql.Rows, scan func(Scanner) (T, error)) ([]T, error) {
	defer func() { _ = rows.Close() }() // read-only; rows.Err is checked below
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("scan row %d: %w", len(out)+1, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read rows: %w", err)
	}
	return out, nil
}
