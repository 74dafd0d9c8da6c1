package outbox_test

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/samnav/samnav/pkg/embeddedkafka"
	"github.com/samnav/samnav/pkg/outbox"
	"github.com/samnav/samnav/pkg/pgtest"
	"github.com/samnav/samnav/pkg/sdk/kafkatopics"
	"github.com/samnav/samnav/pkg/sdk/sqldb"
)

// BenchmarkRelay measures changes/s from Append (committed) to Kafka
// acknowledged through the relay, beside raw kafka-go producing the same
// payloads, with the same batching and acks, to the same broker in the same
// run; "ratio" is relay changes/s over raw msgs/s.
//
//	append: 4 writers commit one change per transaction while the relay runs
//	drain:  the outbox holds b.N committed changes; the relay publishes them
func BenchmarkRelay(b *testing.B) {
	stores := []struct {
		name  string
		store func(b *testing.B) store
	}{
		{"sqlite", func(*testing.B) store { return sqliteStore() }},
		{"postgres", func(b *testing.B) store { return postgresStore(pgtest.Start(b)) }},
	}
	for _, st := range stores {
		b.Run(st.name, func(b *testing.B) {
			s := st.store(b)
			b.Run("append", func(b *testing.B) { benchRelay(b, s, true) })
			b.Run("drain", func(b *testing.B) { benchRelay(b, s, false) })
		})
	}
}

// personPayload is about 1 KiB, shaped like a Person state event.
func personPayload(i int) []byte {
	p := fmt.Sprintf(`{"id":"%08d-7c1e-4b7a-9f1e-2a3b4c5d6e7f","givenName":"Anna-Karin","familyName":"Lindqvist Johansson",`+
		`"birthDate":"1984-03-12","protectedIdentity":false,"address":{"street":"Hornsgatan %d","postalCode":"118 21",`+
		`"city":"Stockholm","municipality":"0180","validFrom":"2021-06-01"},"citizenship":["SE"],"revision":%d,`+
		`"changedBy":"steward-17","changedThrough":"console","reason":"address change reported by the person","notes":"`, i, i%200, i)
	return []byte(p + strings.Repeat("x", max(0, 1024-len(p)-2)) + `"}`)
}

func benchRelay(b *testing.B, s store, viaAppend bool) {
	const tp = "samnav.person.v1"
	n := b.N
	broker := startBroker(b, embeddedkafka.Config{Topics: []kafkatopics.Spec{topic(tp, 3)}})
	db, _ := s.open(b)
	entries := make([]outbox.Entry, n)
	msgs := make([]kafka.Message, n)
	for i := range n {
		entries[i] = outbox.Entry{Topic: tp, Key: []byte(fmt.Sprintf("%08d", i%10_000)), Value: personPayload(i),
			EventID: "ev-" + strconv.Itoa(i), Headers: map[string]string{"ce_type": "se.stockholm.samnav.person.changed", "ce_source": "/masterdata"}}
		msgs[i] = kafka.Message{Topic: tp, Key: entries[i].Key, Value: entries[i].Value,
			Headers: []kafka.Header{{Key: "ce_id", Value: []byte(entries[i].EventID)}, {Key: "ce_source", Value: []byte("/masterdata")},
				{Key: "ce_type", Value: []byte("se.stockholm.samnav.person.changed")}}}
	}

	// Baseline: raw kafka-go, acks=all, batches of up to 1000 (the relay's
	// default), one synchronous WriteMessages per batch, as the relay does.
	w := &kafka.Writer{Addr: kafka.TCP(broker.Addr()), Balancer: &kafka.Murmur2Balancer{}, RequiredAcks: kafka.RequireAll,
		BatchSize: outbox.DefaultBatchSize, BatchBytes: outbox.DefaultBatchBytes, BatchTimeout: time.Millisecond,
		Transport: &kafka.Transport{}}
	b.Cleanup(func() { _ = w.Close() })
	rawStart := time.Now()
	for i := 0; i < n; i += 900 { // 900 KiB: under the 1 MiB batch bytes
		if err := w.WriteMessages(context.Background(), msgs[i:min(i+900, n)]...); err != nil {
			b.Fatalf("raw write: %v", err)
		}
	}
	raw := time.Since(rawStart)

	if !viaAppend {
		for i := 0; i < n; i += 500 {
			appendTx(b, db, s.dialect, entries[i:min(i+500, n)]...)
		}
	}
	cfg := outbox.RelayConfig{DB: db, Dialect: s.dialect, Brokers: []string{broker.Addr()}, Name: "bench", PollInterval: 5 * time.Millisecond}
	b.ResetTimer()
	start := time.Now()
	stop, _ := startRelay(b, cfg)
	if viaAppend {
		appendConcurrently(b, db, s.dialect, entries, 4)
	}
	// Wait for the relay's recorded position (a primary-key lookup) to
	// reach the last entry (ids are 1..n in a fresh database without
	// rollbacks); polling Lag would count the backlog every time.
	last := int64(n)
	for {
		var p int64
		_ = db.QueryRow(`SELECT position FROM outbox_relays WHERE name = 'bench'`).Scan(&p)
		if p >= last {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	took := time.Since(start)
	b.StopTimer()
	stop()
	r, err := outbox.NewRelay(cfg)
	if err != nil {
		b.Fatal(err)
	}
	if lag, err := r.Lag(context.Background()); err != nil || lag != 0 {
		b.Fatalf("lag after the run = %d, %v; want 0", lag, err)
	}
	relayRate := float64(n) / took.Seconds()
	rawRate := float64(n) / raw.Seconds()
	b.ReportMetric(relayRate, "changes/s")
	b.ReportMetric(rawRate, "raw_msgs/s")
	b.ReportMetric(relayRate/rawRate, "ratio")
}

// appendConcurrently commits entries, one per transaction, from writers
// goroutines.
func appendConcurrently(b *testing.B, db *sql.DB, d sqldb.Dialect, entries []outbox.Entry, writers int) {
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := w; i < len(entries); i += writers {
				if err := appendErr(db, d, entries[i:i+1]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}
