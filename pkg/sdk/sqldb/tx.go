package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// Beginner starts transactions: a *sql.DB, or a *sql.Conn when a
// transaction must run on one connection (one whose settings it changed).
type Beginner interface {
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

// TxError is a failure to begin or to commit a transaction, as InTx returns
// it, so that a store can tell it from its own errors (errors.As) and
// report it in its own terms (as unavailable, say).
type TxError struct {
	// Op is "begin" or "commit".
	Op  string
	Err error
}

func (e *TxError) Error() string { return e.Op + " transaction: " + e.Err.Error() }

func (e *TxError) Unwrap() error { return e.Err }

// InTx runs fn in a transaction that b begins and commits it when fn
// returns nil. When fn fails, or the commit does, the transaction is rolled
// back and nothing fn wrote stays. fn's error is returned as it is; a
// failure to begin or commit is returned as a *TxError. fn must not commit
// or roll back the transaction itself.
func InTx(ctx context.Context, b Beginner, fn func(tx *sql.Tx) error) (err error) {
	tx, err := b.BeginTx(ctx, nil)
	if err != nil {
		return &TxError{Op: "begin", Err: err}
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback() // the error being returned says what went wrong
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return &TxError{Op: "commit", Err: err}
	}
	return nil
}

// WriteLock serialises one store's writers in this process where the
// database admits only one writer at a time: on SQLite, waiting on a mutex
// is cheaper and fairer than queuing on busy_timeout. On PostgreSQL, whose
// row locks let writers of different rows run together, it does nothing.
// The zero value is unusable; make it with NewWriteLock. Copies share the
// lock.
type WriteLock struct {
	mu *sync.Mutex // nil: no lock (PostgreSQL)
}

// NewWriteLock returns the write lock for a store on d.
func NewWriteLock(d Dialect) WriteLock {
	if d == SQLite {
		return WriteLock{mu: &sync.Mutex{}}
	}
	return WriteLock{}
}

// Lock waits for the lock and returns its release:
//
//	defer s.lock.Lock()()
func (l WriteLock) Lock() (unlock func()) {
	if l.mu == nil {
		return func() {}
	}
	l.mu.Lock()
	return l.mu.Unlock
}

// Affected returns how many rows the statement whose result and error
// ExecContext returned changed, or the first of the two errors: one check
// for both.
func Affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("count affected rows: %w", err)
	}
	return n, nil
}
