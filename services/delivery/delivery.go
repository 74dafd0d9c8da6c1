// Package delivery is Samnav's delivery service: subscriptions as records
// (requested by a system, decided by the information owner, with their
// history), projections to the approved fields, and the pipeline that
// delivers every approved subscription's projection over its channel,
// the full current state first and then every change.
//
// Run runs the service until its context ends; Server gives `samnav dev`
// and tests control of the lifecycle and the bound address.
//
// The files: config.go is the configuration and how it is read from the
// environment; channels.go builds the webhook and feed channels on their
// stores; this file wires the service and runs it.
package delivery

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/samnav/samnav/contracts"
	"github.com/samnav/samnav/contracts/generator"
	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/auth/authsql"
	"github.com/samnav/samnav/pkg/daemon"
	"github.com/samnav/samnav/pkg/httproute"
	"github.com/samnav/samnav/pkg/openapi"
	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/pkg/sdk/avroserde"
	"github.com/samnav/samnav/pkg/sdk/kafkaauth"
	"github.com/samnav/samnav/pkg/sdk/sqldb"
	_ "github.com/samnav/samnav/pkg/sqldb/drivers" // the drivers sqldb.Open uses
	"github.com/samnav/samnav/pkg/telemetry"
	"github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/delivery/internal/channel"
	"github.com/samnav/samnav/services/delivery/internal/feed"
	"github.com/samnav/samnav/services/delivery/internal/kafkaview"
	"github.com/samnav/samnav/services/delivery/internal/lag"
	"github.com/samnav/samnav/services/delivery/internal/metered"
	"github.com/samnav/samnav/services/delivery/internal/pipeline"
	"github.com/samnav/samnav/services/delivery/internal/recent"
	"github.com/samnav/samnav/services/delivery/internal/store/sqlstore"
	"github.com/samnav/samnav/services/delivery/internal/subscription"
	"github.com/samnav/samnav/services/delivery/internal/transport/httpapi"
	"github.com/samnav/samnav/services/delivery/internal/webhook"
)

// Registry is what the service needs of the schema registry: writer
// schemas by id (decoding state topics) and registration (view schemas).
type Registry interface {
	avroserde.SchemaSource
	avroserde.Registrar
}

// Deps are the service's collaborators; all optional.
type Deps struct {
	Logger *slog.Logger
	// Authenticator finds the principal of a request; nil means API tokens
	// kept in the service's own database.
	Authenticator auth.Authenticator
	// Registry replaces the client built from RegistryURL.
	Registry Registry
	// Channels replaces channels by kind (a test double). The Kafka,
	// webhook and feed channels are built in.
	Channels map[client.ChannelKind]channel.Channel
	// Webhook tunes the webhook channel (retry schedule, workers, clock);
	// its Store, Addresses, Logger, MeterProvider, Subscriptions, Model
	// and Schemas are set by New.
	Webhook webhook.Config
	// Telemetry, when set, receives the service's metrics and serves them
	// at /metrics.
	Telemetry *telemetry.Telemetry
}

// Server is a delivery service whose lifecycle the caller controls
// (Start, Addr, Shutdown, Close: see daemon.Lifecycle).
type Server struct {
	*daemon.Lifecycle
	cfg Config
	// logger is the service's own; base is the caller's, which the
	// channels and the pipeline scope to their own component (a logger
	// scoped twice repeats the component attribute).
	logger   *slog.Logger
	base     *slog.Logger
	db       *sql.DB
	store    *sqlstore.Store
	svc      subscription.Service
	tokens   *auth.Tokens
	handler  http.Handler
	pipeline *pipeline.Manager
	kafka    *kafkaview.Channel
	webhook  *webhook.Service
	feed     *feed.Feed
	// feedStore also keeps what each Kafka view was built for.
	feedStore *feed.SQLStore
	// recent is the window of the latest deliveries (the console's live
	// flow), fed by every channel.
	recent *recent.Ring
	// extraDBs are the webhook and feed databases when they are not db
	// (SQLite keeps them in files of their own beside delivery.db).
	extraDBs []*sql.DB
	// dbFile is the SQLite file of db ("" on PostgreSQL).
	dbFile  string
	changed chan struct{}
	// syncs counts the finished rounds of syncLoop (see Synced).
	syncs  atomic.Uint64
	tel    *telemetry.Telemetry
	meters metric.MeterProvider
}

