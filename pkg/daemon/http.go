package daemon

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/pkg/telemetry"
)

// NewServer returns an http.Server for h with the limits of lim (zero
// fields defaulted) and errors logged to logger at warn.
func NewServer(h http.Handler, lim HTTP, logger *slog.Logger) *http.Server {
	lim = lim.WithDefaults()
	logger = Logger(logger)
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: lim.ReadHeaderTimeout,
		ReadTimeout:       lim.ReadTimeout,
		WriteTimeout:      lim.WriteTimeout,
		IdleTimeout:       lim.IdleTimeout,
		MaxHeaderBytes:    lim.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// Endpoints are what Instrument serves beside the API.
type Endpoints struct {
	// Metrics serves GET /metrics (telemetry.Telemetry.MetricsHandler);
	// nil serves none.
	Metrics http.Handler
	// Checks are the dependencies GET /healthz checks.
	Checks []Check
	// Logger logs a failed health check, and every request at debug level
	// (method, path without the query, status); nil discards.
	Logger *slog.Logger
}

// Instrument returns api behind what every Samnav HTTP server has:
// GET /livez, GET /healthz (see Health), GET /metrics, a limit of
// lim.MaxInFlight requests at once (503 problem+json with Retry-After
// beyond it; the three endpoints above are not limited) and the request
// metrics of mp:
//
//	http.server.request.duration   histogram (s) by http.route, http.request.method, http.response.status_code and status class
//	http.server.active_requests    requests being served now
//
// http.route is the pattern of the ServeMux that chose the handler (see
// RecordRoute), never the raw path, so the metrics' cardinality is bounded.
// Every request is logged to ep.Logger at debug level, without its query
// string (see accessLog).
func Instrument(api http.Handler, lim HTTP, mp metric.MeterProvider, ep Endpoints) http.Handler {
	lim = lim.WithDefaults()
	if mp == nil {
		mp = noop.NewMeterProvider()
	}
	m := newHTTPMetrics(mp)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /healthz", healthHandler(ep.Checks, ep.Logger))
	if ep.Metrics != nil {
		mux.Handle("GET /metrics", ep.Metrics)
	}
	limited := limit(RecordRoute(api), lim.MaxInFlight)
	mux.Handle("/", limited)
	return accessLog(m.wrap(mux), Logger(ep.Logger))
}

// limit answers 503 at once when n requests are already being served.
// The refusal is not logged: under load that would add to the load; the
// request metrics count it.
func limit(next http.Handler, n int) http.Handler {
	slots := make(chan struct{}, n)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
			next.ServeHTTP(w, r)
		default:
			h := w.Header()
			h.Set("Content-Type", apierr.ContentType)
			h.Set("Cache-Control", "no-store")
			h.Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = json.NewEncoder(w).Encode(apierr.ProblemOf(r.Context(),
				apierr.Unavailable("the server is serving as many requests as it may at once; try again shortly")))
		}
	})
}

// routeKey is the context key of the route a request was routed by.
type routeKey struct{}

// route holds the pattern of the innermost ServeMux that routed a request.
type route struct{ pattern string }

// RecordRoute wraps a ServeMux (or any handler that sets Request.Pattern)
// so that Instrument labels the request's metrics with the pattern the
// mux chose. Muxes nested behind middleware that copies the request
// (r.WithContext, http.StripPrefix) each need it; the innermost pattern
// wins. Without Instrument in front it only calls h.
func RecordRoute(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		if rt, ok := r.Context().Value(routeKey{}).(*route); ok && rt.pattern == "" && r.Pattern != "" {
			rt.pattern = r.Pattern
		}
	})
}

type httpMetrics struct {
	duration metric.Float64Histogram
	active   metric.Int64UpDownCounter
	// attrs holds one attribute set per route, method and status, so a
	// request records without allocating them.
	attrs *telemetry.Attributes[attrKey]
}

type attrKey struct {
	route, method string
	status        int
}

func newHTTPMetrics(mp metric.MeterProvider) *httpMetrics {
	meter := mp.Meter("github.com/samnav/samnav/pkg/daemon")
	m := &httpMetrics{attrs: telemetry.NewAttributes(func(k attrKey) attribute.Set {
		return attribute.NewSet(
			attribute.String("http.route", k.route),
			attribute.String("http.request.method", k.method),
			attribute.Int("http.response.status_code", k.status),
			attribute.String("http.response.status_class", strconv.Itoa(k.status/100)+"xx"),
		)
	})}
	// Errors here mean an invalid instrument name, fixed at compile time;
	// the SDK then returns a working no-op instrument.
	m.duration, _ = meter.Float64Histogram("http.server.request.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of HTTP requests served, by route pattern, method and status."),
		metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
	m.active, _ = meter.Int64UpDownCounter("http.server.active_requests", metric.WithUnit("{request}"),
		metric.WithDescription("HTTP requests being served now (long polls included)."))
	return m
}

// knownMethods are kept as they are; any other method is recorded as
// _OTHER, so a client cannot grow the metrics with made-up methods.
var knownMethods = map[string]bool{http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true}

func (m *httpMetrics) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		m.active.Add(r.Context(), 1)
		rt := &route{}
		r = r.WithContext(context.WithValue(r.Context(), routeKey{}, rt))
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			m.active.Add(r.Context(), -1)
			pattern := rt.pattern
			if pattern == "" {
				pattern = r.Pattern
			}
			if pattern == "" {
				pattern = "unmatched"
			}
			method := r.Method
			if !knownMethods[method] {
				method = "_OTHER"
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			m.duration.Record(r.Context(), time.Since(start).Seconds(), m.attrSet(pattern, method, status))
		}()
		next.ServeHTTP(sw, r)
	})
}

func (m *httpMetrics) attrSet(route, method string, status int) metric.MeasurementOption {
	return m.attrs.For(attrKey{route, method, status})
}

// statusWriter remembers the status written. It unwraps for
// http.ResponseController (deadlines, flushing) and flushes for handlers
// that assert http.Flusher.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
