package avroserde_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/samnav/samnav/pkg/sdk/avroserde"
)

// subjectRegistry answers DELETE /subjects/{s} and GET .../versions/latest
// from a table of canned answers, and records the requests.
type subjectRegistry struct {
	mu      sync.Mutex
	calls   []string
	answers map[string]string // "METHOD path?query" -> "status body"
}

func (r *subjectRegistry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	call := req.Method + " " + req.URL.EscapedPath()
	if req.URL.RawQuery != "" {
		call += "?" + req.URL.RawQuery
	}
	r.mu.Lock()
	r.calls = append(r.calls, call)
	a, ok := r.answers[call]
	r.mu.Unlock()
	if !ok {
		a = `404 {"error_code":40401,"message":"Subject not found"}`
	}
	var status int
	var body string
	fmt.Sscanf(a, "%d", &status)
	_, body, _ = strings.Cut(a, " ")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

func TestDeleteSubject(t *testing.T) {
	const soft, hard = "DELETE /subjects/v-value", "DELETE /subjects/v-value?permanent=true"
	for _, tc := range []struct {
		name    string
		answers map[string]string
		calls   []string
		kind    error
	}{
		{"live versions: soft, then permanent", map[string]string{soft: `200 [1,2]`, hard: `200 [1,2]`}, []string{soft, hard}, nil},
		{"no such subject: nothing to delete", nil, []string{soft}, nil},
		{"soft-deleted already: permanent only", map[string]string{soft: `404 {"error_code":40404,"message":"Subject 'v-value' was soft deleted"}`, hard: `200 [1]`}, []string{soft, hard}, nil},
		{"refused", map[string]string{soft: `422 {"error_code":42205,"message":"Subject 'v-value' is in read-only mode"}`}, []string{soft}, avroserde.ErrRegistryRejected},
		{"unavailable", map[string]string{soft: `200 [1]`, hard: `503 {"error_code":50301,"message":"down"}`}, []string{soft, hard}, avroserde.ErrRegistryUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := &subjectRegistry{answers: tc.answers}
			srv := httptest.NewServer(reg)
			defer srv.Close()
			c, err := avroserde.NewRegistryClient(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			err = c.DeleteSubject(context.Background(), "v-value")
			if (tc.kind == nil) != (err == nil) || (tc.kind != nil && !errors.Is(err, tc.kind)) {
				t.Errorf("DeleteSubject = %v, want kind %v", err, tc.kind)
			}
			if tc.kind != nil && err != nil && !strings.Contains(err.Error(), "v-value") {
				t.Errorf("error %q does not name the subject", err)
			}
			if got := strings.Join(reg.calls, ", "); got != strings.Join(tc.calls, ", ") {
				t.Errorf("requests %s, want %s", got, strings.Join(tc.calls, ", "))
			}
		})
	}
}

func TestLatestSchema(t *testing.T) {
	const latest = "GET /subjects/v-value/versions/latest"
	reg := &subjectRegistry{answers: map[string]string{latest: `200 {"subject":"v-value","version":3,"id":7,"schema":"\"string\""}`}}
	srv := httptest.NewServer(reg)
	defer srv.Close()
	c, err := avroserde.NewRegistryClient(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	id, schema, err := c.LatestSchema(context.Background(), "v-value")
	if err != nil || id != 7 || schema != `"string"` {
		t.Errorf("LatestSchema = %d, %s, %v; want 7, \"string\"", id, schema, err)
	}
	if _, _, err := c.LatestSchema(context.Background(), "other"); !errors.Is(err, avroserde.ErrNotRegistered) {
		t.Errorf("LatestSchema of an unknown subject = %v, want ErrNotRegistered", err)
	}
}
