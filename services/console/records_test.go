package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/services/console/internal/api"
)

// shortID is how the console shows an id next to a label: its last eight
// characters after an ellipsis.
func shortID(id string) string {
	if r := []rune(id); len(r) > 8 {
		return "…" + string(r[len(r)-8:])
	}
	return id
}

// unitForm is a valid new-unit form.
func unitForm(name string) url.Values {
	return url.Values{"name": {name}, "unitType": {"PRIMARY_SCHOOL"}, "ownerNamnd": {"n-1"}, "validFrom": {"2019-08-01"},
		"schoolUnitCode": {"12345678"}, "reason": {"new school"}}
}

func (h *hub) count(token, concept string) int {
	h.t.Helper()
	p, err := h.api.ListRecords(context.Background(), token, concept, api.ListQuery{IncludeEnded: true, Limit: 1000})
	if err != nil {
		h.t.Fatal(err)
	}
	return len(p.Records)
}

func TestCreateRecordThroughTheForm(t *testing.T) {
	h := startHub(t)
	tok := h.token("anna", steward("unit"))
	b := h.browser(tok)

	p := b.get("/records/unit/new")
	if p.status != http.StatusOK {
		t.Fatalf("new form: %d", p.status)
	}
	// The form is generated from the model: labels tied to inputs,
	// an enum as a select, a date input, a list of records as fieldsets.
	mustContain(t, p, `<label for="f-name">Namn`, `<select id="f-unitType" name="unitType"`, `<option value="PRIMARY_SCHOOL">`,
		`type="date"`, `<legend>Öppettider`, `name="openingHours[0].dayOfWeek"`, `<label for="reason">`, `name="csrf"`)

	f := unitForm("Solskolan")
	f.Set("openingHours[0].dayOfWeek", "MONDAY")
	f.Set("openingHours[0].opens", "07:30")
	f.Set("openingHours[0].closes", "17:00")
	f.Set("capacity", "420")
	p = b.post("/records/unit/new", f)
	if p.status != http.StatusSeeOther || !strings.Contains(p.location, "done=created") {
		t.Fatalf("create: %d %q: %s", p.status, p.location, p.body)
	}
	rp := b.get(p.location)
	mustContain(t, rp, "Posten skapades.", "Solskolan", "Grundskola", "07:30", "420", "new school", "Version 1: skapad", "anna")

	list := b.get("/records/unit?q=solsk")
	mustContain(t, list, "Solskolan", "12345678")
	list = b.get("/records/unit?q=nothing-like-this")
	mustContain(t, list, "Inga poster hittades.")
	// Natural-key lookup goes straight to the record.
	if p := b.get("/records/unit?key=schoolUnitCode&value=12345678"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/records/unit/") {
		t.Fatalf("lookup by key: %d %q", p.status, p.location)
	}
	mustContain(t, b.get("/records/unit?key=schoolUnitCode&value=99999999"), "Ingen post har")
}

func TestCreateWithInvalidInputShowsFieldErrorsAndCreatesNothing(t *testing.T) {
	h := startHub(t)
	tok := h.token("anna", steward("unit"))
	b := h.browser(tok)
	b.get("/records/unit/new")

	// Errors the console finds before calling the API: an unreadable
	// number and no reason; the model's rules are checked too.
	f := unitForm("")
	f.Set("capacity", "many")
	f.Del("reason")
	p := b.post("/records/unit/new", f)
	if p.status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", p.status)
	}
	mustContain(t, p, `id="error-summary"`, `href="#f-name"`, `href="#f-capacity"`, `href="#reason"`,
		`<p class="field-error" id="f-capacity-error">`, `aria-describedby="f-capacity-help f-capacity-error"`, `aria-invalid="true"`,
		`value="many"`, "Ange ett skäl.", "måste vara ett heltal", "måste anges")
	// In Swedish only: the API's English rule text is not appended.
	mustNotContain(t, p, "is required", "måste anges (", "whole number")

	// Errors the API finds: an enum code and a pattern in a list item.
	f = unitForm("Solskolan")
	f.Set("unitType", "CASTLE")
	f.Set("openingHours[0].dayOfWeek", "MONDAY")
	f.Set("openingHours[0].opens", "7.30")
	f.Set("openingHours[0].closes", "17:00")
	p = b.post("/records/unit/new?lang=en", f)
	if p.status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400: %s", p.status, p.body)
	}
	mustContain(t, p, `href="#f-unitType"`, "is not one of the allowed codes", `href="#f-openingHours-0-opens"`,
		`id="f-openingHours-0-opens-error"`, `value="7.30"`, `value="Solskolan"`, "has the wrong format")
	mustNotContain(t, p, "CASTLE&#34; is not one of", "must match")
	if n := h.count(tok, "unit"); n != 0 {
		t.Fatalf("invalid forms created %d records", n)
	}
}

