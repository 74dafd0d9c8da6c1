package model_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/samnav/samnav/contracts/contractstest"
	"github.com/samnav/samnav/contracts/model"
)

// good is a minimal valid concept file, for cases to break one line of.
const good = `# yaml-language-server: $schema=./concept.schema.json
id: person
major: 1
name: {sv: Person, en: Person}
definition: {sv: En person., en: A person.}
master: folkbokforing
classification: {confidentiality: 3, integrity: 3, availability: 2}
attributes:
  givenName:
    type: string
    required: true
    label: {sv: Förnamn, en: Given name}
    definition: {sv: Förnamnet., en: The given name.}
`

func attr(name, body string) string {
	return good + "  " + name + ":\n" + indent(body, "    ") + "    label: {sv: X, en: X}\n    definition: {sv: X., en: X.}\n"
}

func indent(s, prefix string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString(prefix + l + "\n")
	}
	return b.String()
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string // each must appear in the error, in this order
	}{
		{"bad type", map[string]string{"person.yaml": strings.Replace(good, "type: string", "type: strng", 1)},
			[]string{`person.yaml:10: concept person: attribute givenName: type "strng" is not one of string, int, long, boolean, date, timestamp, decimal, enum, reference, record, list`}},
		{"unknown key", map[string]string{"person.yaml": strings.Replace(good, "master:", "owner: x\nmaster:", 1)},
			[]string{`person.yaml:6: concept person: concept: unknown key "owner"`}},
		{"unknown attribute key", map[string]string{"person.yaml": attr("age", "type: int\nrequird: true\n")},
			[]string{`person.yaml:16: concept person: attribute age: attribute: unknown key "requird"`}},
		{"id and file name differ", map[string]string{"human.yaml": good}, []string{`human.yaml:2: concept person: id "person" does not match the file name human.yaml (want person.yaml)`}},
		{"missing keys", map[string]string{"person.yaml": "id: person\n"},
			[]string{"person.yaml:1: concept person: major is required", "name is required", "attributes is required"}},
		{"classification out of range", map[string]string{"person.yaml": strings.Replace(good, "integrity: 3", "integrity: 5", 1)},
			[]string{"person.yaml:7: concept person: classification.integrity 5 is not 0-4 (KLASSA levels)"}},
		{"reference does not resolve", map[string]string{"person.yaml": attr("employer", "type: reference\nref: organisation\n")},
			[]string{`person.yaml:14: concept person: attribute employer: ref "organisation" is not a concept of the model (person)`}},
		{"duplicate enum code", map[string]string{"person.yaml": attr("status", "type: enum\ncodes:\n  A: {sv: a, en: a}\n  A: {sv: b, en: b}\n")},
			[]string{`person.yaml:18: concept person: attribute status: code "A" appears twice (first on line 17)`}},
		{"enum code naming", map[string]string{"person.yaml": attr("status", "type: enum\ncodes:\n  49: {sv: a, en: a}\n")},
			[]string{`code "49" must be UPPER_SNAKE_CASE`}},
		{"default of the wrong type", map[string]string{"person.yaml": attr("age", "type: int\ndefault: old\n")},
			[]string{"person.yaml:16: concept person: attribute age: default must be an integer"}},
		{"default not a code", map[string]string{"person.yaml": attr("status", "type: enum\ndefault: C\ncodes:\n  A: {sv: a, en: a}\n")},
			[]string{`default "C" is not one of the enum's codes`}},
		{"default breaks validation", map[string]string{"person.yaml": attr("code", "type: string\ndefault: abc\nvalidation: {pattern: '[0-9]+'}\n")},
			[]string{"default breaks its own validation: must match [0-9]+"}},
		{"required with default", map[string]string{"person.yaml": attr("age", "type: int\nrequired: true\ndefault: 3\n")},
			[]string{"a required attribute cannot have a default"}},
		{"attribute naming", map[string]string{"person.yaml": attr("Given_name", "type: string\n")},
			[]string{"attribute Given_name: name must be lowerCamelCase"}},
		{"reserved id", map[string]string{"person.yaml": attr("id", "type: string\n")},
			[]string{`attribute id: name "id" is reserved`}},
		{"unknown check", map[string]string{"person.yaml": attr("pnr", "type: string\nvalidation: {check: luhn}\n")},
			[]string{`validation.check "luhn" is not one of organisationsnummer, personnummer, postnummer, samordningsnummer`}},
		{"rule for the wrong type", map[string]string{"person.yaml": attr("age", "type: int\nvalidation: {pattern: '[0-9]+'}\n")},
			[]string{"validation.pattern does not apply to type int"}},
		{"bad regexp", map[string]string{"person.yaml": attr("code", "type: string\nvalidation: {pattern: '[0-9'}\n")},
			[]string{"validation.pattern: error parsing regexp"}},
		{"decimal without scale", map[string]string{"person.yaml": attr("amount", "type: decimal\nprecision: 5\n")},
			[]string{"a decimal needs precision and scale"}},
		{"list of lists", map[string]string{"person.yaml": attr("grid", "type: list\nitems:\n  type: list\n  items: {type: int}\n")},
			[]string{"a list's items cannot be a list"}},
		{"parameter of another type", map[string]string{"person.yaml": attr("name", "type: string\nref: person\n")},
			[]string{"ref is only allowed with type reference, not string"}},
		{"nested attribute problem", map[string]string{"person.yaml": attr("address", "type: record\nattributes:\n  postalCode:\n    type: strin\n    label: {sv: P, en: P}\n    definition: {sv: P., en: P.}\n")},
			[]string{`attribute address.postalCode: type "strin" is not one of`}},
		{"missing label language", map[string]string{"person.yaml": strings.Replace(good, "name: {sv: Person, en: Person}", "name: {sv: Person}", 1)},
			[]string{"person.yaml:4: concept person: name: en is required"}},
		{"bad yaml", map[string]string{"person.yaml": "id: [\n"}, []string{"person.yaml: line"}},
		{"duplicate concept id across files", map[string]string{"person.yaml": good, "z.yaml": good},
			[]string{`z.yaml:2: concept person: id "person" does not match the file name z.yaml (want person.yaml)`, `z.yaml:2: concept person: concept id is already defined in person.yaml:2`}},
		{"required self-reference", map[string]string{"person.yaml": attr("mother", "type: reference\nref: person\nrequired: true\n")},
			[]string{"person.yaml:14: concept person: attribute mother: required references form a cycle person → person"}},
		{"required reference cycle", map[string]string{
			"person.yaml": attr("home", "type: reference\nref: house\nrequired: true\n"),
			"house.yaml":  strings.Replace(attr("owners", "type: list\nrequired: true\nitems: {type: reference, ref: person}\nvalidation: {minLength: 1}\n"), "id: person", "id: house", 1),
		}, []string{"person.yaml:14: concept person: attribute home: required references form a cycle person → house → person"}},
		{"generated type names clash", map[string]string{"person.yaml": attr("openingHours", "type: enum\ncodes: {A: {sv: a, en: a}}\n") +
			"  opening:\n    type: record\n    label: {sv: X, en: X}\n    definition: {sv: X., en: X.}\n    attributes:\n      hours:\n        type: record\n        label: {sv: X, en: X}\n        definition: {sv: X., en: X.}\n        attributes:\n          n: {type: int, label: {sv: X, en: X}, definition: {sv: X., en: X.}}\n"},
			[]string{"attribute opening.hours: its generated type name PersonOpeningHours is also that of attribute openingHours"}},
		{"yaml alias", map[string]string{"person.yaml": strings.Replace(good, "name: {sv: Person, en: Person}\ndefinition: {sv: En person., en: A person.}", "name: &n {sv: Person, en: Person}\ndefinition: *n", 1)},
			[]string{"person.yaml:5: YAML alias *n: aliases are not allowed in model files"}},
		{"every problem at once", map[string]string{"person.yaml": strings.Replace(strings.Replace(good, "type: string", "type: strng", 1), "major: 1", "major: 0", 1)},
			[]string{"person.yaml:3: concept person: major 0 must be 1 or more", `person.yaml:10: concept person: attribute givenName: type "strng"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := loadErrors(t, tt.files)
			pos := 0
			for _, want := range tt.want {
				i := strings.Index(msg[pos:], want)
				if i < 0 {
					t.Fatalf("error lacks %q (in order):\n%s", want, msg)
				}
				pos += i + len(want)
			}
		})
	}
}

// loadErrors loads files and returns the message of the model.Errors Load
// must fail with.
func loadErrors(t *testing.T, files map[string]string) string {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, text := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(text)}
	}
	m, err := model.Load(fsys)
	if err == nil {
		t.Fatalf("Load succeeded with %d concepts, want errors", len(m.Concepts))
	}
	var errs model.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error %T is not model.Errors: %v", err, err)
	}
	return err.Error()
}

func TestLoadGood(t *testing.T) {
	m, err := model.Load(fstest.MapFS{"person.yaml": {Data: []byte(good)}})
	if err != nil {
		t.Fatal(err)
	}
	c := m.Concept("person")
	if c == nil || c.Topic() != "samnav.person.v1" || c.Attribute("givenName") == nil || c.Master != "folkbokforing" {
		t.Fatalf("unexpected concept %+v", c)
	}
	if c.Classification != (model.Classification{Confidentiality: 3, Integrity: 3, Availability: 2}) {
		t.Errorf("classification %+v", c.Classification)
	}
}

// TestStartingModel loads the committed model and checks what later
// services rely on: masters, natural keys, the shielded fields of Person.
func TestStartingModel(t *testing.T) {
	m := contractstest.LoadDir(t, "../model")
	masters := map[string]string{"person": "folkbokforing", "organisation": "bolagsverket", "address": "samnav", "unit": "samnav",
		"namnd": "samnav", "forvaltning": "samnav", "employee": "hr-system"}
	for id, master := range masters {
		c := m.Concept(id)
		if c == nil {
			t.Errorf("concept %s missing", id)
			continue
		}
		if c.Master != master {
			t.Errorf("%s: master %q, want %q", id, c.Master, master)
		}
	}
	p := m.Concept("person")
	if a := p.Attribute("personalIdentityNumber"); a == nil || !a.NaturalKey || a.PersonalData != model.IdentityNumber || a.Validation.Check != "personnummer" {
		t.Errorf("person.personalIdentityNumber: %+v", a)
	}
	for _, name := range []string{"registeredAddress", "emailAddress", "phoneNumbers"} {
		if a := p.Attribute(name); a == nil || !a.Shielded {
			t.Errorf("person.%s must be shielded by a protected identity", name)
		}
	}
	if a := p.Attribute("protectedIdentity"); a == nil || a.Type != model.Enum || !a.Required {
		t.Errorf("person.protectedIdentity: %+v", a)
	}
	// Every file names its JSON Schema for editors.
	files, _ := filepath.Glob("../model/*.yaml")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(b), "# yaml-language-server: $schema=./concept.schema.json\n") {
			t.Errorf("%s does not start with the yaml-language-server $schema line", f)
		}
	}
}

func TestValidate(t *testing.T) {
	m := contractstest.LoadDir(t, "../model")
	person := func(changes map[string]any) map[string]any {
		r := map[string]any{
			"id":                     "p-1",
			"personalIdentityNumber": "191212121212",
			"givenNames":             "Tolvan",
			"surname":                "Tolvansson",
			"dateOfBirth":            "1912-12-12",
			"protectedIdentity":      "NONE",
			"registrationStatus":     "REGISTERED",
			"registeredAddress": map[string]any{
				"streetAddress": "Storgatan 1", "postalCode": "111 29", "postTown": "Stockholm", "municipalityCode": "0180",
			},
			"phoneNumbers": []any{"+46701234567"},
		}
		for k, v := range changes {
			if v == nil {
				delete(r, k)
			} else {
				r[k] = v
			}
		}
		return r
	}
	tests := []struct {
		name    string
		concept string
		rec     map[string]any
		want    []string // "field rule"
	}{
		{"valid person", "person", person(nil), nil},
		{"required missing", "person", person(map[string]any{"surname": nil}), []string{"surname required"}},
		{"bad personnummer", "person", person(map[string]any{"personalIdentityNumber": "191212121213"}), []string{"personalIdentityNumber check"}},
		{"pattern", "person", person(map[string]any{"personalIdentityNumber": "19121212-1212"}), []string{"personalIdentityNumber pattern"}},
		{"unknown attribute", "person", person(map[string]any{"shoeSize": 44}), []string{"shoeSize unknown"}},
		{"wrong type", "person", person(map[string]any{"givenNames": 7}), []string{"givenNames type"}},
		{"bad enum code", "person", person(map[string]any{"protectedIdentity": "SECRET"}), []string{"protectedIdentity enum"}},
		{"bad date", "person", person(map[string]any{"dateOfBirth": "1912-13-12"}), []string{"dateOfBirth format"}},
		{"nested postal code", "person", person(map[string]any{"registeredAddress": map[string]any{
			"streetAddress": "Storgatan 1", "postalCode": "1112", "postTown": "Stockholm", "municipalityCode": "0180"}}),
			[]string{"registeredAddress.postalCode check"}},
		{"nested required", "person", person(map[string]any{"registeredAddress": map[string]any{"postalCode": "11129", "postTown": "Stockholm", "municipalityCode": "0180"}}),
			[]string{"registeredAddress.streetAddress required"}},
		{"list item", "person", person(map[string]any{"phoneNumbers": []any{"+46701234567", "070-1234567"}}), []string{"phoneNumbers[1] pattern"}},
		{"list too long", "person", person(map[string]any{"phoneNumbers": []any{"+4670000001", "+4670000002", "+4670000003", "+4670000004", "+4670000005", "+4670000006"}}),
			[]string{"phoneNumbers maxLength"}},
		{"id not a string", "person", person(map[string]any{"id": 5}), []string{"id type"}},
		{"several at once", "person", person(map[string]any{"surname": nil, "givenNames": ""}), []string{"givenNames minLength", "surname required"}},
		{"decimal range", "employee", map[string]any{"person": "p-1", "employeeNumber": "E1", "givenName": "A", "surname": "B", "forvaltning": "f-1",
			"employmentType": "PERMANENT", "employmentRate": "100.5", "startDate": "2020-01-01"}, []string{"employmentRate max"}},
		{"decimal scale", "employee", map[string]any{"person": "p-1", "employeeNumber": "E1", "givenName": "A", "surname": "B", "forvaltning": "f-1",
			"employmentType": "PERMANENT", "employmentRate": json.Number("75.125"), "startDate": "2020-01-01"}, []string{"employmentRate decimal"}},
		{"valid employee", "employee", map[string]any{"person": "p-1", "employeeNumber": "E1", "givenName": "A", "surname": "B", "forvaltning": "f-1",
			"employmentType": "PERMANENT", "employmentRate": 75.5, "startDate": "2020-01-01"}, nil},
		{"empty reference", "unit", map[string]any{"name": "Skolan", "unitType": "PRIMARY_SCHOOL", "ownerNamnd": "", "validFrom": "2020-01-01"}, []string{"ownerNamnd reference"}},
		{"int range", "unit", map[string]any{"name": "Skolan", "unitType": "PRIMARY_SCHOOL", "ownerNamnd": "n-1", "validFrom": "2020-01-01", "capacity": -1.0}, []string{"capacity min"}},
		{"int not integral", "unit", map[string]any{"name": "Skolan", "unitType": "PRIMARY_SCHOOL", "ownerNamnd": "n-1", "validFrom": "2020-01-01", "capacity": 1.5}, []string{"capacity type"}},
		{"organisationsnummer", "organisation", map[string]any{"organisationNumber": "556016-0681", "name": "X", "legalForm": "AB"}, []string{"organisationNumber check"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, fe := range m.Concept(tt.concept).Validate(tt.rec) {
				got = append(got, fe.Field+" "+fe.Rule)
				if fe.Message == "" {
					t.Errorf("%s: no message", fe.Field)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// FuzzLoad feeds arbitrary bytes as a concept file: Load may reject them
// but must not panic, and every error must name the file.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte(attr("status", "type: enum\ndefault: A\ncodes:\n  A: {sv: a, en: a}\n")))
	f.Add([]byte(attr("items", "type: list\ndefault: []\nitems: {type: record, attributes: {x: {type: int, label: {sv: x, en: x}, definition: {sv: x, en: x}}}}\n")))
	f.Add([]byte("id: [\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := model.Load(fstest.MapFS{"person.yaml": {Data: data}})
		var errs model.Errors
		if err != nil && errors.As(err, &errs) {
			for _, e := range errs {
				if e.File != "person.yaml" {
					t.Errorf("error %q does not name the file", e)
				}
			}
		}
	})
}

// FuzzValidate feeds arbitrary JSON as a person record: Validate must not
// panic.
func FuzzValidate(f *testing.F) {
	m := contractstest.LoadDir(f, "../model")
	f.Add([]byte(`{"givenNames":"A","registeredAddress":{"postalCode":"11129"},"phoneNumbers":["+46701234567",null]}`))
	f.Add([]byte(`{"employmentRate":"1e999999999","capacity":1e300}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var rec map[string]any
		if json.Unmarshal(data, &rec) != nil {
			return
		}
		for _, c := range m.Concepts {
			c.Validate(rec)
		}
	})
}

