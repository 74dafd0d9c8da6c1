package masterdata_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/services/hubtest"
)

// street is the protected person's address: no read by a reader not
// approved for protected identities may contain it.
const street = "Hemliga gatan 7"

func protectedPerson(pnr string) map[string]any {
	p := person(pnr, "Skyddad")
	p["protectedIdentity"] = "PROTECTED_REGISTRATION"
	p["registeredAddress"] = map[string]any{"streetAddress": street, "postalCode": "11122", "postTown": "Stockholm", "municipalityCode": "0180"}
	p["emailAddress"] = "skyddad@example.se"
	return p
}

// TestAMasterSystemReadsOnlyWhatItMasters: the HR system's token, which
// once read every person's full record, reads employees (it masters them)
// and no person, by any read path.
func TestAMasterSystemReadsOnlyWhatItMasters(t *testing.T) {
	a := startAPI(t)
	fb := a.publisher("folkbokforing")
	hr := a.token("hr", auth.Grant{Role: auth.RolePublisher, System: "hr-system"})
	pnr, _ := hubtest.Personnummer(1)
	created := a.do("POST", "/api/v1/person", fb, person(pnr, "Andersson"))
	if created.status != 201 {
		t.Fatalf("create: %d %s", created.status, created.raw)
	}
	id := created.body["id"].(string)
	for _, rd := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/v1/person", nil},
		{"POST", "/api/v1/search/person", map[string]any{"q": "Andersson"}},
		{"GET", "/api/v1/person/" + id, nil},
		{"GET", "/api/v1/person/" + id + "/history", nil},
		{"POST", "/api/v1/lookup/person", map[string]any{"attribute": "personalIdentityNumber", "value": pnr}},
	} {
		if r := a.do(rd.method, rd.path, hr, rd.body); r.status != 403 || errorOf(r)["code"] != "forbidden" || strings.Contains(r.raw, "Andersson") {
			t.Errorf("the HR system reading %s %s: %d %s, want 403", rd.method, rd.path, r.status, r.raw)
		}
	}
	if r := a.do("GET", "/api/v1/employee", hr, nil); r.status != 200 {
		t.Errorf("the HR system lists the employees it masters: %d %s", r.status, r.raw)
	}
	if r := a.do("GET", "/api/v1/person/"+id, fb, nil); r.status != 200 || r.body["state"].(map[string]any)["surname"] != "Andersson" {
		t.Errorf("folkbokföringen reads the persons it masters: %d %s", r.status, r.raw)
	}
}

// TestProtectedIdentityIsShieldedOnEveryReadPath: a reader whose grant is
// not approved for protected identities gets a protected person without
// address and contacts on every read path; an approved one, and an admin
// reading break-glass with a reason, get them, and the break-glass read is
// flagged in the read log.
func TestProtectedIdentityIsShieldedOnEveryReadPath(t *testing.T) {
	a := startAPI(t)
	fb := a.publisher("folkbokforing")
	pnr, _ := hubtest.Personnummer(2)
	created := a.do("POST", "/api/v1/person", fb, protectedPerson(pnr))
	if created.status != 201 {
		t.Fatalf("create: %d %s", created.status, created.raw)
	}
	id := created.body["id"].(string)
	admin := a.token("admin", auth.Grant{Role: auth.RoleAdmin})
	type call struct {
		method, path string
		body         any
	}
	paths := map[string]call{
		"get":     {"GET", "/api/v1/person/" + id, nil},
		"lookup":  {"POST", "/api/v1/lookup/person", map[string]any{"attribute": "personalIdentityNumber", "value": pnr}},
		"list":    {"GET", "/api/v1/person", nil},
		"search":  {"POST", "/api/v1/search/person", map[string]any{"q": "Skyddad"}},
		"filter":  {"POST", "/api/v1/search/person", map[string]any{"filter": map[string]any{"surname": "Skyddad"}}},
		"history": {"GET", "/api/v1/person/" + id + "/history", nil},
	}
	readers := []struct {
		name, token string
		header      []string
		shown       bool
	}{
		{"steward", a.token("s", auth.Grant{Role: auth.RoleSteward, Concepts: []string{"person"}}), nil, false},
		{"steward of every concept", a.token("s2", auth.Grant{Role: auth.RoleSteward, Concepts: []string{auth.AnyConcept}}), nil, false},
		{"auditor", a.token("au", auth.Grant{Role: auth.RoleAuditor}), nil, false},
		{"admin", admin, nil, false},
		{"the master system", fb, nil, false},
		{"approved steward", a.token("s3", auth.Grant{Role: auth.RoleSteward, Concepts: []string{"person"}, ProtectedIdentities: true}), nil, true},
		{"approved auditor", a.token("au2", auth.Grant{Role: auth.RoleAuditor, ProtectedIdentities: true}), nil, true},
		{"admin, break-glass", admin, []string{"Samnav-Reason", "court order 2026-17"}, true},
	}
	for _, rd := range readers {
		for name, c := range paths {
			r := a.do(c.method, c.path, rd.token, c.body, rd.header...)
			if r.status != 200 || !strings.Contains(r.raw, id) {
				t.Fatalf("%s, %s: %d %s", rd.name, name, r.status, r.raw)
			}
			for _, leak := range []string{street, "skyddad@example.se", "registeredAddress", "emailAddress"} {
				if strings.Contains(r.raw, leak) != rd.shown {
					t.Errorf("%s, %s: shows %s: %v, want %v", rd.name, name, leak, !rd.shown, rd.shown)
				}
			}
		}
	}
	r := a.do("GET", "/api/v1/person/"+id+"/reads", admin, nil)
	reads, _ := r.body["reads"].([]any)
	var breakGlass int
	for _, x := range reads {
		rd := x.(map[string]any)
		if rd["breakGlass"] == true {
			breakGlass++
			if rd["basis"] != "break-glass" || rd["reason"] != "court order 2026-17" || rd["subject"] != "admin" {
				t.Errorf("a break-glass read is recorded as %v", rd)
			}
		}
	}
	if breakGlass != len(paths) || len(reads) != len(readers)*len(paths) {
		t.Errorf("read log: %d reads, %d break-glass; want %d and %d", len(reads), breakGlass, len(readers)*len(paths), len(paths))
	}
}

