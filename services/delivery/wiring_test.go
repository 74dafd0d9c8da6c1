package delivery_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/daemon"
	"github.com/samnav/samnav/services/delivery"
	"github.com/samnav/samnav/services/hubtest"
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
			srv, admin, library := serveUnstarted(t, tt.allowPrivate)
			id := subscribe(t, srv.URL, library, admin, "webhook", []string{"givenNames"})
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
			fid := subscribe(t, srv.URL, library, admin, "feed", []string{"givenNames"})
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

// TestSubscriptionsListPages: GET /api/v1/subscriptions pages as master
// data's lists do: limit, an opaque cursor, next until the last page; a
// bad limit or cursor is refused naming the parameter.
func TestSubscriptionsListPages(t *testing.T) {
	ctx := context.Background()
	srv, admin, library := serveUnstarted(t, false)
	want := map[string]bool{}
	for range 3 {
		st, sub := hubtest.CallJSON(t, "POST", srv.URL+"/api/v1/subscriptions", library, map[string]any{"concept": "person", "purpose": "loans", "channel": "feed",
			"legalBasis": map[string]any{"basis": "public_task", "reference": "Bibliotekslagen (2013:801)"}, "fields": []string{"givenNames"}, "reason": "new"})
		if st != 201 {
			t.Fatalf("request: %d %v", st, sub)
		}
		want[sub["id"].(string)] = true
	}
	seen, pages := map[string]bool{}, 0
	for q := "limit=2"; ; pages++ {
		var page struct {
			Subscriptions []struct{ ID string } `json:"subscriptions"`
			Next          string                `json:"next"`
		}
		if st := getJSON(ctx, t, srv.URL+"/api/v1/subscriptions?"+q, admin, &page); st != 200 || len(page.Subscriptions) > 2 {
			t.Fatalf("GET ?%s: %d %+v", q, st, page)
		}
		for _, s := range page.Subscriptions {
			seen[s.ID] = true
		}
		if page.Next == "" {
			break
		}
		q = "limit=2&cursor=" + url.QueryEscape(page.Next)
	}
	if !reflect.DeepEqual(seen, want) || pages != 1 {
		t.Errorf("pages of 2 gave %v in %d pages, want %v in 2", seen, pages+1, want)
	}
	for q, field := range map[string]string{"limit=0": "limit", "limit=x": "limit", "limit=1001": "limit", "cursor=bm90LWEtY3Vyc29y": "cursor"} {
		st, body := hubtest.CallJSON(t, "GET", srv.URL+"/api/v1/subscriptions?"+q, admin, nil)
		if st != 400 || !strings.Contains(fmt.Sprint(body), field) {
			t.Errorf("GET ?%s: %d %v, want 400 naming %s", q, st, body, field)
		}
	}
}

// serveUnstarted serves the API of a delivery service that New built and
// nothing started (it connects to no broker or registry: the addresses
// refuse), with an admin's and the library's tokens.
func serveUnstarted(t *testing.T, allowPrivate bool) (srv *httptest.Server, admin, library string) {
	t.Helper()
	s, err := delivery.New(t.Context(), delivery.Config{Base: daemon.Base{DataDir: t.TempDir()}, Brokers: []string{"127.0.0.1:1"}, RegistryURL: "http://127.0.0.1:1",
		WebhookAllowPrivate: allowPrivate}, delivery.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	srv = httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	admin = hubtest.Issue(t, s.Tokens(), "admin", auth.KindUser, auth.Grant{Role: auth.RoleAdmin})
	library = hubtest.Issue(t, s.Tokens(), "bibliotek", auth.KindSystem, auth.Grant{Role: auth.RolePublisher, System: "bibliotek"})
	return srv, admin, library
}
