package kafkago

import (
	"github.com/ThreeDotsLabs/watermill/message"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// instrumentationName names the tracer of the Watermill instrumentation.
const instrumentationName = "github.com/samnav/samnav/pkg/sdk/kafkago"

// MetadataCarrier lets a propagator read and write trace context in a
// Watermill message's metadata, which Samnav's Kafka transport carries as
// Kafka headers (traceparent, tracestate, baggage).
type MetadataCarrier message.Metadata

var _ propagation.TextMapCarrier = MetadataCarrier(nil)

// Get returns the value for key, or "".
func (c MetadataCarrier) Get(key string) string { return message.Metadata(c).Get(key) }

// Set stores value under key.
func (c MetadataCarrier) Set(key, value string) { c[key] = value }

// Keys lists the keys present.
func (c MetadataCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

// TracingOption configures the publisher decorator and the middleware.
type TracingOption func(*tracing)

type tracing struct {
	tp     trace.TracerProvider
	prop   propagation.TextMapPropagator
	system string
}

// WithTracerProvider sets where spans go (default: the global provider).
func WithTracerProvider(tp trace.TracerProvider) TracingOption {
	return func(t *tracing) { t.tp = tp }
}

// WithPropagator sets the context format (default: the global
// propagator, which the hub's telemetry.InstallGlobals sets to W3C trace context).
func WithPropagator(p propagation.TextMapPropagator) TracingOption {
	return func(t *tracing) { t.prop = p }
}

func newTracing(opts []TracingOption) tracing {
	t := tracing{system: "kafka"}
	for _, o := range opts {
		o(&t)
	}
	if t.tp == nil {
		t.tp = otel.GetTracerProvider()
	}
	if t.prop == nil {
		t.prop = otel.GetTextMapPropagator()
	}
	return t
}

// TracingPublisher decorates a message.Publisher: each published message
// gets a producer span, a child of the span in the message's context, and
// that span's context is written into the message's metadata before the
// message is handed on. It keeps the wrapped Publisher's contract
// (concurrency, Close).
type TracingPublisher struct {
	next   message.Publisher
	tracer trace.Tracer
	cfg    tracing
}

var _ message.Publisher = (*TracingPublisher)(nil)

// NewTracingPublisher wraps next.
func NewTracingPublisher(next message.Publisher, opts ...TracingOption) *TracingPublisher {
	cfg := newTracing(opts)
	return &TracingPublisher{next: next, tracer: cfg.tp.Tracer(instrumentationName), cfg: cfg}
}

// Publish starts one producer span per message, injects its context into
// the message metadata, publishes through the wrapped publisher, and ends
// the spans with its outcome.
func (p *TracingPublisher) Publish(topic string, msgs ...*message.Message) error {
	spans := make([]trace.Span, len(msgs))
	for i, msg := range msgs {
		ctx, span := p.tracer.Start(msg.Context(), "send "+topic,
			trace.WithSpanKind(trace.SpanKindProducer),
			trace.WithAttributes(
				attribute.String("messaging.system", p.cfg.system),
				attribute.String("messaging.operation.type", "send"),
				attribute.String("messaging.destination.name", topic),
				attribute.String("messaging.message.id", msg.UUID),
			))
		if msg.Metadata == nil {
			msg.Metadata = message.Metadata{}
		}
		p.cfg.prop.Inject(ctx, MetadataCarrier(msg.Metadata))
		msg.SetContext(ctx)
		spans[i] = span
	}
	err := p.next.Publish(topic, msgs...)
	for _, span := range spans {
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}
	return err
}

// Close closes the wrapped publisher.
func (p *TracingPublisher) Close() error { return p.next.Close() }

// TracingMiddleware returns router middleware that continues the trace a
// message carries: it extracts the context from the metadata, starts a
// consumer span as its child for the handler, and puts that span's context
// on the message, so the handler's own spans and the messages it produces
// join the same trace. A handler error marks the span as failed.
func TracingMiddleware(opts ...TracingOption) message.HandlerMiddleware {
	cfg := newTracing(opts)
	tracer := cfg.tp.Tracer(instrumentationName)
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			parent := cfg.prop.Extract(msg.Context(), MetadataCarrier(msg.Metadata))
			topic := message.SubscribeTopicFromCtx(msg.Context())
			ctx, span := tracer.Start(parent, "process "+topic,
				trace.WithSpanKind(trace.SpanKindConsumer),
				trace.WithAttributes(
					attribute.String("messaging.system", cfg.system),
					attribute.String("messaging.operation.type", "process"),
					attribute.String("messaging.destination.name", topic),
					attribute.String("messaging.message.id", msg.UUID),
					attribute.String("messaging.consumer.handler", message.HandlerNameFromCtx(msg.Context())),
				))
			defer span.End()
			msg.SetContext(ctx)
			produced, err := h(msg)
			if err != nil {
				span.RecordError(err)
				span.SetStatus(codes.Error, err.Error())
			}
			return produced, err
		}
	}
}
