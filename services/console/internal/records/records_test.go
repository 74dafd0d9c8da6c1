package records_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/services/console/internal/consoletest"
)

func TestCreateRecordThroughTheForm(t *testing.T) {
	h := consoletest.StartHub(t)
	b := h.BrowserAs("anna", consoletest.Steward("unit"))

	p := b.Get("/records/unit/new")
	if p.Status != http.StatusOK {
		t.Fatalf("new form: %d", p.Status)
	}
	// The form is generated from the model: labels tied to inputs,
	// an enum as a select, a date input, a list of records as fieldsets.
	consoletest.MustContain(t, p, `<label for="f-name">Namn`, `<select id="f-unitType" name="unitType"`, `<option value="PRIMARY_SCHOOL">`,
		`type="date"`, `<legend>Öppettider`, `name="openingHours[0].dayOfWeek"`, `<label for="reason">`, `name="csrf"`)

	f := consoletest.UnitForm("Solskolan")
	f.Set("openingHours[0].dayOfWeek", "MONDAY")
	f.Set("openingHours[0].opens", "07:30")
	f.Set("openingHours[0].closes", "17:00")
	f.Set("capacity", "420")
	p = b.Post("/records/unit/new", f)
	if p.Status != http.StatusSeeOther || !strings.Contains(p.Location, "done=created") {
		t.Fatalf("create: %d %q: %s", p.Status, p.Location, p.Body)
	}
	rp := b.Get(p.Location)
	consoletest.MustContain(t, rp, "Posten skapades.", "Solskolan", "Grundskola", "07:30", "420", "new school", "Version 1: skapad", "anna")

	// The search posts (a name or a personnummer never stands in a URL)
	// and the answer shows the results.
	list := b.Post("/records/unit", url.Values{"q": {"solsk"}})
	consoletest.MustContain(t, list, "Solskolan", "12345678", `value="solsk"`)
	list = b.Post("/records/unit", url.Values{"q": {"nothing-like-this"}})
	consoletest.MustContain(t, list, "Inga poster hittades.")
	if p := b.Get("/records/unit"); !strings.Contains(p.Body, `<form method="post" action="/records/unit" role="search" data-autosubmit class="form">`) {
		t.Errorf("the search form does not post:\n%s", p.Body)
	}
	// Natural-key lookup posts (the key never stands in a URL) and goes
	// straight to the record.
	if p := b.Post("/records/unit", url.Values{"key": {"schoolUnitCode"}, "value": {"12345678"}}); p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/records/unit/") || strings.Contains(p.Location, "12345678") {
		t.Fatalf("lookup by key: %d %q", p.Status, p.Location)
	}
	consoletest.MustContain(t, b.Post("/records/unit", url.Values{"key": {"schoolUnitCode"}, "value": {"99999999"}}), "Ingen post har")
	if p := b.Get("/records/unit"); !strings.Contains(p.Body, `<form method="post" action="/records/unit" class="form">`) {
		t.Errorf("the natural-key form does not post:\n%s", p.Body)
	}
}

func TestCreateWithInvalidInputShowsFieldErrorsAndCreatesNothing(t *testing.T) {
	h := consoletest.StartHub(t)
	tok, b := h.SignIn("anna", consoletest.Steward("unit"))
	b.Get("/records/unit/new")

	// Errors the console finds before calling the API: an unreadable
	// number and no reason; the model's rules are checked too.
	f := consoletest.UnitForm("")
	f.Set("capacity", "many")
	f.Del("reason")
	p := b.Post("/records/unit/new", f)
	if p.Status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", p.Status)
	}
	consoletest.MustContain(t, p, `id="error-summary"`, `href="#f-name"`, `href="#f-capacity"`, `href="#reason"`,
		`<p class="field-error" id="f-capacity-error">`, `aria-describedby="f-capacity-help f-capacity-error"`, `aria-invalid="true"`,
		`value="many"`, "Ange ett skäl.", "måste vara ett heltal", "måste anges")
	// In Swedish only: the API's English rule text is not appended.
	consoletest.MustNotContain(t, p, "is required", "måste anges (", "whole number")

	// Errors the API finds: an enum code and a pattern in a list item.
	f = consoletest.UnitForm("Solskolan")
	f.Set("unitType", "CASTLE")
	f.Set("openingHours[0].dayOfWeek", "MONDAY")
	f.Set("openingHours[0].opens", "7.30")
	f.Set("openingHours[0].closes", "17:00")
	p = b.Post("/records/unit/new?lang=en", f)
	if p.Status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400: %s", p.Status, p.Body)
	}
	consoletest.MustContain(t, p, `href="#f-unitType"`, "is not one of the allowed codes", `href="#f-openingHours-0-opens"`,
		`id="f-openingHours-0-opens-error"`, `value="7.30"`, `value="Solskolan"`, "has the wrong format")
	consoletest.MustNotContain(t, p, "CASTLE&#34; is not one of", "must match")
	if n := h.Count(tok, "unit"); n != 0 {
		t.Fatalf("invalid forms created %d records", n)
	}
}

