package outbox_test

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/embeddedkafka"
	"github.com/samnav/samnav/pkg/outbox"
	"github.com/samnav/samnav/pkg/pgtest"
	"github.com/samnav/samnav/pkg/sdk/kafkatopics"
	"github.com/samnav/samnav/pkg/sdk/sqldb"
)

// TestSQLite runs the suite on SQLite.
func TestSQLite(t *testing.T) {
	runSuite(t, sqliteStore())
}

// TestPostgres runs the suite, and the tests of concurrent commits only
// PostgreSQL has, on a throwaway PostgreSQL cluster.
func TestPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster")
	}
	s := postgresStore(pgtest.Start(t))
	runSuite(t, s)
	t.Run("OutOfOrderCommit", func(t *testing.T) { testOutOfOrderCommit(t, s) })
	t.Run("ConcurrentWriters", func(t *testing.T) { testConcurrentWriters(t, s) })
}

// runSuite is the contract every store must keep.
func runSuite(t *testing.T, s store) {
	t.Run("Migrate", func(t *testing.T) { testMigrate(t, s) })
	t.Run("AppendValidates", func(t *testing.T) { testAppendValidates(t, s) })
	t.Run("PublishesInCommitOrder", func(t *testing.T) { testPublishes(t, s) })
	t.Run("LeaseTakeover", func(t *testing.T) { testLeaseTakeover(t, s) })
	t.Run("PoisonEntry", func(t *testing.T) { testPoison(t, s) })
	t.Run("KillMidStream", func(t *testing.T) { testKillMidStream(t, s) })
}

func testMigrate(t *testing.T, s store) {
	db, _ := s.open(t)
	// open migrated once; twice more must change nothing and not fail.
	for range 2 {
		if err := outbox.Migrate(context.Background(), db, s.dialect); err != nil {
			t.Fatalf("migrate again: %v", err)
		}
	}
	if n := count(t, db, `SELECT COUNT(*) FROM outbox_schema_migrations`); n != 1 {
		t.Fatalf("outbox_schema_migrations has %d rows, want 1", n)
	}
	if err := outbox.Migrate(context.Background(), db, sqldb.Dialect(7)); err == nil || !strings.Contains(err.Error(), "dialect") {
		t.Fatalf("migrate with a bad dialect: got %v, want an error naming the dialect", err)
	}
}

func testAppendValidates(t *testing.T, s store) {
	db, _ := s.open(t)
	good := outbox.Entry{Topic: "samnav.person.v1", Key: []byte("k"), Value: []byte("v"), EventID: "e1"}
	tests := []struct {
		name  string
		entry func(e outbox.Entry) outbox.Entry
		want  string
	}{
		{"empty topic", func(e outbox.Entry) outbox.Entry { e.Topic = ""; return e }, "topic: must not be empty"},
		{"bad topic", func(e outbox.Entry) outbox.Entry { e.Topic = "a/b"; return e }, "topic: must contain only"},
		{"long topic", func(e outbox.Entry) outbox.Entry { e.Topic = strings.Repeat("a", 250); return e }, "topic: must be at most 249"},
		{"empty key", func(e outbox.Entry) outbox.Entry { e.Key = nil; return e }, "key: must not be empty"},
		{"empty event id", func(e outbox.Entry) outbox.Entry { e.EventID = ""; return e }, "event id: must not be empty"},
		{"empty header name", func(e outbox.Entry) outbox.Entry { e.Headers = map[string]string{"": "x"}; return e }, "headers: a header name must not be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			// A valid entry first: a bad one later must keep it out too.
			err = outbox.Append(ctx, tx, s.dialect, good, tt.entry(good))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "entry 1") {
				t.Fatalf("append: got %v, want an error naming entry 1 and %q", err, tt.want)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			if n := count(t, db, `SELECT COUNT(*) FROM outbox_entries`); n != 0 {
				t.Fatalf("outbox has %d entries after a refused append, want 0", n)
			}
		})
	}
}

