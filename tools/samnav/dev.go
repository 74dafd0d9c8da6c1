package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/samnav/samnav/contracts"
	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/auth/authsql"
	"github.com/samnav/samnav/pkg/daemon"
	"github.com/samnav/samnav/pkg/embeddedkafka"
	"github.com/samnav/samnav/pkg/httproute"
	"github.com/samnav/samnav/pkg/keyring"
	"github.com/samnav/samnav/pkg/openapi"
	"github.com/samnav/samnav/pkg/sdk/avroserde"
	"github.com/samnav/samnav/pkg/sdk/kafkaauth"
	"github.com/samnav/samnav/pkg/sdk/sqldb"
	_ "github.com/samnav/samnav/pkg/sqldb/drivers" // the drivers sqldb.Open uses
	"github.com/samnav/samnav/pkg/telemetry"
	"github.com/samnav/samnav/services/console"
	"github.com/samnav/samnav/services/delivery"
	dlclient "github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/masterdata"
	"github.com/samnav/samnav/services/registry"
	"github.com/samnav/samnav/tools/samnav/internal/synthcity"
)

func init() {
	register(command{
		name:    "dev",
		summary: "run the whole hub in one process on the embedded defaults (broker, registry, master data, console)",
		run:     runDev,
	})
}

// devConfig is what `samnav dev` runs with. Every address defaults to
// loopback: the embedded default is for one developer's machine.
type devConfig struct {
	DataDir      string
	KafkaAddr    string
	RegistryAddr string
	HTTPAddr     string
	LogLevel     string
	// Seed is the synthetic city's seed; NoSeed skips seeding.
	Seed   uint64
	NoSeed bool
	// NoExamples skips the example subscriber systems.
	NoExamples bool
	SeedSize   synthcity.Size
	// KafkaSASL makes the embedded broker require SASL (SCRAM-SHA-512)
	// and enforce ACLs: the hub's services connect as the superuser
	// samnav-hub, each example system as a user of its own that may read
	// only its view topics. On by default through the --kafka-sasl flag.
	KafkaSASL bool
	// Daemon is what every daemon shares, from the environment (its Addr
	// and LogLevel from the flags); the zero value takes the defaults.
	Daemon daemon.Config
	// OIDC, from SAMNAV_OIDC_* (off when unset), makes master data and
	// delivery accept that OpenID Provider's bearer access tokens beside
	// the API tokens.
	OIDC auth.OIDCConfig
}

func (c devConfig) validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("--data-dir: must not be empty"))
	}
	for _, a := range []struct{ name, addr string }{{"--kafka-addr", c.KafkaAddr}, {"--registry-addr", c.RegistryAddr}, {"--http-addr", c.HTTPAddr}} {
		if _, _, err := net.SplitHostPort(a.addr); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: must be host:port: %w", a.name, a.addr, err))
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("--log-level %q: must be debug, info, warn or error", c.LogLevel))
	}
	return errors.Join(errs...)
}

