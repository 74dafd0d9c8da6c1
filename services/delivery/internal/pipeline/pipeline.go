// Package pipeline runs one consumer per approved subscription: it reads
// the concept's compacted state topic in the subscription's own consumer
// group from the earliest offset (so the topic's current state arrives
// first, then every change, with no gap), decodes each record through the
// registry, projects it (package projection) and hands it to the
// subscription's channel. An offset is committed only after the channel
// accepted the event, so nothing is skipped; after a restart some events
// are offered again with the same event id.
//
// Records are handled in batches: whatever the consumer has fetched, up
// to Config.BatchSize, is decoded and offered at once, to a Batcher in
// one call and to any other channel one event at a time per partition
// with the partitions in parallel. While a batch waits for its channel
// the consumer fetches the next one.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/segmentio/kafka-go"

	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/sdk/avro"
	"github.com/samnav/samnav/pkg/sdk/avroserde"
	"github.com/samnav/samnav/pkg/sdk/envelope"
	"github.com/samnav/samnav/pkg/sdk/kafkaauth"
	"github.com/samnav/samnav/pkg/sdk/kafkago"
	"github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/delivery/internal/channel"
	"github.com/samnav/samnav/services/delivery/internal/projection"
)

// Batcher is a channel that takes many events in one call, so that one
// durable write (one produce request, one transaction) covers them all.
//
// Contract, beside channel.Channel's: DeliverBatch returns nil only once
// every event of evs is accepted durably. On an error any of them may or
// may not have been accepted; the pipeline offers the same batch again
// (same event ids, same order) until it is accepted or ctx ends. evs holds
// the events of one subscription in the state topic's order per
// partition; a channel must keep that order per key.
type Batcher interface {
	channel.Channel
	DeliverBatch(ctx context.Context, sub client.Subscription, evs []channel.Event) error
}

// Rebuilder is a channel that keeps its own copy of a subscription's
// projected records, readable by the subscriber from the start (the Kafka
// view topic, the feed). When a subscription is reshaped, records written
// before hold the old projection until each key is written again: after a
// narrowing (fields withdrawn, or protected identities no longer approved)
// they keep what may no longer be delivered; after a widening (fields
// added, or protected identities approved) they lack what the system was
// approved for, and it would have to ask for them again. So the Manager
// rebuilds the copy: it stops the subscription's consumer, calls Clear,
// resets the consumer group so that the state topic's snapshot is
// delivered again, calls Built, and starts the consumer with the reshaped
// subscription.
//
// Contract:
//   - Clear removes every record of sub's copy written so far, so that
//     nothing of them is readable afterwards, and whatever would keep
//     the copy from taking sub's projection (for Kafka: the view topic is
//     deleted and created again empty, and the view subject's schema
//     versions deleted, so that a widened schema is not refused as
//     incompatible with data that no longer exists). It is idempotent.
//   - Built records, durably, that the copy is (being) filled for sub's
//     projection (for Kafka: the view schema registered). It is
//     idempotent. A refusal (say, by the schema registry) is returned.
//   - Current reports whether sub's copy exists and was Built for sub's
//     projection since it was last cleared. It is asked before a
//     subscription's consumer starts, so a reshaping saved before the
//     process stopped, a rebuild a crash interrupted, or a copy deleted
//     by hand is rebuilt then.
type Rebuilder interface {
	Clear(ctx context.Context, sub client.Subscription) error
	Built(ctx context.Context, sub client.Subscription) error
	Current(ctx context.Context, sub client.Subscription) (bool, error)
}

// Narrowed reports whether next delivers less than prev: a field of prev's
// approved fields is not among next's, or next no longer receives the
// shielded attributes of protected identities.
func Narrowed(prev, next client.Subscription) bool {
	if prev.ProtectedApproved && !next.ProtectedApproved {
		return true
	}
	for _, f := range prev.ApprovedFields {
		if !slices.Contains(next.ApprovedFields, f) {
			return true
		}
	}
	return false
}

// Reshaped reports whether next's projection differs from prev's: it was
// narrowed (see Narrowed) or widened (a field added, or protected
// identities approved). Either rebuilds a Rebuilder's copy.
func Reshaped(prev, next client.Subscription) bool {
	return Narrowed(prev, next) || Narrowed(next, prev)
}

// Pipeline defaults.
const (
	DefaultBatchSize    = 1000
	DefaultBatchWait    = 2 * time.Millisecond
	DefaultFetchMaxWait = 250 * time.Millisecond
	DefaultMinBackoff   = 100 * time.Millisecond
	DefaultMaxBackoff   = 5 * time.Second
)

// ConsumerGroup names the consumer group of a subscription.
func ConsumerGroup(subscriptionID string) string { return "samnav-delivery-" + subscriptionID }

