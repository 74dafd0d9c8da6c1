package systems

import (
	"html/template"
	"net/http"
	"slices"
	"strings"

	"github.com/samnav/samnav/contracts/systems"
	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/services/console/internal/api"
	"github.com/samnav/samnav/services/console/internal/site"
	delivery "github.com/samnav/samnav/services/delivery/client"
)

// The system map (issue 6, item 4): every system of the catalogue with
// its owner, what it masters (from the concept model) and what it
// receives (from the approved subscriptions the signed-in person may
// read), drawn as a graph master → hub → subscriber per concept, and the
// same as tables, which are the map for keyboard and screen-reader users
// and for browsers without JavaScript.
var _ = site.Register(site.Area[*pages]{
	Name: "systems", Order: 40, New: newPages,
	Pages: []site.Route[*pages]{{Path: "/systems", Show: (*pages).systemsPage}},
})

var _ = site.TemplateFuncs(template.FuncMap{
	// sysHTTPS tells a contact URL from an e-mail address.
	"sysHTTPS": func(s string) bool { return strings.HasPrefix(s, "https://") },
})

// mapSystem is one system of the map.
type mapSystem struct {
	ID, Name, Namnd, Forvaltning, Contact, Description string
	// Known is false for a system that subscribes but is not in the
	// catalogue.
	Known    bool
	Hub      bool
	Masters  []string // concept names
	Receives []string // "concept (channel)"
}

// mapFlow is one edge: From sends Concept to To (over Channel, for a
// subscription).
type mapFlow struct {
	From, To, FromName, ToName string
	Concept, ConceptName       string
	Channel, ChannelLabel      string
}

// mapGraph is what static/systems.js draws.
type mapGraph struct {
	Nodes []mapNode `json:"nodes"`
	Edges []mapEdge `json:"edges"`
}

type mapNode struct {
	ID    string `json:"id"`
	Label string `json:"label"`
	Owner string `json:"owner"`
	// Role is "hub", "master", "subscriber", "both" or "none": the column
	// it is drawn in.
	Role string `json:"role"`
}

type mapEdge struct {
	ID     string `json:"id"`
	Source string `json:"source"`
	Target string `json:"target"`
	Label  string `json:"label"`
	Kind   string `json:"kind"` // "master" or "subscription"
}

type systemsData struct {
	Systems []mapSystem
	Flows   []mapFlow
	Graph   mapGraph
	// Partial says the subscriptions could not all be read with this
	// token: the map shows masters, and only the subscriptions it may see.
	Partial bool
	Summary string
}

func (s *pages) systemsPage(w http.ResponseWriter, r *site.Request) error {
	cat, err := systems.Load()
	if err != nil {
		return err
	}
	subs, err := s.API.Delivery(r.Token()).All(r.Context(), delivery.Filter{Status: "approved"})
	partial := false
	switch {
	case api.IsRefused(err):
		partial, subs = true, nil
	case err != nil:
		return err
	}
	p := r.Principal()
	if !p.Can(auth.ActionAdmin, "") && !p.Can(auth.ActionRead, "") && !p.Can(auth.ActionApprove, auth.AnyConcept) {
		// A system or a concept's owner reads only some subscriptions.
		partial = true
	}
	return s.Render(w, r, "systems.html", "systems.title", s.systemsMap(r, cat, subs, partial))
}

// systemsMap builds the map from the catalogue, the model and subs.
func (s *pages) systemsMap(r *site.Request, cat *systems.Catalogue, subs []delivery.Subscription, partial bool) systemsData {
	lang := string(r.Lang)
	d := systemsData{Partial: partial}
	index := map[string]int{}
	add := func(id string) *mapSystem {
		if i, ok := index[id]; ok {
			return &d.Systems[i]
		}
		ms := mapSystem{ID: id, Name: id, Hub: id == systems.Hub}
		if sys := cat.System(id); sys != nil {
			ms.Known, ms.Name, ms.Contact = true, sys.Name.In(lang), sys.Contact
			ms.Namnd, ms.Forvaltning, ms.Description = sys.Owner.Namnd.In(lang), sys.Owner.Forvaltning.In(lang), sys.Description.In(lang)
		}
		index[id] = len(d.Systems)
		d.Systems = append(d.Systems, ms)
		return &d.Systems[len(d.Systems)-1]
	}
	for _, sys := range cat.Systems {
		add(sys.ID)
	}
	name := func(id string) string { return d.Systems[index[id]].Name }
	add(systems.Hub)
	for _, c := range s.Model.Concepts {
		m := add(c.Master)
		m.Masters = append(m.Masters, r.Text(c.Name))
		if c.Master != systems.Hub {
			d.Flows = append(d.Flows, mapFlow{From: c.Master, To: systems.Hub, FromName: name(c.Master), ToName: name(systems.Hub),
				Concept: c.ID, ConceptName: r.Text(c.Name)})
		}
	}
	for _, sub := range subs {
		if sub.Status != "approved" {
			continue
		}
		rcv := add(sub.System)
		cn := s.ConceptName(r, sub.Concept)
		chl := r.T("subscriptions.channel." + sub.Channel)
		rcv.Receives = append(rcv.Receives, r.T("systems.receives.item", cn, chl))
		d.Flows = append(d.Flows, mapFlow{From: systems.Hub, To: sub.System, FromName: name(systems.Hub), ToName: rcv.Name,
			Concept: sub.Concept, ConceptName: cn, Channel: sub.Channel, ChannelLabel: chl})
	}
	for i := range d.Systems {
		ms := &d.Systems[i]
		slices.Sort(ms.Receives)
		ms.Receives = slices.Compact(ms.Receives)
		role := "none"
		switch {
		case ms.Hub:
			role = "hub"
		case len(ms.Masters) > 0 && len(ms.Receives) > 0:
			role = "both"
		case len(ms.Masters) > 0:
			role = "master"
		case len(ms.Receives) > 0:
			role = "subscriber"
		}
		owner := ms.Namnd
		if ms.Forvaltning != "" {
			owner += " / " + ms.Forvaltning
		}
		d.Graph.Nodes = append(d.Graph.Nodes, mapNode{ID: ms.ID, Label: ms.Name, Owner: owner, Role: role})
	}
	seen := map[string]bool{}
	for _, f := range d.Flows {
		id := f.From + ">" + f.To + ">" + f.Concept + ">" + f.Channel
		if seen[id] {
			continue
		}
		seen[id] = true
		e := mapEdge{ID: id, Source: f.From, Target: f.To, Label: f.ConceptName, Kind: "master"}
		if f.Channel != "" {
			e.Kind, e.Label = "subscription", r.T("systems.receives.item", f.ConceptName, r.T("flow.channel."+f.Channel))
		}
		d.Graph.Edges = append(d.Graph.Edges, e)
	}
	masters, receivers := 0, 0
	for _, ms := range d.Systems {
		if len(ms.Masters) > 0 && !ms.Hub {
			masters++
		}
		if len(ms.Receives) > 0 {
			receivers++
		}
	}
	d.Summary = r.T("systems.graph.summary", len(d.Systems), masters, receivers)
	return d
}

// Owner is "nämnd / förvaltning" of a map system.
func (m mapSystem) Owner() string {
	return strings.TrimSuffix(m.Namnd+" / "+m.Forvaltning, " / ")
}
