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
	for _, tc := range []struct {
		typ  model.Type
		in   string
		want any
		err  string
	}{
		{model.Int, "42", int64(42), ""},
		{model.Long, "-7", int64(-7), ""},
		{model.Int, "many", nil, "must be a whole number"},
		{model.Boolean, "TRUE", true, ""},
		{model.Boolean, "ja", true, ""},
		{model.Boolean, "Nej", false, ""},
		{model.Boolean, "0", false, ""},
		{model.Boolean, "kanske", nil, "must be true or false (ja or nej)"},
		{model.Decimal, "12,50", "12.50", ""},
		{model.String, "Storgatan 1", "Storgatan 1", ""},
		{model.Date, "2024-01-31", "2024-01-31", ""},
	} {
		got, err := (&model.Attribute{Name: "a", Type: tc.typ}).FromText(tc.in)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%s %q: %v, want %q", tc.typ, tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s %q = %#v, %v; want %#v", tc.typ, tc.in, got, err, tc.want)
		}
	}
}
