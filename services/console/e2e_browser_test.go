package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/sdk/poll"
	dlclient "github.com/samnav/samnav/services/delivery/client"
	mdclient "github.com/samnav/samnav/services/masterdata/client"

	"github.com/chromedp/chromedp"

	"github.com/samnav/samnav/contracts/check"
	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/sdk/kafkatopics"
	"github.com/samnav/samnav/services/console/internal/browsertest"
	"github.com/samnav/samnav/services/console/internal/consoletest"
	"github.com/samnav/samnav/services/hubtest"
)

// The console end to end, in headless Chromium against the whole hub in
// process (consoletest.StartFlowHub: embedded broker, registry, master data, delivery
// with its pipelines), with a small city in it. Every person signs in
// through the sign-in form. `make screenshots` runs these tests with
// SAMNAV_SCREENSHOTS=docs/screenshots to refresh the docs' pictures.
//
// Persons are mastered by the population register (folkbokforing), so no
// steward changes a person's address in the console; the address a
// steward changes is a unit's visiting address, the hub's own data.

// e2eCity is the hub with its city and the console served over HTTP.
type e2eCity struct {
	*consoletest.FlowHub
	url   string // the console
	admin string // Anna Admin's token

	namnder   []string          // ids
	addresses []string          // ids, in e2eStreets order
	units     map[string]string // name -> id
	persons   map[string]string // given name -> id
	homeCare  string            // hemtjanst's webhook subscription to units
	school    string            // skolplattform's Kafka subscription to persons
}

var e2eNamnder = []struct{ name, short, kind string }{
	{"Kommunstyrelsen", "KS", "EXECUTIVE_BOARD"},
	{"Utbildningsnämnden", "UBN", "SPECIALIST"},
	{"Äldrenämnden", "ÄN", "SPECIALIST"},
	{"Kulturnämnden", "KN", "SPECIALIST"},
}

var e2eStreets = []struct {
	street string
	number int
	postal string
}{
	{"Storgatan", 12, "11122"}, {"Björkhagsvägen", 4, "12134"}, {"Hökarängsplan", 9, "12347"},
	{"Ringvägen", 52, "11867"}, {"Fridhemsgatan", 21, "11240"}, {"Sankt Eriksgatan", 88, "11362"},
	{"Västerled", 7, "16753"}, {"Kärrtorps torg", 3, "12155"}, {"Rinkebysvängen", 70, "16374"},
	{"Tensta allé", 14, "16364"}, {"Skärholmsvägen", 25, "12748"}, {"Farsta torg", 1, "12347"},
	{"Årstavägen", 60, "12052"}, {"Hammarby allé", 41, "12063"}, {"Vällingbyplan", 2, "16265"},
}

var e2eUnits = []struct {
	name, kind string
	namnd      int
	capacity   int
}{
	{"Björkhagens förskola", "PRESCHOOL", 1, 84}, {"Hökarängens skola", "PRIMARY_SCHOOL", 1, 420},
	{"Ringvägens gymnasium", "UPPER_SECONDARY_SCHOOL", 1, 900}, {"Fridhemsskolan", "PRIMARY_SCHOOL", 1, 510},
	{"Sankt Eriks förskola", "PRESCHOOL", 1, 96}, {"Västerleds anpassade skola", "SPECIAL_SCHOOL", 1, 60},
	{"Kärrtorps vuxenutbildning", "ADULT_EDUCATION", 1, 350}, {"Rinkeby förskola", "PRESCHOOL", 1, 110},
	{"Tensta gymnasium", "UPPER_SECONDARY_SCHOOL", 1, 780}, {"Skärholmens skola", "PRIMARY_SCHOOL", 1, 640},
	{"Farsta vård- och omsorgsboende", "CARE_HOME", 2, 72}, {"Årsta hemtjänst", "HOME_CARE", 2, 0},
	{"Hammarby sjöstads vårdboende", "CARE_HOME", 2, 64}, {"Vällingby hemtjänst", "HOME_CARE", 2, 0},
	{"Gruppbostaden Tallkrogen", "LSS_HOUSING", 2, 6}, {"Stadsbiblioteket", "LIBRARY", 3, 0},
	{"Hökarängens bibliotek", "LIBRARY", 3, 0}, {"Tensta bibliotek", "LIBRARY", 3, 0},
	{"Kulturhuset Farsta", "OTHER", 3, 0}, {"Skärholmens förskola", "PRESCHOOL", 1, 72},
	{"Hammarbyskolan", "PRIMARY_SCHOOL", 1, 560}, {"Vällingby gymnasium", "UPPER_SECONDARY_SCHOOL", 1, 820},
}

