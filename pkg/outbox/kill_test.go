package outbox_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/outbox"
	"github.com/samnav/samnav/pkg/sdk/sqldb"
	"github.com/samnav/samnav/pkg/sqldb/sqldbtest"
)

// Environment of the child process TestRelayChildProcess runs as.
const (
	envChild   = "OUTBOX_RELAY_CHILD"
	envDialect = "OUTBOX_DIALECT"
	envDSN     = "OUTBOX_DSN"
	envBroker  = "OUTBOX_BROKER"
)

// TestRelayChildProcess is not a test: it is the relay process that
// testKillMidStream starts, by re-executing the test binary, and kills.
func TestRelayChildProcess(t *testing.T) {
	if os.Getenv(envChild) == "" {
		t.Skip("runs only as the child process of the kill test")
	}
	db, d := sqldbtest.Open(t, os.Getenv(envDSN))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	r, err := outbox.NewRelay(outbox.RelayConfig{DB: db, Dialect: d, Brokers: []string{os.Getenv(envBroker)},
		Name: "kill", Owner: os.Getenv(envChild), LeaseTTL: 2 * time.Second, WriteTimeout: 500 * time.Millisecond,
		PollInterval: 10 * time.Millisecond, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

// testKillMidStream is issue 4's proof: a relay process killed hard
// (SIGKILL) in the middle of 100,000 changes, and another started, lose
// none, and after deduplication by event id apply none twice. The broker
// lives in this process and outlives both relays.
func testKillMidStream(t *testing.T, s store) {
	if testing.Short() {
		t.Skip("100,000 changes through two relay processes")
	}
	const (
		tp      = "samnav.kill.v1"
		total   = 100_000
		perTx   = 1000
		killAt  = 20_000 // position the first relay passes before it is killed
		keys    = 5000
		payload = 200
	)
	db, dsn := s.open(t)
	b := brokerWith(t, topic(tp, 3))

	// Half the changes are committed before the first relay starts, so it
	// has a backlog when it is killed; the rest are committed while the
	// relays run and die.
	value := []byte(strings.Repeat("p", payload))
	write := func(from, to int) error {
		for i := from; i < to; i += perTx {
			es := make([]outbox.Entry, 0, perTx)
			for j := i; j < i+perTx; j++ {
				es = append(es, entry(tp, j%keys, j, value))
			}
			if err := appendErr(db, s.dialect, es); err != nil {
				return err
			}
		}
		return nil
	}
	began := time.Now()
	if err := write(0, total/2); err != nil {
		t.Fatalf("write changes: %v", err)
	}
	t.Logf("%d changes committed in %s", total/2, time.Since(began).Round(time.Millisecond))
	written := make(chan error, 1)
	go func() { written <- write(total/2, total) }()

	position := func() int64 {
		var p int64
		_ = db.QueryRow(`SELECT position FROM outbox_relays WHERE name = 'kill'`).Scan(&p)
		return p
	}
	first := startChild(t, s.dialect, dsn, b.Addr(), "relay-1")
	waitFor(t, 60*time.Second, fmt.Sprintf("the first relay to pass %d", killAt), func() (bool, error) {
		return position() >= killAt, nil
	})
	time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond) // anywhere in a write
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill first relay: %v", err)
	}
	_ = first.Wait()
	killedAt := position()
	t.Logf("first relay killed at position %d after %s", killedAt, time.Since(began).Round(time.Millisecond))

	second := startChild(t, s.dialect, dsn, b.Addr(), "relay-2")
	if err := <-written; err != nil {
		t.Fatalf("write changes: %v", err)
	}
	var maxID int64
	if err := db.QueryRow(`SELECT COALESCE(MAX(id), 0) FROM outbox_entries`).Scan(&maxID); err != nil {
		t.Fatal(err)
	}
	if killedAt >= maxID {
		t.Fatalf("first relay had published everything (%d of %d) before it was killed: not mid-stream", killedAt, maxID)
	}
	waitFor(t, 90*time.Second, "the second relay to publish everything", func() (bool, error) {
		return position() >= maxID, nil
	})
	t.Logf("second relay published everything after %s", time.Since(began).Round(time.Millisecond))
	_ = second.Process.Signal(syscall.SIGKILL)
	_ = second.Wait()

	got := consume(t, b.Addr(), tp, total, 300*time.Millisecond, 60*time.Second)
	// An idempotent consumer: applies an event id once, drops repeats.
	applied := make(map[string]bool, total)
	duplicates := 0
	lastSeq := map[int32]int{}
	for _, rec := range got.records {
		id := header(rec, "ce_id")
		if applied[id] {
			duplicates++
			continue
		}
		applied[id] = true
		// First occurrences within a partition are in commit order.
		seq, err := strconv.Atoi(header(rec, "seq"))
		if err != nil {
			t.Fatalf("record without seq header: %v", rec.Headers)
		}
		if prev, ok := lastSeq[rec.Partition]; ok && seq <= prev {
			t.Errorf("partition %d: first occurrence of seq %d after %d", rec.Partition, seq, prev)
		}
		lastSeq[rec.Partition] = seq
	}
	missing := 0
	for i := range total {
		if !applied["ev-"+strconv.Itoa(i)] {
			missing++
		}
	}
	t.Logf("%d records, %d distinct events, %d duplicates (resent after the kill), %d missing", len(got.records), len(applied), duplicates, missing)
	if missing != 0 || len(applied) != total {
		t.Fatalf("lost %d of %d changes (%d distinct arrived)", missing, total, len(applied))
	}
}

func appendErr(db *sql.DB, d sqldb.Dialect, es []outbox.Entry) error {
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := outbox.Append(ctx, tx, d, es...); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// startChild runs the relay in a new process: this test binary, running
// only TestRelayChildProcess.
func startChild(t *testing.T, d sqldb.Dialect, dsn, broker, owner string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestRelayChildProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), envChild+"="+owner, envDialect+"="+d.String(), envDSN+"="+dsn, envBroker+"="+broker)
	if testing.Verbose() {
		cmd.Args = append(cmd.Args, "-test.v")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start relay process: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}