// testPublishes: entries of committed transactions arrive, in commit order
// within each partition, with their headers; a nil value arrives as a Kafka
// null (tombstone) and an empty one as an empty value; entries of rolled
// back transactions never arrive.
func testPublishes(t *testing.T, s store) {
	const tp = "samnav.test.v1"
	db, b := s.openWithBroker(t, topic(tp, 3))
	ctx := context.Background()

	const n = 300
	var want []string
	for i := 0; i < n; i += 10 {
		var es []outbox.Entry
		for j := i; j < i+10; j++ {
			es = append(es, entry(tp, j%7, j, []byte("value-"+strconv.Itoa(j))))
		}
		if i%50 == 20 { // a rolled-back transaction between committed ones
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			rolled := entry(tp, 1, 10_000+i, []byte("never"))
			if err := outbox.Append(ctx, tx, s.dialect, rolled); err != nil {
				t.Fatal(err)
			}
			_ = tx.Rollback()
		}
		appendTx(t, db, s.dialect, es...)
		for _, e := range es {
			want = append(want, e.EventID)
		}
	}
	tomb := entry(tp, 3, n, nil)
	empty := entry(tp, 4, n+1, []byte{})
	ownID := entry(tp, 5, n+2, []byte("x"))
	ownID.Headers["ce_id"] = "custom-id"
	appendTx(t, db, s.dialect, tomb, empty, ownID)
	want = append(want, tomb.EventID, empty.EventID, "custom-id")

	r, err := outbox.NewRelay(outbox.RelayConfig{DB: db, Dialect: s.dialect, Brokers: []string{b.Addr()}, Name: "test",
		BatchSize: 64, PollInterval: 10 * time.Millisecond, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(rctx) }()
	waitFor(t, 30*time.Second, "lag 0", lagIs(t, r, 0))
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}

	got := consume(t, b.Addr(), tp, len(want), 200*time.Millisecond, 20*time.Second)
	for _, id := range want {
		if got.byID[id] == 0 {
			t.Errorf("event %s not published", id)
		}
	}
	if len(got.byID) != len(want) {
		t.Errorf("published %d distinct events, want %d (rolled-back ones must not be published)", len(got.byID), len(want))
	}
	// Commit order per partition: the seq header increases.
	lastSeq := map[int32]int{}
	for _, rec := range got.records {
		seq, _ := strconv.Atoi(header(rec, "seq"))
		if prev, ok := lastSeq[rec.Partition]; ok && seq <= prev {
			t.Errorf("partition %d: seq %d after %d: not in commit order", rec.Partition, seq, prev)
		}
		lastSeq[rec.Partition] = seq
		switch header(rec, "ce_id") {
		case tomb.EventID:
			if rec.Value != nil {
				t.Errorf("tombstone arrived with value %q, want null", rec.Value)
			}
		case empty.EventID:
			if rec.Value == nil || len(rec.Value) != 0 {
				t.Errorf("empty value arrived as %v (nil=%t), want empty non-null", rec.Value, rec.Value == nil)
			}
		case "ev-17":
			if !bytes.Equal(rec.Key, []byte("key-3")) || string(rec.Value) != "value-17" || header(rec, "ce_type") != "samnav.test.changed" {
				t.Errorf("ev-17 arrived as key %q value %q headers %v", rec.Key, rec.Value, rec.Headers)
			}
		}
	}
	// Acknowledged entries are removed from the outbox.
	if left := count(t, db, `SELECT COUNT(*) FROM outbox_entries`); left != 0 {
		t.Errorf("%d entries left in the outbox after all were acknowledged", left)
	}
}

