package masterdata_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/embeddedkafka"
	"github.com/samnav/samnav/pkg/sdk/kafkatopics"
	"github.com/samnav/samnav/services/hubtest"
	"github.com/samnav/samnav/services/masterdata"
	"github.com/samnav/samnav/services/masterdata/internal/transport/httpapi"
)

// memRegistry stands in for the schema registry where a test does not
// look at the encoded bytes.
type memRegistry struct {
	mu  sync.Mutex
	ids map[string]uint32
}

func (r *memRegistry) Register(_ context.Context, subject, text string) (uint32, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ids == nil {
		r.ids = map[string]uint32{}
	}
	if id, ok := r.ids[subject+text]; ok {
		return id, nil
	}
	r.ids[subject+text] = uint32(len(r.ids) + 1)
	return r.ids[subject+text], nil
}

func (r *memRegistry) Lookup(ctx context.Context, subject, text string) (uint32, error) {
	return r.Register(ctx, subject, text)
}

type api struct {
	t    *testing.T
	base string
	srv  *masterdata.Server
}

// startAPI starts master data alone (hubtest) as most tests want it: the
// zero Config and Deps, encoding against an in-memory registry.
func startAPI(t *testing.T) *api {
	t.Helper()
	return startAPIWith(t, masterdata.Config{}, masterdata.Deps{})
}

// startAPIWith starts master data alone (hubtest) with cfg and deps,
// encoding against an in-memory registry unless cfg or deps name one.
func startAPIWith(t *testing.T, cfg masterdata.Config, deps masterdata.Deps) *api {
	t.Helper()
	if deps.Registry == nil && cfg.RegistryURL == "" {
		deps.Registry = &memRegistry{}
	}
	return apiOf(t, hubtest.Start(t, hubtest.WithMasterdata(func(c *masterdata.Config, d *masterdata.Deps) { *c, *d = cfg, deps })))
}

// startWithStateTopic starts master data, the registry and an embedded
// broker holding concept's state topic (compacted, three partitions), for
// a test of the relay that must be over within a minute: the context
// returned ends then. opts add to the hub (a scan, master data mutators).
func startWithStateTopic(t *testing.T, concept string, opts ...hubtest.Option) (*hubtest.Hub, *api, context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	h := hubtest.Start(t, append(opts, hubtest.WithMasterdata(),
		hubtest.WithBroker(embeddedkafka.Config{Topics: []kafkatopics.Spec{{Name: "samnav." + concept + ".v1", Partitions: 3, Compact: true}}}))...)
	return h, apiOf(t, h), ctx
}

// apiOf is the API of the master data h runs.
func apiOf(t *testing.T, h *hubtest.Hub) *api {
	return &api{t: t, base: h.MasterdataURL, srv: h.Masterdata}
}

func (a *api) token(name string, grants ...auth.Grant) string {
	a.t.Helper()
	kind := auth.KindUser
	for _, g := range grants {
		if g.Role == auth.RolePublisher {
			kind = auth.KindSystem
		}
	}
	secret, _, err := a.srv.Tokens().Issue(context.Background(), auth.IssueRequest{Subject: name, Kind: kind, Name: name, Grants: grants})
	if err != nil {
		a.t.Fatal(err)
	}
	return secret
}

// publisher is a token for system publishing as its master system (its
// subject is the system's id).
func (a *api) publisher(system string) string {
	a.t.Helper()
	return a.token(system, auth.Grant{Role: auth.RolePublisher, System: system})
}

// steward is a token for the steward name keeping concepts.
func (a *api) steward(name string, concepts ...string) string {
	a.t.Helper()
	return a.token(name, auth.Grant{Role: auth.RoleSteward, Concepts: concepts})
}

type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (a *api) do(method, path, token string, body any, header ...string) response {
	a.t.Helper()
	r := hubtest.Call(a.t, method, a.base+path, token, body, header...)
	return response{status: r.Status, header: r.Header, body: r.Body, raw: string(r.Raw)}
}

// errorOf is the problem+json body of an error answer (nil for any other
// answer).
func errorOf(r response) map[string]any {
	if r.header.Get("Content-Type") != "application/problem+json" || r.body["status"] != float64(r.status) {
		return nil
	}
	return r.body
}

