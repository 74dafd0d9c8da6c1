package main

import (
	"strings"
	"testing"

	"github.com/samnav/samnav/pkg/httproute"
	"github.com/samnav/samnav/pkg/openapi/openapitest"
	"github.com/samnav/samnav/services/hubtest"
)

// TestDevServesOneOpenAPIDocumentForEveryAPIRoute: master data and
// delivery share `samnav dev`'s port, so /api/v1/openapi.json there is
// one document that validates and holds every /api/v1 route the port
// serves, whichever service serves it.
func TestDevServesOneOpenAPIDocumentForEveryAPIRoute(t *testing.T) {
	h := startTestHub(t, testConfig(t))
	base := "http://" + h.httpLn.Addr().String()
	doc := openapitest.Fetch(t, base)
	if title := doc["info"].(map[string]any)["title"]; title != "Samnav hub API" {
		t.Fatalf("the port serves the document %q, want the merged one", title)
	}
	c := openapitest.New(t, doc, base)
	var api []httproute.Route
	for _, r := range httproute.RoutesOf(h.routes()) {
		if strings.HasPrefix(r.Path, "/api/") {
			api = append(api, r)
		}
	}
	c.Routes(api, hubtest.ConceptPaths(t))
	// Both services' operations are in it.
	for _, p := range []string{"/api/v1/person/{id}", "/api/v1/publish/person", "/api/v1/subscriptions/{id}/approve", "/api/v1/feeds/{subscription}/changes"} {
		if _, ok := doc.Paths()[p]; !ok {
			t.Errorf("the merged document lacks %s", p)
		}
	}
}
