package subscriber_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/samnav/samnav/pkg/embeddedkafka"
	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/pkg/sdk/avroserde"
	"github.com/samnav/samnav/pkg/sdk/kafkaauth"
	"github.com/samnav/samnav/pkg/sdk/kafkago"
	"github.com/samnav/samnav/pkg/sdk/kafkatopics"
	"github.com/samnav/samnav/pkg/sdk/poll"
	"github.com/samnav/samnav/pkg/sdk/subscriber"
)

// Person stands in for a generated contracts/concepts type (pkg cannot
// import contracts): a struct with avro tags and its schema.
type Person struct {
	ID         string `avro:"id"`
	GivenNames string `avro:"givenNames"`
}

const personSchema = `{"type":"record","name":"PersonV1","namespace":"se.samnav.test","fields":[
	{"name":"id","type":"string"},{"name":"givenNames","type":"string"}]}`

// registry is the part of the Confluent Schema Registry API avroserde
// uses (register, schema by id), in memory.
func registry(t *testing.T) *avroserde.RegistryClient {
	t.Helper()
	srv, c := newRegistry()
	t.Cleanup(srv.Close)
	return c
}

func newRegistry() (*httptest.Server, *avroserde.RegistryClient) {
	var mu sync.Mutex
	var schemas []string
	mux := http.NewServeMux()
	mux.HandleFunc("POST /subjects/{subject}/versions", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Schema string }
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for i, s := range schemas {
			if s == req.Schema {
				_ = json.NewEncoder(w).Encode(map[string]int{"id": i + 1})
				return
			}
		}
		schemas = append(schemas, req.Schema)
		_ = json.NewEncoder(w).Encode(map[string]int{"id": len(schemas)})
	})
	mux.HandleFunc("GET /schemas/ids/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.Atoi(r.PathValue("id"))
		mu.Lock()
		defer mu.Unlock()
		if id < 1 || id > len(schemas) {
			w.WriteHeader(404)
			_ = json.NewEncoder(w).Encode(map[string]any{"error_code": 40403, "message": "Schema not found"})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"schema": schemas[id-1]})
	})
	srv := httptest.NewServer(mux)
	c, err := avroserde.NewRegistryClient(srv.URL)
	if err != nil {
		panic(err) // an httptest URL is always valid
	}
	return srv, c
}

// newRecord is a record as the hub's relay writes it: key, value (nil: a
// tombstone) and CloudEvents headers.
func newRecord(key, eventID, typ string, payload []byte, extra ...string) *message.Message {
	msg := message.NewMessage(eventID+"-"+strconv.FormatInt(time.Now().UnixNano(), 36), payload)
	msg.Metadata.Set(kafkago.PartitionKeyMetadata, key)
	msg.Metadata.Set("ce_id", eventID)
	msg.Metadata.Set("ce_type", "se.samnav.person."+typ)
	msg.Metadata.Set("ce_time", "2026-11-27T10:00:00Z")
	msg.Metadata.Set("samnav_revision", "1")
	for i := 0; i+1 < len(extra); i += 2 {
		msg.Metadata.Set(extra[i], extra[i+1])
	}
	return msg
}

type harness struct {
	t      *testing.T
	ctx    context.Context
	topic  string
	broker *embeddedkafka.Broker
	reg    *avroserde.RegistryClient
	ser    *avroserde.Serializer
	pub    *kafkago.Publisher
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	return startHarness(t, kafkaauth.Config{})
}