func TestStewardWithoutGrantIsRefusedAndNothingChanges(t *testing.T) {
	h := startHub(t)
	unitTok := h.token("anna", steward("unit"))
	rec, err := h.api.CreateRecord(context.Background(), unitTok, "unit", unitState("Solskolan"), "new")
	if err != nil {
		t.Fatal(err)
	}
	// Bo keeps organisations only. The console does not offer him units...
	b := h.browser(h.token("bo", steward("namnd")))
	home := b.get("/")
	mustContain(t, home, `href="/records"`)
	idx := b.get("/records")
	mustNotContain(t, idx, `href="/records/unit"`)

	// ...and every way in is refused with 403, naming what is needed.
	for _, path := range []string{"/records/unit", "/records/unit/" + rec.ID, "/records/unit/new", "/records/unit/" + rec.ID + "/edit"} {
		p := b.get(path)
		if p.status != http.StatusForbidden {
			t.Fatalf("GET %s: %d, want 403", path, p.status)
		}
		mustContain(t, p, "Åtkomst nekad", "unit")
	}
	b.get("/")
	p := b.post("/records/unit/"+rec.ID+"/edit", mergeForm(unitForm("Hijacked"), url.Values{"revision": {"1"}}))
	if p.status != http.StatusForbidden {
		t.Fatalf("POST edit: %d, want 403", p.status)
	}
	mustContain(t, p, "informationsförvaltare med behörighet för begreppet unit")
	p = b.post("/records/unit/new", unitForm("Intruder"))
	if p.status != http.StatusForbidden {
		t.Fatalf("POST new: %d, want 403", p.status)
	}
	p = b.post("/records/unit/"+rec.ID+"/end", url.Values{"revision": {"1"}, "reason": {"no"}})
	if p.status != http.StatusForbidden {
		t.Fatalf("POST end: %d, want 403", p.status)
	}
	got, err := h.api.GetRecord(context.Background(), unitTok, "unit", rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Revision != 1 || got.State["name"] != "Solskolan" || got.EndedAt != nil || h.count(unitTok, "unit") != 1 {
		t.Fatalf("a refused steward changed something: %+v", got)
	}

	// An auditor reads but is offered no changes; the API refuses them anyway.
	ab := h.browser(h.token("ivar", auth.Grant{Role: auth.RoleAuditor}))
	rp := ab.get("/records/unit/" + rec.ID)
	if rp.status != http.StatusOK {
		t.Fatalf("auditor read: %d", rp.status)
	}
	mustNotContain(t, rp, "/edit\"")
}

func mergeForm(a, b url.Values) url.Values {
	for k, v := range b {
		a[k] = v
	}
	return a
}

func TestEditConflictExplainsWhatChangedAndReapplies(t *testing.T) {
	h := startHub(t)
	tok := h.token("anna", steward("unit"))
	rec, err := h.api.CreateRecord(context.Background(), tok, "unit", unitState("Solskolan"), "new school")
	if err != nil {
		t.Fatal(err)
	}
	b := h.browser(tok)
	form := b.get("/records/unit/" + rec.ID + "/edit")
	mustContain(t, form, `name="revision" value="1"`, `value="Solskolan"`)

	// Someone else changes the record meanwhile.
	other := h.token("bertil", steward("unit"))
	s2 := unitState("Solskolan F-9")
	s2["capacity"] = 300
	if _, err := h.api.UpdateRecord(context.Background(), other, "unit", rec.ID, 1, s2, "renamed by decision 12"); err != nil {
		t.Fatal(err)
	}

	f := unitForm("Solskolan")
	f.Del("schoolUnitCode")
	f.Set("phoneNumber", "+46812345678")
	f.Set("reason", "new phone")
	f.Set("revision", "1")
	p := b.post("/records/unit/"+rec.ID+"/edit", f)
	if p.status != http.StatusConflict {
		t.Fatalf("stale edit: %d, want 409: %s", p.status, p.body)
	}
	mustContain(t, p, "Posten har ändrats sedan du öppnade den", "Du utgick från version 1, men nu gäller version 2",
		"bertil", "renamed by decision 12", "<del>Solskolan</del>", "<ins>Solskolan F-9</ins>", "<ins>300</ins>",
		`name="revision" value="2"`, `value="&#43;46812345678"`)
	got, _ := h.api.GetRecord(context.Background(), tok, "unit", rec.ID)
	if got.Revision != 2 || got.State["phoneNumber"] != nil {
		t.Fatalf("a conflicting edit changed the record: %+v", got)
	}

	// Saving again re-applies the steward's values on the new revision.
	f.Set("revision", "2")
	p = b.post("/records/unit/"+rec.ID+"/edit", f)
	if p.status != http.StatusSeeOther {
		t.Fatalf("re-apply: %d: %s", p.status, p.body)
	}
	got, _ = h.api.GetRecord(context.Background(), tok, "unit", rec.ID)
	if got.Revision != 3 || got.State["phoneNumber"] != "+46812345678" {
		t.Fatalf("re-applied edit: %+v", got)
	}
}

func TestHistoryShowsWhoWhenWhyAndWhatChanged(t *testing.T) {
	h := startHub(t)
	tok := h.token("anna", steward("unit"))
	rec, err := h.api.CreateRecord(context.Background(), tok, "unit", unitState("Solskolan"), "new school")
	if err != nil {
		t.Fatal(err)
	}
	s2 := unitState("Solskolan F-9")
	s2["openingHours"] = []any{map[string]any{"dayOfWeek": "MONDAY", "opens": "08:00", "closes": "16:00"}}
	if _, err := h.api.UpdateRecord(context.Background(), h.token("bertil", steward("unit")), "unit", rec.ID, 1, s2, "grew to F-9"); err != nil {
		t.Fatal(err)
	}
	b := h.browser(tok)
	p := b.get("/records/unit/" + rec.ID + "?lang=en")
	if p.status != http.StatusOK {
		t.Fatalf("status %d", p.status)
	}
	mustContain(t, p, "Revision 2: updated", "bertil", "grew to F-9", "Revision 1: created", "new school",
		`<th scope="col">Before</th>`, "<del>Solskolan</del>", "<ins>Solskolan F-9</ins>",
		"Opening hours 1 › Day of week", "<ins>Monday (MONDAY)</ins>")
	// Newest first; the unchanged unit type is not listed under revision 2.
	rev2 := p.body[strings.Index(p.body, "Revision 2: updated"):strings.Index(p.body, "Revision 1: created")]
	if strings.Contains(rev2, "Primary school") {
		t.Fatalf("revision 2 lists an unchanged value:\n%s", rev2)
	}

	// End with a reason.
	end := b.get("/records/unit/" + rec.ID + "/end")
	mustContain(t, end, `name="revision" value="2"`)
	if p := b.post("/records/unit/"+rec.ID+"/end", url.Values{"revision": {"2"}, "reason": {""}}); p.status != http.StatusBadRequest {
		t.Fatalf("end without reason: %d", p.status)
	}
	if p := b.post("/records/unit/"+rec.ID+"/end", url.Values{"revision": {"2"}, "reason": {"closed down"}}); p.status != http.StatusSeeOther {
		t.Fatalf("end: %d %s", p.status, p.body)
	}
	p = b.get("/records/unit/" + rec.ID + "?lang=en")
	mustContain(t, p, "Revision 3: ended", "closed down", "The record was ended <time")
	mustNotContain(t, p, `/edit"`, " UTC")
	// Each revision and the end are shown in the city's zone, with a
	// machine-readable time.
	if n := len(pageTime.FindAllString(p.body, -1)); n != 4 {
		t.Fatalf("%d times in the city's format, want 4 (3 revisions and the end):\n%s", n, p.body)
	}
}

func TestReferencesAreChosenFromRecordsAndLinked(t *testing.T) {
	h := startHub(t)
	tok := h.token("anna", steward("unit", "namnd"))
	n, err := h.api.CreateRecord(context.Background(), tok, "namnd", map[string]any{"name": "Utbildningsnämnden", "kind": "SPECIALIST", "validFrom": "2019-01-01"}, "new")
	if err != nil {
		t.Fatal(err)
	}
	b := h.browser(tok)
	p := b.get("/records/unit/new")
	mustContain(t, p, `<select id="f-ownerNamnd" name="ownerNamnd"`, `<option value="`+n.ID+`">Utbildningsnämnden (`+shortID(n.ID)+`)</option>`)

	s := unitState("Solskolan")
	s["ownerNamnd"] = n.ID
	u, err := h.api.CreateRecord(context.Background(), tok, "unit", s, "new")
	if err != nil {
		t.Fatal(err)
	}
	p = b.get("/records/unit/" + u.ID)
	mustContain(t, p, `<a href="/records/namnd/`+n.ID+`">Utbildningsnämnden</a> <code class="help">`+n.ID+`</code>`)
	// An edit keeps a reference the choices do not hold.
	u2, err := h.api.CreateRecord(context.Background(), tok, "unit", unitState("Månskolan"), "new")
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, b.get("/records/unit/"+u2.ID+"/edit"), `<option value="n-1" selected>n-1 (finns inte bland valen)</option>`)
	// Someone who may not read nämnder types the id.
	ub := h.browser(h.token("bertil", steward("unit")))
	mustContain(t, ub.get("/records/unit/new"), `<input id="f-ownerNamnd" name="ownerNamnd"`)
}

