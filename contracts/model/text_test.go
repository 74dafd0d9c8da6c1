package model_test

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/samnav/samnav/contracts/model"
)

func validUnit(name string) map[string]any {
	return map[string]any{"name": name, "unitType": "PRIMARY_SCHOOL", "ownerNamnd": "n-1", "validFrom": "2020-01-01"}
}

// TestTextRules: every string and reference value, nested or in a list,
// refuses controls, bidirectional controls and what is not Unicode text,
// naming the field and the rule; and the message never quotes the value.
func TestTextRules(t *testing.T) {
	m, err := model.LoadDir("../model")
	if err != nil {
		t.Fatal(err)
	}
	unit := m.Concept("unit")
	// decoded is what encoding/json makes of a JSON string literal, so the
	// lone surrogate case is the decoder's real output.
	decoded := func(literal string) string {
		var s string
		if err := json.Unmarshal([]byte(literal), &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct {
		name, value, rule string
	}{
		{"NUL", "Sol\x00skolan", model.RuleControl},
		{"C0 SOH", "Sol\x01skolan", model.RuleControl},
		{"tab", "Sol\tskolan", model.RuleControl},
		{"newline", "Sol\nskolan", model.RuleControl},
		{"carriage return", "Solskolan\r", model.RuleControl},
		{"escape", "\x1b[31mSolskolan", model.RuleControl},
		{"DEL", "Sol\x7fskolan", model.RuleControl},
		{"C1 NEL", "Sol\u0085skolan", model.RuleControl},
		{"C1 APC", "Sol\u009fskolan", model.RuleControl},
		{"LRE", "Sol\u202askolan", model.RuleBidi},
		{"RLE", "Sol\u202bskolan", model.RuleBidi},
		{"PDF", "Sol\u202cskolan", model.RuleBidi},
		{"LRO", "Sol\u202dskolan", model.RuleBidi},
		{"RLO", "Sol\u202eskolan", model.RuleBidi},
		{"LRI", "Sol\u2066skolan", model.RuleBidi},
		{"RLI", "Sol\u2067skolan", model.RuleBidi},
		{"FSI", "Sol\u2068skolan", model.RuleBidi},
		{"PDI", "Sol\u2069skolan", model.RuleBidi},
		{"LRM", "Sol\u200eskolan", model.RuleBidi},
		{"RLM", "Sol\u200fskolan", model.RuleBidi},
		{"ALM", "Sol\u061cskolan", model.RuleBidi},
		{"lone high surrogate escape", decoded(`"Sol\ud800skolan"`), model.RuleInvalidUnicode},
		{"lone low surrogate escape", decoded(`"Solskolan\udc00"`), model.RuleInvalidUnicode},
		{"replacement character", "Sol\ufffdskolan", model.RuleInvalidUnicode},
		{"invalid UTF-8", "Sol\xffskolan", model.RuleInvalidUnicode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, c := range []struct {
				field string
				rec   map[string]any
			}{
				{"name", validUnit(tt.value)},
				{"ownerNamnd", func() map[string]any { u := validUnit("Solskolan"); u["ownerNamnd"] = tt.value; return u }()},
				{"openingHours[0].opens", func() map[string]any {
					u := validUnit("Solskolan")
					u["openingHours"] = []any{map[string]any{"dayOfWeek": "MONDAY", "opens": tt.value, "closes": "17:00"}}
					return u
				}()},
			} {
				errs := unit.Validate(c.rec)
				if len(errs) != 1 || errs[0].Field != c.field || errs[0].Rule != tt.rule {
					t.Fatalf("%s: got %+v, want one %s %s", c.field, errs, c.field, tt.rule)
				}
				if strings.Contains(errs[0].Message, "skolan") {
					t.Errorf("%s: message %q quotes the value", c.field, errs[0].Message)
				}
			}
		})
	}
	// Letters of any script, and joiners that are part of writing, pass.
	for _, ok := range []string{"Solskolan", "Ängby förskola", "Café Ølstue", "مدرسة", "שלום", "学校", "👩\u200d👩\u200d👧"} {
		if errs := unit.Validate(validUnit(ok)); errs != nil {
			t.Errorf("%q: %v", ok, errs)
		}
	}
}

// TestNormalize: strings become NFC everywhere in the record, before the
// model's limits are checked; other values stay as they are.
func TestNormalize(t *testing.T) {
	m, err := model.LoadDir("../model")
	if err != nil {
		t.Fatal(err)
	}
	unit := m.Concept("unit")
	nfd := "A\u030angby sko\u0308la" // "Ångby sköla" with combining marks
	nfc := "\u00c5ngby sk\u00f6la"
	rec := validUnit(nfd)
	rec["capacity"] = 30.0
	rec["openingHours"] = []any{map[string]any{"dayOfWeek": "MONDAY", "opens": nfd, "closes": "17:00"}}
	if got := unit.Normalize(rec); got["name"] != nfc || got["openingHours"].([]any)[0].(map[string]any)["opens"] != nfc || got["capacity"] != 30.0 || got["ownerNamnd"] != "n-1" {
		t.Fatalf("normalized: %#v", got)
	}
	person := m.Concept("person").Normalize(map[string]any{"givenNames": nfd, "registeredAddress": map[string]any{"streetAddress": nfd}})
	if person["givenNames"] != nfc || person["registeredAddress"].(map[string]any)["streetAddress"] != nfc {
		t.Fatalf("normalized person: %#v", person)
	}
	if model.NormalizeText(nfc) != nfc {
		t.Fatal("NFC input must stay as it is")
	}
	// A name at the limit in NFC is over it in NFD: normalised first, it passes.
	long := strings.Repeat("o\u0308", 200)
	if a := unit.Attribute("name"); a.Validation.MaxLength == nil || *a.Validation.MaxLength != 200 {
		t.Fatalf("unit.name: the test assumes maxLength 200, got %+v", a.Validation)
	}
	if errs := unit.Validate(unit.Normalize(validUnit(long))); errs != nil {
		t.Fatalf("200 characters in NFC: %v", errs)
	}
}

// TestMessagesDoNotQuotePersonalValues seeds a personnummer and a name into
// every kind of invalid value of the person concept: no message may carry
// the value, or the date of birth a personnummer holds.
func TestMessagesDoNotQuotePersonalValues(t *testing.T) {
	m, err := model.LoadDir("../model")
	if err != nil {
		t.Fatal(err)
	}
	const pnr, future, name = "209912319999", "2099-12-31", "Tolvan Tolvansson"
	rec := map[string]any{
		"personalIdentityNumber": pnr,            // a date of birth in the future
		"coordinationNumber":     "209912319999", // not a samordningsnummer (day not above 60)
		"givenNames":             name + "\x00",
		"surname":                "Tolvansson",
		"dateOfBirth":            pnr, // a personnummer in the date column
		"dateOfDeath":            name,
		"protectedIdentity":      name, // a name in a code column
		"registrationStatus":     "REGISTERED",
		"registerUpdatedAt":      pnr,
	}
	errs := m.Concept("person").Validate(rec)
	want := map[string]bool{"personalIdentityNumber": true, "coordinationNumber": true, "givenNames": true, "dateOfBirth": true,
		"dateOfDeath": true, "protectedIdentity": true, "registerUpdatedAt": true}
	for _, fe := range errs {
		delete(want, fe.Field)
		for _, leak := range []string{pnr, future, "20991231", name, "Tolvan"} {
			if strings.Contains(fe.Message, leak) {
				t.Errorf("%s %s: message %q quotes %q", fe.Field, fe.Rule, fe.Message, leak)
			}
		}
	}
	if len(want) > 0 {
		t.Fatalf("fields not refused: %v (errors %+v)", want, errs)
	}
	// A check's own words are kept where the attribute is not personal.
	errs = m.Concept("address").Validate(map[string]any{"postalCode": "01234"})
	for _, fe := range errs {
		if fe.Field == "postalCode" && !strings.Contains(fe.Message, "cannot start with 0") {
			t.Errorf("postalCode: %q lost the check's words", fe.Message)
		}
	}
}

// FuzzCheckText: text CheckText accepts is UTF-8 without a refused code
// point, stays accepted in NFC, and NFC is idempotent.
func FuzzCheckText(f *testing.F) {
	for _, s := range []string{"Solskolan", "A\u030angby", "Sol\u202eskolan", "\x00", "\xff", "\ufffd", "\u0085", "مدرسة\u061c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rule, msg := model.CheckText(s)
		n := model.NormalizeText(s)
		if model.NormalizeText(n) != n {
			t.Fatalf("NFC of %q is not stable", s)
		}
		if rule != "" {
			if msg == "" {
				t.Fatalf("%q: rule %s without a message", s, rule)
			}
			return
		}
		if !utf8.ValidString(s) {
			t.Fatalf("%q is not UTF-8 but passes", s)
		}
		for _, r := range s {
			if r < 0x20 || (r >= 0x7f && r <= 0x9f) || r == utf8.RuneError || strings.ContainsRune("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c", r) {
				t.Fatalf("%q passes with U+%04X", s, r)
			}
		}
		if rule, _ := model.CheckText(n); rule != "" {
			t.Fatalf("%q passes but its NFC %q breaks %s", s, n, rule)
		}
	})
}
