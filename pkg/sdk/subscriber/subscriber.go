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
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/pkg/sdk/avroserde"
	"github.com/samnav/samnav/pkg/sdk/backoff"
	"github.com/samnav/samnav/pkg/sdk/envelope"
	"github.com/samnav/samnav/pkg/sdk/kafkaauth"
	"github.com/samnav/samnav/pkg/sdk/kafkago"
	"github.com/samnav/samnav/pkg/sdk/kafkatopics"
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
	// Kafka adjusts the consumer and the dead-letter producer (TLS,
	// timeouts) before they are made; Brokers, ConsumerGroup and Auth's
	// Dialer and Transport are set. The admin client takes the SASL
	// mechanism and TLS settings of the consumer's Dialer as left here.
	Kafka func(*kafkago.SubscriberConfig, *kafkago.PublisherConfig)
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
	return errors.Join(errs...)
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
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.IdempotencyRetention == 0 {
		cfg.IdempotencyRetention = DefaultIdempotencyRetention
	}
	cfg.MaxBackoff = max(cfg.MaxBackoff, cfg.MinBackoff)
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
	subCfg := kafkago.SubscriberConfig{Brokers: s.cfg.Brokers, ConsumerGroup: s.cfg.Group}
	pubCfg := kafkago.PublisherConfig{Brokers: s.cfg.Brokers}
	if s.cfg.Auth.Enabled() {
		var err error
		if subCfg.Dialer, err = s.cfg.Auth.Dialer(clientID); err != nil {
			return fmt.Errorf("run subscriber: %w", err)
		}
		t, err := s.cfg.Auth.Transport(clientID)
		if err != nil {
			return fmt.Errorf("run subscriber: %w", err)
		}
		defer t.CloseIdleConnections()
		pubCfg.Transport = t
	}
	if s.cfg.Kafka != nil {
		s.cfg.Kafka(&subCfg, &pubCfg)
	}
	wlog := watermill.NewSlogLogger(s.logger)
	sub, err := kafkago.NewSubscriber(subCfg, wlog)
	if err != nil {
		return fmt.Errorf("run subscriber: %w", err)
	}
	defer func() {
		if err := sub.Close(); err != nil {
			runErr = errors.Join(runErr, fmt.Errorf("run subscriber: close kafka subscriber: %w", err))
		}
	}()
	pub, err := kafkago.NewPublisher(pubCfg, wlog)
	if err != nil {
		return fmt.Errorf("run subscriber: %w", err)
	}
	defer func() {
		if err := pub.Close(); err != nil {
			runErr = errors.Join(runErr, fmt.Errorf("run subscriber: close kafka publisher: %w", err))
		}
	}()
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

// clientID names the SDK's connections in the broker's logs.
const clientID = "samnav-subscriber"

// adminClient returns a client for metadata, offsets and topic creation
// that connects as the consumer does: with its Dialer's SASL mechanism and
// TLS settings, so that a broker requiring SASL (the hub's, with ACLs)
// accepts it as the same principal.
func adminClient(d *kafka.Dialer, brokers []string) (*kafka.Client, func()) {
	t := kafkaauth.TransportFor(d)
	return kafkaauth.ClientOn(t, 10*time.Second, brokers...), t.CloseIdleConnections
}

