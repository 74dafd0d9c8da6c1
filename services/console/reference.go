package console

import (
	"net/url"

	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/services/console/internal/api"
)

// maxRefOptions is the most records of a referenced concept a form
// offers as a list to choose from; beyond it the steward types the id.
const maxRefOptions = 200

// referenceOptions fetches, for every concept the attributes refer to,
// its records as choices (up to maxRefOptions, with the signed-in
// person's token). A concept the person may not read, or with too many or
// no records, gets no choices, and its references stay text inputs.
func (s *Server) referenceOptions(r *Request, attrs []*model.Attribute) map[string][]formOption {
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

func (s *Server) refChoices(r *Request, concept string) []formOption {
	c := s.model.Concept(concept)
	if c == nil {
		return nil
	}
	page, err := s.api.ListRecords(r.Context(), r.Token(), concept, api.ListQuery{Limit: maxRefOptions})
	if err != nil || page.Next != "" || len(page.Records) == 0 {
		return nil
	}
	opts := make([]formOption, 0, len(page.Records))
	for _, rec := range page.Records {
		opts = append(opts, formOption{Value: rec.ID, Label: recordTitle(c, rec) + " (" + rec.ID + ")"})
	}
	return opts
}

// recordTitle names a record for people: its "name" attribute, else its
// first natural key, else its id.
func recordTitle(c *model.Concept, rec *api.Record) string {
	if s, ok := rec.State["name"].(string); ok && s != "" {
		return s
	}
	for _, k := range c.NaturalKeys() {
		if s := scalarText(rec.State[k.Name]); s != "" {
			return s
		}
	}
	return rec.ID
}

// refLink is the console's address of a referenced record.
func refLink(a *model.Attribute, v any) string {
	id := scalarText(v)
	if a == nil || a.Type != model.Reference || id == "" {
		return ""
	}
	return "/records/" + url.PathEscape(a.Ref) + "/" + url.PathEscape(id)
}