func TestEndConflictAsksToConfirmAgain(t *testing.T) {
	h := startHub(t)
	tok := h.token("anna", steward("unit"))
	rec, err := h.api.CreateRecord(context.Background(), tok, "unit", unitState("Solskolan"), "new")
	if err != nil {
		t.Fatal(err)
	}
	b := h.browser(tok)
	mustContain(t, b.get("/records/unit/"+rec.ID+"/end"), `name="revision" value="1"`)
	if _, err := h.api.UpdateRecord(context.Background(), tok, "unit", rec.ID, 1, unitState("Solskolan F-9"), "renamed"); err != nil {
		t.Fatal(err)
	}
	p := b.post("/records/unit/"+rec.ID+"/end", url.Values{"revision": {"1"}, "reason": {"closed"}})
	if p.status != http.StatusConflict {
		t.Fatalf("stale end: %d, want 409", p.status)
	}
	mustContain(t, p, "Posten har ändrats eller avslutats sedan du öppnade den", "Solskolan F-9", `name="revision" value="2"`, ">closed</textarea>")
	if got, _ := h.api.GetRecord(context.Background(), tok, "unit", rec.ID); got.EndedAt != nil {
		t.Fatal("a stale end ended the record")
	}
	if p := b.post("/records/unit/"+rec.ID+"/end", url.Values{"revision": {"2"}, "reason": {"closed"}}); p.status != http.StatusSeeOther {
		t.Fatalf("confirmed end: %d", p.status)
	}
	if got, _ := h.api.GetRecord(context.Background(), tok, "unit", rec.ID); got.EndedAt == nil || got.EndReason != "closed" {
		t.Fatalf("record not ended: %+v", got)
	}
}