// prepare checks the dead-letter topic, applies ReplayFrom and notes where
// each partition ends now (the end of the snapshot).
func (s *Subscriber) prepare(ctx context.Context, client *kafka.Client, sub *kafkago.Subscriber, topic string) error {
	n, err := kafkatopics.Partitions(ctx, client, topic)
	if err != nil {
		return err
	}
	dlq := DeadLetterTopic(topic, s.cfg.Group)
	if s.cfg.CreateDeadLetterTopics {
		if err := kafkatopics.Ensure(ctx, client, kafkatopics.Spec{Name: dlq, Partitions: n}); err != nil {
			return fmt.Errorf("create dead-letter topic: %w", err)
		}
	} else if _, err := kafkatopics.Partitions(ctx, client, dlq); err != nil {
		return fmt.Errorf("dead-letter topic %s (create it, or set CreateDeadLetterTopics): %w", dlq, err)
	}
	if !s.cfg.ReplayFrom.IsZero() {
		forgot, err := s.cfg.Store.Forget(ctx, s.cfg.Group, s.cfg.ReplayFrom)
		if err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		if err := sub.SeekToTime(ctx, topic, s.cfg.ReplayFrom); err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		s.logger.InfoContext(ctx, "replaying", "topic", topic, "from", s.cfg.ReplayFrom, "forgotten", forgot)
	}
	heads, err := listOffsets(ctx, client, topic, n, kafka.LastOffsetOf)
	if err != nil {
		return fmt.Errorf("read partition ends: %w", err)
	}
	firsts, err := listOffsets(ctx, client, topic, n, kafka.FirstOffsetOf)
	if err != nil {
		return fmt.Errorf("read partition starts: %w", err)
	}
	committed, err := fetchCommitted(ctx, client, s.cfg.Group, topic, n)
	if err != nil {
		return fmt.Errorf("read committed offsets: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.heads[topic], s.progress[topic] = map[int]int64{}, map[int]int64{}
	for p := range n {
		s.heads[topic][p] = heads[p].LastOffset
		// With nothing committed the group starts at the earliest record.
		s.progress[topic][p] = max(committed[p], firsts[p].FirstOffset)
	}
	return nil
}

func listOffsets(ctx context.Context, client *kafka.Client, topic string, n int, req func(int) kafka.OffsetRequest) (map[int]kafka.PartitionOffsets, error) {
	reqs := make([]kafka.OffsetRequest, n)
	for p := range n {
		reqs[p] = req(p)
	}
	resp, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return nil, fmt.Errorf("list offsets: %w", err)
	}
	out := map[int]kafka.PartitionOffsets{}
	for _, po := range resp.Topics[topic] {
		if po.Error != nil {
			return nil, fmt.Errorf("list offsets of partition %d: %w", po.Partition, po.Error)
		}
		out[po.Partition] = po
	}
	if len(out) != n {
		return nil, fmt.Errorf("list offsets: %d of %d partitions answered", len(out), n)
	}
	return out, nil
}

// fetchCommitted returns the group's committed offsets (-1 for none).
func fetchCommitted(ctx context.Context, client *kafka.Client, group, topic string, n int) (map[int]int64, error) {
	parts := make([]int, n)
	for p := range n {
		parts[p] = p
	}
	resp, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
	if err != nil {
		return nil, fmt.Errorf("offset fetch: %w", err)
	}
	out := map[int]int64{}
	for p := range n {
		out[p] = -1
	}
	if errors.Is(resp.Error, kafka.GroupIdNotFound) {
		return out, nil // a new group: nothing committed
	}
	if resp.Error != nil {
		return nil, fmt.Errorf("offset fetch: %w", resp.Error)
	}
	for _, po := range resp.Topics[topic] {
		if po.Error == nil {
			out[po.Partition] = po.CommittedOffset
		}
	}
	return out, nil
}

// watchCommitted follows the group's committed offsets until caught up, for
// partitions other members of the group consume (and records the transport
// skipped as undecodable, which this member never sees).
func (s *Subscriber) watchCommitted(ctx context.Context, client *kafka.Client) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.caughtUp:
			return
		case <-t.C:
		}
		for topic, heads := range s.snapshotHeads() {
			committed, err := fetchCommitted(ctx, client, s.cfg.Group, topic, len(heads))
			if err != nil {
				continue
			}
			for p, off := range committed {
				s.advance(topic, p, off)
			}
		}
		s.checkCaughtUp()
	}
}

func (s *Subscriber) snapshotHeads() map[string]map[int]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]map[int]int64{}
	for t, h := range s.heads {
		out[t] = h
	}
	return out
}

func (s *Subscriber) advance(topic string, partition int, next int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if next > s.progress[topic][partition] {
		s.progress[topic][partition] = next
	}
}

