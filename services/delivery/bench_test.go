package delivery_test

// Benchmarks of the delivery service, each beside a baseline measured in
// the same run (docs/benchmarks-delivery.md has the figures):
//
//	go test -run '^$' -bench . -benchtime 20000x ./
//
// b.N is the number of records; below 1,000 (the default -benchtime
// calls with b.N=1 first) SAMNAV_BENCH_N, default 20,000, is used, since
// a hub takes a second or two to start.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/segmentio/kafka-go"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/samnav/samnav/contracts/concepts"
	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/daemon"
	"github.com/samnav/samnav/pkg/sdk/kafkatopics"
	"github.com/samnav/samnav/pkg/sdk/subscriber"
	"github.com/samnav/samnav/services/delivery"
	"github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/delivery/internal/channel"
	"github.com/samnav/samnav/services/delivery/internal/kafkaview"
	"github.com/samnav/samnav/services/delivery/internal/pipeline"
	"github.com/samnav/samnav/services/hubtest"
)

func benchRecords(b *testing.B) int {
	if b.N >= 1000 {
		return b.N
	}
	if n, err := strconv.Atoi(os.Getenv("SAMNAV_BENCH_N")); err == nil && n > 0 {
		return n
	}
	return 20_000
}

// counter counts the events a channel accepted and notes when the first
// and the want-th were accepted.
type counter struct {
	n           atomic.Int64
	want        int64
	first, last atomic.Int64 // unix nanos
	done        chan struct{}
	once        sync.Once
}

func newCounter(want int) *counter { return &counter{want: int64(want), done: make(chan struct{})} }

func (c *counter) add(k int) {
	now := time.Now().UnixNano()
	c.first.CompareAndSwap(0, now)
	if c.n.Add(int64(k)) >= c.want {
		c.once.Do(func() { c.last.Store(now); close(c.done) })
	}
}

// rate is events/s from the first accepted event to the want-th: the
// consumer group's join is not part of it.
func (c *counter) rate() float64 {
	return float64(c.want) / time.Duration(c.last.Load()-c.first.Load()).Seconds()
}

type countingBatcher struct {
	*kafkaview.Channel
	c *counter
}

func (cb countingBatcher) DeliverBatch(ctx context.Context, s client.Subscription, evs []channel.Event) error {
	if err := cb.Channel.DeliverBatch(ctx, s, evs); err != nil {
		return err
	}
	cb.c.add(len(evs))
	return nil
}