func hasField(r response, field, rule string) bool {
	fields, _ := errorOf(r)["fields"].([]any)
	for _, f := range fields {
		m := f.(map[string]any)
		if m["field"] == field && m["rule"] == rule {
			return true
		}
	}
	return false
}

func person(pnr, surname string) map[string]any {
	return map[string]any{"personalIdentityNumber": pnr, "givenNames": "Anna", "surname": surname, "dateOfBirth": "1985-07-09",
		"protectedIdentity": "NONE", "registrationStatus": "REGISTERED"}
}

func unit(name string) map[string]any {
	return map[string]any{"name": name, "unitType": "PRIMARY_SCHOOL", "ownerNamnd": "n-1", "openingHours": []any{}, "validFrom": "2019-08-01"}
}

func TestInvalidPersonnummerIsRefusedNamingFieldAndRule(t *testing.T) {
	a := startAPI(t)
	fb := a.publisher("folkbokforing")
	bad := person("198507099806", "Andersson") // wrong check digit
	delete(bad, "givenNames")
	r := a.do("POST", "/api/v1/publish/person", fb, map[string]any{"items": []any{map[string]any{"op": "upsert", "state": bad}}})
	if r.status != 400 || errorOf(r)["code"] != "invalid" {
		t.Fatalf("status %d %s, want 400 invalid", r.status, r.raw)
	}
	if !hasField(r, "items[0].state.personalIdentityNumber", "check") || !hasField(r, "items[0].state.givenNames", "required") {
		t.Fatalf("every problem must be listed by field and rule: %s", r.raw)
	}
	if !strings.Contains(r.raw, "personalIdentityNumber") {
		t.Fatal("message does not name the field")
	}
	list := a.do("GET", "/api/v1/person", fb, nil)
	if recs := list.body["records"].([]any); len(recs) != 0 {
		t.Fatalf("an invalid write stored %d records", len(recs))
	}
	// The steward API refuses invalid records the same way.
	st := a.steward("anna", "unit")
	u := unit("Solskolan")
	u["unitType"] = "CASTLE"
	r = a.do("POST", "/api/v1/unit", st, u)
	if r.status != 400 || !hasField(r, "unitType", "enum") {
		t.Fatalf("invalid unit: %d %s", r.status, r.raw)
	}
}

func TestStaleRevisionGets412WithCurrentState(t *testing.T) {
	a := startAPI(t)
	st := a.steward("anna", "unit")
	c := a.do("POST", "/api/v1/unit", st, unit("Solskolan"), "Samnav-Reason", "new school")
	if c.status != 201 || c.header.Get("ETag") != `"1"` {
		t.Fatalf("create: %d %s", c.status, c.raw)
	}
	id := c.body["id"].(string)
	u := unit("Solskolan F-9")
	if r := a.do("PUT", "/api/v1/unit/"+id, st, u, "If-Match", `"1"`); r.status != 200 || r.header.Get("ETag") != `"2"` {
		t.Fatalf("update: %d %s", r.status, r.raw)
	}
	r := a.do("PUT", "/api/v1/unit/"+id, st, unit("Another"), "If-Match", `"1"`)
	if r.status != 412 || errorOf(r)["code"] != "conflict" {
		t.Fatalf("stale update: %d %s, want 412 conflict", r.status, r.raw)
	}
	cur, _ := errorOf(r)["current"].(map[string]any)
	if cur == nil || cur["revision"] != float64(2) || cur["state"].(map[string]any)["name"] != "Solskolan F-9" || r.header.Get("ETag") != `"2"` {
		t.Fatalf("412 must carry the current state: %s", r.raw)
	}
	if r := a.do("PUT", "/api/v1/unit/"+id, st, u); r.status != 400 || !hasField(r, "If-Match", "required") {
		t.Fatalf("update without If-Match: %d %s", r.status, r.raw)
	}
	g := a.do("GET", "/api/v1/unit/"+id, st, nil)
	if g.status != 200 || g.header.Get("ETag") != `"2"` || g.body["state"].(map[string]any)["name"] != "Solskolan F-9" {
		t.Fatalf("read after refused update: %s", g.raw)
	}
}

