package delivery_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/services/delivery"
)

// TestChannelAPIsMounted: the webhook and feed APIs are served under
// /api/v1 behind the same authentication as the subscription API, and
// webhooks to private addresses are refused unless the configuration
// allows them. Nothing here needs a broker or a registry: New connects
// to neither.
func TestChannelAPIsMounted(t *testing.T) {
	tests := []struct {
		name         string
		allowPrivate bool
		wantRegister int
	}{
		{"private addresses refused by default", false, http.StatusBadRequest},
		{"private addresses allowed by configuration", true, http.StatusCreated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s, err := delivery.New(ctx, delivery.Config{DataDir: t.TempDir(), Brokers: []string{"127.0.0.1:1"}, RegistryURL: "http://127.0.0.1:1",
				WebhookAllowPrivate: tt.allowPrivate}, delivery.Deps{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			srv := httptest.NewServer(s.Handler())
			t.Cleanup(srv.Close)
			admin := issue(t, s.Tokens(), "admin", auth.KindUser, auth.Grant{Role: auth.RoleAdmin})
			library := issue(t, s.Tokens(), "bibliotek", auth.KindSystem, auth.Grant{Role: auth.RolePublisher, System: "bibliotek"})
			st, sub := call(t, "POST", srv.URL+"/api/v1/subscriptions", library, map[string]any{"concept": "person", "purpose": "loans", "channel": "webhook",
				"legalBasis": map[string]any{"basis": "public_task", "reference": "Bibliotekslagen (2013:801)"}, "fields": []string{"givenNames"}, "reason": "new"})
			if st != 201 {
				t.Fatalf("request: %d %v", st, sub)
			}
			id := sub["id"].(string)
			if st, _ := call(t, "POST", srv.URL+"/api/v1/subscriptions/"+id+"/approve", admin, map[string]any{"reason": "ok"}); st != 200 {
				t.Fatalf("approve: %d", st)
			}
			for _, path := range []string{"/api/v1/subscriptions/" + id + "/webhook", "/api/v1/feeds/" + id + "/snapshot"} {
				resp, err := http.Get(srv.URL + path)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("GET %s without a token: %d, want 401", path, resp.StatusCode)
				}
			}
			body, _ := json.Marshal(map[string]any{"url": "http://127.0.0.1:9/hook"})
			req, _ := http.NewRequest("PUT", srv.URL+"/api/v1/subscriptions/"+id+"/webhook", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+library)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantRegister {
				t.Fatalf("register a webhook to 127.0.0.1: %d, want %d", resp.StatusCode, tt.wantRegister)
			}
			// The feed's routes answer its subscription's system.
			st, fsub := call(t, "POST", srv.URL+"/api/v1/subscriptions", library, map[string]any{"concept": "person", "purpose": "loans", "channel": "feed",
				"legalBasis": map[string]any{"basis": "public_task", "reference": "Bibliotekslagen (2013:801)"}, "fields": []string{"givenNames"}, "reason": "new"})
			if st != 201 {
				t.Fatalf("request: %d %v", st, fsub)
			}
			fid := fsub["id"].(string)
			if st, _ := call(t, "POST", srv.URL+"/api/v1/subscriptions/"+fid+"/approve", admin, map[string]any{"reason": "ok"}); st != 200 {
				t.Fatalf("approve: %d", st)
			}
			var page struct {
				Items         []any  `json:"items"`
				ChangesCursor string `json:"changesCursor"`
			}
			if st := getJSON(ctx, t, srv.URL+"/api/v1/feeds/"+fid+"/snapshot", library, &page); st != 200 || page.ChangesCursor == "" || len(page.Items) != 0 {
				t.Fatalf("feed snapshot: %d %+v", st, page)
			}
		})
	}
}
