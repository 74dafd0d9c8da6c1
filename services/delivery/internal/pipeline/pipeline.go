// Package pipeline runs one consumer per approved subscription: it reads
// the concept's compacted state topic in the subscription's own consumer
// group from the earliest offset (so the topic's current state arrives
// first, then every change, with no gap), decodes each record through the
// registry, projects it (package projection) and hands it to the
// subscription's channel. An offset is committed only after the channel
// accepted the event, so nothing is skipped; after a restart some events
// are offered again with the same event id.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/avro"
	"github.com/samnav/samnav/pkg/avroserde"
	"github.com/samnav/samnav/pkg/kafkago"
	"github.com/samnav/samnav/services/delivery/internal/channel"
	"github.com/samnav/samnav/services/delivery/internal/projection"
	"github.com/samnav/samnav/services/delivery/internal/subscription"
)

// Header names of the state topic (see services/masterdata/internal/event).
const (
	HeaderID          = "ce_id"
	HeaderType        = "ce_type"
	HeaderTime        = "ce_time"
	HeaderSubject     = "ce_subject"
	HeaderRevision    = "samnav_revision"
	HeaderEndedAt     = "samnav_ended_at"
	HeaderTraceParent = "traceparent"
)

// ConsumerGroup names the consumer group of a subscription.
func ConsumerGroup(subscriptionID string) string { return "samnav-delivery-" + subscriptionID }

// Config configures a Manager.
type Config struct {
	Brokers []string
	// Registry resolves writer schemas of the state topics.
	Registry avroserde.SchemaSource
	Model    *model.Model
	// Schemas maps each concept id to its generated Avro schema (the
	// reader schema and the base of projections).
	Schemas map[string]string
	// Channels maps each channel kind to its implementation. A
	// subscription whose channel is missing is not started (logged).
	Channels map[subscription.ChannelKind]channel.Channel
	Logger   *slog.Logger
	// Subscriber tunes the consumers; Brokers and ConsumerGroup are set
	// per subscription.
	Subscriber kafkago.SubscriberConfig
}

// Manager runs the consumers of the approved subscriptions. It is safe for
// concurrent use.
type Manager struct {
	cfg    Config
	logger *slog.Logger

	mu      sync.Mutex
	running map[string]*consumer
	closed  bool
}

type consumer struct {
	version int64
	cancel  context.CancelFunc
	done    chan struct{}
}

// New returns a Manager; it starts nothing until Sync.
func New(cfg Config) *Manager {
	l := cfg.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return &Manager{cfg: cfg, logger: l.With("component", "delivery-pipeline"), running: map[string]*consumer{}}
}

// Sync makes the running consumers match subs: it starts one for every
// approved subscription not running, restarts one whose subscription
// changed (a new Version: narrowed fields apply from its next event on,
// continuing at its committed offset), and stops those of subscriptions
// no longer approved or absent. It returns every subscription it could
// not start.
func (m *Manager) Sync(subs []subscription.Subscription) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errors.New("sync pipeline: closed")
	}
	want := map[string]subscription.Subscription{}
	for _, s := range subs {
		if s.Delivering() {
			want[s.ID] = s
		}
	}
	for id, c := range m.running {
		if s, ok := want[id]; !ok || s.Version != c.version {
			c.cancel()
			<-c.done
			delete(m.running, id)
		}
	}
	var errs []error
	for id, s := range want {
		if _, ok := m.running[id]; ok {
			continue
		}
		c, err := m.start(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("start subscription %s: %w", id, err))
			continue
		}
		m.running[id] = c
	}
	return errors.Join(errs...)
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

