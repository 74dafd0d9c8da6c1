package records

import (
	"net/url"
	"strings"

	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/services/console/internal/site"
	masterdata "github.com/samnav/samnav/services/masterdata/client"
)

// maxRefOptions is the most records of a referenced concept a form
// offers as a list to choose from; beyond it the steward types the id.
const maxRefOptions = 200

// referenceOptions fetches, for every concept the attributes refer to,
// its records as choices (up to maxRefOptions, with the signed-in
// person's token). A concept the person may not read, or with too many or
// no records, gets no choices, and its references stay text inputs.
func (s *pages) referenceOptions(r *site.Request, attrs []*model.Attribute) map[string][]formOption {
	out := map[string][]formOption{}
	var walk func([]*model.Attribute)
	walk = func(as []*model.Attribute) {
		for _, a := range as {
			switch {
			case a.Type == model.Reference:
				if _, done := out[a.Ref]; !done {
					out[a.Ref] = s.refChoices(r, a.Ref)
				}
			case a.Type == model.Record:
				walk(a.Attributes)
			case a.Type == model.List && a.Items != nil:
				walk([]*model.Attribute{a.Items})
				walk(a.Items.Attributes)
			}
		}
	}
	walk(attrs)
	return out
}

func (s *pages) refChoices(r *site.Request, concept string) []formOption {
	c := s.Model.Concept(concept)
	if c == nil {
		return nil
	}
	page, err := s.API.Masterdata(r.Token()).List(r.Context(), concept, masterdata.ListOptions{Limit: maxRefOptions})
	if err != nil || page.Next != "" || len(page.Records) == 0 {
		return nil
	}
	opts := make([]formOption, 0, len(page.Records))
	for _, rec := range page.Records {
		label := recordLabel(c, rec.State)
		if label == "" {
			label = shortID(rec.ID)
		}
		refs(r).remember(concept, rec.ID, label)
		opts = append(opts, formOption{Value: rec.ID, Label: label + " (" + shortID(rec.ID) + ")"})
	}
	return opts
}

// recordTitle names a record for people: its label (see recordLabel),
// else its id.
func recordTitle(c *model.Concept, rec *masterdata.Record) string {
	if s := recordLabel(c, rec.State); s != "" {
		return s
	}
	return rec.ID
}

// recordLabel names a record of c for people from its state, or "" when
// the state has nothing to name it by. An address is its street, number,
// postal code and town; a person or employee their given name and surname;
// any other record its "name" attribute, else its first natural key.
func recordLabel(c *model.Concept, state map[string]any) string {
	text := func(name string) string { return strings.TrimSpace(scalarText(state[name])) }
	switch {
	case c.Attribute("streetName") != nil && c.Attribute("postTown") != nil:
		number := text("streetNumber")
		if suffix := text("numberSuffix"); suffix != "" {
			number = strings.TrimSpace(number + " " + suffix)
		}
		street := strings.TrimSpace(text("streetName") + " " + number)
		town := strings.TrimSpace(text("postalCode") + " " + text("postTown"))
		switch {
		case street != "" && town != "":
			return street + ", " + town
		case street != "":
			return street
		}
	case text("name") != "":
		return text("name")
	case c.Attribute("surname") != nil:
		given := text("preferredGivenName")
		if given == "" {
			given = text("givenNames")
		}
		if given == "" {
			given = text("givenName")
		}
		if s := strings.TrimSpace(given + " " + text("surname")); s != "" {
			return s
		}
	}
	for _, k := range c.NaturalKeys() {
		if s := text(k.Name); s != "" {
			return s
		}
	}
	return ""
}

// shortID is an id short enough to read next to a label: its last eight
// characters, the random part of the hub's time-ordered ids (their start
// is shared by records created at about the same time).
func shortID(id string) string {
	if r := []rune(id); len(r) > 8 {
		return "…" + string(r[len(r)-8:])
	}
	return id
}

// maxRefLookups bounds the records one page fetches to name references;
// beyond it, references show their short id.
const maxRefLookups = 25

// refsKey is the site.Local key of a request's refNamer.
type refsKey struct{}

// refs is the request's reference namer: the one pages.nameReferences set up, else
// one that names records by their short ids only.
func refs(r *site.Request) *refNamer {
	return site.Local(r, refsKey{}, func() *refNamer { return &refNamer{} })
}

// refNamer names referenced records for one request, asking the API for
// each record once, with the signed-in person's token. It is used by one
// goroutine (the request's).
type refNamer struct {
	s      *pages
	labels map[string]string // concept + "/" + id -> label
	calls  int
}

// remember records a label already known (e.g. from a list of choices).
func (n *refNamer) remember(concept, id, label string) {
	if n.labels == nil {
		n.labels = map[string]string{}
	}
	n.labels[concept+"/"+id] = label
}

// refLabel names the record id of concept for people: its label, else its
// short id (when it cannot be read, does not exist or the page has asked
// for enough records already).
func refLabel(r *site.Request, concept, id string) string {
	n := refs(r)
	if n == nil || n.s == nil || id == "" {
		return shortID(id)
	}
	key := concept + "/" + id
	if l, ok := n.labels[key]; ok {
		return l
	}
	label := shortID(id)
	c := n.s.Model.Concept(concept)
	if c != nil && n.calls < maxRefLookups {
		n.calls++
		if rec, err := n.s.API.Masterdata(r.Token()).Get(r.Context(), concept, id); err == nil {
			if l := recordLabel(c, rec.State); l != "" {
				label = l
			}
		}
	}
	n.remember(concept, id, label)
	return label
}

// refLink is the console's address of a referenced record.
func refLink(a *model.Attribute, v any) string {
	id := scalarText(v)
	if a == nil || a.Type != model.Reference || id == "" {
		return ""
	}
	return "/records/" + url.PathEscape(a.Ref) + "/" + url.PathEscape(id)
}
