package model

import (
	"fmt"
	"io/fs"
	"math"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
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
		l.protections(m, c)
	}
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
			switch {
			case !conceptIDRe.MatchString(id):
				s.errf(v, "id %q must be lower-case letters and digits, starting with a letter, at most 40", id)
			case reservedConceptID(id):
				s.errf(v, "id %q is reserved: the master data API has a route of that name (reserved: %s)", id, strings.Join(ReservedConceptIDs, ", "))
			case id != base:
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
