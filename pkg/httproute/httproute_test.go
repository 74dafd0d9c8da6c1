package httproute_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

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
