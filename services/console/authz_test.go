package console_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/httproute"
	"github.com/samnav/samnav/services/console"
	"github.com/samnav/samnav/services/console/internal/consoletest"
	dlclient "github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/hubtest"
)

// The authorisation table of the console: every page and form the
// console serves (read from its router, so a page added without a row
// fails the test) × every role × an object of the role's concept or
// system and another's → the status. The console decides little itself:
// its pages call the APIs with the signed-in person's token, so what a
// role may see and do there is what the APIs allow; the table shows that
// no page lets a role past that, that every form post is refused without
// the session's CSRF token, and that a session ends with its token.
//
// The roles, in column order. The concept here is unit: "own" objects
// are a unit record and a subscription of bibliotek to unit; "another's"
// a person record (another concept) and a subscription of hemtjanst.
var consRoles = []string{
	"admin",         // admin grant
	"steward",       // steward of unit
	"steward-other", // steward of person: of another concept
	"publisher",     // folkbokföringen, person's master system
	"publisher-hr",  // the HR system, master of another concept
	"auditor",       // auditor
	"owner",         // information owner of unit
	"sub-approved",  // bibliotek, with an approved subscription to unit
	"sub-requested", // skolplattform, whose subscription waits for approval
	"anonymous",     // no session
	"expired",       // signed in with a token that expired since
	"revoked",       // signed in with a token revoked since
}

// consRow is one route: the statuses on the own object and on another's.
type consRow struct{ own, other string }

const (
	//             adm stw sto pub phr aud own sua sur non exp rev
	cEveryone   = "200 200 200 200 200 200 200 200 200 303 303 303"
	cPublic     = "200 200 200 200 200 200 200 200 200 200 200 200"
	cSignIn     = "303 303 303 303 303 303 303 303 303 200 200 200"
	cPostPublic = "403 403 403 403 403 403 403 403 403 401 401 401"
	cPosted     = "303 303 303 303 303 303 303 303 303 403 403 403"
	cNotFound   = "404 404 404 404 404 404 404 404 404 303 303 303"
	cNoPostJob  = "404 404 404 404 404 404 404 404 404 403 403 403"
	cNowhere    = "404 404 404 404 404 404 404 404 404 404 404 404"
	// Records: unit is the "own" concept, person the other.
	cReadUnit     = "200 200 403 403 403 200 403 403 403 303 303 303"
	cReadPerson   = "200 403 200 200 403 200 403 403 403 303 303 303"
	cSearchUnit   = "200 200 403 403 403 200 403 403 403 403 403 403"
	cSearchPerson = "200 403 200 200 403 200 403 403 403 403 403 403"
	cWriteForm    = "200 200 403 403 403 403 403 403 403 303 303 303"
	cNoWriteForm  = "403 403 403 403 403 403 403 403 403 303 303 303"
	cWrite        = "%[1]d %[1]d 403 403 403 403 403 403 403 403 403 403"
	cNoWrite      = "403 403 403 403 403 403 403 403 403 403 403 403"
	// Subscriptions: a system requests for itself (the admin for any);
	// the owner of unit decides; a system manages its own endpoint.
	cRequestForm = "200 403 403 200 200 403 403 200 200 303 303 303"
	cRequest     = "303 403 403 303 303 403 403 303 303 403 403 403"
	cSubOwn      = "200 200 404 404 404 200 200 200 404 303 303 303"
	cSubOther    = "200 200 404 404 404 200 200 404 404 303 303 303"
	cDecide      = "303 403 404 404 404 403 303 %d 404 403 403 403"
	cManage      = "%d 403 404 404 404 403 403 %d 404 303 303 303"
	cPostManage  = "%d 403 404 404 404 403 403 %d 404 403 403 403"
)

