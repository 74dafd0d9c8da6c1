package masterdata_test

import (
	"strings"
	"testing"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/services/hubtest"
)

// employee is an employee record of the person with id personID, with
// the work contacts a reader not approved for protected identities must
// not see when that person is protected.
func employee(personID, number string) map[string]any {
	return map[string]any{"person": personID, "employeeNumber": number, "givenName": "Kim", "surname": "Lindqvist",
		"title": "Förskollärare", "unit": "unit-solskolan", "forvaltning": "forv-utbildning", "employmentType": "PERMANENT",
		"employmentRate": "100", "workEmailAddress": "kim.lindqvist@stad.example", "workPhoneNumber": "+46855500001", "startDate": "2024-01-01"}
}

// TestEmployeeOfAProtectedPersonIsShieldedOnEveryReadPath: an employee
// record refers to a person with protected identity; a steward of
// employees not approved for protected identities reads it, by every read
// path, without the attributes that locate the person (workplace, work
// contacts, the link to the person), while the employee of an unprotected
// person is read whole, and an approved steward reads both whole.
func TestEmployeeOfAProtectedPersonIsShieldedOnEveryReadPath(t *testing.T) {
	a := startAPI(t)
	fb := a.publisher("folkbokforing")
	hr := a.token("hr", auth.Grant{Role: auth.RolePublisher, System: "hr-system"})
	pnr1, _ := hubtest.Personnummer(11)
	pnr2, _ := hubtest.Personnummer(12)
	prot := a.do("POST", "/api/v1/person", fb, protectedPerson(pnr1))
	open := a.do("POST", "/api/v1/person", fb, person(pnr2, "Öppen"))
	if prot.status != 201 || open.status != 201 {
		t.Fatalf("create persons: %d %s; %d %s", prot.status, prot.raw, open.status, open.raw)
	}
	protID, openID := prot.body["id"].(string), open.body["id"].(string)
	e1 := a.do("POST", "/api/v1/employee", hr, employee(protID, "E1"))
	other := employee(openID, "E2")
	other["surname"], other["unit"], other["workEmailAddress"], other["workPhoneNumber"] = "Berg", "unit-ekskolan", "eva.berg@stad.example", "+46855500002"
	e2 := a.do("POST", "/api/v1/employee", hr, other)
	if e1.status != 201 || e2.status != 201 {
		t.Fatalf("create employees: %d %s; %d %s", e1.status, e1.raw, e2.status, e2.raw)
	}
	e1ID, e2ID := e1.body["id"].(string), e2.body["id"].(string)
	locating := []string{protID, "unit-solskolan", "kim.lindqvist@stad.example", "+46855500001"}

	steward := a.token("s", auth.Grant{Role: auth.RoleSteward, Concepts: []string{"employee"}})
	approved := a.token("s2", auth.Grant{Role: auth.RoleSteward, Concepts: []string{"employee"}, ProtectedIdentities: true})
	type call struct {
		method, path string
		body         any
	}
	paths := map[string]call{
		"get":     {"GET", "/api/v1/employee/" + e1ID, nil},
		"lookup":  {"POST", "/api/v1/lookup/employee", map[string]any{"attribute": "employeeNumber", "value": "E1"}},
		"list":    {"GET", "/api/v1/employee", nil},
		"search":  {"POST", "/api/v1/search/employee", map[string]any{"q": "Lindqvist"}},
		"history": {"GET", "/api/v1/employee/" + e1ID + "/history", nil},
	}
	for name, c := range paths {
		r := a.do(c.method, c.path, steward, c.body)
		if r.status != 200 || !strings.Contains(r.raw, e1ID) || !strings.Contains(r.raw, "Lindqvist") {
			t.Fatalf("steward, %s: %d %s", name, r.status, r.raw)
		}
		for _, leak := range locating {
			if strings.Contains(r.raw, leak) {
				t.Errorf("steward not approved, %s: shows %q of the employee of a protected person", name, leak)
			}
		}
		r = a.do(c.method, c.path, approved, c.body)
		for _, want := range locating {
			if r.status != 200 || !strings.Contains(r.raw, want) {
				t.Errorf("approved steward, %s: %d, lacks %q", name, r.status, want)
			}
		}
	}
	// The employee of a person without protection is read whole.
	r := a.do("GET", "/api/v1/employee/"+e2ID, steward, nil)
	for _, want := range []string{openID, "unit-ekskolan", "eva.berg@stad.example", "+46855500002"} {
		if r.status != 200 || !strings.Contains(r.raw, want) {
			t.Errorf("employee of an unprotected person: %d, lacks %q: %s", r.status, want, r.raw)
		}
	}
}
