package sqldb

import (
	"context"
	"database/sql"
	"sync"
)

// Stmts is a store's cache of prepared statements: each query text is
// prepared once on the database, the first time it runs, and kept for the
// store's life (database/sql prepares it again, once, on each connection
// it runs on). It saves parsing the SQL on every call, which on SQLite
// (modernc.org/sqlite) was a third of the webhook dispatcher's CPU; pgx
// caches statements per connection by itself, so a store may prepare on
// SQLite only. The statements are released with the database. Safe for
// concurrent use.
//
// A transaction that prepares a statement may do so on another connection
// while it holds its own: a store that prepares inside transactions needs
// a pool of at least two connections.
type Stmts struct {
	db      *sql.DB
	prepare bool
	mu      sync.Mutex
	m       map[string]*sql.Stmt
}

// NewStmts returns a cache on db. With prepare false it prepares nothing:
// every statement runs unprepared.
func NewStmts(db *sql.DB, prepare bool) *Stmts {
	return &Stmts{db: db, prepare: prepare, m: map[string]*sql.Stmt{}}
}

// prepared returns query prepared on the database, or nil when c prepares
// nothing or preparing failed: the caller then runs query unprepared,
// which reports the same error, so a prepare error never fails a
// statement in a way of its own.
func (c *Stmts) prepared(ctx context.Context, query string) *sql.Stmt {
	if !c.prepare {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[query]; ok {
		return st
	}
	st, err := c.db.PrepareContext(ctx, query) //nolint:sqlclosecheck // kept for the cache's life, released with the database
	if err != nil {
		return nil
	}
	c.m[query] = st
	return st
}

// In returns a Runner of c's statements in tx, or on the database when tx
// is nil.
func (c *Stmts) In(tx *sql.Tx) *Runner {
	return &Runner{c: c, tx: tx}
}

// Runner runs statements through a Stmts cache, in one transaction or on
// the database. A Runner of a transaction is for that transaction's
// goroutine only; one on the database is safe for concurrent use.
type Runner struct {
	c  *Stmts
	tx *sql.Tx
	// txStmts are the cached statements bound to tx, each bound once;
	// they are closed when tx ends.
	txStmts map[string]*sql.Stmt
}

// Tx is the Runner's transaction, nil on the database.
func (r *Runner) Tx() *sql.Tx { return r.tx }

func (r *Runner) stmt(ctx context.Context, query string) *sql.Stmt {
	if r.tx == nil {
		return r.c.prepared(ctx, query)
	}
	if st, ok := r.txStmts[query]; ok {
		return st
	}
	base := r.c.prepared(ctx, query)
	if base == nil {
		return nil
	}
	st := r.tx.StmtContext(ctx, base) //nolint:sqlclosecheck // a statement of the transaction, closed when it ends
	if r.txStmts == nil {
		r.txStmts = map[string]*sql.Stmt{}
	}
	r.txStmts[query] = st
	return st
}

// ExecContext runs query, prepared once, with args.
func (r *Runner) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := r.stmt(ctx, query); st != nil { //nolint:sqlclosecheck // the cache's statement, or one its transaction closes
		return st.ExecContext(ctx, args...)
	}
	if r.tx != nil {
		return r.tx.ExecContext(ctx, query, args...)
	}
	return r.c.db.ExecContext(ctx, query, args...)
}

// QueryContext runs query, prepared once, with args.
func (r *Runner) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := r.stmt(ctx, query); st != nil { //nolint:sqlclosecheck // the cache's statement, or one its transaction closes
		return st.QueryContext(ctx, args...)
	}
	if r.tx != nil {
		return r.tx.QueryContext(ctx, query, args...)
	}
	return r.c.db.QueryContext(ctx, query, args...)
}

// QueryRowContext runs query, prepared once, with args.
func (r *Runner) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := r.stmt(ctx, query); st != nil { //nolint:sqlclosecheck // the cache's statement, or one its transaction closes
		return st.QueryRowContext(ctx, args...)
	}
	if r.tx != nil {
		return r.tx.QueryRowContext(ctx, query, args...)
	}
	return r.c.db.QueryRowContext(ctx, query, args...)
}
