// Package hubtest starts the hub in process for tests: an embedded
// Kafka-protocol broker, the schema registry seeded with every contract,
// master data, delivery and the console, each only when a test asks for
// it, on free ports under the test's temporary directory, on SQLite or on
// a throwaway PostgreSQL, all stopped by t.Cleanup.
//
// It is the one start-up every module's tests share (master data,
// delivery, the console and the CLI), so it lives in a module of its own
// that requires the services: a service's external test package imports
// it, and the services' own packages never do.
package hubtest

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/samnav/samnav/contracts"
	"github.com/samnav/samnav/contracts/generator"
	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/daemon"
	"github.com/samnav/samnav/pkg/embeddedkafka"
	"github.com/samnav/samnav/pkg/keyring"
	"github.com/samnav/samnav/pkg/pgtest"
	"github.com/samnav/samnav/pkg/sdk/avroserde"
	"github.com/samnav/samnav/pkg/sdk/kafkaauth"
	"github.com/samnav/samnav/services/console"
	"github.com/samnav/samnav/services/delivery"
	dlclient "github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/masterdata"
	mdclient "github.com/samnav/samnav/services/masterdata/client"
	"github.com/samnav/samnav/services/registry"
)

// Hub is what Start started. A field of a part that was not asked for is
// its zero value.
type Hub struct {
	T testing.TB
	// Dir is the test's temporary directory the services keep their data in.
	Dir string

	Broker *embeddedkafka.Broker
	// Kafka is the credentials the services connect to Broker with: the
	// broker's superuser when it requires SASL, else the zero value.
	Kafka kafkaauth.Config

	RegistryURL string
	// Registry is a registry client on RegistryURL, as a Confluent
	// consumer would use it.
	Registry *avroserde.RegistryClient

	Masterdata    *masterdata.Server
	MasterdataURL string
	Delivery      *delivery.Server
	DeliveryURL   string
	Console       *console.Server

	// Postgres is the cluster the services' databases are in, with
	// WithPostgres.
	Postgres *pgtest.Cluster

	scan *Scan
}

// logger is the services' logger: the scan's with WithScan, else def.
func (h *Hub) logger(def *slog.Logger) *slog.Logger {
	if h.scan != nil {
		return h.scan.Logger()
	}
	return def
}

// ctx is what the services start under: the test's context, carrying the
// scan with WithScan.
func (h *Hub) ctx() context.Context {
	if h.scan != nil {
		return h.scan.Context(h.T.Context())
	}
	return h.T.Context()
}

// HubUser is a superuser for WithBroker (embeddedkafka.Config.Superuser)
// when a test wants a broker that requires SASL and enforces ACLs: the
// services, and a test acting as the hub, connect as this user.
var HubUser = kafkaauth.Config{Mechanism: kafkaauth.ScramSHA512, Username: "samnav-hub", Password: "hub-secret"}

// Option says what Start starts and how.
type Option func(*plan)

type plan struct {
	broker     *embeddedkafka.Config
	registry   bool
	postgres   bool
	md         []func(*masterdata.Config, *masterdata.Deps)
	dl         []func(*delivery.Config, *delivery.Deps)
	console    []func(*console.Config)
	oneTokens  bool
	startMD    bool
	startDL    bool
	startCons  bool
	regMutator []func(*registry.Config)
	scan       *Scan
}

// WithBroker starts an embedded broker with cfg (its Topics made at
// start; a Superuser makes it require SASL, and the services then
// connect as that user).
func WithBroker(cfg embeddedkafka.Config) Option {
	return func(p *plan) { p.broker = &cfg }
}

// WithRegistry starts the schema registry holding every contract, open to
// writes. Master data and delivery imply it.
func WithRegistry(mutate ...func(*registry.Config)) Option {
	return func(p *plan) { p.registry = true; p.regMutator = append(p.regMutator, mutate...) }
}

