package catalogue_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/services/console"
	"github.com/samnav/samnav/services/console/internal/consoletest"
	delivery "github.com/samnav/samnav/services/delivery/client"
)

func TestCatalogueListsEveryConcept(t *testing.T) {
	h := consoletest.StartHub(t)
	b := h.BrowserAs("ivar", auth.Grant{Role: auth.RoleAuditor})
	p := b.Get("/catalogue")
	if p.Status != http.StatusOK {
		t.Fatalf("status %d", p.Status)
	}
	for _, c := range h.Model.Concepts {
		consoletest.MustContain(t, p, `href="/catalogue/`+c.ID+`"`, c.Name.SV, c.Topic())
	}
	p = b.Get("/catalogue?lang=en")
	consoletest.MustContain(t, p, "Concept catalogue", h.Model.Concept("person").Name.EN)
}

func TestConceptPageShowsAttributesContractsAndSubscribers(t *testing.T) {
	h := consoletest.StartHub(t)
	h.Delivery.Subs = []delivery.Subscription{{ID: "s1", System: "skolplattform", Concept: "person", Major: 1, Purpose: "elevregister",
		Channel: "kafka", Status: "approved", ApprovedFields: []string{"givenNames", "surname"}}}
	b := h.BrowserAs("ivar", auth.Grant{Role: auth.RoleAuditor})
	p := b.Get("/catalogue/person?lang=en")
	if p.Status != http.StatusOK {
		t.Fatalf("status %d: %s", p.Status, p.Body)
	}
	consoletest.MustContain(t, p,
		"<h1>Concept: Person</h1>", "folkbokforing",
		`<code>personalIdentityNumber</code>`, "Personal identity number", "natural key",
		`<code>registeredAddress.postalCode</code>`, "withheld for protected identities",
		"samnav.person.v1-value", "BACKWARD_TRANSITIVE",
		"skolplattform", "elevregister", "givenNames, surname",
		`<th scope="col">`)
	// Another concept's subscribers are not listed.
	p = b.Get("/catalogue/unit?lang=en")
	consoletest.MustContain(t, p, "No system subscribes to this concept.")
	consoletest.MustNotContain(t, p, "skolplattform")
}

func TestConceptPageSaysWhenSubscribersMayNotBeShown(t *testing.T) {
	h := consoletest.StartHub(t)
	h.Delivery.Subs = []delivery.Subscription{{ID: "s1", System: "skolplattform", Concept: "person", Status: "approved"}}
	// A steward of units only may not see who subscribes to persons.
	b := h.BrowserAs("anna", consoletest.Steward("unit"))
	p := b.Get("/catalogue/person?lang=en")
	if p.Status != http.StatusOK {
		t.Fatalf("status %d", p.Status)
	}
	consoletest.MustContain(t, p, "Your role does not show which systems subscribe")
	consoletest.MustNotContain(t, p, "skolplattform", "No system subscribes")

	// When the delivery API refuses, the page says so and still renders.
	h.Delivery.Refuse = true
	b = h.BrowserAs("ivar", auth.Grant{Role: auth.RoleAuditor})
	p = b.Get("/catalogue/person?lang=en")
	if p.Status != http.StatusOK {
		t.Fatalf("status %d", p.Status)
	}
	consoletest.MustContain(t, p, "You may not read this from the delivery service", "<code>personalIdentityNumber</code>")
}

func TestUnknownConceptIs404(t *testing.T) {
	h := consoletest.StartHub(t)
	b := h.BrowserAs("ivar", auth.Grant{Role: auth.RoleAuditor})
	if p := b.Get("/catalogue/dragon"); p.Status != http.StatusNotFound {
		t.Fatalf("status %d, want 404", p.Status)
	}
}

func TestConceptPageRendersWhenTheRegistryIsDown(t *testing.T) {
	h := consoletest.StartHub(t, func(c *console.Config) { c.RegistryURL = "http://127.0.0.1:1" })
	b := h.BrowserAs("ivar", auth.Grant{Role: auth.RoleAuditor})
	p := b.Get("/catalogue/unit?lang=en")
	if p.Status != http.StatusOK {
		t.Fatalf("status %d", p.Status)
	}
	consoletest.MustContain(t, p, "Could not be fetched from the schema registry just now.", "samnav.unit.v1-value", "<code>openingHours[].opens</code>")
}

func TestContractSchemaDownload(t *testing.T) {
	h := consoletest.StartHub(t)
	b := h.BrowserAs("ivar", auth.Grant{Role: auth.RoleAuditor})
	consoletest.MustContain(t, b.Get("/catalogue/unit"), `href="/catalogue/unit/v1.avsc"`)
	p := b.Get("/catalogue/unit/v1.avsc")
	if p.Status != http.StatusOK || !strings.Contains(p.Body, `"name"`) || !strings.Contains(p.Header.Get("Content-Type"), "json") {
		t.Fatalf("schema: %d %s", p.Status, p.Body)
	}
	if p := b.Get("/catalogue/unit/v9.avsc"); p.Status != http.StatusNotFound {
		t.Fatalf("unknown major: %d", p.Status)
	}
}
