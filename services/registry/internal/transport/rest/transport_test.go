package rest_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/samnav/samnav/pkg/sdk/sqldb"
	_ "github.com/samnav/samnav/pkg/sqldb/drivers" // the drivers sqldb.Open uses
	"github.com/samnav/samnav/services/registry/internal/schemas"
	"github.com/samnav/samnav/services/registry/internal/store/sqlstore"
	"github.com/samnav/samnav/services/registry/internal/transport/rest"
)

// newHandler returns the API over a new SQLite store, writes authorized
// by auth.
func newHandler(t testing.TB, auth rest.Authorizer) http.Handler {
	t.Helper()
	db, d, err := sqldb.Open("sqlite:" + filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.New(context.Background(), db, d)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return rest.NewHandler(schemas.New(st, ""), auth, slog.New(slog.DiscardHandler))
}

type allowAll struct{}

func (allowAll) AuthorizeWrite(*http.Request) error { return nil }

// FuzzRequests sends arbitrary bodies to every endpoint that decodes one.
// Whatever the input, the handler must not panic, must answer with a
// status below 500, and an error must carry a Confluent error body.
func FuzzRequests(f *testing.F) {
	h := newHandler(f, allowAll{})

	for _, seed := range []string{
		`{"schema":"\"string\""}`,
		`{"schema":"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"}]}"}`,
		`{"schema":"{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[]}","references":[{"name":"x","subject":"s","version":1}]}`,
		`{"schema":"[\"null\",\"long\"]","schemaType":"avro"}`,
		`{"compatibility":"FULL"}`, `{"mode":"IMPORT"}`, `{"schema":1}`, `[]`, `null`, ``, `{"schema":"{\"type\":\"fixed\",\"name\":\"F\",\"size\":-1}"}`,
	} {
		f.Add(seed)
	}
	targets := []struct{ method, path string }{
		{"POST", "/subjects/s/versions"},
		{"POST", "/subjects/s"},
		{"POST", "/compatibility/subjects/s/versions"},
		{"POST", "/compatibility/subjects/s/versions/latest"},
		{"PUT", "/config/s"},
		{"PUT", "/mode/s"},
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, tg := range targets {
			req := httptest.NewRequest(tg.method, tg.path, strings.NewReader(body))
			req.Header.Set("Content-Type", rest.ContentType)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			res := rec.Result()
			b, _ := io.ReadAll(res.Body)
			if res.StatusCode >= 500 {
				t.Fatalf("%s %s with %q: status %d %s", tg.method, tg.path, body, res.StatusCode, b)
			}
			if res.StatusCode >= 400 {
				var e struct {
					ErrorCode int    `json:"error_code"`
					Message   string `json:"message"`
				}
				if err := json.Unmarshal(b, &e); err != nil || e.ErrorCode == 0 || e.Message == "" {
					t.Fatalf("%s %s with %q: error body %s is not a Confluent error", tg.method, tg.path, body, b)
				}
			}
		}
		// Undo any IMPORT/READONLY mode the input set, so later inputs
		// exercise registration again.
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("DELETE", "/mode/s", nil))
	})
}
