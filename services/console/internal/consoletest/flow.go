package consoletest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/embeddedkafka"
	"github.com/samnav/samnav/pkg/sdk/envelope"
	"github.com/samnav/samnav/pkg/sdk/kafkatopics"
	"github.com/samnav/samnav/services/console"
	"github.com/samnav/samnav/services/console/internal/api"
	"github.com/samnav/samnav/services/delivery"
	"github.com/samnav/samnav/services/hubtest"
	"github.com/samnav/samnav/services/masterdata"
)

// FlowHub is the whole hub in process, on free ports: an embedded broker,
// the schema registry, master data (publishing to the broker), delivery
// (its pipeline running) and a console on them. One token store, master
// data's, serves every service, as in `samnav dev`.
type FlowHub struct {
	T             *testing.T
	Ctx           context.Context
	Broker        *embeddedkafka.Broker
	MD            *masterdata.Server
	DL            *delivery.Server
	MasterdataURL string
	DeliveryURL   string
	Console       *console.Server
	API           *api.Client
}

// StartFlowHub starts the whole hub (hubtest) with the person and unit
// state topics, delivery authenticating with master data's tokens, and a
// console on it. Its Ctx ends two minutes after the start, the deadline
// of everything the test waits for.
func StartFlowHub(t *testing.T) *FlowHub {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	hub := hubtest.Start(t, hubtest.WithBroker(embeddedkafka.Config{Topics: []kafkatopics.Spec{
		{Name: envelope.StateTopic("person", 1), Partitions: 3, Compact: true}, {Name: envelope.StateTopic("unit", 1), Partitions: 3, Compact: true}}}),
		hubtest.WithMasterdata(), hubtest.WithOneTokenStore(), hubtest.WithDelivery(), hubtest.WithConsole())
	return &FlowHub{T: t, Ctx: ctx, Broker: hub.Broker, MD: hub.Masterdata, DL: hub.Delivery, MasterdataURL: hub.MasterdataURL,
		DeliveryURL: hub.DeliveryURL, Console: hub.Console,
		API: &api.Client{MasterdataURL: hub.MasterdataURL, DeliveryURL: hub.DeliveryURL, RegistryURL: hub.RegistryURL}}
}

func (h *FlowHub) Token(name string, kind auth.Kind, grants ...auth.Grant) string {
	h.T.Helper()
	return hubtest.Issue(h.T, h.MD.Tokens(), name, kind, grants...)
}

func (h *FlowHub) Browser(token string) *Browser {
	h.T.Helper()
	return SignedIn(h.T, h.Console, token)
}

// Eventually polls cond until it holds or the hub's deadline passes.
func (h *FlowHub) Eventually(what string, cond func() bool) {
	h.T.Helper()
	hubtest.Eventually(h.Ctx, h.T, what, cond)
}

// Publish writes persons as their master, the population register.
func (h *FlowHub) Publish(token string, states ...map[string]any) []string {
	h.T.Helper()
	items := make([]any, len(states))
	for i, s := range states {
		items[i] = map[string]any{"op": "upsert", "state": s}
	}
	b, _ := json.Marshal(map[string]any{"items": items})
	req, _ := http.NewRequestWithContext(h.T.Context(), http.MethodPost, h.MasterdataURL+"/api/v1/publish/person", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.T.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, _ := io.ReadAll(resp.Body)
	var out struct {
		Results []struct {
			ID string `json:"id"`
		} `json:"results"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(raw, &out) != nil {
		h.T.Fatalf("publish: %d %s", resp.StatusCode, raw)
	}
	ids := make([]string, len(out.Results))
	for i, r := range out.Results {
		ids[i] = r.ID
	}
	return ids
}

func Person(pnr, given, street string) map[string]any {
	return map[string]any{"personalIdentityNumber": pnr, "givenNames": given, "surname": "Lind", "dateOfBirth": "2014-05-05",
		"protectedIdentity": "NONE", "registrationStatus": "REGISTERED",
		"registeredAddress": map[string]any{"streetAddress": street, "postalCode": "11122", "postTown": "Stockholm", "municipalityCode": "0180"},
		"emailAddress":      strings.ToLower(given) + "@example.se"}
}

// Subscribe requests and approves a subscription for system, as the admin.
func (h *FlowHub) Subscribe(admin, system, concept, channel string, fields ...string) string {
	h.T.Helper()
	sub, err := h.API.RequestSubscription(h.Ctx, admin, api.SubscriptionRequest{System: system, Concept: concept, Purpose: "test",
		LegalBasis: api.LegalBasis{Basis: "public_task", Reference: "test"}, Channel: channel, Fields: fields, Reason: "test"})
	if err != nil {
		h.T.Fatal(err)
	}
	if _, err := h.API.DecideSubscription(h.Ctx, admin, sub.ID, api.DecisionApprove, api.SubscriptionDecision{Reason: "test"}); err != nil {
		h.T.Fatal(err)
	}
	return sub.ID
}

func CallJSON(t *testing.T, method, u, token string, body any) (int, map[string]any) {
	t.Helper()
	var out map[string]any
	st := 0
	err := func() error {
		req, err := NewJSONRequest(method, u, token, body)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer func() { _ = resp.Body.Close() }()
		st = resp.StatusCode
		return DecodeBody(resp, &out)
	}()
	if err != nil {
		t.Fatal(fmt.Errorf("%s %s: %w", method, u, err))
	}
	return st, out
}

func NewJSONRequest(method, u, token string, body any) (*http.Request, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(context.Background(), method, u, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	return req, nil
}

func DecodeBody(resp *http.Response, out any) error {
	raw, err := io.ReadAll(resp.Body)
	if err != nil || len(raw) == 0 {
		return err
	}
	return json.Unmarshal(raw, out)
}

// UnescapeJSON undoes html/template's escaping of < > & ' in a JSON
// script block, enough to compare.
func UnescapeJSON(s string) string {
	return strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&", `\u0027`, "'").Replace(s)
}
