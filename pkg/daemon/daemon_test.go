package daemon_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/daemon"
	"github.com/samnav/samnav/pkg/sdk/configtest"
	"github.com/samnav/samnav/pkg/sdk/poll"
	"github.com/samnav/samnav/pkg/telemetry"
)

func TestLoadConfigReportsEveryProblem(t *testing.T) {
	env := map[string]string{
		"SAMNAV_DELIVERY_ADDR":          "8083",
		daemon.EnvLogLevel:              "loud",
		daemon.EnvLogFormat:             "xml",
		daemon.EnvOTLPEndpoint:          "collector:4318",
		daemon.EnvShutdownGrace:         "soon",
		daemon.EnvHTTPWriteTimeout:      "-1s",
		daemon.EnvHTTPMaxInFlight:       "many",
		daemon.EnvHTTPReadHeaderTimeout: "5s",
	}
	_, err := daemon.LoadConfig(func(k string) string { return env[k] }, "delivery", ":8083")
	configtest.Names(t, err, "SAMNAV_DELIVERY_ADDR", daemon.EnvLogLevel, daemon.EnvLogFormat, daemon.EnvOTLPEndpoint,
		daemon.EnvShutdownGrace, daemon.EnvHTTPWriteTimeout, daemon.EnvHTTPMaxInFlight)
	if strings.Contains(err.Error(), daemon.EnvHTTPReadHeaderTimeout) {
		t.Errorf("error names the valid %s:\n%v", daemon.EnvHTTPReadHeaderTimeout, err)
	}

	cfg, err := daemon.LoadConfig(func(k string) string {
		return map[string]string{daemon.EnvShutdownGrace: "3s", daemon.EnvHTTPMaxInFlight: "7", daemon.EnvLogFormat: "JSON"}[k]
	}, "registry", ":8081")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != ":8081" || cfg.Grace() != 3*time.Second || cfg.HTTP.MaxInFlight != 7 || cfg.LogFormat != "json" {
		t.Errorf("config %+v", cfg)
	}
}

