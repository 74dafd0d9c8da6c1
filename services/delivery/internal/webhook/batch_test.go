package webhook_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/keyring"
	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/pkg/sdk/sqldb"
	_ "github.com/samnav/samnav/pkg/sqldb/drivers" // the drivers sqldb.Open uses
	"github.com/samnav/samnav/services/delivery/internal/channel"
	"github.com/samnav/samnav/services/delivery/internal/pipeline"
	"github.com/samnav/samnav/services/delivery/internal/webhook"
	"github.com/samnav/samnav/services/delivery/internal/webhook/sqlstore"
)

// The pipeline hands a webhook subscription's events over in batches.
var _ pipeline.Batcher = (*webhook.Service)(nil)

func TestDeliverBatchRefusesAllIfOneIsBad(t *testing.T) {
	rc := newReceiver(t, nil)
	svc := start(t, webhook.Config{})
	register(t, svc, rc.URL)
	ctx := context.Background()
	bad := event("e3", "", 1) // no record key
	err := svc.DeliverBatch(ctx, sub1, []channel.Event{event("e1", "A", 1), event("e2", "B", 1), bad, event("e4", "C", 1)})
	if apierr.CodeOf(err) != apierr.CodeInvalid || !strings.Contains(err.Error(), "event 2 (e3)") {
		t.Fatalf("batch with a bad event: %v, want invalid naming event 2 (e3)", err)
	}
	other := sub1
	other.ID = "sub2"
	if err := svc.DeliverBatch(ctx, other, []channel.Event{event("e1", "A", 1)}); apierr.CodeOf(err) != apierr.CodeNotFound {
		t.Fatalf("batch for a subscription without an endpoint: %v, want not_found", err)
	}
	// Offered again without the bad event (and with a repeat), the batch
	// is queued whole and sent once per event, in order per key.
	evs := []channel.Event{event("e1", "A", 1), event("e2", "B", 1), event("e4", "A", 2), event("e1", "A", 1), event("e5", "B", 2)}
	if err := svc.DeliverBatch(ctx, sub1, evs); err != nil {
		t.Fatal(err)
	}
	if err := svc.DeliverBatch(ctx, sub1, evs); err != nil { // the pipeline offering it again
		t.Fatal(err)
	}
	// A wrong fifth (a repeat queued twice, a delivered message sent
	// again) is in key A or B and would be sent before a marker queued
	// after it in the same key: messages of a key go out in order.
	deliver(t, svc, event("m-A", "A", 3), event("m-B", "B", 3))
	waitFor(t, "the markers", func() bool {
		got := rc.delivered()
		return slices.Contains(got, "m-A") && slices.Contains(got, "m-B")
	})
	got := slices.DeleteFunc(rc.delivered(), isMarker)
	slices.Sort(got)
	if want := []string{"e1", "e2", "e4", "e5"}; !slices.Equal(got, want) {
		t.Fatalf("delivered %v, want %v once each (e3 never)", got, want)
	}
	var a, b []string
	for _, r := range rc.requests() {
		if isMarker(r.Env.ID) {
			continue
		}
		if r.Env.Subject == "A" {
			a = append(a, r.Env.ID)
		} else {
			b = append(b, r.Env.ID)
		}
	}
	if !slices.Equal(a, []string{"e1", "e4"}) || !slices.Equal(b, []string{"e2", "e5"}) {
		t.Fatalf("key A got %v, key B %v; want [e1 e4] and [e2 e5]", a, b)
	}
}

// isMarker reports whether id is one of the marker events a test queues
// after what it checks.
func isMarker(id string) bool { return strings.HasPrefix(id, "m-") }

