// Parsing an attribute: its type, codes, validation and default.

package model

import (
	"math"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/samnav/samnav/contracts/check"
)

var attributeKeys = []string{"type", "required", "default", "label", "definition", "classification", "personalData", "shielded", "naturalKey", "protection", "validation", "codes", "ref", "attributes", "items", "precision", "scale"}

var itemKeys = []string{"type", "codes", "ref", "attributes", "precision", "scale", "validation"}

func (s scope) attributes(n *yaml.Node, top bool) []*Attribute {
	if n.Kind != yaml.MappingNode {
		s.errf(n, "attributes must be a mapping of attribute name to attribute")
		return nil
	}
	seen := map[string]int{}
	var out []*Attribute
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		name := k.Value
		as := s.at(name)
		if prev, dup := seen[name]; dup {
			as.errf(k, "defined twice (first on line %d)", prev)
			continue
		}
		seen[name] = k.Line
		if !attrNameRe.MatchString(name) {
			as.errf(k, "name must be lowerCamelCase letters and digits, at most 64")
		}
		if slices.Contains(ReservedAttributes, name) {
			as.errf(k, "name %q is reserved: the hub adds it to every record", name)
		}
		a := as.attribute(v, false)
		if a == nil {
			continue
		}
		a.Name = name
		a.Line = k.Line
		out = append(out, a)
	}
	return out
}

// attribute parses an attribute, or a list's item when item is true.
func (s scope) attribute(n *yaml.Node, item bool) *Attribute {
	keys, what := attributeKeys, "attribute"
	if item {
		keys, what = itemKeys, "items"
	}
	f, _ := s.fields(n, what, keys...)
	if f == nil {
		return nil
	}
	a := &Attribute{Line: n.Line}
	tn, ok := f["type"]
	if !ok {
		s.errf(n, "type is required")
		return nil
	}
	t, _ := s.str(tn, "type")
	a.Type = Type(t)
	if !slices.Contains(Types, a.Type) {
		names := make([]string, len(Types))
		for i, t := range Types {
			names[i] = string(t)
		}
		s.errf(tn, "type %q is not one of %s", t, strings.Join(names, ", "))
		return nil
	}
	if !item {
		if v, ok := f["label"]; ok {
			a.Label = s.text(v, "label")
		} else {
			s.errf(n, "label is required")
		}
		if v, ok := f["definition"]; ok {
			a.Definition = s.text(v, "definition")
		} else {
			s.errf(n, "definition is required")
		}
		if v, ok := f["required"]; ok {
			a.Required, _ = s.boolean(v, "required")
		}
		if v, ok := f["classification"]; ok {
			c := s.classification(v)
			a.Classification = &c
		}
		if v, ok := f["personalData"]; ok {
			if p, ok := s.str(v, "personalData"); ok {
				a.PersonalData = PersonalData(p)
				if !slices.Contains([]PersonalData{Ordinary, Sensitive, IdentityNumber}, a.PersonalData) {
					s.errf(v, "personalData %q is not one of ordinary, sensitive, identity-number", p)
				}
			}
		}
		if v, ok := f["shielded"]; ok {
			a.Shielded, _ = s.boolean(v, "shielded")
		}
		if v, ok := f["naturalKey"]; ok {
			a.NaturalKey, _ = s.boolean(v, "naturalKey")
		}
	}
	// Type parameters: each only with its type.
	params := map[string]Type{"codes": Enum, "ref": Reference, "protection": Reference, "attributes": Record, "items": List, "precision": Decimal, "scale": Decimal}
	for key, typ := range params {
		if v, ok := f[key]; ok && a.Type != typ {
			s.errf(v, "%s is only allowed with type %s, not %s", key, typ, a.Type)
			delete(f, key)
		}
	}
	switch a.Type {
	case Enum:
		v, ok := f["codes"]
		if !ok {
			s.errf(n, "an enum needs codes")
			break
		}
		a.Codes = s.codes(v)
	case Reference:
		v, ok := f["ref"]
		if !ok {
			s.errf(n, "a reference needs ref: the id of the concept it points to")
			break
		}
		a.Ref, _ = s.str(v, "ref")
		if v, ok := f["protection"]; ok {
			a.Protection = s.protection(v)
		}
	case Record:
		v, ok := f["attributes"]
		if !ok {
			s.errf(n, "a record needs attributes")
			break
		}
		a.Attributes = s.attributes(v, false)
		if v.Kind == yaml.MappingNode && len(v.Content) == 0 {
			s.errf(v, "a record's attributes must not be empty")
		}
	case List:
		v, ok := f["items"]
		if !ok {
			s.errf(n, "a list needs items")
			break
		}
		a.Items = s.at("items").attribute(v, true)
		if a.Items != nil && a.Items.Type == List {
			s.errf(v, "a list's items cannot be a list; wrap them in a record")
		}
	case Decimal:
		p, okp := f["precision"]
		sc, oks := f["scale"]
		if !okp || !oks {
			s.errf(n, "a decimal needs precision and scale")
			break
		}
		a.Precision, _ = s.integer(p, "precision")
		a.Scale, _ = s.integer(sc, "scale")
		if a.Precision < 1 || a.Precision > 38 {
			s.errf(p, "precision %d must be 1-38", a.Precision)
		}
		if a.Scale < 0 || a.Scale > a.Precision {
			s.errf(sc, "scale %d must be 0-precision (%d)", a.Scale, a.Precision)
		}
	}
	if v, ok := f["validation"]; ok {
		a.Validation = s.validation(v, a.Type)
	}
	if v, ok := f["default"]; ok {
		if a.Required {
			s.errf(v, "a required attribute cannot have a default")
		} else {
			a.Default, a.HasDefault = s.defaultValue(v, a)
		}
	}
	if a.NaturalKey && a.Type != String && a.Type != Int && a.Type != Long {
		s.errf(n, "a natural key must be a string, int or long, not %s", a.Type)
	}
	return a
}

