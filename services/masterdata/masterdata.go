// Package masterdata is Samnav's model-driven master data service: every
// concept of the concept model gets, from the model alone, a store, a REST
// API, validation, a change history and a state topic. Stewards write the
// concepts the hub masters; external master systems publish the concepts
// they master; every committed change is announced on
// samnav.<concept>.v<major> through a transactional outbox and its relay.
//
// Run runs the service until its context ends; Server gives `samnav dev`
// and tests control of the lifecycle and the bound address.
package masterdata

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/samnav/samnav/contracts"
	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/auth/authsql"
	"github.com/samnav/samnav/pkg/daemon"
	"github.com/samnav/samnav/pkg/outbox"
	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/pkg/sdk/avroserde"
	"github.com/samnav/samnav/pkg/sdk/kafkaauth"
	"github.com/samnav/samnav/pkg/sdk/kafkatopics"
	"github.com/samnav/samnav/pkg/sdk/sqldb"
	_ "github.com/samnav/samnav/pkg/sqldb/drivers" // the drivers sqldb.Open uses
	"github.com/samnav/samnav/pkg/telemetry"
	"github.com/samnav/samnav/services/masterdata/internal/event"
	"github.com/samnav/samnav/services/masterdata/internal/store/sqlstore"
	"github.com/samnav/samnav/services/masterdata/internal/transport/httpapi"
	"github.com/samnav/samnav/services/masterdata/record"
)

// Driver names.
const (
	DriverSQLite   = sqldb.DriverSQLite
	DriverPostgres = sqldb.DriverPostgres
)

// DefaultAddr is where the service listens by default.
const DefaultAddr = ":8082"

// service names the service in its environment variables
// (SAMNAV_MASTERDATA_*) and its SQLite file (masterdata.db).
const service = "masterdata"

// Service is the Go-level API of master data, for in-process callers
// (bulk importer, seeder) acting with a principal in their context
// (auth.WithPrincipal): the same rules as the REST API apply.
type Service = record.Service

// Config configures the service.
type Config struct {
	// Base is where the service listens, its database and what every
	// daemon shares (SAMNAV_MASTERDATA_ADDR, _DATABASE, _DRIVER, _DSN,
	// _DATA_DIR).
	daemon.Base
	// RegistryURL is the schema registry events are encoded against;
	// required unless Deps.Registry is set.
	RegistryURL string
	// LookupOnly makes the service only look its schemas up instead of
	// registering them (production, where the contracts pipeline registers).
	LookupOnly bool
	// Brokers are Kafka bootstrap addresses. With none, changes wait in the
	// outbox and no relay runs in this process.
	Brokers []string
	// Kafka is the service's Kafka credentials (SASL) for the relay and
	// topic creation; the zero value connects without SASL.
	Kafka kafkaauth.Config
	// KafkaConnection is the TLS, client id and timeouts of every Kafka
	// client of the service (SAMNAV_KAFKA_TLS, _TLS_CA_FILE, _CLIENT_ID,
	// _DIAL_TIMEOUT, _READ_TIMEOUT, _WRITE_TIMEOUT; see kafka()).
	KafkaConnection kafkaauth.Connection
	// EnsureTopics creates each concept's compacted state topic at start
	// (with TopicPartitions partitions, default 3) when Brokers are set,
	// and lets the relay recreate one that went missing while it runs.
	EnsureTopics    bool
	TopicPartitions int
	// RelayStallAfter is how long the relay may be blocked before /healthz
	// reports degraded; default DefaultRelayStallAfter.
	RelayStallAfter time.Duration
	// RelayName names the outbox relay's lease; default "masterdata".
	RelayName string
	// Model is the concept model; nil means the embedded contracts model.
	Model *model.Model
	// OIDC, with an issuer set, accepts the bearer access tokens of that
	// OpenID Provider beside the API tokens (SAMNAV_OIDC_*); off by default.
	OIDC auth.OIDCConfig
	// TokenPolicy bounds the API tokens issued through /api/v1/tokens
	// (SAMNAV_TOKEN_DEFAULT_TTL, _MAX_TTL, _DEFAULT_OVERLAP, _MAX_OVERLAP);
	// zero fields take auth.DefaultTokenPolicy's.
	TokenPolicy auth.TokenPolicy
}

