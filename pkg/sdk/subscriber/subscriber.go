// Package subscriber is Samnav's Go SDK for business systems that read a
// state topic (samnav.<concept>.v<major>) or their view topic
// (samnav.view.<system>.<concept>.v<major>) from Kafka.
//
// A system declares typed handlers, one per topic:
//
//	s, err := subscriber.New(subscriber.Config{Brokers: brokers, Group: "skolplattform.persons", Auth: creds, Registry: reg, Store: store},
//		subscriber.Handle("samnav.person.v1", personSchema, func(ctx context.Context, ev subscriber.Event[concepts.PersonV1]) error {
//			if ev.Type == subscriber.Erased {
//				return db.DeletePerson(ctx, ev.Key)
//			}
//			return db.UpsertPerson(ctx, ev.Value)
//		}))
//	err = s.Run(ctx)
//
// and the SDK does the rest:
//
//   - Snapshot, then follow. A new consumer group starts at the earliest
//     offset of the compacted topic, which holds the current state of every
//     record; then it follows every change. At Run the SDK notes the end of
//     every partition; once the group has consumed up to those ends the
//     snapshot is done: CaughtUp is closed and Config.OnCaughtUp called, once.
//   - Typed events: values decoded from the Confluent wire format through
//     the schema registry (avroserde), resolved to the handler's schema;
//     a tombstone becomes an Erased event with a nil Value.
//   - Idempotency by event id (ce_id): an event the group has applied is
//     not handed to the handler again (Store; sqlstore.Store keeps it in SQLite
//     or PostgreSQL).
//   - Retries with capped exponential backoff and jitter, MaxAttempts
//     times; then, or at once for a Permanent error, an *apierr.Error
//     whose code is not retryable (apierr.Retryable: invalid, not_found,
//     conflict, unauthorized, forbidden) or a value that cannot be
//     decoded, the record goes to the dead-letter topic
//     "<topic>.dlq.<group>" unchanged (key, value, headers) plus
//     samnav_dlq_* headers saying why, and the group moves on. While a
//     record is retried, later records of its partition wait: events of one
//     key are applied in order.
//   - Offsets are committed only after the handler succeeded (or the record
//     was dead-lettered): nothing is skipped by a crash.
//   - Replay from a time: Config.ReplayFrom seeks the group there
//     (kafkago.Subscriber.SeekToTime) and forgets the idempotency marks
//     from that time, so the events since are applied again.
//   - Traces and metrics: each record's handling is a consumer span, child
//     of the trace in its traceparent header (kafkago.TracingMiddleware);
//     counters and a duration histogram go to the MeterProvider.
package subscriber

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/samnav/samnav/pkg/sdk/avroserde"
	"github.com/samnav/samnav/pkg/sdk/envelope"
	"github.com/samnav/samnav/pkg/sdk/kafkaauth"
	"github.com/samnav/samnav/pkg/sdk/kafkago"
)

// Defaults of Config's optional fields.
const (
	DefaultMaxAttempts = 5
	DefaultMinBackoff  = 100 * time.Millisecond
	DefaultMaxBackoff  = 10 * time.Second
	// DefaultIdempotencyRetention is how long a mark of an applied event
	// is kept (see Pruner for the trade-off).
	DefaultIdempotencyRetention = 7 * 24 * time.Hour
)

// pruneInterval is how often Run prunes the idempotency store.
const pruneInterval = time.Hour

// Headers added to a dead-lettered record.
const (
	HeaderDLQError     = envelope.HeaderDLQError
	HeaderDLQAttempts  = envelope.HeaderDLQAttempts
	HeaderDLQTopic     = envelope.HeaderDLQTopic
	HeaderDLQPartition = envelope.HeaderDLQPartition
	HeaderDLQOffset    = envelope.HeaderDLQOffset
	HeaderDLQGroup     = envelope.HeaderDLQGroup
	HeaderDLQTime      = envelope.HeaderDLQTime
)

