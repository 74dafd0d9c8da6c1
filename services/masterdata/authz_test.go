package masterdata_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/embeddedkafka"
	"github.com/samnav/samnav/pkg/httproute"
	"github.com/samnav/samnav/pkg/openapi"
	"github.com/samnav/samnav/pkg/sdk/kafkatopics"
	dlclient "github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/hubtest"
	"github.com/samnav/samnav/services/masterdata"
)

// The authorisation table of the master data API: every route the server
// mounts (read from its router, so a route added without a row fails the
// test) × every role × the objects a role may own or not → the status,
// and for reads the fields shown.
//
// The roles, in column order. "Own" objects are a person (steward of
// person, folkbokföringen, the owner and subscribers of person own it)
// and a unit (the steward of unit owns it); each is the other's "another".
var authzRoles = []string{
	"admin",         // admin grant
	"steward",       // steward of person
	"steward-unit",  // steward of unit: of another concept, for a person
	"publisher",     // folkbokföringen, person's master system
	"publisher-hr",  // the HR system, master of another concept
	"auditor",       // auditor, not approved for protected identities
	"owner",         // information owner of person
	"sub-approved",  // subscriber system with an approved subscription to person
	"sub-requested", // subscriber system whose subscription waits for approval
	"sub-revoked",   // subscriber system whose subscription was revoked
	"anonymous",     // no token
	"expired",       // an expired token
	"revoked",       // a revoked token
}

// The objects, one column group each: a person, a protected person (a
// column of its own: its shielded fields are what must not leak) and a
// unit.
const (
	objPerson    = "person"
	objProtected = "protected person"
	objUnit      = "unit"
)

// authzRow is one route: the status each role gets on each object, in
// authzRoles order.
type authzRow struct {
	person, protected, unit string
}

// Status strings: one three-digit status per role, space-separated.
const (
	//                  adm stw stu pub phr aud own sua sur sbr non exp rev
	readPerson       = "200 200 403 200 403 200 403 200 403 403 401 401 401"
	readUnit         = "200 403 200 403 403 200 403 403 403 403 401 401 401"
	historyPerson    = "200 200 403 200 403 200 403 403 403 403 401 401 401"
	adminAuditorOnly = "200 403 403 403 403 200 403 403 403 403 401 401 401"
	writePerson      = "403 403 403 %d 403 403 403 403 403 403 401 401 401"
	writeUnit        = "%d 403 %d 403 403 403 403 403 403 403 401 401 401"
	adminOnly        = "%d 403 403 403 403 403 403 403 403 403 401 401 401"
	noneMayPublish   = "403 403 403 403 403 403 403 403 403 403 401 401 401"
	everyToken       = "200 200 200 200 200 200 200 200 200 200 401 401 401"
	everyone         = "200 200 200 200 200 200 200 200 200 200 200 401 401"
	nowhere          = "404 404 404 404 404 404 404 404 404 404 404 401 401"
	personalInURL    = "400 400 400 400 400 400 400 400 400 400 400 401 401"
)

