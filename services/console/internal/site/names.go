package site

import "github.com/samnav/samnav/contracts/systems"

// Names of systems, concepts and attributes for people, shared by the
// subscriptions, systems and flow pages.

// SystemName is a system id with its catalogue name and owner, for the
// pages; Known is false for an id the catalogue lacks.
type SystemName struct {
	ID, Name, Owner string
	Known           bool
}

// SystemLabel names the system id for people.
func (s *Site) SystemLabel(r *Request, id string) SystemName {
	l := SystemName{ID: id, Name: id}
	cat, err := systems.Load()
	if err != nil {
		return l
	}
	if sys := cat.System(id); sys != nil {
		lang := string(r.Lang)
		l.Name, l.Known = sys.Name.In(lang), true
		l.Owner = sys.Owner.Namnd.In(lang) + " / " + sys.Owner.Forvaltning.In(lang)
	}
	return l
}

// ConceptName is the name of the concept id in r's language, or the id.
func (s *Site) ConceptName(r *Request, id string) string {
	if c := s.Model.Concept(id); c != nil {
		return r.Text(c.Name)
	}
	return id
}

// AttrLabel returns a concept attribute's label, or its name.
func (s *Site) AttrLabel(r *Request, concept, name string) string {
	if c := s.Model.Concept(concept); c != nil {
		if a := c.Attribute(name); a != nil && (a.Label.SV != "" || a.Label.EN != "") {
			return r.Text(a.Label)
		}
	}
	return name
}

// AttrLabels are the labels of a concept's attributes names.
func (s *Site) AttrLabels(r *Request, concept string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = s.AttrLabel(r, concept, n)
	}
	return out
}
