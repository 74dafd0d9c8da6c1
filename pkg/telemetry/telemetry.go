// Package telemetry sets up what every Samnav process reports: structured
// logs (log/slog, to stderr), OpenTelemetry traces and metrics (exported
// over OTLP/HTTP when an endpoint is configured), a Prometheus /metrics
// handler over the same metrics, and the W3C trace context carried in
// Watermill message metadata (Kafka headers) so that one trace runs from a
// publisher to every handler of the message.
//
// Setup never touches OpenTelemetry's global providers; a process that
// wants them (for libraries that only use the globals) calls
// Telemetry.InstallGlobals once.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Config says how a process reports. The zero values of LogLevel and
// LogFormat mean "info" and "text".
type Config struct {
	ServiceName    string // required: the OTel service.name, e.g. "samnav-registry"
	ServiceVersion string // optional: service.version
	// OTLPEndpoint is the base URL of an OTLP/HTTP receiver, e.g.
	// "http://otel-collector:4318"; traces go to <base>/v1/traces and
	// metrics to <base>/v1/metrics. Empty means no OTLP export. The other
	// standard OTEL_EXPORTER_OTLP_* variables (headers, timeout,
	// compression, certificates) are honoured by the exporters.
	OTLPEndpoint string
	LogLevel     string    // debug | info | warn | error
	LogFormat    string    // text | json
	LogOutput    io.Writer // where logs go; nil means os.Stderr
}

var (
	logLevels = map[string]slog.Level{
		"": slog.LevelInfo, "debug": slog.LevelDebug, "info": slog.LevelInfo,
		"warn": slog.LevelWarn, "error": slog.LevelError,
	}
	logFormats = map[string]bool{"": true, "text": true, "json": true}
)

// Validate reports every problem with c at once, each naming the field and
// the rule it breaks.
func (c Config) Validate() error {
	var errs []error
	if strings.TrimSpace(c.ServiceName) == "" {
		errs = append(errs, errors.New("ServiceName: must not be empty"))
	}
	if _, ok := logLevels[strings.ToLower(c.LogLevel)]; !ok {
		errs = append(errs, fmt.Errorf("LogLevel %q: must be one of debug, info, warn, error", c.LogLevel))
	}
	if !logFormats[strings.ToLower(c.LogFormat)] {
		errs = append(errs, fmt.Errorf("LogFormat %q: must be text or json", c.LogFormat))
	}
	if c.OTLPEndpoint != "" {
		u, err := url.Parse(c.OTLPEndpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("OTLPEndpoint %q: must be an absolute http or https URL", c.OTLPEndpoint))
		}
	}
	return errors.Join(errs...)
}

// Telemetry holds a process's logger and OpenTelemetry providers. Its
// fields are safe for concurrent use; Shutdown flushes and stops them.
type Telemetry struct {
	Logger         *slog.Logger
	TracerProvider *sdktrace.TracerProvider
	MeterProvider  *sdkmetric.MeterProvider
	// Propagator reads and writes W3C traceparent, tracestate and baggage.
	Propagator propagation.TextMapPropagator

	registry *prometheus.Registry
	metrics  http.Handler
}

// Setup builds the logger and providers described by cfg. The Prometheus
// handler uses a registry of its own (Go runtime and process collectors
// plus OTel metrics), never the global one.
func Setup(ctx context.Context, cfg Config) (*Telemetry, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("telemetry config: %w", err)
	}
	out := cfg.LogOutput
	if out == nil {
		out = os.Stderr
	}
	opts := &slog.HandlerOptions{Level: logLevels[strings.ToLower(cfg.LogLevel)]}
	var h slog.Handler = slog.NewTextHandler(out, opts)
	if strings.EqualFold(cfg.LogFormat, "json") {
		h = slog.NewJSONHandler(out, opts)
	}
	logger := slog.New(h).With("service", cfg.ServiceName)

	attrs := []attribute.KeyValue{attribute.String("service.name", cfg.ServiceName)}
	if cfg.ServiceVersion != "" {
		attrs = append(attrs, attribute.String("service.version", cfg.ServiceVersion))
	}
	res, err := resource.New(ctx, resource.WithFromEnv(), resource.WithTelemetrySDK(), resource.WithAttributes(attrs...))
	if err != nil {
		return nil, fmt.Errorf("build otel resource: %w", err)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	promExporter, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, fmt.Errorf("create prometheus exporter: %w", err)
	}
	meterOpts := []sdkmetric.Option{sdkmetric.WithResource(res), sdkmetric.WithReader(promExporter)}
	traceOpts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}

	if cfg.OTLPEndpoint != "" {
		base := strings.TrimSuffix(cfg.OTLPEndpoint, "/")
		texp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(base+"/v1/traces"))
		if err != nil {
			return nil, fmt.Errorf("create otlp trace exporter: %w", err)
		}
		mexp, err := otlpmetrichttp.New(ctx, otlpmetrichttp.WithEndpointURL(base+"/v1/metrics"))
		if err != nil {
			return nil, errors.Join(fmt.Errorf("create otlp metric exporter: %w", err), texp.Shutdown(ctx))
		}
		traceOpts = append(traceOpts, sdktrace.WithBatcher(texp))
		meterOpts = append(meterOpts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(mexp)))
	}

	return &Telemetry{
		Logger:         logger,
		TracerProvider: sdktrace.NewTracerProvider(traceOpts...),
		MeterProvider:  sdkmetric.NewMeterProvider(meterOpts...),
		Propagator:     propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
		registry:       reg,
		metrics:        promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slogPromLogger{logger}}),
	}, nil
}

// MetricsHandler serves the process's metrics in the Prometheus text
// format, for mounting at /metrics.
func (t *Telemetry) MetricsHandler() http.Handler { return t.metrics }

// WatermillLogger adapts the process's logger for Watermill, scoped with
// component=watermill.
func (t *Telemetry) WatermillLogger() watermill.LoggerAdapter {
	return watermill.NewSlogLogger(t.Logger.With("component", "watermill"))
}

// InstallGlobals makes this Telemetry's providers and propagator
// OpenTelemetry's globals, for libraries that only use otel.Tracer and
// friends.
func (t *Telemetry) InstallGlobals() {
	otel.SetTracerProvider(t.TracerProvider)
	otel.SetMeterProvider(t.MeterProvider)
	otel.SetTextMapPropagator(t.Propagator)
}

// Shutdown flushes pending spans and metrics and stops the providers. It
// returns every error met; call it once, with a deadline.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	return errors.Join(t.TracerProvider.Shutdown(ctx), t.MeterProvider.Shutdown(ctx))
}

type slogPromLogger struct{ l *slog.Logger }

func (p slogPromLogger) Println(v ...any) {
	p.l.Error("serve metrics", "error", fmt.Sprint(v...))
}
