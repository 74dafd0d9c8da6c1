package flow_test

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	dlclient "github.com/samnav/samnav/services/delivery/client"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/services/console/internal/consoletest"
	"github.com/samnav/samnav/services/hubtest"
)

var flowChangeItem = regexp.MustCompile(`(?s)<li class="flow-change" data-event="[^"]*">.*?</ul>\s*</li>`)

// TestLiveFlow: a person's address changed once by its master reaches
// the three example systems over Kafka, webhook and the pull feed; the
// live flow shows it as one change, who made it and which field changed,
// with a delivery to each, each with only its own fields; a subscriber
// sees only its own delivery.
func TestLiveFlow(t *testing.T) {
	h := consoletest.StartFlowHub(t)
	admin := h.Token("admin", auth.KindUser, auth.Grant{Role: auth.RoleAdmin})
	fb := h.Token("folkbokforing", auth.KindSystem, auth.Grant{Role: auth.RolePublisher, System: "folkbokforing"})
	libToken := h.Token("bibliotek", auth.KindSystem, auth.Grant{Role: auth.RoleSubscriber, System: "bibliotek"})
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer rcv.Close()

	h.Subscribe(admin, "skolplattform", "person", "kafka", "givenNames", "registeredAddress")
	lib := h.Subscribe(admin, "bibliotek", "person", "webhook", "givenNames", "emailAddress")
	h.Subscribe(admin, "hemtjanst", "person", "feed", "registeredAddress")
	st, body := hubtest.CallJSON(t, "PUT", h.DeliveryURL+"/api/v1/subscriptions/"+lib+"/webhook", libToken, map[string]any{"url": rcv.URL})
	if st != http.StatusCreated {
		t.Fatalf("register webhook: %d %v", st, body)
	}
	ella := h.Publish(fb, consoletest.Person("201405052380", "Ella", "Storgatan 1"))[0]
	adminB := h.Browser(admin)
	// The snapshot (revision 1) reaches all three first.
	h.Eventually("the first state at every system", func() bool {
		return strings.Count(adminB.Get("/flow/list").Body, "data-system=") >= 3
	})
	// The change, made once.
	h.Publish(fb, consoletest.Person("201405052380", "Ella", "Nya gatan 7"))
	var item string
	h.Eventually("the change at every system", func() bool {
		p := adminB.Get("/flow/list")
		for _, it := range flowChangeItem.FindAllString(p.Body, -1) {
			if strings.Contains(it, "version 2") && strings.Count(it, "data-system=") == 3 {
				item = it
				return true
			}
		}
		return false
	})
	for _, want := range []string{"Person " + ella[:8], "Av folkbokforing ·", "Ändrade fält: Folkbokföringsadress",
		"Registrerad en gång – lämnad till 3 system", `data-system="skolplattform"`, `data-system="bibliotek"`, `data-system="hemtjanst"`,
		"Skolplattformen (Kafka): levererad", "Bibliotekssystemet (webhook): ", "Hemtjänstens verksamhetssystem (pull-flöde): levererad",
		"fick: Förnamn, Folkbokföringsadress"} {
		if !strings.Contains(item, want) {
			t.Errorf("the change does not show %q:\n%s", want, item)
		}
	}
	if n := len(consoletest.PageTime.FindAllString(item, -1)); n != 4 {
		t.Errorf("%d times in the city's format, want the change's and 3 deliveries':\n%s", n, item)
	}
	if strings.Contains(item, "Personnummer") {
		t.Errorf("the flow names a field no subscription receives:\n%s", item)
	}

	// The page itself: the list refreshes itself, and can be paused.
	p := adminB.Get("/flow")
	consoletest.MustContain(t, p, `data-poll="/flow/list"`, `href="/flow?live=0"`, "Live-flöde")
	p = adminB.Get("/flow?live=0")
	consoletest.MustNotContain(t, p, "data-poll=")
	consoletest.MustContain(t, p, "Uppdateringen är pausad.")
	consoletest.MustContain(t, adminB.Get("/flow?lang=en"), "Recorded once – handed to 3 systems")
	// The webhook shows delivered once the receiver has it (the admin may
	// read the delivery log).
	h.Eventually("the webhook delivered", func() bool {
		return strings.Contains(adminB.Get("/flow/list").Body, `data-system="bibliotek" data-state="delivered"`)
	})

	// The library sees its own deliveries only.
	p = h.Browser(libToken).Get("/flow")
	consoletest.MustContain(t, p, `data-system="bibliotek"`)
	consoletest.MustNotContain(t, p, `data-system="skolplattform"`, `data-system="hemtjanst"`)
}