// New validates cfg, opens the database, and builds the service. It
// starts nothing.
func New(ctx context.Context, cfg Config, deps Deps) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("delivery config: %w", err)
	}
	if cfg.RegistryURL == "" && deps.Registry == nil {
		return nil, errors.New("delivery config: RegistryURL: required")
	}
	if cfg.SyncInterval == 0 {
		cfg.SyncInterval = 10 * time.Second
	}
	s := &Server{cfg: cfg, base: daemon.Logger(deps.Logger), changed: make(chan struct{}, 1), tel: deps.Telemetry}
	if deps.Telemetry != nil {
		s.meters = deps.Telemetry.MeterProvider
	}
	s.logger = s.base.With("component", "delivery")
	m := cfg.Model
	if m == nil {
		var err error
		if m, err = contracts.Model(); err != nil {
			return nil, fmt.Errorf("load model: %w", err)
		}
	}
	schemas := map[string]string{}
	for _, c := range m.Concepts {
		text, err := generator.Avro(c)
		if err != nil {
			return nil, fmt.Errorf("generate schema of %s: %w", c.ID, err)
		}
		schemas[c.ID] = string(text)
	}
	db, loc, err := cfg.OpenDatabase(service)
	if err != nil {
		return nil, err
	}
	d := loc.Dialect
	s.db, s.dbFile = db, loc.File
	if err := s.init(ctx, d, m, schemas, deps); err != nil {
		if cerr := db.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("close database: %w", cerr))
		}
		for _, x := range s.extraDBs {
			if cerr := x.Close(); cerr != nil {
				err = errors.Join(err, fmt.Errorf("close channel database: %w", cerr))
			}
		}
		return nil, err
	}
	s.Lifecycle = daemon.NewLifecycle("delivery", s.program(), nil)
	return s, nil
}

func (s *Server) init(ctx context.Context, d sqldb.Dialect, m *model.Model, schemas map[string]string, deps Deps) error {
	st, err := sqlstore.New(ctx, s.db, d)
	if err != nil {
		return err
	}
	s.store = st
	s.svc = subscription.NewService(st, m, subscription.ServiceOptions{OnChange: func(client.Subscription) {
		select {
		case s.changed <- struct{}{}:
		default:
		}
	}})
	reg, err := avroserde.RegistryOr(deps.Registry, s.cfg.RegistryURL)
	if err != nil {
		return err
	}
	authn, tokens, err := authsql.Authenticator(ctx, deps.Authenticator, s.db, d)
	if err != nil {
		return err
	}
	s.tokens = tokens
	if authn, err = auth.WithOIDC(authn, s.cfg.OIDC, s.logger); err != nil {
		return err
	}
	if err := s.channels(ctx, d, m, schemas, deps); err != nil {
		return err
	}
	// The feed's store records, durably, what each view was built for,
	// so a change of protected identities saved before a restart is
	// rebuilt at start too.
	kc, err := kafkaview.New(kafkaview.Config{Brokers: s.cfg.Brokers, Registrar: reg, Shapes: s.feedStore, Model: m, Schemas: schemas, Auth: s.cfg.Kafka, Connection: s.cfg.KafkaConnection,
		MaxCompactionLag: s.cfg.ViewCompactionLag, DeleteRetention: s.cfg.ViewDeleteRetention,
		// A quiet view partition is compacted too: a shielded record or
		// an erasure is re-published once after the lag (RunRepublishes).
		Republishes: st})
	if err != nil {
		return err
	}
	s.kafka = kc
	chans := map[client.ChannelKind]channel.Channel{
		client.ChannelKafka:   kc,
		client.ChannelWebhook: s.webhook,
		client.ChannelFeed:    s.feed,
	}
	for k, c := range deps.Channels {
		chans[k] = c
	}
	s.recent = recent.NewRing(recent.DefaultSize)
	meters, err := metered.New(s.meters)
	if err != nil {
		return fmt.Errorf("delivery metrics: %w", err)
	}
	for k, c := range chans {
		chans[k] = meters.Wrap(recent.Wrap(c, s.recent, k), k)
	}
	s.pipeline = pipeline.New(pipeline.Config{Kafka: s.cfg.kafka(), Registry: reg, Model: m, Schemas: schemas, Channels: chans, Logger: s.base,
		FetchMaxWait: 100 * time.Millisecond,
		// A reshaped Kafka subscription's view topic, and a reshaped feed,
		// are rebuilt (also at start, for a decision saved before a
		// restart): after a narrowing no record keeps withdrawn fields,
		// after a widening every record gets the newly approved ones.
		Rebuilders: map[client.ChannelKind]pipeline.Rebuilder{client.ChannelKafka: kc, client.ChannelFeed: s.feed},
		// An employee of a protected person is delivered without what
		// locates them; the protected persons are kept in this database.
		Protected: st})
	lagClient, _, err := s.cfg.kafka().Client("delivery-lag") // lives as long as the process
	if err != nil {
		return err
	}
	wh := webhook.Handler(webhook.HandlerConfig{Service: s.webhook, Logger: s.logger,
		Subscription: func(ctx context.Context, id string) (client.Subscription, error) {
			sub, err := s.store.Get(ctx, id)
			if errors.Is(err, subscription.ErrNotFound) {
				return sub, &apierr.Error{Code: apierr.CodeNotFound, Message: "subscription " + id + " not found", Err: err}
			}
			return sub, err
		}})
	whAPI := httproute.StripPrefix("/api/v1", wh)
	s.handler = httpapi.NewHandler(s.svc, httpapi.Options{Authenticator: authn, Logger: s.logger, KafkaBootstrap: strings.Join(s.cfg.Brokers, ","),
		Mounts: []httpapi.Mount{
			{Pattern: "/api/v1/subscriptions/{id}/webhook", Handler: whAPI},
			{Pattern: "/api/v1/subscriptions/{id}/webhook/", Handler: whAPI},
			{Pattern: "/api/v1/feeds/", Handler: s.feed.Handler("/api/v1/feeds")},
			{Pattern: "GET /api/v1/subscriptions/{id}/lag", Handler: lag.Handler(lag.HandlerConfig{Meter: lag.New(lagClient),
				Subscription: s.svc.Get, Group: pipeline.ConsumerGroup, Logger: s.logger,
				Failing: func(id string) error { return s.pipeline.Failing()[id] }})},
			{Pattern: "GET /api/v1/deliveries/recent", Handler: recent.Handler(s.recent)},
			{Pattern: "GET " + openapi.Path, Handler: openapi.Handler(OpenAPI())},
		}})
	return nil
}

