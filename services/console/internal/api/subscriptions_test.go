package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
)

// TestDeliveryErrors: the delivery service's problem+json answers
// (subscriptions and webhooks alike), and while servers change over its
// older shapes, become Error.Fields naming the field and the rule.
func TestDeliveryErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		code   string
		fields []FieldError
	}{
		{"subscription fields", 400, `{"type":"urn:samnav:problem:invalid","title":"Invalid request","status":400,"detail":"invalid subscription request","code":"invalid","fields":[{"field":"purpose","rule":"required","message":"what the system uses the data for is required"},{"field":"legalBasis.basis","rule":"enum","message":"must be one of [...]"}]}`,
			"invalid", []FieldError{{Field: "purpose", Rule: "required", Message: "what the system uses the data for is required"},
				{Field: "legalBasis.basis", Rule: "enum", Message: "must be one of [...]"}}},
		{"webhook field", 400, `{"type":"urn:samnav:problem:invalid","title":"Invalid request","status":400,"detail":"the message id must be a positive integer","code":"invalid","fields":[{"field":"msg","rule":"integer","message":"the message id must be a positive integer"}]}`,
			"invalid", []FieldError{{Field: "msg", Rule: "integer", Message: "the message id must be a positive integer"}}},
		{"old subscription fields", 400, `{"error":{"code":"invalid","message":"invalid subscription request","fields":{"purpose":"required: what the system uses the data for","legalBasis.basis":"must be one of [...]"}}}`,
			"invalid", []FieldError{{Field: "legalBasis.basis", Rule: "", Message: "must be one of [...]"},
				{Field: "purpose", Rule: "required", Message: "required: what the system uses the data for"}}},
		{"old webhook field", 400, `{"error":{"code":"invalid","message":"the message id must be a positive integer","field":"msg","rule":"integer"}}`,
			"invalid", []FieldError{{Field: "msg", Rule: "integer", Message: "the message id must be a positive integer"}}},
		{"refusal", 403, `{"type":"urn:samnav:problem:forbidden","title":"Forbidden","status":403,"detail":"bibliotek does not own subscription x","code":"forbidden"}`, "forbidden", nil},
		{"not JSON", 502, `bad gateway`, "unavailable", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			c := &Client{DeliveryURL: srv.URL}
			_, err := c.RequestSubscription(context.Background(), "tok", SubscriptionRequest{})
			e := AsError(err)
			if e == nil || e.Status != tt.status || string(e.Code) != tt.code || !reflect.DeepEqual(e.Fields, tt.fields) {
				t.Fatalf("got %#v, want status %d code %s fields %v", e, tt.status, tt.code, tt.fields)
			}
			if e.Refused() != (tt.status == 403) {
				t.Fatalf("Refused() = %v", e.Refused())
			}
		})
	}
}

// TestListSubscriptionsFollowsPages: the subscriptions list pages (limit,
// cursor, next); ListSubscriptions returns every page's subscriptions,
// keeping the filter on each request.
func TestListSubscriptionsFollowsPages(t *testing.T) {
	pages := map[string]string{
		"":   `{"subscriptions":[{"id":"s1"},{"id":"s2"}],"next":"c2"}`,
		"c2": `{"subscriptions":[{"id":"s3"}],"next":"c3"}`,
		"c3": `{"subscriptions":[]}`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		body, ok := pages[q.Get("cursor")]
		if !ok || q.Get("system") != "bibliotek" || q.Get("limit") == "" {
			http.Error(w, `{"error":{"code":"invalid","message":"bad query"}}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	}))
	defer srv.Close()
	c := &Client{DeliveryURL: srv.URL}
	subs, err := c.ListSubscriptions(context.Background(), "t", map[string][]string{"system": {"bibliotek"}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range subs {
		ids = append(ids, s.ID)
	}
	if !reflect.DeepEqual(ids, []string{"s1", "s2", "s3"}) {
		t.Errorf("ListSubscriptions = %v, want s1 s2 s3", ids)
	}
}