func parseDevFlags(args []string, stderr io.Writer) (devConfig, error) {
	fs := flag.NewFlagSet("samnav dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := devConfig{SeedSize: synthcity.DefaultSize}
	fs.StringVar(&cfg.DataDir, "data-dir", "data", "directory for the broker's log, the SQLite databases and other state")
	fs.StringVar(&cfg.KafkaAddr, "kafka-addr", embeddedkafka.DefaultAddr, "address of the embedded Kafka broker")
	fs.StringVar(&cfg.RegistryAddr, "registry-addr", "127.0.0.1:8081", "address of the schema registry (Confluent REST API)")
	fs.StringVar(&cfg.HTTPAddr, "http-addr", "127.0.0.1:8080", "address of the console and APIs")
	fs.StringVar(&cfg.LogLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of the synthetic city loaded on first start (the same seed gives the same city)")
	fs.BoolVar(&cfg.NoSeed, "no-seed", false, "start with empty master data instead of a synthetic city")
	fs.BoolVar(&cfg.NoExamples, "no-examples", false, "do not register and run the example subscriber systems")
	fs.BoolVar(&cfg.KafkaSASL, "kafka-sasl", true, "require SASL/SCRAM-SHA-512 on the embedded broker and enforce ACLs (false: an open broker)")
	if err := parseFlags(fs, args, "Usage: samnav dev [flags]\n\nRuns the embedded Kafka broker and every Samnav service in one process.\nState is kept in --data-dir; stop with Ctrl-C.\n\nFlags:"); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("%w: samnav dev takes no arguments, got %q", errUsage, fs.Args())
	}
	if err := cfg.validate(); err != nil {
		return cfg, fmt.Errorf("%w: %w", errUsage, err)
	}
	return cfg, nil
}

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseDevFlags(args, stderr)
	if err != nil {
		return err
	}
	// What every daemon shares (log format, OTLP, shutdown grace, HTTP
	// limits) comes from the environment; the flags name the addresses
	// and the log level.
	d, err := daemon.LoadConfig(os.Getenv, "dev", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	d.Addr, d.LogLevel = cfg.HTTPAddr, cfg.LogLevel
	cfg.Daemon = d
	env := daemon.NewEnv(os.Getenv)
	cfg.OIDC = env.LoadOIDC()
	if err := errors.Join(env.Err(), cfg.OIDC.Validate()); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	return daemon.Run(ctx, d, stderr, func(ctx context.Context, tel *telemetry.Telemetry) error {
		return serveDev(ctx, cfg, tel, stdout)
	})
}

// serveDev starts the hub, seeds it, and serves until ctx ends.
func serveDev(ctx context.Context, cfg devConfig, tel *telemetry.Telemetry, stdout io.Writer) error {
	h, err := startDev(ctx, cfg, tel)
	if err != nil {
		return err
	}
	h.printBanner(stdout)
	if !cfg.NoExamples {
		if err := h.startExamples(); err != nil {
			h.stop()
			return err
		}
		_, _ = fmt.Fprintln(stdout, "Example subscribers: skolplattform (persons over Kafka), bibliotek (persons over a signed webhook), hemtjanst (units over the pull feed).")
		for _, u := range h.flow.kafkaUsers {
			_, _ = fmt.Fprintln(stdout, "  "+u)
		}
		go h.reportFlow(ctx, stdout, 15*time.Second)
	}
	if !cfg.NoSeed {
		if err := h.seed(ctx, stdout); err != nil {
			if ctx.Err() != nil {
				// Stopped (Ctrl-C, SIGTERM) while seeding: the stop the
				// user asked for, not a failure. What was stored stays, and
				// the next start does not seed over it.
				_, _ = fmt.Fprintln(stdout, "Stopped while seeding: the city is partly loaded; start with an empty --data-dir to seed it whole.")
				return h.wait()
			}
			h.stop()
			return err
		}
	}
	return h.wait()
}

// devHub is a running `samnav dev`: every component started, with the
// addresses each one actually bound.
type devHub struct {
	cfg      devConfig
	tel      *telemetry.Telemetry
	logger   *slog.Logger
	broker   *embeddedkafka.Broker
	registry *registry.Server
	master   *masterdata.Server
	httpLn   net.Listener
	// front serves the console and the APIs on httpLn; serveErr is why it
	// stopped.
	front    *daemon.Lifecycle
	serveErr error
	// ctx lives as long as the hub; stop cancels it.
	ctx      context.Context
	cancel   context.CancelFunc
	stopOnce sync.Once

	closers  []func() error
	tokens   *auth.Tokens
	delivery *delivery.Server
	console  *console.Server
	flow     *exampleFlow

	// adminToken is the bootstrap admin token, set only on the first start
	// of a data directory (it is shown once, then only its hash is kept).
	adminToken string
	components []component
	// apiDoc is the merged OpenAPI document of the APIs on the HTTP port.
	apiDoc openapi.Document
}

// component is one line of the start-up banner and the status page.
type component struct {
	Name, Addr, What string
}

// serviceBase is where a built-in service of the hub listens (addr) and
// keeps its SQLite database: the folder named for it in the data
// directory.
func serviceBase(cfg devConfig, service, addr string) daemon.Base {
	return daemon.Base{Addr: addr, Driver: sqldb.DriverSQLite, DataDir: filepath.Join(cfg.DataDir, service)}
}

// startDev starts every component and returns once all accept connections.
// On error, whatever was started is stopped again.
func startDev(ctx context.Context, cfg devConfig, tel *telemetry.Telemetry) (_ *devHub, err error) {
	ctx, cancel := context.WithCancel(ctx)
	h := &devHub{cfg: cfg, tel: tel, logger: tel.Logger, ctx: ctx, cancel: cancel}
	defer func() {
		if err != nil {
			h.stop()
		}
	}()
	for _, dir := range []string{cfg.DataDir, filepath.Join(cfg.DataDir, "registry"), filepath.Join(cfg.DataDir, "masterdata")} {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("create data dir: %w", err)
		}
	}

	// The hub's own services act as the broker's superuser.
	var hubKafka kafkaauth.Config
	if cfg.KafkaSASL {
		if hubKafka, _, err = kafkaCredentials(cfg.DataDir, "samnav-hub"); err != nil {
			return nil, err
		}
	}
	h.broker, err = embeddedkafka.Start(ctx, embeddedkafka.Config{
		Addr:      cfg.KafkaAddr,
		DataDir:   filepath.Join(cfg.DataDir, "kafka"),
		Superuser: hubKafka,
		// The embedded broker compacts on one schedule for every topic:
		// the view topics' bound (delivery's default), so a protected
		// person's earlier address leaves the views within it here too.
		CleanerInterval: delivery.DefaultViewCompactionLag,
		Logger:          h.logger,
	})
	if err != nil {
		return nil, fmt.Errorf("start embedded kafka (is another broker on %s? use --kafka-addr): %w", cfg.KafkaAddr, err)
	}
	kafkaWhat := "embedded Kafka-protocol broker; state topics samnav.<concept>.v<major>"
	if cfg.KafkaSASL {
		kafkaWhat += fmt.Sprintf("; SASL %s with ACLs, hub user %s (password in %s)", hubKafka.Mechanism, hubKafka.Username, kafkaPasswordPath(cfg.DataDir, hubKafka.Username))
	}
	h.components = append(h.components, component{"kafka", h.broker.Addr(), kafkaWhat})

	// One token store for every component: the registry and master data
	// authenticate the same API tokens.
	tokens, err := h.openTokens(ctx)
	if err != nil {
		return nil, err
	}
	h.tokens = tokens
	h.adminToken, err = tokens.EnsureBootstrapAdmin(ctx)
	if err != nil {
		return nil, err
	}

	seeds, err := contractSeeds()
	if err != nil {
		return nil, err
	}
	h.registry, err = registry.New(registry.Config{
		Base:       serviceBase(cfg, "registry", cfg.RegistryAddr),
		Seed:       seeds,
		Authorizer: adminAuthorizer{tokens},
	}, registry.Deps{Logger: h.logger, Telemetry: tel})
	if err != nil {
		return nil, fmt.Errorf("open schema registry: %w", err)
	}
	if err := h.registry.Start(ctx); err != nil {
		return nil, fmt.Errorf("start schema registry on %s: %w", cfg.RegistryAddr, err)
	}
	registryURL := "http://" + h.registry.Addr()
	h.components = append(h.components, component{"registry", registryURL, fmt.Sprintf("schema registry, Confluent REST API; %d contracts registered", len(seeds))})

	// Subscriber systems read master data through their approved
	// subscriptions, which delivery keeps: master data asks delivery,
	// with a read-only token of its own, once delivery runs (below).
	subscriptions := masterdata.NewDeliverySubscriptions(nil)
	h.master, err = masterdata.New(ctx, masterdata.Config{
		Base:         serviceBase(cfg, "masterdata", "127.0.0.1:0"), // its API is served on the console's address below
		RegistryURL:  registryURL,
		Brokers:      []string{h.broker.Addr()},
		Kafka:        hubKafka,
		EnsureTopics: true,
		// The registry was seeded with the generated contracts above;
		// master data only looks their ids up, as in production.
		LookupOnly: true,
		OIDC:       cfg.OIDC,
	}, masterdata.Deps{
		Logger: h.logger, Authenticator: tokens, Tokens: tokens, Telemetry: tel, Subscriptions: subscriptions,
	})
	if err != nil {
		return nil, fmt.Errorf("open master data: %w", err)
	}
	if err := h.master.Start(ctx); err != nil {
		return nil, fmt.Errorf("start master data: %w", err)
	}

	// Delivery registers the projected schema of every view topic, so it
	// writes to the registry with a service token of its own.
	deliveryToken, err := h.serviceToken(ctx, "delivery")
	if err != nil {
		return nil, err
	}
	deliveryRegistry, err := avroserde.NewRegistryClient(registryURL, avroserde.WithBearerToken(deliveryToken))
	if err != nil {
		return nil, err
	}
	// The key data at rest is sealed under (webhook secrets today), in a
	// file of its own (0600) in the data directory.
	keyFile := filepath.Join(cfg.DataDir, "samnav.key")
	if _, err := keyring.LoadOrCreateFile(keyFile); err != nil {
		return nil, err
	}
	h.delivery, err = delivery.New(ctx, delivery.Config{
		KeyFile:     keyFile,
		Base:        serviceBase(cfg, "delivery", "127.0.0.1:0"), // its API is served on the console's address below
		RegistryURL: registryURL,
		Brokers:     []string{h.broker.Addr()},
		Kafka:       hubKafka,
		// The example subscribers' webhook receivers run on loopback.
		WebhookAllowPrivate: true,
		OIDC:                cfg.OIDC,
	}, delivery.Deps{Logger: h.logger, Authenticator: tokens, Registry: deliveryRegistry, Telemetry: tel})
	if err != nil {
		return nil, fmt.Errorf("open delivery: %w", err)
	}
	if err := h.delivery.Start(ctx); err != nil {
		return nil, fmt.Errorf("start delivery: %w", err)
	}
	masterdataToken, err := h.processToken(ctx, auth.IssueRequest{
		Subject: "samnav-masterdata", Kind: auth.KindSystem, Name: "Samnav masterdata service",
		Grants: []auth.Grant{{Role: auth.RoleAuditor}}, // reads subscriptions, changes nothing
	}, filepath.Join(h.cfg.DataDir, "masterdata.token"))
	if err != nil {
		return nil, err
	}
	subscriptions.Connect(&dlclient.Client{BaseURL: "http://" + h.delivery.Addr(), Token: masterdataToken})

	h.httpLn, err = (&net.ListenConfig{}).Listen(ctx, "tcp", cfg.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("listen for console on %s: %w", cfg.HTTPAddr, err)
	}
	base := "http://" + h.httpLn.Addr().String()
	// The console holds no data: it calls the APIs served on its own
	// address (and the registry's) with the signed-in person's token.
	h.console, err = console.New(console.Config{
		MasterdataURL: base,
		DeliveryURL:   base,
		RegistryURL:   registryURL,
		Verifier:      tokens,
		Logger:        h.logger, // the console scopes it to its component
	})
	if err != nil {
		return nil, fmt.Errorf("open console: %w", err)
	}
	m, err := h.model()
	if err != nil {
		return nil, err
	}
	if h.apiDoc, err = apiDocument(m); err != nil {
		return nil, err
	}
	h.components = append(h.components,
		component{"console", base, "web console (sign in with an API token); /dev status page, /healthz, /metrics"},
		component{"masterdata", base + "/api/v1/", "master data REST API (create, read, list, history, publish); token required; OpenAPI of every API at /api/v1/openapi.json"},
		component{"delivery", base + "/api/v1/subscriptions", "subscriptions and approvals, webhooks, pull feeds (/api/v1/feeds/)"},
	)
	if cfg.OIDC.Enabled() {
		h.components = append(h.components, component{"sign-in", cfg.OIDC.Issuer, "OpenID Provider whose bearer access tokens (audience " + cfg.OIDC.Audience + ") the APIs accept beside API tokens (SAMNAV_OIDC_*)"})
	}

	// The console's address serves every API under the one lifecycle:
	// its /healthz checks master data (database, Kafka, relay) and
	// delivery (databases, Kafka, pipeline).
	checks := append(h.master.Checks(), h.delivery.Checks()...)
	h.front = daemon.NewLifecycle("dev", daemon.Program{Logger: h.logger, Telemetry: tel, HTTP: cfg.Daemon.HTTP, Grace: cfg.Daemon.Grace(),
		Servers: []daemon.Server{{Name: "console", Listener: h.httpLn, Handler: h.routes(), Checks: checks}}}, nil)
	if err := h.front.Start(ctx); err != nil {
		return nil, err
	}
	go func() {
		select {
		case <-ctx.Done():
		case <-h.front.Done():
		}
		h.stop()
	}()
	return h, nil
}

