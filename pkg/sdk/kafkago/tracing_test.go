package kafkago_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/samnav/samnav/pkg/sdk/kafkago"
)

func TestMetadataCarrierRoundTrip(t *testing.T) {
	prop := propagation.TraceContext{}
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		SpanID:     trace.SpanID{1, 2, 3, 4, 5, 6, 7, 8},
		TraceFlags: trace.FlagsSampled,
		TraceState: mustTraceState(t, "samnav=1"),
	})
	md := message.Metadata{"ce_id": "x"}
	prop.Inject(trace.ContextWithSpanContext(context.Background(), sc), kafkago.MetadataCarrier(md))
	if got, want := md.Get("traceparent"), "00-0102030405060708090a0b0c0d0e0f10-0102030405060708-01"; got != want {
		t.Errorf("traceparent = %q, want %q", got, want)
	}
	if md.Get("tracestate") != "samnav=1" {
		t.Errorf("tracestate = %q", md.Get("tracestate"))
	}
	got := trace.SpanContextFromContext(prop.Extract(context.Background(), kafkago.MetadataCarrier(md)))
	if got.TraceID() != sc.TraceID() || got.SpanID() != sc.SpanID() || !got.IsRemote() || got.TraceState().String() != "samnav=1" {
		t.Errorf("extracted %+v, want %+v", got, sc)
	}
	if n := len(kafkago.MetadataCarrier(md).Keys()); n != 3 {
		t.Errorf("Keys() has %d entries, want 3", n)
	}
}

func mustTraceState(t *testing.T, s string) trace.TraceState {
	t.Helper()
	ts, err := trace.ParseTraceState(s)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// TestTraceRunsFromPublisherToHandler publishes through the decorated
// publisher on Watermill's in-memory Pub/Sub and handles the message in a
// router with the middleware: both spans must belong to one trace, the
// consumer span a child of the producer span.
func TestTraceRunsFromPublisherToHandler(t *testing.T) {
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	prop := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	opts := []kafkago.TracingOption{kafkago.WithTracerProvider(tp), kafkago.WithPropagator(prop)}

	logger := watermill.NewSlogLogger(nil)
	pubsub := gochannel.NewGoChannel(gochannel.Config{}, logger)
	router, err := message.NewRouter(message.RouterConfig{}, logger)
	if err != nil {
		t.Fatal(err)
	}
	router.AddMiddleware(kafkago.TracingMiddleware(opts...))
	handled := make(chan trace.SpanContext, 1)
	router.AddConsumerHandler("person-handler", "samnav.person.v1", pubsub, func(msg *message.Message) error {
		handled <- trace.SpanContextFromContext(msg.Context())
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() { _ = router.Run(ctx) }()
	<-router.Running()

	pub := kafkago.NewTracingPublisher(pubsub, opts...)
	msg := message.NewMessage(watermill.NewUUID(), []byte("payload"))
	if err := pub.Publish("samnav.person.v1", msg); err != nil {
		t.Fatal(err)
	}
	var inHandler trace.SpanContext
	select {
	case inHandler = <-handled:
	case <-time.After(10 * time.Second):
		t.Fatal("handler never ran")
	}
	cancel()
	if err := router.Close(); err != nil {
		t.Fatal(err)
	}

	var producer, consumer sdktrace.ReadOnlySpan
	for _, s := range sr.Ended() {
		switch s.SpanKind() {
		case trace.SpanKindProducer:
			producer = s
		case trace.SpanKindConsumer:
			consumer = s
		}
	}
	if producer == nil || consumer == nil {
		t.Fatalf("recorded %d spans, want a producer and a consumer span", len(sr.Ended()))
	}
	if producer.SpanContext().TraceID() != consumer.SpanContext().TraceID() {
		t.Errorf("producer trace %s, consumer trace %s: not one trace", producer.SpanContext().TraceID(), consumer.SpanContext().TraceID())
	}
	if consumer.Parent().SpanID() != producer.SpanContext().SpanID() {
		t.Errorf("consumer parent %s, want producer span %s", consumer.Parent().SpanID(), producer.SpanContext().SpanID())
	}
	if inHandler.SpanID() != consumer.SpanContext().SpanID() {
		t.Error("the handler's context does not carry the consumer span")
	}
	if producer.Name() != "send samnav.person.v1" || consumer.Name() != "process samnav.person.v1" {
		t.Errorf("span names %q, %q", producer.Name(), consumer.Name())
	}
	if msg.Metadata.Get("traceparent") == "" {
		t.Error("published message has no traceparent metadata")
	}
}

type failingPublisher struct{}

func (failingPublisher) Publish(string, ...*message.Message) error { return errors.New("broker down") }
func (failingPublisher) Close() error                              { return nil }

func TestTracingPublisherRecordsFailure(t *testing.T) {
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	pub := kafkago.NewTracingPublisher(failingPublisher{}, kafkago.WithTracerProvider(tp), kafkago.WithPropagator(propagation.TraceContext{}))
	err := pub.Publish("t", message.NewMessage("1", nil), message.NewMessage("2", nil))
	if err == nil {
		t.Fatal("error swallowed")
	}
	spans := sr.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want one per message", len(spans))
	}
	for _, s := range spans {
		if s.Status().Code != codes.Error {
			t.Errorf("span %s status %v, want Error", s.Name(), s.Status())
		}
	}
}
