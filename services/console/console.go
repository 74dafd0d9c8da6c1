package console

import (
	"context"
	"embed"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/samnav/samnav/contracts"
	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/daemon"
	"github.com/samnav/samnav/pkg/telemetry"
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
	// Addr is the listen address of Run; "" means DefaultAddr.
	Addr string
	// Daemon holds what every daemon shares when the console runs alone:
	// logging, OTLP, the shutdown grace and the HTTP server's limits (its
	// Addr is Addr's variable).
	Daemon daemon.Config
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// SignInLimits slow down failed sign-ins per browser address with a
	// growing delay; the zero value means auth.DefaultLoginLimits (5 free
	// failures, then 250ms doubling to 10s). SignInWait replaces the
	// timer that holds a refused answer back (tests).
	SignInLimits auth.LoginLimits
	SignInWait   func(ctx context.Context, d time.Duration)
}

// DaemonConfig returns what every daemon shares (daemon.ServiceConfig).
func (c Config) DaemonConfig() daemon.Config { return c.Daemon }

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
	return daemon.NameVariables(errs, configVars)
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
	logger := daemon.Logger(cfg.Logger)
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
		Logger: logger, Now: now, SignInLimits: cfg.SignInLimits, SignInWait: cfg.SignInWait,
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

// DefaultAddr is where Run listens by default.
const DefaultAddr = ":8090"

// Deps are the console's collaborators when it runs alone.
type Deps struct {
	// Logger replaces Config.Logger.
	Logger *slog.Logger
	// Telemetry, when set, receives the HTTP metrics and serves /metrics.
	Telemetry *telemetry.Telemetry
}

// Run serves the console on cfg.Addr until ctx is done, then drains it
// (see daemon.Serve): what cmd/consoled runs.
func Run(ctx context.Context, cfg Config, deps Deps) error {
	if deps.Logger != nil {
		cfg.Logger = deps.Logger
	}
	s, err := New(cfg)
	if err != nil {
		return err
	}
	addr := cfg.Addr
	if addr == "" {
		addr = DefaultAddr
	}
	return daemon.Serve(ctx, daemon.Program{Logger: s.logger, Telemetry: deps.Telemetry, HTTP: cfg.Daemon.HTTP, Grace: cfg.Daemon.Grace(),
		Servers: []daemon.Server{{Name: "console", Addr: addr, Handler: s.Handler(), Checks: s.Checks()}},
		Close:   s.Close})
}

// Checks are what the console's /healthz checks: the services whose APIs
// it calls answer (any answer below 500 to GET /livez).
func (s *Server) Checks() []daemon.Check {
	client := s.cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 3 * time.Second}
	}
	check := func(name, base string) daemon.Check {
		return daemon.Check{Name: name, Run: func(ctx context.Context) (any, []string) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/livez", nil)
			if err != nil {
				return nil, []string{name + ": " + err.Error()}
			}
			resp, err := client.Do(req)
			if err != nil {
				return nil, []string{name + ": " + err.Error()}
			}
			_ = resp.Body.Close()
			if resp.StatusCode >= 500 {
				return nil, []string{fmt.Sprintf("%s: GET /livez answered %d", name, resp.StatusCode)}
			}
			return nil, nil
		}}
	}
	return []daemon.Check{check("masterdata", s.cfg.MasterdataURL), check("delivery", s.cfg.DeliveryURL), check("registry", s.cfg.RegistryURL)}
}

// LoadConfig reads the console's configuration from the environment:
// SAMNAV_CONSOLE_ADDR, SAMNAV_MASTERDATA_URL, SAMNAV_DELIVERY_URL (default
// the masterdata URL), SAMNAV_REGISTRY_URL, SAMNAV_CONSOLE_SESSION_IDLE (a
// Go duration), SAMNAV_CONSOLE_SECURE_COOKIES (true or false), and what
// every daemon shares (daemon.LoadConfig). Sign-in tokens are verified
// through the masterdata API. A value that cannot be read is an error
// naming its variable, every one at once; Validate reports the rest.
func LoadConfig(getenv func(string) string) (Config, error) {
	env := daemon.NewEnv(getenv)
	d := env.Daemon("console", DefaultAddr)
	cfg := Config{
		Addr:          d.Addr,
		MasterdataURL: env.String("SAMNAV_MASTERDATA_URL"),
		DeliveryURL:   env.String("SAMNAV_DELIVERY_URL"),
		RegistryURL:   env.String("SAMNAV_REGISTRY_URL"),
		SessionIdle:   env.Duration("SAMNAV_CONSOLE_SESSION_IDLE"),
		SecureCookies: env.Bool("SAMNAV_CONSOLE_SECURE_COOKIES"),
		Daemon:        d,
	}
	if cfg.DeliveryURL == "" {
		cfg.DeliveryURL = cfg.MasterdataURL
	}
	return cfg, env.Err()
}

// RunAlone is Run with the process's logger and telemetry, on a
// configuration LoadConfig read: what cmd/consoled runs (see daemon.Main).
func RunAlone(ctx context.Context, cfg Config, tel *telemetry.Telemetry) error {
	return Run(ctx, cfg, Deps{Logger: tel.Logger, Telemetry: tel})
}

// configVars names the variable LoadConfig reads each Config field from,
// for Validate's messages.
var configVars = map[string]string{"MasterdataURL": "SAMNAV_MASTERDATA_URL", "DeliveryURL": "SAMNAV_DELIVERY_URL",
	"RegistryURL": "SAMNAV_REGISTRY_URL", "SessionIdle": "SAMNAV_CONSOLE_SESSION_IDLE"}