func (s scope) codes(n *yaml.Node) []Code {
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		s.errf(n, "codes must be a non-empty mapping of code to {sv, en} label")
		return nil
	}
	seen := map[string]int{}
	var out []Code
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if prev, dup := seen[k.Value]; dup {
			s.errf(k, "code %q appears twice (first on line %d)", k.Value, prev)
			continue
		}
		seen[k.Value] = k.Line
		if !codeRe.MatchString(k.Value) {
			s.errf(k, "code %q must be UPPER_SNAKE_CASE: A-Z, 0-9 and '_', starting with a letter (an Avro enum symbol)", k.Value)
		}
		out = append(out, Code{Code: k.Value, Label: s.text(v, "codes."+k.Value)})
	}
	return out
}

func (s scope) validation(n *yaml.Node, t Type) Validation {
	f, _ := s.fields(n, "validation", "pattern", "minLength", "maxLength", "min", "max", "check")
	var v Validation
	only := func(key string, n *yaml.Node, types ...Type) bool {
		if !slices.Contains(types, t) {
			s.errf(n, "validation.%s does not apply to type %s", key, t)
			return false
		}
		return true
	}
	if p, ok := f["pattern"]; ok && only("pattern", p, String) {
		v.Pattern, _ = s.str(p, "validation.pattern")
		// The whole value must match, so the pattern is anchored here.
		re, err := regexp.Compile(`^(?:` + v.Pattern + `)$`)
		if err != nil {
			s.errf(p, "validation.pattern: %v", err)
		}
		v.pattern = re
	}
	for _, k := range []struct {
		key string
		dst **int
	}{{"minLength", &v.MinLength}, {"maxLength", &v.MaxLength}} {
		if p, ok := f[k.key]; ok && only(k.key, p, String, List) {
			if i, ok := s.integer(p, "validation."+k.key); ok {
				if i < 0 {
					s.errf(p, "validation.%s %d must be 0 or more", k.key, i)
				}
				*k.dst = &i
			}
		}
	}
	if v.MinLength != nil && v.MaxLength != nil && *v.MinLength > *v.MaxLength {
		s.errf(n, "validation: minLength %d is above maxLength %d", *v.MinLength, *v.MaxLength)
	}
	for _, k := range []struct {
		key string
		dst **float64
	}{{"min", &v.Min}, {"max", &v.Max}} {
		if p, ok := f[k.key]; ok && only(k.key, p, Int, Long, Decimal) {
			if x, ok := s.number(p, "validation."+k.key); ok {
				*k.dst = &x
			}
		}
	}
	if v.Min != nil && v.Max != nil && *v.Min > *v.Max {
		s.errf(n, "validation: min %v is above max %v", *v.Min, *v.Max)
	}
	if p, ok := f["check"]; ok && only("check", p, String) {
		v.Check, _ = s.str(p, "validation.check")
		if _, known := check.Named[v.Check]; !known {
			s.errf(p, "validation.check %q is not one of %s", v.Check, strings.Join(check.Names(), ", "))
		}
	}
	return v
}

// defaultValue checks a default against the attribute's type and rules.
// Defaults are allowed for the types whose Avro default is unambiguous.
func (s scope) defaultValue(n *yaml.Node, a *Attribute) (any, bool) {
	var v any
	switch a.Type {
	case String:
		str, ok := s.str(n, "default")
		if !ok {
			return nil, false
		}
		v = str
	case Enum:
		str, ok := s.str(n, "default")
		if !ok {
			return nil, false
		}
		if !slices.ContainsFunc(a.Codes, func(c Code) bool { return c.Code == str }) {
			s.errf(n, "default %q is not one of the enum's codes", str)
			return nil, false
		}
		return str, true
	case Int, Long:
		i, ok := s.integer(n, "default")
		if !ok {
			return nil, false
		}
		if a.Type == Int && (i < math.MinInt32 || i > math.MaxInt32) {
			s.errf(n, "default %d does not fit an int (32 bits)", i)
			return nil, false
		}
		v = int64(i)
	case Boolean:
		b, ok := s.boolean(n, "default")
		if !ok {
			return nil, false
		}
		return b, true
	case List:
		if n.Kind != yaml.SequenceNode || len(n.Content) != 0 {
			s.errf(n, "a list's default can only be the empty list []")
			return nil, false
		}
		return []any{}, true
	default:
		s.errf(n, "defaults are supported for string, int, long, boolean, enum and list attributes, not %s", a.Type)
		return nil, false
	}
	for _, fe := range validateValue(a, "default", v) {
		s.errf(n, "default breaks its own validation: %s", fe.Message)
	}
	return v, true
}