var e2eGiven = []string{"Ella", "Noah", "Alice", "William", "Maja", "Hugo", "Elsa", "Liam", "Astrid", "Oscar",
	"Saga", "Lucas", "Selma", "Adam", "Wilma", "Ali", "Alma", "Elias", "Ebba", "Leo",
	"Agnes", "Nils", "Vera", "Vincent", "Ines", "Arvid", "Freja", "Omar", "Stella", "Sixten"}
var e2eSurnames = []string{"Lindqvist", "Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson",
	"Persson", "Svensson", "Gustafsson", "Pettersson", "Jonsson", "Hassan", "Berg", "Lindberg", "Axelsson", "Holm"}

// personnummer makes a valid-checksum synthetic personal identity number
// for a birth date and serial (three digits).
func personnummer(date string, serial int) string {
	base := strings.ReplaceAll(date, "-", "") + fmt.Sprintf("%03d", serial)
	for d := '0'; d <= '9'; d++ {
		if check.Luhn(base[2:] + string(d)) {
			return base + string(d)
		}
	}
	panic("no check digit")
}

// startE2ECity starts the hub and fills it: nämnder, addresses and units
// by a steward, persons by their master (the population register), and
// three subscribing systems, hemtjanst's by signed webhook to a receiver
// that takes everything. The hub logs at debug level to a scan that also
// records every request line, the browser's to the console included: when
// the test ends, no seeded person's personnummer, name, address or
// contact may be in either (hubtest.Scan.Check).
func startE2ECity(t *testing.T) *e2eCity {
	t.Helper()
	sc := hubtest.NewScan()
	h := consoletest.StartFlowHub(t, hubtest.WithScan(sc))
	srv := httptest.NewServer(sc.Handler(h.Console.Handler()))
	t.Cleanup(srv.Close)
	c := &e2eCity{FlowHub: h, url: srv.URL, units: map[string]string{}, persons: map[string]string{}}
	// StartFlowHub makes the person and unit topics only; master data
	// relays its outbox in order, so an event without its topic would
	// hold back every later one.
	client, done := kafkatopics.NewClient(10*time.Second, h.Broker.Addr())
	defer done()
	if err := kafkatopics.Ensure(h.Ctx, client, kafkatopics.Spec{Name: "samnav.namnd.v1", Partitions: 3, Compact: true},
		kafkatopics.Spec{Name: "samnav.address.v1", Partitions: 3, Compact: true}); err != nil {
		t.Fatal(err)
	}
	c.admin = h.Token("Anna Admin", auth.KindUser, auth.Grant{Role: auth.RoleAdmin})
	c.school = c.subscribe("skolplattform", "person", "kafka", "Placera elever i skolor och hålla elevregistret aktuellt",
		"public_task", "Skollagen (2010:800) 29 kap.", "givenNames", "surname", "dateOfBirth", "protectedIdentity", "registeredAddress")
	library := c.subscribe("bibliotek", "person", "webhook", "Låntagarregister: namn och e-post till låntagare",
		"contract", "Lånevillkor för stadens bibliotek", "givenNames", "surname", "emailAddress")
	c.homeCare = c.subscribe("hemtjanst", "unit", "webhook", "Planera hemtjänstens besök utifrån enheternas adresser och öppettider",
		"public_task", "Socialtjänstlagen (2001:453) 4 kap.", "name", "unitType", "address", "phoneNumber", "openingHours")
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(rcv.Close)
	for system, sub := range map[string]string{"hemtjanst": c.homeCare, "bibliotek": library} {
		tok := h.Token(system, auth.KindSystem, auth.Grant{Role: auth.RoleSubscriber, System: system})
		if st, body := hubtest.CallJSON(t, "PUT", h.DeliveryURL+"/api/v1/subscriptions/"+sub+"/webhook", tok, map[string]any{"url": rcv.URL}); st != http.StatusCreated {
			t.Fatalf("register %s's webhook: %d %v", system, st, body)
		}
	}
	setup := h.Token("Stadens dataförvaltning", auth.KindUser, consoletest.Steward("namnd", "address", "unit"))
	create := func(concept string, state map[string]any, reason string) string {
		t.Helper()
		rec, err := h.API.Masterdata(setup).Create(h.Ctx, concept, state, reason)
		if err != nil {
			t.Fatalf("seed %s %v: %v", concept, state, err)
		}
		return rec.ID
	}
	for _, n := range e2eNamnder {
		c.namnder = append(c.namnder, create("namnd", map[string]any{"name": n.name, "shortName": n.short, "kind": n.kind, "validFrom": "2019-01-01"}, "Stadens organisation enligt reglementet"))
	}
	for _, a := range e2eStreets {
		c.addresses = append(c.addresses, create("address", map[string]any{"streetName": a.street, "streetNumber": a.number, "postalCode": a.postal,
			"postTown": "Stockholm", "validFrom": "2010-01-01"}, "Från stadens adressregister"))
	}
	for i, u := range e2eUnits {
		s := map[string]any{"name": u.name, "unitType": u.kind, "ownerNamnd": c.namnder[u.namnd], "validFrom": "2015-08-01",
			"address": c.addresses[i%len(c.addresses)], "phoneNumber": fmt.Sprintf("+46850828%03d", 100+i),
			"emailAddress": fmt.Sprintf("enhet%02d@stad.example", i+1),
			"openingHours": []any{map[string]any{"dayOfWeek": "MONDAY", "opens": "07:30", "closes": "17:00"}}}
		if u.capacity > 0 {
			s["capacity"] = u.capacity
		}
		if strings.Contains(u.kind, "SCHOOL") || u.kind == "PRESCHOOL" {
			s["schoolUnitCode"] = fmt.Sprintf("%08d", 24350000+i*37)
		}
		c.units[u.name] = create("unit", s, "Enhetsregistret flyttat till Samnav")
	}

	fb := h.Token("folkbokforing", auth.KindSystem, auth.Grant{Role: auth.RolePublisher, System: "folkbokforing"})
	var states []map[string]any
	for i, given := range e2eGiven {
		surname := e2eSurnames[(i*7)%len(e2eSurnames)]
		born := fmt.Sprintf("%d-%02d-%02d", 1948+(i*13)%70, 1+i%12, 1+(i*5)%28)
		a := e2eStreets[(i*4)%len(e2eStreets)]
		states = append(states, map[string]any{"personalIdentityNumber": personnummer(born, 200+i*3), "givenNames": given, "surname": surname,
			"dateOfBirth": born, "protectedIdentity": "NONE", "registrationStatus": "REGISTERED",
			"registeredAddress": map[string]any{"streetAddress": fmt.Sprintf("%s %d", a.street, a.number+i%5), "postalCode": a.postal,
				"postTown": "Stockholm", "municipalityCode": "0180"},
			"emailAddress": strings.ToLower(given) + "." + strings.ToLower(surname) + "@example.se"})
	}
	states[len(states)-1]["protectedIdentity"] = "PROTECTED_REGISTRATION"
	m, _ := hubtest.Model(t)
	for _, s := range states {
		sc.Seeded(t, m, "person", s)
	}
	// Registered after the hub's cleanups, so it runs before they stop it.
	t.Cleanup(func() { sc.Check(t) })
	for i, id := range h.Publish(fb, states...) {
		c.persons[e2eGiven[i]] = id
	}

	return c
}

