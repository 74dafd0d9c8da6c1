package daemon_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/samnav/samnav/pkg/daemon"
)

// TestAccessLogLeavesOutTheQuery: every request is logged at debug level
// with its method, path and status, never its query string; the observer
// of the request's context sees the whole request line first.
func TestAccessLogLeavesOutTheQuery(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	api := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := daemon.Instrument(api, daemon.HTTP{}, nil, daemon.Endpoints{Logger: logger})
	var seen []string
	req := httptest.NewRequest(http.MethodGet, "/api/v1/person?q=Svensson&limit=5", nil)
	req = req.WithContext(daemon.ObserveRequests(req.Context(), func(r *http.Request) { seen = append(seen, r.Method+" "+r.URL.RequestURI()) }))
	h.ServeHTTP(httptest.NewRecorder(), req)
	out := buf.String()
	if !strings.Contains(out, `msg="http request" method=GET path=/api/v1/person status=418`) || strings.Contains(out, "Svensson") || strings.Contains(out, "limit") {
		t.Errorf("access log: %s", out)
	}
	if len(seen) != 1 || seen[0] != "GET /api/v1/person?q=Svensson&limit=5" {
		t.Errorf("observer saw %q", seen)
	}
}