// TestEveryReadOfPersonalDataIsRecorded: a page of 50 persons leaves
// exactly one read of each, naming who, under which grant, the path and
// the fields shown; reading the read log is not itself recorded, and a
// concept without personal data leaves none.
func TestEveryReadOfPersonalDataIsRecorded(t *testing.T) {
	a := startAPI(t)
	fb := a.publisher("folkbokforing")
	var ids []string
	for i := range 50 {
		pnr, _ := hubtest.Personnummer(100 + i)
		r := a.do("POST", "/api/v1/person", fb, person(pnr, fmt.Sprintf("Person%02d", i)))
		if r.status != 201 {
			t.Fatalf("create %d: %d %s", i, r.status, r.raw)
		}
		ids = append(ids, r.body["id"].(string))
	}
	steward := a.token("greta", auth.Grant{Role: auth.RoleSteward, Concepts: []string{"person"}})
	if r := a.do("GET", "/api/v1/person?limit=50", steward, nil, "Samnav-Reason", "yearly review"); r.status != 200 || len(r.body["records"].([]any)) != 50 {
		t.Fatalf("list: %d %s", r.status, r.raw)
	}
	auditor := a.token("ivar", auth.Grant{Role: auth.RoleAuditor})
	for _, id := range ids {
		r := a.do("GET", "/api/v1/person/"+id+"/reads", auditor, nil)
		reads, _ := r.body["reads"].([]any)
		if r.status != 200 || len(reads) != 1 {
			t.Fatalf("reads of %s: %d %s, want one", id, r.status, r.raw)
		}
		rd := reads[0].(map[string]any)
		fields := fmt.Sprint(rd["fields"])
		if rd["subject"] != "greta" || rd["basis"] != "steward" || rd["path"] != "list" || rd["reason"] != "yearly review" || rd["recordId"] != id ||
			!strings.Contains(fields, "surname") || !strings.Contains(fields, "personalIdentityNumber") || rd["credentialId"] == "" {
			t.Errorf("read of %s recorded as %v", id, rd)
		}
	}
	unitSteward := a.steward("bo", "unit")
	u := a.do("POST", "/api/v1/unit", unitSteward, unit("Skolan"))
	a.do("GET", "/api/v1/unit/"+u.body["id"].(string), unitSteward, nil)
	if r := a.do("GET", "/api/v1/unit/"+u.body["id"].(string)+"/reads", auditor, nil); r.status != 200 || len(r.body["reads"].([]any)) != 0 {
		t.Errorf("a unit holds no personal data, yet its read log is %d %s", r.status, r.raw)
	}
	for _, tok := range []string{steward, fb, ""} {
		if r := a.do("GET", "/api/v1/person/"+ids[0]+"/reads", tok, nil); r.status != 403 && r.status != 401 {
			t.Errorf("the read log for a non-auditor: %d %s", r.status, r.raw)
		}
	}
}