// startHarness starts a broker holding the person topic (requiring SASL
// with superuser as its superuser when superuser is set), a registry, and
// a publisher on the broker as the hub.
func startHarness(t *testing.T, superuser kafkaauth.Config) *harness {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	const topic = "samnav.person.v1"
	broker, err := embeddedkafka.Start(ctx, embeddedkafka.Config{Superuser: superuser, Topics: []kafkatopics.Spec{{Name: topic, Partitions: 3, Compact: true}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { broker.Close() })
	reg := registry(t)
	ser, err := avroserde.NewSerializer(reg, avroserde.TopicSubject(topic, false), personSchema)
	if err != nil {
		t.Fatal(err)
	}
	pc := kafkago.PublisherConfig{Brokers: []string{broker.Addr()}}
	if superuser.Enabled() {
		if pc.Transport, err = superuser.Transport("test"); err != nil {
			t.Fatal(err)
		}
	}
	pub, err := kafkago.NewPublisher(pc, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pub.Close() })
	return &harness{t: t, ctx: ctx, topic: topic, broker: broker, reg: reg, ser: ser, pub: pub}
}

// subscriber is a subscriber configured by cfg, handling the person topic
// with handle.
func (h *harness) subscriber(cfg subscriber.Config, handle func(context.Context, subscriber.Event[Person]) error) *subscriber.Subscriber {
	h.t.Helper()
	s, err := subscriber.New(cfg, subscriber.Handle(h.topic, personSchema, handle))
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

// send publishes a record as the hub's relay does: key, Confluent-framed
// Avro value (nil: a tombstone) and CloudEvents headers.
func (h *harness) send(key, eventID, typ string, p *Person, extra ...string) {
	h.t.Helper()
	var payload []byte
	if p != nil {
		b, err := h.ser.EncodeContext(h.ctx, p)
		if err != nil {
			h.t.Fatal(err)
		}
		payload = b
	}
	h.sendRaw(key, eventID, typ, payload, extra...)
}

func (h *harness) sendRaw(key, eventID, typ string, payload []byte, extra ...string) {
	h.t.Helper()
	if err := h.pub.Publish(h.topic, newRecord(key, eventID, typ, payload, extra...)); err != nil {
		h.t.Fatal(err)
	}
}

// got is what a handler saw.
type got struct {
	id, key string
	typ     subscriber.Type
	name    string // "" for erased
	trace   trace.TraceID
	attempt int
}

type recorder struct {
	mu   sync.Mutex
	evs  []got
	more chan struct{}
	fail func(subscriber.Event[Person]) error
}

func newRecorder() *recorder { return &recorder{more: make(chan struct{}, 1000)} }

func (r *recorder) handle(ctx context.Context, ev subscriber.Event[Person]) error {
	g := got{id: ev.ID, key: ev.Key, typ: ev.Type, trace: trace.SpanContextFromContext(ctx).TraceID(), attempt: ev.Attempt}
	if ev.Value != nil {
		g.name = ev.Value.GivenNames
	}
	r.mu.Lock()
	r.evs = append(r.evs, g)
	r.mu.Unlock()
	r.more <- struct{}{}
	if r.fail != nil {
		return r.fail(ev)
	}
	return nil
}

func (r *recorder) all() []got {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]got(nil), r.evs...)
}

// waitFor waits until the handler was called n times in all.
func (r *recorder) waitFor(t *testing.T, n int) []got {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		if evs := r.all(); len(evs) >= n {
			return evs
		}
		select {
		case <-r.more:
		case <-deadline:
			t.Fatalf("handler called %d times, want %d: %+v", len(r.all()), n, r.all())
		}
	}
}

// run starts s and returns a stop function that ends Run and waits for it.
func run(t *testing.T, s *subscriber.Subscriber) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// runCaughtUp runs a subscriber configured by cfg, handling the person
// topic with handle, until it has caught up with the topic; it goes on
// running until stop (or the test's end).
func (h *harness) runCaughtUp(cfg subscriber.Config, handle func(context.Context, subscriber.Event[Person]) error) (stop func()) {
	h.t.Helper()
	s := h.subscriber(cfg, handle)
	stop = run(h.t, s)
	<-s.CaughtUp()
	return stop
}

func (h *harness) config(group string) subscriber.Config {
	return subscriber.Config{Brokers: []string{h.broker.Addr()}, Group: group, Registry: h.reg, CreateDeadLetterTopics: true,
		MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond,
		Kafka: func(sc *kafkago.SubscriberConfig, _ *kafkago.PublisherConfig) {
			sc.CommitInterval = 50 * time.Millisecond
			sc.FetchMaxWait = 50 * time.Millisecond
		}}
}

func byKey(evs []got) map[string][]string {
	out := map[string][]string{}
	for _, e := range evs {
		out[e.key] = append(out[e.key], fmt.Sprintf("%s:%s", e.typ, e.name))
	}
	return out
}

