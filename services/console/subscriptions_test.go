package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/embeddedkafka"
	"github.com/samnav/samnav/pkg/kafkatopics"
	"github.com/samnav/samnav/services/console/internal/api"
	"github.com/samnav/samnav/services/delivery"
	"github.com/samnav/samnav/services/masterdata"
)

// flowHub is the whole hub in process, on free ports: an embedded broker,
// the schema registry, master data (publishing to the broker), delivery
// (its pipeline running) and a console on them. One token store, master
// data's, serves every service, as in `samnav dev`.
type flowHub struct {
	t       *testing.T
	ctx     context.Context
	broker  *embeddedkafka.Broker
	md      *masterdata.Server
	dl      *delivery.Server
	mdURL   string
	dlURL   string
	console *Server
	api     *api.Client
}

func startFlowHub(t *testing.T) *flowHub {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	dir := t.TempDir()
	broker, err := embeddedkafka.Start(ctx, embeddedkafka.Config{Topics: []kafkatopics.Spec{
		{Name: "samnav.person.v1", Partitions: 3, Compact: true}, {Name: "samnav.unit.v1", Partitions: 3, Compact: true}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = broker.Close() })
	regURL := startRegistry(t, ctx, dir)
	md, err := masterdata.New(ctx, masterdata.Config{Addr: "127.0.0.1:0", DataDir: filepath.Join(dir, "md"), RegistryURL: regURL,
		Brokers: []string{broker.Addr()}, LookupOnly: true}, masterdata.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if err := md.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = md.Close() })
	dl, err := delivery.New(ctx, delivery.Config{Addr: "127.0.0.1:0", DataDir: filepath.Join(dir, "delivery"), RegistryURL: regURL,
		Brokers: []string{broker.Addr()}, SyncInterval: time.Second, WebhookAllowPrivate: true}, delivery.Deps{Authenticator: md.Tokens()})
	if err != nil {
		t.Fatal(err)
	}
	if err := dl.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dl.Close() })
	h := &flowHub{t: t, ctx: ctx, broker: broker, md: md, dl: dl, mdURL: "http://" + md.Addr(), dlURL: "http://" + dl.Addr()}
	h.console = newConsole(t, md.Tokens(), func(c *Config) { c.MasterdataURL, c.DeliveryURL, c.RegistryURL = h.mdURL, h.dlURL, regURL })
	h.api = &api.Client{MasterdataURL: h.mdURL, DeliveryURL: h.dlURL, RegistryURL: regURL}
	return h
}

func (h *flowHub) token(name string, kind auth.Kind, grants ...auth.Grant) string {
	h.t.Helper()
	return issueToken(h.t, h.md, name, kind, grants...)
}

func (h *flowHub) browser(token string) *browser {
	h.t.Helper()
	return signedIn(h.t, h.console, token)
}

