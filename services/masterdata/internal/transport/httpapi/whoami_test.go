package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/samnav/samnav/contracts/contractstest"
	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/services/masterdata/internal/transport/httpapi"
)

func TestWhoamiAnswersWithTheCallersPrincipal(t *testing.T) {
	m := contractstest.Model(t)
	tokens := &auth.Tokens{Store: &auth.MemoryStore{}}
	secret, rec, err := tokens.Issue(context.Background(), auth.IssueRequest{Subject: "anna", Kind: auth.KindUser, Name: "Anna",
		Grants: []auth.Grant{{Role: auth.RoleSteward, Concepts: []string{"unit"}}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.NewHandler(nil, m, httpapi.Options{Authenticator: tokens}))
	defer srv.Close()

	get := func(token string) (*http.Response, map[string]any) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/whoami", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp, body
	}
	resp, body := get(secret)
	if resp.StatusCode != http.StatusOK || body["subject"] != "anna" || body["credentialId"] != rec.ID || body["name"] != "Anna" {
		t.Fatalf("whoami: %d %v", resp.StatusCode, body)
	}
	grants, _ := body["grants"].([]any)
	if len(grants) != 1 || grants[0].(map[string]any)["role"] != "steward" {
		t.Fatalf("grants %v", body["grants"])
	}
	for _, v := range body {
		if s, ok := v.(string); ok && s == secret {
			t.Fatal("whoami must never echo the secret")
		}
	}
	if resp, _ := get(""); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous whoami: %d, want 401", resp.StatusCode)
	}
	if resp, _ := get("snv_0000_nope"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("bad token: %d, want 401", resp.StatusCode)
	}
}
