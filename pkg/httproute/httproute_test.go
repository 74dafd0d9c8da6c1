package httproute_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/samnav/samnav/pkg/sdk/apierr"

	"github.com/samnav/samnav/pkg/httproute"
)

func TestRoutesListsNestedMountsWithTheirPrefix(t *testing.T) {
	inner := httproute.New()
	inner.HandleFunc("GET /things/{id}", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	inner.HandleFunc("POST /things/{id}/poke", func(http.ResponseWriter, *http.Request) {})
	feed := httproute.New()
	feed.HandleFunc("GET /api/v1/feeds/{sub}/changes", func(http.ResponseWriter, *http.Request) {})

	outer := httproute.New()
	outer.HandleFunc("GET /api/v1/own", func(http.ResponseWriter, *http.Request) {})
	strip := httproute.StripPrefix("/api/v1", inner)
	outer.Handle("/api/v1/things/{id}", strip)
	outer.Handle("/api/v1/things/{id}/", strip) // the same routes, listed once
	outer.Handle("/api/v1/feeds/", feed)
	outer.HandleFunc("/", http.NotFound)
	h := httproute.Listing(http.HandlerFunc(outer.ServeHTTP), outer)

	want := []httproute.Route{
		{Path: "/"},
		{Method: "GET", Path: "/api/v1/feeds/{sub}/changes"},
		{Method: "GET", Path: "/api/v1/own"},
		{Method: "GET", Path: "/api/v1/things/{id}"},
		{Method: "POST", Path: "/api/v1/things/{id}/poke"},
	}
	if got := httproute.RoutesOf(h); !slices.Equal(got, want) {
		t.Fatalf("routes\n got %v\nwant %v", got, want)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/things/7", nil))
	if rec.Code != http.StatusTeapot {
		t.Fatalf("the stripped mount answered %d, want 418", rec.Code)
	}
	if httproute.RoutesOf(http.NotFoundHandler()) != nil {
		t.Fatal("a plain handler lists no routes")
	}
}

// TestAnswerUnmatched: a request no pattern matches is answered with a
// problem (404, or 405 with Allow) that does not repeat the path; one a
// pattern matches, and a redirect to the canonical path, are served as
// net/http serves them.
func TestAnswerUnmatched(t *testing.T) {
	mux := httproute.New()
	mux.AnswerUnmatched(apierr.NewWriter(nil))
	mux.HandleFunc("GET /things/{id}", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	mux.HandleFunc("POST /things/{id}", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	mux.HandleFunc("GET /dir/", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	tests := []struct {
		method, path string
		status       int
		allow        string
	}{
		{"GET", "/things/19121212-1212", http.StatusTeapot, ""},
		{"GET", "/nothing/19121212-1212", http.StatusNotFound, ""},
		{"DELETE", "/things/19121212-1212", http.StatusMethodNotAllowed, "GET, HEAD, POST"},
		{"GET", "/dir", http.StatusTemporaryRedirect, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.status || rec.Header().Get("Allow") != tt.allow {
				t.Fatalf("%d Allow %q, want %d Allow %q", rec.Code, rec.Header().Get("Allow"), tt.status, tt.allow)
			}
			if tt.status != http.StatusNotFound && tt.status != http.StatusMethodNotAllowed {
				return
			}
			var p map[string]any
			if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type %q", ct)
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p["code"] != "not_found" || p["status"] != float64(tt.status) {
				t.Errorf("body %s: %v", rec.Body, err)
			}
			if strings.Contains(rec.Body.String(), "19121212") {
				t.Errorf("the problem repeats the path: %s", rec.Body)
			}
		})
	}
}