func TestWhoMayWrite(t *testing.T) {
	a := startAPI(t)
	hr := a.token("hr", auth.Grant{Role: auth.RolePublisher, System: "hr-system"})
	fb := a.publisher("folkbokforing")
	steward := a.token("anna", auth.Grant{Role: auth.RoleSteward, Concepts: []string{auth.AnyConcept}})
	unitSteward := a.steward("bo", "unit")
	auditor := a.token("eva", auth.Grant{Role: auth.RoleAuditor})
	item := map[string]any{"items": []any{map[string]any{"op": "upsert", "state": person("198507099805", "Andersson")}}}
	tests := []struct {
		name, method, path, token string
		body                      any
		status                    int
		code                      string
	}{
		{"non-master system publishes", "POST", "/api/v1/publish/person", hr, item, 403, "forbidden"},
		{"steward publishes", "POST", "/api/v1/publish/person", steward, item, 403, "forbidden"},
		{"steward writes externally mastered concept", "POST", "/api/v1/person", steward, person("198507099805", "A"), 403, "forbidden"},
		{"steward of another concept", "POST", "/api/v1/namnd", unitSteward, map[string]any{}, 403, "forbidden"},
		{"auditor writes", "POST", "/api/v1/unit", auditor, unit("X"), 403, "forbidden"},
		{"anonymous write", "POST", "/api/v1/unit", "", unit("X"), 401, "unauthorized"},
		{"anonymous read", "GET", "/api/v1/unit", "", nil, 401, "unauthorized"},
		{"bad token", "GET", "/api/v1/unit", "nonsense", nil, 401, "unauthorized"},
		{"master publishes", "POST", "/api/v1/publish/person", fb, item, 200, ""},
		{"steward writes hub concept", "POST", "/api/v1/unit", unitSteward, unit("X"), 201, ""},
		{"auditor reads", "GET", "/api/v1/person", auditor, nil, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.do(tt.method, tt.path, tt.token, tt.body)
			if r.status != tt.status || (tt.code != "" && errorOf(r)["code"] != tt.code) {
				t.Fatalf("%d %s, want %d %s", r.status, r.raw, tt.status, tt.code)
			}
		})
	}
	r := a.do("POST", "/api/v1/person", steward, person("198001012387", "A"))
	if msg, _ := errorOf(r)["detail"].(string); !strings.Contains(msg, "folkbokforing") {
		t.Fatalf("refusal must name the master system: %q", msg)
	}
}

