package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
)

// TestDeliveryErrors: the delivery service's two error shapes, a map of
// field to rule (subscriptions) and one field with its rule (webhooks),
// both become Error.Fields naming the field and the rule.
func TestDeliveryErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		code   string
		fields []FieldError
	}{
		{"subscription fields", 400, `{"error":{"code":"invalid","message":"invalid subscription request","fields":{"purpose":"required: what the system uses the data for","legalBasis.basis":"must be one of [...]"}}}`,
			"invalid", []FieldError{{Field: "legalBasis.basis", Rule: "must be one of [...]", Message: "must be one of [...]"},
				{Field: "purpose", Rule: "required: what the system uses the data for", Message: "required: what the system uses the data for"}}},
		{"webhook field", 400, `{"error":{"code":"invalid","message":"the message id must be a positive integer","field":"msg","rule":"integer"}}`,
			"invalid", []FieldError{{Field: "msg", Rule: "integer", Message: "the message id must be a positive integer"}}},
		{"refusal", 403, `{"error":{"code":"forbidden","message":"bibliotek does not own subscription x"}}`, "forbidden", nil},
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
			if e == nil || e.Status != tt.status || e.Code != tt.code || !reflect.DeepEqual(e.Fields, tt.fields) {
				t.Fatalf("got %#v, want status %d code %s fields %v", e, tt.status, tt.code, tt.fields)
			}
			if e.Refused() != (tt.status == 403) {
				t.Fatalf("Refused() = %v", e.Refused())
			}
		})
	}
}