func TestInstrumentLimitsConcurrentRequests(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 2)
	api := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		entered <- struct{}{}
		<-release
	})
	srv := httptest.NewServer(daemon.Instrument(api, daemon.HTTP{MaxInFlight: 1}, nil, daemon.Endpoints{}))
	defer srv.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := http.Get(srv.URL + "/slow")
		if err == nil {
			_ = resp.Body.Close()
		}
	}()
	<-entered
	resp, err := http.Get(srv.URL + "/second")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	var problem map[string]any
	if err := json.Unmarshal(body, &problem); err != nil {
		t.Fatalf("503 body %q: %v", body, err)
	}
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || resp.Header.Get("Content-Type") != "application/problem+json" ||
		problem["code"] != "unavailable" || problem["type"] != "urn:samnav:problem:unavailable" || problem["status"] != float64(503) {
		t.Errorf("beyond the limit: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	// Probes are not limited.
	for _, p := range []string{"/livez", "/healthz"} {
		r, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		_ = r.Body.Close()
		if r.StatusCode != 200 {
			t.Errorf("%s under load: %d", p, r.StatusCode)
		}
	}
	close(release)
	<-done
}

func TestInstrumentRecordsRoutePattern(t *testing.T) {
	tel, err := telemetry.Setup(context.Background(), telemetry.Config{ServiceName: "samnav-test", LogOutput: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	inner := http.NewServeMux()
	inner.HandleFunc("GET /api/v1/things/{id}", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	// A middleware that copies the request hides the inner pattern unless
	// the inner mux records it.
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		daemon.RecordRoute(inner).ServeHTTP(w, r.WithContext(context.WithoutCancel(r.Context())))
	})
	srv := httptest.NewServer(daemon.Instrument(api, daemon.HTTP{}, tel.MeterProvider, daemon.Endpoints{Metrics: tel.MetricsHandler()}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/v1/things/person-secret-id")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	resp, err = http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	text := string(b)
	var line string
	for l := range strings.SplitSeq(text, "\n") {
		if strings.HasPrefix(l, "http_server_request_duration_seconds_count{") && strings.Contains(l, `http_response_status_code="418"`) {
			line = l
		}
	}
	if line == "" || !strings.Contains(line, `http_route="GET /api/v1/things/{id}"`) || !strings.Contains(line, `http_request_method="GET"`) ||
		!strings.Contains(line, `http_response_status_class="4xx"`) || !strings.HasSuffix(line, " 1") {
		t.Errorf("no request count by route pattern; /metrics:\n%s", text)
	}
	if strings.Contains(text, "person-secret-id") {
		t.Error("/metrics carries the raw path")
	}
	if !strings.Contains(text, "http_server_active_requests") {
		t.Error("/metrics lacks http_server_active_requests")
	}
}

func TestHealthReportsChecks(t *testing.T) {
	checks := []daemon.Check{
		{Name: "relay", Run: func(context.Context) (any, []string) { return map[string]int{"pending": 2}, nil }},
		{Name: "database", Run: func(context.Context) (any, []string) { return nil, []string{"database: gone"} }},
	}
	srv := httptest.NewServer(daemon.Instrument(http.NotFoundHandler(), daemon.HTTP{}, nil, daemon.Endpoints{Checks: checks}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	relay, _ := body["relay"].(map[string]any)
	if resp.StatusCode != 503 || body["status"] != "degraded" || relay["pending"] != float64(2) {
		t.Errorf("/healthz: %d %v", resp.StatusCode, body)
	}
}

// TestServeDrains: after ctx ends, a request in flight finishes, a long
// poll is told to answer, new connections are refused, and the workers
// stop only after the servers have drained; then Close runs.
func TestServeDrains(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	inFlight, polling := make(chan struct{}), make(chan struct{})
	var served, workerStopped, closed atomic.Bool
	api := http.NewServeMux()
	api.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		close(inFlight)
		time.Sleep(200 * time.Millisecond)
		served.Store(true)
		_, _ = io.WriteString(w, "done")
	})
	api.HandleFunc("/poll", func(w http.ResponseWriter, r *http.Request) {
		close(polling)
		select {
		case <-daemon.Draining(r.Context()):
			_, _ = io.WriteString(w, "drained")
		case <-time.After(time.Minute):
			_, _ = io.WriteString(w, "timeout")
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- daemon.Serve(ctx, daemon.Program{
			Grace:   10 * time.Second,
			Servers: []daemon.Server{{Name: "api", Listener: ln, Handler: api}},
			Workers: []daemon.Worker{{Name: "w", Run: func(ctx context.Context) error {
				<-ctx.Done()
				if !served.Load() {
					t.Error("worker stopped before the request in flight finished")
				}
				workerStopped.Store(true)
				return nil
			}}},
			Close: func() error {
				if !workerStopped.Load() {
					t.Error("Close ran before the worker stopped")
				}
				closed.Store(true)
				return nil
			},
		})
	}()
	slow := make(chan string, 1)
	longPoll := make(chan string, 1)
	get := func(path string, out chan<- string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			out <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		out <- string(b)
	}
	go get("/poll", longPoll)
	go get("/slow", slow)
	<-inFlight
	<-polling
	cancel()
	if got := <-slow; got != "done" {
		t.Errorf("request in flight got %q, want done", got)
	}
	if got := <-longPoll; got != "drained" {
		t.Errorf("long poll got %q, want drained", got)
	}
	if err := poll.Receive(poll.Within(t, 5*time.Second), t, "Serve returning after draining", done); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if !closed.Load() {
		t.Error("Close did not run")
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("still accepting connections after Serve returned")
	}
}

func TestNameVariables(t *testing.T) {
	err := daemon.NameVariables([]error{errors.New("Driver: \"mysql\" is not sqlite"), errors.New("Brokers[0]: must be host:port"),
		errors.New("Kafka: username: required"), errors.New("Other: no variable"), errors.New("DSN or DataDir: one is required")},
		map[string]string{"DSN": "SAMNAV_X_DSN", "DSN or DataDir": "SAMNAV_X_DSN or SAMNAV_X_DATA_DIR", "Driver": "SAMNAV_X_DRIVER", "Brokers": "SAMNAV_KAFKA_BROKERS", "Kafka": "SAMNAV_KAFKA_SASL_*"})
	want := "Driver: \"mysql\" is not sqlite (SAMNAV_X_DRIVER)\nBrokers[0]: must be host:port (SAMNAV_KAFKA_BROKERS)\nKafka: username: required (SAMNAV_KAFKA_SASL_*)\nOther: no variable\nDSN or DataDir: one is required (SAMNAV_X_DSN or SAMNAV_X_DATA_DIR)"
	if err == nil || err.Error() != want {
		t.Errorf("NameVariables = %q, want %q", err, want)
	}
	if daemon.NameVariables(nil, nil) != nil {
		t.Error("no errors, but not nil")
	}
}
