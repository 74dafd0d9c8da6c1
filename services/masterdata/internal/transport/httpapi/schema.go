package httpapi

import (
	"fmt"
	"regexp/syntax"
	"strings"
	"unicode"

	"github.com/samnav/samnav/contracts/check"
	"github.com/samnav/samnav/contracts/model"
)

// exampleID is the opaque record id the document's examples use.
const exampleID = "0190c6d8-5a1b-7c2e-9f00-00000000002a"

// stateSchema is the JSON Schema (2020-12, as OpenAPI 3.1 uses) of a
// concept's state: what model.Concept.Validate accepts, derived from the
// model so that no concept's schema is written by hand.
func stateSchema(c *model.Concept) map[string]any {
	s := recordSchema(c.Attributes)
	s["title"] = c.Name.EN
	s["description"] = c.Definition.EN + " Mastered by system " + c.Master + ". A null attribute is the same as an absent one; `id` is assigned by the hub and may only be repeated, unchanged, in an update."
	return s
}

// shownSchema is stateSchema as a read shows it: the attributes that
// locate a protected person the record refers to are not required
// (model.Protection); for a concept without protecting references it is
// stateSchema.
func shownSchema(c *model.Concept) map[string]any {
	s := stateSchema(c)
	if req, ok := s["required"].([]any); ok && len(c.ProtectingReferences()) > 0 {
		kept := []any{}
		for _, r := range req {
			if name, _ := r.(string); !c.Locating(name) {
				kept = append(kept, r)
			}
		}
		s["required"] = kept
	}
	return s
}

func recordSchema(attrs []*model.Attribute) map[string]any {
	props := map[string]any{}
	var required []any
	for _, a := range attrs {
		props[a.Name] = attributeSchema(a)
		if a.Required && !a.HasDefault {
			required = append(required, a.Name)
		}
	}
	s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if required != nil {
		s["required"] = required
	}
	return s
}

func attributeSchema(a *model.Attribute) map[string]any {
	s := map[string]any{}
	v := a.Validation
	switch a.Type {
	case model.String:
		s["type"] = "string"
		if v.MinLength != nil {
			s["minLength"] = *v.MinLength
		}
		if v.MaxLength != nil {
			s["maxLength"] = *v.MaxLength
		}
	case model.Int, model.Long:
		s["type"] = "integer"
		s["format"] = map[model.Type]string{model.Int: "int32", model.Long: "int64"}[a.Type]
	case model.Boolean:
		s["type"] = "boolean"
	case model.Date:
		s["type"] = "string"
		s["format"] = "date"
	case model.Timestamp:
		s["type"] = "string"
		s["format"] = "date-time"
	case model.Decimal:
		// Exact decimals: a JSON number or a string in plain decimal
		// notation ("-12.50"), never an exponent.
		s["type"] = []any{"number", "string"}
		s["description"] = fmt.Sprintf("A decimal of at most %d digits, %d after the point; as a number or as a string in plain notation.", a.Precision, a.Scale)
	case model.Enum:
		s["type"] = "string"
		codes := make([]any, len(a.Codes))
		for i, c := range a.Codes {
			codes[i] = c.Code
		}
		s["enum"] = codes
	case model.Reference:
		s["type"] = "string"
		s["minLength"] = 1
		s["description"] = "The opaque id of " + an(a.Ref) + " record."
	case model.Record:
		s = recordSchema(a.Attributes)
	case model.List:
		s["type"] = "array"
		if a.Items != nil {
			s["items"] = attributeSchema(a.Items)
		}
		if v.MinLength != nil {
			s["minItems"] = *v.MinLength
		}
		if v.MaxLength != nil {
			s["maxItems"] = *v.MaxLength
		}
	}
	if a.Type == model.Int || a.Type == model.Long || a.Type == model.Decimal {
		if v.Min != nil {
			s["minimum"] = *v.Min
		}
		if v.Max != nil {
			s["maximum"] = *v.Max
		}
	}
	if v.Pattern != "" {
		// The model's patterns are Go regexps matching the whole value.
		s["pattern"] = "^(?:" + v.Pattern + ")$"
	}
	desc := a.Definition.EN
	if d, ok := s["description"].(string); ok {
		desc = strings.TrimSpace(desc + " " + d)
	}
	if v.Check != "" {
		desc = strings.TrimSpace(desc + " Checked as a " + v.Check + ".")
	}
	if a.NaturalKey {
		desc = strings.TrimSpace(desc + " A natural key: unique among the concept's records.")
	}
	if a.PersonalData != model.NotPersonal {
		desc = strings.TrimSpace(desc + " Personal data (" + string(a.PersonalData) + ").")
	}
	if desc != "" {
		s["description"] = desc
	}
	if a.Label.EN != "" {
		s["title"] = a.Label.EN
	}
	if a.HasDefault {
		s["default"] = a.Default
	}
	return s
}

