package openapi_test

import (
	"strings"
	"testing"

	"github.com/samnav/samnav/pkg/openapi"
)

func doc(path string, schema map[string]any) openapi.Document {
	return openapi.WithShared(openapi.Document{"openapi": "3.1.0", "info": map[string]any{"title": path, "version": "1"},
		"paths": map[string]any{
			path:         map[string]any{"get": openapi.Op("get"+path, "t", "", "", nil, nil, openapi.Answer("200", openapi.JSONAnswer("", schema), "404"))},
			openapi.Path: map[string]any{"get": openapi.DocumentOp("t")},
		},
		"components": map[string]any{"schemas": map[string]any{"Thing": schema}}})
}

func TestMerge(t *testing.T) {
	a, b := doc("/a", openapi.Str("x")), doc("/b", openapi.Str("x"))
	m, err := openapi.Merge(map[string]any{"title": "both", "version": "1"}, a, b)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(m.SortedPaths(), " "); got != "/a /api/v1/openapi.json /b" {
		t.Fatalf("paths %s", got)
	}
	if _, _, ok := m.Operation("GET", "/b"); !ok {
		t.Fatal("GET /b is not in the merged document")
	}
	if _, err := openapi.Merge(nil, a, doc("/a", openapi.Str("x"))); err == nil || !strings.Contains(err.Error(), "path /a") {
		t.Fatalf("a path in two documents: %v", err)
	}
	if _, err := openapi.Merge(nil, a, doc("/c", openapi.Str("other"))); err == nil || !strings.Contains(err.Error(), "schemas.Thing") {
		t.Fatalf("one component defined two ways: %v", err)
	}
}

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		tmpl, path string
		want       bool
	}{
		{"/api/v1/unit/{id}", "/api/v1/unit/{id}", true},
		{"/api/v1/unit/{id}", "/api/v1/unit/42", true},
		{"/api/v1/unit/{id}", "/api/v1/{concept}/{x}", true},
		{"/api/v1/unit/{id}", "/api/v1/publish/unit", false},
		{"/api/v1/unit/{id}", "/api/v1/unit/{id}/end", false},
	} {
		if got := openapi.Match(c.tmpl, c.path); got != c.want {
			t.Errorf("Match(%s, %s) = %v", c.tmpl, c.path, got)
		}
	}
}