// BenchmarkPipelineKafka measures how fast a new subscription on the
// Kafka channel gets a concept's records (state topic → decode → project
// → view topic, acks=all), three ways in the same run:
//   - serial: one Deliver at a time across all partitions, as the
//     pipeline did before it handed batches (the baseline);
//   - per-event: one Deliver at a time per partition, partitions in
//     parallel (what the webhook and feed channels get);
//   - batched: the Kafka channel as a pipeline.Batcher, one acks=all
//     Publish per batch.
func BenchmarkPipelineKafka(b *testing.B) {
	n := benchRecords(b)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	h := startHub(b)
	sw := newStateWriter(b, h)
	evs := make([]stateEvent, n)
	for i := range evs {
		key := fmt.Sprintf("p-%07d", i)
		evs[i] = stateEvent{Key: key, ID: uuid.NewString(), Revision: 1, Person: person(key, "Gata "+strconv.Itoa(i), concepts.PersonV1ProtectedIdentityNone)}
	}
	if err := sw.write(ctx, evs); err != nil {
		b.Fatal(err)
	}
	m, schemas := hubtest.Model(b)
	// The slow ways are measured over fewer events: their rate is flat.
	modes := []struct {
		name   string
		events int
		wrap   func(kc *kafkaview.Channel, c *counter) channel.Channel
	}{
		{"serial", min(n, 2000), func(kc *kafkaview.Channel, c *counter) channel.Channel {
			var mu sync.Mutex
			return channel.Func(func(ctx context.Context, s client.Subscription, ev channel.Event) error {
				mu.Lock()
				defer mu.Unlock()
				if err := kc.Deliver(ctx, s, ev); err != nil {
					return err
				}
				c.add(1)
				return nil
			})
		}},
		{"per-event", min(n, 5000), func(kc *kafkaview.Channel, c *counter) channel.Channel {
			return channel.Func(func(ctx context.Context, s client.Subscription, ev channel.Event) error {
				if err := kc.Deliver(ctx, s, ev); err != nil {
					return err
				}
				c.add(1)
				return nil
			})
		}},
		{"batched", n, func(kc *kafkaview.Channel, c *counter) channel.Channel {
			var _ pipeline.Batcher = countingBatcher{}
			return countingBatcher{kc, c}
		}},
	}
	rates := map[string]float64{}
	b.ResetTimer()
	for _, mode := range modes {
		kc, err := kafkaview.New(kafkaview.Config{Brokers: []string{h.Broker.Addr()}, Registrar: h.Registry, Model: m, Schemas: schemas})
		if err != nil {
			b.Fatal(err)
		}
		c := newCounter(mode.events)
		ds, err := delivery.New(ctx, delivery.Config{Base: daemon.Base{Addr: "127.0.0.1:0", DataDir: filepath.Join(b.TempDir(), mode.name)}, RegistryURL: h.RegistryURL,
			Brokers: []string{h.Broker.Addr()}, SyncInterval: time.Second}, delivery.Deps{Logger: hubtest.Logger(b),
			Channels: map[client.ChannelKind]channel.Channel{client.ChannelKafka: mode.wrap(kc, c)}})
		if err != nil {
			b.Fatal(err)
		}
		if err := ds.Start(ctx); err != nil {
			b.Fatal(err)
		}
		actx := auth.WithPrincipal(ctx, &auth.Principal{Subject: "bench-admin", Kind: auth.KindUser, Grants: []auth.Grant{{Role: auth.RoleAdmin}}})
		sub, err := ds.Service().Request(actx, client.Request{System: "bench-" + mode.name, Concept: "person", Purpose: "benchmark", Channel: client.ChannelKafka,
			LegalBasis: client.LegalBasis{Basis: client.BasisPublicTask, Reference: "benchmark"}, Fields: []string{"givenNames", "surname", "registeredAddress"}, Reason: "benchmark"})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ds.Service().Approve(actx, sub.ID, client.Decision{Reason: "benchmark"}); err != nil {
			b.Fatal(err)
		}
		select {
		case <-c.done:
		case <-ctx.Done():
			b.Fatalf("%s: %d of %d events delivered", mode.name, c.n.Load(), mode.events)
		}
		rates[mode.name] = c.rate()
		if err := ds.Close(); err != nil {
			b.Fatal(err)
		}
		kc.Close()
	}
	b.StopTimer()
	for name, r := range rates {
		b.ReportMetric(r, name+"-events/s")
	}
	b.ReportMetric(rates["batched"]/rates["serial"], "batched/serial")
	b.ReportMetric(rates["batched"]/rates["per-event"], "batched/per-event")
}

// benchPersons returns n valid, distinct persons for masterdata's publish
// API (personnummer with its Luhn check digit).
func benchPersons(from, n int) []any {
	out := make([]any, n)
	for k := range n {
		i := from + k
		pnr, birth := hubtest.Personnummer(i)
		out[k] = map[string]any{"op": "upsert", "state": map[string]any{"personalIdentityNumber": pnr, "givenNames": "Anna", "surname": "Lind",
			"dateOfBirth": birth.Format(time.DateOnly), "protectedIdentity": "NONE", "registrationStatus": "REGISTERED",
			"registeredAddress": map[string]any{"streetAddress": fmt.Sprintf("Hornsgatan %d", 1+i%120), "postalCode": "11122", "postTown": "Stockholm", "municipalityCode": "0180"}}}
	}
	return out
}

