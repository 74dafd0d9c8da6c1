// Package registry is Samnav's schema registry: the Confluent Schema
// Registry REST API for Avro, so Confluent's serializers and any client
// written for that API work against it unchanged.
//
// State is kept in SQL (internal/store/sqlstore): SQLite embedded, one file
// in the data directory, or PostgreSQL in production, where several
// replicas share one database. Why SQL and not a compacted Kafka topic as
// Confluent does: id allocation is one transaction, and replicas are made
// safe by a PostgreSQL advisory lock around every write, with no leader
// election and no topic replay at start-up.
//
// Differences from Confluent worth knowing:
//   - The default compatibility level is BACKWARD_TRANSITIVE, not BACKWARD.
//   - Only AVRO schemas are accepted (GET /schemas/types says so).
//   - Lookups (POST /subjects/{s}) and compatibility checks are reads and
//     need no credentials; registering, deleting and PUT config/mode do.
//   - References are validated (the referenced subject version must
//     exist) and stored, but named types from referenced schemas are not
//     yet resolved when a schema is parsed.
//
// Run starts it and blocks; Server gives control of the lifecycle and the
// bound address (for ":0") to `samnav dev` and to tests.
package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/samnav/samnav/pkg/daemon"
	_ "github.com/samnav/samnav/pkg/sqldb/drivers" // the drivers sqldb.Open uses
	"github.com/samnav/samnav/pkg/telemetry"
	"github.com/samnav/samnav/services/registry/internal/schemas"
	"github.com/samnav/samnav/services/registry/internal/store"
	"github.com/samnav/samnav/services/registry/internal/store/sqlstore"
	"github.com/samnav/samnav/services/registry/internal/transport/rest"
)

// Deps are the registry's collaborators.
type Deps struct {
	// Logger receives the registry's logs; nil discards them.
	Logger *slog.Logger
	// Telemetry, when set, receives the HTTP metrics and serves /metrics.
	Telemetry *telemetry.Telemetry
}

// Run runs the registry until ctx is cancelled, then drains it (see
// daemon.Serve): what cmd/registryd runs.
func Run(ctx context.Context, cfg Config, deps Deps) error {
	s, err := New(cfg, deps)
	if err != nil {
		return err
	}
	return s.Run(ctx)
}

// Checks are what /healthz checks: the store answers a read.
func (s *Server) Checks() []daemon.Check {
	return []daemon.Check{{Name: "database", Run: func(ctx context.Context) (any, []string) {
		if _, err := s.store.SchemaByID(ctx, 0); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, []string{"database: " + err.Error()}
		}
		return nil, nil
	}}}
}

// Server is a registry whose lifecycle the caller controls: New opens the
// store and registers the seeds, Start binds the listener and serves in
// the background, Shutdown or Close stops it and closes the store (see
// daemon.Lifecycle).
type Server struct {
	*daemon.Lifecycle
	store store.Store
	api   http.Handler
}

// New validates cfg, opens the store (applying migrations) and registers
// cfg.Seed.
func New(cfg Config, deps Deps) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	log := daemon.Logger(deps.Logger).With("component", "registry")
	ctx := context.Background()

	db, loc, err := cfg.OpenDatabase(service) // the setting is checked by Validate
	if err != nil {
		return nil, fmt.Errorf("open registry store: %w", err)
	}
	var st store.Store
	if st, err = sqlstore.New(ctx, db, loc.Dialect); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open registry store: %w", err)
	}
	level, _ := schemas.ParseLevel(cfg.DefaultCompatibility) // checked by Validate
	svc := schemas.New(st, level)
	for i, seed := range cfg.Seed {
		id, err := svc.Register(ctx, seed.Subject, schemas.SchemaRequest{Schema: seed.Schema})
		if err != nil {
			_ = st.Close()
			return nil, fmt.Errorf("register seed %d (subject %q): %w", i, seed.Subject, err)
		}
		log.Debug("seeded schema", "subject", seed.Subject, "id", id)
	}
	log.Info("registry store open", "database", loc.Dialect.String())
	s := &Server{store: st, api: rest.NewHandler(svc, cfg.Authorizer, log)}
	s.Lifecycle = daemon.NewLifecycle("registry", daemon.Program{Logger: log, Telemetry: deps.Telemetry, HTTP: cfg.Daemon.HTTP, Grace: cfg.Daemon.Grace(),
		Servers: []daemon.Server{{Name: "registry", Addr: cfg.Addr, Handler: s.api, Checks: s.Checks()}},
		Close:   st.Close}, nil)
	return s, nil
}

// Handler returns the registry's HTTP handler, for mounting elsewhere.
func (s *Server) Handler() http.Handler { return s.api }
