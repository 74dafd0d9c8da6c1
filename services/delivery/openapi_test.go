package delivery_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/httproute"
	"github.com/samnav/samnav/pkg/openapi"
	"github.com/samnav/samnav/pkg/openapi/openapitest"
	"github.com/samnav/samnav/pkg/sdk/poll"
	"github.com/samnav/samnav/services/hubtest"
)

// TestOpenAPIDocumentCoversEveryRouteAndItsExamplesHold fetches the
// document the delivery server serves, validates it, checks every route
// the server mounts (the webhook and feed APIs included) is in it, and
// sends every operation's example to the running hub: each must get the
// documented status and a body the document's schema accepts.
func TestOpenAPIDocumentCoversEveryRouteAndItsExamplesHold(t *testing.T) {
	h, cast, ctx := startCast(t, 120*time.Second)

	doc := openapitest.Fetch(t, h.DeliveryURL)
	c := openapitest.New(t, doc, h.DeliveryURL)
	c.Routes(httproute.RoutesOf(h.Delivery.Handler()), nil)

	admin, home := cast.admin, cast.subscriber("hemtjanst")
	cast.publishElla()
	c.Example(http.MethodGet, openapi.Path, openapitest.Call{})
	c.Refused(http.MethodGet, "/api/v1/subscriptions", http.StatusUnauthorized, openapitest.Call{})
	c.Refused(http.MethodGet, "/api/v1/subscriptions/{id}", http.StatusNotFound, openapitest.Call{Token: admin})

	// A feed subscription, as the request example asks.
	sub, _ := c.Example(http.MethodPost, "/api/v1/subscriptions", openapitest.Call{Token: home})
	feedID := map[string]string{"id": sub["id"].(string)}
	c.Example(http.MethodGet, "/api/v1/subscriptions", openapitest.Call{Token: admin})
	c.Example(http.MethodGet, "/api/v1/subscriptions/{id}", openapitest.Call{Token: home, Path: feedID})
	c.Refused(http.MethodPost, "/api/v1/subscriptions/{id}/approve", http.StatusBadRequest, openapitest.Call{Token: admin, Path: feedID, Body: map[string]any{"fields": []any{"givenNames"}}})
	c.Refused(http.MethodGet, "/api/v1/feeds/{subscription}/snapshot", http.StatusForbidden, openapitest.Call{Token: home, Path: map[string]string{"subscription": feedID["id"]}})
	c.Example(http.MethodPost, "/api/v1/subscriptions/{id}/approve", openapitest.Call{Token: admin, Path: feedID})
	c.Example(http.MethodGet, "/api/v1/subscriptions/{id}/history", openapitest.Call{Token: home, Path: feedID})
	feedPath := map[string]string{"subscription": feedID["id"]}
	snap, _ := c.Example(http.MethodGet, "/api/v1/feeds/{subscription}/snapshot", openapitest.Call{Token: home, Path: feedPath})
	c.Example(http.MethodGet, "/api/v1/feeds/{subscription}/changes", openapitest.Call{Token: home, Path: feedPath,
		Query: map[string]string{"cursor": snap["changesCursor"].(string)}})
	c.Refused(http.MethodGet, "/api/v1/feeds/{subscription}/changes", http.StatusBadRequest, openapitest.Call{Token: home, Path: feedPath, Query: map[string]string{"cursor": ""}})
	c.Example(http.MethodGet, "/api/v1/subscriptions/{id}/lag", openapitest.Call{Token: home, Path: feedID})
	c.Example(http.MethodGet, "/api/v1/deliveries/recent", openapitest.Call{Token: admin})

	request := func(channel string) map[string]string {
		sub, _ := c.Example(http.MethodPost, "/api/v1/subscriptions", openapitest.Call{Token: home, Body: map[string]any{
			"concept": "person", "purpose": "home care visits", "channel": channel, "fields": []any{"givenNames"},
			"legalBasis": map[string]any{"basis": "public_task", "reference": "Socialtjänstlagen (2001:453)"}}})
		return map[string]string{"id": sub["id"].(string)}
	}
	kafkaID := request("kafka")
	c.Example(http.MethodGet, "/api/v1/subscriptions/{id}/acls", openapitest.Call{Token: admin, Path: kafkaID})
	c.Example(http.MethodPost, "/api/v1/subscriptions/{id}/reject", openapitest.Call{Token: admin, Path: kafkaID})

	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer receiver.Close()
	whID := request("webhook")
	hook := "/api/v1/subscriptions/{id}/webhook"
	c.Example(http.MethodPut, hook, openapitest.Call{Token: home, Path: whID, Body: map[string]any{"url": receiver.URL + "/hook"}, Status: http.StatusCreated})
	c.Example(http.MethodPut, hook, openapitest.Call{Token: home, Path: whID, Body: map[string]any{"url": receiver.URL + "/hook2"}, Status: http.StatusOK})
	c.Example(http.MethodGet, hook, openapitest.Call{Token: home, Path: whID})
	c.Example(http.MethodPost, hook+"/rotate", openapitest.Call{Token: home, Path: whID})
	c.Example(http.MethodPost, hook+"/disable", openapitest.Call{Token: home, Path: whID})
	c.Example(http.MethodPost, hook+"/enable", openapitest.Call{Token: home, Path: whID})
	if st, body := hubtest.CallJSON(t, "POST", h.DeliveryURL+"/api/v1/subscriptions/"+whID["id"]+"/approve", admin, map[string]any{"reason": "ok"}); st != 200 {
		t.Fatalf("approve webhook: %d %v", st, body)
	}
	var msg string
	poll.True(ctx, t, "a webhook attempt", func() bool {
		st, body := hubtest.CallJSON(t, "GET", h.DeliveryURL+"/api/v1/subscriptions/"+whID["id"]+"/webhook/attempts", home, nil)
		if st != 200 {
			t.Fatalf("attempts: %d %v", st, body)
		}
		if as, _ := body["attempts"].([]any); len(as) > 0 {
			msg = strconv.FormatInt(int64(as[0].(map[string]any)["messageId"].(float64)), 10)
		}
		return msg != ""
	})
	c.Example(http.MethodGet, hook+"/attempts", openapitest.Call{Token: home, Path: whID})
	msgPath := map[string]string{"id": whID["id"], "msg": msg}
	c.Example(http.MethodGet, hook+"/messages/{msg}", openapitest.Call{Token: home, Path: msgPath})
	c.Example(http.MethodPost, hook+"/messages/{msg}/redeliver", openapitest.Call{Token: admin, Path: msgPath})

	c.Example(http.MethodPost, "/api/v1/subscriptions/{id}/revoke", openapitest.Call{Token: home, Path: feedID})
	c.Unexercised()
}
