package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/samnav/samnav/services/delivery/internal/channel"
	"github.com/samnav/samnav/services/delivery/internal/webhook"
)

// arrivals records when a receiver first saw each webhook-id.
type arrivals struct {
	mu   sync.Mutex
	at   map[string]time.Time
	done chan struct{}
	want int
}

func (a *arrivals) reset(want int) {
	a.mu.Lock()
	a.at, a.want, a.done = make(map[string]time.Time, want), want, make(chan struct{})
	a.mu.Unlock()
}

func (a *arrivals) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	_, _ = io.Copy(io.Discard, r.Body)
	a.mu.Lock()
	id := r.Header.Get(webhook.HeaderID)
	if _, seen := a.at[id]; !seen {
		a.at[id] = now
		if len(a.at) == a.want {
			close(a.done)
		}
	}
	a.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func percentiles(start map[string]time.Time, got map[string]time.Time) (p50, p99 time.Duration) {
	lat := make([]time.Duration, 0, len(got))
	for id, t := range got {
		lat = append(lat, t.Sub(start[id]))
	}
	slices.Sort(lat)
	return lat[len(lat)*50/100], lat[min(len(lat)-1, len(lat)*99/100)]
}

// BenchmarkDelivery measures signed webhook deliveries through the whole
// channel (Deliver enqueues in SQLite, the dispatcher claims, signs with
// two secrets, posts and logs) to a local receiver, beside a baseline of
// plain unsigned POSTs of the same bodies with the same HTTP client and
// the same concurrency, in the same run. Latency is from the Deliver call
// (baseline: the POST call) to the receiver reading the request. Events
// are handed over one Deliver call at a time, each one durable commit.
func BenchmarkDelivery(b *testing.B) { benchDelivery(b, 1) }

// BenchmarkDeliveryBatch is BenchmarkDelivery with the events handed over
// as the pipeline hands them to a Batcher: DeliverBatch calls of 100
// events, one durable commit each. Latency runs from the start of the
// DeliverBatch call that carried the event.
func BenchmarkDeliveryBatch(b *testing.B) { benchDelivery(b, 100) }

func benchDelivery(b *testing.B, batch int) {
	const workers = 16
	rcv := &arrivals{}
	srv := httptest.NewServer(rcv)
	b.Cleanup(srv.Close)
	svc := start(b, webhook.Config{Workers: workers, PollInterval: 100 * time.Millisecond})
	register(b, svc, srv.URL+"/hook")
	if _, _, err := svc.RotateSecret(context.Background(), sub1.ID, "", time.Hour); err != nil { // two secrets sign
		b.Fatal(err)
	}
	client := svc.HTTPClient()
	ctx := context.Background()
	run := 0

	var plainDur, signedDur time.Duration
	var plainP50, plainP99, signedP50, signedP99 time.Duration
	b.ResetTimer()
	for b.Loop() {
		run++
		n := 2000
		events := make([]string, n)
		for i := range events {
			events[i] = fmt.Sprintf("r%d-e%d", run, i)
		}

		// Baseline: the same envelopes, unsigned, from `workers` goroutines.
		rcv.reset(n)
		start := make(map[string]time.Time, n)
		var mu sync.Mutex
		jobs := make(chan string)
		var wg sync.WaitGroup
		t0 := time.Now()
		for range workers {
			wg.Go(func() {
				for id := range jobs {
					ev := event(id, "k"+id[len(id)-2:], 1)
					body, _ := json.Marshal(webhook.Envelope{Type: "se.samnav.person.changed", ID: id, Time: ev.Time, Subject: ev.Key, Subscription: sub1.ID, Revision: 1, Data: ev.State})
					req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/hook", bytes.NewReader(body))
					req.Header.Set(webhook.HeaderID, id)
					req.Header.Set("Content-Type", "application/json")
					mu.Lock()
					start[id] = time.Now()
					mu.Unlock()
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						continue
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		}
		for _, id := range events {
			jobs <- "p" + id
		}
		close(jobs)
		wg.Wait()
		<-rcv.done
		plainDur += time.Since(t0)
		rcv.mu.Lock()
		p50, p99 := percentiles(start, rcv.at)
		rcv.mu.Unlock()
		plainP50, plainP99 = plainP50+p50, plainP99+p99

		// Signed, through the channel.
		rcv.reset(n)
		start = make(map[string]time.Time, n)
		t0 = time.Now()
		for i := 0; i < len(events); i += batch {
			now := time.Now()
			evs := make([]channel.Event, 0, batch)
			for _, id := range events[i:min(i+batch, len(events))] {
				start["s"+id] = now
				evs = append(evs, event("s"+id, "k"+id[len(id)-2:], 1))
			}
			if batch == 1 {
				deliver(b, svc, evs...)
			} else if err := svc.DeliverBatch(ctx, sub1, evs); err != nil {
				b.Fatal(err)
			}
		}
		select {
		case <-rcv.done:
		case <-time.After(2 * time.Minute):
			b.Fatal("signed deliveries did not all arrive")
		}
		signedDur += time.Since(t0)
		rcv.mu.Lock()
		p50, p99 = percentiles(start, rcv.at)
		rcv.mu.Unlock()
		signedP50, signedP99 = signedP50+p50, signedP99+p99
	}
	runs := float64(run)
	msgs := float64(2000 * run)
	ms := func(d time.Duration) float64 { return float64(d) / runs / float64(time.Millisecond) }
	b.ReportMetric(msgs/signedDur.Seconds(), "signed/s")
	b.ReportMetric(msgs/plainDur.Seconds(), "plain/s")
	b.ReportMetric(signedDur.Seconds()/plainDur.Seconds(), "plain-to-signed-time-ratio")
	b.ReportMetric(ms(signedP50), "signed-p50-ms")
	b.ReportMetric(ms(signedP99), "signed-p99-ms")
	b.ReportMetric(ms(plainP50), "plain-p50-ms")
	b.ReportMetric(ms(plainP99), "plain-p99-ms")
	b.ReportMetric(0, "ns/op")
}
