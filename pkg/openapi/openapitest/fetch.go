package openapitest

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/samnav/samnav/pkg/openapi"
)

// Fetch gets the document the server at base serves at openapi.Path and
// parses it, failing t unless it is answered 200 with a JSON document.
func Fetch(t testing.TB, base string) openapi.Document {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+openapi.Path, nil)
	if err != nil {
		t.Fatalf("GET %s: %v", openapi.Path, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", openapi.Path, err)
	}
	defer func() { _ = resp.Body.Close() }() // a read-side close has nothing to report
	raw, err := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); err != nil || resp.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("GET %s: %d %s %v", openapi.Path, resp.StatusCode, ct, err)
	}
	doc, err := openapi.Parse(raw)
	if err != nil {
		t.Fatalf("parse the document at %s: %v", openapi.Path, err)
	}
	return doc
}