// openTokens opens the API token store, data/auth.db.
func (h *devHub) openTokens(ctx context.Context) (*auth.Tokens, error) {
	db, d, err := sqldb.Open("sqlite:" + filepath.Join(h.cfg.DataDir, "auth.db"))
	if err != nil {
		return nil, fmt.Errorf("open token store: %w", err)
	}
	h.closers = append(h.closers, db.Close)
	store, err := authsql.New(ctx, db, d)
	if err != nil {
		return nil, fmt.Errorf("open token store: %w", err)
	}
	return &auth.Tokens{Store: store}, nil
}

// serviceToken returns the API token a built-in service uses towards the
// others (today: to register view schemas), held in memory only
// (processToken).
func (h *devHub) serviceToken(ctx context.Context, service string) (string, error) {
	return h.processToken(ctx, auth.IssueRequest{
		Subject: "samnav-" + service, Kind: auth.KindSystem, Name: "Samnav " + service + " service",
		Grants: []auth.Grant{{Role: auth.RoleAdmin}},
	}, filepath.Join(h.cfg.DataDir, service+".token"))
}

// kafkaPasswordPath is where `samnav dev` keeps a Kafka user's password.
func kafkaPasswordPath(dataDir, user string) string {
	return filepath.Join(dataDir, "kafka-users", user+".password")
}

