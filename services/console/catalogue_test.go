package console

import (
	"net/http"
	"strings"
	"testing"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/services/console/internal/api"
)

func TestCatalogueListsEveryConcept(t *testing.T) {
	h := startHub(t)
	b := h.browser(h.token("ivar", auth.Grant{Role: auth.RoleAuditor}))
	p := b.get("/catalogue")
	if p.status != http.StatusOK {
		t.Fatalf("status %d", p.status)
	}
	for _, c := range h.console.model.Concepts {
		mustContain(t, p, `href="/catalogue/`+c.ID+`"`, c.Name.SV, c.Topic())
	}
	p = b.get("/catalogue?lang=en")
	mustContain(t, p, "Concept catalogue", h.console.model.Concept("person").Name.EN)
}

func TestConceptPageShowsAttributesContractsAndSubscribers(t *testing.T) {
	h := startHub(t)
	h.delivery.subs = []api.SubscriptionRecord{{ID: "s1", System: "skolplattform", Concept: "person", Major: 1, Purpose: "elevregister",
		Channel: "kafka", Status: "approved", ApprovedFields: []string{"givenNames", "surname"}}}
	b := h.browser(h.token("ivar", auth.Grant{Role: auth.RoleAuditor}))
	p := b.get("/catalogue/person?lang=en")
	if p.status != http.StatusOK {
		t.Fatalf("status %d: %s", p.status, p.body)
	}
	mustContain(t, p,
		"<h1>Concept: Person</h1>", "folkbokforing",
		`<code>personalIdentityNumber</code>`, "Personal identity number", "natural key",
		`<code>registeredAddress.postalCode</code>`, "withheld for protected identities",
		"samnav.person.v1-value", "BACKWARD_TRANSITIVE",
		"skolplattform", "elevregister", "givenNames, surname",
		`<th scope="col">`)
	// Another concept's subscribers are not listed.
	p = b.get("/catalogue/unit?lang=en")
	mustContain(t, p, "No system subscribes to this concept.")
	mustNotContain(t, p, "skolplattform")
}

func TestConceptPageSaysWhenSubscribersMayNotBeShown(t *testing.T) {
	h := startHub(t)
	h.delivery.subs = []api.SubscriptionRecord{{ID: "s1", System: "skolplattform", Concept: "person", Status: "approved"}}
	// A steward of units only may not see who subscribes to persons.
	b := h.browser(h.token("anna", steward("unit")))
	p := b.get("/catalogue/person?lang=en")
	if p.status != http.StatusOK {
		t.Fatalf("status %d", p.status)
	}
	mustContain(t, p, "Your role does not show which systems subscribe")
	mustNotContain(t, p, "skolplattform", "No system subscribes")

	// When the delivery API refuses, the page says so and still renders.
	h.delivery.refuse = true
	b = h.browser(h.token("ivar", auth.Grant{Role: auth.RoleAuditor}))
	p = b.get("/catalogue/person?lang=en")
	if p.status != http.StatusOK {
		t.Fatalf("status %d", p.status)
	}
	mustContain(t, p, "You may not read this from the delivery service", "<code>personalIdentityNumber</code>")
}

func TestUnknownConceptIs404(t *testing.T) {
	h := startHub(t)
	b := h.browser(h.token("ivar", auth.Grant{Role: auth.RoleAuditor}))
	if p := b.get("/catalogue/dragon"); p.status != http.StatusNotFound {
		t.Fatalf("status %d, want 404", p.status)
	}
}

func TestConceptPageRendersWhenTheRegistryIsDown(t *testing.T) {
	h := startHub(t, func(c *Config) { c.RegistryURL = "http://127.0.0.1:1" })
	b := h.browser(h.token("ivar", auth.Grant{Role: auth.RoleAuditor}))
	p := b.get("/catalogue/unit?lang=en")
	if p.status != http.StatusOK {
		t.Fatalf("status %d", p.status)
	}
	mustContain(t, p, "Could not be fetched from the schema registry just now.", "samnav.unit.v1-value", "<code>openingHours[].opens</code>")
}

func TestContractSchemaDownload(t *testing.T) {
	h := startHub(t)
	b := h.browser(h.token("ivar", auth.Grant{Role: auth.RoleAuditor}))
	mustContain(t, b.get("/catalogue/unit"), `href="/catalogue/unit/v1.avsc"`)
	p := b.get("/catalogue/unit/v1.avsc")
	if p.status != http.StatusOK || !strings.Contains(p.body, `"name"`) || !strings.Contains(p.header.Get("Content-Type"), "json") {
		t.Fatalf("schema: %d %s", p.status, p.body)
	}
	if p := b.get("/catalogue/unit/v9.avsc"); p.status != http.StatusNotFound {
		t.Fatalf("unknown major: %d", p.status)
	}
}