// WithMasterdata starts master data. Fields the mutators leave empty are
// filled in: a free port, a data directory, the registry (looked up
// only: the registry holds every contract), and the broker and its
// credentials when one runs. A test that sets Deps.Registry runs without
// the registry.
func WithMasterdata(mutate ...func(*masterdata.Config, *masterdata.Deps)) Option {
	return func(p *plan) { p.startMD = true; p.md = append(p.md, mutate...) }
}

// WithDelivery starts delivery (it needs the broker). Fields the
// mutators leave empty are filled in as for WithMasterdata, and: a sync
// round every second, webhooks allowed to loopback addresses, warnings
// and errors logged to the test log.
func WithDelivery(mutate ...func(*delivery.Config, *delivery.Deps)) Option {
	return func(p *plan) { p.startDL = true; p.dl = append(p.dl, mutate...) }
}

// WithConsole builds the console on the services that run, verifying
// sign-ins with master data's token store (where master data runs). Its
// URLs default to an address that refuses connections for a service that
// does not run.
func WithConsole(mutate ...func(*console.Config)) Option {
	return func(p *plan) { p.startCons = true; p.console = append(p.console, mutate...) }
}

// WithOneTokenStore makes delivery authenticate with master data's token
// store, as `samnav dev` does, so one token serves both APIs.
func WithOneTokenStore() Option {
	return func(p *plan) { p.oneTokens = true }
}

// WithScan logs every service to sc at debug level and records in sc the
// line of every request the registry, master data and delivery receive,
// for sc.Check (the console, which a test serves itself, through
// sc.Handler).
func WithScan(sc *Scan) Option {
	return func(p *plan) { p.scan = sc }
}

// WithPostgres puts every service's database in a throwaway PostgreSQL
// cluster (pkg/pgtest: the test is skipped where PostgreSQL is not
// installed, and fails in CI) instead of SQLite files.
func WithPostgres() Option {
	return func(p *plan) { p.postgres = true }
}

// refused is a URL nothing answers at, for a service that does not run.
const refused = "http://127.0.0.1:1"

// Start starts what opts ask for, in dependency order (broker, registry,
// master data, delivery, console), and stops it when t ends. Services run
// under t.Context().
func Start(t testing.TB, opts ...Option) *Hub {
	t.Helper()
	var p plan
	for _, o := range opts {
		o(&p)
	}
	ctx := t.Context()
	h := &Hub{T: t, Dir: t.TempDir(), scan: p.scan}
	if p.postgres {
		h.Postgres = pgtest.Start(t)
	}
	if p.broker != nil {
		b, err := embeddedkafka.Start(ctx, *p.broker)
		if err != nil {
			t.Fatalf("hubtest: start broker: %v", err)
		}
		t.Cleanup(func() { _ = b.Close() })
		h.Broker, h.Kafka = b, p.broker.Superuser
	}
	if p.registry || p.startDL {
		h.startRegistry(p)
	}
	if p.startMD {
		h.startMasterdata(p)
	}
	if p.startDL {
		h.startDelivery(p)
	}
	if p.startCons {
		h.startConsole(p)
	}
	return h
}

func (h *Hub) startRegistry(p plan) {
	h.T.Helper()
	cs, err := contracts.Contracts()
	if err != nil {
		h.T.Fatalf("hubtest: contracts: %v", err)
	}
	seed := make([]registry.Seed, 0, len(cs))
	for _, c := range cs {
		seed = append(seed, registry.Seed{Subject: c.Subject, Schema: c.Schema})
	}
	cfg := registry.Config{Base: daemon.Base{Addr: "127.0.0.1:0", Driver: registry.DriverSQLite, DataDir: h.mkdir("registry")}, Seed: seed,
		Authorizer: registry.AllowAllWrites{}}
	if h.Postgres != nil {
		cfg.Driver, cfg.DataDir, cfg.DSN = registry.DriverPostgres, "", h.Postgres.NewDatabase(h.T)
	}
	for _, m := range p.regMutator {
		m(&cfg)
	}
	reg, err := registry.New(cfg, registry.Deps{Logger: h.logger(nil)})
	h.RegistryURL = h.serve("registry", reg, err)
	if h.Registry, err = avroserde.NewRegistryClient(h.RegistryURL); err != nil {
		h.T.Fatalf("hubtest: registry client: %v", err)
	}
}

