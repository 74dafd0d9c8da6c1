// Package httproute is a net/http ServeMux that remembers the routes
// mounted on it, so that a test can walk every route a server serves (and
// check, say, that each is documented) from the registration code itself
// rather than from a list kept by hand beside it.
package httproute

import (
	"net/http"
	"slices"
	"strings"
	"sync"
)

// Route is one mounted pattern: Method is "" for a pattern that matches
// every method (a prefix mount or a catch-all), Path is the pattern's path
// with its wildcards, e.g. "/api/v1/{concept}/{id}".
type Route struct {
	Method string
	Path   string
}

// String is the route as a net/http pattern, "GET /api/v1/{concept}".
func (r Route) String() string {
	if r.Method == "" {
		return r.Path
	}
	return r.Method + " " + r.Path
}

// Lister is a handler that can say which routes it serves.
type Lister interface {
	Routes() []Route
}

// Mux is an http.ServeMux that records its patterns. It is safe for
// concurrent use, like http.ServeMux.
type Mux struct {
	*http.ServeMux
	mu       sync.Mutex
	patterns []mounted
}

type mounted struct {
	route   Route
	handler http.Handler
}

// New returns an empty Mux.
func New() *Mux { return &Mux{ServeMux: http.NewServeMux()} }

// Handle registers h for pattern, as http.ServeMux.Handle does.
func (m *Mux) Handle(pattern string, h http.Handler) {
	m.ServeMux.Handle(pattern, h)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.patterns = append(m.patterns, mounted{parse(pattern), h})
}

// HandleFunc registers f for pattern, as http.ServeMux.HandleFunc does.
func (m *Mux) HandleFunc(pattern string, f func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, http.HandlerFunc(f))
}

// Routes lists the routes mounted on m, sorted and without duplicates. A
// handler mounted under a pattern without a method that is itself a
// Lister (another Mux, a StripPrefix of one) is replaced by the routes it
// lists; any other method-less pattern is listed as it is, with Method "".
func (m *Mux) Routes() []Route {
	m.mu.Lock()
	ps := slices.Clone(m.patterns)
	m.mu.Unlock()
	var out []Route
	for _, p := range ps {
		if l, ok := p.handler.(Lister); ok && p.route.Method == "" {
			out = append(out, l.Routes()...)
			continue
		}
		out = append(out, p.route)
	}
	return sorted(out)
}

func parse(pattern string) Route {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		return Route{Path: pattern}
	}
	return Route{Method: method, Path: strings.TrimLeft(path, " \t")}
}

func sorted(rs []Route) []Route {
	slices.SortFunc(rs, func(a, b Route) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Method, b.Method)
	})
	return slices.Compact(rs)
}

// StripPrefix is http.StripPrefix that lists h's routes (when h is a
// Lister) with prefix put back in front of their paths.
func StripPrefix(prefix string, h http.Handler) http.Handler {
	return &listed{Handler: http.StripPrefix(prefix, h), routes: func() []Route {
		l, ok := h.(Lister)
		if !ok {
			return nil
		}
		rs := l.Routes()
		out := make([]Route, len(rs))
		for i, r := range rs {
			out[i] = Route{Method: r.Method, Path: prefix + r.Path}
		}
		return out
	}}
}

// Listing returns h (typically middleware wrapped around a Mux) as a
// Lister of the routes from lists.
func Listing(h http.Handler, from Lister) http.Handler {
	return &listed{Handler: h, routes: from.Routes}
}

// RoutesOf returns the routes h lists, or nil when h is no Lister.
func RoutesOf(h http.Handler) []Route {
	if l, ok := h.(Lister); ok {
		return sorted(l.Routes())
	}
	return nil
}

type listed struct {
	http.Handler
	routes func() []Route
}

func (l *listed) Routes() []Route { return l.routes() }
