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

	"github.com/samnav/samnav/pkg/sdk/apierr"
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
	// problems, when set, answers the requests no pattern matches.
	problems *apierr.Writer
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

// AnswerUnmatched makes m answer a request no pattern matches with an RFC
// 9457 problem written by wr, as every other error of an API is, instead
// of net/http's plain text: 404 not_found when no pattern matches the
// path, 405 (not_found, with the Allow header net/http computes) when
// patterns match it for other methods only. Neither names the path, which
// may hold personal data.
func (m *Mux) AnswerUnmatched(wr *apierr.Writer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.problems = wr
}

// ServeHTTP dispatches r as http.ServeMux does, answering an unmatched
// request as AnswerUnmatched set.
func (m *Mux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	wr := m.problems
	m.mu.Unlock()
	if wr != nil {
		if h, pattern := m.Handler(r); pattern == "" {
			// net/http's own answer, caught to learn its status and Allow.
			c := &caught{header: http.Header{}}
			h.ServeHTTP(c, r)
			if c.status == http.StatusMethodNotAllowed {
				w.Header().Set("Allow", c.header.Get("Allow"))
				wr.Write(w, r, apierr.NotFound("method "+r.Method+" is not allowed at this path; the Allow header lists those that are").
					WithStatus(http.StatusMethodNotAllowed))
				return
			}
			wr.Write(w, r, apierr.NotFound("no route for this method and path"))
			return
		}
	}
	m.ServeMux.ServeHTTP(w, r)
}

// caught is a ResponseWriter that keeps the status and headers and drops
// the body.
type caught struct {
	header http.Header
	status int
}

func (c *caught) Header() http.Header { return c.header }

func (c *caught) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
}

func (c *caught) Write(b []byte) (int, error) {
	c.WriteHeader(http.StatusOK)
	return len(b), nil
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