// DeadLetterTopic names the dead-letter topic of a topic for a group.
func DeadLetterTopic(topic, group string) string { return envelope.DeadLetterTopic(topic, group) }

// Config configures a Subscriber.
type Config struct {
	// Brokers are the Kafka bootstrap addresses; required.
	Brokers []string
	// Group is the consumer group; required. Its committed offsets and
	// idempotency marks are the system's progress. On the hub's broker a
	// system may use only groups named "<system>.<anything>" (for example
	// "skolplattform.pupils"), and its dead-letter topics are named after
	// the group under the prefix the hub grants it.
	Group string
	// Registry finds writer schemas by id, usually an
	// *avroserde.RegistryClient; required.
	Registry avroserde.SchemaSource
	// Store remembers applied event ids; nil means a MemoryStore (duplicates
	// removed only while the process lives).
	Store Store
	// IdempotencyRetention is how long Store keeps the mark of an applied
	// event, if Store is a Pruner (both built-in stores are): Run prunes
	// older marks at start and every hour. Default
	// DefaultIdempotencyRetention; negative keeps marks forever. A longer
	// retention costs storage (one row per event applied); a shorter one
	// means an old event delivered again (the group reading the topic
	// from the start) is applied again, which handlers that upsert the
	// state they get tolerate (see Pruner).
	IdempotencyRetention time.Duration
	// MaxAttempts is how often a handler is tried before the record is
	// dead-lettered; default DefaultMaxAttempts.
	MaxAttempts int
	// MinBackoff and MaxBackoff bound the wait between attempts; defaults
	// DefaultMinBackoff and DefaultMaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// ReplayFrom, when set, makes Run start every topic at its first record
	// at or after this time, and forget the group's idempotency marks from
	// then, so those events are applied again. No other member of the group
	// may be running.
	ReplayFrom time.Time
	// CreateDeadLetterTopics makes Run create missing dead-letter topics
	// (one per handled topic, as many partitions). Without it they must
	// exist, as a production Kafka with ACLs usually wants.
	CreateDeadLetterTopics bool
	// OnCaughtUp is called once, from its own goroutine, when the group has
	// consumed every topic up to where it ended when Run started.
	OnCaughtUp func()
	// Logger; nil discards.
	Logger *slog.Logger
	// TracerProvider, MeterProvider and Propagator default to
	// OpenTelemetry's globals.
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
	Propagator     propagation.TextMapPropagator
	// Auth is the system's own Kafka credentials (its SCRAM user on the
	// hub's broker); the zero value connects without SASL. The consumer,
	// the dead-letter producer and the admin client (topic metadata,
	// offsets, creating dead-letter topics) all authenticate with it.
	Auth kafkaauth.Config
	// Connection is how they connect besides where (Brokers) and as whom
	// (Auth): TLS (verified against the system's roots or TLSCAFile), the
	// client id, and the dial, read and write timeouts; the zero value is
	// plain TCP with kafkaauth's default timeouts. Brokers, Auth and
	// Connection are one kafkaauth.Settings, the configuration every
	// Samnav service builds its Kafka clients from: WithKafka sets all
	// three, for example from kafkaauth.LoadSettings.
	Connection kafkaauth.Connection
	// Kafka adjusts the consumer and the dead-letter producer after they
	// are configured from Brokers, Auth and Connection, and before they
	// are made (kept for what Settings does not cover; a Dialer set here
	// is what the admin client connects with too).
	Kafka func(*kafkago.SubscriberConfig, *kafkago.PublisherConfig)
}

// WithKafka returns c connecting with s: its brokers, SASL credentials
// and connection settings (TLS, client id, timeouts).
func (c Config) WithKafka(s kafkaauth.Settings) Config {
	c.Brokers, c.Auth, c.Connection = s.Brokers, s.SASL, s.Connection
	return c
}

