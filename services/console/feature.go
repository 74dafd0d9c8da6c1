package console

import (
	"cmp"
	"fmt"
	"html/template"
	"slices"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/services/console/internal/i18n"
)

// Feature is one area of the console, declared in its own file so that
// engineers adding areas never edit the same file:
//
//	var _ = registerFeature(Feature{
//		Name: "subscriptions",
//		Nav:  []NavEntry{{Path: "/subscriptions", Label: "nav.subscriptions", Order: 30}},
//		Routes: func(s *Server) {
//			s.page("GET /subscriptions", s.subscriptionsPage)
//		},
//	})
//
// See README.md for the whole recipe.
type Feature struct {
	// Name identifies the feature in errors.
	Name string
	// Nav are the feature's entries in the navigation.
	Nav []NavEntry
	// Routes registers the feature's handlers with s.page / s.public.
	Routes func(s *Server)
}

// NavEntry is one link of the navigation. It is shown to a signed-in
// person for whom Visible returns true (nil: to everyone signed in).
type NavEntry struct {
	Path string
	// Label is the message key of the link text.
	Label string
	// Order sorts the navigation, lowest first; the core uses 10
	// (catalogue), 20 (records), 25 (import); leave gaps.
	Order   int
	Visible func(p *auth.Principal) bool
}

var features []Feature

// registerFeature adds f to every Server built afterwards. Call it from a
// package-level var declaration; it returns true so it can be assigned to
// _.
func registerFeature(f Feature) bool {
	features = append(features, f)
	return true
}

// catalogue holds every message of the console; each feature adds its
// own keys with messages() in its messages_<feature>.go.
var catalogue = i18n.NewCatalogue()

// messages adds a feature's messages; a key defined twice panics at start,
// naming the key (a test builds the package, so it never ships).
func messages(ms map[string]i18n.Message) bool {
	if err := catalogue.Add(ms); err != nil {
		panic(fmt.Sprintf("console messages: %v", err))
	}
	return true
}

// extraFuncs are template functions features add with templateFuncs.
var extraFuncs = template.FuncMap{}

// templateFuncs adds template functions for every template; a name
// defined twice panics at start.
func templateFuncs(fm template.FuncMap) bool {
	for k, f := range fm {
		if _, dup := extraFuncs[k]; dup {
			panic(fmt.Sprintf("console template func %q: defined twice", k))
		}
		extraFuncs[k] = f
	}
	return true
}

// routes registers every feature's routes and collects the navigation.
func (s *Server) routes() {
	s.coreRoutes()
	for _, f := range features {
		if f.Routes != nil {
			f.Routes(s)
		}
		s.nav = append(s.nav, f.Nav...)
	}
	slices.SortStableFunc(s.nav, func(a, b NavEntry) int { return cmp.Compare(a.Order, b.Order) })
}
