package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"time"
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

// IntTime is t as an integer column: Unix time in unit (time.Millisecond,
// time.Microsecond or time.Nanosecond), and 0 for the zero time, so that
// "no time" is 0 on both databases and compares below every real one.
func IntTime(t time.Time, unit time.Duration) int64 {
	if t.IsZero() {
		return 0
	}
	switch unit {
	case time.Millisecond:
		return t.UnixMilli()
	case time.Microsecond:
		return t.UnixMicro()
	case time.Nanosecond:
		return t.UnixNano()
	}
	panic(fmt.Sprintf("sqldb.IntTime: unit %v is not a millisecond, microsecond or nanosecond", unit))
}

// FromIntTime is the time, in UTC, that IntTime made n from; the zero time
// for 0.
func FromIntTime(n int64, unit time.Duration) time.Time {
	if n == 0 {
		return time.Time{}
	}
	switch unit {
	case time.Millisecond:
		return time.UnixMilli(n).UTC()
	case time.Microsecond:
		return time.UnixMicro(n).UTC()
	case time.Nanosecond:
		return time.Unix(0, n).UTC()
	}
	panic(fmt.Sprintf("sqldb.FromIntTime: unit %v is not a millisecond, microsecond or nanosecond", unit))
}
