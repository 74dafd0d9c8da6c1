package records_test

import (
	"net/http"
	"testing"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/services/console/internal/consoletest"
	"github.com/samnav/samnav/services/hubtest"
)

// TestReadsThroughTheConsoleAreRecorded: a steward's list page of 20
// persons leaves exactly one read of each in master data's read log, in
// the steward's name: the console reads with the signed-in person's
// token, so its reads are recorded like any other.
func TestReadsThroughTheConsoleAreRecorded(t *testing.T) {
	h := consoletest.StartHub(t)
	fb := h.Token("folkbokforing", auth.Grant{Role: auth.RolePublisher, System: "folkbokforing"})
	var ids []string
	for i := range 20 {
		pnr, born := hubtest.Personnummer(300 + i)
		rec := h.Create(fb, "person", map[string]any{"personalIdentityNumber": pnr, "givenNames": "Greta", "surname": "Lista",
			"dateOfBirth": born.Format("2006-01-02"), "protectedIdentity": "NONE", "registrationStatus": "REGISTERED"}, "")
		ids = append(ids, rec.ID)
	}
	b := h.BrowserAs("greta", consoletest.Steward("person"))
	p := b.Get("/records/person")
	if p.Status != http.StatusOK {
		t.Fatalf("list: %d %s", p.Status, p.Body)
	}
	auditor := h.Token("ivar", auth.Grant{Role: auth.RoleAuditor})
	for _, id := range ids {
		r := hubtest.Call(t, http.MethodGet, h.Services.MasterdataURL+"/api/v1/person/"+id+"/reads", auditor, nil)
		reads, _ := r.Body["reads"].([]any)
		if r.Status != http.StatusOK || len(reads) != 1 {
			t.Fatalf("reads of %s: %d %s, want one", id, r.Status, r.Raw)
		}
		if rd := reads[0].(map[string]any); rd["subject"] != "greta" || rd["basis"] != "steward" || rd["path"] != "list" {
			t.Errorf("the console's read of %s is recorded as %v", id, rd)
		}
	}
}

// TestRecordPageShowsItsReadLog: an auditor's or an admin's page of a
// person shows who read it (who, under which grant, how, which fields,
// why), in Swedish and English; a steward's page does not, and a unit,
// which holds no personal data, shows no read log.
func TestRecordPageShowsItsReadLog(t *testing.T) {
	h := consoletest.StartHub(t)
	fb := h.Token("folkbokforing", auth.Grant{Role: auth.RolePublisher, System: "folkbokforing"})
	pnr, born := hubtest.Personnummer(77)
	rec := h.Create(fb, "person", map[string]any{"personalIdentityNumber": pnr, "givenNames": "Greta", "surname": "Läst",
		"dateOfBirth": born.Format("2006-01-02"), "protectedIdentity": "NONE", "registrationStatus": "REGISTERED"}, "")
	steward := h.BrowserAs("greta", consoletest.Steward("person"))
	sp := steward.Get("/records/person/" + rec.ID)
	if sp.Status != http.StatusOK {
		t.Fatalf("the steward's page: %d %s", sp.Status, sp.Body)
	}
	consoletest.MustNotContain(t, sp, "Vem har läst posten", `id="reads-h"`)

	auditor := h.BrowserAs("ivar", auth.Grant{Role: auth.RoleAuditor})
	ap := auditor.Get("/records/person/" + rec.ID)
	consoletest.MustContain(t, ap, `<h2 id="reads-h">Vem har läst posten</h2>`, "4 läsningar", "<td>historiken</td>",
		"<td>greta", "<td>informationsförvaltare</td>", "<td>posten visad</td>", "Personnummer", "Efternamn",
		"<td>ivar", "<td>granskare</td>")
	en := auditor.Get("/records/person/" + rec.ID + "?lang=en")
	consoletest.MustContain(t, en, `<h2 id="reads-h">Who read this record</h2>`, "<td>steward</td>", "<td>record shown</td>", "<td>auditor</td>")

	admin := h.BrowserAs("anna", auth.Grant{Role: auth.RoleAdmin})
	consoletest.MustContain(t, admin.Get("/records/person/"+rec.ID), `id="reads-h"`, "<td>anna", "<td>administratör</td>")

	unitSteward := h.Token("bo", consoletest.Steward("unit"))
	u := h.Create(unitSteward, "unit", consoletest.UnitState("Solskolan"), "new")
	consoletest.MustNotContain(t, admin.Get("/records/unit/"+u.ID), `id="reads-h"`)
}