var consTable = map[string]consRow{
	"GET /static/":                    {cPublic, cPublic},
	"/":                               {cNowhere, cNowhere},
	"GET /{$}":                        {cEveryone, cEveryone},
	"GET /signin":                     {cSignIn, cSignIn},
	"POST /signin":                    {cPostPublic, cPostPublic},
	"POST /signout":                   {cPosted, cPosted},
	"GET /catalogue":                  {cEveryone, cEveryone},
	"GET /catalogue/{concept}":        {cEveryone, cEveryone},
	"GET /catalogue/{concept}/{file}": {cEveryone, cEveryone},
	"GET /flow":                       {cEveryone, cEveryone},
	"GET /flow/list":                  {cEveryone, cEveryone},
	"GET /systems":                    {cEveryone, cEveryone},
	// Another person's import job does not exist for anyone.
	"GET /import/{job}":              {cNotFound, cNotFound},
	"GET /import/{job}/progress":     {cNotFound, cNotFound},
	"GET /import/{job}/rejected.csv": {cNotFound, cNotFound},
	"POST /import/{job}/cancel":      {cNoPostJob, cNoPostJob},
	// The concept's pages: what the master data API lets each role read
	// and write (unit is mastered by the hub: its stewards and the admin
	// write it; person by folkbokföringen, so nobody writes it here).
	"GET /records":                      {cEveryone, cEveryone},
	"GET /records/{concept}":            {cReadUnit, cReadPerson},
	"POST /records/{concept}":           {cSearchUnit, cSearchPerson},
	"GET /records/{concept}/{id}":       {cReadUnit, cReadPerson},
	"GET /records/{concept}/new":        {cWriteForm, cNoWriteForm},
	"POST /records/{concept}/new":       {fmt.Sprintf(cWrite, 303), cNoWrite},
	"GET /records/{concept}/{id}/edit":  {cWriteForm, cNoWriteForm},
	"POST /records/{concept}/{id}/edit": {fmt.Sprintf(cWrite, 400), cNoWrite},
	"GET /records/{concept}/{id}/end":   {cWriteForm, cNoWriteForm},
	"POST /records/{concept}/{id}/end":  {fmt.Sprintf(cWrite, 400), cNoWrite},
	"GET /import":                       {cEveryone, cEveryone},
	"POST /import":                      {fmt.Sprintf(cWrite, 303), cNoWrite},
	// Subscriptions: what the delivery API lets each role read and do.
	"GET /subscriptions": {cEveryone, cEveryone},
	// A system's request is its own, whatever system the form names.
	"POST /subscriptions":                       {cRequest, cRequest},
	"GET /subscriptions/new":                    {cRequestForm, cRequestForm},
	"GET /subscriptions/{id}":                   {cSubOwn, cSubOther},
	"POST /subscriptions/{id}/decide":           {fmt.Sprintf(cDecide, 403), fmt.Sprintf(cDecide, 404)},
	"GET /subscriptions/{id}/webhook":           {fmt.Sprintf(cManage, 200, 200), fmt.Sprintf(cManage, 200, 404)},
	"POST /subscriptions/{id}/webhook/{action}": {fmt.Sprintf(cPostManage, 303, 303), fmt.Sprintf(cPostManage, 303, 404)},
	// No such message (the delivery table redelivers real ones): 404 to
	// whoever may manage the endpoint, refused to everyone else.
	"POST /subscriptions/{id}/webhook/messages/{msg}/redeliver": {fmt.Sprintf(cPostManage, 404, 404), fmt.Sprintf(cPostManage, 404, 404)},
}

type consAuthz struct {
	h        *consoletest.FlowHub
	browsers map[string]*consoletest.Browser
	tokens   map[string]string // of the roles that have a valid one
	admin    string
	objects  map[string]consObject
	job      string
	seq      atomic.Int64
}

// consObject is what a route's path names, per column.
type consObject struct {
	concept, record, subscription string
	system                        string // the subscription's
}

