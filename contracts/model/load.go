package model

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/samnav/samnav/contracts/check"
)

var (
	conceptIDRe = regexp.MustCompile(`^[a-z][a-z0-9]{0,39}$`)
	attrNameRe  = regexp.MustCompile(`^[a-z][a-zA-Z0-9]{0,63}$`)
	codeRe      = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,63}$`)
	systemIDRe  = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)
)

// ReservedAttributes are names the hub adds to every concept's contract
// and that a model may not use.
var ReservedAttributes = []string{"id"}

// LoadDir loads every *.yaml file in dir; messages name files as dir/file.
func LoadDir(dir string) (*Model, error) {
	return load(os.DirFS(dir), dir)
}

// Load loads every *.yaml file at the root of fsys and checks the model as
// a whole. On any problem it returns a nil Model and an Errors listing every
// problem found.
func Load(fsys fs.FS) (*Model, error) {
	return load(fsys, "")
}

func load(fsys fs.FS, prefix string) (*Model, error) {
	names, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, fmt.Errorf("list model files: %w", err)
	}
	slices.Sort(names)
	l := &loader{}
	m := &Model{byID: map[string]*Concept{}}
	for _, name := range names {
		file := name
		if prefix != "" {
			file = path.Join(prefix, name)
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read model file %s: %w", file, err)
		}
		c := l.parseFile(file, strings.TrimSuffix(name, ".yaml"), data)
		if c == nil {
			continue
		}
		if prev, dup := m.byID[c.ID]; dup {
			l.errf(c.File, c.Line, c.ID, "", "concept id is already defined in %s:%d", prev.File, prev.Line)
			continue
		}
		m.byID[c.ID] = c
		m.Concepts = append(m.Concepts, c)
	}
	if len(names) == 0 {
		l.errs = append(l.errs, &Error{File: prefix, Rule: "no concept files (*.yaml) found"})
	}
	slices.SortFunc(m.Concepts, func(a, b *Concept) int { return strings.Compare(a.ID, b.ID) })
	for _, c := range m.Concepts {
		l.resolve(m, c, "", c.Attributes)
	}
	l.requiredCycles(m)
	for _, c := range m.Concepts {
		l.typeNames(c)
	}
	if len(l.errs) > 0 {
		slices.SortStableFunc(l.errs, func(a, b *Error) int {
			if c := strings.Compare(a.File, b.File); c != 0 {
				return c
			}
			return a.Line - b.Line
		})
		return nil, l.errs
	}
	return m, nil
}

type loader struct {
	errs Errors
}

func (l *loader) errf(file string, line int, concept, path, format string, args ...any) {
	l.errs = append(l.errs, &Error{File: file, Line: line, Concept: concept, Path: path, Rule: fmt.Sprintf(format, args...)})
}

// scope is where in a file the loader is, for messages.
type scope struct {
	l       *loader
	file    string
	concept string
	path    string
}

func (s scope) errf(n *yaml.Node, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	s.l.errf(s.file, line, s.concept, s.path, format, args...)
}

func (s scope) at(name string) scope {
	if s.path != "" {
		name = s.path + "." + name
	}
	s.path = name
	return s
}

// fields checks that n is a mapping with only the allowed keys, none twice,
// and returns the values by key.
func (s scope) fields(n *yaml.Node, what string, allowed ...string) (map[string]*yaml.Node, []string) {
	if n.Kind != yaml.MappingNode {
		s.errf(n, "%s must be a mapping", what)
		return nil, nil
	}
	out := map[string]*yaml.Node{}
	var order []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			s.errf(k, "%s: keys must be plain strings", what)
			continue
		}
		if allowed != nil && !slices.Contains(allowed, k.Value) {
			s.errf(k, "%s: unknown key %q (allowed: %s)", what, k.Value, strings.Join(allowed, ", "))
			continue
		}
		if _, dup := out[k.Value]; dup {
			s.errf(k, "%s: key %q appears twice", what, k.Value)
			continue
		}
		out[k.Value] = v
		order = append(order, k.Value)
	}
	return out, order
}

func (s scope) str(n *yaml.Node, key string) (string, bool) {
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!str" && n.Tag != "!!null") {
		s.errf(n, "%s must be a string", key)
		return "", false
	}
	return n.Value, true
}

func (s scope) integer(n *yaml.Node, key string) (int, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		s.errf(n, "%s must be an integer", key)
		return 0, false
	}
	v, err := strconv.Atoi(n.Value)
	if err != nil {
		s.errf(n, "%s: %q is not an integer in range", key, n.Value)
		return 0, false
	}
	return v, true
}

func (s scope) number(n *yaml.Node, key string) (float64, bool) {
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") {
		s.errf(n, "%s must be a number", key)
		return 0, false
	}
	v, err := strconv.ParseFloat(n.Value, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		s.errf(n, "%s: %q is not a finite number", key, n.Value)
		return 0, false
	}
	return v, true
}

func (s scope) boolean(n *yaml.Node, key string) (bool, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		s.errf(n, "%s must be true or false", key)
		return false, false
	}
	return n.Value == "true", true
}

func (s scope) text(n *yaml.Node, key string) Text {
	f, _ := s.fields(n, key, "sv", "en")
	var t Text
	for _, lang := range []string{"sv", "en"} {
		v, ok := f[lang]
		if !ok {
			if f != nil {
				s.errf(n, "%s: %s is required", key, lang)
			}
			continue
		}
		str, ok := s.str(v, key+"."+lang)
		if ok && strings.TrimSpace(str) == "" {
			s.errf(v, "%s.%s must not be empty", key, lang)
		}
		if lang == "sv" {
			t.SV = strings.TrimSpace(str)
		} else {
			t.EN = strings.TrimSpace(str)
		}
	}
	return t
}

func (s scope) classification(n *yaml.Node) Classification {
	f, _ := s.fields(n, "classification", "confidentiality", "integrity", "availability")
	var c Classification
	for _, k := range []struct {
		key string
		dst *int
	}{{"confidentiality", &c.Confidentiality}, {"integrity", &c.Integrity}, {"availability", &c.Availability}} {
		v, ok := f[k.key]
		if !ok {
			if f != nil {
				s.errf(n, "classification: %s is required (0-4, as in KLASSA)", k.key)
			}
			continue
		}
		if i, ok := s.integer(v, "classification."+k.key); ok {
			if i < 0 || i > 4 {
				s.errf(v, "classification.%s %d is not 0-4 (KLASSA levels)", k.key, i)
			}
			*k.dst = i
		}
	}
	return c
}

func (l *loader) parseFile(file, base string, data []byte) *Concept {
	s := scope{l: l, file: file}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		// yaml.v3 errors read "yaml: line N: ...".
		l.errf(file, 0, "", "", "%s", strings.TrimPrefix(err.Error(), "yaml: "))
		return nil
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		l.errf(file, 0, "", "", "must hold one YAML document")
		return nil
	}
	if aliases := findAliases(&doc, nil); len(aliases) > 0 {
		for _, a := range aliases {
			l.errf(file, a.Line, "", "", "YAML alias *%s: aliases are not allowed in model files; write the value out", a.Value)
		}
		return nil
	}
	root := doc.Content[0]
	// Name the concept in every message, the unknown keys before id too.
	if root.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(root.Content); i += 2 {
			if k, v := root.Content[i], root.Content[i+1]; k.Value == "id" && v.Kind == yaml.ScalarNode {
				s.concept = v.Value
			}
		}
	}
	f, _ := s.fields(root, "concept", "id", "major", "name", "definition", "master", "classification", "attributes")
	if f == nil {
		return nil
	}
	c := &Concept{File: file, Line: root.Line}
	if v, ok := f["id"]; ok {
		if id, ok := s.str(v, "id"); ok {
			c.ID = id
			s.concept = id
			if !conceptIDRe.MatchString(id) {
				s.errf(v, "id %q must be lower-case letters and digits, starting with a letter, at most 40", id)
			} else if id != base {
				s.errf(v, "id %q does not match the file name %s (want %s.yaml)", id, path.Base(file), id)
			}
		}
	} else {
		s.errf(root, "id is required")
	}
	for _, k := range []string{"major", "name", "definition", "master", "classification", "attributes"} {
		if _, ok := f[k]; !ok {
			s.errf(root, "%s is required", k)
		}
	}
	if v, ok := f["major"]; ok {
		if m, ok := s.integer(v, "major"); ok {
			if m < 1 {
				s.errf(v, "major %d must be 1 or more", m)
			}
			c.Major = m
		}
	}
	if v, ok := f["name"]; ok {
		c.Name = s.text(v, "name")
	}
	if v, ok := f["definition"]; ok {
		c.Definition = s.text(v, "definition")
	}
	if v, ok := f["master"]; ok {
		if m, ok := s.str(v, "master"); ok {
			if !systemIDRe.MatchString(m) {
				s.errf(v, "master %q must be a system id: lower-case letters, digits and '-'", m)
			}
			c.Master = m
		}
	}
	if v, ok := f["classification"]; ok {
		c.Classification = s.classification(v)
	}
	if v, ok := f["attributes"]; ok {
		c.Attributes = s.attributes(v, true)
		if v.Kind == yaml.MappingNode && len(c.Attributes) == 0 && len(v.Content) == 0 {
			s.errf(v, "attributes must not be empty")
		}
	}
	return c
}

var attributeKeys = []string{"type", "required", "default", "label", "definition", "classification", "personalData", "shielded", "naturalKey", "validation", "codes", "ref", "attributes", "items", "precision", "scale"}
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
	params := map[string]Type{"codes": Enum, "ref": Reference, "attributes": Record, "items": List, "precision": Decimal, "scale": Decimal}
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

// resolve checks what needs the whole model: references.
func (l *loader) resolve(m *Model, c *Concept, prefix string, attrs []*Attribute) {
	for _, a := range attrs {
		p := a.Name
		if prefix != "" {
			p = prefix + "." + a.Name
		}
		l.resolveOne(m, c, p, a)
	}
}

func (l *loader) resolveOne(m *Model, c *Concept, p string, a *Attribute) {
	switch a.Type {
	case Reference:
		if a.Ref != "" && m.Concept(a.Ref) == nil {
			ids := make([]string, 0, len(m.Concepts))
			for _, c := range m.Concepts {
				ids = append(ids, c.ID)
			}
			l.errf(c.File, a.Line, c.ID, p, "ref %q is not a concept of the model (%s)", a.Ref, strings.Join(ids, ", "))
		}
	case Record:
		l.resolve(m, c, p, a.Attributes)
	case List:
		if a.Items != nil {
			l.resolveOne(m, c, p+".items", a.Items)
		}
	}
}

// requiredRefs returns the concepts a record of c must reference: its
// required references, and required lists of references that must not be
// empty.
func requiredRefs(c *Concept) []*Attribute {
	var out []*Attribute
	for _, a := range c.Attributes {
		switch {
		case !a.Required:
		case a.Type == Reference:
			out = append(out, a)
		case a.Type == List && a.Items != nil && a.Items.Type == Reference && a.Validation.MinLength != nil && *a.Validation.MinLength > 0:
			out = append(out, a)
		}
	}
	return out
}

// requiredCycles reports cycles of required references (a self-reference
// included): no record on such a cycle could ever be created first.
func (l *loader) requiredCycles(m *Model) {
	const (
		unvisited = iota
		active
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(c *Concept)
	visit = func(c *Concept) {
		state[c.ID] = active
		stack = append(stack, c.ID)
		for _, a := range requiredRefs(c) {
			ref := a.Ref
			if a.Type == List {
				ref = a.Items.Ref
			}
			next := m.Concept(ref)
			if next == nil {
				continue // reported by resolve
			}
			switch state[next.ID] {
			case active:
				i := slices.Index(stack, next.ID)
				cycle := append([]string{c.ID}, stack[i:]...)
				l.errf(c.File, a.Line, c.ID, a.Name, "required references form a cycle %s: no record on it could be created first (make one of them optional)", strings.Join(cycle, " → "))
			case unvisited:
				visit(next)
			}
		}
		stack = stack[:len(stack)-1]
		state[c.ID] = done
	}
	for _, c := range m.Concepts {
		if state[c.ID] == unvisited {
			visit(c)
		}
	}
}

// TypeName returns the name the generators give the named type (Avro
// record or enum, Go type) of a record or enum at an attribute path within
// a concept: the concept id and each path element in PascalCase, list
// items adding "Item". E.g. ("unit", "openingHours", "items") gives
// "UnitOpeningHoursItem".
func TypeName(conceptID string, path ...string) string {
	var b strings.Builder
	b.WriteString(upperFirst(conceptID))
	for _, p := range path {
		if p == "items" {
			b.WriteString("Item")
			continue
		}
		b.WriteString(upperFirst(p))
	}
	return b.String()
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// typeNames reports two records or enums of a concept that would get the
// same generated type name (attribute "openingHours" and attribute
// "opening" with a nested "hours", say).
func (l *loader) typeNames(c *Concept) {
	seen := map[string]string{}
	var walk func(path []string, a *Attribute)
	walk = func(path []string, a *Attribute) {
		if a == nil {
			return
		}
		if a.Type == Record || a.Type == Enum {
			name := TypeName(c.ID, path...)
			p := strings.Join(path, ".")
			if other, dup := seen[name]; dup {
				l.errf(c.File, a.Line, c.ID, p, "its generated type name %s is also that of attribute %s: rename one of them", name, other)
			} else {
				seen[name] = p
			}
		}
		switch a.Type {
		case Record:
			for _, sub := range a.Attributes {
				walk(append(slices.Clone(path), sub.Name), sub)
			}
		case List:
			walk(append(slices.Clone(path), "items"), a.Items)
		}
	}
	for _, a := range c.Attributes {
		walk([]string{a.Name}, a)
	}
}

// findAliases returns the alias nodes of a document. Aliases are refused:
// followed, a few lines could expand into an exponentially large model.
func findAliases(n *yaml.Node, found []*yaml.Node) []*yaml.Node {
	if n.Kind == yaml.AliasNode {
		return append(found, n)
	}
	for _, c := range n.Content {
		found = findAliases(c, found)
	}
	return found
}

var errNotUTF8 = errors.New("not valid UTF-8")

func runeCount(s string) (int, error) {
	if !utf8.ValidString(s) {
		return 0, errNotUTF8
	}
	return utf8.RuneCountInString(s), nil
}
