// Protection that follows references: a record that refers to a protected
// identity (an employee of a person with skyddad folkbokföring) withholds
// the attributes that would locate that person.

package model

import (
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Protection is declared on a reference attribute whose target can be a
// protected identity (the person an employee record refers to). When the
// referenced record is protected, the referring record's Locating
// attributes are withheld from every system and reader not approved for
// protected identities, as the target's own shielded attributes are.
type Protection struct {
	// Locating names the referring concept's top-level attributes that
	// locate the referenced person: where they work, how to reach them,
	// and always the reference itself (the link leads to the person).
	Locating []string
	Line     int
}

// protection parses an attribute's protection: {locating: [names]}, nil
// when it is malformed (reported). The names are checked against the
// concept in protections, once every attribute is known.
func (s scope) protection(n *yaml.Node) *Protection {
	s = s.at("protection")
	f, _ := s.fields(n, "protection", "locating")
	if f == nil {
		return nil
	}
	p := &Protection{Line: n.Line}
	v, ok := f["locating"]
	if !ok {
		s.errf(n, "locating is required: the attributes that locate the referenced person")
		return nil
	}
	if v.Kind != yaml.SequenceNode {
		s.errf(v, "locating must be a list of attribute names")
		return nil
	}
	for _, item := range v.Content {
		if name, ok := s.str(item, "locating item"); ok {
			p.Locating = append(p.Locating, name)
		}
	}
	return p
}

// protections checks c's protection declarations against the model: only
// a top-level reference may carry one, its target must have protected
// identities (shielded attributes), and its locating attributes must be
// c's own top-level attributes, each once, the reference itself among them.
func (l *loader) protections(m *Model, c *Concept) {
	var nested func(prefix string, attrs []*Attribute)
	nested = func(prefix string, attrs []*Attribute) {
		for _, a := range attrs {
			p := prefix + "." + a.Name
			if a.Protection != nil {
				l.errf(c.File, a.Protection.Line, c.ID, p, "protection is only allowed on a top-level reference: the locating attributes are the concept's own")
			}
			nested(p, a.Attributes)
		}
	}
	for _, a := range c.Attributes {
		nested(a.Name, a.Attributes)
		pr := a.Protection
		if pr == nil {
			continue
		}
		path := a.Name + ".protection"
		if target := m.Concept(a.Ref); target != nil && !target.HasShielded() {
			l.errf(c.File, pr.Line, c.ID, path, "ref %q has no shielded attribute, so none of its records is ever a protected identity: remove protection or shield the target's locating attributes", a.Ref)
		}
		if len(pr.Locating) == 0 {
			l.errf(c.File, pr.Line, c.ID, path, "locating must name at least the reference itself (%s)", a.Name)
			continue
		}
		seen := map[string]bool{}
		for _, name := range pr.Locating {
			switch {
			case seen[name]:
				l.errf(c.File, pr.Line, c.ID, path, "locating names %q twice", name)
			case c.Attribute(name) == nil:
				names := make([]string, len(c.Attributes))
				for i, x := range c.Attributes {
					names[i] = x.Name
				}
				l.errf(c.File, pr.Line, c.ID, path, "locating %q is not a top-level attribute of %s (%s)", name, c.ID, strings.Join(names, ", "))
			}
			seen[name] = true
		}
		if !seen[a.Name] {
			l.errf(c.File, pr.Line, c.ID, path, "locating must name the reference itself (%s): the link leads to the protected person", a.Name)
		}
	}
}

// ProtectingReferences returns c's top-level references that carry
// protection (see Attribute.Protection), in model order.
func (c *Concept) ProtectingReferences() []*Attribute {
	var out []*Attribute
	for _, a := range c.Attributes {
		if a.Protection != nil {
			out = append(out, a)
		}
	}
	return out
}

// Locating reports whether attribute name of c locates a person that one
// of c's protecting references may point to.
func (c *Concept) Locating(name string) bool {
	for _, a := range c.ProtectingReferences() {
		if slices.Contains(a.Protection.Locating, name) {
			return true
		}
	}
	return false
}

// ProtectedRefs tells whether the record with the given id of the concept
// a protecting reference points to (ref.Ref) is a protected identity.
type ProtectedRefs func(ref *Attribute, id string) bool

// Withheld returns, in model order, the attributes of c that state must
// not show to someone not approved for protected identities because a
// protecting reference of state points to a protected record, as
// protected reports. It is nil when no reference does (or state is nil).
// protected is asked only for references state holds.
func (c *Concept) Withheld(state map[string]any, protected ProtectedRefs) []string {
	if state == nil {
		return nil
	}
	hide := map[string]bool{}
	for _, a := range c.ProtectingReferences() {
		id, _ := state[a.Name].(string)
		if id != "" && protected(a, id) {
			for _, n := range a.Protection.Locating {
				hide[n] = true
			}
		}
	}
	if len(hide) == 0 {
		return nil
	}
	var out []string
	for _, a := range c.Attributes {
		if hide[a.Name] {
			out = append(out, a.Name)
		}
	}
	return out
}

// ShieldReferring returns state without the locating attributes of every
// protecting reference that points to a protected record (see Withheld),
// and state itself when there is none. The result shares values with
// state; state is not changed. withheld lists the attributes left out, in
// model order (only those state held).
func (c *Concept) ShieldReferring(state map[string]any, protected ProtectedRefs) (shielded map[string]any, withheld []string) {
	hide := c.Withheld(state, protected)
	if len(hide) == 0 {
		return state, nil
	}
	out := make(map[string]any, len(state))
	for k, v := range state {
		out[k] = v
	}
	for _, n := range hide {
		if _, ok := out[n]; ok {
			withheld = append(withheld, n)
		}
		delete(out, n)
	}
	return out, withheld
}