var authzTable = map[string]authzRow{
	"GET " + openapi.Path:                          {everyone, everyone, everyone},
	"GET /api/v1/whoami":                           {everyToken, everyToken, everyToken},
	"/":                                            {nowhere, nowhere, nowhere},
	"GET /api/v1/{concept}/{id}":                   {readPerson, readPerson, readUnit},
	"GET /api/v1/{concept}":                        {readPerson, readPerson, readUnit},
	"POST /api/v1/search/{concept}":                {readPerson, readPerson, readUnit},
	"POST /api/v1/lookup/{concept}":                {readPerson, readPerson, readUnit},
	"GET /api/v1/{concept}/by/{attribute}/{value}": {personalInURL, personalInURL, readUnit},
	"GET /api/v1/{concept}/{id}/history":           {historyPerson, historyPerson, readUnit},
	"GET /api/v1/{concept}/{id}/reads":             {adminAuditorOnly, adminAuditorOnly, adminAuditorOnly},
	"POST /api/v1/{concept}":                       {fmt.Sprintf(writePerson, 201), fmt.Sprintf(writePerson, 201), fmt.Sprintf(writeUnit, 201, 201)},
	"PUT /api/v1/{concept}/{id}":                   {fmt.Sprintf(writePerson, 200), fmt.Sprintf(writePerson, 200), fmt.Sprintf(writeUnit, 200, 200)},
	"POST /api/v1/{concept}/{id}/end":              {fmt.Sprintf(writePerson, 200), fmt.Sprintf(writePerson, 200), fmt.Sprintf(writeUnit, 200, 200)},
	"POST /api/v1/publish/{concept}":               {fmt.Sprintf(writePerson, 200), fmt.Sprintf(writePerson, 200), noneMayPublish},
	"DELETE /api/v1/{concept}/{id}":                {fmt.Sprintf(adminOnly, 200), fmt.Sprintf(adminOnly, 200), fmt.Sprintf(adminOnly, 200)},
	// API tokens (package tokenapi): about no concept, so alike for every object.
	"POST /api/v1/tokens":             {fmt.Sprintf(adminOnly, 201), fmt.Sprintf(adminOnly, 201), fmt.Sprintf(adminOnly, 201)},
	"GET /api/v1/tokens":              {fmt.Sprintf(adminOnly, 200), fmt.Sprintf(adminOnly, 200), fmt.Sprintf(adminOnly, 200)},
	"POST /api/v1/tokens/{id}/rotate": {fmt.Sprintf(adminOnly, 201), fmt.Sprintf(adminOnly, 201), fmt.Sprintf(adminOnly, 201)},
	"POST /api/v1/tokens/{id}/revoke": {fmt.Sprintf(adminOnly, 200), fmt.Sprintf(adminOnly, 200), fmt.Sprintf(adminOnly, 200)},
	"GET /api/v1/tokens/{id}/events":  {fmt.Sprintf(adminOnly, 200), fmt.Sprintf(adminOnly, 200), fmt.Sprintf(adminOnly, 200)},
}

// approvedFields are the person attributes sub-approved's subscription is
// approved for (not for protected identities).
var approvedFields = []string{"personalIdentityNumber", "givenNames", "surname", "registeredAddress"}

// shieldedPersonFields are person's shielded attributes the seeded
// persons hold.
var shieldedPersonFields = []string{"registeredAddress", "emailAddress"}

type authzHub struct {
	t       *testing.T
	h       *hubtest.Hub
	tokens  map[string]string
	admin   string
	fb      string
	unitStw string
	seq     atomic.Int64
}

