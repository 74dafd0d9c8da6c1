package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/delivery/internal/subscription"
	"github.com/samnav/samnav/services/delivery/internal/transport/httpapi"
)

// stubService answers Get with err and Request with an empty subscription;
// the other methods are not called.
type stubService struct {
	subscription.Service
	err error
}

func (s stubService) Get(context.Context, string) (client.Subscription, error) {
	return client.Subscription{}, s.err
}

func (s stubService) Request(context.Context, client.Request) (client.Subscription, error) {
	return client.Subscription{}, nil
}

// TestErrorsAreProblemsAndServerErrorsAreLogged: every refusal is
// problem+json with the status of its code, and a 5xx leaves an error log
// line with its cause, the route pattern and no URL.
func TestErrorsAreProblemsAndServerErrorsAreLogged(t *testing.T) {
	tests := []struct {
		name, method, path, contentType, body, authz string
		err                                          error
		status                                       int
		field, rule, wwwAuth                         string
		logged                                       bool
	}{
		{name: "store down", method: "GET", path: "/api/v1/subscriptions/s1", err: errors.New("dial tcp 10.1.2.3: refused"), status: 500, logged: true},
		{name: "unavailable", method: "GET", path: "/api/v1/subscriptions/s1", err: apierr.Unavailable("subscription store").Wrap(errors.New("timeout")), status: 503, logged: true},
		{name: "not found", method: "GET", path: "/api/v1/subscriptions/s1", err: apierr.NotFound(`subscription "s1" not found`), status: 404},
		{name: "body too large", method: "POST", path: "/api/v1/subscriptions", contentType: "application/json", body: `{"purpose":"` + strings.Repeat("x", 1<<20) + `"}`, status: 413, field: "body", rule: "size"},
		{name: "not JSON", method: "POST", path: "/api/v1/subscriptions", contentType: "text/csv", body: `a,b`, status: 415, field: "Content-Type", rule: "media-type"},
		{name: "unknown member", method: "POST", path: "/api/v1/subscriptions", contentType: "application/json", body: `{"purpose":"x","colour":"red"}`, status: 400, field: "colour", rule: "unknown"},
		{name: "refused token", method: "GET", path: "/api/v1/subscriptions/s1", authz: "Bearer snv_nope_nope", status: 401, wwwAuth: `Bearer error="invalid_token"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log bytes.Buffer
			h := httpapi.NewHandler(stubService{err: tt.err}, httpapi.Options{
				Authenticator: &auth.Tokens{Store: &auth.MemoryStore{}},
				Logger:        slog.New(slog.NewTextHandler(&log, nil)),
			})
			r := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			if tt.authz != "" {
				r.Header.Set("Authorization", tt.authz)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			var p apierr.Problem
			if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || w.Code != tt.status || p.Status != tt.status ||
				w.Header().Get("Content-Type") != apierr.ContentType || p.Type != apierr.TypePrefix+string(p.Code) {
				t.Fatalf("%d %s %s, want a %d problem", w.Code, w.Header().Get("Content-Type"), w.Body, tt.status)
			}
			if tt.field != "" && (len(p.Fields) != 1 || p.Fields[0].Field != tt.field || p.Fields[0].Rule != tt.rule) {
				t.Fatalf("fields %+v, want %s %s", p.Fields, tt.field, tt.rule)
			}
			if got := w.Header().Get("WWW-Authenticate"); got != tt.wwwAuth {
				t.Fatalf("WWW-Authenticate %q, want %q", got, tt.wwwAuth)
			}
			line := log.String()
			if !tt.logged {
				if line != "" {
					t.Fatalf("logged: %s", line)
				}
				return
			}
			for _, want := range []string{"level=ERROR", tt.err.Error(), `route="GET /api/v1/subscriptions/{id}"`} {
				if !strings.Contains(line, want) {
					t.Errorf("log lacks %s: %s", want, line)
				}
			}
			if strings.Contains(w.Body.String(), "10.1.2.3") {
				t.Errorf("the cause reached the caller: %s", w.Body)
			}
		})
	}
}
