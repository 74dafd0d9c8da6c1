// Package site is what every area of the console shares: the Site that
// holds the API client, the concept model and the sessions; sign-in and
// sign-out; the Request a page handler gets, with its language and the
// CSRF check; the layout and rendering of pages; the message catalogue;
// and the registry through which the areas (records, subscriptions,
// catalogue, systems, flow) add their routes, navigation, messages and
// template functions.
package site

import (
	"cmp"
	"context"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/httproute"
	"github.com/samnav/samnav/services/console/internal/api"
	"github.com/samnav/samnav/services/console/internal/session"
)

// TokenVerifier tells who an API token belongs to. *auth.Tokens satisfies
// it. Verify must return an error wrapping auth.ErrUnauthenticated for a
// token that is unknown, malformed, revoked or expired.
type TokenVerifier interface {
	Verify(ctx context.Context, token string) (*auth.Principal, error)
}

// Options are what New needs; every field is required but Logger and Now.
type Options struct {
	API      *api.Client
	Model    *model.Model
	Sessions *session.Store
	Verifier TokenVerifier
	// SecureCookies marks cookies Secure on every request; without it they
	// are Secure only on requests that arrive over TLS.
	SecureCookies bool
	// Templates holds templates/*.html, Static the static/ folder.
	Templates fs.FS
	Static    fs.FS
	Logger    *slog.Logger
	Now       func() time.Time
	// SignInLimits slow down failed sign-ins per browser address (the
	// zero value: auth.DefaultLoginLimits); SignInWait holds a refused
	// sign-in's answer back (nil: a timer, ended by the request's end).
	SignInLimits auth.LoginLimits
	SignInWait   func(ctx context.Context, d time.Duration)
}

// Site is the console's shared core. The areas' handlers embed it and use
// its API client, model, logger and clock, and register with Page and
// Public.
type Site struct {
	API      *api.Client
	Model    *model.Model
	Logger   *slog.Logger
	Now      func() time.Time
	Sessions *session.Store

	verifier      TokenVerifier
	signins       *auth.FailedLogins
	signinWait    func(ctx context.Context, d time.Duration)
	secureCookies bool
	static        fs.FS
	mux           *httproute.Mux
	pages         map[string]*template.Template
	nav           []NavEntry

	// ctx is cancelled by Close; background work runs under it.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New checks the messages, parses the templates and registers the core's
// and every registered feature's routes; it starts nothing.
func New(o Options) (*Site, error) {
	if err := catalogue.Check(); err != nil {
		return nil, fmt.Errorf("console messages: %w", err)
	}
	pages, err := parseTemplates(o.Templates)
	if err != nil {
		return nil, fmt.Errorf("console templates: %w", err)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Site{
		API: o.API, Model: o.Model, Logger: o.Logger, Now: o.Now, Sessions: o.Sessions,
		verifier: o.Verifier, secureCookies: o.SecureCookies, static: o.Static,
		signins: auth.NewFailedLogins(o.SignInLimits), signinWait: o.SignInWait,
		mux: httproute.New(), pages: pages, ctx: ctx, cancel: cancel,
	}
	s.coreRoutes()
	for _, f := range features {
		if f.Routes != nil {
			f.Routes(s)
		}
		s.nav = append(s.nav, f.Nav...)
	}
	slices.SortStableFunc(s.nav, func(a, b NavEntry) int { return cmp.Compare(a.Order, b.Order) })
	return s, nil
}

// Handler returns the console's HTTP handler, with the security headers
// every response carries. It lists its routes (httproute.RoutesOf), so
// that a test can walk every page and form the console serves.
func (s *Site) Handler() http.Handler { return httproute.Listing(securityHeaders(s.mux), s.mux) }

// Go runs f in the background under a context that Close cancels; Close
// waits for f to return.
func (s *Site) Go(f func(ctx context.Context)) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f(s.ctx)
	}()
}

// Close cancels the background work started with Go and waits for it.
func (s *Site) Close() {
	s.cancel()
	s.wg.Wait()
}

// Template returns the parsed page template name (e.g. "flow.html"), for
// a handler that renders one of its parts alone.
func (s *Site) Template(name string) (*template.Template, bool) {
	t, ok := s.pages[name]
	return t, ok
}

// securityHeaders sets the headers every console response carries: no
// framing, no MIME sniffing, scripts and styles only from the console.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// Wait waits for the background work started with Go to end, without
// stopping it; tests use it to see an import through.
func (s *Site) Wait() { s.wg.Wait() }
