package sqldb_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/samnav/samnav/pkg/sdk/sqldb"
)

func widgets(t *testing.T) *sql.DB {
	t.Helper()
	db, _ := open(t, "sqlite:"+filepath.Join(t.TempDir(), "tx.db"))
	if _, err := db.ExecContext(context.Background(), `CREATE TABLE widgets (id TEXT PRIMARY KEY, n BIGINT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	return db
}

func count(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM widgets`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestInTx(t *testing.T) {
	ctx := context.Background()
	db := widgets(t)
	insert := func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO widgets (id, n) VALUES ('a', 1)`)
		return err
	}
	errFn := errors.New("fn failed")
	err := sqldb.InTx(ctx, db, func(tx *sql.Tx) error {
		if err := insert(tx); err != nil {
			return err
		}
		return errFn
	})
	var txErr *sqldb.TxError
	if !errors.Is(err, errFn) || errors.As(err, &txErr) {
		t.Fatalf("InTx = %v; want fn's error as it is", err)
	}
	if n := count(t, db); n != 0 {
		t.Fatalf("%d rows after a failed fn; want its write rolled back", n)
	}
	if err := sqldb.InTx(ctx, db, insert); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db); n != 1 {
		t.Fatalf("%d rows after a committed fn; want 1", n)
	}
	closed := widgets(t)
	_ = closed.Close()
	if err := sqldb.InTx(ctx, closed, insert); !errors.As(err, &txErr) || txErr.Op != "begin" || !strings.HasPrefix(err.Error(), "begin transaction: ") {
		t.Fatalf("InTx on a closed database = %v; want a *TxError of begin", err)
	}
}

func TestQuery(t *testing.T) {
	ctx := context.Background()
	db := widgets(t)
	scanID := func(row sqldb.Scanner) (string, error) {
		var id string
		err := row.Scan(&id)
		return id, err
	}
	got, err := sqldb.Query(ctx, db, scanID, `SELECT id FROM widgets ORDER BY id`)
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("Query of no rows = %#v, %v; want an empty, non-nil slice", got, err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO widgets (id, n) VALUES ('b', 2), ('a', 1)`); err != nil {
		t.Fatal(err)
	}
	got, err = sqldb.Query(ctx, db, scanID, `SELECT id FROM widgets WHERE n > $1 ORDER BY id`, 0)
	if err != nil || strings.Join(got, ",") != "a,b" {
		t.Fatalf("Query = %v, %v; want a,b", got, err)
	}
	bad := func(row sqldb.Scanner) (string, error) {
		var id string
		err := row.Scan(&id, new(int))
		if err == nil {
			err = errors.New("refused")
		}
		return id, err
	}
	if _, err := sqldb.Query(ctx, db, bad, `SELECT id, n FROM widgets ORDER BY id`); err == nil || !strings.Contains(err.Error(), "scan row 1") {
		t.Fatalf("Query with a failing scan = %v; want the row named", err)
	}
	if _, err := sqldb.Query(ctx, db, scanID, `SELECT nosuch FROM widgets`); err == nil {
		t.Fatal("Query of a bad statement: no error")
	}
	n, err := sqldb.Affected(db.ExecContext(ctx, `UPDATE widgets SET n = 3 WHERE n < 3`))
	if err != nil || n != 2 {
		t.Fatalf("Affected = %d, %v; want 2", n, err)
	}
	if _, err := sqldb.Affected(db.ExecContext(ctx, `UPDATE nosuch SET n = 3`)); err == nil {
		t.Fatal("Affected of a failed statement: no error")
	}
}

// TestStmts runs statements through the cache in and outside a
// transaction, prepared and not: a transaction's reads see its writes, and
// a statement that cannot be prepared reports its error when it runs.
func TestStmts(t *testing.T) {
	ctx := context.Background()
	for _, prepare := range []bool{true, false} {
		db := widgets(t)
		c := sqldb.NewStmts(db, prepare)
		err := sqldb.InTx(ctx, db, func(tx *sql.Tx) error {
			r := c.In(tx)
			for _, id := range []string{"a", "b"} {
				if _, err := r.ExecContext(ctx, `INSERT INTO widgets (id, n) VALUES ($1, 1)`, id); err != nil {
					return err
				}
			}
			var n int
			if err := r.QueryRowContext(ctx, `SELECT COUNT(*) FROM widgets`).Scan(&n); err != nil || n != 2 {
				t.Errorf("prepare=%v: count in the transaction = %d, %v; want 2", prepare, n, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := sqldb.Query(ctx, c.In(nil), func(row sqldb.Scanner) (string, error) {
			var id string
			err := row.Scan(&id)
			return id, err
		}, `SELECT id FROM widgets ORDER BY id`)
		if err != nil || strings.Join(got, ",") != "a,b" {
			t.Fatalf("prepare=%v: Query = %v, %v; want a,b", prepare, got, err)
		}
		if _, err := c.In(nil).ExecContext(ctx, `UPDATE nosuch SET n = 1`); err == nil || !strings.Contains(err.Error(), "nosuch") {
			t.Fatalf("prepare=%v: a bad statement = %v; want its error", prepare, err)
		}
	}
}

// TestWriteLock runs writers at once: on SQLite never two inside the lock,
// on PostgreSQL all of them.
func TestWriteLock(t *testing.T) {
	for d, wantMax := range map[sqldb.Dialect]int32{sqldb.SQLite: 1, sqldb.Postgres: 8} {
		l := sqldb.NewWriteLock(d)
		var inside, most atomic.Int32
		var all sync.WaitGroup
		start := make(chan struct{})
		var entered sync.WaitGroup
		entered.Add(8)
		for range 8 {
			all.Add(1)
			go func() {
				defer all.Done()
				<-start
				defer l.Lock()()
				n := inside.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				if d == sqldb.Postgres {
					entered.Done()
					entered.Wait() // every writer inside at once, or this never returns
				}
				runtime.Gosched()
				inside.Add(-1)
			}()
		}
		close(start)
		all.Wait()
		if got := most.Load(); got != wantMax {
			t.Errorf("%s: at most %d writers inside the lock at once, want %d", d, got, wantMax)
		}
	}
}
