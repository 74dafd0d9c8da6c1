package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/samnav/samnav/contracts"
	"github.com/samnav/samnav/pkg/httproute"
	"github.com/samnav/samnav/pkg/openapi"
	"github.com/samnav/samnav/pkg/openapi/openapitest"
)

// TestDevServesOneOpenAPIDocumentForEveryAPIRoute: master data and
// delivery share `samnav dev`'s port, so /api/v1/openapi.json there is
// one document that validates and holds every /api/v1 route the port
// serves, whichever service serves it.
func TestDevServesOneOpenAPIDocumentForEveryAPIRoute(t *testing.T) {
	h := startTestHub(t, testConfig(t))
	base := "http://" + h.httpLn.Addr().String()
	resp, err := http.Get(base + openapi.Path)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", openapi.Path, resp.StatusCode, err)
	}
	doc, err := openapi.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if title := doc["info"].(map[string]any)["title"]; title != "Samnav hub API" {
		t.Fatalf("the port serves the document %q, want the merged one", title)
	}
	c := openapitest.New(t, doc, base)
	m, err := contracts.Model()
	if err != nil {
		t.Fatal(err)
	}
	var api []httproute.Route
	for _, r := range httproute.RoutesOf(h.routes()) {
		if strings.HasPrefix(r.Path, "/api/") {
			api = append(api, r)
		}
	}
	c.Routes(api, func(path string) []string {
		if !strings.Contains(path, "{concept}") {
			return []string{path}
		}
		var out []string
		for _, con := range m.Concepts {
			if strings.Contains(path, "/by/") && len(con.NaturalKeys()) == 0 {
				continue
			}
			out = append(out, strings.ReplaceAll(path, "{concept}", con.ID))
		}
		return out
	})
	// Both services' operations are in it.
	for _, p := range []string{"/api/v1/person/{id}", "/api/v1/publish/person", "/api/v1/subscriptions/{id}/approve", "/api/v1/feeds/{subscription}/changes"} {
		if _, ok := doc.Paths()[p]; !ok {
			t.Errorf("the merged document lacks %s", p)
		}
	}
}
