package console

import (
	"net/url"
	"reflect"
	"testing"

	"github.com/samnav/samnav/contracts"
	"github.com/samnav/samnav/services/console/internal/api"
	"github.com/samnav/samnav/services/console/internal/i18n"
)

func TestFormValuesRoundTripThroughState(t *testing.T) {
	m, err := contracts.Model()
	if err != nil {
		t.Fatal(err)
	}
	unit := m.Concept("unit")
	state := map[string]any{
		"name": "Solskolan", "unitType": "PRIMARY_SCHOOL", "ownerNamnd": "n-1", "validFrom": "2019-08-01", "capacity": int64(420),
		"openingHours": []any{
			map[string]any{"dayOfWeek": "MONDAY", "opens": "07:30", "closes": "17:00"},
			map[string]any{"dayOfWeek": "TUESDAY", "opens": "08:00", "closes": "16:00"},
		},
	}
	values := stateToValues(unit.Attributes, state)
	if values.Get("openingHours[1].opens") != "08:00" || values.Get("capacity") != "420" {
		t.Fatalf("values %v", values)
	}
	got, errs := valuesToState(unit.Attributes, "", values)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if !reflect.DeepEqual(got, state) {
		t.Fatalf("round trip:\n got %v\nwant %v", got, state)
	}

	person := m.Concept("person")
	pv := url.Values{"phoneNumbers": {"+4681234567\n\n +46701234567 \n"}, "registeredAddress.postalCode": {"11122"}}
	ps, _ := valuesToState(person.Attributes, "", pv)
	if !reflect.DeepEqual(ps["phoneNumbers"], []any{"+4681234567", "+46701234567"}) {
		t.Fatalf("list of plain values: %v", ps["phoneNumbers"])
	}
	if addr, _ := ps["registeredAddress"].(map[string]any); addr["postalCode"] != "11122" {
		t.Fatalf("nested record: %v", ps["registeredAddress"])
	}
	if _, ok := ps["protectedIdentity"]; ok {
		t.Fatal("an empty input must leave the attribute out")
	}
}

func TestUnreadableValuesAreNamedByField(t *testing.T) {
	m, _ := contracts.Model()
	unit := m.Concept("unit")
	_, errs := valuesToState(unit.Attributes, "", url.Values{"capacity": {"many"}})
	if len(errs) != 1 || errs[0].Field != "capacity" || errs[0].Rule != "type" {
		t.Fatalf("errors %v", errs)
	}
}

func TestErrorsGoToTheNearestField(t *testing.T) {
	m, _ := contracts.Model()
	person := m.Concept("person")
	r := &Request{Lang: i18n.EN}
	fm := buildForm(r, person.Attributes, url.Values{}, []api.FieldError{
		{Field: "phoneNumbers[1]", Rule: "pattern", Message: "must match"},
		{Field: "registeredAddress.postalCode", Rule: "required", Message: "is required"},
		{Field: "", Rule: "conflict", Message: "personalIdentityNumber is held by another record"},
	}, nil)
	want := map[string]bool{"f-phoneNumbers": true, "f-registeredAddress-postalCode": true, "": true}
	if len(fm.Errors) != 3 {
		t.Fatalf("summary %v", fm.Errors)
	}
	for _, e := range fm.Errors {
		if !want[e.ID] {
			t.Errorf("error %+v linked to an unexpected field", e)
		}
	}
}

func TestAttributeAt(t *testing.T) {
	m, _ := contracts.Model()
	unit, person := m.Concept("unit"), m.Concept("person")
	for _, tc := range []struct {
		path string
		ok   bool
	}{
		{"name", true}, {"openingHours[0].opens", true}, {"openingHours[12].dayOfWeek", true},
		{"openingHours", true}, {"openingHours[x].opens", false}, {"openingHours[0]", false}, {"name.first", false},
		{"colour", false}, {"openingHours[0].colour", false},
	} {
		if got := attributeAt(unit.Attributes, tc.path) != nil; got != tc.ok {
			t.Errorf("unit %q: found %v, want %v", tc.path, got, tc.ok)
		}
	}
	if attributeAt(person.Attributes, "registeredAddress.postalCode") == nil {
		t.Error("person registeredAddress.postalCode not found")
	}
}

// FuzzParseImport: any uploaded file is either refused with an error or
// turned into rows that name only attributes of the concept.
func FuzzParseImport(f *testing.F) {
	f.Add([]byte(unitsCSV))
	f.Add([]byte("name\n\"unterminated\n"))
	f.Add([]byte("\xef\xbb\xbfname,openingHours[0].opens\nA,07:00\n"))
	m, err := contracts.Model()
	if err != nil {
		f.Fatal(err)
	}
	unit := m.Concept("unit")
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := parseImport(unit, data)
		if err != nil {
			return
		}
		for _, r := range rows {
			for k := range r.Values {
				if attributeAt(unit.Attributes, k) == nil {
					t.Fatalf("row %d names %q, not an attribute", r.Row, k)
				}
			}
			// Converting a row never panics, whatever it holds.
			valuesToState(unit.Attributes, "", r.Values)
		}
	})
}

func TestParseImportReadsSemicolons(t *testing.T) {
	m, _ := contracts.Model()
	rows, err := parseImport(m.Concept("unit"), []byte("name;unitType;validFrom\r\nSolskolan, F-9;PRIMARY_SCHOOL;2019-08-01\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Values.Get("name") != "Solskolan, F-9" || rows[0].Values.Get("unitType") != "PRIMARY_SCHOOL" || rows[0].Row != 2 {
		t.Fatalf("rows %+v", rows)
	}
}