func TestModelValidate(t *testing.T) {
	m := contractstest.LoadDir(t, "../model")
	if errs := m.Validate("spaceship", map[string]any{}); len(errs) != 1 || errs[0].Rule != "concept" {
		t.Errorf("unknown concept: %v", errs)
	}
	if errs := m.Validate("namnd", map[string]any{"name": "Utbildningsnämnden", "kind": "SPECIALIST", "validFrom": "2023-01-01"}); errs != nil {
		t.Errorf("valid nämnd: %v", errs)
	}
}

func TestApplyDefaults(t *testing.T) {
	m := contractstest.LoadDir(t, "../model")
	rec := m.Concept("unit").ApplyDefaults(map[string]any{"name": "Skolan", "ownership": nil})
	if rec["ownership"] != "MUNICIPAL" {
		t.Errorf("ownership = %v, want the default MUNICIPAL", rec["ownership"])
	}
	if l, ok := rec["openingHours"].([]any); !ok || len(l) != 0 {
		t.Errorf("openingHours = %#v, want an empty list", rec["openingHours"])
	}
	if _, set := rec["capacity"]; set {
		t.Errorf("capacity has no default but was set to %v", rec["capacity"])
	}
	rec = m.Concept("organisation").ApplyDefaults(map[string]any{"status": "IN_LIQUIDATION"})
	if rec["status"] != "IN_LIQUIDATION" || rec["vatRegistered"] != false {
		t.Errorf("got %v", rec)
	}
}

// TestEveryScalarTypeHasAnAvroForm: every attribute type but the named and
// complex ones (enum, record, list) maps to an Avro primitive, so a new
// scalar type cannot reach the generator or the encoder without one.
func TestEveryScalarTypeHasAnAvroForm(t *testing.T) {
	for _, ty := range model.Types {
		p, l, ok := ty.Avro()
		complex := ty == model.Enum || ty == model.Record || ty == model.List
		if ok == complex || (ok && p == "") {
			t.Errorf("%s: Avro() = %q, %q, %v", ty, p, l, ok)
		}
	}
	if p, l, _ := model.Timestamp.Avro(); p != "long" || l != "timestamp-millis" {
		t.Errorf("timestamp: %s.%s, want long.timestamp-millis", p, l)
	}
}
