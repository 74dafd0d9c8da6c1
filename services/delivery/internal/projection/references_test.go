package projection_test

import (
	"math/big"
	"reflect"
	"testing"
	"time"

	"github.com/samnav/samnav/contracts/concepts"
	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/sdk/avro"
	"github.com/samnav/samnav/services/delivery/internal/projection"
	"github.com/samnav/samnav/services/hubtest"
)

// employeeOf is an employee record of person p, decoded from Avro as the
// pipeline sees it.
func employeeOf(t *testing.T, schema, p string) map[string]any {
	t.Helper()
	return decoded(t, schema, concepts.EmployeeV1{ID: "e1", Person: p, EmployeeNumber: "A1", GivenName: "Anna", Surname: "Svensson",
		Title: ptr("Förskollärare"), Unit: ptr("u1"), Forvaltning: "f1", EmploymentType: "PERMANENT", EmploymentRate: big.NewRat(100, 1),
		WorkEmailAddress: ptr("anna.svensson@stad.se"), WorkPhoneNumber: ptr("+46701234567"), StartDate: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)})
}

// TestApplyReferring: an employee of a protected person reaches a
// subscription not approved for protected identities without the fields
// that locate the person (workplace, work contacts, the link to the
// person), on the projected schema; the name stays.
func TestApplyReferring(t *testing.T) {
	m, schemas := hubtest.Model(t)
	c, schema := m.Concept("employee"), schemas["employee"]
	fields := []string{"person", "givenName", "surname", "title", "unit", "workEmailAddress", "workPhoneNumber"}
	protectedPerson := func(ref *model.Attribute, id string) bool { return ref.Ref == "person" && id == "p-protected" }
	full := map[string]any{"id": "e1", "givenName": "Anna", "surname": "Svensson", "title": "Förskollärare", "unit": "u1",
		"workEmailAddress": "anna.svensson@stad.se", "workPhoneNumber": "+46701234567"}
	with := func(person string) map[string]any {
		out := map[string]any{"person": person}
		for k, v := range full {
			out[k] = v
		}
		return out
	}
	tests := []struct {
		name      string
		person    string
		protected bool
		want      map[string]any
	}{
		{"employee of a protected person, not approved", "p-protected", false,
			map[string]any{"id": "e1", "givenName": "Anna", "surname": "Svensson", "title": "Förskollärare",
				"person": nil, "unit": nil, "workEmailAddress": nil, "workPhoneNumber": nil}},
		{"employee of a protected person, approved", "p-protected", true, with("p-protected")},
		{"employee of a person without protection", "p-open", false, with("p-open")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := projection.New(c, schema, fields, tt.protected)
			if err != nil {
				t.Fatal(err)
			}
			if p.Referring() == tt.protected {
				t.Fatalf("Referring = %v with protectedApproved %v", p.Referring(), tt.protected)
			}
			plain, err := p.Plain(employeeOf(t, schema, tt.person))
			if err != nil {
				t.Fatal(err)
			}
			got := p.ApplyReferring(plain, protectedPerson)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ApplyReferring =\n%#v\nwant\n%#v", got, tt.want)
			}
			v, err := p.AvroValue(got)
			if err != nil {
				t.Fatalf("AvroValue: %v", err)
			}
			if _, err := avro.Marshal(avro.MustParse(p.Schema()), v); err != nil {
				t.Fatalf("encode with the projected schema: %v", err)
			}
		})
	}
	// What a caller resolves before projecting.
	p, err := projection.New(c, schema, fields, false)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := p.Plain(employeeOf(t, schema, "p-protected"))
	if err != nil {
		t.Fatal(err)
	}
	refs := p.References(plain)
	if len(refs) != 1 || refs[c.Attribute("person")] != "p-protected" {
		t.Errorf("References = %v, want person p-protected", refs)
	}
}
