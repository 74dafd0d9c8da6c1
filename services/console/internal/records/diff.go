package records

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/services/console/internal/site"
)

// shown is one attribute value of a state, flattened: a path, its label
// in the request's language and the value as text.
type shown struct {
	Path, Label, Value string
	// Link is the console's address of a referenced record, or "";
	// RefID is its id (Value is its label).
	Link, RefID string
	// raw is the value as the API has it, for comparing states.
	raw string
}

// flattenShown lists a state's values in model order: records by their
// attributes, lists of records item by item, lists of plain values as one
// comma-separated value, codes with their labels.
func flattenShown(r *site.Request, attrs []*model.Attribute, prefix, labelPrefix string, state map[string]any) []shown {
	var out []shown
	for _, a := range attrs {
		val, ok := state[a.Name]
		if !ok || val == nil {
			continue
		}
		path, label := prefix+a.Name, labelPrefix+r.Text(a.Label)
		switch a.Type {
		case model.Record:
			if m, ok := val.(map[string]any); ok {
				out = append(out, flattenShown(r, a.Attributes, path+".", label+" › ", m)...)
			}
		case model.List:
			items, _ := val.([]any)
			if a.Items != nil && a.Items.Type == model.Record {
				for i, it := range items {
					if m, ok := it.(map[string]any); ok {
						out = append(out, flattenShown(r, a.Items.Attributes, fmt.Sprintf("%s[%d].", path, i), fmt.Sprintf("%s %d › ", label, i+1), m)...)
					}
				}
				continue
			}
			parts := make([]string, len(items))
			for i, it := range items {
				parts[i] = showScalar(r, a.Items, it)
			}
			raws := make([]string, len(items))
			for i, it := range items {
				raws[i] = scalarText(it)
			}
			out = append(out, shown{Path: path, Label: label, Value: strings.Join(parts, ", "), raw: strings.Join(raws, "\x00")})
		default:
			sh := shown{Path: path, Label: label, Value: showScalar(r, a, val), Link: refLink(a, val), raw: scalarText(val)}
			if sh.Link != "" {
				sh.RefID = sh.raw
			}
			out = append(out, sh)
		}
	}
	return out
}

func showScalar(r *site.Request, a *model.Attribute, v any) string {
	s := scalarText(v)
	if a == nil {
		return s
	}
	switch a.Type {
	case model.Enum:
		for _, c := range a.Codes {
			if c.Code == s {
				return r.Text(c.Label) + " (" + s + ")"
			}
		}
	case model.Reference:
		return refLabel(r, a.Ref, s)
	case model.Boolean:
		if b, err := strconv.ParseBool(s); err == nil {
			if b {
				return r.T("form.yes")
			}
			return r.T("form.no")
		}
	}
	return s
}

// diffRow is one changed value: before and after, "" where absent; for a
// reference, the ids of the records before and after.
type diffRow struct {
	Path, Label, Before, After string
	BeforeID, AfterID          string
}

// diffStates lists the values that differ between two states, in model
// order (values only in before last).
func diffStates(r *site.Request, attrs []*model.Attribute, before, after map[string]any) []diffRow {
	b := flattenShown(r, attrs, "", "", before)
	a := flattenShown(r, attrs, "", "", after)
	bm := make(map[string]shown, len(b))
	for _, s := range b {
		bm[s.Path] = s
	}
	seen := map[string]bool{}
	var rows []diffRow
	for _, s := range a {
		seen[s.Path] = true
		if old, ok := bm[s.Path]; !ok || old.raw != s.raw {
			rows = append(rows, diffRow{Path: s.Path, Label: s.Label, Before: old.Value, After: s.Value, BeforeID: old.RefID, AfterID: s.RefID})
		}
	}
	for _, s := range b {
		if !seen[s.Path] {
			rows = append(rows, diffRow{Path: s.Path, Label: s.Label, Before: s.Value, BeforeID: s.RefID})
		}
	}
	return rows
}
