package outbox_test

import (
	"context"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/outbox"
)

// testOutOfOrderCommit: T1 appends (and so draws the smaller id) and stays
// open while T2 appends and tries to commit; the relay runs meanwhile.
// Nothing may be published before T1 commits, and then both, T1 first. The
// control shows the same interleaving without Append's lock loses T1's entry
// to a relay reading "id > position": the test would catch that design.
func testOutOfOrderCommit(t *testing.T, s store) {
	const tp = "samnav.order.v1"
	b := brokerWith(t, topic(tp, 1))
	ctx := context.Background()

	t.Run("Append", func(t *testing.T) {
		db, _ := s.open(t)
		t1, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = t1.Rollback() }()
		if err := outbox.Append(ctx, t1, s.dialect, entry(tp, 1, 1, []byte("t1"))); err != nil {
			t.Fatal(err)
		}
		t2done := make(chan error, 1)
		go func() { t2done <- appendErr(db, s.dialect, []outbox.Entry{entry(tp, 2, 2, []byte("t2"))}) }()

		cfg := outbox.RelayConfig{DB: db, Dialect: s.dialect, Brokers: []string{b.Addr()}, Name: "order-append",
			PollInterval: 5 * time.Millisecond}
		startRelay(t, cfg)
		// T2 waiting on T1's lock is what keeps it from committing: wait
		// until PostgreSQL shows it waiting, while the relay polls.
		waitFor(t, 10*time.Second, "T2 waiting for T1's lock", func() (bool, error) {
			var n int
			err := db.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n)
			return n > 0, err
		})
		select {
		case err := <-t2done:
			t.Fatalf("T2 committed (err %v) while T1, holding the smaller id, was open", err)
		default:
		}
		if got := consume(t, b.Addr(), tp, 1, 0, 300*time.Millisecond); len(got.records) != 0 {
			t.Fatalf("published %d records before any transaction committed", len(got.records))
		}
		if err := t1.Commit(); err != nil {
			t.Fatal(err)
		}
		if err := <-t2done; err != nil {
			t.Fatalf("T2: %v", err)
		}
		r, _ := outbox.NewRelay(cfg)
		waitFor(t, 10*time.Second, "lag 0", lagIs(t, r, 0))
		got := consume(t, b.Addr(), tp, 2, 100*time.Millisecond, 10*time.Second)
		if len(got.records) != 2 || header(got.records[0], "ce_id") != "ev-1" || header(got.records[1], "ce_id") != "ev-2" {
			ids := []string{}
			for _, r := range got.records {
				ids = append(ids, header(r, "ce_id"))
			}
			t.Fatalf("published %v, want [ev-1 ev-2]", ids)
		}
	})

	t.Run("ControlWithoutLock", func(t *testing.T) {
		const ctp = "samnav.order.control.v1"
		db, b := s.openWithBroker(t, topic(ctp, 1))
		insert := `INSERT INTO outbox_entries (topic, msg_key, msg_value, headers, event_id, created_at_us) VALUES ($1, $2, $3, '{}', $4, 0)`
		t1, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = t1.Rollback() }()
		if _, err := t1.ExecContext(ctx, insert, ctp, []byte("k1"), []byte("t1"), "ev-1"); err != nil {
			t.Fatal(err)
		}
		mustExec(t, db, insert, ctp, []byte("k2"), []byte("t2"), "ev-2") // T2 commits id 2 first
		cfg := outbox.RelayConfig{DB: db, Dialect: s.dialect, Brokers: []string{b.Addr()}, Name: "order-control",
			PollInterval: 5 * time.Millisecond}
		stop, _ := startRelay(t, cfg)
		waitFor(t, 10*time.Second, "position 2", func() (bool, error) {
			var p int64
			_ = db.QueryRow(`SELECT position FROM outbox_relays WHERE name = 'order-control'`).Scan(&p)
			return p == 2, nil
		})
		if err := t1.Commit(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
		stop()
		got := consume(t, b.Addr(), ctp, 2, 100*time.Millisecond, 2*time.Second)
		if got.byID["ev-1"] != 0 {
			t.Fatalf("without the lock ev-1 was still published: the scenario no longer shows the hazard")
		}
		t.Logf("control: without Append's lock the relay skipped ev-1 (published %v)", got.byID)
	})
}

// testConcurrentWriters: many writers commit and roll back at random while
// the relay runs with small batches; every committed entry, and no rolled
// back one, is published.
func testConcurrentWriters(t *testing.T, s store) {
	const (
		tp      = "samnav.concurrent.v1"
		writers = 8
		txs     = 40
	)
	db, _ := s.open(t)
	db.SetMaxOpenConns(writers + 4)
	b := brokerWith(t, topic(tp, 3))
	cfg := outbox.RelayConfig{DB: db, Dialect: s.dialect, Brokers: []string{b.Addr()}, Name: "concurrent",
		BatchSize: 7, PollInterval: time.Millisecond}
	startRelay(t, cfg)

	var mu sync.Mutex
	committed := map[string]bool{}
	var wg sync.WaitGroup
	ctx := context.Background()
	for w := range writers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			for i := range txs {
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					t.Error(err)
					return
				}
				// Work before the append, of random length, as a service's
				// record update would take.
				time.Sleep(time.Duration(rng.IntN(2000)) * time.Microsecond)
				var es []outbox.Entry
				for j := range 1 + rng.IntN(3) {
					id := w*100_000 + i*10 + j
					es = append(es, entry(tp, rng.IntN(20), id, []byte(strconv.Itoa(id))))
				}
				if err := outbox.Append(ctx, tx, s.dialect, es...); err != nil {
					t.Error(err)
					_ = tx.Rollback()
					return
				}
				time.Sleep(time.Duration(rng.IntN(500)) * time.Microsecond)
				if rng.IntN(100) < 15 {
					_ = tx.Rollback()
					continue
				}
				if err := tx.Commit(); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, e := range es {
					committed[e.EventID] = true
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	r, _ := outbox.NewRelay(cfg)
	waitFor(t, 30*time.Second, "lag 0", lagIs(t, r, 0))
	got := consume(t, b.Addr(), tp, len(committed), 200*time.Millisecond, 20*time.Second)
	for id := range committed {
		if got.byID[id] == 0 {
			t.Errorf("committed event %s was skipped", id)
		}
	}
	for id := range got.byID {
		if !committed[id] {
			t.Errorf("event %s published but its transaction rolled back", id)
		}
	}
	t.Logf("%d committed events from %d writers, %d records published", len(committed), writers, len(got.records))
}