// TestLiveFlowWebhookStates: a webhook delivery is shown as queued while
// the receiver has not been tried, as queued with a failed attempt when the
// receiver refuses, and as delivered (at the receiver's time) only once it
// takes it; someone who may not read the delivery log sees it handed to
// the channel, never delivered.
func TestLiveFlowWebhookStates(t *testing.T) {
	h := consoletest.StartFlowHub(t)
	admin := h.Token("admin", auth.KindUser, auth.Grant{Role: auth.RoleAdmin})
	fb := h.Token("folkbokforing", auth.KindSystem, auth.Grant{Role: auth.RolePublisher, System: "folkbokforing"})
	libToken := h.Token("bibliotek", auth.KindSystem, auth.Grant{Role: auth.RoleSubscriber, System: "bibliotek"})
	var status atomic.Int64
	status.Store(http.StatusServiceUnavailable)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(int(status.Load())) }))
	defer rcv.Close()
	lib := h.Subscribe(admin, "bibliotek", "person", "webhook", "givenNames")
	if st, body := hubtest.CallJSON(t, "PUT", h.DeliveryURL+"/api/v1/subscriptions/"+lib+"/webhook", libToken, map[string]any{"url": rcv.URL}); st != http.StatusCreated {
		t.Fatalf("register webhook: %d %v", st, body)
	}
	if st, body := hubtest.CallJSON(t, "POST", h.DeliveryURL+"/api/v1/subscriptions/"+lib+"/webhook/disable", libToken, nil); st >= 300 {
		t.Fatalf("disable webhook: %d %v", st, body)
	}
	h.Publish(fb, consoletest.Person("201405052380", "Ella", "Storgatan 1"))
	libB := h.Browser(libToken)
	state := func(b *consoletest.Browser, lang string) string {
		m := regexp.MustCompile(`<li data-system="bibliotek" data-state="([a-z]+)">.*`).FindStringSubmatch(b.Get("/flow/list?lang=" + lang).Body)
		if m == nil {
			return ""
		}
		return m[1] + " " + m[0]
	}
	h.Eventually("the message queued", func() bool { return state(libB, "sv") != "" })
	if got := state(libB, "sv"); !strings.HasPrefix(got, "queued ") || !strings.Contains(got, "Bibliotekssystemet (webhook): köad kl. ") {
		t.Fatalf("a disabled endpoint's message: %s", got)
	}
	if got := state(libB, "en"); !strings.Contains(got, "(webhook): queued at ") {
		t.Fatalf("in English: %s", got)
	}
	// A steward of persons sees the delivery but may not read the log.
	steward := h.Browser(h.Token("per", auth.KindUser, auth.Grant{Role: auth.RoleSteward, Concepts: []string{"person"}}))
	if got := state(steward, "sv"); !strings.HasPrefix(got, "handed ") || !strings.Contains(got, "lämnad till kanalen") {
		t.Fatalf("without the log: %s", got)
	}

	if st, body := hubtest.CallJSON(t, "POST", h.DeliveryURL+"/api/v1/subscriptions/"+lib+"/webhook/enable", libToken, nil); st >= 300 {
		t.Fatalf("enable webhook: %d %v", st, body)
	}
	var msg int64
	h.Eventually("a failed attempt", func() bool {
		as, err := h.API.Delivery(libToken).WebhookAttempts(h.Ctx, lib, dlclient.AttemptFilter{Limit: 10})
		if err != nil || len(as) == 0 {
			return false
		}
		msg = as[0].MessageID
		return true
	})
	if got := state(libB, "sv"); !strings.HasPrefix(got, "failing ") || !strings.Contains(got, "köad – ett leveransförsök misslyckades") {
		t.Fatalf("after a refused attempt: %s", got)
	}
	status.Store(http.StatusNoContent)
	if _, err := h.API.Delivery(libToken).Redeliver(h.Ctx, lib, msg); err != nil {
		t.Fatal(err)
	}
	h.Eventually("delivered", func() bool { return strings.HasPrefix(state(libB, "sv"), "delivered ") })
	if got := state(libB, "en"); !strings.Contains(got, "(webhook): delivered at ") {
		t.Fatalf("delivered, in English: %s", got)
	}
	if got := state(steward, "sv"); !strings.HasPrefix(got, "handed ") {
		t.Fatalf("without the log, after delivery: %s", got)
	}
}
