package records

import (
	"net/url"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/samnav/samnav/contracts/contractstest"
	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/services/console/internal/i18n"
	"github.com/samnav/samnav/services/console/internal/site"
)

func TestFormValuesRoundTripThroughState(t *testing.T) {
	m := contractstest.Model(t)
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
	m := contractstest.Model(t)
	unit := m.Concept("unit")
	_, errs := valuesToState(unit.Attributes, "", url.Values{"capacity": {"Tolvan Tolvansson"}})
	if len(errs) != 1 || errs[0].Field != "capacity" || errs[0].Rule != "type" {
		t.Fatalf("errors %v", errs)
	}
	// A value typed into the wrong field may be personal data: the
	// message names the rule, never the value.
	if strings.Contains(errs[0].Message, "Tolvan") {
		t.Fatalf("message %q quotes the value", errs[0].Message)
	}
}

func TestErrorsGoToTheNearestField(t *testing.T) {
	m := contractstest.Model(t)
	person := m.Concept("person")
	r := &site.Request{Lang: i18n.EN}
	fm := buildForm(r, person.Attributes, url.Values{}, []apierr.FieldError{
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
	m := contractstest.Model(t)
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
	units, err := os.ReadFile("../consoletest/testdata/units.csv")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(units)
	f.Add([]byte("name\n\"unterminated\n"))
	f.Add([]byte("\xef\xbb\xbfname,openingHours[0].opens\nA,07:00\n"))
	m := contractstest.Model(f)
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
	m := contractstest.Model(t)
	rows, err := parseImport(m.Concept("unit"), []byte("name;unitType;validFrom\r\nSolskolan, F-9;PRIMARY_SCHOOL;2019-08-01\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Values.Get("name") != "Solskolan, F-9" || rows[0].Values.Get("unitType") != "PRIMARY_SCHOOL" || rows[0].Row != 2 {
		t.Fatalf("rows %+v", rows)
	}
}

// TestFieldMessagesAreWordedByRule: a field error is worded in the page's
// language from the API's rule and the model's limits for the field, never
// mixed with the API's English; an unknown rule keeps the API's text.
func TestFieldMessagesAreWordedByRule(t *testing.T) {
	m := contractstest.Model(t)
	unit, person := m.Concept("unit").Attributes, m.Concept("person").Attributes
	for _, tc := range []struct {
		attrs  []*model.Attribute
		e      apierr.FieldError
		sv, en string
	}{
		{unit, apierr.FieldError{Field: "name", Rule: "required", Message: "is required"}, "måste anges", "is required"},
		{unit, apierr.FieldError{Field: "name", Rule: "maxLength", Message: "must be at most 200 characters"}, "får ha högst 200 tecken", "may have at most 200 characters"},
		{unit, apierr.FieldError{Field: "capacity", Rule: "type", Message: `must be a whole number, got "many"`}, "måste vara ett heltal", "must be a whole number"},
		{unit, apierr.FieldError{Field: "capacity", Rule: "max", Message: "must be at most 100000"}, "får vara högst 100000", "may be at most 100000"},
		{unit, apierr.FieldError{Field: "unitType", Rule: "enum", Message: `"CASTLE" is not one of PRIMARY_SCHOOL, ...`}, "är inte en av de tillåtna koderna", "is not one of the allowed codes"},
		{unit, apierr.FieldError{Field: "openingHours[0].opens", Rule: "pattern", Message: "must match [0-2][0-9]:[0-5][0-9]"}, "har fel format", "has the wrong format"},
		{unit, apierr.FieldError{Field: "validFrom", Rule: "format", Message: `"2019" is not a date YYYY-MM-DD`}, "måste vara ett datum, ÅÅÅÅ-MM-DD", "must be a date, YYYY-MM-DD"},
		{unit, apierr.FieldError{Field: "ownerNamnd", Rule: "reference", Message: "must be the id of a namnd record"}, "måste vara id för en post av begreppet namnd", "must be the id of a record of the concept namnd"},
		{unit, apierr.FieldError{Field: "schoolUnitCode", Rule: "unique", Message: "is held by another record"}, "finns redan på en annan post", "is already held by another record"},
		{person, apierr.FieldError{Field: "personalIdentityNumber", Rule: "check", Message: "bad checksum"}, "är inte ett giltigt personnummer", "is not a valid personal identity number"},
		{person, apierr.FieldError{Field: "phoneNumbers[1]", Rule: "pattern", Message: "must match"}, "har fel format", "has the wrong format"},
		{unit, apierr.FieldError{Field: "", Rule: "conflict", Message: "the record changed"}, "the record changed", "the record changed"},
	} {
		for _, lang := range []struct {
			l    i18n.Lang
			want string
		}{{i18n.SV, tc.sv}, {i18n.EN, tc.en}} {
			if got := fieldMessage(&site.Request{Lang: lang.l}, tc.attrs, tc.e); got != lang.want {
				t.Errorf("%s %s/%s: %q, want %q", lang.l, tc.e.Field, tc.e.Rule, got, lang.want)
			}
		}
	}
}