func (h *Hub) startMasterdata(p plan) {
	h.T.Helper()
	var cfg masterdata.Config
	deps := masterdata.Deps{Logger: h.logger(nil)}
	for _, m := range p.md {
		m(&cfg, &deps)
	}
	if h.fill(p, "md", settings{&cfg.Addr, &cfg.Database, &cfg.DSN, &cfg.DataDir, &cfg.RegistryURL, &cfg.Brokers, &cfg.Kafka}, deps.Registry != nil) {
		cfg.LookupOnly = true // the registry holds every contract
	}
	s, err := masterdata.New(h.ctx(), cfg, deps)
	h.Masterdata, h.MasterdataURL = s, h.serve("masterdata", s, err)
}

func (h *Hub) startDelivery(p plan) {
	h.T.Helper()
	if h.Broker == nil {
		h.T.Fatal("hubtest: delivery needs the broker (WithBroker)")
	}
	cfg := delivery.Config{SyncInterval: time.Second, WebhookAllowPrivate: true}
	deps := delivery.Deps{Logger: h.logger(Logger(h.T))}
	if p.oneTokens {
		if h.Masterdata == nil {
			h.T.Fatal("hubtest: WithOneTokenStore needs master data (WithMasterdata)")
		}
		deps.Authenticator = h.Masterdata.Tokens()
	}
	for _, m := range p.dl {
		m(&cfg, &deps)
	}
	h.fill(p, "delivery", settings{&cfg.Addr, &cfg.Database, &cfg.DSN, &cfg.DataDir, &cfg.RegistryURL, &cfg.Brokers, &cfg.Kafka}, deps.Registry != nil)
	if cfg.KeyFile == "" && cfg.DataDir == "" {
		// On PostgreSQL there is no data directory to keep the key in.
		cfg.KeyFile = filepath.Join(h.Dir, "delivery-secrets.key")
		if _, err := keyring.LoadOrCreateFile(cfg.KeyFile); err != nil {
			h.T.Fatalf("hubtest: delivery key file: %v", err)
		}
	}
	s, err := delivery.New(h.ctx(), cfg, deps)
	h.Delivery, h.DeliveryURL = s, h.serve("delivery", s, err)
}

func (h *Hub) startConsole(p plan) {
	h.T.Helper()
	cfg := console.Config{MasterdataURL: or(h.MasterdataURL, refused), DeliveryURL: or(h.DeliveryURL, refused), RegistryURL: or(h.RegistryURL, refused)}
	if h.Masterdata != nil {
		cfg.Verifier = h.Masterdata.Tokens()
	}
	cfg.Logger = h.logger(nil)
	for _, m := range p.console {
		m(&cfg)
	}
	s, err := console.New(cfg)
	if err != nil {
		h.T.Fatalf("hubtest: new console: %v", err)
	}
	h.T.Cleanup(func() { _ = s.Close() })
	h.Console = s
}

// server is what the registry, master data and delivery have in common:
// started on a listener of their own, stopped by Close.
type server interface {
	Start(ctx context.Context) error
	Addr() string
	Close() error
}

// serve starts s, which New made with err, stops it when the test ends,
// and returns its base URL; it fails the test if s could not be made or
// started.
func (h *Hub) serve(name string, s server, err error) string {
	h.T.Helper()
	if err != nil {
		h.T.Fatalf("hubtest: new %s: %v", name, err)
	}
	if err := s.Start(h.ctx()); err != nil {
		_ = s.Close()
		h.T.Fatalf("hubtest: start %s: %v", name, err)
	}
	h.T.Cleanup(func() { _ = s.Close() })
	return "http://" + s.Addr()
}

