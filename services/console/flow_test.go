package console

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/services/console/internal/api"
)

// subscribe requests and approves a subscription for system, as the admin.
func (h *flowHub) subscribe(admin, system, concept, channel string, fields ...string) string {
	h.t.Helper()
	sub, err := h.api.RequestSubscription(h.ctx, admin, api.SubscriptionRequest{System: system, Concept: concept, Purpose: "test",
		LegalBasis: api.LegalBasis{Basis: "public_task", Reference: "test"}, Channel: channel, Fields: fields, Reason: "test"})
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.api.DecideSubscription(h.ctx, admin, sub.ID, api.DecisionApprove, api.SubscriptionDecision{Reason: "test"}); err != nil {
		h.t.Fatal(err)
	}
	return sub.ID
}

var flowChangeItem = regexp.MustCompile(`(?s)<li class="flow-change" data-event="[^"]*">.*?</ul>\s*</li>`)

// TestLiveFlow: a person's address changed once by its master reaches
// the three example systems over Kafka, webhook and the pull feed; the
// live flow shows it as one change, who made it and which field changed,
// with a delivery to each, each with only its own fields; a subscriber
// sees only its own delivery.
func TestLiveFlow(t *testing.T) {
	h := startFlowHub(t)
	admin := h.token("admin", auth.KindUser, auth.Grant{Role: auth.RoleAdmin})
	fb := h.token("folkbokforing", auth.KindSystem, auth.Grant{Role: auth.RolePublisher, System: "folkbokforing"})
	libToken := h.token("bibliotek", auth.KindSystem, auth.Grant{Role: auth.RoleSubscriber, System: "bibliotek"})
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer rcv.Close()

	h.subscribe(admin, "skolplattform", "person", "kafka", "givenNames", "registeredAddress")
	lib := h.subscribe(admin, "bibliotek", "person", "webhook", "givenNames", "emailAddress")
	h.subscribe(admin, "hemtjanst", "person", "feed", "registeredAddress")
	st, body := callJSON(t, "PUT", h.dlURL+"/api/v1/subscriptions/"+lib+"/webhook", libToken, map[string]any{"url": rcv.URL})
	if st != http.StatusCreated {
		t.Fatalf("register webhook: %d %v", st, body)
	}
	ella := h.publish(fb, testPerson("201405052380", "Ella", "Storgatan 1"))[0]
	adminB := h.browser(admin)
	// The snapshot (revision 1) reaches all three first.
	h.eventually("the first state at every system", func() bool {
		return strings.Count(adminB.get("/flow/list").body, "data-system=") >= 3
	})
	// The change, made once.
	h.publish(fb, testPerson("201405052380", "Ella", "Nya gatan 7"))
	var item string
	h.eventually("the change at every system", func() bool {
		p := adminB.get("/flow/list")
		for _, it := range flowChangeItem.FindAllString(p.body, -1) {
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
	if n := len(pageTime.FindAllString(item, -1)); n != 4 {
		t.Errorf("%d times in the city's format, want the change's and 3 deliveries':\n%s", n, item)
	}
	if strings.Contains(item, "Personnummer") {
		t.Errorf("the flow names a field no subscription receives:\n%s", item)
	}

	// The page itself: the list refreshes itself, and can be paused.
	p := adminB.get("/flow")
	mustContain(t, p, `data-poll="/flow/list"`, `href="/flow?live=0"`, "Live-flöde")
	p = adminB.get("/flow?live=0")
	mustNotContain(t, p, "data-poll=")
	mustContain(t, p, "Uppdateringen är pausad.")
	mustContain(t, adminB.get("/flow?lang=en"), "Recorded once – handed to 3 systems")
	// The webhook shows delivered once the receiver has it (the admin may
	// read the delivery log).
	h.eventually("the webhook delivered", func() bool {
		return strings.Contains(adminB.get("/flow/list").body, `data-system="bibliotek" data-state="delivered"`)
	})

	// The library sees its own deliveries only.
	p = h.browser(libToken).get("/flow")
	mustContain(t, p, `data-system="bibliotek"`)
	mustNotContain(t, p, `data-system="skolplattform"`, `data-system="hemtjanst"`)
}

// TestSystemMap: every system of the catalogue with its owner, what it
// masters and what it receives, as a graph and as tables; a subscriber's
// map is marked partial and shows only what it may see.
func TestSystemMap(t *testing.T) {
	h := startFlowHub(t)
	admin := h.token("admin", auth.KindUser, auth.Grant{Role: auth.RoleAdmin})
	h.subscribe(admin, "skolplattform", "person", "kafka", "givenNames")
	h.subscribe(admin, "hemtjanst", "unit", "feed", "name")
	adminB := h.browser(admin)
	p := adminB.get("/systems")
	if p.status != 200 {
		t.Fatalf("system map: %d", p.status)
	}
	for _, want := range []string{
		`id="system-samnav"`, `id="system-folkbokforing"`, `id="system-bolagsverket"`, `id="system-hr-system"`,
		`id="system-skolplattform"`, `id="system-bibliotek"`, `id="system-hemtjanst"`,
		"Utbildningsnämnden / Utbildningsförvaltningen", "Kulturnämnden / Kulturförvaltningen", "Äldrenämnden / Äldreförvaltningen",
		"Kommunstyrelsen / Stadsledningskontoret", "mailto:skolplattformen@stad.example",
		`src="/static/vendor/cytoscape/cytoscape.min.js"`, `id="systems-graph-data"`, `role="img"`,
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("system map lacks %q", want)
		}
	}
	rowOf := func(body, id string) string {
		m := regexp.MustCompile(`(?s)<tr id="system-` + id + `">.*?</tr>`).FindString(body)
		if m == "" {
			t.Fatalf("no row of %s", id)
		}
		return m
	}
	if r := rowOf(p.body, "folkbokforing"); !strings.Contains(r, "<td>Person</td>") {
		t.Errorf("folkbokforing does not master persons: %s", r)
	}
	if r := rowOf(p.body, "skolplattform"); !strings.Contains(r, "Person (Kafka (egen vytopic))") {
		t.Errorf("skolplattform does not receive persons: %s", r)
	}
	if r := rowOf(p.body, "samnav"); !strings.Contains(r, "Verksamhetsenhet") {
		t.Errorf("the hub does not master units: %s", r)
	}
	// The graph's data names every system and both kinds of flow.
	data := regexp.MustCompile(`(?s)<script type="application/json" id="systems-graph-data">(.*?)</script>`).FindStringSubmatch(p.body)
	if data == nil {
		t.Fatal("no graph data")
	}
	for _, want := range []string{`"id":"bibliotek"`, `"source":"folkbokforing","target":"samnav"`, `"source":"samnav","target":"hemtjanst"`, `"owner":"Äldrenämnden / Äldreförvaltningen"`} {
		if !strings.Contains(unescapeJSON(data[1]), want) {
			t.Errorf("graph data lacks %s: %s", want, data[1])
		}
	}
	mustContain(t, adminB.get("/systems?lang=en"), "Education Committee / Education Administration", "Master source of")
	if p := adminB.get("/static/vendor/cytoscape/cytoscape.min.js"); p.status != 200 || !strings.Contains(p.body, "cytoscape") {
		t.Fatalf("vendored graph library: %d", p.status)
	}

	school := h.browser(h.token("skolplattform", auth.KindSystem, auth.Grant{Role: auth.RoleSubscriber, System: "skolplattform"}))
	p = school.get("/systems")
	mustContain(t, p, "Din token får inte läsa alla prenumerationer", `id="system-hemtjanst"`)
	if r := rowOf(p.body, "hemtjanst"); strings.Contains(r, "Verksamhetsenhet") {
		t.Errorf("a subscriber sees another system's subscription: %s", r)
	}
}

// unescapeJSON undoes html/template's escaping of < > & ' in a JSON
// script block, enough to compare.
func unescapeJSON(s string) string {
	return strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&", `\u0027`, "'").Replace(s)
}

func callJSON(t *testing.T, method, u, token string, body any) (int, map[string]any) {
	t.Helper()
	var out map[string]any
	st := 0
	err := func() error {
		req, err := newJSONRequest(method, u, token, body)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		st = resp.StatusCode
		return decodeBody(resp, &out)
	}()
	if err != nil {
		t.Fatal(fmt.Errorf("%s %s: %w", method, u, err))
	}
	return st, out
}

// TestLiveFlowWebhookStates: a webhook delivery is shown as queued while
// the receiver has not been tried, as queued with a failed attempt when the
// receiver refuses, and as delivered (at the receiver's time) only once it
// takes it; someone who may not read the delivery log sees it handed to
// the channel, never delivered.
func TestLiveFlowWebhookStates(t *testing.T) {
	h := startFlowHub(t)
	admin := h.token("admin", auth.KindUser, auth.Grant{Role: auth.RoleAdmin})
	fb := h.token("folkbokforing", auth.KindSystem, auth.Grant{Role: auth.RolePublisher, System: "folkbokforing"})
	libToken := h.token("bibliotek", auth.KindSystem, auth.Grant{Role: auth.RoleSubscriber, System: "bibliotek"})
	var status atomic.Int64
	status.Store(http.StatusServiceUnavailable)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(int(status.Load())) }))
	defer rcv.Close()
	lib := h.subscribe(admin, "bibliotek", "person", "webhook", "givenNames")
	if st, body := callJSON(t, "PUT", h.dlURL+"/api/v1/subscriptions/"+lib+"/webhook", libToken, map[string]any{"url": rcv.URL}); st != http.StatusCreated {
		t.Fatalf("register webhook: %d %v", st, body)
	}
	if st, body := callJSON(t, "POST", h.dlURL+"/api/v1/subscriptions/"+lib+"/webhook/disable", libToken, nil); st >= 300 {
		t.Fatalf("disable webhook: %d %v", st, body)
	}
	h.publish(fb, testPerson("201405052380", "Ella", "Storgatan 1"))
	libB := h.browser(libToken)
	state := func(b *browser, lang string) string {
		m := regexp.MustCompile(`<li data-system="bibliotek" data-state="([a-z]+)">.*`).FindStringSubmatch(b.get("/flow/list?lang=" + lang).body)
		if m == nil {
			return ""
		}
		return m[1] + " " + m[0]
	}
	h.eventually("the message queued", func() bool { return state(libB, "sv") != "" })
	if got := state(libB, "sv"); !strings.HasPrefix(got, "queued ") || !strings.Contains(got, "Bibliotekssystemet (webhook): köad kl. ") {
		t.Fatalf("a disabled endpoint's message: %s", got)
	}
	if got := state(libB, "en"); !strings.Contains(got, "(webhook): queued at ") {
		t.Fatalf("in English: %s", got)
	}
	// A steward of persons sees the delivery but may not read the log.
	steward := h.browser(h.token("per", auth.KindUser, auth.Grant{Role: auth.RoleSteward, Concepts: []string{"person"}}))
	if got := state(steward, "sv"); !strings.HasPrefix(got, "handed ") || !strings.Contains(got, "lämnad till kanalen") {
		t.Fatalf("without the log: %s", got)
	}

	if st, body := callJSON(t, "POST", h.dlURL+"/api/v1/subscriptions/"+lib+"/webhook/enable", libToken, nil); st >= 300 {
		t.Fatalf("enable webhook: %d %v", st, body)
	}
	var msg int64
	h.eventually("a failed attempt", func() bool {
		as, err := h.api.WebhookAttempts(h.ctx, libToken, lib, 10)
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
	if err := h.api.RedeliverWebhook(h.ctx, libToken, lib, msg); err != nil {
		t.Fatal(err)
	}
	h.eventually("delivered", func() bool { return strings.HasPrefix(state(libB, "sv"), "delivered ") })
	if got := state(libB, "en"); !strings.Contains(got, "(webhook): delivered at ") {
		t.Fatalf("delivered, in English: %s", got)
	}
	if got := state(steward, "sv"); !strings.HasPrefix(got, "handed ") {
		t.Fatalf("without the log, after delivery: %s", got)
	}
}
