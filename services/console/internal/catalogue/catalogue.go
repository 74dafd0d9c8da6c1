package catalogue

import (
	"fmt"
	"net/http"

	"github.com/samnav/samnav/contracts"
	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/services/console/internal/api"
	"github.com/samnav/samnav/services/console/internal/site"
	delivery "github.com/samnav/samnav/services/delivery/client"
)

// The concept catalogue: every concept and attribute of the model, with
// the contracts the registry holds and the systems that subscribe.
var _ = site.Register(site.Area[*pages]{
	Name: "catalogue", Order: 10, New: newPages,
	Pages: []site.Route[*pages]{
		{Path: "/catalogue", Show: (*pages).cataloguePage},
		{Path: "/catalogue/{concept}", Show: (*pages).conceptPage},
		{Path: "/catalogue/{concept}/{file}", Show: (*pages).contractSchema},
	},
})

type catalogueData struct {
	Concepts []*model.Concept
}

func (s *pages) cataloguePage(w http.ResponseWriter, r *site.Request) error {
	return s.Render(w, r, "catalogue.html", "catalogue.title", catalogueData{Concepts: s.Model.Concepts})
}

// attrRow is one attribute in the catalogue, nested ones flattened with
// their path and depth.
type attrRow struct {
	Path  string
	Depth int
	A     *model.Attribute
	// Type describes the type in words, e.g. "list of string".
	Type string
}

type contractRow struct {
	Concept       string
	Major         int
	Topic         string
	Subject       string
	Versions      []int
	Compatibility string
	// Error says why the registry could not tell (refused, unavailable).
	Error string
}

type conceptData struct {
	C          *model.Concept
	Attributes []attrRow
	Contracts  []contractRow
	// Subscribers are the subscriptions the principal may see;
	// SubscribersNote says why there are none to show when that is not
	// simply that there are none.
	Subscribers     []delivery.Subscription
	SubscribersNote string
	MayRead         bool
}

func (s *pages) conceptPage(w http.ResponseWriter, r *site.Request) error {
	c := s.Model.Concept(r.PathValue("concept"))
	if c == nil {
		return site.NotFound("catalogue.unknown", r.PathValue("concept"))
	}
	d := conceptData{C: c, Attributes: flattenAttributes(r, c.Attributes, "", 0), MayRead: r.Principal().CanRead(c.ID, c.Master)}

	cs, err := contracts.Contracts()
	if err != nil {
		return err
	}
	for _, ct := range cs {
		if ct.Concept != c.ID {
			continue
		}
		row := contractRow{Concept: ct.Concept, Major: ct.Major, Topic: ct.Topic, Subject: ct.Subject}
		row.Versions, err = s.API.SchemaVersions(r.Context(), r.Token(), ct.Subject)
		if err == nil {
			row.Compatibility, err = s.API.Compatibility(r.Context(), r.Token(), ct.Subject)
		}
		if err != nil {
			row.Error = s.unavailable(r, err, "catalogue.registry")
		}
		d.Contracts = append(d.Contracts, row)
	}

	if !maySeeSubscribers(r.Principal(), c.ID) {
		d.SubscribersNote = r.T("catalogue.subscribers.norole")
	} else {
		subs, err := s.API.Delivery(r.Token()).All(r.Context(), delivery.Filter{Concept: c.ID})
		switch {
		case err != nil:
			d.SubscribersNote = s.unavailable(r, err, "catalogue.delivery")
		case len(subs) == 0:
			d.SubscribersNote = r.T("catalogue.subscribers.none")
		}
		d.Subscribers = subs
	}
	return s.Render(w, r, "concept.html", "catalogue.concept.title", d, r.Text(c.Name))
}

// unavailable turns an error of a part of the page into a sentence for
// it, so that one service's trouble does not fail the whole page.
func (s *pages) unavailable(r *site.Request, err error, what string) string {
	if api.IsRefused(err) {
		return r.T("catalogue.refused", r.T(what), api.AsError(err).Message)
	}
	s.Logger.WarnContext(r.Context(), "catalogue part unavailable", "part", what, "err", err)
	return r.T("catalogue.unavailable", r.T(what))
}

// maySeeSubscribers mirrors the delivery service's rule for who sees a
// concept's subscriptions (admins, readers of the concept that are not
// only publishers, its owners); others get an empty list from the API,
// which the page must not present as "nobody subscribes".
func maySeeSubscribers(p *auth.Principal, concept string) bool {
	if p.Can(auth.ActionAdmin, "") || p.Can(auth.ActionApprove, concept) {
		return true
	}
	if !p.Can(auth.ActionRead, concept) {
		return false
	}
	for _, g := range p.Grants {
		if g.Role != auth.RolePublisher {
			return true
		}
	}
	return false
}

func flattenAttributes(r *site.Request, as []*model.Attribute, prefix string, depth int) []attrRow {
	var out []attrRow
	for _, a := range as {
		p := prefix + a.Name
		out = append(out, attrRow{Path: p, Depth: depth, A: a, Type: typeText(r, a)})
		switch {
		case a.Type == model.Record:
			out = append(out, flattenAttributes(r, a.Attributes, p+".", depth+1)...)
		case a.Type == model.List && a.Items != nil && a.Items.Type == model.Record:
			out = append(out, flattenAttributes(r, a.Items.Attributes, p+"[].", depth+1)...)
		}
	}
	return out
}

// typeText describes an attribute's type in the request's language.
func typeText(r *site.Request, a *model.Attribute) string {
	t := r.T("type." + string(a.Type))
	switch a.Type {
	case model.List:
		if a.Items != nil {
			return fmt.Sprintf("%s (%s)", t, typeText(r, a.Items))
		}
	case model.Reference:
		return fmt.Sprintf("%s → %s", t, a.Ref)
	case model.Decimal:
		return fmt.Sprintf("%s (%d, %d)", t, a.Precision, a.Scale)
	}
	return t
}

// contractSchema serves a contract's Avro schema as embedded in the
// contracts module, "v<major>.avsc", for integrators.
func (s *pages) contractSchema(w http.ResponseWriter, r *site.Request) error {
	cs, err := contracts.Contracts()
	if err != nil {
		return err
	}
	for _, ct := range cs {
		if ct.Concept == r.PathValue("concept") && r.PathValue("file") == fmt.Sprintf("v%d.avsc", ct.Major) {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.Header().Set("Content-Disposition", fmt.Sprintf(`inline; filename="%s.v%d.avsc"`, ct.Concept, ct.Major))
			_, err := w.Write([]byte(ct.Schema))
			return err
		}
	}
	return site.NotFound("catalogue.noschema")
}