// Service returns the subscription API for in-process callers (acting
// with a principal in their context, see auth.WithPrincipal).
func (s *Server) Service() subscription.Service { return s.svc }

// Webhook returns the webhook channel (endpoint registration for
// in-process callers and tests).
func (s *Server) Webhook() *webhook.Service { return s.webhook }

// Recent returns the window of the latest deliveries.
func (s *Server) Recent() *recent.Ring { return s.recent }

// Feed returns the pull-feed channel.
func (s *Server) Feed() *feed.Feed { return s.feed }

// Handler returns the REST API: subscriptions, webhook endpoints
// (/api/v1/subscriptions/{id}/webhook...) and the pull feed
// (/api/v1/feeds/{id}/snapshot, /changes), all behind one authentication.
func (s *Server) Handler() http.Handler { return s.handler }

// Tokens returns the token issuer, or nil when Deps.Authenticator
// replaced it.
func (s *Server) Tokens() *auth.Tokens { return s.tokens }

// program is the service as daemon.Serve runs it: the API (with /livez,
// /healthz, /metrics) on Addr; the webhook dispatcher and the
// subscription sync as workers; the pipeline and databases closed last.
func (s *Server) program() daemon.Program {
	return daemon.Program{Logger: s.logger, Telemetry: s.tel, HTTP: s.cfg.Daemon.HTTP, Grace: s.cfg.Daemon.Grace(),
		Servers: []daemon.Server{{Name: "delivery", Addr: s.cfg.ListenAddr(DefaultAddr), Handler: s.handler, Checks: s.Checks()}},
		Workers: []daemon.Worker{
			{Name: "webhook dispatcher", Run: s.webhook.Run},
			{Name: "subscription sync", Run: func(ctx context.Context) error { s.syncLoop(ctx); return nil }},
			{Name: "protected identities", Run: s.pipeline.Track},
			{Name: "view re-publish", Run: func(ctx context.Context) error {
				return s.kafka.RunRepublishes(ctx, s.pipeline.Owned, s.base)
			}},
		},
		Close: s.close}
}