// TestSnapshotThenFollow: a new group reads the topic from the start,
// reports caught-up once it has handled what was there at Run, then follows
// new changes; a tombstone is an Erased event; the handler runs in the
// record's trace; metrics count what happened.
func TestSnapshotThenFollow(t *testing.T) {
	h := newHarness(t)
	h.send("p1", "e1", "changed", &Person{ID: "p1", GivenNames: "Anna"})
	h.send("p2", "e2", "changed", &Person{ID: "p2", GivenNames: "Bo"})
	h.send("p1", "e3", "changed", &Person{ID: "p1", GivenNames: "Anna-Karin"})
	h.send("p2", "e4", "erased", nil)

	rec := newRecorder()
	var caughtUp, atCaughtUp int
	var mu sync.Mutex
	reader := sdkmetric.NewManualReader()
	tp := sdktrace.NewTracerProvider()
	cfg := h.config("school")
	cfg.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	cfg.TracerProvider, cfg.Propagator = tp, propagation.TraceContext{}
	cfg.OnCaughtUp = func() {
		mu.Lock()
		defer mu.Unlock()
		caughtUp++
		atCaughtUp = len(rec.all())
	}
	s := h.subscriber(cfg, rec.handle)
	run(t, s)
	select {
	case <-s.CaughtUp():
	case <-time.After(60 * time.Second):
		t.Fatalf("not caught up; handled %+v", rec.all())
	}
	snap := rec.all()
	if len(snap) != 4 {
		t.Fatalf("at caught-up the handler saw %d events, want the 4 on the topic: %+v", len(snap), snap)
	}
	keys := byKey(snap)
	if fmt.Sprint(keys["p1"]) != "[changed:Anna changed:Anna-Karin]" || fmt.Sprint(keys["p2"]) != "[changed:Bo erased:]" {
		t.Fatalf("snapshot per key = %v", keys)
	}

	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	h.send("p3", "e5", "changed", &Person{ID: "p3", GivenNames: "Cecilia"}, "traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	evs := rec.waitFor(t, 5)
	if e := evs[4]; e.id != "e5" || e.name != "Cecilia" || e.typ != subscriber.Changed || e.trace.String() != traceID {
		t.Fatalf("followed event = %+v, want e5 in trace %s", e, traceID)
	}
	mu.Lock()
	if caughtUp != 1 || atCaughtUp != 4 {
		t.Errorf("OnCaughtUp called %d times, with %d events handled; want once, at 4", caughtUp, atCaughtUp)
	}
	mu.Unlock()
	// The handler has returned for e5, but the SDK counts it only after
	// that: wait for the count rather than read it once.
	poll.Until(poll.Within(t, 10*time.Second), t, "the applied counter reaching 5", func() error {
		if n := counter(t, reader, "samnav.subscriber.events", "applied"); n != 5 {
			return fmt.Errorf("applied counter = %d", n)
		}
		return nil
	})
}

func counter(t *testing.T, r sdkmetric.Reader, name, outcome string) int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				if v, _ := dp.Attributes.Value("outcome"); v.AsString() == outcome {
					n += dp.Value
				}
			}
		}
	}
	return n
}

