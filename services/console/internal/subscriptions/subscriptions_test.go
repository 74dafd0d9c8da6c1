package subscriptions_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	delivery "github.com/samnav/samnav/services/delivery/client"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/services/console/internal/consoletest"
	"github.com/samnav/samnav/services/hubtest"
)

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
	h := consoletest.StartFlowHub(t)
	admin := h.Token("admin", auth.KindUser, auth.Grant{Role: auth.RoleAdmin})
	school := h.Browser(h.Token("skolplattform", auth.KindSystem, auth.Grant{Role: auth.RoleSubscriber, System: "skolplattform"}))
	library := h.Browser(h.Token("bibliotek", auth.KindSystem, auth.Grant{Role: auth.RoleSubscriber, System: "bibliotek"}))
	owner := h.Browser(h.Token("Olle Ägare", auth.KindUser, auth.Grant{Role: auth.RoleOwner, Concepts: []string{"person"}}))

	// The form lists the model's attributes with classification and kind
	// of personal data.
	p := school.Get("/subscriptions/new?concept=person")
	consoletest.MustContain(t, p, `name="fields" value="personalIdentityNumber"`, `name="fields" value="givenNames"`,
		"personnummer eller samordningsnummer", `<abbr title="Klassning: konfidentialitet`, "Skolplattformen")

	// Missing purpose and fields: refused, naming both; nothing filed.
	bad := requestForm()
	bad.Del("purpose")
	p = school.Post("/subscriptions", bad)
	if p.Status != http.StatusBadRequest {
		t.Fatalf("bad request: status %d", p.Status)
	}
	consoletest.MustContain(t, p, `href="#sf-purpose"`, "Ange ändamålet.", `href="#sf-fields"`, "Välj minst ett fält.")
	if subs, err := h.API.Delivery(admin).All(h.Ctx, delivery.Filter{}); err != nil || len(subs) != 0 {
		t.Fatalf("after a refused request: %v %v, want none", subs, err)
	}

	p = school.Post("/subscriptions", requestForm("personalIdentityNumber", "givenNames", "surname", "registeredAddress"))
	m := subLocation.FindStringSubmatch(p.Location)
	if p.Status != http.StatusSeeOther || m == nil {
		t.Fatalf("request: %d %q %s", p.Status, p.Location, p.Body)
	}
	id := m[1]
	p = school.Get(p.Location)
	consoletest.MustContain(t, p, "Begärd", "placing pupils in schools", "Skollagen (2010:800) 29 kap.", "Utbildningsnämnden")
	consoletest.MustNotContain(t, p, `action="/subscriptions/`+id+`/decide"`) // a system cannot decide

	// Another system neither lists nor opens it.
	consoletest.MustNotContain(t, library.Get("/subscriptions"), id)
	if p := library.Get("/subscriptions/" + id); p.Status != http.StatusNotFound {
		t.Fatalf("another system opens the subscription: %d", p.Status)
	}

	// The owner narrows: the identity number and the address unticked.
	p = owner.Get("/subscriptions/" + id)
	consoletest.MustContain(t, p, `action="/subscriptions/`+id+`/decide"`, `value="personalIdentityNumber" id="sf-field-personalIdentityNumber" checked`)
	p = owner.Post("/subscriptions/"+id+"/decide", url.Values{"action": {"approve"}, "fields": {"givenNames", "surname"}})
	if p.Status != http.StatusBadRequest {
		t.Fatalf("decision without a reason: %d", p.Status)
	}
	consoletest.MustContain(t, p, `href="#sf-reason"`)
	if sub, _ := h.API.Delivery(admin).Get(h.Ctx, id); sub.Status != "requested" {
		t.Fatalf("a refused decision changed the subscription: %+v", sub)
	}
	p = owner.Post("/subscriptions/"+id+"/decide", url.Values{"action": {"approve"}, "fields": {"givenNames", "surname"},
		"reason": {"the identity number and the address are not needed"}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("narrow: %d %s", p.Status, p.Body)
	}
	sub, err := h.API.Delivery(admin).Get(h.Ctx, id)
	if err != nil || sub.Status != "approved" || !slices.Equal(sub.ApprovedFields, []string{"givenNames", "surname"}) {
		t.Fatalf("after narrowing: %+v %v", sub, err)
	}
	p = school.Get("/subscriptions/" + id)
	consoletest.MustContain(t, p, "Godkänd med färre fält", "Olle Ägare", "the identity number and the address are not needed")
	// Created and each decision: in the city's zone, named, as on every page.
	if n := len(consoletest.PageTime.FindAllString(p.Body, -1)); n < 2 {
		t.Fatalf("%d times in the city's format, want the creation and the decisions:\n%s", n, p.Body)
	}
	if !regexp.MustCompile(`id="sub-approved">[^<]*Efternamn`).MatchString(p.Body) || strings.Contains(p.Body, `id="sub-approved">Personnummer`) {
		t.Fatalf("approved fields shown wrongly:\n%s", p.Body)
	}

	// The library asks too; the owner rejects it with a reason.
	lib := requestForm("givenNames", "emailAddress")
	lib.Set("channel", "webhook")
	p = library.Post("/subscriptions", lib)
	m = subLocation.FindStringSubmatch(p.Location)
	if m == nil {
		t.Fatalf("library request: %d %s", p.Status, p.Body)
	}
	libID := m[1]
	owner.Get("/subscriptions/" + libID)
	if p := owner.Post("/subscriptions/"+libID+"/decide", url.Values{"action": {"reject"}, "reason": {"purpose does not match the library's task"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("reject: %d %s", p.Status, p.Body)
	}
	p = library.Get("/subscriptions/" + libID)
	consoletest.MustContain(t, p, "Avslagen", "purpose does not match the library&#39;s task")

	// Each sees its own; the owner sees both; the filter narrows.
	p = school.Get("/subscriptions")
	consoletest.MustContain(t, p, id)
	consoletest.MustNotContain(t, p, libID)
	p = owner.Get("/subscriptions")
	consoletest.MustContain(t, p, id, libID)
	p = owner.Get("/subscriptions?status=rejected")
	consoletest.MustContain(t, p, libID)
	consoletest.MustNotContain(t, p, "/subscriptions/"+id+`"`)
	if p := owner.Get("/subscriptions?status=bogus"); p.Status != http.StatusBadRequest {
		t.Fatalf("unknown status filter: %d", p.Status)
	}
}

// TestSubscriptionLagAndWebhookLog: an approved webhook subscription
// whose system has not registered its endpoint yet cannot take events,
// so it stays behind by every record on the topic, and the pages show
// the API's numbers; once the endpoint is registered the lag drops to
// zero, the delivery log shows the receiver's failing status code, and
// the redeliver button makes the delivery service try again.
func TestSubscriptionLagAndWebhookLog(t *testing.T) {
	h := consoletest.StartFlowHub(t)
	admin := h.Token("admin", auth.KindUser, auth.Grant{Role: auth.RoleAdmin})
	fb := h.Token("folkbokforing", auth.KindSystem, auth.Grant{Role: auth.RolePublisher, System: "folkbokforing"})
	libToken := h.Token("bibliotek", auth.KindSystem, auth.Grant{Role: auth.RoleSubscriber, System: "bibliotek"})
	library := h.Browser(libToken)
	h.Publish(fb, consoletest.Person("201405052380", "Ella", "Storgatan 1"), consoletest.Person("201405052398", "Vera", "Gränd 2"),
		consoletest.Person("201001012382", "Olof", "Torget 3"))

	lib := requestForm("givenNames")
	lib.Set("channel", "webhook")
	p := library.Post("/subscriptions", lib)
	m := subLocation.FindStringSubmatch(p.Location)
	if m == nil {
		t.Fatalf("request: %d %s", p.Status, p.Body)
	}
	id := m[1]
	p = library.Get("/subscriptions/" + id)
	consoletest.MustNotContain(t, p, `id="sub-lag"`) // lag is shown for approved subscriptions
	if _, err := h.API.Delivery(admin).Approve(h.Ctx, id, delivery.Decision{Reason: "ok"}); err != nil {
		t.Fatal(err)
	}
	// The relay publishes the persons shortly after the write.
	h.Eventually("3 events behind", func() bool {
		lag, err := h.API.Delivery(libToken).Lag(h.Ctx, id)
		if err != nil || len(lag.Channels) != 1 || lag.Channels[0].Channel != "webhook" {
			t.Fatalf("lag: %+v %v, want the webhook channel", lag, err)
		}
		return lag.Channels[0].Events == 3
	})
	p = library.Get("/subscriptions/" + id)
	consoletest.MustContain(t, p, `id="sub-lag"`, "3 händelser efter på samnav.person.v1.", "Äldsta ej levererade ändring")
	p = library.Get("/subscriptions")
	consoletest.MustContain(t, p, `<td class="sub-lag">3 händelser</td>`)
	if p := library.Get("/subscriptions/" + id + "/webhook"); p.Status != 200 || !strings.Contains(p.Body, "Ingen webhook-mottagare") {
		t.Fatalf("webhook page before registration: %d %s", p.Status, p.Body)
	}

	// The endpoint: a receiver that fails, so the log has something to say.
	var hits atomic.Int64
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer rcv.Close()
	if st, body := hubtest.CallJSON(t, "PUT", h.DeliveryURL+"/api/v1/subscriptions/"+id+"/webhook", libToken, map[string]any{"url": rcv.URL + "/hook"}); st != http.StatusCreated {
		t.Fatalf("register webhook: %d %v", st, body)
	}
	h.Eventually("the pipeline catching up", func() bool {
		lag, err := h.API.Delivery(libToken).Lag(h.Ctx, id)
		return err == nil && lag.Channels[0].Events == 0
	})
	consoletest.MustContain(t, library.Get("/subscriptions/"+id), "I kapp")
	var msg int64
	h.Eventually("a failed attempt in the log", func() bool {
		as, err := h.API.Delivery(libToken).WebhookAttempts(h.Ctx, id, delivery.AttemptFilter{Limit: 10})
		if err != nil || len(as) == 0 || as[0].StatusCode != http.StatusServiceUnavailable {
			return false
		}
		msg = as[0].MessageID
		return true
	})
	p = library.Get("/subscriptions/" + id + "/webhook")
	if !consoletest.PageTime.MatchString(p.Body) {
		t.Fatalf("the delivery log shows no time in the city's format:\n%s", p.Body)
	}
	consoletest.MustContain(t, p, rcv.URL+"/hook", "<td>503</td>", "väntar", fmt.Sprintf(`action="/subscriptions/%s/webhook/messages/%d/redeliver"`, id, msg))
	before := hits.Load()
	p = library.Post(fmt.Sprintf("/subscriptions/%s/webhook/messages/%d/redeliver", id, msg), nil)
	if p.Status != http.StatusSeeOther {
		t.Fatalf("redeliver: %d %s", p.Status, p.Body)
	}
	h.Eventually("a manual attempt", func() bool {
		as, err := h.API.Delivery(libToken).WebhookAttempts(h.Ctx, id, delivery.AttemptFilter{Limit: 10})
		return err == nil && slices.ContainsFunc(as, func(a delivery.Attempt) bool { return a.Trigger == "manual" && a.MessageID == msg })
	})
	if hits.Load() <= before {
		t.Fatalf("the receiver was not called again after redelivery")
	}
	p = library.Get(p.Location)
	consoletest.MustContain(t, p, fmt.Sprintf("Meddelande %d är köat", msg), "<td>manuellt</td>")

	// The system turns its endpoint off and on again from the page.
	p = library.Post("/subscriptions/"+id+"/webhook/disable", nil)
	if p.Status != http.StatusSeeOther {
		t.Fatalf("disable: %d %s", p.Status, p.Body)
	}
	p = library.Get(p.Location)
	consoletest.MustContain(t, p, "Mottagaren är avstängd.", `<span class="badge">avstängd</span>`, "avstängd av systemets ägare", `action="/subscriptions/`+id+`/webhook/enable"`)
	if ep, err := h.API.Delivery(libToken).Webhook(h.Ctx, id); err != nil || ep.Status != "disabled" {
		t.Fatalf("endpoint after disable: %+v %v", ep, err)
	}
	library.Post("/subscriptions/"+id+"/webhook/enable", nil)
	if ep, err := h.API.Delivery(libToken).Webhook(h.Ctx, id); err != nil || ep.Status != "enabled" {
		t.Fatalf("endpoint after enable: %+v %v", ep, err)
	}
	if p := library.Post("/subscriptions/"+id+"/webhook/explode", nil); p.Status != http.StatusNotFound {
		t.Fatalf("unknown webhook action: %d", p.Status)
	}

	// Another system may not see the log.
	school := h.Browser(h.Token("skolplattform", auth.KindSystem, auth.Grant{Role: auth.RoleSubscriber, System: "skolplattform"}))
	if p := school.Get("/subscriptions/" + id + "/webhook"); p.Status == http.StatusOK {
		t.Fatalf("another system sees the webhook log")
	}
}
