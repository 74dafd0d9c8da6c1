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
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/samnav/samnav/pkg/daemon"
	"github.com/samnav/samnav/pkg/sdk/sqldb"
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
	return daemon.Serve(ctx, s.Program(nil))
}

// Program is the registry as daemon.Serve runs it: the REST API (with
// /livez, /healthz, /metrics) on ln, or on Addr when ln is nil, and the
// store closed last.
func (s *Server) Program(ln net.Listener) daemon.Program {
	return daemon.Program{Logger: s.log, Telemetry: s.tel, HTTP: s.cfg.Daemon.HTTP, Grace: s.cfg.Daemon.Grace(),
		Servers: []daemon.Server{{Name: "registry", Listener: ln, Addr: s.cfg.Addr, Handler: s.api, Checks: s.Checks()}},
		Close:   s.store.Close}
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
// the background, Shutdown or Close stops it and closes the store.
type Server struct {
	cfg   Config
	log   *slog.Logger
	store store.Store
	// dialect is the database's, for the start-up log line.
	dialect sqldb.Dialect
	svc     schemas.Service
	api     http.Handler
	tel     *telemetry.Telemetry

	mu       sync.Mutex
	listener net.Listener
	cancel   context.CancelFunc
	served   chan error
	closed   bool
}

// New validates cfg, opens the store (applying migrations) and registers
// cfg.Seed.
func New(cfg Config, deps Deps) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "registry")
	ctx := context.Background()

	url, err := cfg.databaseURL() // checked by Validate
	if err != nil {
		return nil, err
	}
	db, d, err := sqldb.Open(url)
	if err != nil {
		return nil, fmt.Errorf("open registry store: %w", err)
	}
	var st store.Store
	if st, err = sqlstore.New(ctx, db, d); err != nil {
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
	return &Server{cfg: cfg, log: log, store: st, dialect: d, svc: svc, api: rest.NewHandler(svc, cfg.Authorizer, log), tel: deps.Telemetry}, nil
}

// Handler returns the registry's HTTP handler, for mounting elsewhere.
func (s *Server) Handler() http.Handler { return s.api }

// Start binds cfg.Addr and runs Program in the background until Shutdown
// or Close. ctx bounds only the binding.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("start registry: server is closed")
	}
	if s.listener != nil {
		return errors.New("start registry: already started")
	}
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.Addr, err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	s.listener, s.cancel, s.served = l, cancel, make(chan error, 1)
	s.log.Info("registry listening", "addr", l.Addr().String(), "database", s.dialect.String())
	go func() { s.served <- daemon.Serve(runCtx, s.Program(l)) }()
	return nil
}

// Addr returns the bound address ("127.0.0.1:34567", "[::]:8081"), or ""
// before Start.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listener == nil {
		return ""
	}
	return s.listener.Addr().String()
}

// Shutdown stops accepting requests, waits for those in flight (up to
// the shutdown grace, and until ctx ends at most), and closes the store.
// Calling it again is a no-op.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	cancel, served := s.cancel, s.served
	s.mu.Unlock()
	if cancel == nil {
		return s.store.Close()
	}
	cancel()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
		return fmt.Errorf("shut down registry: %w", ctx.Err())
	}
}

// Close is Shutdown with a short grace period.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.Shutdown(ctx)
}
