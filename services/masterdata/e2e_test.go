package masterdata_test

import (
	"context"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/samnav/samnav/contracts/concepts"
	"github.com/samnav/samnav/pkg/sdk/avro"
	"github.com/samnav/samnav/pkg/sdk/avroserde"
	"github.com/samnav/samnav/services/hubtest"
	"github.com/samnav/samnav/services/masterdata"
)

// TestEndToEnd: a steward's update through the HTTP API appears on the
// state topic, published by the outbox relay to an embedded broker,
// decodes through the real registry with the generated schema, and
// carries the request's trace and the CloudEvents headers.
func TestEndToEnd(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	defer tp.Shutdown(context.Background())
	h, a, ctx := startWithStateTopic(t, "unit", hubtest.WithMasterdata(func(_ *masterdata.Config, d *masterdata.Deps) { d.TracerProvider = tp }))
	broker, regURL := h.Broker, h.RegistryURL
	unitSchema := hubtest.ContractSchema(t, "unit")
	st := a.steward("anna", "unit")

	c := a.do("POST", "/api/v1/unit", st, unit("Solskolan"), "Samnav-Reason", "new school")
	if c.status != 201 {
		t.Fatalf("create: %s", c.raw)
	}
	id := c.body["id"].(string)
	u := unit("Solskolan F-9")
	u["capacity"] = 420
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	r := a.do("PUT", "/api/v1/unit/"+id, st, u, "Samnav-Reason", "grew", "If-Match", `"1"`, "traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	if r.status != 200 {
		t.Fatalf("update: %s", r.raw)
	}

	reader := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{broker.Addr()}, Topic: "samnav.unit.v1", GroupID: "e2e", StartOffset: kafka.FirstOffset, MaxWait: 100 * time.Millisecond})
	defer reader.Close()
	client, err := avroserde.NewRegistryClient(regURL)
	if err != nil {
		t.Fatal(err)
	}
	des, err := avroserde.NewDeserializer(client, avro.MustParse(unitSchema))
	if err != nil {
		t.Fatal(err)
	}
	{
		msg, h := readUntil(ctx, t, reader, "the update", func(h map[string]string) bool { return h["samnav_revision"] == "2" })
		if string(msg.Key) != id {
			t.Fatalf("key = %q, want the opaque id %q", msg.Key, id)
		}
		var got concepts.UnitV1
		if err := des.DecodeContext(ctx, msg.Value, &got); err != nil {
			t.Fatalf("decode through the registry: %v", err)
		}
		if got.ID != id || got.Name != "Solskolan F-9" || got.Capacity == nil || *got.Capacity != 420 || string(got.UnitType) != "PRIMARY_SCHOOL" {
			t.Fatalf("decoded %+v", got)
		}
		tpHeader := h["traceparent"]
		sc, err := trace.TraceIDFromHex(traceID)
		if err != nil {
			t.Fatal(err)
		}
		if len(tpHeader) != 55 || tpHeader[3:35] != sc.String() {
			t.Fatalf("traceparent = %q, want the request's trace %s", tpHeader, traceID)
		}
		hist := a.do("GET", "/api/v1/unit/"+id+"/history", st, nil).body["changes"].([]any)
		evID := hist[1].(map[string]any)["eventId"].(string)
		want := map[string]string{"ce_specversion": "1.0", "ce_id": evID, "ce_source": "/samnav/masterdata", "ce_type": "se.samnav.unit.changed",
			"ce_subject": id, "content-type": "application/avro"}
		for k, v := range want {
			if h[k] != v {
				t.Errorf("header %s = %q, want %q", k, h[k], v)
			}
		}
		if _, err := time.Parse(time.RFC3339Nano, h["ce_time"]); err != nil {
			t.Errorf("ce_time %q: %v", h["ce_time"], err)
		}
	}

	// Resync republishes the current state, marked, through the same relay.
	var progress []int
	n, err := a.srv.Resync(ctx, "unit", masterdata.ResyncOptions{BatchSize: 1, Progress: func(done int) { progress = append(progress, done) }})
	if err != nil || n != 1 || len(progress) != 1 || progress[0] != 1 {
		t.Fatalf("resync = %d, %v, progress %v", n, err, progress)
	}
	{
		msg, h := readUntil(ctx, t, reader, "the resynced state", func(h map[string]string) bool { return h["samnav_resync"] == "true" })
		var got concepts.UnitV1
		if err := des.DecodeContext(ctx, msg.Value, &got); err != nil || got.Name != "Solskolan F-9" || string(msg.Key) != id || h["samnav_revision"] != "2" {
			t.Fatalf("resynced %+v, %v, headers %v", got, err, h)
		}
	}
	// The relay records its progress just after Kafka's acknowledgement,
	// which may be after the consumer saw the record: wait for it.
	var lag int64 = -1
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if lag, err = a.srv.Relay().Lag(ctx); err == nil && lag == 0 {
			break
		}
	}
	if lag != 0 {
		t.Errorf("relay lag = %d, %v; want 0", lag, err)
	}
}

// readUntil reads reader until a record whose headers match, and returns
// it with its headers; it fails the test, naming what did not reach the
// topic, when ctx ends first.
func readUntil(ctx context.Context, t *testing.T, reader *kafka.Reader, what string, match func(headers map[string]string) bool) (kafka.Message, map[string]string) {
	t.Helper()
	for {
		msg, err := reader.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("%s did not reach the topic: %v", what, err)
		}
		h := map[string]string{}
		for _, hd := range msg.Headers {
			h[hd.Key] = string(hd.Value)
		}
		if match(h) {
			return msg, h
		}
	}
}