// Config configures a Manager.
type Config struct {
	// Kafka are the brokers, credentials, TLS and timeouts every Kafka
	// client of the pipeline (the readers, the admin client that resets
	// consumer groups) is built from.
	Kafka kafkaauth.Settings
	// Registry resolves writer schemas of the state topics.
	Registry avroserde.SchemaSource
	Model    *model.Model
	// Schemas maps each concept id to its generated Avro schema (the
	// reader schema and the base of projections).
	Schemas map[string]string
	// Channels maps each channel kind to its implementation. A
	// subscription whose channel is missing is not started (logged).
	Channels map[client.ChannelKind]channel.Channel
	Logger   *slog.Logger
	// BatchSize is the most records offered to a channel at once;
	// default DefaultBatchSize.
	BatchSize int
	// BatchWait is how long a batch waits for more records after its
	// first one; default DefaultBatchWait (a change arriving alone is
	// delayed by at most that).
	BatchWait time.Duration
	// FetchMaxWait is how long a fetch waits on the broker for new
	// records; default DefaultFetchMaxWait.
	FetchMaxWait time.Duration
	// MinBackoff and MaxBackoff bound the pause before a refused event or
	// batch is offered again; defaults DefaultMinBackoff, DefaultMaxBackoff.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// Rebuilders are the channels, by kind, whose copy of a subscription's
	// records is rebuilt when the subscription is reshaped (see
	// Rebuilder). A channel not named here keeps what it delivered.
	Rebuilders map[client.ChannelKind]Rebuilder
	// Protected keeps which referenced records (persons) are protected
	// identities, for the subscriptions whose records refer to them (see
	// Track). Without it, every protecting reference counts as pointing
	// to a protected identity.
	Protected ProtectedStore
	// RedeliverInterval is how often Track looks for pending
	// re-deliveries besides when a record becomes protected; default
	// DefaultRedeliverInterval.
	RedeliverInterval time.Duration
}

func (c *Config) setDefaults() {
	if c.BatchSize <= 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.BatchWait <= 0 {
		c.BatchWait = DefaultBatchWait
	}
	if c.FetchMaxWait <= 0 {
		c.FetchMaxWait = DefaultFetchMaxWait
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff < c.MinBackoff {
		c.MaxBackoff = max(DefaultMaxBackoff, c.MinBackoff)
	}
}

// Manager runs the consumers of the approved subscriptions. It is safe for
// concurrent use.
type Manager struct {
	cfg    Config
	logger *slog.Logger

	mu      sync.Mutex
	running map[string]*consumer
	// failed holds the subscriptions whose start (or rebuild) failed:
	// they are tried again, after a backoff, by a later Sync.
	failed map[string]*retry
	closed bool
}

// retry is a subscription whose start failed.
type retry struct {
	// rebuild: it was reshaped, so it is rebuilt, not merely restarted.
	rebuild bool
	version int64 // of the subscription that failed
	attempt int
	next    time.Time
	err     error
}

type consumer struct {
	sub    client.Subscription
	cancel context.CancelFunc
	done   chan struct{}
}

// New returns a Manager; it starts nothing until Sync.
func New(cfg Config) *Manager {
	cfg.setDefaults()
	l := cfg.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return &Manager{cfg: cfg, logger: l.With("component", "delivery-pipeline"), running: map[string]*consumer{}, failed: map[string]*retry{}}
}

// Sync makes the running consumers match subs: it starts one for every
// approved subscription not running, restarts one whose subscription
// changed (a new Version: on a channel that is not a Rebuilder the new
// fields apply from its next event on, continuing at its committed
// offset; a reshaped subscription on a Rebuilder channel, or one whose
// copy is not Current, has its copy rebuilt from the snapshot first, see
// Rebuilder), and stops those of subscriptions no longer approved or
// absent. It returns every subscription it could not start (or rebuild),
// and logs each with the reason; a later Sync tries again, after a
// backoff that grows with every failure (up to 60 × MaxBackoff), or at
// once when the subscription changed.
func (m *Manager) Sync(subs []client.Subscription) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errors.New("sync pipeline: closed")
	}
	want := map[string]client.Subscription{}
	for _, s := range subs {
		if s.Delivering() {
			want[s.ID] = s
		}
	}
	rebuild := map[string]bool{}
	for id, c := range m.running {
		if s, ok := want[id]; !ok || s.Version != c.sub.Version {
			c.cancel()
			<-c.done
			delete(m.running, id)
			if ok && Reshaped(c.sub, s) && m.cfg.Rebuilders[s.Channel] != nil {
				rebuild[id] = true
			}
		}
	}
	var errs []error
	now := time.Now()
	for id, s := range want {
		if _, ok := m.running[id]; ok {
			continue
		}
		f := m.failed[id]
		if f != nil && !rebuild[id] && f.version == s.Version && now.Before(f.next) {
			errs = append(errs, fmt.Errorf("start subscription %s (next attempt in %s): %w", id, f.next.Sub(now).Round(time.Millisecond), f.err))
			continue
		}
		err := m.prepare(s, rebuild[id] || (f != nil && f.rebuild))
		var c *consumer
		if err == nil {
			c, err = m.start(s)
		}
		if err != nil {
			// Not started: a reshaped copy must not be written to
			// before it is rebuilt.
			if f == nil {
				f = &retry{}
				m.failed[id] = f
			}
			f.rebuild = f.rebuild || rebuild[id]
			f.version = s.Version
			f.attempt++
			f.err = err
			f.next = now.Add(m.retryWait(f.attempt))
			m.logger.Error("subscription not started, trying again later", "subscription", id, "system", s.System, "concept", s.Concept,
				"channel", string(s.Channel), "attempt", f.attempt, "retry_in", f.next.Sub(now), "err", err)
			errs = append(errs, fmt.Errorf("start subscription %s: %w", id, err))
			continue
		}
		delete(m.failed, id)
		m.running[id] = c
	}
	for id := range m.failed {
		if _, ok := want[id]; !ok {
			delete(m.failed, id)
		}
	}
	return errors.Join(errs...)
}