// Validate reports every problem with c at once, each naming the field and
// the rule.
func (c Config) Validate() error {
	errs := append(c.Problems(service, DefaultAddr), daemon.KafkaProblems(c.kafka())...)
	if c.TopicPartitions < 0 {
		errs = append(errs, errors.New("TopicPartitions: must not be negative"))
	}
	if c.RelayStallAfter < 0 {
		errs = append(errs, errors.New("RelayStallAfter: must not be negative"))
	}
	errs = append(errs, c.OIDC.Validate())
	if err := c.TokenPolicy.WithDefaults().Validate(); err != nil {
		errs = append(errs, fmt.Errorf("TokenPolicy: %w", err))
	}
	return daemon.NameVariables(errs, configVars, daemon.BaseVars(service), daemon.KafkaVars)
}

// Deps are the service's collaborators; all optional.
type Deps struct {
	Logger *slog.Logger
	// Authenticator finds the principal of a request; nil means API
	// tokens kept in the service's own database (authsql).
	Authenticator  auth.Authenticator
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
	// Registry replaces the registry client built from RegistryURL.
	Registry avroserde.Registrar
	// Telemetry, when set, serves /metrics and is the default of
	// TracerProvider and MeterProvider.
	Telemetry *telemetry.Telemetry
	// Subscriptions tells which subscriptions a subscriber system holds,
	// so that it reads through an approved one (DeliverySubscriptions);
	// nil means subscriber systems read nothing.
	Subscriptions record.Subscriptions
	// Tokens is the issuer whose tokens /api/v1/tokens manages; nil means
	// the service's own (authsql) when Authenticator is nil, and none
	// (those routes answer 503) when it is set.
	Tokens *auth.Tokens
}

// Server is a master data service whose lifecycle the caller controls
// (Start, Addr, Shutdown, Close: see daemon.Lifecycle).
type Server struct {
	*daemon.Lifecycle
	cfg Config
	// logger is the service's own; base is the caller's, which the relay
	// scopes to its own component (a logger scoped twice repeats the
	// component attribute).
	logger  *slog.Logger
	base    *slog.Logger
	db      *sql.DB
	dialect sqldb.Dialect
	model   *model.Model
	store   *sqlstore.Store
	events  *event.Builder
	svc     record.Service
	tokens  *auth.Tokens
	handler http.Handler
	relay   *outbox.Relay
	tel     *telemetry.Telemetry
}

// New validates cfg, opens and migrates the database (records, outbox and
// tokens), and builds the service. It starts nothing.
func New(ctx context.Context, cfg Config, deps Deps) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("masterdata config: %w", err)
	}
	if cfg.RegistryURL == "" && deps.Registry == nil {
		return nil, errors.New("masterdata config: RegistryURL: required")
	}
	s := &Server{cfg: cfg, base: daemon.Logger(deps.Logger), tel: deps.Telemetry}
	if t := deps.Telemetry; t != nil {
		if deps.TracerProvider == nil {
			deps.TracerProvider = t.TracerProvider
		}
		if deps.MeterProvider == nil {
			deps.MeterProvider = t.MeterProvider
		}
	}
	s.logger = s.base.With("component", "masterdata")
	s.model = cfg.Model
	if s.model == nil {
		m, err := contracts.Model()
		if err != nil {
			return nil, fmt.Errorf("load model: %w", err)
		}
		s.model = m
	}
	db, loc, err := cfg.OpenDatabase(service)
	if err != nil {
		return nil, err
	}
	s.db, s.dialect = db, loc.Dialect
	if err := s.init(ctx, deps); err != nil {
		if cerr := db.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("close database: %w", cerr))
		}
		return nil, err
	}
	s.Lifecycle = daemon.NewLifecycle("masterdata", s.program(), s.Prepare)
	return s, nil
}

func (s *Server) init(ctx context.Context, deps Deps) error {
	od := s.dialect
	if err := sqlstore.Migrate(ctx, s.db, s.dialect); err != nil {
		return fmt.Errorf("migrate store: %w", err)
	}
	if err := outbox.Migrate(ctx, s.db, od); err != nil {
		return fmt.Errorf("migrate outbox: %w", err)
	}
	reg, err := avroserde.RegistryOr(deps.Registry, s.cfg.RegistryURL)
	if err != nil {
		return err
	}
	var opts []avroserde.SerializerOption
	if s.cfg.LookupOnly {
		opts = append(opts, avroserde.LookupOnly())
	}
	b, err := event.NewBuilder(s.model, od, reg, opts...)
	if err != nil {
		return err
	}
	s.events = b
	st, err := sqlstore.New(s.db, s.dialect, s.model, b)
	if err != nil {
		return err
	}
	s.store = st
	s.svc = record.NewService(st, s.model, record.ServiceOptions{Logger: s.logger, Subscriptions: deps.Subscriptions})
	authn, tokens, err := authsql.Authenticator(ctx, deps.Authenticator, s.db, s.dialect)
	if err != nil {
		return err
	}
	s.tokens = tokens
	if authn, err = auth.WithOIDC(authn, s.cfg.OIDC, s.logger); err != nil {
		return err
	}
	managed := deps.Tokens
	if managed == nil {
		managed = tokens
	}
	s.handler = httpapi.NewHandler(s.svc, s.model, httpapi.Options{Logger: s.logger, Authenticator: authn, TracerProvider: deps.TracerProvider,
		Tokens: managed, TokenPolicy: s.cfg.TokenPolicy})
	if len(s.cfg.Brokers) > 0 {
		name := s.cfg.RelayName
		if name == "" {
			name = "masterdata"
		}
		rc := outbox.RelayConfig{DB: s.db, Dialect: od, Brokers: s.cfg.Brokers, Name: name,
			Logger: s.base, MeterProvider: deps.MeterProvider,
			OnUnknownTopic: s.createStateTopic, Kafka: s.cfg.kafka()}
		r, err := outbox.NewRelay(rc)
		if err != nil {
			return fmt.Errorf("outbox relay: %w", err)
		}
		s.relay = r
	}
	return nil
}