func TestHistoryNaturalKeysAndPublish(t *testing.T) {
	a := startAPI(t)
	fb := a.publisher("folkbokforing")
	pub := func(items ...any) response {
		return a.do("POST", "/api/v1/publish/person", fb, map[string]any{"items": items})
	}
	r := pub(map[string]any{"op": "upsert", "state": person("198507099805", "Andersson"), "reason": "birth"},
		map[string]any{"op": "upsert", "state": person("198001012387", "Berg"), "reason": "moved in"})
	if r.status != 200 {
		t.Fatalf("publish: %d %s", r.status, r.raw)
	}
	results := r.body["results"].([]any)
	idA := results[0].(map[string]any)["id"].(string)
	idB := results[1].(map[string]any)["id"].(string)
	if results[0].(map[string]any)["outcome"] != "created" {
		t.Fatalf("results: %s", r.raw)
	}
	// The same natural key again updates the record it names.
	r = pub(map[string]any{"op": "upsert", "state": person("198507099805", "Carlsson"), "reason": "name change"})
	if res := r.body["results"].([]any)[0].(map[string]any); res["outcome"] != "updated" || res["id"] != idA || res["revision"] != float64(2) {
		t.Fatalf("upsert by natural key: %s", r.raw)
	}
	g := a.do("POST", "/api/v1/lookup/person", fb, map[string]any{"attribute": "personalIdentityNumber", "value": "198507099805"})
	if g.status != 200 || g.body["id"] != idA || g.body["state"].(map[string]any)["surname"] != "Carlsson" {
		t.Fatalf("natural-key lookup: %d %s", g.status, g.raw)
	}
	if g := a.do("POST", "/api/v1/lookup/person", fb, map[string]any{"attribute": "surname", "value": "Carlsson"}); g.status != 400 {
		t.Fatalf("lookup by a non-key attribute: %d", g.status)
	}
	// Natural keys are unique: B may not take A's personnummer.
	r = pub(map[string]any{"op": "upsert", "id": idB, "state": person("198507099805", "Berg")})
	if r.status != 409 || !hasField(r, "personalIdentityNumber", "unique") {
		t.Fatalf("duplicate natural key: %d %s", r.status, r.raw)
	}
	r = pub(map[string]any{"op": "end", "naturalKey": map[string]any{"attribute": "personalIdentityNumber", "value": "198001012387"}, "reason": "emigrated"})
	if r.status != 200 {
		t.Fatalf("end: %d %s", r.status, r.raw)
	}
	h := a.do("GET", "/api/v1/person/"+idA+"/history", fb, nil)
	changes := h.body["changes"].([]any)
	if len(changes) != 2 {
		t.Fatalf("history: %s", h.raw)
	}
	last := changes[1].(map[string]any)
	actor := last["actor"].(map[string]any)
	if actor["subject"] != "folkbokforing" || actor["system"] != "folkbokforing" || actor["credentialId"] == "" || last["reason"] != "name change" ||
		last["kind"] != "updated" || last["at"] == "" || last["state"].(map[string]any)["surname"] != "Carlsson" {
		t.Fatalf("history must say who, when, through which system, why and the state after: %v", last)
	}
	hb := a.do("GET", "/api/v1/person/"+idB+"/history", fb, nil)
	if ch := hb.body["changes"].([]any); len(ch) != 2 || ch[1].(map[string]any)["kind"] != "ended" || ch[1].(map[string]any)["reason"] != "emigrated" {
		t.Fatalf("history of ended: %s", hb.raw)
	}
	// Ended records leave the default list; includeEnded brings them back.
	if l := a.do("GET", "/api/v1/person", fb, nil); len(l.body["records"].([]any)) != 1 {
		t.Fatalf("list: %s", l.raw)
	}
	if l := a.do("GET", "/api/v1/person?includeEnded=true", fb, nil); len(l.body["records"].([]any)) != 2 {
		t.Fatalf("list with ended: %s", l.raw)
	}
}

func TestStewardListSearchEnd(t *testing.T) {
	a := startAPI(t)
	st := a.steward("anna", "unit")
	for i := range 5 {
		u := unit(fmt.Sprintf("Skola %d", i))
		if i >= 3 {
			u["unitType"] = "LIBRARY"
			u["name"] = fmt.Sprintf("Bibliotek %d", i)
		}
		if r := a.do("POST", "/api/v1/unit", st, u); r.status != 201 {
			t.Fatalf("create: %s", r.raw)
		}
	}
	var names []string
	path := "/api/v1/unit?unitType=PRIMARY_SCHOOL&limit=2"
	for range 5 {
		r := a.do("GET", path, st, nil)
		if r.status != 200 {
			t.Fatalf("list: %s", r.raw)
		}
		for _, rec := range r.body["records"].([]any) {
			names = append(names, rec.(map[string]any)["state"].(map[string]any)["name"].(string))
		}
		next, _ := r.body["next"].(string)
		if next == "" {
			break
		}
		path = "/api/v1/unit?unitType=PRIMARY_SCHOOL&limit=2&cursor=" + next
	}
	if fmt.Sprint(names) != "[Skola 0 Skola 1 Skola 2]" {
		t.Fatalf("paged filter = %v", names)
	}
	r := a.do("GET", "/api/v1/unit?q=biblio", st, nil)
	if recs := r.body["records"].([]any); len(recs) != 2 {
		t.Fatalf("search: %s", r.raw)
	}
	if r := a.do("GET", "/api/v1/unit?nosuch=1", st, nil); r.status != 400 || !hasField(r, "nosuch", "unknown") {
		t.Fatalf("unknown filter: %d %s", r.status, r.raw)
	}
	if r := a.do("GET", "/api/v1/unit?cursor=zzz", st, nil); r.status != 400 {
		t.Fatalf("bad cursor: %d", r.status)
	}
	id := a.do("GET", "/api/v1/unit?limit=1", st, nil).body["records"].([]any)[0].(map[string]any)["id"].(string)
	if r := a.do("POST", "/api/v1/unit/"+id+"/end", st, map[string]any{}); r.status != 400 || !hasField(r, "reason", "required") {
		t.Fatalf("end without reason: %d %s", r.status, r.raw)
	}
	if r := a.do("POST", "/api/v1/unit/"+id+"/end", st, map[string]any{"reason": "closed"}); r.status != 200 || r.body["endedAt"] == nil {
		t.Fatalf("end: %d %s", r.status, r.raw)
	}
	if r := a.do("POST", "/api/v1/unit/"+id+"/end", st, map[string]any{"reason": "closed"}); r.status != 409 {
		t.Fatalf("end twice: %d %s", r.status, r.raw)
	}
	if r := a.do("GET", "/api/v1/nosuch/x", st, nil); r.status != 404 {
		t.Fatalf("unknown concept: %d", r.status)
	}
}

