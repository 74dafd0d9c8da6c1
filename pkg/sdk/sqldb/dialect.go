package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
)

// Dialect is the SQL database behind a *sql.DB: what a store asks when the
// two databases need different SQL. The zero value is no dialect, so a
// store handed an unset Dialect fails (Valid) instead of guessing.
type Dialect int

const (
	// SQLite is modernc.org/sqlite (database/sql driver "sqlite"), the
	// embedded default.
	SQLite Dialect = iota + 1
	// Postgres is PostgreSQL 15+ through pgx v5's database/sql driver.
	Postgres
)

func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	}
	return fmt.Sprintf("dialect(%d)", int(d))
}

// Valid reports an error naming the rule when d is neither SQLite nor
// Postgres.
func (d Dialect) Valid() error {
	if d != SQLite && d != Postgres {
		return fmt.Errorf("dialect: must be sqlite or postgres, got %v", d)
	}
	return nil
}

// Rebind rewrites the ? placeholders of query as $1, $2, ... for
// PostgreSQL and returns it unchanged for SQLite, so a store can write a
// statement once. A ? inside a quoted string literal or identifier is kept.
// (Both databases also accept $n, which needs no rebinding.)
func (d Dialect) Rebind(query string) string {
	if d != Postgres || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	var quote rune
	for _, r := range query {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case r == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// NowMillis is an SQL expression for the database server's current time
// in Unix milliseconds, as a 64-bit integer. Leases compared on one clock
// (the database's) stay correct when the processes' clocks disagree.
func (d Dialect) NowMillis() string {
	if d == Postgres {
		return `(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT`
	}
	return `CAST(unixepoch('subsec') * 1000 AS INTEGER)`
}

// LockTx takes the PostgreSQL transaction-level advisory lock key in tx,
// held until tx ends, so writers in every process that use the same key
// take turns. On SQLite it does nothing: a database opened by Open begins
// every transaction IMMEDIATE, which already admits one writer at a time.
func (d Dialect) LockTx(ctx context.Context, tx *sql.Tx, key int64) error {
	if d != Postgres {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, key); err != nil {
		return fmt.Errorf("take advisory lock %d: %w", key, err)
	}
	return nil
}
