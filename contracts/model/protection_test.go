package model_test

import (
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/samnav/samnav/contracts/contractstest"
	"github.com/samnav/samnav/contracts/model"
)

// shieldedPerson is good with a shielded address: a concept with protected
// identities, the target a protecting reference needs.
var shieldedPerson = attr("protectedIdentity", "type: enum\nrequired: true\ncodes: {NONE: {sv: a, en: a}, PROTECTED_REGISTRATION: {sv: b, en: b}}\n") +
	"  street:\n    type: string\n    shielded: true\n    label: {sv: X, en: X}\n    definition: {sv: X., en: X.}\n"

// staff is a concept referring to person; protection is the reference's
// protection block (indented under it), "" for none.
func staff(protection string) string {
	s := strings.NewReplacer("id: person", "id: staff", "master: folkbokforing", "master: hr-system").Replace(good)
	s += "  person:\n    type: reference\n    ref: person\n    required: true\n    label: {sv: X, en: X}\n    definition: {sv: X., en: X.}\n"
	if protection != "" {
		s += indent(protection, "    ")
	}
	s += "  unit:\n    type: string\n    label: {sv: X, en: X}\n    definition: {sv: X., en: X.}\n"
	return s
}

func TestProtectionLoadErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"not a reference", map[string]string{"person.yaml": attr("nick", "type: string\nprotection: {locating: [nick]}\n")},
			`person.yaml:16: concept person: attribute nick: protection is only allowed with type reference, not string`},
		{"target without protected identities", map[string]string{"person.yaml": good, "staff.yaml": staff("protection: {locating: [person, unit]}")},
			`staff.yaml:20: concept staff: attribute person.protection: ref "person" has no shielded attribute, so none of its records is ever a protected identity`},
		{"locating missing", map[string]string{"person.yaml": shieldedPerson, "staff.yaml": staff("protection: {}")},
			`staff.yaml:20: concept staff: attribute person.protection: locating is required`},
		{"locating not a list", map[string]string{"person.yaml": shieldedPerson, "staff.yaml": staff("protection: {locating: unit}")},
			`staff.yaml:20: concept staff: attribute person.protection: locating must be a list of attribute names`},
		{"locating empty", map[string]string{"person.yaml": shieldedPerson, "staff.yaml": staff("protection: {locating: []}")},
			`staff.yaml:20: concept staff: attribute person.protection: locating must name at least the reference itself (person)`},
		{"locating an unknown attribute", map[string]string{"person.yaml": shieldedPerson, "staff.yaml": staff("protection: {locating: [person, office]}")},
			`staff.yaml:20: concept staff: attribute person.protection: locating "office" is not a top-level attribute of staff (givenName, person, unit)`},
		{"locating twice", map[string]string{"person.yaml": shieldedPerson, "staff.yaml": staff("protection: {locating: [person, unit, unit]}")},
			`staff.yaml:20: concept staff: attribute person.protection: locating names "unit" twice`},
		{"reference itself not locating", map[string]string{"person.yaml": shieldedPerson, "staff.yaml": staff("protection: {locating: [unit]}")},
			`staff.yaml:20: concept staff: attribute person.protection: locating must name the reference itself (person): the link leads to the protected person`},
		{"unknown key", map[string]string{"person.yaml": shieldedPerson, "staff.yaml": staff("protection: {locating: [person], via: x}")},
			`staff.yaml:20: concept staff: attribute person.protection: protection: unknown key "via" (allowed: locating)`},
		{"nested reference", map[string]string{"person.yaml": shieldedPerson, "staff.yaml": staff("") +
			"  home:\n    type: record\n    label: {sv: X, en: X}\n    definition: {sv: X., en: X.}\n    attributes:\n      owner:\n        type: reference\n        ref: person\n        label: {sv: X, en: X}\n        definition: {sv: X., en: X.}\n        protection: {locating: [owner]}\n"},
			`staff.yaml:34: concept staff: attribute home.owner: protection is only allowed on a top-level reference`},
		{"list item", map[string]string{"person.yaml": shieldedPerson, "staff.yaml": staff("") +
			"  mates:\n    type: list\n    label: {sv: X, en: X}\n    definition: {sv: X., en: X.}\n    items: {type: reference, ref: person, protection: {locating: [mates]}}\n"},
			`concept staff: attribute mates.items: items: unknown key "protection"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if msg := loadErrors(t, tt.files); !strings.Contains(msg, tt.want) {
				t.Fatalf("error lacks %q:\n%s", tt.want, msg)
			}
		})
	}
}

func TestShieldReferring(t *testing.T) {
	m, err := model.Load(fstest.MapFS{"person.yaml": {Data: []byte(shieldedPerson)},
		"staff.yaml": {Data: []byte(staff("protection: {locating: [unit, person]}"))}})
	if err != nil {
		t.Fatal(err)
	}
	c := m.Concept("staff")
	if refs := c.ProtectingReferences(); len(refs) != 1 || refs[0].Name != "person" {
		t.Fatalf("ProtectingReferences = %v", refs)
	}
	protected := func(ref *model.Attribute, id string) bool { return ref.Ref == "person" && id == "p-protected" }
	state := map[string]any{"id": "s1", "givenName": "Anna", "person": "p-protected", "unit": "u1"}
	got, withheld := c.ShieldReferring(state, protected)
	if want := map[string]any{"id": "s1", "givenName": "Anna"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ShieldReferring = %v, want %v", got, want)
	}
	if want := []string{"person", "unit"}; !reflect.DeepEqual(withheld, want) {
		t.Errorf("withheld = %v, want %v (model order)", withheld, want)
	}
	if state["unit"] != "u1" {
		t.Error("ShieldReferring changed its input")
	}
	other := map[string]any{"id": "s2", "givenName": "Bo", "person": "p-open", "unit": "u1"}
	if got, withheld := c.ShieldReferring(other, protected); !reflect.DeepEqual(got, other) || withheld != nil {
		t.Errorf("unprotected reference: got %v withheld %v, want the state unchanged", got, withheld)
	}
	if !c.Locating("unit") || c.Locating("givenName") {
		t.Error("Locating: want unit, not givenName")
	}
}

// TestEmployeeProtection: the committed model declares that an employee of
// a protected person withholds the workplace, the work contacts and the
// link to the person (docs/protected-identities.md gives the reasons).
func TestEmployeeProtection(t *testing.T) {
	m := contractstest.LoadDir(t, "../model")
	ref := m.Concept("employee").Attribute("person")
	if ref == nil || ref.Protection == nil {
		t.Fatal("employee.person carries no protection")
	}
	want := []string{"person", "unit", "workEmailAddress", "workPhoneNumber"}
	if !reflect.DeepEqual(ref.Protection.Locating, want) {
		t.Errorf("employee.person locating = %v, want %v", ref.Protection.Locating, want)
	}
}
