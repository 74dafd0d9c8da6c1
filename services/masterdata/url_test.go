package masterdata_test

import (
	"strings"
	"testing"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/services/hubtest"
)

// TestNoPersonalDataInURLs: a GET whose path or query carries the value of
// a personal attribute, and a write whose reason is in the query string,
// are refused naming the field and the rule, and change nothing; the same
// lookups and searches in a POST body answer.
func TestNoPersonalDataInURLs(t *testing.T) {
	a := startAPI(t)
	fb := a.publisher("folkbokforing")
	steward := a.token("greta", auth.Grant{Role: auth.RoleSteward, Concepts: []string{auth.AnyConcept}})
	pnr, _ := hubtest.Personnummer(7)
	created := a.do("POST", "/api/v1/person", fb, person(pnr, "Lindqvist"))
	if created.status != 201 {
		t.Fatalf("create: %d %s", created.status, created.raw)
	}
	id := created.body["id"].(string)
	refused := []struct{ name, method, path, field string }{
		{"personnummer in the path", "GET", "/api/v1/person/by/personalIdentityNumber/" + pnr, "personalIdentityNumber"},
		{"a name filter", "GET", "/api/v1/person?surname=Lindqvist", "surname"},
		{"a search of names", "GET", "/api/v1/person?q=Lindqvist", "q"},
		{"an employee number", "GET", "/api/v1/employee/by/employeeNumber/E123", "employeeNumber"},
		{"a reason on create", "POST", "/api/v1/unit?reason=Lindqvist+asked", "reason"},
		{"a reason on update", "PUT", "/api/v1/person/" + id + "?reason=Lindqvist+asked", "reason"},
		{"a reason on end", "POST", "/api/v1/person/" + id + "/end?reason=Lindqvist+asked", "reason"},
		{"a reason on erase", "DELETE", "/api/v1/person/" + id + "?reason=Lindqvist+asked", "reason"},
	}
	admin := a.token("admin", auth.Grant{Role: auth.RoleAdmin})
	for _, tt := range refused {
		var body any
		tok := steward
		switch tt.method {
		case "POST":
			body = unit("X")
		case "PUT":
			body, tok = person(pnr, "Ny"), fb
		case "DELETE":
			tok = admin
		}
		if strings.HasSuffix(tt.path, "/end?reason=Lindqvist+asked") {
			body, tok = nil, fb
		}
		r := a.do(tt.method, tt.path, tok, body, "If-Match", `"1"`)
		if r.status != 400 || !hasField(r, tt.field, "personal-data-in-url") {
			t.Errorf("%s: %d %s, want 400 naming %s and rule personal-data-in-url", tt.name, r.status, r.raw, tt.field)
		}
	}
	if got := a.do("GET", "/api/v1/person/"+id, steward, nil); got.body["revision"] != 1.0 || got.body["endedAt"] != nil || got.body["state"] == nil {
		t.Errorf("a refused write changed the record: %s", got.raw)
	}
	if n := a.do("GET", "/api/v1/unit", steward, nil); len(n.body["records"].([]any)) != 0 {
		t.Errorf("a refused create stored a unit: %s", n.raw)
	}
	if r := a.do("POST", "/api/v1/lookup/person", steward, map[string]any{"attribute": "personalIdentityNumber", "value": pnr}); r.status != 200 || r.body["id"] != id {
		t.Errorf("lookup in the body: %d %s", r.status, r.raw)
	}
	for _, q := range []map[string]any{{"q": "Lindqvist"}, {"filter": map[string]any{"surname": "Lindqvist"}}} {
		if r := a.do("POST", "/api/v1/search/person", steward, q); r.status != 200 || len(r.body["records"].([]any)) != 1 {
			t.Errorf("search in the body %v: %d %s", q, r.status, r.raw)
		}
	}
	if r := a.do("PUT", "/api/v1/person/"+id, fb, person(pnr, "Ny"), "If-Match", `"1"`, "Samnav-Reason", "name change"); r.status != 200 {
		t.Errorf("a reason in the header: %d %s", r.status, r.raw)
	}
}