func TestListFiltersByCode(t *testing.T) {
	h := startHub(t)
	tok := h.token("anna", steward("unit"))
	pre := unitState("Ekorrens förskola")
	pre["unitType"] = "PRESCHOOL"
	for _, s := range []map[string]any{unitState("Solskolan"), pre} {
		if _, err := h.api.CreateRecord(context.Background(), tok, "unit", s, "new"); err != nil {
			t.Fatal(err)
		}
	}
	b := h.browser(tok)
	p := b.get("/records/unit?f.unitType=PRESCHOOL")
	mustContain(t, p, "Ekorrens förskola", `<label for="f-f-unitType">`, `<option value="PRESCHOOL" selected>`)
	mustNotContain(t, p, "Solskolan")
	mustContain(t, b.get("/records/unit"), "Ekorrens förskola", "Solskolan")
}

// TestPersonPageNamesItsMasterSource: a person (mastered by the population
// register) is read-only here; its page says which system keeps it and that
// corrections go there, not the refused page's "what is needed" text.
func TestPersonPageNamesItsMasterSource(t *testing.T) {
	h := startHub(t)
	secret, _, err := h.md.Tokens().Issue(context.Background(), auth.IssueRequest{Subject: "folkbokforing", Kind: auth.KindSystem, Name: "folkbokforing",
		Grants: []auth.Grant{{Role: auth.RolePublisher, System: "folkbokforing"}}})
	if err != nil {
		t.Fatal(err)
	}
	fh := &flowHub{t: t, mdURL: h.api.MasterdataURL}
	id := fh.publish(secret, testPerson("201405052380", "Ella", "Storgatan 1"))[0]
	b := h.browser(h.token("per", steward("person")))
	for _, path := range []string{"/records/person/" + id, "/records/person"} {
		p := b.get(path)
		if p.status != http.StatusOK {
			t.Fatalf("GET %s: %d", path, p.status)
		}
		mustContain(t, p, "Begreppets huvuddatakälla är folkbokforing. Poster ändras bara där; felanmäl rättelser till folkbokforing.")
		mustNotContain(t, p, "att vara begreppets huvuddatakälla", `/edit"`)
	}
	mustContain(t, b.get("/records/person/"+id+"?lang=en"), "This concept&#39;s master source is folkbokforing.")
}