// KafkaSettings returns the kafkaauth.Settings the SDK's Kafka clients are
// built from: Brokers, Auth and Connection.
func (c Config) KafkaSettings() kafkaauth.Settings {
	return kafkaauth.Settings{Brokers: c.Brokers, SASL: c.Auth, Connection: c.Connection}
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("Brokers: at least one is required"))
	}
	if c.Group == "" {
		errs = append(errs, errors.New("Group: is required"))
	}
	if c.Registry == nil {
		errs = append(errs, errors.New("Registry: is required"))
	}
	if c.MaxAttempts < 0 || c.MinBackoff < 0 || c.MaxBackoff < 0 {
		errs = append(errs, errors.New("MaxAttempts, MinBackoff, MaxBackoff: must not be negative"))
	}
	if err := c.Auth.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("Auth: %w", err))
	}
	if err := c.Connection.Validate(c.Auth); err != nil {
		errs = append(errs, fmt.Errorf("Connection: %w", err))
	}
	return errors.Join(errs...)
}

// closeOnReturn closes c as Run returns, joining a failure to close, named
// by what, to Run's error.
func closeOnReturn(runErr *error, what string, c io.Closer) {
	if err := c.Close(); err != nil {
		*runErr = errors.Join(*runErr, fmt.Errorf("run subscriber: close %s: %w", what, err))
	}
}

// Subscriber runs a consumer group's handlers. Run it once.
type Subscriber struct {
	cfg     Config
	routes  map[string]Route
	decs    map[string]decoder
	logger  *slog.Logger
	tracing message.HandlerMiddleware
	m       metrics

	caughtUp     chan struct{}
	caughtUpOnce sync.Once

	mu       sync.Mutex
	heads    map[string]map[int]int64 // topic -> partition -> end at Run
	progress map[string]map[int]int64 // topic -> partition -> next offset to handle
}

// New validates cfg and routes and returns a Subscriber.
func New(cfg Config, routes ...Route) (*Subscriber, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new subscriber: %w", err)
	}
	if len(routes) == 0 {
		return nil, errors.New("new subscriber: routes: at least one is required")
	}
	if cfg.Store == nil {
		cfg.Store = &MemoryStore{}
	}
	cfg.MaxAttempts = cmp.Or(cfg.MaxAttempts, DefaultMaxAttempts)
	cfg.MinBackoff = cmp.Or(cfg.MinBackoff, DefaultMinBackoff)
	cfg.MaxBackoff = max(cmp.Or(cfg.MaxBackoff, DefaultMaxBackoff), cfg.MinBackoff)
	cfg.IdempotencyRetention = cmp.Or(cfg.IdempotencyRetention, DefaultIdempotencyRetention)
	if cfg.TracerProvider == nil {
		cfg.TracerProvider = otel.GetTracerProvider()
	}
	if cfg.MeterProvider == nil {
		cfg.MeterProvider = otel.GetMeterProvider()
	}
	if cfg.Propagator == nil {
		cfg.Propagator = otel.GetTextMapPropagator()
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Subscriber{cfg: cfg, routes: map[string]Route{}, decs: map[string]decoder{}, caughtUp: make(chan struct{}),
		logger:  logger.With("component", "subscriber", "group", cfg.Group),
		tracing: kafkago.TracingMiddleware(kafkago.WithTracerProvider(cfg.TracerProvider), kafkago.WithPropagator(cfg.Propagator)),
		heads:   map[string]map[int]int64{}, progress: map[string]map[int]int64{}}
	for _, r := range routes {
		if r.topic == "" || r.call == nil {
			return nil, errors.New("new subscriber: a route has no topic or handler; make routes with Handle")
		}
		if _, dup := s.routes[r.topic]; dup {
			return nil, fmt.Errorf("new subscriber: topic %q has two handlers", r.topic)
		}
		d, err := newDecoder(cfg.Registry, r.reader)
		if err != nil {
			return nil, fmt.Errorf("new subscriber: topic %q: %w", r.topic, err)
		}
		s.routes[r.topic], s.decs[r.topic] = r, d
	}
	m, err := newMetrics(cfg.MeterProvider)
	if err != nil {
		return nil, fmt.Errorf("new subscriber: %w", err)
	}
	s.m = m
	return s, nil
}

