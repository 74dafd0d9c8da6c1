package subscriptions

import (
	"slices"
	"testing"

	"github.com/samnav/samnav/pkg/sdk/apierr"

	"github.com/samnav/samnav/services/console/internal/i18n"
	"github.com/samnav/samnav/services/console/internal/site"
)

// TestSubscriptionAPIErrorsInThePageLanguage: the delivery API's field
// problems (a field, a rule and English text) are shown at their input in
// the page's language; a problem the console has no words for keeps the
// API's field and text.
func TestSubscriptionAPIErrorsInThePageLanguage(t *testing.T) {
	ae := &apierr.Error{Fields: []apierr.FieldError{
		{Field: "legalBasis.reference", Rule: "required", Message: "the law, regulation or decision the basis rests on is required"},
		{Field: "channel", Rule: "enum", Message: "must be one of [kafka webhook feed]"},
		{Field: "fields", Rule: "required", Message: "at least one attribute is required"},
		{Field: "protectedIdentities", Rule: "requested", Message: "may be approved only when requested"},
	}}
	got := subAPIFormErrors(&site.Request{Lang: i18n.SV}, ae)
	want := subFormErrors{{"reference", "Ange lagen, förordningen eller beslutet."}, {"channel", "Välj en kanal."},
		{"fields", "Välj minst ett fält."}, {"protectedIdentities", "protectedIdentities: may be approved only when requested"}}
	if !slices.Equal(got, want) {
		t.Fatalf("errors\n got %q\nwant %q", got, want)
	}
	ae.Fields = []apierr.FieldError{{Field: "fields", Rule: "reference", Message: `"colour" is not an attribute of person`}}
	if got := subAPIFormErrors(&site.Request{Lang: i18n.EN}, ae); len(got) != 1 || got[0].Message != `fields: "colour" is not an attribute of person` {
		t.Fatalf("a named field: %q", got)
	}
}