// subscribe requests a subscription for system and approves it, as the
// admin.
func (c *e2eCity) subscribe(system, concept, channel, purpose, basis, reference string, fields ...string) string {
	c.T.Helper()
	sub, err := c.API.Delivery(c.admin).Request(c.Ctx, dlclient.Request{System: system, Concept: concept, Purpose: purpose,
		LegalBasis: dlclient.LegalBasis{Basis: basis, Reference: reference}, Channel: channel, Fields: fields, Reason: "Ny integration"})
	if err != nil {
		c.T.Fatal(err)
	}
	if _, err := c.API.Delivery(c.admin).Approve(c.Ctx, sub.ID, dlclient.Decision{Reason: "Ändamålet kräver fälten"}); err != nil {
		c.T.Fatal(err)
	}
	return sub.ID
}

// signIn opens a page of its own (its own cookies) and signs in through
// the form with token; it returns the page on the home page.
func (c *e2eCity) signIn(t *testing.T, token string) *browsertest.Page {
	t.Helper()
	p := browsertest.Shared(t).NewPage(t)
	p.Navigate(c.url + "/")
	p.WaitURL("/signin")
	p.Fill("#token", token)
	if st := p.Submit("#token"); st != http.StatusOK {
		t.Fatalf("sign-in: %d at %s", st, p.URL())
	}
	return p
}