// CaughtUp is closed once the group has consumed every topic up to where it
// ended when Run started: the snapshot is done, and what follows are
// changes.
func (s *Subscriber) CaughtUp() <-chan struct{} { return s.caughtUp }

// Run consumes until ctx ends, then waits for the records in hand to be
// handled (or abandoned, uncommitted), commits and returns nil. It returns
// an error if it cannot start: a topic or dead-letter topic that does not
// exist, a broker that refuses the group; or if closing its Kafka clients
// at the end fails.
func (s *Subscriber) Run(ctx context.Context) (runErr error) {
	// Every client is built from the one Settings, as the services' are.
	settings := s.cfg.KafkaSettings()
	dialer, err := settings.Dialer(clientComponent)
	if err != nil {
		return fmt.Errorf("run subscriber: %w", err)
	}
	t, err := settings.Transport(clientComponent)
	if err != nil {
		return fmt.Errorf("run subscriber: %w", err)
	}
	defer t.CloseIdleConnections()
	subCfg := kafkago.SubscriberConfig{Brokers: s.cfg.Brokers, ConsumerGroup: s.cfg.Group, Dialer: dialer}
	pubCfg := kafkago.PublisherConfig{Brokers: s.cfg.Brokers, Transport: t}
	if s.cfg.Kafka != nil {
		s.cfg.Kafka(&subCfg, &pubCfg)
	}
	wlog := watermill.NewSlogLogger(s.logger)
	sub, err := kafkago.NewSubscriber(subCfg, wlog)
	if err != nil {
		return fmt.Errorf("run subscriber: %w", err)
	}
	defer closeOnReturn(&runErr, "kafka subscriber", sub)
	pub, err := kafkago.NewPublisher(pubCfg, wlog)
	if err != nil {
		return fmt.Errorf("run subscriber: %w", err)
	}
	defer closeOnReturn(&runErr, "kafka publisher", pub)
	client, closeClient := adminClient(subCfg.Dialer, s.cfg.Brokers)
	defer closeClient()

	for topic := range s.routes {
		if err := s.prepare(ctx, client, sub, topic); err != nil {
			return fmt.Errorf("run subscriber: topic %s: %w", topic, err)
		}
	}
	s.checkCaughtUp()

	var wg sync.WaitGroup
	for topic, r := range s.routes {
		msgs, err := sub.Subscribe(ctx, topic)
		if err != nil {
			return fmt.Errorf("run subscriber: subscribe %s: %w", topic, err)
		}
		wg.Go(func() {
			var handling sync.WaitGroup
			// The transport hands out one record per partition at a time,
			// so one goroutine per record runs partitions in parallel and
			// keeps each partition in order.
			for msg := range msgs {
				handling.Go(func() { s.process(pub, r, msg) })
			}
			handling.Wait()
		})
	}
	wg.Go(func() { s.watchCommitted(ctx, client) })
	if p, ok := s.cfg.Store.(Pruner); ok && s.cfg.IdempotencyRetention > 0 {
		wg.Go(func() { s.prune(ctx, p) })
	}
	wg.Wait()
	return nil
}

// prune drops the group's idempotency marks older than the retention, at
// once and then every pruneInterval until ctx ends. A failure is logged
// and tried again next time: it only lets the store grow.
func (s *Subscriber) prune(ctx context.Context, p Pruner) {
	t := time.NewTicker(pruneInterval)
	defer t.Stop()
	for {
		n, err := p.Prune(ctx, s.cfg.Group, time.Now().Add(-s.cfg.IdempotencyRetention))
		switch {
		case err != nil && ctx.Err() == nil:
			s.logger.WarnContext(ctx, "prune idempotency marks", "err", err)
		case n > 0:
			s.logger.InfoContext(ctx, "pruned idempotency marks", "marks", n, "retention", s.cfg.IdempotencyRetention)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