func TestStewardWithoutGrantIsRefusedAndNothingChanges(t *testing.T) {
	h := consoletest.StartHub(t)
	unitTok := h.Token("anna", consoletest.Steward("unit"))
	rec := h.Create(unitTok, "unit", consoletest.UnitState("Solskolan"), "new")
	// Bo keeps organisations only. The console does not offer him units...
	b := h.BrowserAs("bo", consoletest.Steward("namnd"))
	home := b.Get("/")
	consoletest.MustContain(t, home, `href="/records"`)
	idx := b.Get("/records")
	consoletest.MustNotContain(t, idx, `href="/records/unit"`)

	// ...and every way in is refused with 403, naming what is needed.
	for _, path := range []string{"/records/unit", "/records/unit/" + rec.ID, "/records/unit/new", "/records/unit/" + rec.ID + "/edit"} {
		p := b.Get(path)
		if p.Status != http.StatusForbidden {
			t.Fatalf("GET %s: %d, want 403", path, p.Status)
		}
		consoletest.MustContain(t, p, "Åtkomst nekad", "unit")
	}
	b.Get("/")
	p := b.Post("/records/unit/"+rec.ID+"/edit", mergeForm(consoletest.UnitForm("Hijacked"), url.Values{"revision": {"1"}}))
	if p.Status != http.StatusForbidden {
		t.Fatalf("POST edit: %d, want 403", p.Status)
	}
	consoletest.MustContain(t, p, "informationsförvaltare med behörighet för begreppet unit")
	p = b.Post("/records/unit/new", consoletest.UnitForm("Intruder"))
	if p.Status != http.StatusForbidden {
		t.Fatalf("POST new: %d, want 403", p.Status)
	}
	p = b.Post("/records/unit/"+rec.ID+"/end", url.Values{"revision": {"1"}, "reason": {"no"}})
	if p.Status != http.StatusForbidden {
		t.Fatalf("POST end: %d, want 403", p.Status)
	}
	got, err := h.API.Masterdata(unitTok).Get(context.Background(), "unit", rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Revision != 1 || got.State["name"] != "Solskolan" || got.EndedAt != nil || h.Count(unitTok, "unit") != 1 {
		t.Fatalf("a refused steward changed something: %+v", got)
	}

	// An auditor reads but is offered no changes; the API refuses them anyway.
	ab := h.BrowserAs("ivar", auth.Grant{Role: auth.RoleAuditor})
	rp := ab.Get("/records/unit/" + rec.ID)
	if rp.Status != http.StatusOK {
		t.Fatalf("auditor read: %d", rp.Status)
	}
	consoletest.MustNotContain(t, rp, "/edit\"")
}

func mergeForm(a, b url.Values) url.Values {
	for k, v := range b {
		a[k] = v
	}
	return a
}

func TestEditConflictExplainsWhatChangedAndReapplies(t *testing.T) {
	h, tok, id := withUnit(t, "new school")
	b := h.Browser(tok)
	form := b.Get("/records/unit/" + id + "/edit")
	consoletest.MustContain(t, form, `name="revision" value="1"`, `value="Solskolan"`)

	// Someone else changes the record meanwhile.
	other := h.Token("bertil", consoletest.Steward("unit"))
	s2 := consoletest.UnitState("Solskolan F-9")
	s2["capacity"] = 300
	if _, err := h.API.Masterdata(other).Update(context.Background(), "unit", id, 1, s2, "renamed by decision 12"); err != nil {
		t.Fatal(err)
	}

	f := consoletest.UnitForm("Solskolan")
	f.Del("schoolUnitCode")
	f.Set("phoneNumber", "+46812345678")
	f.Set("reason", "new phone")
	f.Set("revision", "1")
	p := b.Post("/records/unit/"+id+"/edit", f)
	if p.Status != http.StatusConflict {
		t.Fatalf("stale edit: %d, want 409: %s", p.Status, p.Body)
	}
	consoletest.MustContain(t, p, "Posten har ändrats sedan du öppnade den", "Du utgick från version 1, men nu gäller version 2",
		"bertil", "renamed by decision 12", "<del>Solskolan</del>", "<ins>Solskolan F-9</ins>", "<ins>300</ins>",
		`name="revision" value="2"`, `value="&#43;46812345678"`)
	got, _ := h.API.Masterdata(tok).Get(context.Background(), "unit", id)
	if got.Revision != 2 || got.State["phoneNumber"] != nil {
		t.Fatalf("a conflicting edit changed the record: %+v", got)
	}

	// Saving again re-applies the steward's values on the new revision.
	f.Set("revision", "2")
	p = b.Post("/records/unit/"+id+"/edit", f)
	if p.Status != http.StatusSeeOther {
		t.Fatalf("re-apply: %d: %s", p.Status, p.Body)
	}
	got, _ = h.API.Masterdata(tok).Get(context.Background(), "unit", id)
	if got.Revision != 3 || got.State["phoneNumber"] != "+46812345678" {
		t.Fatalf("re-applied edit: %+v", got)
	}
}

func TestHistoryShowsWhoWhenWhyAndWhatChanged(t *testing.T) {
	h, tok, id := withUnit(t, "new school")
	s2 := consoletest.UnitState("Solskolan F-9")
	s2["openingHours"] = []any{map[string]any{"dayOfWeek": "MONDAY", "opens": "08:00", "closes": "16:00"}}
	if _, err := h.API.Masterdata(h.Token("bertil", consoletest.Steward("unit"))).Update(context.Background(), "unit", id, 1, s2, "grew to F-9"); err != nil {
		t.Fatal(err)
	}
	b := h.Browser(tok)
	p := b.Get("/records/unit/" + id + "?lang=en")
	if p.Status != http.StatusOK {
		t.Fatalf("status %d", p.Status)
	}
	consoletest.MustContain(t, p, "Revision 2: updated", "bertil", "grew to F-9", "Revision 1: created", "new school",
		`<th scope="col">Before</th>`, "<del>Solskolan</del>", "<ins>Solskolan F-9</ins>",
		"Opening hours 1 › Day of week", "<ins>Monday (MONDAY)</ins>")
	// Newest first; the unchanged unit type is not listed under revision 2.
	rev2 := p.Body[strings.Index(p.Body, "Revision 2: updated"):strings.Index(p.Body, "Revision 1: created")]
	if strings.Contains(rev2, "Primary school") {
		t.Fatalf("revision 2 lists an unchanged value:\n%s", rev2)
	}

	// End with a reason.
	end := b.Get("/records/unit/" + id + "/end")
	consoletest.MustContain(t, end, `name="revision" value="2"`)
	if p := b.Post("/records/unit/"+id+"/end", url.Values{"revision": {"2"}, "reason": {""}}); p.Status != http.StatusBadRequest {
		t.Fatalf("end without reason: %d", p.Status)
	}
	if p := b.Post("/records/unit/"+id+"/end", url.Values{"revision": {"2"}, "reason": {"closed down"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("end: %d %s", p.Status, p.Body)
	}
	p = b.Get("/records/unit/" + id + "?lang=en")
	consoletest.MustContain(t, p, "Revision 3: ended", "closed down", "The record was ended <time")
	consoletest.MustNotContain(t, p, `/edit"`, " UTC")
	// Each revision and the end are shown in the city's zone, with a
	// machine-readable time.
	if n := len(consoletest.PageTime.FindAllString(p.Body, -1)); n != 4 {
		t.Fatalf("%d times in the city's format, want 4 (3 revisions and the end):\n%s", n, p.Body)
	}
}

func TestReferencesAreChosenFromRecordsAndLinked(t *testing.T) {
	h := consoletest.StartHub(t)
	tok := h.Token("anna", consoletest.Steward("unit", "namnd"))
	n := h.Create(tok, "namnd", map[string]any{"name": "Utbildningsnämnden", "kind": "SPECIALIST", "validFrom": "2019-01-01"}, "new")
	b := h.Browser(tok)
	p := b.Get("/records/unit/new")
	consoletest.MustContain(t, p, `<select id="f-ownerNamnd" name="ownerNamnd"`, `<option value="`+n.ID+`">Utbildningsnämnden (`+consoletest.ShortID(n.ID)+`)</option>`)

	s := consoletest.UnitState("Solskolan")
	s["ownerNamnd"] = n.ID
	u := h.Create(tok, "unit", s, "new")
	p = b.Get("/records/unit/" + u.ID)
	consoletest.MustContain(t, p, `<a href="/records/namnd/`+n.ID+`">Utbildningsnämnden</a> <code class="help">`+n.ID+`</code>`)
	// An edit keeps a reference the choices do not hold.
	u2 := h.Create(tok, "unit", consoletest.UnitState("Månskolan"), "new")
	consoletest.MustContain(t, b.Get("/records/unit/"+u2.ID+"/edit"), `<option value="n-1" selected>n-1 (finns inte bland valen)</option>`)
	// Someone who may not read nämnder types the id.
	ub := h.BrowserAs("bertil", consoletest.Steward("unit"))
	consoletest.MustContain(t, ub.Get("/records/unit/new"), `<input id="f-ownerNamnd" name="ownerNamnd"`)
}

func TestEndConflictAsksToConfirmAgain(t *testing.T) {
	h, tok, id := withUnit(t, "new")
	b := h.Browser(tok)
	consoletest.MustContain(t, b.Get("/records/unit/"+id+"/end"), `name="revision" value="1"`)
	if _, err := h.API.Masterdata(tok).Update(context.Background(), "unit", id, 1, consoletest.UnitState("Solskolan F-9"), "renamed"); err != nil {
		t.Fatal(err)
	}
	p := b.Post("/records/unit/"+id+"/end", url.Values{"revision": {"1"}, "reason": {"closed"}})
	if p.Status != http.StatusConflict {
		t.Fatalf("stale end: %d, want 409", p.Status)
	}
	consoletest.MustContain(t, p, "Posten har ändrats eller avslutats sedan du öppnade den", "Solskolan F-9", `name="revision" value="2"`, ">closed</textarea>")
	if got, _ := h.API.Masterdata(tok).Get(context.Background(), "unit", id); got.EndedAt != nil {
		t.Fatal("a stale end ended the record")
	}
	if p := b.Post("/records/unit/"+id+"/end", url.Values{"revision": {"2"}, "reason": {"closed"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("confirmed end: %d", p.Status)
	}
	if got, _ := h.API.Masterdata(tok).Get(context.Background(), "unit", id); got.EndedAt == nil || got.EndReason != "closed" {
		t.Fatalf("record not ended: %+v", got)
	}
}

func TestListFiltersByCode(t *testing.T) {
	h := consoletest.StartHub(t)
	tok := h.Token("anna", consoletest.Steward("unit"))
	pre := consoletest.UnitState("Ekorrens förskola")
	pre["unitType"] = "PRESCHOOL"
	for _, s := range []map[string]any{consoletest.UnitState("Solskolan"), pre} {
		h.Create(tok, "unit", s, "new")
	}
	b := h.Browser(tok)
	p := b.Post("/records/unit", url.Values{"f.unitType": {"PRESCHOOL"}})
	consoletest.MustContain(t, p, "Ekorrens förskola", `<label for="f-f-unitType">`, `<option value="PRESCHOOL" selected>`)
	consoletest.MustNotContain(t, p, "Solskolan")
	consoletest.MustContain(t, b.Get("/records/unit"), "Ekorrens förskola", "Solskolan")
}

// TestPersonPageNamesItsMasterSource: a person (mastered by the population
// register) is read-only here; its page says which system keeps it and that
// corrections go there, not the refused page's "what is needed" text.
func TestPersonPageNamesItsMasterSource(t *testing.T) {
	h := consoletest.StartHub(t)
	secret, _, err := h.MD.Tokens().Issue(context.Background(), auth.IssueRequest{Subject: "folkbokforing", Kind: auth.KindSystem, Name: "folkbokforing",
		Grants: []auth.Grant{{Role: auth.RolePublisher, System: "folkbokforing"}}})
	if err != nil {
		t.Fatal(err)
	}
	id := h.Services.Publish(secret, "person", consoletest.Person("201405052380", "Ella", "Storgatan 1"))[0]
	b := h.BrowserAs("per", consoletest.Steward("person"))
	for _, path := range []string{"/records/person/" + id, "/records/person"} {
		p := b.Get(path)
		if p.Status != http.StatusOK {
			t.Fatalf("GET %s: %d", path, p.Status)
		}
		consoletest.MustContain(t, p, "Begreppets huvuddatakälla är folkbokforing. Poster ändras bara där; felanmäl rättelser till folkbokforing.")
		consoletest.MustNotContain(t, p, "att vara begreppets huvuddatakälla", `/edit"`)
	}
	consoletest.MustContain(t, b.Get("/records/person/"+id+"?lang=en"), "This concept&#39;s master source is folkbokforing.")
}

// TestAddressReferencesAreNamed: an address has no name or natural key; a
// unit's visiting address is named by street, number, postal code and town
// on the record consoletest.Page, in the history's differences and in the edit form's
// choices, with its id beside it; each address is fetched once per page.
func TestAddressReferencesAreNamed(t *testing.T) {
	h := consoletest.StartHub(t)
	tok := h.Token("anna", consoletest.Steward("unit", "address"))
	ctx := context.Background()
	addr := func(street string, number int, suffix string) string {
		s := map[string]any{"streetName": street, "streetNumber": number, "postalCode": "11122", "postTown": "Stockholm", "validFrom": "2019-01-01"}
		if suffix != "" {
			s["numberSuffix"] = suffix
		}
		a, err := h.API.Masterdata(tok).Create(ctx, "address", s, "new")
		if err != nil {
			t.Fatal(err)
		}
		return a.ID
	}
	a1, a2 := addr("Storgatan", 3, "B"), addr("Nya gatan", 7, "")
	s := consoletest.UnitState("Solskolan")
	s["address"] = a1
	u, err := h.API.Masterdata(tok).Create(ctx, "unit", s, "new")
	if err != nil {
		t.Fatal(err)
	}
	s["address"] = a2
	if _, err := h.API.Masterdata(tok).Update(ctx, "unit", u.ID, 1, s, "moved"); err != nil {
		t.Fatal(err)
	}
	b := h.Browser(tok)
	p := b.Get("/records/unit/" + u.ID)
	consoletest.MustContain(t, p, `<a href="/records/address/`+a2+`">Nya gatan 7, 11122 Stockholm</a> <code class="help">`+a2+`</code>`,
		`<del>Storgatan 3 B, 11122 Stockholm</del> <code class="help">`+a1+`</code>`,
		`<ins>Nya gatan 7, 11122 Stockholm</ins> <code class="help">`+a2+`</code>`)
	consoletest.MustContain(t, b.Get("/records/unit/"+u.ID+"/edit"),
		`<option value="`+a2+`" selected>Nya gatan 7, 11122 Stockholm (`+consoletest.ShortID(a2)+`)</option>`,
		`<option value="`+a1+`">Storgatan 3 B, 11122 Stockholm (`+consoletest.ShortID(a1)+`)</option>`)

	if consoletest.ShortID(a1) == consoletest.ShortID(a2) {
		t.Fatalf("two addresses made together share the short id %q", consoletest.ShortID(a1))
	}
}

// withUnit starts a hub in which steward anna (of units) has created the
// unit "Solskolan" through the API, giving reason: the start of every test
// about one existing record. It returns the hub, anna's token and the
// record's id.
func withUnit(t *testing.T, reason string) (*consoletest.Hub, string, string) {
	t.Helper()
	h := consoletest.StartHub(t)
	tok := h.Token("anna", consoletest.Steward("unit"))
	rec := h.Create(tok, "unit", consoletest.UnitState("Solskolan"), reason)
	return h, tok, rec.ID
}

// TestSearchPagesPostTheirQuery: a search's next page is a form that posts
// the query again with the cursor, so no page of a search has the query
// in its URL; a query in a GET's URL is not read.
func TestSearchPagesPostTheirQuery(t *testing.T) {
	h := consoletest.StartHub(t)
	tok := h.Token("anna", consoletest.Steward("unit"))
	for i := range 52 {
		h.Create(tok, "unit", consoletest.UnitState(fmt.Sprintf("Sökskolan %02d", i)), "new")
	}
	h.Create(tok, "unit", consoletest.UnitState("Annan förskola"), "new")
	b := h.Browser(tok)
	first := b.Post("/records/unit", url.Values{"q": {"Sökskolan"}})
	consoletest.MustContain(t, first, "Sökskolan 00", "Nästa sida", `<input type="hidden" name="q" value="Sökskolan">`, `name="cursor"`)
	consoletest.MustNotContain(t, first, "Annan förskola", "Första sidan", "?q=", "cursor=")
	m := regexp.MustCompile(`name="cursor" value="([^"]+)"`).FindStringSubmatch(first.Body)
	if m == nil {
		t.Fatalf("no cursor on the first page:\n%s", first.Body)
	}
	second := b.Post("/records/unit", url.Values{"q": {"Sökskolan"}, "cursor": {html.UnescapeString(m[1])}})
	consoletest.MustContain(t, second, "Sökskolan 51", "Första sidan")
	consoletest.MustNotContain(t, second, "Sökskolan 00", "Annan förskola", "Nästa sida")
	consoletest.MustNotContain(t, b.Get("/records/unit?q=Sökskolan"), `value="Sökskolan"`)
}
