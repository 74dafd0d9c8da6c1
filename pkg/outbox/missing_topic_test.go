package outbox_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/samnav/samnav/pkg/outbox"
	"github.com/samnav/samnav/pkg/sdk/kafkatopics"
)

// TestUnknownTopicCreated: an entry whose topic does not exist, between
// entries of a topic that does, is published once OnUnknownTopic created
// the topic; every topic receives its entries in commit order.
func TestUnknownTopicCreated(t *testing.T) {
	s := sqliteStore()
	const have, missing = "samnav.have.v1", "samnav.missing.v1"
	db, b := s.openWithBroker(t, topic(have, 1))
	appendTx(t, db, s.dialect, entry(have, 1, 1, []byte("v")), entry(missing, 1, 2, []byte("v")))
	appendTx(t, db, s.dialect, entry(have, 1, 3, []byte("v")), entry(missing, 1, 4, []byte("v")), entry(have, 1, 5, []byte("v")))

	var (
		mu    sync.Mutex
		asked []string
	)
	cfg := outbox.RelayConfig{DB: db, Dialect: s.dialect, Brokers: []string{b.Addr()}, Name: "create",
		PollInterval: 10 * time.Millisecond, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		OnUnknownTopic: func(ctx context.Context, client *kafka.Client, tp string) error {
			mu.Lock()
			asked = append(asked, tp)
			mu.Unlock()
			return kafkatopics.Ensure(ctx, client, topic(tp, 2))
		}}
	r, err := outbox.NewRelay(cfg)
	if err != nil {
		t.Fatal(err)
	}
	runRelay(t, r)
	waitFor(t, 20*time.Second, "lag 0", lagIs(t, r, 0))

	mu.Lock()
	if len(asked) == 0 || asked[0] != missing {
		t.Errorf("OnUnknownTopic asked for %v, want %s", asked, missing)
	}
	mu.Unlock()
	for tp, want := range map[string][]string{have: {"ev-1", "ev-3", "ev-5"}, missing: {"ev-2", "ev-4"}} {
		if got := firstOccurrences(consume(t, b.Addr(), tp, len(want), 200*time.Millisecond, 10*time.Second)); !equal(got, want) {
			t.Errorf("%s received %v, want %v", tp, got, want)
		}
	}
	st, err := r.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Blocked != nil || st.Pending != 0 {
		t.Errorf("status after recovery = %+v (blocked %+v), want not blocked and nothing pending", st, st.Blocked)
	}
}

// TestUnknownTopicBlocked: a missing topic the hook will not create (or
// with no hook) blocks the relay at its entry: Status and the stall gauge
// name it, nothing after it is published, and once an operator creates the
// topic everything follows in order.
func TestUnknownTopicBlocked(t *testing.T) {
	tests := []struct {
		name string
		hook func(context.Context, *kafka.Client, string) error
		want string // in the blocking error
	}{
		{"no hook", nil, "does not exist on the broker"},
		{"hook refuses", func(context.Context, *kafka.Client, string) error { return errors.New("not a topic of ours") },
			"was not created: not a topic of ours"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sqliteStore()
			const have, missing = "samnav.have.v1", "samnav.foreign.v1"
			db, b := s.openWithBroker(t, topic(have, 1))
			appendTx(t, db, s.dialect, entry(have, 1, 1, []byte("v")), entry(missing, 1, 2, []byte("v")), entry(have, 1, 3, []byte("v")))
			reader := sdkmetric.NewManualReader()
			cfg := outbox.RelayConfig{DB: db, Dialect: s.dialect, Brokers: []string{b.Addr()}, Name: "blocked",
				PollInterval: 10 * time.Millisecond, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
				OnUnknownTopic: tt.hook, MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))}
			r, err := outbox.NewRelay(cfg)
			if err != nil {
				t.Fatal(err)
			}
			runRelay(t, r)

			var st outbox.RelayStatus
			waitFor(t, 20*time.Second, "the relay blocked at entry 2, retried", func() (bool, error) {
				st, _ = r.Status(context.Background())
				return st.Blocked != nil && st.Blocked.Entry == 2 && st.Blocked.Attempts >= 3, nil
			})
			blk := st.Blocked
			if !st.Leader || blk.Topic != missing || !blk.UnknownTopic || !strings.Contains(blk.Err, `"`+missing+`"`) ||
				!strings.Contains(blk.Err, tt.want) || blk.Since.IsZero() {
				t.Errorf("blocked = %+v, want leader, entry 2 of unknown topic %s, error naming it and %q", blk, missing, tt.want)
			}
			if st.Position != 1 || st.Pending != 2 {
				t.Errorf("position %d, pending %d; want 1 and 2", st.Position, st.Pending)
			}
			if !st.Stalled(blk.Since.Add(time.Second), 0) || st.Stalled(blk.Since, time.Hour) {
				t.Errorf("Stalled does not compare the block's age with the threshold: %+v", blk)
			}
			var lastErr string
			if err := db.QueryRow(`SELECT last_error FROM outbox_relays WHERE name = 'blocked'`).Scan(&lastErr); err != nil || !strings.Contains(lastErr, missing) {
				t.Errorf("last_error = %q, %v; want it to name %s", lastErr, err, missing)
			}
			if g := stalledGauge(t, reader); g <= 0 {
				t.Errorf("samnav.outbox.stalled = %v while blocked, want > 0", g)
			}
			// Entry 3 was committed after the blocked one: it must wait.
			if got := firstOccurrences(consume(t, b.Addr(), have, 2, 300*time.Millisecond, 2*time.Second)); !equal(got, []string{"ev-1"}) {
				t.Fatalf("%s received %v while entry 2 is blocked, want [ev-1]", have, got)
			}

			client := &kafka.Client{Addr: kafka.TCP(b.Addr()), Timeout: 10 * time.Second}
			if err := kafkatopics.Ensure(context.Background(), client, topic(missing, 1)); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 20*time.Second, "lag 0 after the topic was created", lagIs(t, r, 0))
			if got := firstOccurrences(consume(t, b.Addr(), have, 2, 200*time.Millisecond, 10*time.Second)); !equal(got, []string{"ev-1", "ev-3"}) {
				t.Errorf("%s received %v, want [ev-1 ev-3]", have, got)
			}
			if got := firstOccurrences(consume(t, b.Addr(), missing, 1, 200*time.Millisecond, 10*time.Second)); !equal(got, []string{"ev-2"}) {
				t.Errorf("%s received %v, want [ev-2]", missing, got)
			}
			waitFor(t, 10*time.Second, "status unblocked", func() (bool, error) {
				st, err := r.Status(context.Background())
				return st.Blocked == nil, err
			})
			if g := stalledGauge(t, reader); g != 0 {
				t.Errorf("samnav.outbox.stalled = %v after recovery, want 0", g)
			}
		})
	}
}

func stalledGauge(t *testing.T, reader *sdkmetric.ManualReader) float64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if g, ok := m.Data.(metricdata.Gauge[float64]); ok && m.Name == "samnav.outbox.stalled" && len(g.DataPoints) == 1 {
				return g.DataPoints[0].Value
			}
		}
	}
	t.Fatal("no samnav.outbox.stalled point")
	return 0
}

// firstOccurrences returns the event ids of c in the order they first
// arrived.
func firstOccurrences(c consumed) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range c.records {
		if id := header(r, "ce_id"); !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func equal(a, b []string) bool {
	return strings.Join(a, ",") == strings.Join(b, ",")
}