func TestAuthorisationTable(t *testing.T) {
	subs := masterdata.NewDeliverySubscriptions(nil)
	subs.TTL = -1 // every read asks delivery: a revocation counts at once
	h := hubtest.Start(t, hubtest.WithBroker(embeddedkafka.Config{Topics: []kafkatopics.Spec{{Name: "samnav.person.v1", Partitions: 1, Compact: true}}}),
		hubtest.WithMasterdata(func(_ *masterdata.Config, d *masterdata.Deps) { d.Subscriptions = subs }),
		hubtest.WithDelivery(), hubtest.WithOneTokenStore())
	tokens := h.Masterdata.Tokens()
	issue := func(name string, kind auth.Kind, grants ...auth.Grant) string {
		return hubtest.Issue(t, tokens, name, kind, grants...)
	}
	subs.Connect(h.DeliveryClient(issue("samnav-masterdata", auth.KindSystem, auth.Grant{Role: auth.RoleAuditor})))
	a := &authzHub{t: t, h: h, tokens: map[string]string{}}
	a.admin = issue("admin", auth.KindUser, auth.Grant{Role: auth.RoleAdmin})
	a.fb = issue("folkbokforing", auth.KindSystem, auth.Grant{Role: auth.RolePublisher, System: "folkbokforing"})
	a.unitStw = issue("steward-unit", auth.KindUser, auth.Grant{Role: auth.RoleSteward, Concepts: []string{"unit"}})
	owner := issue("owner", auth.KindUser, auth.Grant{Role: auth.RoleOwner, Concepts: []string{"person"}})
	sub := func(system string) string {
		return issue(system, auth.KindSystem, auth.Grant{Role: auth.RoleSubscriber, System: system})
	}
	a.tokens = map[string]string{
		"admin":         a.admin,
		"steward":       issue("steward", auth.KindUser, auth.Grant{Role: auth.RoleSteward, Concepts: []string{"person"}}),
		"steward-unit":  a.unitStw,
		"publisher":     a.fb,
		"publisher-hr":  issue("hr", auth.KindSystem, auth.Grant{Role: auth.RolePublisher, System: "hr-system"}),
		"auditor":       issue("auditor", auth.KindUser, auth.Grant{Role: auth.RoleAuditor}),
		"owner":         owner,
		"sub-approved":  sub("bibliotek"),
		"sub-requested": sub("skolplattform"),
		"sub-revoked":   sub("hemtjanst"),
		"anonymous":     "",
		"expired": hubtest.ExpiredToken(t, tokens, func(secret string) bool {
			return hubtest.Call(t, "GET", h.MasterdataURL+"/api/v1/whoami", secret, nil).Status == 401
		}),
		"revoked": hubtest.RevokedToken(t, tokens),
	}
	ctx := t.Context()
	request := func(token string) string {
		s, err := h.DeliveryClient(token).Request(ctx, dlclient.Request{Concept: "person", Purpose: "library cards",
			LegalBasis: dlclient.LegalBasis{Basis: dlclient.BasisPublicTask, Reference: "Bibliotekslagen (2013:801)"},
			Channel:    dlclient.ChannelFeed, Fields: approvedFields, ProtectedIdentities: true})
		if err != nil {
			t.Fatalf("request a subscription: %v", err)
		}
		return s.ID
	}
	ownerClient := h.DeliveryClient(owner)
	approve := func(id string) {
		// Approved for the fields, not for protected identities.
		if _, err := ownerClient.Approve(ctx, id, dlclient.Decision{Fields: approvedFields, Reason: "needed for loans"}); err != nil {
			t.Fatalf("approve %s: %v", id, err)
		}
	}
	approvedSub := request(a.tokens["sub-approved"])
	approve(approvedSub)
	request(a.tokens["sub-requested"])
	revoked := request(a.tokens["sub-revoked"])
	approve(revoked)
	if _, err := ownerClient.Revoke(ctx, revoked, "no longer needed"); err != nil {
		t.Fatal(err)
	}

	hubtest.EachRoute(t, h.Masterdata.Handler(), authzTable, func(t *testing.T, r httproute.Route, row authzRow) {
		for _, obj := range []string{objPerson, objProtected, objUnit} {
			want := map[string]string{objPerson: row.person, objProtected: row.protected, objUnit: row.unit}[obj]
			hubtest.EachRole(t, obj+"/", want, authzRoles, func(t *testing.T, role, status string) {
				a.check(t, r, obj, role, status)
			})
		}
	})

	// The approved subscription's reads are recorded under it.
	id := a.object(objPerson)
	hubtest.Call(t, "GET", h.MasterdataURL+"/api/v1/person/"+id, a.tokens["sub-approved"], nil)
	r := hubtest.Call(t, "GET", h.MasterdataURL+"/api/v1/person/"+id+"/reads", a.admin, nil)
	reads, _ := r.Body["reads"].([]any)
	var bySub int
	for _, x := range reads {
		rd := x.(map[string]any)
		if rd["basis"] == "subscription" {
			bySub++
			if rd["subscription"] != approvedSub || rd["system"] != "bibliotek" {
				t.Errorf("a read through a subscription is recorded as %v", rd)
			}
		}
	}
	if bySub != 1 {
		t.Errorf("%d reads recorded under a subscription, want 1: %s", bySub, r.Raw)
	}
}

