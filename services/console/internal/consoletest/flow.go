package consoletest

import (
	"context"
	"strings"
	"testing"
	"time"

	dlclient "github.com/samnav/samnav/services/delivery/client"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/embeddedkafka"
	"github.com/samnav/samnav/pkg/sdk/envelope"
	"github.com/samnav/samnav/pkg/sdk/kafkatopics"
	"github.com/samnav/samnav/pkg/sdk/poll"
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
	*hubtest.Hub
	T   *testing.T
	Ctx context.Context
	MD  *masterdata.Server
	DL  *delivery.Server
	API *api.Client
}

// StartFlowHub starts the whole hub (hubtest) with the person and unit
// state topics, delivery authenticating with master data's tokens, and a
// console on it, with opts added (hubtest.WithScan). Its Ctx ends two
// minutes after the start, the deadline of everything the test waits for.
func StartFlowHub(t *testing.T, opts ...hubtest.Option) *FlowHub {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	hub := hubtest.Start(t, append([]hubtest.Option{hubtest.WithBroker(embeddedkafka.Config{Topics: []kafkatopics.Spec{
		{Name: envelope.StateTopic("person", 1), Partitions: 3, Compact: true}, {Name: envelope.StateTopic("unit", 1), Partitions: 3, Compact: true}}}),
		hubtest.WithMasterdata(), hubtest.WithOneTokenStore(), hubtest.WithDelivery(), hubtest.WithConsole()}, opts...)...)
	return &FlowHub{Hub: hub, T: t, Ctx: ctx, MD: hub.Masterdata, DL: hub.Delivery,
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
	poll.True(h.Ctx, h.T, what, cond)
}

// Publish writes persons as their master, the population register.
func (h *FlowHub) Publish(token string, states ...map[string]any) []string {
	h.T.Helper()
	return h.Hub.Publish(token, "person", states...)
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
	sub, err := h.API.Delivery(admin).Request(h.Ctx, dlclient.Request{System: system, Concept: concept, Purpose: "test",
		LegalBasis: dlclient.LegalBasis{Basis: "public_task", Reference: "test"}, Channel: channel, Fields: fields, Reason: "test"})
	if err != nil {
		h.T.Fatal(err)
	}
	if _, err := h.API.Delivery(admin).Approve(h.Ctx, sub.ID, dlclient.Decision{Reason: "test"}); err != nil {
		h.T.Fatal(err)
	}
	return sub.ID
}

// UnescapeJSON undoes html/template's escaping of < > & ' in a JSON
// script block, enough to compare.
func UnescapeJSON(s string) string {
	return strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&", `\u0027`, "'").Replace(s)
}
