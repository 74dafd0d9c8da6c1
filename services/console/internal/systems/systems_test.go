package systems_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/services/console/internal/consoletest"
)

// TestSystemMap: every system of the catalogue with its owner, what it
// masters and what it receives, as a graph and as tables; a subscriber's
// map is marked partial and shows only what it may see.
func TestSystemMap(t *testing.T) {
	h := consoletest.StartFlowHub(t)
	admin := h.Token("admin", auth.KindUser, auth.Grant{Role: auth.RoleAdmin})
	h.Subscribe(admin, "skolplattform", "person", "kafka", "givenNames")
	h.Subscribe(admin, "hemtjanst", "unit", "feed", "name")
	adminB := h.Browser(admin)
	p := adminB.Get("/systems")
	if p.Status != 200 {
		t.Fatalf("system map: %d", p.Status)
	}
	for _, want := range []string{
		`id="system-samnav"`, `id="system-folkbokforing"`, `id="system-bolagsverket"`, `id="system-hr-system"`,
		`id="system-skolplattform"`, `id="system-bibliotek"`, `id="system-hemtjanst"`,
		"Utbildningsnämnden / Utbildningsförvaltningen", "Kulturnämnden / Kulturförvaltningen", "Äldrenämnden / Äldreförvaltningen",
		"Kommunstyrelsen / Stadsledningskontoret", "mailto:skolplattformen@stad.example",
		`src="/static/vendor/cytoscape/cytoscape.min.js"`, `id="systems-graph-data"`, `role="img"`,
	} {
		if !strings.Contains(p.Body, want) {
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
	if r := rowOf(p.Body, "folkbokforing"); !strings.Contains(r, "<td>Person</td>") {
		t.Errorf("folkbokforing does not master persons: %s", r)
	}
	if r := rowOf(p.Body, "skolplattform"); !strings.Contains(r, "Person (Kafka (egen vytopic))") {
		t.Errorf("skolplattform does not receive persons: %s", r)
	}
	if r := rowOf(p.Body, "samnav"); !strings.Contains(r, "Verksamhetsenhet") {
		t.Errorf("the hub does not master units: %s", r)
	}
	// The graph's data names every system and both kinds of flow.
	data := regexp.MustCompile(`(?s)<script type="application/json" id="systems-graph-data">(.*?)</script>`).FindStringSubmatch(p.Body)
	if data == nil {
		t.Fatal("no graph data")
	}
	for _, want := range []string{`"id":"bibliotek"`, `"source":"folkbokforing","target":"samnav"`, `"source":"samnav","target":"hemtjanst"`, `"owner":"Äldrenämnden / Äldreförvaltningen"`} {
		if !strings.Contains(consoletest.UnescapeJSON(data[1]), want) {
			t.Errorf("graph data lacks %s: %s", want, data[1])
		}
	}
	consoletest.MustContain(t, adminB.Get("/systems?lang=en"), "Education Committee / Education Administration", "Master source of")
	if p := adminB.Get("/static/vendor/cytoscape/cytoscape.min.js"); p.Status != 200 || !strings.Contains(p.Body, "cytoscape") {
		t.Fatalf("vendored graph library: %d", p.Status)
	}

	school := h.Browser(h.Token("skolplattform", auth.KindSystem, auth.Grant{Role: auth.RoleSubscriber, System: "skolplattform"}))
	p = school.Get("/systems")
	consoletest.MustContain(t, p, "Din token får inte läsa alla prenumerationer", `id="system-hemtjanst"`)
	if r := rowOf(p.Body, "hemtjanst"); strings.Contains(r, "Verksamhetsenhet") {
		t.Errorf("a subscriber sees another system's subscription: %s", r)
	}
}