func (m *Manager) start(s subscription.Subscription) (*consumer, error) {
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
	sc := m.cfg.Subscriber
	sc.Brokers, sc.ConsumerGroup, sc.InitialOffset = m.cfg.Brokers, ConsumerGroup(s.ID), kafkago.Earliest
	logger := m.logger.With("subscription", s.ID, "system", s.System, "concept", s.Concept, "channel", string(s.Channel))
	sub, err := kafkago.NewSubscriber(sc, watermill.NewSlogLogger(logger))
	if err != nil {
		return nil, fmt.Errorf("subscriber: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	msgs, err := sub.Subscribe(ctx, c.Topic())
	if err != nil {
		cancel()
		sub.Close()
		return nil, fmt.Errorf("subscribe to %s: %w", c.Topic(), err)
	}
	w := &worker{sub: s, proj: proj, des: des, ch: ch, logger: logger}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer sub.Close()
		for msg := range msgs {
			w.handle(ctx, msg)
		}
	}()
	logger.Info("delivering", "topic", c.Topic(), "group", sc.ConsumerGroup)
	return &consumer{version: s.Version, cancel: cancel, done: done}, nil
}

type worker struct {
	sub    subscription.Subscription
	proj   *projection.Projection
	des    *avroserde.Deserializer
	ch     channel.Channel
	logger *slog.Logger
}

// handle acks msg once the channel accepted its event, nacks it for
// retry otherwise, and acks (skips, logged) a record that can never be
// delivered (bad headers or a body that does not decode), so one bad
// record cannot stop a partition.
func (w *worker) handle(ctx context.Context, msg *message.Message) {
	ev, err := w.event(msg)
	if err != nil {
		if avroserde.Retryable(err) {
			w.logger.Warn("decode later", "err", err)
			msg.Nack()
			return
		}
		w.logger.Error("skip undeliverable record", "uuid", msg.UUID, "err", err)
		msg.Ack()
		return
	}
	if err := w.ch.Deliver(ctx, w.sub, ev); err != nil {
		if ctx.Err() == nil {
			w.logger.Warn("channel refused event, retrying", "event", ev.EventID, "key", ev.Key, "err", err)
		}
		msg.Nack()
		return
	}
	msg.Ack()
}

// Event builds the projected event of one state-topic message. It is
// exported through Project for tests.
func (w *worker) event(msg *message.Message) (channel.Event, error) {
	md := msg.Metadata
	ri, _ := kafkago.RecordInfoFromContext(msg.Context())
	ev := channel.Event{SubscriptionID: w.sub.ID, System: w.sub.System, Concept: w.sub.Concept, Key: string(ri.Key),
		EventID: md.Get(HeaderID), Trace: md.Get(HeaderTraceParent), Topic: ri.Topic, Partition: ri.Partition, Offset: ri.Offset}
	if ev.Key == "" {
		ev.Key = md.Get(HeaderSubject)
	}
	if ev.EventID == "" || ev.Key == "" {
		return ev, fmt.Errorf("record at %s/%d/%d: header %s and a key are required", ri.Topic, ri.Partition, ri.Offset, HeaderID)
	}
	ce := md.Get(HeaderType)
	switch {
	case len(msg.Payload) == 0 || strings.HasSuffix(ce, ".erased"):
		ev.Type = channel.TypeErased
	case strings.HasSuffix(ce, ".ended"):
		ev.Type = channel.TypeEnded
	default: // created, changed, resynced
		ev.Type = channel.TypeChanged
	}
	if t, err := time.Parse(time.RFC3339Nano, md.Get(HeaderTime)); err == nil {
		ev.Time = t
	} else {
		ev.Time = ri.Time
	}
	if r, err := strconv.ParseInt(md.Get(HeaderRevision), 10, 64); err == nil {
		ev.Revision = r
	}
	if s := md.Get(HeaderEndedAt); s != "" {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			ev.EndedAt = &t
		}
	}
	if ev.Type == channel.TypeErased {
		return ev, nil
	}
	var dec map[string]any
	if err := w.des.DecodeContext(msg.Context(), msg.Payload, &dec); err != nil {
		return ev, fmt.Errorf("decode %s %s: %w", w.sub.Concept, ev.Key, err)
	}
	plain, err := w.proj.Plain(dec)
	if err != nil {
		return ev, fmt.Errorf("read %s %s: %w", w.sub.Concept, ev.Key, err)
	}
	ev.State = w.proj.Apply(plain)
	return ev, nil
}