// settings points at the fields of master data's and delivery's Config
// that Start fills in where a test left them empty (fill).
type settings struct {
	addr, database, dsn, dataDir, registryURL *string
	brokers                                   *[]string
	kafka                                     *kafkaauth.Config
}

// fill fills the settings of the service name that the test left empty: a
// free port; a fresh database in the cluster with WithPostgres, else
// SQLite files in a directory of the service's own under Dir; the hub's
// registry (started if it does not run yet) unless the service has a
// registry of its own (ownRegistry: Deps.Registry); and the broker and its
// credentials when one runs. It reports whether it gave the service the
// hub's registry.
func (h *Hub) fill(p plan, name string, s settings, ownRegistry bool) (hubRegistry bool) {
	h.T.Helper()
	if *s.addr == "" {
		*s.addr = "127.0.0.1:0"
	}
	switch {
	case *s.database != "" || *s.dsn != "":
	case h.Postgres != nil:
		*s.database = h.Postgres.NewDatabase(h.T)
	case *s.dataDir == "":
		*s.dataDir = filepath.Join(h.Dir, name)
	}
	if *s.registryURL == "" && !ownRegistry {
		if h.RegistryURL == "" {
			h.startRegistry(p)
		}
		*s.registryURL, hubRegistry = h.RegistryURL, true
	}
	if h.Broker != nil && *s.brokers == nil {
		*s.brokers, *s.kafka = []string{h.Broker.Addr()}, h.Kafka
	}
	return hubRegistry
}

func (h *Hub) mkdir(name string) string {
	h.T.Helper()
	dir := filepath.Join(h.Dir, name)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		h.T.Fatalf("hubtest: %v", err)
	}
	return dir
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Issue issues an API token from tokens (a service's token store) for
// name, who is also its subject, and fails the test if it cannot.
func Issue(t testing.TB, tokens *auth.Tokens, name string, kind auth.Kind, grants ...auth.Grant) string {
	t.Helper()
	secret, _, err := tokens.Issue(context.Background(), auth.IssueRequest{Subject: name, Kind: kind, Name: name, Grants: grants})
	if err != nil {
		t.Fatalf("hubtest: issue a token for %s: %v", name, err)
	}
	return secret
}

// MasterdataClient is the typed master data client on the hub, calling
// with token.
func (h *Hub) MasterdataClient(token string) *mdclient.Client {
	return &mdclient.Client{BaseURL: h.MasterdataURL, Token: token}
}

// DeliveryClient is the typed delivery client on the hub, calling with
// token.
func (h *Hub) DeliveryClient(token string) *dlclient.Client {
	return &dlclient.Client{BaseURL: h.DeliveryURL, Token: token}
}

// Logger logs warnings and errors (everything with
// SAMNAV_TEST_LOG=debug) to the test log, so a failing test shows what
// the services complained about.
func Logger(t testing.TB) *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("SAMNAV_TEST_LOG") == "debug" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: level}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Model returns the concept model and the Avro schema text the contracts
// generator makes of each of its concepts, by concept id: what delivery's
// pipeline and view channel are built from.
func Model(t testing.TB) (*model.Model, map[string]string) {
	t.Helper()
	m, err := contracts.Model()
	if err != nil {
		t.Fatalf("hubtest: model: %v", err)
	}
	schemas, err := generator.AvroSchemas(m)
	if err != nil {
		t.Fatalf("hubtest: Avro schemas: %v", err)
	}
	return m, schemas
}

// ContractSchema returns the Avro schema text of concept's published
// contract (contracts.Contracts), failing the test if there is none.
func ContractSchema(t testing.TB, concept string) string {
	t.Helper()
	cs, err := contracts.Contracts()
	if err != nil {
		t.Fatalf("hubtest: contracts: %v", err)
	}
	for _, c := range cs {
		if c.Concept == concept {
			return c.Schema
		}
	}
	t.Fatalf("hubtest: no contract for %s", concept)
	return ""
}
