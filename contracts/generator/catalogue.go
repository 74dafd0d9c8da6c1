package generator

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"io"
	"slices"
	"strings"
	"text/template"

	"github.com/samnav/samnav/contracts/model"
)

// row is one attribute of the catalogue, flattened: nested attributes carry
// their dotted path.
type row struct {
	Path, Type, Presence, Label, LabelSV, Definition, DefinitionSV, Personal, Rules, Classification string
	Shielded, NaturalKey                                                                            bool
	// LocatingVia names the protecting references (comma-separated) for
	// which this attribute locates the referenced person.
	LocatingVia string
	Codes       []model.Code
}

type conceptView struct {
	*model.Concept
	Schema string
	Rows   []row
}

func catalogueData(m *model.Model) []conceptView {
	var out []conceptView
	for _, c := range m.Concepts {
		v := conceptView{Concept: c, Schema: AvroFile(c)}
		v.Rows = append(v.Rows, row{Path: "id", Type: "string", Presence: "required", Label: "Id", LabelSV: "Id",
			Definition: "The record's opaque, stable identifier, assigned by the hub; the Kafka key.", DefinitionSV: "Postens opaka, stabila identitet, som navet tilldelar; Kafka-nyckeln."})
		flatten(&v.Rows, "", c.Attributes)
		locatingVia(c, v.Rows)
		out = append(out, v)
	}
	return out
}

// locatingVia marks the top-level rows of c that locate the person of a
// protecting reference (model.Attribute.Protection).
func locatingVia(c *model.Concept, rows []row) {
	for i := range rows {
		var via []string
		for _, ref := range c.ProtectingReferences() {
			if slices.Contains(ref.Protection.Locating, rows[i].Path) {
				via = append(via, ref.Name)
			}
		}
		rows[i].LocatingVia = strings.Join(via, ", ")
	}
}

func flatten(rows *[]row, prefix string, attrs []*model.Attribute) {
	for _, a := range attrs {
		p := a.Name
		if prefix != "" {
			p = prefix + "." + a.Name
		}
		r := row{Path: p, Type: typeName(a), Label: a.Label.EN, LabelSV: a.Label.SV, Definition: a.Definition.EN, DefinitionSV: a.Definition.SV,
			Personal: string(a.PersonalData), Shielded: a.Shielded, NaturalKey: a.NaturalKey, Rules: rules(a)}
		switch {
		case a.Required:
			r.Presence = "required"
		case a.HasDefault:
			r.Presence = fmt.Sprintf("optional, default %s", defaultText(a.Default))
		default:
			r.Presence = "optional"
		}
		if a.Classification != nil {
			r.Classification = fmt.Sprintf("K%d R%d T%d", a.Classification.Confidentiality, a.Classification.Integrity, a.Classification.Availability)
		}
		item := a
		if a.Type == model.List && a.Items != nil {
			item = a.Items
		}
		if item.Type == model.Enum {
			r.Codes = item.Codes
		}
		*rows = append(*rows, r)
		if item.Type == model.Record {
			sub := p
			if a.Type == model.List {
				sub += "[]"
			}
			flatten(rows, sub, item.Attributes)
		}
	}
}

func defaultText(v any) string {
	switch d := v.(type) {
	case string:
		return fmt.Sprintf("%q", d)
	case []any:
		return "[]"
	}
	return fmt.Sprint(v)
}

func typeName(a *model.Attribute) string {
	switch a.Type {
	case model.Decimal:
		return fmt.Sprintf("decimal(%d,%d)", a.Precision, a.Scale)
	case model.Reference:
		return "reference → " + a.Ref
	case model.List:
		if a.Items != nil {
			return "list of " + typeName(a.Items)
		}
	}
	return string(a.Type)
}

func rules(a *model.Attribute) string {
	v := a.Validation
	if a.Type == model.List && a.Items != nil && !a.Items.Validation.Empty() {
		if s := rules(a.Items); s != "" {
			items := "items: " + s
			if own := ownRules(v); own != "" {
				return own + "; " + items
			}
			return items
		}
	}
	return ownRules(v)
}

func ownRules(v model.Validation) string {
	var parts []string
	if v.Pattern != "" {
		parts = append(parts, "pattern `"+v.Pattern+"`")
	}
	if v.MinLength != nil {
		parts = append(parts, fmt.Sprintf("min length %d", *v.MinLength))
	}
	if v.MaxLength != nil {
		parts = append(parts, fmt.Sprintf("max length %d", *v.MaxLength))
	}
	if v.Min != nil {
		parts = append(parts, fmt.Sprintf("min %v", *v.Min))
	}
	if v.Max != nil {
		parts = append(parts, fmt.Sprintf("max %v", *v.Max))
	}
	if v.Check != "" {
		parts = append(parts, "check "+v.Check)
	}
	return strings.Join(parts, ", ")
}

var funcs = map[string]any{
	"cell": func(s string) string { return strings.ReplaceAll(s, "|", `\|`) },
	"flags": func(r row) string {
		var f []string
		if r.Personal != "" {
			f = append(f, "personal data: "+r.Personal)
		}
		if r.Shielded {
			f = append(f, "shielded by protected identity")
		}
		if r.NaturalKey {
			f = append(f, "natural key")
		}
		if r.LocatingVia != "" {
			f = append(f, "withheld when "+r.LocatingVia+" is a protected identity")
		}
		if r.Classification != "" {
			f = append(f, "classification "+r.Classification)
		}
		return strings.Join(f, "; ")
	},
}

// The catalogue's templates; both render catalogueData. Their first line
// (after the HTML doctype) is {{generated}}, the generated-file marker.
//
//go:embed templates/catalogue.md.tmpl templates/catalogue.html.tmpl
var catalogueTemplates embed.FS

// generatedComment marks a catalogue as generated: an HTML comment, which
// Markdown renderers also hide.
const generatedComment = "<!-- " + generatedBy + " -->"

var (
	markdownTmpl = template.Must(template.New("catalogue.md.tmpl").Funcs(funcs).
			Funcs(template.FuncMap{"generated": func() string { return generatedComment }}).
			ParseFS(catalogueTemplates, "templates/catalogue.md.tmpl"))
	// html/template drops comments written in a template, so the marker is
	// given as trusted HTML.
	htmlTmpl = htmltemplate.Must(htmltemplate.New("catalogue.html.tmpl").
			Funcs(htmltemplate.FuncMap{"flags": funcs["flags"], "generated": func() htmltemplate.HTML { return generatedComment }}).
			ParseFS(catalogueTemplates, "templates/catalogue.html.tmpl"))
)

// executor is a parsed text or HTML template.
type executor interface {
	Execute(w io.Writer, data any) error
}

// renderCatalogue renders the catalogue of m with t; what names the form
// for the error.
func renderCatalogue(t executor, what string, m *model.Model) ([]byte, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, catalogueData(m)); err != nil {
		return nil, fmt.Errorf("render %s catalogue: %w", what, err)
	}
	return b.Bytes(), nil
}

// CatalogueMarkdown returns the concept catalogue as Markdown.
func CatalogueMarkdown(m *model.Model) ([]byte, error) {
	return renderCatalogue(markdownTmpl, "markdown", m)
}

// CatalogueHTML returns the concept catalogue as a self-contained HTML page
// the console can serve as it is.
func CatalogueHTML(m *model.Model) ([]byte, error) {
	return renderCatalogue(htmlTmpl, "html", m)
}