// TestAddressReferencesAreNamed: an address has no name or natural key; a
// unit's visiting address is named by street, number, postal code and town
// on the record page, in the history's differences and in the edit form's
// choices, with its id beside it; each address is fetched once per page.
func TestAddressReferencesAreNamed(t *testing.T) {
	h := startHub(t)
	tok := h.token("anna", steward("unit", "address"))
	ctx := context.Background()
	addr := func(street string, number int, suffix string) string {
		s := map[string]any{"streetName": street, "streetNumber": number, "postalCode": "11122", "postTown": "Stockholm", "validFrom": "2019-01-01"}
		if suffix != "" {
			s["numberSuffix"] = suffix
		}
		a, err := h.api.CreateRecord(ctx, tok, "address", s, "new")
		if err != nil {
			t.Fatal(err)
		}
		return a.ID
	}
	a1, a2 := addr("Storgatan", 3, "B"), addr("Nya gatan", 7, "")
	s := unitState("Solskolan")
	s["address"] = a1
	u, err := h.api.CreateRecord(ctx, tok, "unit", s, "new")
	if err != nil {
		t.Fatal(err)
	}
	s["address"] = a2
	if _, err := h.api.UpdateRecord(ctx, tok, "unit", u.ID, 1, s, "moved"); err != nil {
		t.Fatal(err)
	}
	b := h.browser(tok)
	p := b.get("/records/unit/" + u.ID)
	mustContain(t, p, `<a href="/records/address/`+a2+`">Nya gatan 7, 11122 Stockholm</a> <code class="help">`+a2+`</code>`,
		`<del>Storgatan 3 B, 11122 Stockholm</del> <code class="help">`+a1+`</code>`,
		`<ins>Nya gatan 7, 11122 Stockholm</ins> <code class="help">`+a2+`</code>`)
	mustContain(t, b.get("/records/unit/"+u.ID+"/edit"),
		`<option value="`+a2+`" selected>Nya gatan 7, 11122 Stockholm (`+shortID(a2)+`)</option>`,
		`<option value="`+a1+`">Storgatan 3 B, 11122 Stockholm (`+shortID(a1)+`)</option>`)

	if shortID(a1) == shortID(a2) {
		t.Fatalf("two addresses made together share the short id %q", shortID(a1))
	}
}