// BenchmarkEndToEnd measures events/s from masterdata's publish API
// (batches of 1,000) through the relay, the state topic, the delivery
// pipeline and the school platform's view topic to a pkg/sdk/subscriber SDK
// handler; beside raw kafka-go producing and consuming the same number of
// Avro person records (acks=all, one consumer group) in the same run.
func BenchmarkEndToEnd(b *testing.B) {
	n := benchRecords(b)
	h, c, ctx := startCast(b, 20*time.Minute)
	fb, admin, school := c.fb, c.admin, c.school
	publish := func(items []any) {
		st, body := hubtest.CallJSON(b, "POST", h.MasterdataURL+"/api/v1/publish/person", fb, map[string]any{"items": items})
		if st != 200 {
			b.Fatalf("publish: %d %v", st, body)
		}
	}
	subscribe(b, h.DeliveryURL, school, admin, "kafka", []string{"givenNames", "surname", "registeredAddress"})
	publish(benchPersons(0, 1)) // warm-up: creates the view topic and its schema
	view := "samnav.view.skolplattform.person.v1"
	viewSchema(b, h, view)

	got := newCounter(n + 1)
	sdk, err := subscriber.New(subscriber.Config{Brokers: []string{h.Broker.Addr()}, Group: "skolplattform.bench", Registry: h.Registry, Logger: hubtest.Logger(b),
		CreateDeadLetterTopics: true},
		subscriber.Handle(view, "", func(_ context.Context, ev subscriber.Event[concepts.PersonV1]) error {
			if ev.Value == nil || ev.Value.Surname != "Lind" {
				return subscriber.Permanent(fmt.Errorf("unexpected event %+v", ev))
			}
			got.add(1)
			return nil
		}))
	if err != nil {
		b.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	runErr := make(chan error, 1)
	go func() { runErr <- sdk.Run(sctx) }()
	for got.n.Load() < 1 {
		select {
		case err := <-runErr:
			b.Fatalf("SDK Run: %v", err)
		case <-ctx.Done():
			b.Fatal("the SDK never got the warm-up event")
		case <-time.After(20 * time.Millisecond):
		}
	}

	b.ResetTimer()
	start := time.Now()
	for i := 1; i <= n; i += 1000 {
		publish(benchPersons(i, min(1000, n+1-i)))
	}
	committed := float64(n) / time.Since(start).Seconds()
	select {
	case <-got.done:
	case err := <-runErr:
		b.Fatalf("SDK Run: %v", err)
	case <-ctx.Done():
		b.Fatalf("the SDK handled %d of %d events", got.n.Load()-1, n)
	}
	e2e := float64(n) / time.Since(start).Seconds()
	b.StopTimer()
	stop()

	raw := rawKafka(b, ctx, h, n)
	b.ReportMetric(committed, "api-commit-events/s")
	b.ReportMetric(e2e, "e2e-events/s")
	b.ReportMetric(raw, "raw-kafka-go-events/s")
	b.ReportMetric(e2e/raw, "e2e/raw")
}

// rawKafka produces n Avro person records with kafka-go (acks=all,
// batches of 1,000) to a new topic of three partitions while a consumer
// group reads them, and returns events/s from the first write to the
// n-th record read.
func rawKafka(b *testing.B, ctx context.Context, h *hubtest.Hub, n int) float64 {
	topic := "bench.raw." + strconv.FormatInt(time.Now().UnixNano(), 36)
	client, done := kafkatopics.NewClient(10*time.Second, h.Broker.Addr())
	defer done()
	if err := kafkatopics.Ensure(ctx, client, kafkatopics.Spec{Name: topic, Partitions: 3}); err != nil {
		b.Fatal(err)
	}
	sw := newStateWriter(b, h)
	sw.w.Topic = topic
	evs := make([]stateEvent, n)
	for i := range evs {
		key := fmt.Sprintf("r-%07d", i)
		evs[i] = stateEvent{Key: key, ID: uuid.NewString(), Revision: 1, Person: person(key, "Hornsgatan "+strconv.Itoa(i%120), concepts.PersonV1ProtectedIdentityNone)}
	}
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{h.Broker.Addr()}, Topic: topic, GroupID: "raw-" + topic, StartOffset: kafka.FirstOffset,
		MaxWait: 100 * time.Millisecond, CommitInterval: 500 * time.Millisecond})
	defer r.Close()
	// Warm-up, as for the SDK: the group has joined before the clock runs.
	if err := sw.write(ctx, evs[:1]); err != nil {
		b.Fatal(err)
	}
	if _, err := r.ReadMessage(ctx); err != nil {
		b.Fatal(err)
	}
	read := make(chan error, 1)
	go func() {
		for i := 1; i < n; i++ {
			if _, err := r.ReadMessage(ctx); err != nil {
				read <- err
				return
			}
		}
		read <- nil
	}()
	start := time.Now()
	if err := sw.write(ctx, evs[1:]); err != nil {
		b.Fatal(err)
	}
	if err := <-read; err != nil {
		b.Fatal(err)
	}
	n--
	return float64(n) / time.Since(start).Seconds()
}

// BenchmarkCommitToWebhook measures the latency from a change's commit at
// the master (ce_time, set in masterdata's transaction) to its signed
// webhook arriving at the library system (verified with the Standard
// Webhooks library), one change at a time; beside, for the same changes,
// the latency from commit to the record arriving on the state topic (the
// master's relay alone), so the ratio is what delivery adds.
func BenchmarkCommitToWebhook(b *testing.B) {
	n := min(benchRecords(b), 500)
	h, c, ctx := startCast(b, 10*time.Minute)
	fb, admin, library := c.fb, c.admin, c.library

	type arrival struct{ commit, at time.Time }
	var (
		mu       sync.Mutex
		verifier *standardwebhooks.Webhook
		hooks    = map[string]arrival{} // ce_id -> webhook arrival
		states   = map[string]arrival{} // ce_id -> state-topic arrival
		arrived  = make(chan struct{}, 1)
	)
	note := func(m map[string]arrival, id string, commit time.Time) {
		mu.Lock()
		m[id] = arrival{commit, time.Now()}
		mu.Unlock()
		select {
		case arrived <- struct{}{}:
		default:
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		v := verifier
		mu.Unlock()
		if v == nil || v.Verify(body, r.Header) != nil {
			w.WriteHeader(401)
			return
		}
		ts, err := time.Parse(time.RFC3339Nano, jsonField(body, "time"))
		if err != nil {
			w.WriteHeader(400)
			return
		}
		note(hooks, r.Header.Get("webhook-id"), ts)
		w.WriteHeader(204)
	}))
	defer srv.Close()
	sub := subscribe(b, h.DeliveryURL, library, admin, "webhook", []string{"givenNames", "surname", "registeredAddress"})
	st, ep := hubtest.CallJSON(b, "PUT", h.DeliveryURL+"/api/v1/subscriptions/"+sub+"/webhook", library, map[string]any{"url": srv.URL})
	if st != 201 {
		b.Fatalf("register webhook: %d %v", st, ep)
	}
	wh, err := standardwebhooks.NewWebhook(ep["secret"].(string))
	if err != nil {
		b.Fatal(err)
	}
	mu.Lock()
	verifier = wh
	mu.Unlock()

	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{h.Broker.Addr()}, Topic: "samnav.person.v1", GroupID: "bench-latency", StartOffset: kafka.FirstOffset, MaxWait: 10 * time.Millisecond})
	defer r.Close()
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		for {
			msg, err := r.ReadMessage(rctx)
			if err != nil {
				return
			}
			var id string
			var commit time.Time
			for _, hd := range msg.Headers {
				switch hd.Key {
				case "ce_id":
					id = string(hd.Value)
				case "ce_time":
					commit, _ = time.Parse(time.RFC3339Nano, string(hd.Value))
				}
			}
			note(states, id, commit)
		}
	}()

	persons := benchPersons(0, n+1)
	waitFor := func(count int) {
		for {
			mu.Lock()
			ok := len(hooks) >= count && len(states) >= count
			mu.Unlock()
			if ok {
				return
			}
			select {
			case <-arrived:
			case <-ctx.Done():
				b.Fatalf("%d of %d changes arrived", len(hooks), count)
			}
		}
	}
	hubtest.CallJSON(b, "POST", h.MasterdataURL+"/api/v1/publish/person", fb, map[string]any{"items": persons[:1]})
	waitFor(1) // warm-up: consumer groups joined, connections open
	mu.Lock()
	clear(hooks)
	clear(states)
	mu.Unlock()
	b.ResetTimer()
	for i := 1; i <= n; i++ {
		if st, body := hubtest.CallJSON(b, "POST", h.MasterdataURL+"/api/v1/publish/person", fb, map[string]any{"items": persons[i : i+1]}); st != 200 {
			b.Fatalf("publish: %d %v", st, body)
		}
		waitFor(i)
	}
	b.StopTimer()
	lat := func(m map[string]arrival) (p50, p99 float64) {
		var ds []time.Duration
		for _, a := range m {
			ds = append(ds, a.at.Sub(a.commit))
		}
		slices.Sort(ds)
		ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
		return ms(ds[len(ds)/2]), ms(ds[min(len(ds)-1, len(ds)*99/100)])
	}
	mu.Lock()
	w50, w99 := lat(hooks)
	s50, s99 := lat(states)
	mu.Unlock()
	b.ReportMetric(w50, "webhook-p50-ms")
	b.ReportMetric(w99, "webhook-p99-ms")
	b.ReportMetric(s50, "state-topic-p50-ms")
	b.ReportMetric(s99, "state-topic-p99-ms")
	b.ReportMetric(w50/s50, "webhook/state-p50")
	b.ReportMetric(w99/s99, "webhook/state-p99")
}

// jsonField returns a top-level string field of a JSON object.
func jsonField(body []byte, name string) string {
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return ""
	}
	s, _ := m[name].(string)
	return s
}