// kafkaCredentials returns the SCRAM-SHA-512 credentials of a Kafka user of
// `samnav dev`, generating the password on first use and keeping it in the
// data directory (mode 0600) so a restart reuses it. fresh says it was made
// now.
func kafkaCredentials(dataDir, user string) (_ kafkaauth.Config, fresh bool, _ error) {
	path := kafkaPasswordPath(dataDir, user)
	cfg := kafkaauth.Config{Mechanism: kafkaauth.ScramSHA512, Username: user}
	b, err := os.ReadFile(path)
	switch {
	case err == nil && strings.TrimSpace(string(b)) != "":
		cfg.Password = strings.TrimSpace(string(b))
		return cfg, false, nil
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return cfg, false, fmt.Errorf("kafka credentials of %s: %w", user, err)
	}
	if cfg.Password, err = kafkaauth.GeneratePassword(); err != nil {
		return cfg, false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return cfg, false, fmt.Errorf("kafka credentials of %s: %w", user, err)
	}
	if err := os.WriteFile(path, []byte(cfg.Password+"\n"), 0o600); err != nil { //nolint:gosec // G703: a fixed file name under the data directory the user chose
		return cfg, false, fmt.Errorf("kafka credentials of %s: %w", user, err)
	}
	return cfg, true, nil
}