// retryWait is the pause before attempt+1 at starting a subscription:
// MinBackoff doubled per attempt, at most 60 × MaxBackoff.
func (m *Manager) retryWait(attempt int) time.Duration {
	limit := 60 * m.cfg.MaxBackoff
	d := m.cfg.MinBackoff << min(attempt-1, 30)
	if d <= 0 || d > limit {
		d = limit
	}
	return d
}

// Failing returns, by subscription id, why each approved subscription
// that should be delivering is not: its start or the rebuild of its copy
// failed (for instance the schema registry refused the view schema) and
// is tried again by a later Sync.
func (m *Manager) Failing() map[string]error {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]error, len(m.failed))
	for id, f := range m.failed {
		out[id] = f.err
	}
	return out
}

// prepare readies a stopped subscription's Rebuilder copy. With rebuild
// (it was reshaped), or when the copy is not Current (a reshaping saved
// before a restart, an interrupted rebuild, a copy deleted by hand), it
// clears the copy and resets the consumer group, so that the snapshot
// fills it again; then it records the copy as Built for s.
func (m *Manager) prepare(s client.Subscription, rebuild bool) error {
	rb := m.cfg.Rebuilders[s.Channel]
	if rb == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	logger := m.logger.With("subscription", s.ID, "system", s.System, "concept", s.Concept, "channel", string(s.Channel))
	why := "subscription reshaped"
	if !rebuild {
		ok, err := rb.Current(ctx, s)
		if err != nil {
			return fmt.Errorf("check copy: %w", err)
		}
		rebuild, why = !ok, "copy missing or built for another projection"
	}
	if rebuild {
		logger.Info(why+": rebuilding its copy from the snapshot", "fields", s.ApprovedFields, "protected_approved", s.ProtectedApproved)
		if err := rb.Clear(ctx, s); err != nil {
			return fmt.Errorf("rebuild copy: %w", err)
		}
		if err := m.resetGroup(ctx, ConsumerGroup(s.ID)); err != nil {
			return fmt.Errorf("rebuild copy: %w", err)
		}
	}
	if err := rb.Built(ctx, s); err != nil {
		return fmt.Errorf("prepare copy: %w", err)
	}
	return nil
}

// resetGroup deletes the consumer group (its committed offsets), so that
// its next member starts at the earliest offset: the snapshot again. A
// group that does not exist is not an error; one whose last member is
// still leaving is asked again.
func (m *Manager) resetGroup(ctx context.Context, group string) error {
	client, done, err := m.cfg.Kafka.Client("delivery")
	if err != nil {
		return fmt.Errorf("reset consumer group %s: %w", group, err)
	}
	defer done()
	for attempt := 1; ; attempt++ {
		resp, err := client.DeleteGroups(ctx, &kafka.DeleteGroupsRequest{GroupIDs: []string{group}})
		if err == nil {
			err = resp.Errors[group]
		}
		switch {
		case err == nil, errors.Is(err, kafka.GroupIdNotFound):
			return nil
		case errors.Is(err, kafka.NonEmptyGroup), errors.Is(err, kafka.RebalanceInProgress), errors.Is(err, kafka.GroupLoadInProgress),
			errors.Is(err, kafka.GroupCoordinatorNotAvailable), errors.Is(err, kafka.NotCoordinatorForGroup):
		default:
			return fmt.Errorf("reset consumer group %s: %w", group, err)
		}
		if !sleepBackoff(ctx, m.cfg, attempt) {
			return fmt.Errorf("reset consumer group %s: %w", group, err)
		}
	}
}