// state is a fresh state of an object of kind obj.
func (a *authzHub) state(obj string) map[string]any {
	n := int(a.seq.Add(1))
	switch obj {
	case objUnit:
		u := unit(fmt.Sprintf("Skola %d", n))
		u["schoolUnitCode"] = fmt.Sprintf("%08d", 10_000_000+n)
		return u
	case objProtected:
		pnr, _ := hubtest.Personnummer(5000 + n)
		return protectedPerson(pnr)
	}
	pnr, _ := hubtest.Personnummer(5000 + n)
	p := person(pnr, fmt.Sprintf("Person%d", n))
	p["registeredAddress"] = map[string]any{"streetAddress": "Storgatan 1", "postalCode": "11122", "postTown": "Stockholm", "municipalityCode": "0180"}
	p["emailAddress"] = "person@example.se"
	return p
}

// object creates an object of kind obj and returns its id.
func (a *authzHub) object(obj string) string {
	a.t.Helper()
	concept, token := "person", a.fb
	if obj == objUnit {
		concept, token = "unit", a.unitStw
	}
	r := hubtest.Call(a.t, "POST", a.h.MasterdataURL+"/api/v1/"+concept, token, a.state(obj), "Samnav-Reason", "authorisation table")
	if r.Status != 201 {
		a.t.Fatalf("create %s: %d %s", obj, r.Status, r.Raw)
	}
	return r.Body["id"].(string)
}

// check calls route on a fresh object of kind obj as role and compares
// the status, and for a successful read the fields shown, with want.
func (a *authzHub) check(t *testing.T, route httproute.Route, obj, role, want string) {
	concept := "person"
	if obj == objUnit {
		concept = "unit"
	}
	id := a.object(obj)
	st := a.stateOf(concept, id)
	natural := map[string]string{"person": "personalIdentityNumber", "unit": "schoolUnitCode"}[concept]
	key, _ := st[natural].(string)
	path := strings.NewReplacer("{concept}", concept, "{id}", id, "{attribute}", natural, "{value}", key).Replace(route.Path)
	method := route.Method
	var body any
	var header []string
	switch route.String() {
	case "GET /api/v1/{concept}":
		path += "?limit=1000"
	case "/":
		method, path = "GET", "/api/v1/no/such/route/here"
	case "POST /api/v1/search/{concept}":
		body = map[string]any{"filter": map[string]any{natural: key}}
	case "POST /api/v1/lookup/{concept}":
		body = map[string]any{"attribute": natural, "value": key}
	case "POST /api/v1/{concept}":
		body, header = a.state(obj), []string{"Samnav-Reason", "authorisation table"}
	case "PUT /api/v1/{concept}/{id}":
		next := maps.Clone(st)
		delete(next, "id")
		body, header = next, []string{"If-Match", `"1"`, "Samnav-Reason", "authorisation table"}
	case "POST /api/v1/{concept}/{id}/end":
		body, header = map[string]any{"reason": "authorisation table"}, []string{"If-Match", `"1"`}
	case "DELETE /api/v1/{concept}/{id}":
		header = []string{"Samnav-Reason", "erasure request 1"}
	case "POST /api/v1/publish/{concept}":
		next := maps.Clone(st)
		delete(next, "id")
		body = map[string]any{"items": []any{map[string]any{"op": "upsert", "id": id, "state": next}}}
	case "POST /api/v1/tokens":
		body = map[string]any{"name": "authorisation table", "role": "auditor", "expires": "1h"}
	case "POST /api/v1/tokens/{id}/rotate", "POST /api/v1/tokens/{id}/revoke", "GET /api/v1/tokens/{id}/events":
		// A token of its own for each check: a rotation or revocation
		// changes it.
		secret := hubtest.Issue(t, a.h.Masterdata.Tokens(), "authorisation table", auth.KindSystem, auth.Grant{Role: auth.RoleAuditor})
		path = strings.Replace(route.Path, "{id}", strings.Split(secret, "_")[1], 1)
		body = map[string]any{"reason": "authorisation table"}
		if method == "GET" {
			body = nil
		}
	}
	if body != nil {
		header = append(header, "Content-Type", "application/json")
	}
	r := hubtest.Call(t, method, a.h.MasterdataURL+path, a.tokens[role], body, header...)
	if got := fmt.Sprint(r.Status); got != want {
		t.Fatalf("%s %s as %s: %s %s, want %s", method, route.Path, role, got, r.Raw, want)
	}
	// The reads of records: what a subscription's refusal and projection
	// apply to.
	isRead := strings.HasPrefix(route.Path, "/api/v1/search/") || strings.HasPrefix(route.Path, "/api/v1/lookup/") ||
		method == "GET" && strings.HasPrefix(route.Path, "/api/v1/{concept}") && !strings.HasSuffix(route.Path, "/reads")
	if wantIn := map[string]string{"sub-requested": "is requested", "sub-revoked": "is revoked"}[role]; isRead && wantIn != "" &&
		r.Status == 403 && obj != objUnit && !strings.Contains(string(r.Raw), wantIn) {
		t.Errorf("%s %s as %s: the refusal does not say the subscription %s: %s", method, route.Path, role, wantIn, r.Raw)
	}
	if !isRead || r.Status != 200 {
		return
	}
	wantFields := a.fieldsFor(role, obj, st)
	states := statesIn(r.Body, id)
	if len(states) == 0 {
		t.Errorf("%s %s as %s: the answer holds no state of %s: %s", method, route.Path, role, id, r.Raw)
	}
	for _, state := range states {
		if got := slices.Sorted(maps.Keys(state)); !slices.Equal(got, wantFields) {
			t.Errorf("%s %s as %s shows %v, want %v", method, route.Path, role, got, wantFields)
		}
	}
}