// testLeaseTakeover: two relays, one publishes; cancelling it hands over to
// the other without losing an entry.
func testLeaseTakeover(t *testing.T, s store) {
	const tp = "samnav.lease.v1"
	db, b := s.openWithBroker(t, topic(tp, 2))
	cfg := func(owner string) outbox.RelayConfig {
		return outbox.RelayConfig{DB: db, Dialect: s.dialect, Brokers: []string{b.Addr()}, Name: "lease", Owner: owner,
			BatchSize: 50, PollInterval: 10 * time.Millisecond, LeaseTTL: 2 * time.Second, WriteTimeout: 500 * time.Millisecond}
	}
	stopA, _ := startRelay(t, cfg("a"))
	stopB, _ := startRelay(t, cfg("b"))
	owner := func() string {
		var o string
		if err := db.QueryRow(`SELECT owner FROM outbox_relays WHERE name = 'lease'`).Scan(&o); err != nil {
			return ""
		}
		return o
	}
	const n = 2000
	for i := 0; i < n/2; i += 100 {
		var es []outbox.Entry
		for j := i; j < i+100; j++ {
			es = append(es, entry(tp, j%13, j, []byte("v")))
		}
		appendTx(t, db, s.dialect, es...)
	}
	waitFor(t, 10*time.Second, "a lease holder", func() (bool, error) { return owner() != "", nil })
	first := owner()
	// Stop the holder while entries keep coming.
	if first == "a" {
		stopA()
	} else {
		stopB()
	}
	for i := n / 2; i < n; i += 100 {
		var es []outbox.Entry
		for j := i; j < i+100; j++ {
			es = append(es, entry(tp, j%13, j, []byte("v")))
		}
		appendTx(t, db, s.dialect, es...)
	}
	r, err := outbox.NewRelay(cfg("observer"))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "lag 0", lagIs(t, r, 0))
	if o := owner(); o == first || o == "" {
		t.Fatalf("lease owner %q after %q stopped, want the other relay", o, first)
	}
	got := consume(t, b.Addr(), tp, n, 200*time.Millisecond, 20*time.Second)
	for i := range n {
		if got.byID["ev-"+strconv.Itoa(i)] == 0 {
			t.Fatalf("event ev-%d lost in the takeover", i)
		}
	}
	if len(got.byID) != n {
		t.Fatalf("got %d distinct events, want %d", len(got.byID), n)
	}
	t.Logf("%d records for %d events (%d duplicates from the takeover)", len(got.records), n, len(got.records)-n)
}

// testPoison: an entry the broker refuses for good blocks the relay (not
// skipped, Lag counts it, last_error says why) until an operator skips it;
// the entries around it are published.
func testPoison(t *testing.T, s store) {
	db, _ := s.open(t)
	const tp = "samnav.poison.v1"
	b := startBroker(t, embeddedkafka.Config{Topics: []kafkatopics.Spec{topic(tp, 1)}, MaxMessageBytes: 4096})
	appendTx(t, db, s.dialect, entry(tp, 1, 1, []byte("small")), entry(tp, 1, 2, bytes.Repeat([]byte("x"), 8192)), entry(tp, 1, 3, []byte("small")))
	cfg := outbox.RelayConfig{DB: db, Dialect: s.dialect, Brokers: []string{b.Addr()}, Name: "poison",
		PollInterval: 10 * time.Millisecond, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Logger: testLogger(t)}
	r, err := outbox.NewRelay(cfg)
	if err != nil {
		t.Fatal(err)
	}
	runRelay(t, r)
	waitFor(t, 10*time.Second, "the poison error recorded", func() (bool, error) {
		var msg string
		_ = db.QueryRow(`SELECT last_error FROM outbox_relays WHERE name = 'poison'`).Scan(&msg)
		return strings.Contains(msg, "entry 2 ") && strings.Contains(msg, "ev-2"), nil
	})
	waitFor(t, 10*time.Second, "several retries of the poison entry", func() (bool, error) {
		st, err := r.Status(context.Background())
		return err == nil && st.Blocked != nil && st.Blocked.Entry == 2 && st.Blocked.Attempts >= 3, nil
	})
	if lag, err := r.Lag(context.Background()); err != nil || lag != 2 {
		t.Fatalf("lag with a poison entry = %d, %v; want 2 (the poison entry and the one after it)", lag, err)
	}
	if err := outbox.Skip(context.Background(), db, s.dialect, 2, "", "too big"); err == nil || !strings.Contains(err.Error(), "operator: must not be empty") {
		t.Fatalf("skip without operator: got %v", err)
	}
	if err := outbox.Skip(context.Background(), db, s.dialect, 99, "ops", "x"); !errors.Is(err, outbox.ErrNotFound) {
		t.Fatalf("skip of an absent entry: got %v, want ErrNotFound", err)
	}
	if err := outbox.Skip(context.Background(), db, s.dialect, 2, "ops@city", "payload over broker limit, incident 42"); err != nil {
		t.Fatalf("skip: %v", err)
	}
	waitFor(t, 10*time.Second, "lag 0", lagIs(t, r, 0))
	got := consume(t, b.Addr(), tp, 2, 200*time.Millisecond, 10*time.Second)
	if got.byID["ev-1"] == 0 || got.byID["ev-3"] == 0 || got.byID["ev-2"] != 0 || len(got.byID) != 2 {
		t.Fatalf("published %v, want ev-1 and ev-3 only", got.byID)
	}
}