// Running returns the ids of the subscriptions being delivered.
func (m *Manager) Running() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.running))
	for id := range m.running {
		out = append(out, id)
	}
	return out
}

// Owned returns the subscription id names if its consumer runs in this
// Manager: the process that writes its channel's records, and so the one
// that may re-publish a view record of it (kafkaview.RunRepublishes)
// under the channel's per-subscription lock. One process runs every
// partition of a subscription's consumer group; with several replicas
// sharing a group, a key is owned by the member that holds the key's
// state-topic partition, and this must narrow to those keys (or to a
// lease on the subscription) before replicas share one.
func (m *Manager) Owned(id string) (client.Subscription, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.running[id]
	if !ok {
		return client.Subscription{}, false
	}
	return c.sub, true
}

// Close stops every consumer, waiting for events in flight.
func (m *Manager) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	for id, c := range m.running {
		c.cancel()
		<-c.done
		delete(m.running, id)
	}
	return nil
}

func (m *Manager) start(s client.Subscription) (*consumer, error) {
	ch := m.cfg.Channels[s.Channel]
	if ch == nil {
		return nil, fmt.Errorf("no %s channel in this server", s.Channel)
	}
	c := m.cfg.Model.Concept(s.Concept)
	schema := m.cfg.Schemas[s.Concept]
	if c == nil || schema == "" {
		return nil, fmt.Errorf("concept %q is not in the model", s.Concept)
	}
	if c.Major != s.Major {
		return nil, fmt.Errorf("subscription is to %s v%d, the model has v%d", s.Concept, s.Major, c.Major)
	}
	proj, err := projection.New(c, schema, s.ApprovedFields, s.ProtectedApproved)
	if err != nil {
		return nil, err
	}
	des, err := avroserde.NewDeserializer(m.cfg.Registry, avro.MustParse(schema))
	if err != nil {
		return nil, fmt.Errorf("deserializer: %w", err)
	}
	logger := m.logger.With("subscription", s.ID, "system", s.System, "concept", s.Concept, "channel", string(s.Channel))
	group := ConsumerGroup(s.ID)
	topic := envelope.StateTopic(c.ID, c.Major)
	dialer, err := m.cfg.Kafka.Dialer("delivery")
	if err != nil {
		return nil, fmt.Errorf("kafka consumer: %w", err)
	}
	sub, err := kafkago.NewSubscriber(kafkago.SubscriberConfig{
		Brokers: m.cfg.Kafka.Brokers, ConsumerGroup: group, Dialer: dialer, InitialOffset: kafkago.Earliest,
		// A whole batch of a partition is out at once; kafkago commits
		// the prefix the channel accepted (see source).
		MaxInFlight:  m.cfg.BatchSize,
		FetchMaxWait: m.cfg.FetchMaxWait, FetchMaxBytes: 10 << 20,
		MinBackoff: m.cfg.MinBackoff, MaxBackoff: m.cfg.MaxBackoff,
	}, watermill.NewSlogLogger(logger.With("topic", topic, "group", group)))
	if err != nil {
		return nil, fmt.Errorf("kafka consumer: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &worker{cfg: m.cfg, sub: s, proj: proj, des: des, ch: ch, logger: logger}
	if b, ok := ch.(Batcher); ok {
		w.batcher = b
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if err := sub.Close(); err != nil {
				logger.Warn("close kafka consumer", "topic", topic, "group", group, "err", err)
			}
		}()
		msgs, ok := m.subscribe(ctx, sub, topic, logger)
		if !ok {
			return
		}
		src := newSource(msgs)
		defer src.release()
		w.r = src
		w.run(ctx)
	}()
	logger.Info("delivering", "topic", topic, "group", group)
	return &consumer{sub: s, cancel: cancel, done: done}, nil
}

// subscribe joins the consumer group on topic, retrying with backoff while
// the topic does not exist yet (it is created by master data's relay) or
// the broker refuses; false if ctx ended first.
func (m *Manager) subscribe(ctx context.Context, sub *kafkago.Subscriber, topic string, logger *slog.Logger) (<-chan *message.Message, bool) {
	for attempt := 1; ; attempt++ {
		msgs, err := sub.Subscribe(ctx, topic)
		if err == nil {
			return msgs, true
		}
		if ctx.Err() != nil {
			return nil, false
		}
		logger.Warn("subscribe to state topic, trying again", "topic", topic, "attempt", attempt, "err", err)
		if !sleepBackoff(ctx, m.cfg, attempt) {
			return nil, false
		}
	}
}