// TestAppliedOnce: the same event id delivered twice, and the whole topic
// delivered again after a restart (offsets reset, as after a crash before
// the commit), reaches the handler once per event id.
func TestAppliedOnce(t *testing.T) {
	h := newHarness(t)
	h.send("p1", "e1", "changed", &Person{ID: "p1", GivenNames: "Anna"})
	h.send("p1", "e1", "changed", &Person{ID: "p1", GivenNames: "Anna"}) // the relay published it twice
	h.send("p1", "e2", "changed", &Person{ID: "p1", GivenNames: "Anna B"})
	store := sqliteStore(t)
	rec := newRecorder()
	reader := sdkmetric.NewManualReader()
	cfg := h.config("library")
	cfg.Store = store
	cfg.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	stop := h.runCaughtUp(cfg, rec.handle)
	stop()
	if evs := rec.all(); len(evs) != 2 || evs[0].id != "e1" || evs[1].id != "e2" {
		t.Fatalf("handled %+v, want e1 and e2 once each", evs)
	}
	if n := counter(t, reader, "samnav.subscriber.events", "duplicate"); n != 1 {
		t.Errorf("duplicate counter = %d, want 1", n)
	}

	// Kafka delivers everything again: the group's offsets go back to 0.
	admin, err := kafkago.NewSubscriber(kafkago.SubscriberConfig{Brokers: []string{h.broker.Addr()}, ConsumerGroup: "library"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.SeekToOffsets(h.ctx, h.topic, map[int]int64{0: 0, 1: 0, 2: 0}); err != nil {
		t.Fatal(err)
	}
	_ = admin.Close()
	h.send("p1", "e3", "changed", &Person{ID: "p1", GivenNames: "Anna C"})
	s2 := h.subscriber(cfg, rec.handle)
	run(t, s2)
	// e3 follows e1 and e2 in their partition: a wrongful re-application
	// of either would reach the handler before e3 and be the third event.
	rec.waitFor(t, 3)
	<-s2.CaughtUp()
	if evs := rec.all(); len(evs) != 3 || evs[2].id != "e3" {
		t.Fatalf("after redelivery the handler saw %+v, want only e3 new", evs)
	}
}

// TestAppliedAgainForANewViewShape: when the hub rebuilds a view for a
// widened subscription, the same events come again projected the new way
// (header samnav_view_shape changes); they must be applied again, while a
// duplicate within one shape is still applied once.
func TestAppliedAgainForANewViewShape(t *testing.T) {
	h := newHarness(t)
	h.send("p1", "e1", "changed", &Person{ID: "p1", GivenNames: "Anna"}, subscriber.HeaderViewShape, "narrow")
	h.send("p1", "e1", "changed", &Person{ID: "p1", GivenNames: "Anna"}, subscriber.HeaderViewShape, "narrow")
	h.send("p1", "e1", "changed", &Person{ID: "p1", GivenNames: "Anna Maria"}, subscriber.HeaderViewShape, "wide")
	cfg := h.config("library.shapes")
	cfg.Store = sqliteStore(t)
	rec := newRecorder()
	stop := h.runCaughtUp(cfg, rec.handle)
	stop()
	evs := rec.all()
	if len(evs) != 2 || evs[0].id != "e1" || evs[1].id != "e1" {
		t.Fatalf("handled %+v, want e1 once per view shape (twice)", evs)
	}
}

// TestDeadLetter: a record the handler keeps failing is tried MaxAttempts
// times, then published to <topic>.dlq.<group> unchanged with the reason;
// a value that is not Avro goes there at once; and the records after them
// in the same partition are applied.
func TestDeadLetter(t *testing.T) {
	h := newHarness(t)
	h.send("k", "e-poison", "changed", &Person{ID: "k", GivenNames: "poison"})
	h.sendRaw("k", "e-garbage", "changed", []byte("not avro at all"))
	h.send("k", "e-good", "changed", &Person{ID: "k", GivenNames: "fine"})
	rec := newRecorder()
	rec.fail = func(ev subscriber.Event[Person]) error {
		if ev.Value.GivenNames == "poison" {
			return fmt.Errorf("school %q is not ours", ev.Value.GivenNames)
		}
		return nil
	}
	cfg := h.config("hr")
	cfg.MaxAttempts = 3
	h.runCaughtUp(cfg, rec.handle)
	evs := rec.all()
	var attempts []int
	for _, e := range evs {
		if e.id == "e-poison" {
			attempts = append(attempts, e.attempt)
		}
	}
	if fmt.Sprint(attempts) != "[1 2 3]" || evs[len(evs)-1].id != "e-good" || len(evs) != 4 {
		t.Fatalf("handler calls %+v: want e-poison attempts 1, 2, 3, then e-good", evs)
	}

	dlq := subscriber.DeadLetterTopic(h.topic, "hr")
	if dlq != "samnav.person.v1.dlq.hr" {
		t.Fatalf("dead-letter topic %q", dlq)
	}
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{h.broker.Addr()}, Topic: dlq, GroupID: "inspect", StartOffset: kafka.FirstOffset, MaxWait: 50 * time.Millisecond})
	defer r.Close()
	want := map[string]struct{ attempts, errPart, value string }{
		"e-poison":  {"3", `school "poison" is not ours`, ""},
		"e-garbage": {"0", "decode", "not avro at all"},
	}
	for range 2 {
		m, err := r.ReadMessage(h.ctx)
		if err != nil {
			t.Fatalf("read dead-letter topic: %v", err)
		}
		hd := map[string]string{}
		for _, x := range m.Headers {
			hd[x.Key] = string(x.Value)
		}
		w, ok := want[hd["ce_id"]]
		if !ok {
			t.Fatalf("unexpected dead letter %v", hd)
		}
		delete(want, hd["ce_id"])
		if string(m.Key) != "k" || hd[subscriber.HeaderDLQAttempts] != w.attempts || !strings.Contains(hd[subscriber.HeaderDLQError], w.errPart) ||
			hd[subscriber.HeaderDLQTopic] != h.topic || hd[subscriber.HeaderDLQGroup] != "hr" || hd["ce_type"] != "se.samnav.person.changed" ||
			hd[subscriber.HeaderDLQOffset] == "" || hd[subscriber.HeaderDLQPartition] == "" {
			t.Errorf("dead letter key %q headers %v", m.Key, hd)
		}
		if w.value != "" && string(m.Value) != w.value {
			t.Errorf("dead letter value %q, want the original %q", m.Value, w.value)
		}
	}
}