// Checks are what /healthz checks: the databases answer, and Kafka
// answers with the service's credentials. The pipeline's state (how many
// subscriptions run, how many fail to start) is reported beside them; a
// failing subscription is its subscriber's problem, not the service's.
func (s *Server) Checks() []daemon.Check {
	checks := []daemon.Check{daemon.PingCheck("database", s.db)}
	for i, db := range s.extraDBs {
		checks = append(checks, daemon.PingCheck(fmt.Sprintf("channel database %d", i+1), db))
	}
	return append(checks,
		daemon.Check{Name: "kafka", Run: func(ctx context.Context) (any, []string) {
			if err := s.cfg.kafka().Check(ctx); err != nil {
				return nil, []string{"kafka: " + err.Error()}
			}
			return nil, nil
		}},
		daemon.Check{Name: "pipeline", Run: func(context.Context) (any, []string) {
			return map[string]int{"running": len(s.pipeline.Running()), "failing": len(s.pipeline.Failing())}, nil
		}})
}

// syncLoop keeps the pipeline's consumers in line with the approved
// subscriptions: at once after a change through this server, and every
// SyncInterval for changes made by other replicas.
func (s *Server) syncLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.SyncInterval)
	defer t.Stop()
	var pruned time.Time
	for {
		// Feed change logs keep their retention (feed.Config.Retention);
		// pruning is idempotent, so every replica may do it.
		if time.Since(pruned) >= time.Minute {
			pruned = time.Now()
			if _, err := s.feed.Prune(ctx); err != nil && ctx.Err() == nil {
				s.logger.Error("prune feed change logs", "err", err)
			}
		}
		subs, err := s.store.List(ctx, subscription.Filter{Status: client.StatusApproved})
		listed := err == nil
		if listed {
			err = s.pipeline.Sync(subs)
		}
		if err != nil && ctx.Err() == nil {
			s.logger.Error("sync subscriptions", "err", err)
		}
		// Sync stops revoked subscriptions' consumers before it starts
		// any (so also when starting one failed): then grant and withdraw
		// Kafka ACLs and delete revoked view topics (idempotent; a failure
		// is retried on the next round).
		if listed {
			var revoked []client.Subscription
			if revoked, err = s.store.List(ctx, subscription.Filter{Status: client.StatusRevoked}); err == nil {
				err = s.kafka.Reconcile(ctx, subs, revoked)
			}
			if err != nil && ctx.Err() == nil {
				s.logger.Error("reconcile kafka access", "err", err)
			}
		}
		s.syncs.Add(1)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.changed:
		}
	}
}

// Synced returns how many rounds of matching the pipeline to the approved
// subscriptions have finished. The round after the one in progress when
// Synced returned n began after that, so once Synced reaches n+2 the
// pipeline has acted on every subscription change stored before: a test
// waits on it instead of sleeping past SyncInterval.
func (s *Server) Synced() uint64 { return s.syncs.Load() }

// Running returns the ids of the subscriptions the pipeline delivers now.
func (s *Server) Running() []string { return s.pipeline.Running() }

// Failing returns, by subscription id, why an approved subscription is
// not being delivered: its start or the rebuild of its copy failed (the
// schema registry refused the view schema, say) and is retried with a
// backoff (see pipeline.Manager.Failing).
func (s *Server) Failing() map[string]error { return s.pipeline.Failing() }

// close stops the pipeline and closes the Kafka channel and the
// databases (the Lifecycle calls it once).
func (s *Server) close() error {
	var errs []error
	if err := s.pipeline.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close pipeline: %w", err))
	}
	if err := s.kafka.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close kafka channel: %w", err))
	}
	for _, db := range s.extraDBs {
		if err := db.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close channel database: %w", err))
		}
	}
	if err := s.db.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close database: %w", err))
	}
	return errors.Join(errs...)
}

// Run runs the service until ctx is cancelled, then drains it (see
// daemon.Serve): what cmd/deliveryd runs.
func Run(ctx context.Context, cfg Config, deps Deps) error {
	s, err := New(ctx, cfg, deps)
	if err != nil {
		return err
	}
	return s.Run(ctx, daemon.BootstrapAdmin(s.tokens, "delivery", os.Stderr))
}

// kafka returns the settings every Kafka client of the service is built
// from (pkg/sdk/kafkaauth is the one place that builds them).
func (c Config) kafka() kafkaauth.Settings {
	return kafkaauth.Settings{Brokers: c.Brokers, SASL: c.Kafka, Connection: c.KafkaConnection}
}

var (
	_ pipeline.Batcher   = (*kafkaview.Channel)(nil)
	_ pipeline.Rebuilder = (*kafkaview.Channel)(nil)
	_ pipeline.Rebuilder = (*feed.Feed)(nil)
)
