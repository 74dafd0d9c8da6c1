package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/samnav/samnav/contracts"
	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/services/console/internal/api"
	"github.com/samnav/samnav/services/console/internal/session"
	"github.com/samnav/samnav/services/console/internal/site"
)

// TokenVerifier tells who an API token belongs to (see site.TokenVerifier).
// *auth.Tokens satisfies it.
type TokenVerifier = site.TokenVerifier

var _ TokenVerifier = (*auth.Tokens)(nil)

// DefaultSessionIdle is how long an unused session lives by default.
const DefaultSessionIdle = 30 * time.Minute

// Config configures the console.
type Config struct {
	// MasterdataURL, DeliveryURL and RegistryURL are the base URLs of the
	// services' APIs, e.g. "http://127.0.0.1:8080" (the console adds
	// "/api/v1/..." for masterdata and delivery, "/subjects/..." for the
	// registry).
	MasterdataURL string
	DeliveryURL   string
	RegistryURL   string
	// HTTPClient calls the APIs; nil means http.DefaultClient. `samnav
	// dev` may pass one whose transport dispatches in-process.
	HTTPClient *http.Client
	// Verifier checks the token a person signs in with; nil asks the
	// masterdata API (GET /api/v1/whoami). In `samnav dev` pass the hub's
	// *auth.Tokens.
	Verifier TokenVerifier
	// Model is the concept model; nil means contracts.Model().
	Model *model.Model
	// SessionIdle ends a session unused for this long; 0 means
	// DefaultSessionIdle.
	SessionIdle time.Duration
	// Logger; nil discards.
	Logger *slog.Logger
	// SecureCookies marks cookies Secure on every request, for a console
	// behind a TLS-terminating proxy; without it they are Secure only on
	// requests that arrive over TLS.
	SecureCookies bool
	// Addr is the listen address of Run; "" means ":8090".
	Addr string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Validate reports every problem with c at once, each naming the field and
// the rule.
func (c Config) Validate() error {
	var errs []error
	for _, f := range []struct{ name, v string }{
		{"MasterdataURL", c.MasterdataURL}, {"DeliveryURL", c.DeliveryURL}, {"RegistryURL", c.RegistryURL},
	} {
		if f.v == "" {
			errs = append(errs, fmt.Errorf("%s: required", f.name))
			continue
		}
		u, err := url.Parse(f.v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s %q: must be an absolute http or https URL", f.name, f.v))
		}
	}
	if c.SessionIdle < 0 {
		errs = append(errs, fmt.Errorf("SessionIdle: must not be negative, got %s", c.SessionIdle))
	}
	return errors.Join(errs...)
}

// The templates and static files every area renders and serves.
//
//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Server is the console. Create it with New, serve Handler, and Close it
// to stop background work (imports).
type Server struct {
	// cfg is the configuration New checked, with its defaults filled in.
	cfg    Config
	logger *slog.Logger
	site   *site.Site
}

// New checks cfg and builds the console; it starts nothing.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("console config: %w", err)
	}
	m := cfg.Model
	if m == nil {
		var err error
		if m, err = contracts.Model(); err != nil {
			return nil, fmt.Errorf("console: %w", err)
		}
	}
	if cfg.SessionIdle == 0 {
		cfg.SessionIdle = DefaultSessionIdle
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	client := &api.Client{
		MasterdataURL: strings.TrimRight(cfg.MasterdataURL, "/"),
		DeliveryURL:   strings.TrimRight(cfg.DeliveryURL, "/"),
		RegistryURL:   strings.TrimRight(cfg.RegistryURL, "/"),
		HTTP:          cfg.HTTPClient,
	}
	if cfg.Verifier == nil {
		cfg.Verifier = client
	}
	logger = logger.With("component", "console")
	st, err := site.New(site.Options{
		API: client, Model: m, Sessions: session.NewStore(cfg.SessionIdle, now), Verifier: cfg.Verifier,
		SecureCookies: cfg.SecureCookies, Templates: templateFS, Static: staticFS,
		Logger: logger, Now: now,
	})
	if err != nil {
		return nil, err
	}
	return &Server{cfg: cfg, logger: logger, site: st}, nil
}

// Handler returns the console's HTTP handler. It serves every path it is
// given, so mount it at "/" or behind a mux that sends it the console's
// paths (everything but /api/, /healthz, /metrics).
func (s *Server) Handler() http.Handler { return s.site.Handler() }

// Wait waits for the background work (running imports) to end, without
// stopping it: tests use it to see an import through.
func (s *Server) Wait() { s.site.Wait() }

// Close stops background work (running imports) and waits for it.
func (s *Server) Close() error {
	s.site.Close()
	return nil
}

// Run serves the console on cfg.Addr until ctx is done.
func Run(ctx context.Context, cfg Config) error {
	s, err := New(cfg)
	if err != nil {
		return err
	}
	defer func() { _ = s.Close() }()
	addr := cfg.Addr
	if addr == "" {
		addr = ":8090"
	}
	srv := &http.Server{Addr: addr, Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 5 * time.Minute, IdleTimeout: 2 * time.Minute} // no WriteTimeout: pages may long-poll
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	s.logger.Info("console listening", "addr", addr)
	select {
	case err := <-errc:
		return fmt.Errorf("console: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("console shutdown: %w", err)
	}
	return nil
}

// LoadConfig reads the console's configuration from the environment:
// SAMNAV_CONSOLE_ADDR, SAMNAV_MASTERDATA_URL, SAMNAV_DELIVERY_URL (default
// the masterdata URL), SAMNAV_REGISTRY_URL, SAMNAV_CONSOLE_SESSION_IDLE (a
// Go duration). Sign-in tokens are verified through the masterdata API.
// Problems are reported by Validate, or here for an unreadable duration.
func LoadConfig(getenv func(string) string) (Config, error) {
	cfg := Config{
		Addr:          getenv("SAMNAV_CONSOLE_ADDR"),
		MasterdataURL: getenv("SAMNAV_MASTERDATA_URL"),
		DeliveryURL:   getenv("SAMNAV_DELIVERY_URL"),
		RegistryURL:   getenv("SAMNAV_REGISTRY_URL"),
	}
	if cfg.DeliveryURL == "" {
		cfg.DeliveryURL = cfg.MasterdataURL
	}
	if s := getenv("SAMNAV_CONSOLE_SESSION_IDLE"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			return cfg, fmt.Errorf("SAMNAV_CONSOLE_SESSION_IDLE %q: must be a duration such as 30m", s)
		}
		cfg.SessionIdle = d
	}
	return cfg, nil
}
