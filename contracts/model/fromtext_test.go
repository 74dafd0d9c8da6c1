package model_test

import (
	"reflect"
	"testing"

	"github.com/samnav/samnav/contracts/model"
)

// TestFromText: the forms and the importer read typed text one way: whole
// numbers, booleans in English and Swedish, a decimal comma; everything
// else stays text for Validate; a refusal names the rule, not the value.
func TestFromText(t *testing.T) {
	reads := func(typ model.Type, in string, want any) {
		t.Helper()
		got, err := (&model.Attribute{Name: "a", Type: typ}).FromText(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s %q = %#v, %v; want %#v", typ, in, got, err, want)
		}
	}
	refuses := func(typ model.Type, in, rule string) {
		t.Helper()
		if _, err := (&model.Attribute{Name: "a", Type: typ}).FromText(in); err == nil || err.Error() != rule {
			t.Errorf("%s %q: %v, want %q", typ, in, err, rule)
		}
	}
	reads(model.Int, "42", int64(42))
	reads(model.Long, "-7", int64(-7))
	refuses(model.Int, "many", "must be a whole number")
	reads(model.Boolean, "TRUE", true)
	reads(model.Boolean, "ja", true)
	reads(model.Boolean, "Nej", false)
	reads(model.Boolean, "0", false)
	refuses(model.Boolean, "kanske", "must be true or false (ja or nej)")
	reads(model.Decimal, "12,50", "12.50")
	reads(model.String, "Storgatan 1", "Storgatan 1")
	reads(model.Date, "2024-01-31", "2024-01-31")
}
