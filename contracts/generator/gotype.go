package generator

import (
	"bytes"
	"fmt"
	"go/format"
	"strconv"
	"strings"

	"github.com/samnav/samnav/contracts/model"
)

// GoPackageDir is where the generated Go types live, relative to
// contracts/; their import path is github.com/samnav/samnav/contracts/concepts.
const GoPackageDir = "concepts"

// GoFile returns the path of a concept's generated Go file.
func GoFile(c *model.Concept) string {
	return fmt.Sprintf("%s/%s_v%d.go", GoPackageDir, c.ID, c.Major)
}

// GoTypeName returns the Go type of a concept's major version, e.g. PersonV1.
func GoTypeName(c *model.Concept) string { return fmt.Sprintf("%sV%d", model.TypeName(c.ID), c.Major) }

const goHeader = "// " + generatedBy + "\n\n"

// GoPackageDoc returns the generated package's doc.go.
func GoPackageDoc(m *model.Model) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(goHeader)
	b.WriteString("// Package concepts holds the Go types of Samnav's contracts, one struct per\n")
	b.WriteString("// concept and major version, tagged to encode and decode with the concept's\n")
	b.WriteString("// Avro schema (contracts/avro/<concept>.v<major>.avsc). Optional attributes\n")
	b.WriteString("// without a default are pointers; nil is Avro null (a nullable decimal is\n")
	b.WriteString("// **big.Rat). Optional attributes with a default are plain values the\n")
	b.WriteString("// producer sets: a Go zero value is not the default (\"\" is no enum code).\n")
	b.WriteString("// A struct's ID is the record's opaque id and its Kafka key. New and\n")
	b.WriteString("// TopicOf go from a state topic to its type and back.\n")
	b.WriteString("//\n// Concepts:\n")
	for _, c := range m.Concepts {
		fmt.Fprintf(&b, "//   - %s: %s (topic %s)\n", GoTypeName(c), c.Name.EN, c.Topic())
	}
	b.WriteString("package concepts\n\n")
	b.WriteString("import \"reflect\"\n\n")
	b.WriteString("// types lists every generated concept type with its state topic: the one\n")
	b.WriteString("// table New and TopicOf (concepts.go) look types and topics up in.\n")
	b.WriteString("var types = []concept{\n")
	for _, c := range m.Concepts {
		fmt.Fprintf(&b, "\t{%q, reflect.TypeFor[%s]()},\n", c.Topic(), GoTypeName(c))
	}
	b.WriteString("}\n")
	return format.Source(b.Bytes())
}

type goGen struct {
	types   bytes.Buffer // declarations after the concept's struct
	imports map[string]bool
}

// GoType returns the Go source of a concept's types.
func GoType(c *model.Concept) ([]byte, error) {
	g := &goGen{imports: map[string]bool{}}
	var main bytes.Buffer
	name := GoTypeName(c)
	comment(&main, fmt.Sprintf("%s is major version %d of the concept %s (%s).", name, c.Major, c.Name.EN, c.Name.SV))
	main.WriteString("//\n")
	comment(&main, c.Definition.EN)
	fmt.Fprintf(&main, "//\n// Master source: %s. Topic: %s. Schema: %s.\n", c.Master, c.Topic(), AvroFile(c))
	fmt.Fprintf(&main, "type %s struct {\n", name)
	main.WriteString("\t// ID is the record's opaque, stable identifier and the Kafka key.\n")
	main.WriteString("\tID string `avro:\"id\" json:\"id\"`\n")
	g.fields(&main, name, name, c.Attributes)
	main.WriteString("}\n\n")

	var b bytes.Buffer
	b.WriteString(goHeader)
	b.WriteString("package concepts\n\n")
	if len(g.imports) > 0 {
		b.WriteString("import (\n")
		for _, imp := range []string{"math/big", "time"} {
			if g.imports[imp] {
				fmt.Fprintf(&b, "\t%q\n", imp)
			}
		}
		b.WriteString(")\n\n")
	}
	b.Write(main.Bytes())
	b.Write(g.types.Bytes())
	src, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("format go source: %w\n%s", err, b.Bytes())
	}
	return src, nil
}

// fields writes the fields of struct owner; scope prefixes the names of
// the types they need.
func (g *goGen) fields(b *bytes.Buffer, owner, scope string, attrs []*model.Attribute) {
	for _, a := range attrs {
		comment(b, fmt.Sprintf("%s (%s): %s", model.Pascal(a.Name), a.Label.EN, a.Definition.EN))
		t := g.goType(owner+"."+model.Pascal(a.Name), scope+model.Pascal(a.Name), a)
		if !a.Required && !a.HasDefault && a.Type != model.List {
			// A nullable decimal is **big.Rat: hamba/avro decodes
			// ["null", decimal] into a *big.Rat field as 0 (measured with
			// v2.31.0), so the extra pointer is what round-trips.
			t = "*" + t
		}
		js := a.Name
		if !a.Required {
			js += ",omitempty"
		}
		fmt.Fprintf(b, "\t%s %s `avro:%q json:%q`\n", model.Pascal(a.Name), t, a.Name, js)
	}
}

// goType returns the Go type of a's values, declaring it as name when it
// needs a declaration; field is the Go field it is the type of, for docs.
func (g *goGen) goType(field, name string, a *model.Attribute) string {
	switch a.Type {
	case model.String, model.Reference:
		return "string"
	case model.Int:
		return "int32"
	case model.Long:
		return "int64"
	case model.Boolean:
		return "bool"
	case model.Date, model.Timestamp:
		g.imports["time"] = true
		return "time.Time"
	case model.Decimal:
		g.imports["math/big"] = true
		return "*big.Rat"
	case model.Enum:
		comment(&g.types, fmt.Sprintf("%s is a code of %s (%s).", name, field, a.Label.EN))
		fmt.Fprintf(&g.types, "type %s string\n\n// The codes of %s.\nconst (\n", name, name)
		for _, c := range a.Codes {
			fmt.Fprintf(&g.types, "\t%s%s %s = %q // %s\n", name, codeIdent(c.Code), name, c.Code, c.Label.EN)
		}
		g.types.WriteString(")\n\n")
		return name
	case model.Record:
		var body bytes.Buffer
		g.fields(&body, name, name, a.Attributes)
		comment(&g.types, fmt.Sprintf("%s is the type of %s (%s).", name, field, a.Label.EN))
		fmt.Fprintf(&g.types, "type %s struct {\n%s}\n\n", name, body.String())
		return name
	case model.List:
		item := *a.Items
		if item.Label.EN == "" {
			item.Label = a.Label
		}
		return "[]" + g.goType(field+"[i]", name+"Item", &item)
	}
	panic("generator: attribute type " + strconv.Quote(string(a.Type)) + " not handled")
}

// comment writes s as a Go comment wrapped at about 76 columns.
func comment(b *bytes.Buffer, s string) {
	line := "//"
	for _, w := range strings.Fields(s) {
		if len(line)+1+len(w) > 76 && line != "//" {
			b.WriteString(line + "\n")
			line = "//"
		}
		line += " " + w
	}
	b.WriteString(line + "\n")
}

// codeIdent turns an enum code such as "FIXED_TERM" into "FixedTerm".
func codeIdent(code string) string {
	var b strings.Builder
	for _, part := range strings.Split(code, "_") {
		b.WriteString(model.Pascal(strings.ToLower(part)))
	}
	return b.String()
}