// contractSeeds are the generated contracts, registered at start-up.
func contractSeeds() ([]registry.Seed, error) {
	cs, err := contracts.Contracts()
	if err != nil {
		return nil, fmt.Errorf("load contracts: %w", err)
	}
	seeds := make([]registry.Seed, 0, len(cs))
	for _, c := range cs {
		seeds = append(seeds, registry.Seed{Subject: c.Subject, Schema: c.Schema})
	}
	return seeds, nil
}

// adminAuthorizer lets a registry write through when the request carries a
// token whose principal may administer the hub.
type adminAuthorizer struct{ tokens *auth.Tokens }

func (a adminAuthorizer) AuthorizeWrite(r *http.Request) error {
	p, err := a.tokens.Authenticate(r)
	if err != nil {
		return err
	}
	return auth.Require(p, auth.ActionAdmin, "")
}

func (h *devHub) routes() http.Handler {
	mux := httproute.New()
	mux.Handle("GET "+openapi.Path, openapi.Handler(h.apiDoc))
	mux.Handle("/api/", h.master.Handler())
	for _, p := range []string{"/api/v1/subscriptions", "/api/v1/subscriptions/", "/api/v1/feeds/", "/api/v1/deliveries/"} {
		mux.Handle(p, h.delivery.Handler())
	}
	mux.Handle("/", h.console.Handler())
	mux.HandleFunc("GET /dev", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := statusPage.Execute(w, struct {
			Components []component
			Flow       string
		}{h.components, h.flow.summary()}); err != nil {
			h.logger.Error("render status page", "err", err)
		}
	})
	return mux
}