func TestConsoleAuthorisationTable(t *testing.T) {
	clock := &consoleClock{}
	h := consoletest.StartFlowHub(t, hubtest.WithConsole(func(c *console.Config) {
		// The console checks tokens on a clock of its own, so that a
		// token can expire for it without waiting.
		v := c.Verifier.(*auth.Tokens)
		c.Verifier = &auth.Tokens{Store: v.Store, Now: clock.now}
		// Every role posts a wrong token to /signin from this one
		// address; the table is about who may do what, not about
		// slowing guessers (TestFailedSignInsAreSlowedPerAddress).
		c.SignInLimits = auth.LoginLimits{Free: 1000}
	}))
	a := &consAuthz{h: h, browsers: map[string]*consoletest.Browser{}}
	a.admin = h.Token("admin", auth.KindUser, auth.Grant{Role: auth.RoleAdmin})
	tokens := map[string]string{
		"admin":         a.admin,
		"steward":       h.Token("steward", auth.KindUser, auth.Grant{Role: auth.RoleSteward, Concepts: []string{"unit"}}),
		"steward-other": h.Token("steward-other", auth.KindUser, auth.Grant{Role: auth.RoleSteward, Concepts: []string{"person"}}),
		"publisher":     h.Token("folkbokforing", auth.KindSystem, auth.Grant{Role: auth.RolePublisher, System: "folkbokforing"}),
		"publisher-hr":  h.Token("hr", auth.KindSystem, auth.Grant{Role: auth.RolePublisher, System: "hr-system"}),
		"auditor":       h.Token("auditor", auth.KindUser, auth.Grant{Role: auth.RoleAuditor}),
		"owner":         h.Token("owner", auth.KindUser, auth.Grant{Role: auth.RoleOwner, Concepts: []string{"unit"}}),
		"sub-approved":  h.Token("bibliotek-app", auth.KindSystem, auth.Grant{Role: auth.RoleSubscriber, System: "bibliotek"}),
		"sub-requested": h.Token("skolplattform", auth.KindSystem, auth.Grant{Role: auth.RoleSubscriber, System: "skolplattform"}),
	}
	a.tokens = tokens
	for role, tok := range tokens {
		a.browsers[role] = h.Browser(tok)
	}
	a.browsers["anonymous"] = consoletest.NewBrowser(t, h.Console.Handler())
	expiring, _, err := h.MD.Tokens().Issue(t.Context(), auth.IssueRequest{Subject: "expiring", Kind: auth.KindUser, Name: "expiring",
		Grants: []auth.Grant{{Role: auth.RoleAdmin}}, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	a.browsers["expired"] = h.Browser(expiring)
	revoked, rec, err := h.MD.Tokens().Issue(t.Context(), auth.IssueRequest{Subject: "revoked", Kind: auth.KindUser, Name: "revoked",
		Grants: []auth.Grant{{Role: auth.RoleAdmin}}})
	if err != nil {
		t.Fatal(err)
	}
	a.browsers["revoked"] = h.Browser(revoked)
	if err := h.MD.Tokens().Store.RevokeToken(t.Context(), rec.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	clock.advance(2 * time.Hour) // the expiring token has expired, for the console

	a.objects = map[string]consObject{
		"own":   {concept: "unit", record: a.unit(t, "Skola Egen"), subscription: a.subscribe(t, "bibliotek"), system: "bibliotek"},
		"other": {concept: "person", record: a.person(t), subscription: a.subscribe(t, "hemtjanst"), system: "hemtjanst"},
	}
	a.subscribe(t, "skolplattform")
	a.job = a.startImport(t)

	hubtest.EachRoute(t, h.Console.Handler(), consTable, func(t *testing.T, r httproute.Route, row consRow) {
		for _, obj := range []string{"own", "other"} {
			want := map[string]string{"own": row.own, "other": row.other}[obj]
			got := make([]string, 0, len(consRoles))
			for _, role := range consRoles {
				got = append(got, fmt.Sprint(a.call(t, r, a.objects[obj], role, true)))
			}
			if g := strings.Join(got, " "); g != strings.Join(strings.Fields(want), " ") {
				t.Errorf("%s on %s's:\n got  %s\n want %s", r, obj, g, want)
			}
		}
	})

	// A protected person is a column of its own: no role here is approved
	// for protected identities, so no page shows where the person lives
	// or how to reach them, to any role that reads the person.
	pnr, _ := hubtest.Personnummer(7002)
	prot := consoletest.Person(pnr, "Skyddad", "Hemliga gatan 7")
	prot["protectedIdentity"] = "PROTECTED_REGISTRATION"
	protID := h.Publish(h.Token("fb-protected", auth.KindSystem, auth.Grant{Role: auth.RolePublisher, System: "folkbokforing"}), prot)[0]
	for _, role := range []string{"admin", "steward-other", "publisher", "auditor"} {
		for _, path := range []string{"/records/person/" + protID, "/records/person"} {
			p := a.browsers[role].Get(path)
			if p.Status != http.StatusOK || !strings.Contains(p.Body, "Skyddad") {
				t.Errorf("%s reads %s: %d, want the protected person's page", role, path, p.Status)
			}
			consoletest.MustNotContain(t, p, "Hemliga gatan", "skyddad@example.se")
		}
	}

	// A system that names another system in its request form still
	// requests for itself.
	b := a.browsers["sub-approved"]
	b.Get("/subscriptions/new")
	p := b.Post("/subscriptions", a.form(httproute.Route{Method: http.MethodPost, Path: "/subscriptions"}, a.objects["other"]))
	id, _, _ := strings.Cut(strings.TrimPrefix(p.Location, "/subscriptions/"), "?")
	if sub, err := h.API.Delivery(a.admin).Get(t.Context(), id); err != nil || sub.System != "bibliotek" {
		t.Errorf("bibliotek's request naming hemtjanst (%d %s) made %+v (%v), want bibliotek's", p.Status, p.Location, sub, err)
	}

	// Every form post without the session's CSRF token is refused, also
	// for the admin, before its handler runs.
	for _, r := range httproute.RoutesOf(h.Console.Handler()) {
		if r.Method != http.MethodPost || r.Path == "/signin" {
			continue
		}
		if st := a.call(t, r, a.objects["own"], "admin", false); st != http.StatusForbidden {
			t.Errorf("%s without the CSRF token: %d, want 403", r, st)
		}
	}
}

// consoleClock is the console's token clock: the real time plus an offset.
type consoleClock struct{ offset time.Duration }

func (c *consoleClock) now() time.Time          { return time.Now().Add(c.offset) }
func (c *consoleClock) advance(d time.Duration) { c.offset += d }

func (a *consAuthz) unit(t *testing.T, name string) string {
	t.Helper()
	r := hubtest.Call(t, "POST", a.h.MasterdataURL+"/api/v1/unit", a.admin, consoletest.UnitState(name), "Samnav-Reason", "authorisation table")
	if r.Status != 201 {
		t.Fatalf("create a unit: %d %s", r.Status, r.Raw)
	}
	return r.Body["id"].(string)
}

func (a *consAuthz) person(t *testing.T) string {
	t.Helper()
	fb := a.h.Token("fb-setup", auth.KindSystem, auth.Grant{Role: auth.RolePublisher, System: "folkbokforing"})
	pnr, _ := hubtest.Personnummer(7001)
	return a.h.Publish(fb, consoletest.Person(pnr, "Astrid", "Storgatan 1"))[0]
}

// subscribe requests, as the admin, a subscription of system to unit
// over webhook, approves it unless system is skolplattform, and
// registers its endpoint.
func (a *consAuthz) subscribe(t *testing.T, system string) string {
	t.Helper()
	admin := a.h.API.Delivery(a.admin)
	sub, err := admin.Request(t.Context(), dlclient.Request{System: system, Concept: "unit", Purpose: "authorisation table",
		LegalBasis: dlclient.LegalBasis{Basis: "public_task", Reference: "Skollagen"}, Channel: "webhook", Fields: []string{"name"}, Reason: "table"})
	if err != nil {
		t.Fatal(err)
	}
	if system == "skolplattform" {
		return sub.ID
	}
	if _, err := admin.Approve(t.Context(), sub.ID, dlclient.Decision{Reason: "table"}); err != nil {
		t.Fatal(err)
	}
	if r := hubtest.Call(t, "PUT", a.h.DeliveryURL+"/api/v1/subscriptions/"+sub.ID+"/webhook", a.admin, map[string]any{"url": "http://127.0.0.1:9/hook"}); r.Status != 201 {
		t.Fatalf("register the webhook: %d %s", r.Status, r.Raw)
	}
	return sub.ID
}

// startImport starts an import as another admin, whose job no role of
// the table started.
func (a *consAuthz) startImport(t *testing.T) string {
	t.Helper()
	b := a.h.Browser(a.h.Token("importer", auth.KindUser, auth.Grant{Role: auth.RoleAdmin}))
	b.Get("/import")
	p := b.PostFile("/import", map[string]string{"concept": "unit", "reason": "old register"}, "file", "units.csv", consoletest.UnitsCSV)
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/import/") {
		t.Fatalf("start an import: %d %q", p.Status, p.Location)
	}
	return strings.TrimPrefix(p.Location, "/import/")
}

// call sends route as role on obj (with the session's CSRF token when
// csrf) and returns the status.
func (a *consAuthz) call(t *testing.T, route httproute.Route, obj consObject, role string, csrf bool) int {
	t.Helper()
	id := obj.record
	if strings.HasPrefix(route.Path, "/subscriptions/") {
		id = obj.subscription
	}
	path := strings.NewReplacer("{concept}", obj.concept, "{id}", id, "{job}", a.job, "{file}", "v1.avsc", "{msg}", "999999",
		"{action}", "disable", "{$}", "").Replace(route.Path)
	b := a.browsers[role]
	switch route.Method {
	case "":
		return b.Get("/no/such/page").Status
	case http.MethodGet:
		if path == "/static/" {
			path = "/static/style.css"
		}
		return b.Get(path).Status
	}
	switch route.Path {
	case "/signin":
		// A sign-in form carries its own double-submit token, which the
		// sign-in page sets.
		b.Get("/signin")
	case "/signout":
		// Signing out ends the session: sign out a session of its own.
		if tok, ok := a.tokens[role]; ok {
			b = a.h.Browser(tok)
		} else {
			b = consoletest.NewBrowser(t, a.h.Console.Handler())
		}
	}
	form := a.form(route, obj)
	if !csrf {
		form.Set("csrf", "")
	}
	if route.Path == "/import" {
		fields := map[string]string{}
		for k := range form {
			fields[k] = form.Get(k)
		}
		return b.PostFile(path, fields, "file", "units.csv", consoletest.UnitsCSV).Status
	}
	return b.Post(path, form).Status
}

// form is the form posted to route on obj: a valid one where a valid one
// is short, so that what refuses it is the authorisation, not the input;
// the record edit and end forms are empty, and fail validation (400)
// only once the authorisation has let them through.
func (a *consAuthz) form(route httproute.Route, obj consObject) url.Values {
	switch route.Path {
	case "/signin":
		return url.Values{"token": {"snv_nosuch_token"}, "next": {"/"}}
	case "/import":
		return url.Values{"concept": {obj.concept}, "reason": {"old register"}}
	case "/records/{concept}/new":
		f := consoletest.UnitForm(fmt.Sprintf("Skola %d", a.seq.Add(1)))
		f.Set("schoolUnitCode", fmt.Sprintf("%08d", 20_000_000+a.seq.Load()))
		return f
	case "/subscriptions":
		return url.Values{"system": {obj.system}, "concept": {"unit"}, "purpose": {"school catalogue"}, "basis": {"public_task"},
			"reference": {"Skollagen"}, "channel": {"feed"}, "fields": {"name"}, "reason": {"authorisation table"}}
	case "/subscriptions/{id}/decide":
		return url.Values{"action": {"approve"}, "reason": {"authorisation table"}, "fields": {"name"}}
	}
	return url.Values{}
}
