package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"

	"github.com/samnav/samnav/pkg/sdk/configtest"
	"github.com/samnav/samnav/pkg/telemetry"
)

func TestConfigValidate(t *testing.T) {
	configtest.Run(t, []configtest.Case[telemetry.Config]{
		configtest.Valid("minimal", telemetry.Config{ServiceName: "svc"}),
		configtest.Valid("full", telemetry.Config{ServiceName: "svc", ServiceVersion: "1.2.3", OTLPEndpoint: "https://otel:4318", LogLevel: "debug", LogFormat: "json"}),
		configtest.Valid("case-insensitive level and format", telemetry.Config{ServiceName: "svc", LogLevel: "WARN", LogFormat: "JSON"}),
		configtest.Invalid("everything wrong at once", telemetry.Config{ServiceName: " ", LogLevel: "loud", LogFormat: "xml", OTLPEndpoint: "otel:4318"},
			"ServiceName: must not be empty", `LogLevel "loud": must be one of`, `LogFormat "xml": must be text or json`, `OTLPEndpoint "otel:4318": must be an absolute http or https URL`),
	}, func(t *testing.T, cfg telemetry.Config) error {
		err := cfg.Validate()
		if err != nil {
			if _, serr := telemetry.Setup(context.Background(), cfg); serr == nil {
				t.Error("Setup accepted an invalid config")
			}
		}
		return err
	})
}

func setup(t *testing.T, cfg telemetry.Config) *telemetry.Telemetry {
	t.Helper()
	tel, err := telemetry.Setup(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tel.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return tel
}

func TestLoggerFormatAndLevel(t *testing.T) {
	var buf bytes.Buffer
	tel := setup(t, telemetry.Config{ServiceName: "samnav-test", LogLevel: "warn", LogFormat: "json", LogOutput: &buf})
	tel.Logger.Info("hidden")
	tel.Logger.Warn("shown", "subject", "samnav.person.v1-value")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("got %d log lines, want 1 (info filtered at warn):\n%s", len(lines), buf.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatalf("log line is not JSON: %v", err)
	}
	if rec["msg"] != "shown" || rec["service"] != "samnav-test" || rec["subject"] != "samnav.person.v1-value" {
		t.Errorf("log record %v", rec)
	}
}

func TestMetricsHandlerServesRecordedMetric(t *testing.T) {
	tel := setup(t, telemetry.Config{ServiceName: "samnav-test", LogOutput: io.Discard})
	counter, err := tel.MeterProvider.Meter("samnav/test").Int64Counter("samnav.events.published")
	if err != nil {
		t.Fatal(err)
	}
	counter.Add(context.Background(), 3)

	srv := httptest.NewServer(tel.MetricsHandler())
	t.Cleanup(srv.Close)
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("status %d content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	text := string(body)
	for _, want := range []string{
		"# TYPE samnav_events_published_total counter",
		`samnav_events_published_total{otel_scope_name="samnav/test"`,
		"go_goroutines",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	found := false
	for line := range strings.SplitSeq(text, "\n") {
		if strings.HasPrefix(line, "samnav_events_published_total{") && strings.HasSuffix(line, " 3") {
			found = true
		}
	}
	if !found {
		t.Errorf("/metrics has no samnav_events_published_total sample of 3:\n%s", text)
	}
}

func TestOTLPExportOnShutdown(t *testing.T) {
	var mu sync.Mutex
	paths := map[string]int{}
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths[r.URL.Path]++
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(collector.Close)

	tel, err := telemetry.Setup(context.Background(), telemetry.Config{ServiceName: "samnav-test", OTLPEndpoint: collector.URL, LogOutput: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	_, span := tel.TracerProvider.Tracer("t").Start(context.Background(), "work")
	span.End()
	c, _ := tel.MeterProvider.Meter("t").Int64Counter("c")
	c.Add(context.Background(), 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tel.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if paths["/v1/traces"] == 0 || paths["/v1/metrics"] == 0 {
		t.Errorf("collector saw %v, want posts to /v1/traces and /v1/metrics", paths)
	}
}

func TestNoOTLPWithoutEndpoint(t *testing.T) {
	// With no endpoint, Shutdown must not try to reach a collector (it
	// would fail against the default localhost:4318).
	tel, err := telemetry.Setup(context.Background(), telemetry.Config{ServiceName: "samnav-test", LogOutput: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	_, span := tel.TracerProvider.Tracer("t").Start(context.Background(), "work")
	span.End()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := tel.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v", err)
	} else if err != nil {
		t.Fatal("Shutdown waited for an exporter although none was configured")
	}
}

func TestWatermillLoggerWritesThroughSlog(t *testing.T) {
	var buf bytes.Buffer
	tel := setup(t, telemetry.Config{ServiceName: "s", LogOutput: &buf})
	tel.WatermillLogger().Info("subscriber started", watermill.LogFields{"topic": "samnav.person.v1"})
	tel.WatermillLogger().Debug("below the level", nil)
	out := buf.String()
	for _, want := range []string{"component=watermill", "subscriber started", "topic=samnav.person.v1", "service=s"} {
		if !strings.Contains(out, want) {
			t.Errorf("log %q lacks %q", out, want)
		}
	}
	if strings.Contains(out, "below the level") {
		t.Error("debug line logged at info level")
	}
}