// TestRefusalIsDeadLetteredAtOnce: a handler error with a code
// apierr.Retryable refuses (an API's invalid answer, say) is not retried:
// the record goes to the dead-letter topic after one attempt, while an
// outage (unavailable) is retried.
func TestRefusalIsDeadLetteredAtOnce(t *testing.T) {
	h := newHarness(t)
	h.send("k", "e-refused", "changed", &Person{ID: "k", GivenNames: "refused"})
	h.send("k", "e-outage", "changed", &Person{ID: "k", GivenNames: "outage"})
	h.send("k", "e-good", "changed", &Person{ID: "k", GivenNames: "fine"})
	rec := newRecorder()
	rec.fail = func(ev subscriber.Event[Person]) error {
		switch ev.Value.GivenNames {
		case "refused":
			return fmt.Errorf("post to the school platform: %w", apierr.InvalidField("name", "required", "is required"))
		case "outage":
			if ev.Attempt < 2 {
				return apierr.Unavailable("school platform down")
			}
		}
		return nil
	}
	cfg := h.config("hr-refusals")
	cfg.MaxAttempts = 3
	h.runCaughtUp(cfg, rec.handle)
	var calls []string
	for _, e := range rec.all() {
		calls = append(calls, fmt.Sprintf("%s/%d", e.id, e.attempt))
	}
	if got := strings.Join(calls, " "); got != "e-refused/1 e-outage/1 e-outage/2 e-good/1" {
		t.Fatalf("handler calls %s, want e-refused once, e-outage twice, then e-good", got)
	}
}

// TestDeadLetterTopicMustExist: without CreateDeadLetterTopics, Run
// refuses to start rather than fail on the first poison record.
func TestDeadLetterTopicMustExist(t *testing.T) {
	h := newHarness(t)
	cfg := h.config("strict")
	cfg.CreateDeadLetterTopics = false
	s := h.subscriber(cfg, newRecorder().handle)
	err := s.Run(h.ctx)
	if err == nil || !strings.Contains(err.Error(), "samnav.person.v1.dlq.strict") {
		t.Fatalf("run = %v, want an error naming the dead-letter topic", err)
	}
}

// TestReplayFrom: a second run with ReplayFrom applies again the events
// stored since that time, though the idempotency store had them, and not
// the ones before.
func TestReplayFrom(t *testing.T) {
	h := newHarness(t)
	h.send("p1", "e1", "changed", &Person{ID: "p1", GivenNames: "a"})
	h.send("p2", "e2", "changed", &Person{ID: "p2", GivenNames: "b"})
	time.Sleep(20 * time.Millisecond)
	from := time.Now()
	time.Sleep(20 * time.Millisecond)
	h.send("p1", "e3", "changed", &Person{ID: "p1", GivenNames: "c"})
	h.send("p3", "e4", "changed", &Person{ID: "p3", GivenNames: "d"})
	rec := newRecorder()
	cfg := h.config("replayer")
	cfg.Store = sqliteStore(t)
	stop := h.runCaughtUp(cfg, rec.handle)
	stop()
	if n := len(rec.all()); n != 4 {
		t.Fatalf("first run handled %d, want 4", n)
	}
	cfg.ReplayFrom = from
	h.runCaughtUp(cfg, rec.handle)
	evs := rec.all()
	var again []string
	for _, e := range evs[4:] {
		again = append(again, e.id)
	}
	slices.Sort(again)
	if !slices.Equal(again, []string{"e3", "e4"}) {
		t.Fatalf("replay applied %v, want e3 and e4", again)
	}
}