// TestRequestChecks: the API's answers to requests HTTP itself refuses
// (wrong media type, a body over the limit, credentials) and to a stale
// If-Match on an end, each problem+json naming the field and the rule.
func TestRequestChecks(t *testing.T) {
	a := startAPI(t)
	st := a.steward("anna", "unit")
	c := a.do("POST", "/api/v1/unit", st, unit("Solskolan"))
	if c.status != 201 {
		t.Fatalf("create: %d %s", c.status, c.raw)
	}
	id := c.body["id"].(string)
	if r := a.do("PUT", "/api/v1/unit/"+id, st, unit("Solskolan F-9"), "If-Match", `"1"`); r.status != 200 {
		t.Fatalf("update: %d %s", r.status, r.raw)
	}
	big := map[string]any{"name": strings.Repeat("x", httpapi.MaxBodyBytes)}
	tests := []struct {
		name, method, path, token string
		body                      any
		header                    []string
		status                    int
		code, field, rule         string
		wwwAuth                   string
	}{
		{"form body", "POST", "/api/v1/unit", st, unit("X"), []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "invalid", "Content-Type", "media-type", ""},
		{"body too large", "POST", "/api/v1/unit", st, big, nil, 413, "invalid", "body", "size", ""},
		{"not JSON", "POST", "/api/v1/unit", st, "{", nil, 400, "invalid", "body", "json", ""},
		{"bad If-Match", "PUT", "/api/v1/unit/" + id, st, unit("X"), []string{"If-Match", "yesterday"}, 400, "invalid", "If-Match", "format", ""},
		{"stale end", "POST", "/api/v1/unit/" + id + "/end", st, map[string]any{"reason": "closed"}, []string{"If-Match", `"1"`}, 412, "conflict", "", "", ""},
		{"anonymous", "GET", "/api/v1/unit", "", nil, nil, 401, "unauthorized", "", "", "Bearer"},
		{"refused token", "GET", "/api/v1/unit", "snv_nope_nope", nil, nil, 401, "unauthorized", "", "", `Bearer error="invalid_token"`},
		{"no route", "GET", "/nowhere", st, nil, nil, 404, "not_found", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.do(tt.method, tt.path, tt.token, tt.body, tt.header...)
			e := errorOf(r)
			if r.status != tt.status || e == nil || e["code"] != tt.code || e["type"] != "urn:samnav:problem:"+tt.code {
				t.Fatalf("%d %s, want a %d %s problem", r.status, r.raw, tt.status, tt.code)
			}
			if tt.field != "" && !hasField(r, tt.field, tt.rule) {
				t.Fatalf("%s does not name field %s rule %s", r.raw, tt.field, tt.rule)
			}
			if got := r.header.Get("WWW-Authenticate"); got != tt.wwwAuth {
				t.Fatalf("WWW-Authenticate %q, want %q", got, tt.wwwAuth)
			}
		})
	}
	if g := a.do("GET", "/api/v1/unit/"+id, st, nil); g.body["endedAt"] != nil || g.header.Get("ETag") != `"2"` {
		t.Fatalf("a refused end changed the record: %s", g.raw)
	}
}
