package site

import (
	"strings"

	"github.com/samnav/samnav/contracts/model"
)

// How the model's enums, personal data and classification read on a page.

// CodesText lists an enum's codes with their labels.
func CodesText(v *View, a *model.Attribute) string {
	parts := make([]string, len(a.Codes))
	for i, c := range a.Codes {
		parts[i] = c.Code + " (" + v.Text(c.Label) + ")"
	}
	return strings.Join(parts, ", ")
}

// Codes returns the enum codes of a with labels, for templates.
func (v *View) Codes(a *model.Attribute) string { return CodesText(v, a) }

// PersonalData names a's kind of personal data in the page's language.
func (v *View) PersonalData(a *model.Attribute) string {
	if a.PersonalData == model.NotPersonal {
		return v.T("pd.none")
	}
	return v.T("pd." + string(a.PersonalData))
}

// Classification returns the attribute's classification, or its
// concept's when it has none of its own.
func (v *View) Classification(a *model.Attribute, c *model.Concept) model.Classification {
	if a.Classification != nil {
		return *a.Classification
	}
	return c.Classification
}
