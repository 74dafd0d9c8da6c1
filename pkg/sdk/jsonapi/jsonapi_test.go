package jsonapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/pkg/sdk/jsonapi"
)

func TestDo(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" || r.Header.Get("Accept") != "application/json" || r.Header.Get("X-Extra") != "1" {
			apierr.Write(w, r, apierr.Unauthorized("no token"))
			return
		}
		if r.URL.Path == "/missing" {
			apierr.Write(w, r, apierr.NotFound("no such thing"))
			return
		}
		var in map[string]any
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || r.Header.Get("Content-Type") != "application/json" {
			apierr.Write(w, r, apierr.Invalid("no JSON body"))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"n": 9007199254740993, "echo": ` + mustJSON(t, in) + `}`))
	}))
	defer srv.Close()
	e := jsonapi.Endpoint{BaseURL: srv.URL + "/", Token: "tok"}
	h := http.Header{"X-Extra": {"1"}}

	var out map[string]any
	if err := e.Do(t.Context(), http.MethodPost, "/things", h, map[string]any{"a": "b"}, &out); err != nil {
		t.Fatal(err)
	}
	if out["n"] != json.Number("9007199254740993") {
		t.Errorf("n = %#v, want the exact json.Number", out["n"])
	}
	if err := e.Do(t.Context(), http.MethodPost, "/things", h, map[string]any{}, nil); err != nil {
		t.Errorf("an answer nobody reads: %v", err)
	}
	if err := e.Do(t.Context(), http.MethodGet, "/missing", h, nil, &out); apierr.CodeOf(err) != apierr.CodeNotFound {
		t.Errorf("missing: %v, want not_found", err)
	}
	if err := (jsonapi.Endpoint{BaseURL: srv.URL}).Do(t.Context(), http.MethodGet, "/things", nil, nil, &out); apierr.CodeOf(err) != apierr.CodeUnauthorized {
		t.Errorf("without a token: %v, want unauthorized", err)
	}

	srv.Close()
	err := e.Do(t.Context(), http.MethodGet, "/things?pnr=198507099805", h, nil, &out)
	if err == nil || strings.Contains(err.Error(), "198507099805") || !strings.Contains(err.Error(), "GET /things") {
		t.Errorf("a failed request: %v, want the route named and no query", err)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestQueryLeavesOutWhatWasNotGiven(t *testing.T) {
	q := jsonapi.Query{}
	if got := q.Path("/x"); got != "/x" {
		t.Errorf("empty query: %q", got)
	}
	q.Set("cursor", "")
	q.SetInt("limit", 0)
	q.SetInt("before", -1)
	q.Set("q", "a b&c")
	q.SetInt("after", 12)
	if got, want := q.Path("/x"), "/x?after=12&q=a+b%26c"; got != want {
		t.Errorf("Path = %q, want %q", got, want)
	}
}
