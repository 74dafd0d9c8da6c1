package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/sdk/poll"
	"github.com/samnav/samnav/services/hubtest"
	"github.com/samnav/samnav/services/masterdata"
)

// call sends body (nil for none) with token and returns the status.
func call(t *testing.T, method, url, token string, body any) int {
	t.Helper()
	return hubtest.Call(t, method, url, token, body).Status
}

// samnavTokens runs `samnav tokens args...` and returns what it printed.
func samnavTokens(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(t.Context(), append([]string{"tokens"}, args...), &out, &errb)
	return out.String() + errb.String(), err
}

// TestTokensCreatedByTheCLIWriteWhatTheyMayAndRevokeAtOnce is the issue's
// walk-through: an admin creates a publisher token for hr-system with the
// CLI; it writes employees and is refused elsewhere; once revoked, every
// service refuses it (within a second: polled, not slept).
func TestTokensCreatedByTheCLIWriteWhatTheyMayAndRevokeAtOnce(t *testing.T) {
	cfg := testConfig(t)
	cfg.NoSeed, cfg.NoExamples = true, true
	h := startTestHub(t, cfg)
	base := "http://" + h.httpLn.Addr().String()
	registry := "http://" + h.registry.Addr()

	t.Setenv("SAMNAV_TOKEN", "")
	if _, err := samnavTokens(t, "list", "--url", base); !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "SAMNAV_TOKEN: required") {
		t.Fatalf("without SAMNAV_TOKEN: %v", err)
	}
	t.Setenv("SAMNAV_TOKEN", "snv_0000000000000000_nope")
	if _, err := samnavTokens(t, "list", "--url", base); err == nil || !strings.Contains(err.Error(), "refused the token") {
		t.Fatalf("with a bad token: %v", err)
	}
	t.Setenv("SAMNAV_TOKEN", h.adminToken)
	if _, err := samnavTokens(t, "list", "--url", "http://127.0.0.1:1"); err == nil || !strings.Contains(err.Error(), "reach the hub") {
		t.Fatalf("with no hub: %v", err)
	}
	if _, err := samnavTokens(t, "create", "--url", base, "--name", "hr", "--role", "publisher", "--expires", "100000h"); err == nil ||
		!strings.Contains(err.Error(), "system") || !strings.Contains(err.Error(), "expires") {
		t.Fatalf("a bad request's error does not name system and expires: %v", err)
	}

	out, err := samnavTokens(t, "create", "--url", base, "--name", "hr", "--role", "publisher", "--system", "hr-system", "--expires", "1h")
	if err != nil {
		t.Fatalf("create: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`(?m)^id:\s+(\S+)\ntoken:\s+(snv_\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("create printed no id and token:\n%s", out)
	}
	id, token := m[1], m[2]

	model, _ := hubtest.Model(t)
	example := masterdata.OpenAPI(model).Paths()["/api/v1/employee"]["post"].(map[string]any)["requestBody"].(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)["example"]
	if got := call(t, http.MethodPost, base+"/api/v1/employee", token, example); got != http.StatusCreated {
		t.Fatalf("the hr-system publisher writing an employee: %d, want 201", got)
	}
	elsewhere := []struct {
		name, method, url string
		body              any
	}{
		{"write a unit", http.MethodPost, base + "/api/v1/unit", map[string]any{}},
		{"read persons", http.MethodGet, base + "/api/v1/person", nil},
		{"list tokens", http.MethodGet, base + "/api/v1/tokens", nil},
	}
	for _, e := range elsewhere {
		if got := call(t, e.method, e.url, token, e.body); got != http.StatusForbidden {
			t.Errorf("%s with the publisher token: %d, want 403", e.name, got)
		}
	}
	// Delivery shows a system its own subscriptions (none yet).
	if got := call(t, http.MethodGet, base+"/api/v1/subscriptions", token, nil); got != http.StatusOK {
		t.Errorf("list its own subscriptions with the publisher token: %d, want 200", got)
	}
	// The registry knows the token and refuses the write: 403, as
	// Confluent's answers a known user denied an operation (40301).
	schema := map[string]any{"schema": `"string"`}
	if got := call(t, http.MethodPost, registry+"/subjects/x-value/versions", token, schema); got != http.StatusForbidden {
		t.Errorf("register a schema with the publisher token: %d, want 403", got)
	}
	// An admin token the CLI issued: the registry takes it until revoked.
	out, err = samnavTokens(t, "create", "--url", base, "--name", "ops", "--role", "admin", "--expires", "1h")
	ops := regexp.MustCompile(`(?m)^id:\s+(\S+)\ntoken:\s+(snv_\S+)`).FindStringSubmatch(out)
	if err != nil || ops == nil {
		t.Fatalf("create an admin token: %v\n%s", err, out)
	}
	if got := call(t, http.MethodPost, registry+"/subjects/x-value/versions", ops[2], schema); got != http.StatusOK {
		t.Fatalf("register a schema with the new admin token: %d, want 200", got)
	}
	if out, err := samnavTokens(t, "list", "--url", base); err != nil || !strings.Contains(out, id) || !strings.Contains(out, "system hr-system") {
		t.Fatalf("list: %v\n%s", err, out)
	}

	for _, revoke := range []string{id, ops[1]} {
		if out, err := samnavTokens(t, "revoke", revoke, "--url", base, "--reason", "the HR system was replaced"); err != nil {
			t.Fatalf("revoke: %v\n%s", err, out)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	poll.True(ctx, t, "the revoked token refused by master data, delivery and the registry", func() bool {
		return call(t, http.MethodGet, base+"/api/v1/employee", token, nil) == http.StatusUnauthorized &&
			call(t, http.MethodGet, base+"/api/v1/subscriptions", token, nil) == http.StatusUnauthorized &&
			call(t, http.MethodPost, registry+"/subjects/x-value/versions", ops[2], schema) == http.StatusUnauthorized &&
			call(t, http.MethodGet, base+"/api/v1/tokens", ops[2], nil) == http.StatusUnauthorized
	})
	if out, err := samnavTokens(t, "events", id, "--url", base); err != nil || !strings.Contains(out, "issued") || !strings.Contains(out, "the HR system was replaced") {
		t.Fatalf("events: %v\n%s", err, out)
	}
}