// exampleState is a state of c that the model accepts: its required
// attributes and its first natural key, each with a value that follows
// the attribute's type, codes, range, pattern and check.
func exampleState(c *model.Concept) map[string]any {
	st := exampleRecord(c.Attributes)
	if nks := c.NaturalKeys(); len(nks) > 0 {
		st[nks[0].Name] = exampleValue(nks[0])
	}
	return st
}

func exampleRecord(attrs []*model.Attribute) map[string]any {
	out := map[string]any{}
	for _, a := range attrs {
		if a.Required {
			out[a.Name] = exampleValue(a)
		}
	}
	return out
}

func exampleValue(a *model.Attribute) any {
	v := a.Validation
	if v.Check != "" {
		return check.Examples[v.Check]
	}
	if v.Pattern != "" {
		if s, err := matching(v.Pattern); err == nil {
			return s
		}
	}
	switch a.Type {
	case model.Int, model.Long:
		n := int64(1)
		if v.Min != nil && float64(n) < *v.Min {
			n = int64(*v.Min)
		}
		return n
	case model.Boolean:
		return true
	case model.Date:
		return "2024-08-19"
	case model.Timestamp:
		return "2024-08-19T08:30:00Z"
	case model.Decimal:
		return "1"
	case model.Enum:
		return a.Codes[0].Code
	case model.Reference:
		return exampleID
	case model.Record:
		return exampleRecord(a.Attributes)
	case model.List:
		l := []any{}
		if v.MinLength != nil && a.Items != nil {
			for range *v.MinLength {
				l = append(l, exampleValue(a.Items))
			}
		}
		return l
	}
	s := "Example"
	if v.MaxLength != nil && len(s) > *v.MaxLength {
		s = s[:*v.MaxLength]
	}
	for v.MinLength != nil && len(s) < *v.MinLength {
		s += "x"
	}
	return s
}

// matching returns a short string the whole of which the Go regexp
// pattern matches: each repetition at its minimum, the first branch of
// each alternation, and a letter or digit from each class where it has one.
func matching(pattern string) (string, error) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return "", fmt.Errorf("parse pattern: %w", err)
	}
	var b strings.Builder
	var walk func(*syntax.Regexp)
	walk = func(re *syntax.Regexp) {
		switch re.Op {
		case syntax.OpLiteral:
			b.WriteString(string(re.Rune))
		case syntax.OpCharClass:
			b.WriteRune(pick(re.Rune))
		case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
			b.WriteRune('a')
		case syntax.OpCapture:
			walk(re.Sub[0])
		case syntax.OpPlus:
			walk(re.Sub[0])
		case syntax.OpRepeat:
			for range re.Min {
				walk(re.Sub[0])
			}
		case syntax.OpConcat:
			for _, s := range re.Sub {
				walk(s)
			}
		case syntax.OpAlternate:
			walk(re.Sub[0])
		}
	}
	walk(re)
	return b.String(), nil
}

// pick chooses a rune of a class (given as ranges), preferring a lower
// case letter, then a digit, then an upper case letter, then any printable.
func pick(ranges []rune) rune {
	in := func(r rune) bool {
		for i := 0; i+1 < len(ranges); i += 2 {
			if ranges[i] <= r && r <= ranges[i+1] {
				return true
			}
		}
		return false
	}
	for _, from := range []rune{'a', '1', 'A'} {
		for r := from; r < from+9; r++ {
			if in(r) {
				return r
			}
		}
	}
	for i := 0; i+1 < len(ranges); i += 2 {
		for r := ranges[i]; r <= ranges[i+1]; r++ {
			if unicode.IsPrint(r) {
				return r
			}
		}
	}
	return ranges[0]
}