// stateOf is the full state of a record, as the admin reads it with a
// reason (break-glass).
func (a *authzHub) stateOf(concept, id string) map[string]any {
	r := hubtest.Call(a.t, "GET", a.h.MasterdataURL+"/api/v1/"+concept+"/"+id, a.admin, nil, "Samnav-Reason", "authorisation table set-up")
	st, _ := r.Body["state"].(map[string]any)
	if r.Status != 200 || st == nil {
		a.t.Fatalf("read %s %s: %d %s", concept, id, r.Status, r.Raw)
	}
	return st
}

// fieldsFor is what role may see of st, an object of kind obj, sorted:
// a subscription its approved fields, everyone else everything; neither
// a shielded field of a protected person (no role here is approved for
// protected identities, and the admin reads without a reason).
func (a *authzHub) fieldsFor(role, obj string, st map[string]any) []string {
	var out []string
	for k := range st {
		if role == "sub-approved" && !slices.Contains(approvedFields, k) {
			continue
		}
		if obj == objProtected && slices.Contains(shieldedPersonFields, k) {
			continue
		}
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// statesIn finds the states of record id in a read's answer: a record,
// a page of records, or a history of changes.
func statesIn(body map[string]any, id string) []map[string]any {
	if st, ok := body["state"].(map[string]any); ok && body["id"] == id {
		return []map[string]any{st}
	}
	var out []map[string]any
	for _, list := range []string{"records", "changes"} {
		items, _ := body[list].([]any)
		for _, x := range items {
			m, _ := x.(map[string]any)
			if st, ok := m["state"].(map[string]any); ok && (m["id"] == id || list == "changes") {
				out = append(out, st)
			}
		}
	}
	return out
}
