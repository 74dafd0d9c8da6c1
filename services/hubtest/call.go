package hubtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/samnav/samnav/contracts"
	mdclient "github.com/samnav/samnav/services/masterdata/client"
)

// Response is an API's answer as a test looks at it.
type Response struct {
	Status int
	Header http.Header
	Raw    []byte
	// Body is Raw decoded as a JSON object; nil when Raw is empty or is
	// not one.
	Body map[string]any
}

// Call sends method u with body (unless nil) encoded as JSON, token
// (unless "") as the bearer token, and header's name/value pairs, and
// returns the answer whatever its status: the tests assert on it. It
// sets no other header, so a test can send a request without a
// Content-Type. It fails the test only when no answer comes.
func Call(t testing.TB, method, u, token string, body any, header ...string) Response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatalf("encode the body of %s %s: %v", method, u, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, u, rd)
	if err != nil {
		t.Fatalf("build %s %s: %v", method, u, err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer func() { _ = resp.Body.Close() }() // a read-side close has nothing to report
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read the answer to %s %s: %v", method, u, err)
	}
	r := Response{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	_ = json.Unmarshal(raw, &r.Body) // Body stays nil for an answer that is no JSON object
	return r
}

// CallJSON is Call with a JSON Content-Type, for the JSON APIs: it
// returns the status and the decoded body, and fails the test when a
// non-empty answer is not a JSON object.
func CallJSON(t testing.TB, method, u, token string, body any) (int, map[string]any) {
	t.Helper()
	r := Call(t, method, u, token, body, "Content-Type", "application/json")
	if len(r.Raw) > 0 && r.Body == nil {
		t.Fatalf("%s %s: %d %s", method, u, r.Status, r.Raw)
	}
	return r.Status, r.Body
}

// Publish upserts states of concept through master data's publish API
// as token (a publisher's) and returns the records' ids in order. It
// fails the test when the API refuses the batch.
func (h *Hub) Publish(token, concept string, states ...map[string]any) []string {
	h.T.Helper()
	items := make([]mdclient.PublishItem, len(states))
	for i, s := range states {
		items[i] = mdclient.PublishItem{Op: "upsert", State: s}
	}
	res, err := h.MasterdataClient(token).Publish(h.T.Context(), concept, items)
	if err != nil {
		h.T.Fatalf("publish %d %s: %v", len(states), concept, err)
	}
	ids := make([]string, len(res))
	for i, r := range res {
		ids[i] = r.ID
	}
	return ids
}

// ConceptPaths expands an API path template on {concept} into the path of
// every concept of the embedded model (the natural-key lookup, "/lookup/",
// only for concepts that have a natural key, and the GET one, "/by/", only
// for those with a natural key that is not personal data), as master data
// documents its routes; other paths stand for themselves. It is the expand argument of
// openapitest's Checker.Routes.
func ConceptPaths(t testing.TB) func(path string) []string {
	t.Helper()
	m, err := contracts.Model()
	if err != nil {
		t.Fatalf("hubtest: the concept model: %v", err)
	}
	return func(path string) []string {
		if !strings.Contains(path, "{concept}") {
			return []string{path}
		}
		var out []string
		for _, con := range m.Concepts {
			if strings.Contains(path, "/lookup/") && len(con.NaturalKeys()) == 0 || strings.Contains(path, "/by/") && len(con.PublicNaturalKeys()) == 0 {
				continue
			}
			out = append(out, strings.ReplaceAll(path, "{concept}", con.ID))
		}
		return out
	}
}