func TestDeliverBatchKeepsOrderPerKeyAcrossRetries(t *testing.T) {
	// Every key's first event fails once: nothing after it in its key may
	// arrive before its retry succeeds.
	rc := newReceiver(t, func(r received, n int) int {
		if strings.HasSuffix(r.Env.ID, "-0") && n == 1 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	svc := start(t, webhook.Config{Workers: 4})
	register(t, svc, rc.URL)
	const keys, perKey = 8, 5
	var evs []channel.Event
	for i := range perKey {
		for k := range keys {
			evs = append(evs, event(fmt.Sprintf("k%d-%d", k, i), fmt.Sprintf("k%d", k), int64(i+1)))
		}
	}
	if err := svc.DeliverBatch(context.Background(), sub1, evs); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every event delivered", func() bool { return len(rc.delivered()) == keys*perKey })
	seen := map[string][]string{}
	for _, r := range rc.requests() {
		seen[r.Env.Subject] = append(seen[r.Env.Subject], r.Env.ID)
	}
	for k := range keys {
		key := fmt.Sprintf("k%d", k)
		want := []string{key + "-0", key + "-0"} // failed, then retried
		for i := 1; i < perKey; i++ {
			want = append(want, fmt.Sprintf("%s-%d", key, i))
		}
		if !slices.Equal(seen[key], want) {
			t.Errorf("key %s arrived as %v, want %v", key, seen[key], want)
		}
	}
}

// crashChildEnv names the database a crash-test child fills until killed.
const crashChildEnv = "SAMNAV_WEBHOOK_CRASH_CHILD_DB"

const crashBatch = 300

// TestCrashMidBatchLosesNothingAcknowledged kills (SIGKILL) a process
// that queues batch after batch with DeliverBatch and prints each batch
// it got nil for. After the kill, every acknowledged batch must be in the
// queue whole, and every other batch whole or not at all.
func TestCrashMidBatchLosesNothingAcknowledged(t *testing.T) {
	if path := os.Getenv(crashChildEnv); path != "" {
		crashChild(path)
		return
	}
	path := filepath.Join(t.TempDir(), "wh.db")
	db, d, err := sqldb.Open("sqlite:" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := sqlstore.Migrate(context.Background(), db, d); err != nil {
		t.Fatal(err)
	}
	keys, err := keyring.LoadOrCreateFile(path + ".key")
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.New(t.Context(), db, d, keys)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := webhook.New(projecting(t, webhook.Config{Store: st, Addresses: webhook.AddressPolicy{AllowPrivate: true}, Logger: discard()}))
	if err != nil {
		t.Fatal(err)
	}
	register(t, svc, "http://127.0.0.1:9/hook")

	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashMidBatchLosesNothingAcknowledged$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill half a batch's time after the fifth acknowledgement: in the
	// middle of the next batch's work.
	acked := map[int]bool{}
	var first time.Time
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		n, err := strconv.Atoi(strings.TrimPrefix(lines.Text(), "acked "))
		if err != nil {
			continue // the test framework's own output
		}
		acked[n] = true
		switch len(acked) {
		case 1:
			first = time.Now()
		case 5:
			go func() {
				time.Sleep(time.Since(first) / 4 / 2)
				_ = cmd.Process.Kill()
			}()
		}
	}
	_ = cmd.Wait()
	if len(acked) < 5 {
		t.Fatalf("the child acknowledged only %d batches before it ended", len(acked))
	}
	var ok string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity check: %q, %v", ok, err)
	}
	rows, err := db.Query(`SELECT event_id FROM wh_messages`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	per := map[int]int{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		var b, e int
		if _, err := fmt.Sscanf(id, "b%d-e%d", &b, &e); err != nil {
			t.Fatalf("unexpected event %q", id)
		}
		per[b]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for b := range acked {
		if per[b] != crashBatch {
			t.Errorf("acknowledged batch %d: %d of %d events queued after the crash", b, per[b], crashBatch)
		}
	}
	for b, n := range per {
		if n != crashBatch {
			t.Errorf("batch %d queued in part: %d of %d events", b, n, crashBatch)
		}
	}
	t.Logf("killed after %d acknowledged batches; %d batches queued (the batch in flight at the kill %s)", len(acked), len(per),
		map[bool]string{true: "committed before the kill", false: "rolled back"}[len(per) > len(acked)])
}

// crashChild queues batches into the database at path until it is killed,
// printing "acked <n>" once DeliverBatch returned nil for batch n.
func crashChild(path string) {
	db, d, err := sqldb.Open("sqlite:" + path)
	if err != nil {
		panic(err)
	}
	keys, err := keyring.LoadFile(path + ".key")
	if err != nil {
		panic(err)
	}
	st, err := sqlstore.New(context.Background(), db, d, keys)
	if err != nil {
		panic(err)
	}
	cfg, err := withProjection(webhook.Config{Store: st, Logger: discard()})
	if err != nil {
		panic(err)
	}
	svc, err := webhook.New(cfg)
	if err != nil {
		panic(err)
	}
	w := bufio.NewWriter(os.Stdout)
	for b := 0; ; b++ {
		evs := make([]channel.Event, crashBatch)
		for i := range evs {
			evs[i] = event(fmt.Sprintf("b%d-e%d", b, i), fmt.Sprintf("k%d", i%50), int64(b+1))
		}
		if err := svc.DeliverBatch(context.Background(), sub1, evs); err != nil {
			panic(err)
		}
		fmt.Fprintf(w, "acked %d\n", b)
		_ = w.Flush()
	}
}