// eventually polls cond until it holds or the hub's deadline passes.
func (h *flowHub) eventually(what string, cond func() bool) {
	h.t.Helper()
	for !cond() {
		if h.ctx.Err() != nil {
			h.t.Fatalf("%s: never happened", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// publish writes persons as their master, the population register.
func (h *flowHub) publish(token string, states ...map[string]any) []string {
	h.t.Helper()
	items := make([]any, len(states))
	for i, s := range states {
		items[i] = map[string]any{"op": "upsert", "state": s}
	}
	b, _ := json.Marshal(map[string]any{"items": items})
	req, _ := http.NewRequest("POST", h.mdURL+"/api/v1/publish/person", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out struct {
		Results []struct {
			ID string `json:"id"`
		} `json:"results"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(raw, &out) != nil {
		h.t.Fatalf("publish: %d %s", resp.StatusCode, raw)
	}
	ids := make([]string, len(out.Results))
	for i, r := range out.Results {
		ids[i] = r.ID
	}
	return ids
}

func testPerson(pnr, given, street string) map[string]any {
	return map[string]any{"personalIdentityNumber": pnr, "givenNames": given, "surname": "Lind", "dateOfBirth": "2014-05-05",
		"protectedIdentity": "NONE", "registrationStatus": "REGISTERED",
		"registeredAddress": map[string]any{"streetAddress": street, "postalCode": "11122", "postTown": "Stockholm", "municipalityCode": "0180"},
		"emailAddress":      strings.ToLower(given) + "@example.se"}
}

var subLocation = regexp.MustCompile(`^/subscriptions/([0-9a-f-]+)\?done=`)

// requestForm is a valid request of the school platform for persons.
func requestForm(fields ...string) url.Values {
	return url.Values{"concept": {"person"}, "purpose": {"placing pupils in schools"}, "basis": {"public_task"},
		"reference": {"Skollagen (2010:800) 29 kap."}, "channel": {"kafka"}, "fields": fields, "reason": {"new platform"}}
}

// TestSubscriptionRequestDecide: a system requests through the form; bad
// input is refused naming the field and changes nothing; the owner
// narrows it and the subscription is approved with only the fields left
// ticked; a rejection needs a reason and shows it; each system sees only
// its own subscriptions.
func TestSubscriptionRequestDecide(t *testing.T) {
	h := startFlowHub(t)
	admin := h.token("admin", auth.KindUser, auth.Grant{Role: auth.RoleAdmin})
	school := h.browser(h.token("skolplattform", auth.KindSystem, auth.Grant{Role: auth.RoleSubscriber, System: "skolplattform"}))
	library := h.browser(h.token("bibliotek", auth.KindSystem, auth.Grant{Role: auth.RoleSubscriber, System: "bibliotek"}))
	owner := h.browser(h.token("Olle Ägare", auth.KindUser, auth.Grant{Role: auth.RoleOwner, Concepts: []string{"person"}}))

	// The form lists the model's attributes with classification and kind
	// of personal data.
	p := school.get("/subscriptions/new?concept=person")
	mustContain(t, p, `name="fields" value="personalIdentityNumber"`, `name="fields" value="givenNames"`,
		"personnummer eller samordningsnummer", `<abbr title="Klassning: konfidentialitet`, "Skolplattformen")

	// Missing purpose and fields: refused, naming both; nothing filed.
	bad := requestForm()
	bad.Del("purpose")
	p = school.post("/subscriptions", bad)
	if p.status != http.StatusBadRequest {
		t.Fatalf("bad request: status %d", p.status)
	}
	mustContain(t, p, `href="#sf-purpose"`, "Ange ändamålet.", `href="#sf-fields"`, "Välj minst ett fält.")
	if subs, err := h.api.ListSubscriptions(h.ctx, admin, nil); err != nil || len(subs) != 0 {
		t.Fatalf("after a refused request: %v %v, want none", subs, err)
	}

	p = school.post("/subscriptions", requestForm("personalIdentityNumber", "givenNames", "surname", "registeredAddress"))
	m := subLocation.FindStringSubmatch(p.location)
	if p.status != http.StatusSeeOther || m == nil {
		t.Fatalf("request: %d %q %s", p.status, p.location, p.body)
	}
	id := m[1]
	p = school.get(p.location)
	mustContain(t, p, "Begärd", "placing pupils in schools", "Skollagen (2010:800) 29 kap.", "Utbildningsnämnden")
	mustNotContain(t, p, `action="/subscriptions/`+id+`/decide"`) // a system cannot decide

	// Another system neither lists nor opens it.
	mustNotContain(t, library.get("/subscriptions"), id)
	if p := library.get("/subscriptions/" + id); p.status != http.StatusNotFound {
		t.Fatalf("another system opens the subscription: %d", p.status)
	}

	// The owner narrows: the identity number and the address unticked.
	p = owner.get("/subscriptions/" + id)
	mustContain(t, p, `action="/subscriptions/`+id+`/decide"`, `value="personalIdentityNumber" id="sf-field-personalIdentityNumber" checked`)
	p = owner.post("/subscriptions/"+id+"/decide", url.Values{"action": {"approve"}, "fields": {"givenNames", "surname"}})
	if p.status != http.StatusBadRequest {
		t.Fatalf("decision without a reason: %d", p.status)
	}
	mustContain(t, p, `href="#sf-reason"`)
	if sub, _ := h.api.GetSubscription(h.ctx, admin, id); sub.Status != "requested" {
		t.Fatalf("a refused decision changed the subscription: %+v", sub)
	}
	p = owner.post("/subscriptions/"+id+"/decide", url.Values{"action": {"approve"}, "fields": {"givenNames", "surname"},
		"reason": {"the identity number and the address are not needed"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("narrow: %d %s", p.status, p.body)
	}
	sub, err := h.api.GetSubscription(h.ctx, admin, id)
	if err != nil || sub.Status != "approved" || !slices.Equal(sub.ApprovedFields, []string{"givenNames", "surname"}) {
		t.Fatalf("after narrowing: %+v %v", sub, err)
	}
	p = school.get("/subscriptions/" + id)
	mustContain(t, p, "Godkänd med färre fält", "Olle Ägare", "the identity number and the address are not needed")
	// Created and each decision: in the city's zone, named, as on every page.
	if n := len(pageTime.FindAllString(p.body, -1)); n < 2 {
		t.Fatalf("%d times in the city's format, want the creation and the decisions:\n%s", n, p.body)
	}
	if !regexp.MustCompile(`id="sub-approved">[^<]*Efternamn`).MatchString(p.body) || strings.Contains(p.body, `id="sub-approved">Personnummer`) {
		t.Fatalf("approved fields shown wrongly:\n%s", p.body)
	}

	// The library asks too; the owner rejects it with a reason.
	lib := requestForm("givenNames", "emailAddress")
	lib.Set("channel", "webhook")
	p = library.post("/subscriptions", lib)
	m = subLocation.FindStringSubmatch(p.location)
	if m == nil {
		t.Fatalf("library request: %d %s", p.status, p.body)
	}
	libID := m[1]
	owner.get("/subscriptions/" + libID)
	if p := owner.post("/subscriptions/"+libID+"/decide", url.Values{"action": {"reject"}, "reason": {"purpose does not match the library's task"}}); p.status != http.StatusSeeOther {
		t.Fatalf("reject: %d %s", p.status, p.body)
	}
	p = library.get("/subscriptions/" + libID)
	mustContain(t, p, "Avslagen", "purpose does not match the library&#39;s task")

	// Each sees its own; the owner sees both; the filter narrows.
	p = school.get("/subscriptions")
	mustContain(t, p, id)
	mustNotContain(t, p, libID)
	p = owner.get("/subscriptions")
	mustContain(t, p, id, libID)
	p = owner.get("/subscriptions?status=rejected")
	mustContain(t, p, libID)
	mustNotContain(t, p, "/subscriptions/"+id+`"`)
	if p := owner.get("/subscriptions?status=bogus"); p.status != http.StatusBadRequest {
		t.Fatalf("unknown status filter: %d", p.status)
	}
}

// TestSubscriptionLagAndWebhookLog: an approved webhook subscription
// whose system has not registered its endpoint yet cannot take events,
// so it stays behind by every record on the topic, and the pages show
// the API's numbers; once the endpoint is registered the lag drops to
// zero, the delivery log shows the receiver's failing status code, and
// the redeliver button makes the delivery service try again.
func TestSubscriptionLagAndWebhookLog(t *testing.T) {
	h := startFlowHub(t)
	admin := h.token("admin", auth.KindUser, auth.Grant{Role: auth.RoleAdmin})
	fb := h.token("folkbokforing", auth.KindSystem, auth.Grant{Role: auth.RolePublisher, System: "folkbokforing"})
	libToken := h.token("bibliotek", auth.KindSystem, auth.Grant{Role: auth.RoleSubscriber, System: "bibliotek"})
	library := h.browser(libToken)
	h.publish(fb, testPerson("201405052380", "Ella", "Storgatan 1"), testPerson("201405052398", "Vera", "Gränd 2"),
		testPerson("201001012382", "Olof", "Torget 3"))

	lib := requestForm("givenNames")
	lib.Set("channel", "webhook")
	p := library.post("/subscriptions", lib)
	m := subLocation.FindStringSubmatch(p.location)
	if m == nil {
		t.Fatalf("request: %d %s", p.status, p.body)
	}
	id := m[1]
	p = library.get("/subscriptions/" + id)
	mustNotContain(t, p, `id="sub-lag"`) // lag is shown for approved subscriptions
	if _, err := h.api.DecideSubscription(h.ctx, admin, id, api.DecisionApprove, api.SubscriptionDecision{Reason: "ok"}); err != nil {
		t.Fatal(err)
	}
	// The relay publishes the persons shortly after the write.
	h.eventually("3 events behind", func() bool {
		lag, err := h.api.SubscriptionLag(h.ctx, libToken, id)
		if err != nil || len(lag.Channels) != 1 || lag.Channels[0].Channel != "webhook" {
			t.Fatalf("lag: %+v %v, want the webhook channel", lag, err)
		}
		return lag.Channels[0].Events == 3
	})
	p = library.get("/subscriptions/" + id)
	mustContain(t, p, `id="sub-lag"`, "3 händelser efter på samnav.person.v1.", "Äldsta ej levererade ändring")
	p = library.get("/subscriptions")
	mustContain(t, p, `<td class="sub-lag">3 händelser</td>`)
	if p := library.get("/subscriptions/" + id + "/webhook"); p.status != 200 || !strings.Contains(p.body, "Ingen webhook-mottagare") {
		t.Fatalf("webhook page before registration: %d %s", p.status, p.body)
	}

	// The endpoint: a receiver that fails, so the log has something to say.
	var hits atomic.Int64
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer rcv.Close()
	if st, body := callJSON(t, "PUT", h.dlURL+"/api/v1/subscriptions/"+id+"/webhook", libToken, map[string]any{"url": rcv.URL + "/hook"}); st != http.StatusCreated {
		t.Fatalf("register webhook: %d %v", st, body)
	}
	h.eventually("the pipeline catching up", func() bool {
		lag, err := h.api.SubscriptionLag(h.ctx, libToken, id)
		return err == nil && lag.Channels[0].Events == 0
	})
	mustContain(t, library.get("/subscriptions/"+id), "I kapp")
	var msg int64
	h.eventually("a failed attempt in the log", func() bool {
		as, err := h.api.WebhookAttempts(h.ctx, libToken, id, 10)
		if err != nil || len(as) == 0 || as[0].StatusCode != http.StatusServiceUnavailable {
			return false
		}
		msg = as[0].MessageID
		return true
	})
	p = library.get("/subscriptions/" + id + "/webhook")
	if !pageTime.MatchString(p.body) {
		t.Fatalf("the delivery log shows no time in the city's format:\n%s", p.body)
	}
	mustContain(t, p, rcv.URL+"/hook", "<td>503</td>", "väntar", fmt.Sprintf(`action="/subscriptions/%s/webhook/messages/%d/redeliver"`, id, msg))
	before := hits.Load()
	p = library.post(fmt.Sprintf("/subscriptions/%s/webhook/messages/%d/redeliver", id, msg), nil)
	if p.status != http.StatusSeeOther {
		t.Fatalf("redeliver: %d %s", p.status, p.body)
	}
	h.eventually("a manual attempt", func() bool {
		as, err := h.api.WebhookAttempts(h.ctx, libToken, id, 10)
		return err == nil && slices.ContainsFunc(as, func(a api.WebhookAttempt) bool { return a.Trigger == "manual" && a.MessageID == msg })
	})
	if hits.Load() <= before {
		t.Fatalf("the receiver was not called again after redelivery")
	}
	p = library.get(p.location)
	mustContain(t, p, fmt.Sprintf("Meddelande %d är köat", msg), "<td>manuellt</td>")

	// The system turns its endpoint off and on again from the page.
	p = library.post("/subscriptions/"+id+"/webhook/disable", nil)
	if p.status != http.StatusSeeOther {
		t.Fatalf("disable: %d %s", p.status, p.body)
	}
	p = library.get(p.location)
	mustContain(t, p, "Mottagaren är avstängd.", `<span class="badge">avstängd</span>`, "avstängd av systemets ägare", `action="/subscriptions/`+id+`/webhook/enable"`)
	if ep, err := h.api.Webhook(h.ctx, libToken, id); err != nil || ep.Status != "disabled" {
		t.Fatalf("endpoint after disable: %+v %v", ep, err)
	}
	library.post("/subscriptions/"+id+"/webhook/enable", nil)
	if ep, err := h.api.Webhook(h.ctx, libToken, id); err != nil || ep.Status != "enabled" {
		t.Fatalf("endpoint after enable: %+v %v", ep, err)
	}
	if p := library.post("/subscriptions/"+id+"/webhook/explode", nil); p.status != http.StatusNotFound {
		t.Fatalf("unknown webhook action: %d", p.status)
	}

	// Another system may not see the log.
	school := h.browser(h.token("skolplattform", auth.KindSystem, auth.Grant{Role: auth.RoleSubscriber, System: "skolplattform"}))
	if p := school.get("/subscriptions/" + id + "/webhook"); p.status == http.StatusOK {
		t.Fatalf("another system sees the webhook log")
	}
}

func newJSONRequest(method, u, token string, body any) (*http.Request, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(method, u, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	return req, nil
}

func decodeBody(resp *http.Response, out any) error {
	raw, err := io.ReadAll(resp.Body)
	if err != nil || len(raw) == 0 {
		return err
	}
	return json.Unmarshal(raw, out)
}