func (s *Subscriber) checkCaughtUp() {
	s.mu.Lock()
	for topic, heads := range s.heads {
		for p, head := range heads {
			if s.progress[topic][p] < head {
				s.mu.Unlock()
				return
			}
		}
	}
	s.mu.Unlock()
	s.caughtUpOnce.Do(func() {
		close(s.caughtUp)
		s.logger.Info("caught up: snapshot done, following changes")
		if s.cfg.OnCaughtUp != nil {
			go s.cfg.OnCaughtUp()
		}
	})
}

// process handles one record to the end: applied, duplicate or
// dead-lettered (Ack), or abandoned because Run is ending (Nack, so it is
// delivered again).
func (s *Subscriber) process(pub *kafkago.Publisher, r Route, msg *message.Message) {
	info, _ := kafkago.RecordInfoFromContext(msg.Context())
	_, err := s.tracing(func(msg *message.Message) ([]*message.Message, error) {
		return nil, s.handle(msg.Context(), pub, r, msg, info)
	})(msg)
	if err != nil {
		msg.Nack()
		return
	}
	msg.Ack()
	s.advance(info.Topic, info.Partition, info.Offset+1)
	s.checkCaughtUp()
}

func (s *Subscriber) handle(ctx context.Context, pub *kafkago.Publisher, r Route, msg *message.Message, info kafkago.RecordInfo) error {
	headers := make(map[string]string, len(msg.Metadata))
	for k, v := range msg.Metadata {
		headers[k] = v
	}
	env := readEnvelope(headers, len(msg.Payload) == 0)
	if env.id == "" {
		env.id = msg.UUID // stable per record; see kafkago.DefaultMarshaler
	}
	env.key, env.topic, env.partition, env.offset = string(info.Key), info.Topic, info.Partition, info.Offset
	attrs := metric.WithAttributes(attribute.String("topic", info.Topic))
	outcome := func(o string) metric.AddOption {
		return metric.WithAttributes(attribute.String("topic", info.Topic), attribute.String("outcome", o))
	}
	log := s.logger.With("topic", info.Topic, "partition", info.Partition, "offset", info.Offset, "event", env.id)

	// A view the hub rebuilt for a new shape of the subscription (fields
	// added or withdrawn) carries the same events again, projected the new
	// way: they must be applied again, so the shape is part of what makes
	// an event a duplicate.
	mark := env.id
	if shape := headers[HeaderViewShape]; shape != "" {
		mark += "@" + shape
	}
	seen, err := retryForever(ctx, s, func() (bool, error) { return s.cfg.Store.Seen(ctx, s.cfg.Group, mark) }, log, "look up event id")
	if err != nil {
		return err
	}
	if seen {
		s.m.events.Add(ctx, 1, outcome("duplicate"))
		log.DebugContext(ctx, "duplicate event skipped")
		return nil
	}
	value, err := retryForever(ctx, s, func() (any, error) {
		v, err := r.decode(ctx, s.decs[r.topic], msg.Payload)
		if err != nil && !apierr.Retryable(err) {
			return nil, Permanent(err)
		}
		return v, err
	}, log, "decode")
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return s.deadLetter(ctx, pub, msg, info, 0, fmt.Errorf("decode: %w", err), log)
	}
	for attempt := 1; ; attempt++ {
		env.attempt = attempt
		start := time.Now()
		err := r.call(ctx, env, value)
		s.m.duration.Record(ctx, time.Since(start).Seconds(), attrs)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if IsPermanent(err) || !apierr.Retryable(err) || attempt >= s.cfg.MaxAttempts {
			return s.deadLetter(ctx, pub, msg, info, attempt, err, log)
		}
		s.m.retries.Add(ctx, 1, attrs)
		log.WarnContext(ctx, "handler failed; retrying", "attempt", attempt, "err", err)
		if !backoff.Sleep(ctx, backoff.Delay(attempt, s.cfg.MinBackoff, s.cfg.MaxBackoff)) {
			return ctx.Err()
		}
	}
	if _, err := retryForever(ctx, s, func() (struct{}, error) {
		return struct{}{}, s.cfg.Store.Mark(ctx, s.cfg.Group, mark, info.Time)
	}, log, "mark event applied"); err != nil {
		// Applied but not marked: a redelivery after this would apply
		// it again. Only a stopping Run gets here.
		return err
	}
	s.m.events.Add(ctx, 1, outcome("applied"))
	return nil
}

