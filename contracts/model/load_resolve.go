// Resolving a loaded model: references between concepts, cycles of required references,
// and generated type names.

package model

import (
	"slices"
	"strings"
)

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
	b.WriteString(Pascal(conceptID))
	for _, p := range path {
		if p == "items" {
			b.WriteString("Item")
			continue
		}
		b.WriteString(Pascal(p))
	}
	return b.String()
}

// Pascal returns a model name (a concept id, an attribute name, a code's
// lower-cased part) with its first letter upper-cased: "registeredAddress"
// becomes "RegisteredAddress". The generators name Go fields and named
// types by it, and master data's encoder finds union branches by it, so
// they cannot disagree. Model names are ASCII (Load checks them).
func Pascal(s string) string {
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
