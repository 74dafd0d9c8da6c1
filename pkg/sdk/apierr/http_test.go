package apierr_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/pkg/sdk/golden"
)

var traceID = trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}

// traced returns r inside a sampled span context, as the services'
// tracing middleware leaves it.
func traced(r *http.Request) *http.Request {
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: trace.SpanID{1, 2, 3, 4, 5, 6, 7, 8}, TraceFlags: trace.FlagsSampled})
	return r.WithContext(trace.ContextWithSpanContext(r.Context(), sc))
}

// serve answers one request with err through a Writer logging to log,
// the request matched by a mux pattern as in the services.
func serve(t *testing.T, err error, log *bytes.Buffer, prepare func(*http.Request) *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	wr := apierr.NewWriter(slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug})))
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /api/v1/{concept}/{id}", func(w http.ResponseWriter, r *http.Request) { wr.Write(w, r, err) })
	r := httptest.NewRequest(http.MethodPut, "/api/v1/person/198507099805", nil)
	if prepare != nil {
		r = prepare(r)
	}
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	return w
}

// TestWriteAnswersProblemJSON: every error is answered as problem+json
// with its status (golden bodies), the cause never on the wire; a 5xx is
// logged with its cause, route and trace id (never the URL), a 4xx not at
// all, whatever it wraps.
func TestWriteAnswersProblemJSON(t *testing.T) {
	cause := errors.New("connection refused by 10.0.0.7")
	tests := []struct {
		name    string
		err     error
		status  int
		golden  string // the golden body under testdata, "" for none
		authz   string // the request's Authorization
		wwwAuth string
	}{
		{"invalid", apierr.Invalid("the unit record breaks 2 rule(s) of the model",
			apierr.FieldError{Field: "name", Rule: "required", Message: "is required"},
			apierr.FieldError{Field: "addresses[0].postalCode", Rule: "format", Message: "must be five digits"}), 400, "invalid", "", ""},
		{"invalid with a cause", apierr.InvalidField("name", "required", "is required").Wrap(cause), 400, "", "", ""},
		{"not_found", apierr.NotFound("unit u1 not found"), 404, "not_found", "", ""},
		{"not_found with a cause", apierr.NotFound("no unit").Wrap(cause), 404, "", "", ""},
		{"conflict", apierr.Conflict("unit u1 was ended"), 409, "conflict", "", ""},
		{"stale If-Match", apierr.PreconditionFailed("revision 1 is stale").WithExtension("current", map[string]any{"id": "u1", "revision": 2}), 412, "stale", "", ""},
		{"too large", apierr.TooLarge(1024), 413, "too_large", "", ""},
		{"wrong content type", apierr.InvalidField("Content-Type", "media-type", "must be application/json").WithStatus(415), 415, "media_type", "", ""},
		{"no token", apierr.Unauthorized("this operation needs an API token"), 401, "unauthorized", "", "Bearer"},
		{"refused token", apierr.Unauthorized("unknown token t1"), 401, "unauthorized_token", "Bearer snv_t1_secret", `Bearer error="invalid_token"`},
		{"forbidden", apierr.Forbidden("user anna may not write unit"), 403, "forbidden", "Bearer snv_t1_secret", ""},
		{"unavailable", apierr.Unavailable("subscription store").Wrap(cause), 503, "unavailable", "", ""},
		{"unclassified", cause, 500, "internal", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log bytes.Buffer
			w := serve(t, tt.err, &log, func(r *http.Request) *http.Request {
				if tt.authz != "" {
					r.Header.Set("Authorization", tt.authz)
				}
				return traced(r)
			})
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type %q", ct)
			}
			if got := w.Header().Get("WWW-Authenticate"); got != tt.wwwAuth {
				t.Errorf("WWW-Authenticate %q, want %q", got, tt.wwwAuth)
			}
			if tt.golden != "" {
				golden.File(t, filepath.Join("testdata", tt.golden+".json"), w.Body.Bytes())
			}
			var p map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || p["status"] != float64(tt.status) {
				t.Fatalf("body %s: %v", w.Body, err)
			}
			if strings.Contains(w.Body.String(), "10.0.0.7") {
				t.Errorf("the cause reached the wire: %s", w.Body)
			}
			checkLogged(t, log.String(), tt.err, tt.status >= 500)
		})
	}
}

// checkLogged checks the log of one request that ended in err: nothing
// when !logged, else one ERROR line with the cause, method, route pattern
// and trace id, without the URL (it may carry personal data).
func checkLogged(t *testing.T, line string, err error, logged bool) {
	t.Helper()
	if !logged {
		if line != "" {
			t.Fatalf("a 4xx was logged: %s", line)
		}
		return
	}
	for _, want := range []string{"level=ERROR", `err="` + err.Error() + `"`, "method=PUT", `route="PUT /api/v1/{concept}/{id}"`, "trace_id=" + traceID.String()} {
		if !strings.Contains(line, want) {
			t.Errorf("log lacks %s: %s", want, line)
		}
	}
	if strings.Contains(line, "198507099805") {
		t.Errorf("the URL reached the log: %s", line)
	}
}

func TestAClientLeavingIsNotAnError(t *testing.T) {
	var log bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	serve(t, apierr.Unavailable("request ended while waiting").Wrap(ctx.Err()), &log, func(r *http.Request) *http.Request { return r.WithContext(ctx) })
	if !strings.Contains(log.String(), "level=DEBUG") || strings.Contains(log.String(), "level=ERROR") {
		t.Fatalf("log: %s", log.String())
	}
}

// The go-kit form: the request reaches EncodeError through the context.
func TestEncodeErrorFindsTheRequest(t *testing.T) {
	var log bytes.Buffer
	wr := apierr.NewWriter(slog.New(slog.NewTextHandler(&log, nil)))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /x/{id}", func(w http.ResponseWriter, r *http.Request) {
		ctx := apierr.RequestContext(r.Context(), r)
		wr.EncodeError(ctx, errors.New("boom"), w)
	})
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/x/1", nil))
	if w.Code != 500 || !strings.Contains(log.String(), `route="GET /x/{id}"`) {
		t.Fatalf("%d, log %s", w.Code, log.String())
	}
}