// deadLetter publishes the original record with the reason to the
// dead-letter topic, retrying until it is stored or Run ends.
func (s *Subscriber) deadLetter(ctx context.Context, pub *kafkago.Publisher, msg *message.Message, info kafkago.RecordInfo, attempts int, cause error, log *slog.Logger) error {
	dlq := DeadLetterTopic(info.Topic, s.cfg.Group)
	out := message.NewMessage(msg.UUID, msg.Payload)
	for k, v := range msg.Metadata {
		out.Metadata.Set(k, v)
	}
	out.Metadata.Set(kafkago.PartitionKeyMetadata, string(info.Key))
	out.Metadata.Set(HeaderDLQError, cause.Error())
	out.Metadata.Set(HeaderDLQAttempts, strconv.Itoa(attempts))
	out.Metadata.Set(HeaderDLQTopic, info.Topic)
	out.Metadata.Set(HeaderDLQPartition, strconv.Itoa(info.Partition))
	out.Metadata.Set(HeaderDLQOffset, strconv.FormatInt(info.Offset, 10))
	out.Metadata.Set(HeaderDLQGroup, s.cfg.Group)
	out.Metadata.Set(HeaderDLQTime, envelope.FormatTime(time.Now()))
	if _, err := retryForever(ctx, s, func() (struct{}, error) { return struct{}{}, pub.Publish(dlq, out) }, log, "publish to dead-letter topic"); err != nil {
		return err
	}
	log.ErrorContext(ctx, "record dead-lettered", "dlq", dlq, "attempts", attempts, "err", cause)
	s.m.events.Add(ctx, 1, metric.WithAttributes(attribute.String("topic", info.Topic), attribute.String("outcome", "dead_lettered")))
	return nil
}

// retryForever calls fn until it succeeds, returns a Permanent error, or
// ctx ends: for outages (the registry, the idempotency store, the
// dead-letter topic) that say nothing about the record.
func retryForever[V any](ctx context.Context, s *Subscriber, fn func() (V, error), log *slog.Logger, what string) (V, error) {
	for attempt := 1; ; attempt++ {
		v, err := fn()
		if err == nil || IsPermanent(err) {
			return v, err
		}
		if ctx.Err() != nil {
			return v, ctx.Err()
		}
		log.WarnContext(ctx, what+" failed; retrying", "attempt", attempt, "err", err)
		if !backoff.Sleep(ctx, backoff.Delay(attempt, s.cfg.MinBackoff, s.cfg.MaxBackoff)) {
			return v, ctx.Err()
		}
	}
}

type metrics struct {
	events   metric.Int64Counter
	retries  metric.Int64Counter
	duration metric.Float64Histogram
}

func newMetrics(mp metric.MeterProvider) (metrics, error) {
	meter := mp.Meter("github.com/samnav/samnav/pkg/sdk/subscriber")
	var m metrics
	var err error
	if m.events, err = meter.Int64Counter("samnav.subscriber.events",
		metric.WithDescription("Records handled, by topic and outcome (applied, duplicate, dead_lettered).")); err != nil {
		return m, fmt.Errorf("create metric: %w", err)
	}
	if m.retries, err = meter.Int64Counter("samnav.subscriber.retries",
		metric.WithDescription("Handler attempts that failed and were retried.")); err != nil {
		return m, fmt.Errorf("create metric: %w", err)
	}
	if m.duration, err = meter.Float64Histogram("samnav.subscriber.handle.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of one handler call.")); err != nil {
		return m, fmt.Errorf("create metric: %w", err)
	}
	return m, nil
}