// Service returns the Go-level API.
func (s *Server) Service() Service { return s.svc }

// Handler returns the REST API, for mounting elsewhere.
func (s *Server) Handler() http.Handler { return s.handler }

// Tokens returns the token issuer on the service's database, or nil when
// Deps.Authenticator replaced it.
func (s *Server) Tokens() *auth.Tokens { return s.tokens }

// Relay returns the outbox relay, or nil without Brokers.
func (s *Server) Relay() *outbox.Relay { return s.relay }

// Prepare obtains every schema id from the registry and creates the
// state topics if asked to: what must succeed before the service serves.
func (s *Server) Prepare(ctx context.Context) error {
	if err := s.events.Warm(ctx); err != nil {
		return err
	}
	if s.cfg.EnsureTopics && len(s.cfg.Brokers) > 0 {
		if err := s.ensureTopics(ctx); err != nil {
			return err
		}
	}
	return nil
}

// program is the service as daemon.Serve runs it: the API (with /livez,
// /healthz, /metrics) on Addr; the outbox relay as a worker; the database
// closed last.
func (s *Server) program() daemon.Program {
	p := daemon.Program{Logger: s.logger, Telemetry: s.tel, HTTP: s.cfg.Daemon.HTTP, Grace: s.cfg.Daemon.Grace(),
		Servers: []daemon.Server{{Name: "masterdata", Addr: s.cfg.ListenAddr(DefaultAddr), Handler: s.handler, Checks: s.Checks()}},
		Close:   s.close}
	if s.relay != nil {
		p.Workers = append(p.Workers, daemon.Worker{Name: "outbox relay", Run: s.relay.Run})
	}
	return p
}

func (s *Server) ensureTopics(ctx context.Context) error {
	specs := make([]kafkatopics.Spec, 0, len(s.model.Concepts))
	for _, c := range s.model.Concepts {
		specs = append(specs, s.topicSpec(c))
	}
	client, done, err := s.cfg.kafka().Client("admin")
	if err != nil {
		return fmt.Errorf("ensure state topics: %w", err)
	}
	defer done()
	if err := kafkatopics.Ensure(ctx, client, specs...); err != nil {
		return fmt.Errorf("ensure state topics: %w", err)
	}
	return nil
}

// close closes the database.
func (s *Server) close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close database: %w", err)
	}
	return nil
}

// ResyncOptions configures Resync.
type ResyncOptions struct {
	// BatchSize is how many records one transaction hands to the outbox;
	// default 1000.
	BatchSize int
	// Progress, if set, is called after every batch with the number of
	// records republished so far.
	Progress func(done int)
}

// Resync republishes the current state of every record of concept (ended
// ones included, with their end marker; erased ones are not) through the
// outbox, in batches, for rebuilding a topic or onboarding a subscriber.
// Events carry the resync header (envelope.HeaderResync) and fresh event ids. It returns
// how many records were republished; on error, those before it were.
func (s *Server) Resync(ctx context.Context, concept string, opts ResyncOptions) (int, error) {
	if s.model.Concept(concept) == nil {
		return 0, apierr.Errorf(apierr.CodeNotFound, "concept %q is not in the model", concept)
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 1000
	}
	if err := s.events.Warm(ctx); err != nil {
		return 0, err
	}
	done, after := 0, ""
	for {
		last, n, err := s.store.Republish(ctx, concept, after, opts.BatchSize)
		if err != nil {
			return done, fmt.Errorf("resync %s after %d records: %w", concept, done, err)
		}
		if n == 0 {
			return done, nil
		}
		done += n
		after = last
		if opts.Progress != nil {
			opts.Progress(done)
		}
	}
}