// docShot is DocScreenshot cut to one screen (1280×800): with at, the
// screen shows that element; without, the top of the page. A long
// page's whole length would make a picture too big for the docs.
func docShot(t *testing.T, p *browsertest.Page, name, at string) {
	t.Helper()
	dir := browsertest.ScreenshotDir()
	if dir == "" {
		return
	}
	scroll := "window.scrollTo(0, 0)"
	if at != "" {
		// A short element is shown with what is above it.
		scroll = "(e => e.scrollIntoView({block: e.offsetHeight < innerHeight / 3 ? 'center' : 'start'}))(document.querySelector(" + strconv.Quote(at) + "))"
	}
	browsertest.Eval[bool](p, "document.fonts.ready.then(() => { "+scroll+"; return true })")
	png, err := chromedp.Run(p.Context(), chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil { //nolint:gosec // G306: a picture for the docs, committed
		t.Fatal(err)
	}
}

func (c *e2eCity) record(t *testing.T, concept, id string) *mdclient.Record {
	t.Helper()
	rec, err := c.API.Masterdata(c.admin).Get(context.Background(), concept, id)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// TestE2EStewardMovesAUnit: a steward signs in, finds a preschool, gives
// it a new visiting address with a reason, and sees the new address and
// the change (who, why, what) in its history; the owner then sees the
// change delivered to the subscribing home-care system, in the live flow
// with the changed field and in the system's webhook delivery log.
func TestE2EStewardMovesAUnit(t *testing.T) {
	t.Parallel()
	c := startE2ECity(t)
	karin := c.Token("Karin Lund", auth.KindUser, consoletest.Steward("unit", "address", "namnd"))
	unit := c.units["Björkhagens förskola"]
	oldAddr, newAddr := c.addresses[0], c.addresses[7]
	if got := c.record(t, "unit", unit).State["address"]; got != oldAddr {
		t.Fatalf("seeded address %v, want %s", got, oldAddr)
	}

	p := c.signIn(t, karin)
	if got := p.Text("h1"); got != "Hej Karin Lund!" {
		t.Fatalf("home says %q", got)
	}
	docShot(t, p, "home", "")
	p.ClickAndWait(`nav a[href="/records"]`)
	p.ClickAndWait(`main a[href="/records/unit"]`)
	p.FillOnce("#q", "Björkhagen")
	c.Eventually("the search's one result", func() bool { return len(p.Texts("#results tbody tr")) == 1 })
	p.WaitText("#results", "Björkhagens förskola")
	if u := p.URL(); strings.Contains(u, "Bj") || strings.Contains(u, "q=") {
		t.Errorf("the search stands in the address %s; it posts", u)
	}
	if rows := p.Texts("#results tbody tr"); len(rows) != 1 {
		t.Fatalf("search for Björkhagen found %d rows: %q", len(rows), rows)
	}
	docShot(t, p, "records-search", "#results")
	p.ClickAndWait("#results tbody th a")
	p.WaitURL("/records/unit/" + unit)
	p.ClickAndWait(`a.button.primary[href$="/edit"]`)
	p.Select("#f-address", newAddr)
	p.Fill("#reason", "Förskolan flyttar till Kärrtorps torg från 1 december")
	docShot(t, p, "record-edit", "")
	if st := p.Submit("button.primary"); st != http.StatusOK {
		t.Fatalf("saving the edit: %d at %s", st, p.URL())
	}
	p.WaitURL("/records/unit/" + unit)
	if got := p.Text(".props"); !strings.Contains(got, newAddr) || !strings.Contains(got, "Kärrtorps torg") || strings.Contains(got, oldAddr) {
		t.Fatalf("the record shows %q, want the new address %s only", got, newAddr)
	}
	rev2 := p.Text("section.change:first-of-type")
	for _, want := range []string{"Version 2", "Karin Lund", "Förskolan flyttar till Kärrtorps torg", "Besöksadress", oldAddr, newAddr,
		"Kärrtorps torg 3, 12155 Stockholm", "Storgatan 12, 11122 Stockholm"} {
		if !strings.Contains(rev2, want) {
			t.Errorf("the history's newest entry lacks %q:\n%s", want, rev2)
		}
	}
	docShot(t, p, "record-history", "#history-h")
	p.ClickAndWait(`.props a[href="/records/address/` + newAddr + `"]`)
	if got := p.Text(".props"); !strings.Contains(got, "Kärrtorps torg") {
		t.Fatalf("the unit's new visiting address shows %q, want Kärrtorps torg", got)
	}
	if rec := c.record(t, "unit", unit); rec.Revision != 2 || rec.State["address"] != newAddr {
		t.Fatalf("stored: revision %d address %v", rec.Revision, rec.State["address"])
	}

	// The owner watches it reach the home-care system.
	o := c.signIn(t, c.admin)
	o.Navigate(c.url + "/flow")
	o.WaitText("#flow-list", "Ändrade fält: Besöksadress")
	item := browsertest.Eval[string](o, `[...document.querySelectorAll("#flow-list li.flow-change")]
		.map(li => li.innerText).find(s => s.includes("Ändrade fält: Besöksadress")) || ""`)
	for _, want := range []string{"Karin Lund", "Hemtjänstens verksamhetssystem (webhook)", "version 2"} {
		if !strings.Contains(item, want) {
			t.Errorf("the live flow's change lacks %q:\n%s", want, item)
		}
	}
	if strings.Contains(item, "Skolplattformen") {
		t.Errorf("the flow delivers a unit to a system subscribing to persons:\n%s", item)
	}
	// The list refreshes itself until the receiver has the message.
	o.WaitText("#flow-list", "Hemtjänstens verksamhetssystem (webhook): levererad")
	docShot(t, o, "flow", "")

	// The flow shows a webhook delivery once it is queued; the receiver
	// takes it a moment later, so the log is read again until it has.
	delivered := func() int {
		n := 0
		for _, row := range o.Texts("#wh-messages tbody tr") {
			if strings.Contains(row, unit) && strings.Contains(row, "levererat") {
				n++
			}
		}
		return n
	}
	c.Eventually("the unit's two messages delivered, in the webhook log", func() bool {
		o.Navigate(c.url + "/subscriptions/" + c.homeCare + "/webhook")
		return delivered() >= 2
	})
	if n := delivered(); n != 2 { // the unit as created, then as moved
		t.Fatalf("the delivery log shows %d delivered messages of the unit, want 2:\n%s", n, o.Text("#wh-messages"))
	}
	docShot(t, o, "webhook-log", "")
}

// TestE2EStewardWithoutGrantIsRefused: a steward of addresses only is
// refused a unit's edit form and, posting one anyway, the change; a
// steward of persons is refused a person's edit (its master is the
// population register). Nothing changes.
func TestE2EStewardWithoutGrantIsRefused(t *testing.T) {
	t.Parallel()
	c := startE2ECity(t)
	unit := c.units["Hökarängens skola"]
	person := c.persons["Ella"]

	p := c.signIn(t, c.Token("Alva Adressson", auth.KindUser, consoletest.Steward("address")))
	if st := p.Navigate(c.url + "/records/unit/" + unit + "/edit"); st != http.StatusForbidden {
		t.Fatalf("edit form of a unit: %d, want 403", st)
	}
	if got := p.Text("main"); !strings.Contains(got, "Åtkomst nekad") || !strings.Contains(got, "unit") {
		t.Fatalf("the refused page says %q", got)
	}
	docShot(t, p, "refused", "")
	// A forged edit form, posted with the session's own CSRF token.
	browsertest.Eval[bool](p, `(() => {
		const f = document.createElement("form");
		f.id = "forged"; f.method = "post"; f.action = "/records/unit/`+unit+`/edit";
		const add = (n, v) => { const i = document.createElement("input"); i.type = "hidden"; i.name = n; i.value = v; f.append(i); };
		add("csrf", document.querySelector("input[name=csrf]").value);
		add("revision", "1"); add("name", "Kapad skola"); add("unitType", "PRIMARY_SCHOOL");
		add("ownerNamnd", "`+c.namnder[1]+`"); add("validFrom", "2015-08-01"); add("reason", "no");
		const b = document.createElement("button"); b.type = "submit"; f.append(b);
		document.body.append(f); return true; })()`)
	if st := p.Submit("#forged button"); st != http.StatusForbidden {
		t.Fatalf("posting a unit's edit: %d, want 403", st)
	}
	p.WaitText("main", "Åtkomst nekad")

	q := c.signIn(t, c.Token("Per Stigsson", auth.KindUser, consoletest.Steward("person")))
	q.Navigate(c.url + "/records/person/" + person)
	if got := q.Text("main"); !strings.Contains(got, "Begreppets huvuddatakälla är folkbokforing. Poster ändras bara där") {
		t.Fatalf("a person's page does not name its master: %q", got)
	}
	if q.Exists(`a[href$="/edit"]`) {
		t.Fatal("a person's page offers an edit")
	}
	if st := q.Navigate(c.url + "/records/person/" + person + "/edit"); st != http.StatusForbidden {
		t.Fatalf("edit form of a person: %d, want 403", st)
	}
	q.WaitText("main", "folkbokforing")

	if rec := c.record(t, "unit", unit); rec.Revision != 1 || rec.State["name"] != "Hökarängens skola" {
		t.Fatalf("a refused steward changed the unit: revision %d %v", rec.Revision, rec.State["name"])
	}
	if rec := c.record(t, "person", person); rec.Revision != 1 {
		t.Fatalf("a refused steward changed the person: revision %d", rec.Revision)
	}
}

// TestE2ELanguageSwitch: Swedish by default; the switch turns the pages
// English, signed out and in, until switched back.
func TestE2ELanguageSwitch(t *testing.T) {
	t.Parallel()
	c := startE2ECity(t)
	p := browsertest.Shared(t).NewPage(t)
	lang := func() string {
		l, _ := p.Attr("html", "lang")
		return l
	}
	p.Navigate(c.url + "/signin")
	if lang() != "sv" || p.Text("h1") != "Logga in" {
		t.Fatalf("default: lang %q, h1 %q; want Swedish", lang(), p.Text("h1"))
	}
	p.ClickAndWait(`header a[hreflang="en"]`)
	if lang() != "en" || p.Text("h1") != "Sign in" {
		t.Fatalf("after the switch: lang %q, h1 %q; want English", lang(), p.Text("h1"))
	}
	p.Fill("#token", c.admin)
	p.Submit("#token")
	if got := p.Text("h1"); got != "Hello Anna Admin!" {
		t.Fatalf("home after signing in: %q", got)
	}
	p.Navigate(c.url + "/catalogue")
	if lang() != "en" || !strings.Contains(p.Text("main"), "Operating unit") {
		t.Fatalf("catalogue: lang %q, want English remembered", lang())
	}
	p.ClickAndWait(`header a[hreflang="sv"]`)
	if lang() != "sv" || !strings.Contains(p.Text("main"), "Verksamhetsenhet") {
		t.Fatalf("after switching back: lang %q", lang())
	}
	p.Navigate(c.url + "/records/unit")
	if lang() != "sv" || strings.Contains(p.Text("main"), "Operating unit") {
		t.Fatalf("records after switching back: lang %q", lang())
	}
}

// TestE2EMainPagesAreAccessible: axe-core finds no serious or critical
// WCAG 2.1 A/AA violation on any main consoletest.Page, signed out and in, in both
// languages, including a form showing its errors and a refused page. In
// Swedish it also takes the docs' screenshots.
func TestE2EMainPagesAreAccessible(t *testing.T) {
	t.Parallel()
	c := startE2ECity(t)
	unit := c.units["Fridhemsskolan"]
	person := c.persons["Noah"]
	// Something in the webhook log, the flow and the history.
	s := c.record(t, "unit", unit).State
	s["phoneNumber"] = "+46850828999"
	if _, err := c.API.Masterdata(c.Token("Karin Lund", auth.KindUser, consoletest.Steward("unit"))).Update(c.Ctx, "unit", unit, 1, s, "Nytt växelnummer"); err != nil {
		t.Fatal(err)
	}
	pages := []struct{ path, shot string }{
		{"/", ""},
		{"/catalogue", "catalogue"},
		{"/catalogue/person", "concept"},
		{"/records", ""},
		{"/records/unit", ""},
		{"/records/unit/" + unit, "record"},
		{"/records/person/" + person, "person"},
		{"/records/unit/new", ""},
		{"/import", "import"},
		{"/subscriptions", "subscriptions"},
		{"/subscriptions/" + c.school, "subscription"},
		{"/subscriptions/new?concept=person", "subscription-new"},
		{"/subscriptions/" + c.homeCare + "/webhook", ""},
		{"/systems", "systems"},
		{"/flow", ""},
	}
	refusedTok := c.Token("Alva Adressson", auth.KindUser, consoletest.Steward("address"))
	for _, lang := range []string{"sv", "en"} {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			anon := browsertest.Shared(t).NewPage(t)
			anon.Navigate(c.url + "/signin?lang=" + lang)
			anon.AssertAccessible()
			if lang == "sv" {
				docShot(t, anon, "signin", "")
			}
			anon.Fill("#token", "not-a-token")
			anon.Submit("#token")
			anon.WaitVisible("#error-summary")
			anon.AssertAccessible()

			p := c.signIn(t, c.admin)
			p.Navigate(c.url + "/?lang=" + lang)
			for _, pg := range pages {
				if st := p.Navigate(c.url + pg.path); st != http.StatusOK {
					t.Errorf("%s: %d", pg.path, st)
					continue
				}
				if l, _ := p.Attr("html", "lang"); l != lang {
					t.Errorf("%s: lang %q, want %q", pg.path, l, lang)
				}
				if pg.path == "/systems" {
					p.WaitVisible("#systems-graph canvas")
				}
				p.AssertAccessible()
				// At 1280 px only a table's own region may scroll sideways.
				if p.HasHorizontalScroll() {
					t.Errorf("%s: the page scrolls sideways at 1280 px", pg.path)
				}
				if lang == "sv" && pg.shot != "" {
					docShot(t, p, pg.shot, "")
				}
			}
			// A search for a person by name, as the steward types it: it
			// posts, and neither the address nor a log line holds the name
			// (the scan).
			p.Navigate(c.url + "/records/person")
			p.FillOnce("#q", "Olsson")
			sctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			poll.True(sctx, t, "the person search's two results", func() bool { return len(p.Texts("#results tbody tr")) == 2 }) // Noah and Leo
			cancel()
			p.WaitText("#results", "Noah")
			p.AssertAccessible()
			if u := p.URL(); strings.Contains(u, "Olsson") {
				t.Errorf("the person search stands in the address %s", u)
			}
			// The edit form showing its errors.
			p.Navigate(c.url + "/records/unit/" + unit + "/edit")
			p.Fill("#f-name", "")
			p.Fill("#f-phoneNumber", "08-123")
			if st := p.Submit("button.primary"); st == http.StatusOK && !p.Exists("#error-summary") {
				t.Fatalf("an invalid edit was saved: %d at %s", st, p.URL())
			}
			p.WaitVisible("#error-summary")
			p.AssertAccessible()
			if lang == "sv" {
				docShot(t, p, "record-edit-errors", "")
			}
			// A refused page.
			r := c.signIn(t, refusedTok)
			r.Navigate(c.url + "/?lang=" + lang)
			if st := r.Navigate(c.url + "/records/unit/" + unit); st != http.StatusForbidden {
				t.Errorf("refused page: %d", st)
			}
			r.AssertAccessible()
		})
	}
}
