package outbox_test

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samnav/samnav/pkg/embeddedkafka"
	"github.com/samnav/samnav/pkg/outbox"
	"github.com/samnav/samnav/pkg/pgtest"
	"github.com/samnav/samnav/pkg/sdk/kafkatopics"
	"github.com/samnav/samnav/pkg/sdk/poll"
	"github.com/samnav/samnav/pkg/sdk/sqldb"
	"github.com/samnav/samnav/pkg/sqldb/sqldbtest"
)

// store is one SQL backend the suite runs against.
type store struct {
	dialect sqldb.Dialect
	// open returns a fresh, migrated, empty outbox database and a string
	// another process can open it with (openDSN).
	open func(t testing.TB) (*sql.DB, string)
}

func sqliteStore() store {
	return store{dialect: sqldb.SQLite, open: func(t testing.TB) (*sql.DB, string) {
		url := "sqlite:" + filepath.Join(t.TempDir(), "outbox.db")
		return openMigrated(t, url), url
	}}
}

// postgresStore keeps its databases in cluster.
func postgresStore(cluster *pgtest.Cluster) store {
	return store{dialect: sqldb.Postgres, open: func(t testing.TB) (*sql.DB, string) {
		dsn := cluster.NewDatabase(t)
		return openMigrated(t, dsn), dsn
	}}
}

// openDB opens the database url names, as the services do (sqldb.Open).
func openMigrated(t testing.TB, url string) *sql.DB {
	t.Helper()
	db, d := sqldbtest.Open(t, url)
	if err := outbox.Migrate(context.Background(), db, d); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db
}

// startBroker starts an embedded broker with the given topics.
func startBroker(t testing.TB, cfg embeddedkafka.Config) *embeddedkafka.Broker {
	t.Helper()
	b, err := embeddedkafka.Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("start broker: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// openWithBroker opens a fresh migrated database of s and starts a broker
// holding topics: what a test of a relay starts with.
func (s store) openWithBroker(t testing.TB, topics ...kafkatopics.Spec) (*sql.DB, *embeddedkafka.Broker) {
	t.Helper()
	db, _ := s.open(t)
	return db, brokerWith(t, topics...)
}

// brokerWith starts a broker holding topics.
func brokerWith(t testing.TB, topics ...kafkatopics.Spec) *embeddedkafka.Broker {
	t.Helper()
	return startBroker(t, embeddedkafka.Config{Topics: topics})
}

func topic(name string, partitions int) kafkatopics.Spec {
	return kafkatopics.Spec{Name: name, Partitions: partitions}
}

// appendTx appends entries in one committed transaction.
func appendTx(t testing.TB, db *sql.DB, d sqldb.Dialect, entries ...outbox.Entry) {
	t.Helper()
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	if err := outbox.Append(ctx, tx, d, entries...); err != nil {
		_ = tx.Rollback()
		t.Fatalf("append: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatalf("commit: %v", err)
	}
}

func entry(topic string, key, id int, value []byte) outbox.Entry {
	return outbox.Entry{
		Topic:   topic,
		Key:     []byte("key-" + strconv.Itoa(key)),
		Value:   value,
		EventID: "ev-" + strconv.Itoa(id),
		Headers: map[string]string{"ce_type": "samnav.test.changed", "seq": strconv.Itoa(id)},
	}
}

// startRelay runs a relay until the test ends or cancel is called; done is
// closed when Run returned.
func startRelay(t testing.TB, cfg outbox.RelayConfig) (cancel func(), done <-chan struct{}) {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	r, err := outbox.NewRelay(cfg)
	if err != nil {
		t.Fatalf("new relay: %v", err)
	}
	return runRelay(t, r)
}

// runRelay runs r until the test ends or cancel is called; done is closed
// when Run returned.
func runRelay(t testing.TB, r *outbox.Relay) (cancel func(), done <-chan struct{}) {
	t.Helper()
	ctx, cancelCtx := context.WithCancel(context.Background())
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		if err := r.Run(ctx); err != nil {
			t.Errorf("relay run: %v", err)
		}
	}()
	stop := func() { cancelCtx(); <-ch }
	t.Cleanup(stop)
	return stop, ch
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})).With("test", t.Name())
	}
	return slog.New(slog.DiscardHandler)
}

// consumed is what a consumer read from a topic.
type consumed struct {
	records []*kgo.Record
	byID    map[string]int // event id -> occurrences
}

// consume reads topic from the start until want distinct event ids arrived
// and nothing new came for quiet, or timeout passed.
func consume(t testing.TB, addr, topic string, want int, quiet, timeout time.Duration) consumed {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		t.Fatalf("new consumer: %v", err)
	}
	defer cl.Close()
	c := consumed{byID: map[string]int{}}
	deadline := time.Now().Add(timeout)
	last := time.Now()
	for time.Now().Before(deadline) {
		if len(c.byID) >= want && time.Since(last) > quiet {
			break
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachError(func(_ string, _ int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Logf("fetch: %v", err)
			}
		})
		fs.EachRecord(func(r *kgo.Record) {
			c.records = append(c.records, r)
			c.byID[header(r, "ce_id")]++
			last = time.Now()
		})
	}
	return c
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// waitFor waits with poll.True until cond holds or timeout passes; an
// error from cond fails the test at once.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	poll.True(poll.Within(t, timeout), t, what, func() bool {
		ok, err := cond()
		if err != nil {
			t.Fatalf("wait for %s: %v", what, err)
		}
		return ok
	})
}

func lagIs(t testing.TB, r *outbox.Relay, want int64) func() (bool, error) {
	return func() (bool, error) {
		lag, err := r.Lag(context.Background())
		return lag == want, err
	}
}

func mustExec(t testing.TB, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.ExecContext(context.Background(), q, args...); err != nil {
		t.Fatalf("exec %s: %v", q, err)
	}
}

func count(t testing.TB, db *sql.DB, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("query %s: %v", q, err)
	}
	return n
}