// Resync opens the service's database as cfg says and republishes concept
// (see Server.Resync); the running service's relay, or any relay on the
// same database, publishes the events. For `samnav resync <concept>`.
func Resync(ctx context.Context, cfg Config, deps Deps, concept string, opts ResyncOptions) (n int, err error) {
	cfg.Brokers = nil // the relay of the running service publishes
	s, err := New(ctx, cfg, deps)
	if err != nil {
		return 0, err
	}
	defer func() {
		if cerr := s.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("close masterdata: %w", cerr))
		}
	}()
	return s.Resync(ctx, concept, opts)
}

// Run runs the service until ctx is cancelled, then drains it (see
// daemon.Serve): what cmd/masterdatad runs.
func Run(ctx context.Context, cfg Config, deps Deps) error {
	s, err := New(ctx, cfg, deps)
	if err != nil {
		return err
	}
	return s.Run(ctx, daemon.BootstrapAdmin(s.tokens, "masterdata", os.Stderr))
}

// Environment variables read by LoadConfig, besides those of daemon.Base
// (SAMNAV_MASTERDATA_ADDR, _DATABASE, _DRIVER, _DSN, _DATA_DIR) and the
// Kafka settings (SAMNAV_KAFKA_*).
const (
	EnvRegistryURL  = "SAMNAV_REGISTRY_URL"
	EnvEnsureTopics = "SAMNAV_MASTERDATA_ENSURE_TOPICS"
	// EnvRelayStallAfter sets Config.RelayStallAfter, as a Go duration
	// ("90s", "2m").
	EnvRelayStallAfter = "SAMNAV_MASTERDATA_RELAY_STALL_AFTER"
	// The API token policy (Config.TokenPolicy), each a Go duration: a
	// new token's lifetime when the request names none and the longest
	// it may name; a rotated token's overlap by default and at most.
	EnvTokenDefaultTTL     = "SAMNAV_TOKEN_DEFAULT_TTL"     //nolint:gosec // G101: a variable's name, not a credential
	EnvTokenMaxTTL         = "SAMNAV_TOKEN_MAX_TTL"         //nolint:gosec // G101: a variable's name, not a credential
	EnvTokenDefaultOverlap = "SAMNAV_TOKEN_DEFAULT_OVERLAP" //nolint:gosec // G101: a variable's name, not a credential
	EnvTokenMaxOverlap     = "SAMNAV_TOKEN_MAX_OVERLAP"     //nolint:gosec // G101: a variable's name, not a credential
)

// kafka returns the settings every Kafka client of the service is built
// from (pkg/sdk/kafkaauth is the one place that builds them).
func (c Config) kafka() kafkaauth.Settings {
	return kafkaauth.Settings{Brokers: c.Brokers, SASL: c.Kafka, Connection: c.KafkaConnection}
}

// LoadConfig reads a Config from the environment through getenv: the
// variables above, the Kafka settings (daemon.Env.LoadKafka) and what
// every service has (daemon.Env.Base). A value that cannot be read is an
// error naming its variable, every one at once; the Config holds the
// rest. Call Validate for the rules between fields.
func LoadConfig(getenv func(string) string) (Config, error) {
	env := daemon.NewEnv(getenv)
	ks := env.LoadKafka()
	c := Config{Base: env.Base(service, DefaultAddr), Brokers: ks.Brokers, Kafka: ks.SASL, KafkaConnection: ks.Connection,
		RegistryURL: env.String(EnvRegistryURL), EnsureTopics: env.Bool(EnvEnsureTopics), RelayStallAfter: env.Duration(EnvRelayStallAfter), OIDC: env.LoadOIDC(),
		TokenPolicy: auth.TokenPolicy{DefaultTTL: env.Duration(EnvTokenDefaultTTL), MaxTTL: env.Duration(EnvTokenMaxTTL),
			DefaultOverlap: env.Duration(EnvTokenDefaultOverlap), MaxOverlap: env.Duration(EnvTokenMaxOverlap)}}
	return c, env.Err()
}

// RunAlone is Run with the process's logger and telemetry, on a
// configuration LoadConfig read: what cmd/masterdatad runs (see daemon.Main).
func RunAlone(ctx context.Context, cfg Config, tel *telemetry.Telemetry) error {
	return Run(ctx, cfg, Deps{Logger: tel.Logger, Telemetry: tel})
}

// configVars names the variable LoadConfig reads each of the service's own
// fields from, for Validate's messages.
var configVars = map[string]string{"RelayStallAfter": EnvRelayStallAfter}
