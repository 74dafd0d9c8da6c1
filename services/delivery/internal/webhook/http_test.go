package webhook_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/delivery/internal/webhook"
)

func TestHandler(t *testing.T) {
	svc, err := webhook.New(projecting(t, webhook.Config{Store: newStore(t), Logger: discard()})) // public addresses only
	if err != nil {
		t.Fatal(err)
	}
	kafkaSub := sub1
	kafkaSub.ID, kafkaSub.Channel = "sub-kafka", client.ChannelKafka
	subs := map[string]client.Subscription{sub1.ID: sub1, kafkaSub.ID: kafkaSub}
	h := webhook.Handler(webhook.HandlerConfig{
		Service: svc, Logger: discard(),
		Subscription: func(_ context.Context, id string) (client.Subscription, error) {
			if s, ok := subs[id]; ok {
				return s, nil
			}
			return client.Subscription{}, apierr.Errorf(apierr.CodeNotFound, "no subscription %s", id)
		},
	})
	principals := map[string]*auth.Principal{
		"owner": {Subject: sub1.System, Kind: auth.KindSystem},
		"other": {Subject: "school", Kind: auth.KindSystem},
		// Reads every subscription, manages no endpoint.
		"auditor": {Subject: "auditor", Kind: auth.KindUser, Grants: []auth.Grant{{Role: auth.RoleAuditor}}},
		// A token whose subject is the owning system's id but whose
		// grant speaks for another system: the grant decides.
		"named like the owner": {Subject: sub1.System, Kind: auth.KindSystem, Grants: []auth.Grant{{Role: auth.RoleSubscriber, System: "school"}}},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := principals[r.Header.Get("X-Test-As")]; p != nil {
			r = r.WithContext(auth.WithPrincipal(r.Context(), p))
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	tests := []struct {
		name, as, method, path, body string
		wantStatus                   int
		want                         []string // substrings of the answer
		deny                         []string // never in the answer
	}{
		{"anonymous", "", "PUT", "/subscriptions/sub1/webhook", `{"url":"https://203.0.113.7/hook"}`, 401, []string{`"code":"unauthorized"`}, nil},
		{"someone else's", "other", "PUT", "/subscriptions/sub1/webhook", `{"url":"https://203.0.113.7/hook"}`, 404, []string{`"code":"not_found"`}, []string{"library"}},
		{"read by an auditor, not managed", "auditor", "PUT", "/subscriptions/sub1/webhook", `{"url":"https://203.0.113.7/hook"}`, 403, []string{`"code":"forbidden"`}, nil},
		{"a subject named like the owner", "named like the owner", "PUT", "/subscriptions/sub1/webhook", `{"url":"https://203.0.113.7/hook"}`, 404, []string{`"code":"not_found"`}, nil},
		{"unknown subscription", "owner", "GET", "/subscriptions/nope/webhook", ``, 404, []string{`"code":"not_found"`}, nil},
		{"not a webhook subscription", "owner", "PUT", "/subscriptions/sub-kafka/webhook", `{"url":"https://203.0.113.7/hook"}`, 400, []string{`"rule":"webhook"`}, nil},
		{"no endpoint yet", "owner", "GET", "/subscriptions/sub1/webhook", ``, 404, []string{`"code":"not_found"`}, nil},
		{"SSRF", "owner", "PUT", "/subscriptions/sub1/webhook", `{"url":"http://169.254.169.254/latest/meta-data/"}`, 400, []string{`"field":"url"`, `"rule":"metadata"`}, nil},
		{"bad JSON", "owner", "PUT", "/subscriptions/sub1/webhook", `{"url":`, 400, []string{`"rule":"json"`}, nil},
		{"register", "owner", "PUT", "/subscriptions/sub1/webhook", `{"url":"https://203.0.113.7/hook"}`, 201, []string{`"secret":"whsec_`, `"status":"enabled"`, `"owner":"library"`}, nil},
		{"change URL", "owner", "PUT", "/subscriptions/sub1/webhook", `{"url":"https://203.0.113.8/hook"}`, 200, []string{`"url":"https://203.0.113.8/hook"`}, []string{"whsec_"}},
		{"change URL to loopback", "owner", "PUT", "/subscriptions/sub1/webhook", `{"url":"http://localhost/"}`, 400, []string{`"rule":"loopback"`}, nil},
		{"get", "owner", "GET", "/subscriptions/sub1/webhook", ``, 200, []string{`"url":"https://203.0.113.8/hook"`}, []string{"whsec_"}},
		{"rotate", "owner", "POST", "/subscriptions/sub1/webhook/rotate", `{"overlapSeconds":3600}`, 200, []string{`"secret":"whsec_`, `"oldUntil":`}, nil},
		{"rotate with a bad secret", "owner", "POST", "/subscriptions/sub1/webhook/rotate", `{"secret":"whsec_c2hvcnQ="}`, 400, []string{`"field":"secret"`, `"rule":"size"`}, nil},
		{"disable", "owner", "POST", "/subscriptions/sub1/webhook/disable", ``, 200, []string{`"status":"disabled"`, `"disabledReason":"owner"`}, nil},
		{"enable", "owner", "POST", "/subscriptions/sub1/webhook/enable", ``, 200, []string{`"status":"enabled"`}, []string{"disabledReason"}},
		{"attempts", "owner", "GET", "/subscriptions/sub1/webhook/attempts?limit=10", ``, 200, []string{`{"attempts":[]}`}, nil},
		{"attempts, bad limit", "owner", "GET", "/subscriptions/sub1/webhook/attempts?limit=x", ``, 400, []string{`"field":"limit"`}, nil},
		{"unknown message", "owner", "GET", "/subscriptions/sub1/webhook/messages/99", ``, 404, []string{`"code":"not_found"`}, nil},
		{"redeliver unknown message", "owner", "POST", "/subscriptions/sub1/webhook/messages/99/redeliver", ``, 404, []string{`"code":"not_found"`}, nil},
		{"redeliver by someone else", "other", "POST", "/subscriptions/sub1/webhook/messages/1/redeliver", ``, 404, nil, nil},
	}
	for _, tt := range tests {
		req, _ := http.NewRequestWithContext(t.Context(), tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
		req.Header.Set("X-Test-As", tt.as)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.wantStatus {
			t.Errorf("%s: status %d, want %d: %s", tt.name, resp.StatusCode, tt.wantStatus, b)
			continue
		}
		if !json.Valid(b) {
			t.Errorf("%s: answer is not JSON: %s", tt.name, b)
		}
		for _, w := range tt.want {
			if !strings.Contains(string(b), w) {
				t.Errorf("%s: answer lacks %s: %s", tt.name, w, b)
			}
		}
		for _, d := range tt.deny {
			if strings.Contains(string(b), d) {
				t.Errorf("%s: answer has %s: %s", tt.name, d, b)
			}
		}
	}
}
