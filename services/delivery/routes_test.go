package delivery_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/daemon"
	"github.com/samnav/samnav/services/delivery"
	"github.com/samnav/samnav/services/hubtest"
)

// brokerless is a delivery server that reaches neither a broker nor a
// registry (New connects to neither), with API tokens in its database.
func brokerless(t *testing.T, deps delivery.Deps) *delivery.Server {
	t.Helper()
	s, err := delivery.New(t.Context(), delivery.Config{Base: daemon.Base{Addr: "127.0.0.1:0", DataDir: t.TempDir()}, Brokers: []string{"127.0.0.1:1"},
		RegistryURL: "http://127.0.0.1:1", SyncInterval: 20 * time.Millisecond}, deps)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestUnmatchedRoutesAnswerProblems: a path no route serves, and a method
// a path does not take, are answered as every other API error is: RFC
// 9457 problem+json, 404 or 405 with Allow, on the subscription API and
// on the webhook and feed APIs mounted beside it.
func TestUnmatchedRoutesAnswerProblems(t *testing.T) {
	s := brokerless(t, delivery.Deps{})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	admin := hubtest.Issue(t, s.Tokens(), "admin", auth.KindUser, auth.Grant{Role: auth.RoleAdmin})
	tests := []struct {
		method, path string
		status       int
		allow        string
	}{
		{"GET", "/api/v1/nothing", http.StatusNotFound, ""},
		{"DELETE", "/api/v1/subscriptions", http.StatusMethodNotAllowed, "GET, HEAD, POST"},
		{"GET", "/api/v1/feeds/sub-1/nothing", http.StatusNotFound, ""},
		{"PATCH", "/api/v1/subscriptions/sub-1/webhook", http.StatusMethodNotAllowed, "GET, HEAD, PUT"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tt.method, srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+admin)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = resp.Body.Close() }()
			var p map[string]any
			err = json.NewDecoder(resp.Body).Decode(&p)
			if resp.StatusCode != tt.status || resp.Header.Get("Allow") != tt.allow || resp.Header.Get("Content-Type") != "application/problem+json" ||
				err != nil || p["code"] != "not_found" || p["status"] != float64(tt.status) {
				t.Errorf("%d %v %v (%v), want %d problem+json with Allow %q", resp.StatusCode, resp.Header, p, err, tt.status, tt.allow)
			}
		})
	}
}

// TestLogLinesNameOneComponent: every log line names its component once
// (a logger scoped to "delivery" and then to "feed" or "delivery-pipeline"
// wrote both, as two "component" keys in one JSON object).
func TestLogLinesNameOneComponent(t *testing.T) {
	var mu sync.Mutex
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(writerFunc(func(b []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(b)
	}), &slog.HandlerOptions{Level: slog.LevelInfo}))
	s := brokerless(t, delivery.Deps{Logger: logger})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	admin := hubtest.Issue(t, s.Tokens(), "admin", auth.KindUser, auth.Grant{Role: auth.RoleAdmin})
	library := hubtest.Issue(t, s.Tokens(), "bibliotek", auth.KindSystem, auth.Grant{Role: auth.RolePublisher, System: "bibliotek"})
	subscribe(t, srv.URL, library, admin, "webhook", []string{"givenNames"})
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	// The pipeline starts delivering the approved subscription (and logs
	// it as its own component) within two rounds of the sync.
	for deadline := time.Now().Add(10 * time.Second); s.Synced() < 2 || len(s.Running()) == 0; {
		if time.Now().After(deadline) {
			t.Fatalf("the pipeline did not start the subscription: %v", s.Failing())
		}
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	components := map[string]bool{}
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		line := sc.Text()
		if n := strings.Count(line, `"component":`); n > 1 {
			t.Errorf("a log line names %d components: %s", n, line)
		}
		var rec struct{ Component string }
		if err := json.Unmarshal([]byte(line), &rec); err == nil {
			components[rec.Component] = true
		}
	}
	if !components["delivery"] || !components["delivery-pipeline"] {
		t.Errorf("want lines of the service and of its pipeline, got components %v:\n%s", components, buf.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }
