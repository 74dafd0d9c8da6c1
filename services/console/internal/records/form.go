package records

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/services/console/internal/site"
)

// Forms are generated from the model. A form value's name is the
// attribute's path as the APIs name fields in their errors:
// "name", "registeredAddress.postalCode", "openingHours[1].day". A list
// of plain values is one textarea, one item per line, named by the list.

// formField is one input (or fieldset) of a generated form.
type formField struct {
	Name     string // the form value's name, the attribute's path
	ID       string // the element id
	Label    string
	Help     string
	Kind     string // text, number, decimal, date, timestamp, select, textarea, fieldset, records
	Required bool
	Value    string
	Options  []formOption
	Error    string
	// Children are a record's fields (Kind fieldset); Items a list of
	// records' item fieldsets (Kind records), each a fieldset field.
	Children []*formField
	Items    []*formField
}

type formOption struct {
	Value, Label string
	Selected     bool
}

// ErrorID is the id of the field's error message, for aria-describedby.
func (f *formField) ErrorID() string { return f.ID + "-error" }

// HelpID is the id of the field's help text.
func (f *formField) HelpID() string { return f.ID + "-help" }

// DescribedBy lists the ids that describe the field.
func (f *formField) DescribedBy() string {
	var ids []string
	if f.Help != "" {
		ids = append(ids, f.HelpID())
	}
	if f.Error != "" {
		ids = append(ids, f.ErrorID())
	}
	return strings.Join(ids, " ")
}

var idUnsafe = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

func fieldID(path string) string {
	return "f-" + strings.Trim(idUnsafe.ReplaceAllString(path, "-"), "-")
}

// formError is one problem shown in a form's error summary, linked to
// its field.
type formError struct {
	ID      string // the field's element id, "" when no field shows it
	Label   string
	Message string
}

// formModel is a generated form: its fields, the values and the errors.
type formModel struct {
	Fields []*formField
	Errors []formError
}

// buildForm generates the form for attrs from values (form values by
// path) and places errors (API field paths) next to their fields; an
// error whose path has no field of its own goes to the nearest ancestor
// that has one. Every error is in the summary, in field order.
//
// refs are the choices for references, by referenced concept (see
// Server.referenceOptions); nil offers none.
func buildForm(r *site.Request, attrs []*model.Attribute, values url.Values, errs []apierr.FieldError, refs map[string][]formOption) *formModel {
	fm := &formModel{}
	fm.Fields = buildFields(r, attrs, "", values, refs)
	byName := map[string]*formField{}
	var walk func([]*formField)
	walk = func(fs []*formField) {
		for _, f := range fs {
			byName[f.Name] = f
			walk(f.Children)
			walk(f.Items)
		}
	}
	walk(fm.Fields)
	for _, e := range errs {
		msg := fieldMessage(r, attrs, e)
		f := nearestField(byName, e.Field)
		if f == nil {
			fm.Errors = append(fm.Errors, formError{Label: e.Field, Message: msg})
			continue
		}
		if f.Error != "" {
			f.Error += " "
		}
		f.Error += msg
		label := f.Label
		if f.Name != e.Field {
			label += " (" + e.Field + ")"
		}
		fm.Errors = append(fm.Errors, formError{ID: f.ID, Label: label, Message: msg})
	}
	return fm
}

// fieldMessage words a field error in the request's language by its rule
// (the API's stable word, see model.FieldError), with the limits the model
// sets for the field in attrs; the API's own words (English) are kept only
// for a rule the console does not know.
func fieldMessage(r *site.Request, attrs []*model.Attribute, e apierr.FieldError) string {
	a := fieldAttribute(attrs, e.Field)
	var v model.Validation
	if a != nil {
		v = a.Validation
	}
	list := a != nil && a.Type == model.List
	switch e.Rule {
	case "type":
		if a != nil {
			switch a.Type {
			case model.Int, model.Long:
				return r.T("rule.type.whole")
			case model.Decimal:
				return r.T("rule.type.decimal")
			case model.Boolean:
				return r.T("rule.type.boolean")
			}
		}
	case "format":
		if a != nil && a.Type == model.Date {
			return r.T("rule.format.date")
		}
		if a != nil && a.Type == model.Timestamp {
			return r.T("rule.format.timestamp")
		}
	case "minLength":
		if v.MinLength != nil && list {
			return r.T("rule.minLength.items", *v.MinLength)
		} else if v.MinLength != nil {
			return r.T("rule.minLength.chars", *v.MinLength)
		}
	case "maxLength":
		if v.MaxLength != nil && list {
			return r.T("rule.maxLength.items", *v.MaxLength)
		} else if v.MaxLength != nil {
			return r.T("rule.maxLength.chars", *v.MaxLength)
		}
	case "min":
		if v.Min != nil {
			return r.T("rule.min.value", formatLimit(*v.Min))
		}
	case "max":
		if v.Max != nil {
			return r.T("rule.max.value", formatLimit(*v.Max))
		}
	case "check":
		if v.Check != "" && site.HasMessage("rule.check."+v.Check) {
			return r.T("rule.check." + v.Check)
		}
	case "decimal":
		if a != nil && a.Type == model.Decimal {
			return r.T("rule.decimal.digits", a.Precision, a.Scale)
		}
	case "reference":
		if a != nil && a.Ref != "" {
			return r.T("rule.reference.concept", a.Ref)
		}
	}
	if key := "rule." + e.Rule; site.HasMessage(key) {
		return r.T(key)
	}
	return e.Message
}

// formatLimit writes a model limit as people write numbers: 420, not 420.000000.
func formatLimit(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// fieldAttribute is the attribute an error's field path names, an item of
// a list of plain values (e.g. "phoneNumbers[1]") included; nil when the
// path names none.
func fieldAttribute(attrs []*model.Attribute, path string) *model.Attribute {
	if a := attributeAt(attrs, path); a != nil {
		return a
	}
	if i := strings.LastIndexByte(path, '['); i > 0 && strings.HasSuffix(path, "]") {
		if l := attributeAt(attrs, path[:i]); l != nil && l.Type == model.List && l.Items != nil {
			return l.Items
		}
	}
	return nil
}

func nearestField(byName map[string]*formField, path string) *formField {
	for p := path; p != ""; {
		if f, ok := byName[p]; ok {
			return f
		}
		switch i := strings.LastIndexAny(p, ".["); {
		case i < 0:
			p = ""
		default:
			p = p[:i]
		}
	}
	return nil
}

func buildFields(r *site.Request, attrs []*model.Attribute, prefix string, values url.Values, refs map[string][]formOption) []*formField {
	var out []*formField
	for _, a := range attrs {
		out = append(out, buildField(r, a, prefix+a.Name, values, refs))
	}
	return out
}

func buildField(r *site.Request, a *model.Attribute, path string, values url.Values, refs map[string][]formOption) *formField {
	f := &formField{Name: path, ID: fieldID(path), Label: r.Text(a.Label), Help: r.Text(a.Definition), Required: a.Required, Value: values.Get(path)}
	switch a.Type {
	case model.Int, model.Long:
		f.Kind = "number"
	case model.Decimal:
		f.Kind = "decimal"
	case model.Date:
		f.Kind = "date"
	case model.Timestamp:
		f.Kind = "timestamp"
		f.Help += " " + r.T("form.help.timestamp")
	case model.Reference:
		choices := refs[a.Ref]
		if len(choices) == 0 {
			f.Kind = "text"
			f.Help += " " + r.T("form.help.reference", a.Ref)
			break
		}
		f.Kind = "select"
		f.Options = append([]formOption{{Value: "", Label: r.T("form.choose")}}, choices...)
		if f.Value != "" && !slices.ContainsFunc(choices, func(o formOption) bool { return o.Value == f.Value }) {
			// Keep a value the list does not hold (an ended or unknown record).
			f.Options = append(f.Options, formOption{Value: f.Value, Label: r.T("form.ref.unknown", f.Value)})
		}
	case model.Boolean:
		f.Kind = "select"
		f.Options = []formOption{{Value: "", Label: r.T("form.choose")}, {Value: "true", Label: r.T("form.yes")}, {Value: "false", Label: r.T("form.no")}}
	case model.Enum:
		f.Kind = "select"
		f.Options = []formOption{{Value: "", Label: r.T("form.choose")}}
		for _, c := range a.Codes {
			f.Options = append(f.Options, formOption{Value: c.Code, Label: r.Text(c.Label) + " (" + c.Code + ")"})
		}
	case model.Record:
		f.Kind = "fieldset"
		f.Children = buildFields(r, a.Attributes, path+".", values, refs)
	case model.List:
		if a.Items != nil && a.Items.Type == model.Record {
			f.Kind = "records"
			n := listLen(values, path) + 1 // one empty item to add another
			for i := range n {
				item := &formField{Kind: "fieldset", Name: fmt.Sprintf("%s[%d]", path, i), Label: r.T("form.item", f.Label, i+1)}
				item.ID = fieldID(item.Name)
				item.Children = buildFields(r, a.Items.Attributes, item.Name+".", values, refs)
				f.Items = append(f.Items, item)
			}
		} else {
			f.Kind = "textarea"
			f.Help += " " + r.T("form.help.list")
		}
	default:
		f.Kind = "text"
	}
	for i := range f.Options {
		f.Options[i].Selected = f.Options[i].Value == f.Value
	}
	return f
}

var indexRE = regexp.MustCompile(`^\[(\d+)\]`)

// listLen returns how many items of the list of records at path the form
// values hold (the highest index plus one).
func listLen(values url.Values, path string) int {
	n := 0
	for k := range values {
		rest, ok := strings.CutPrefix(k, path)
		if !ok {
			continue
		}
		if m := indexRE.FindStringSubmatch(rest); m != nil {
			if i, err := strconv.Atoi(m[1]); err == nil && i+1 > n && i < 1000 {
				n = i + 1
			}
		}
	}
	return n
}

// stateToValues flattens a record's state into form values by path.
func stateToValues(attrs []*model.Attribute, state map[string]any) url.Values {
	v := url.Values{}
	flattenState(attrs, "", state, v)
	return v
}

func flattenState(attrs []*model.Attribute, prefix string, state map[string]any, out url.Values) {
	for _, a := range attrs {
		val, ok := state[a.Name]
		if !ok || val == nil {
			continue
		}
		path := prefix + a.Name
		switch a.Type {
		case model.Record:
			if m, ok := val.(map[string]any); ok {
				flattenState(a.Attributes, path+".", m, out)
			}
		case model.List:
			items, _ := val.([]any)
			if a.Items != nil && a.Items.Type == model.Record {
				for i, it := range items {
					if m, ok := it.(map[string]any); ok {
						flattenState(a.Items.Attributes, fmt.Sprintf("%s[%d].", path, i), m, out)
					}
				}
			} else {
				lines := make([]string, len(items))
				for i, it := range items {
					lines[i] = scalarText(it)
				}
				out.Set(path, strings.Join(lines, "\n"))
			}
		default:
			out.Set(path, scalarText(val))
		}
	}
}

// scalarText shows a plain value as text.
func scalarText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// valuesToState reads a record's state from form values. Empty inputs
// leave attributes out; a list is always sent (empty or not). It returns
// the problems it finds in values it must convert (numbers, booleans),
// named like the API names them.
func valuesToState(attrs []*model.Attribute, prefix string, values url.Values) (map[string]any, []apierr.FieldError) {
	state := map[string]any{}
	var errs []apierr.FieldError
	for _, a := range attrs {
		path := prefix + a.Name
		switch a.Type {
		case model.Record:
			sub, es := valuesToState(a.Attributes, path+".", values)
			errs = append(errs, es...)
			if len(sub) > 0 {
				state[a.Name] = sub
			}
		case model.List:
			items := []any{}
			if a.Items != nil && a.Items.Type == model.Record {
				for i := range listLen(values, path) {
					sub, es := valuesToState(a.Items.Attributes, fmt.Sprintf("%s[%d].", path, i), values)
					errs = append(errs, es...)
					if len(sub) > 0 {
						items = append(items, sub)
					}
				}
			} else {
				n := 0
				for line := range strings.Lines(values.Get(path)) {
					line = strings.TrimSpace(line)
					if line == "" {
						continue
					}
					var it any = line
					if a.Items != nil {
						v, err := a.Items.FromText(line)
						if err != nil {
							errs = append(errs, apierr.FieldError{Field: fmt.Sprintf("%s[%d]", path, n), Rule: "type", Message: err.Error()})
							v = line // the form shows what was typed
						}
						it = v
					}
					items = append(items, it)
					n++
				}
			}
			state[a.Name] = items
		default:
			s := strings.TrimSpace(values.Get(path))
			if s == "" {
				continue
			}
			v, err := a.FromText(s)
			if err != nil {
				errs = append(errs, apierr.FieldError{Field: path, Rule: "type", Message: err.Error()})
				continue
			}
			state[a.Name] = v
		}
	}
	return state, errs
}

// mergeErrors adds the errors of b whose field a does not already name,
// keeping a's order first.
func mergeErrors(a, b []apierr.FieldError) []apierr.FieldError {
	seen := map[string]bool{}
	for _, e := range a {
		seen[e.Field] = true
	}
	out := slices.Clone(a)
	for _, e := range b {
		if !seen[e.Field] {
			out = append(out, e)
			seen[e.Field] = true
		}
	}
	return out
}

// modelErrors converts the model's field errors.
func modelErrors(fs []model.FieldError) []apierr.FieldError {
	out := make([]apierr.FieldError, len(fs))
	for i, f := range fs {
		out[i] = apierr.FieldError{Field: f.Field, Rule: f.Rule, Message: f.Message}
	}
	return out
}
