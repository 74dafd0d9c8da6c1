package site

import (
	"fmt"
	"net/http"

	"github.com/samnav/samnav/pkg/auth"
)

// Area declares one area of the console in its own package, so that
// engineers adding areas never edit the same file. It says only what is
// the area's own; Register does the rest (the menu entry, building the
// handler set once per Site, mounting each page with Site.Page):
//
//	var _ = site.Register(site.Area[*pages]{
//		Name: "subscriptions", Order: 30,
//		New:  func(st *site.Site) *pages { return &pages{Site: st} },
//		Pages: []site.Route[*pages]{
//			{Path: "/subscriptions", Show: (*pages).subscriptionsPage, Submit: (*pages).subscriptionRequest},
//		},
//	})
//
// P is the area's handler set, usually `type pages struct{ *site.Site }`,
// whose methods are the handlers. See README.md for the whole recipe.
type Area[P any] struct {
	// Name identifies the area in errors and names its menu entry: a link
	// to "/"+Name labelled by the message "nav."+Name.
	Name string
	// Order sorts the menu, lowest first; the areas use 10 (catalogue),
	// 20 (records), 25 (import), 30, 40, 50; leave gaps.
	Order int
	// Visible shows the menu entry only to the signed-in people for whom
	// it returns true (nil: to everyone signed in). It hides the link
	// only; the pages check their own rights.
	Visible func(p *auth.Principal) bool
	// New builds the area's handler set on s; it is called once per Site.
	New func(s *Site) P
	// Before, when set, runs before each of the area's handlers, to set up
	// what they share for one request (see Local).
	Before func(h P, r *Request)
	// Pages are the area's pages, all for signed-in people (Site.Page):
	// anonymous visitors are sent to sign in, and every POST is
	// CSRF-checked before its handler runs.
	Pages []Route[P]
}

// Route is one path of an area: Show answers GET on Path (the page),
// Submit answers POST (the form posted to it, which redirects or shows
// the page again with its errors). Either may be nil, not both.
type Route[P any] struct {
	Path   string
	Show   func(h P, w http.ResponseWriter, r *Request) error
	Submit func(h P, w http.ResponseWriter, r *Request) error
}

// Register adds a to every Site built afterwards. Call it from a
// package-level var declaration; it returns true so it can be assigned to
// _. A route with neither Show nor Submit panics at start, naming the
// area and the path (a test builds the package, so it never ships).
func Register[P any](a Area[P]) bool {
	for _, rt := range a.Pages {
		if rt.Show == nil && rt.Submit == nil {
			panic(fmt.Sprintf("console area %s: route %s has neither Show nor Submit", a.Name, rt.Path))
		}
	}
	features = append(features, Feature{
		Name: a.Name,
		Nav:  []NavEntry{{Path: "/" + a.Name, Label: "nav." + a.Name, Order: a.Order, Visible: a.Visible}},
		Routes: func(s *Site) {
			h := a.New(s)
			for _, rt := range a.Pages {
				if rt.Show != nil {
					s.Page("GET "+rt.Path, bind(h, a.Before, rt.Show))
				}
				if rt.Submit != nil {
					s.Page("POST "+rt.Path, bind(h, a.Before, rt.Submit))
				}
			}
		},
	})
	return true
}

// bind makes f a HandlerFunc on the handler set h, running before first
// when it is set.
func bind[P any](h P, before func(P, *Request), f func(P, http.ResponseWriter, *Request) error) HandlerFunc {
	return func(w http.ResponseWriter, r *Request) error {
		if before != nil {
			before(h, r)
		}
		return f(h, w, r)
	}
}