var statusPage = template.Must(template.New("status").Parse(`<!doctype html>
<html lang="sv"><head><meta charset="utf-8"><title>Samnav dev</title></head>
<body><main>
<h1>Samnav – stadens delade datahubb (dev)</h1>
<p>Det här kör i processen / running in this process:</p>
<table><thead><tr><th scope="col">Komponent</th><th scope="col">Adress</th><th scope="col">Vad</th></tr></thead><tbody>
{{range .Components}}<tr><td>{{.Name}}</td><td><code>{{.Addr}}</code></td><td>{{.What}}</td></tr>
{{end}}</tbody></table>
{{with .Flow}}<h2>Uppgifter som lämnats en gång / once-only flow</h2><p>Mottaget av exempelsystemen / received by the example systems: {{.}}</p>{{end}}
</main></body></html>
`))

func (h *devHub) printBanner(w io.Writer) {
	_, _ = fmt.Fprintln(w, "Samnav dev is running. Stop with Ctrl-C.")
	for _, c := range h.components {
		_, _ = fmt.Fprintf(w, "  %-11s %-42s %s\n", c.Name, c.Addr, c.What)
	}
	if h.adminToken != "" {
		_, _ = fmt.Fprintf(w, "\nAdmin token (shown this once; keep it):\n  %s\n", h.adminToken)
		_, _ = fmt.Fprintf(w, "Try: curl -H 'Authorization: Bearer %s' %s/api/v1/unit?limit=3\n\n", h.adminToken, "http://"+h.httpLn.Addr().String())
	}
}

// reportFlow prints what the example systems received whenever it changed.
func (h *devHub) reportFlow(ctx context.Context, out io.Writer, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	last := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if s := h.flow.summary(); s != last {
				_, _ = fmt.Fprintf(out, "Once-only flow, received so far: %s\n", s)
				last = s
			}
		}
	}
}

// wait blocks until the hub stops (context cancelled or a component
// failed) and everything has shut down.
func (h *devHub) wait() error {
	<-h.front.Done()
	h.stop()
	return h.serveErr
}

// stop shuts every component down, once, however many goroutines call it
// (the hub's own on cancellation, and its owner): the servers first, so that no request is
// cut off by a store or broker that is already gone, then master data (its
// relay), the registry, and the broker last. Safe to call more than once.
func (h *devHub) stop() {
	h.stopOnce.Do(h.shutdown)
}

func (h *devHub) shutdown() {
	h.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if h.front != nil {
		// The console's server drains first (daemon.Serve).
		h.serveErr = h.front.Shutdown(context.WithoutCancel(h.ctx))
	} else if h.httpLn != nil {
		_ = h.httpLn.Close()
	}
	if h.console != nil {
		if err := h.console.Close(); err != nil {
			h.logger.Warn("console shutdown", "err", err)
		}
	}
	if h.delivery != nil {
		if err := h.delivery.Shutdown(ctx); err != nil {
			h.logger.Warn("delivery shutdown", "err", err)
		}
	}
	if h.master != nil {
		if err := h.master.Shutdown(ctx); err != nil {
			h.logger.Warn("master data shutdown", "err", err)
		}
	}
	if h.registry != nil {
		if err := h.registry.Close(); err != nil {
			h.logger.Warn("registry shutdown", "err", err)
		}
	}
	for _, c := range h.closers {
		_ = c()
	}
	h.closers = nil
	if h.broker != nil {
		_ = h.broker.Close()
	}
}

// model returns the concept model the hub runs with: the embedded one.
func (h *devHub) model() (*model.Model, error) {
	m, err := contracts.Model()
	if err != nil {
		return nil, fmt.Errorf("load concept model: %w", err)
	}
	return m, nil
}
