// Protection that follows references: the pipeline keeps, from the state
// topics of the concepts that protecting references point to (person),
// which of their records are protected identities; a record referring to
// one (an employee) is projected without the fields that locate the
// person; and when a person becomes protected, the subscriptions whose
// records may refer to them are delivered again from their snapshot.

package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/pkg/sdk/avro"
	"github.com/samnav/samnav/pkg/sdk/avroserde"
	"github.com/samnav/samnav/pkg/sdk/envelope"
	"github.com/samnav/samnav/pkg/sdk/kafkago"
	"github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/delivery/internal/projection"
)

// ProtectedStore keeps, durably, which records of the concepts that
// protecting references point to are protected identities, and which of
// those concepts had a record become protected since the subscriptions
// referring to them were last delivered again. It is safe for concurrent
// use; replicas share it.
type ProtectedStore interface {
	// Protected reports whether record id of concept was last seen as a
	// protected identity.
	Protected(ctx context.Context, concept, id string) (bool, error)
	// SetProtected records whether record id of concept is protected.
	// When it becomes protected it marks concept pending in the same
	// transaction, and became is true.
	SetProtected(ctx context.Context, concept, id string, protected bool) (became bool, err error)
	// Pending returns the mark of every pending concept.
	Pending(ctx context.Context) (map[string]int64, error)
	// Redelivered clears concept's pending mark if it is still mark.
	Redelivered(ctx context.Context, concept string, mark int64) error
}

// ProtectedGroup names the consumer group that keeps the protected
// identities of concept from its state topic.
func ProtectedGroup(concept string) string { return "samnav-delivery-protected-" + concept }

// DefaultRedeliverInterval is how often pending re-deliveries are looked
// for besides when a record becomes protected (a pending mark left by a
// stop, another replica, or a failed attempt).
const DefaultRedeliverInterval = 30 * time.Second

// referring projects plain for a subscription not approved for protected
// identities whose concept has protecting references: each referenced id
// is resolved in the ProtectedStore (without one, every reference counts
// as protected: when in doubt, withhold). A store that fails is an
// unavailable error: the record is decoded again later, never delivered
// unresolved.
func (w *worker) referring(ctx context.Context, plain map[string]any) (map[string]any, error) {
	found := map[*model.Attribute]bool{}
	for a, id := range w.proj.References(plain) {
		if w.cfg.Protected == nil {
			found[a] = true
			continue
		}
		p, err := w.cfg.Protected.Protected(ctx, a.Ref, id)
		if err != nil {
			return nil, apierr.Unavailable("the protection of a referenced record could not be read").Wrap(err)
		}
		found[a] = p
	}
	return w.proj.ApplyReferring(plain, func(a *model.Attribute, _ string) bool { return found[a] }), nil
}

// ShieldedSuffix ends the event id of a record of a concept with
// protecting references delivered with fields withheld
// (channel.Event.Withheld not empty). The shielded projection is another
// event than the whole one delivered before the person became protected:
// channels and receivers that drop a repeated event id (the feed, the
// webhook queue, Standard Webhooks receivers) take it, while delivering
// the same projection again keeps its id.
const ShieldedSuffix = "+shielded"

// protectedTargets returns the concepts protecting references of m point
// to, in id order.
func protectedTargets(m *model.Model) []string {
	var out []string
	for _, c := range m.Concepts {
		for _, a := range c.ProtectingReferences() {
			if !slices.Contains(out, a.Ref) {
				out = append(out, a.Ref)
			}
		}
	}
	slices.Sort(out)
	return out
}

// refersTo reports whether s's records may carry, for s, a field that
// locates a record of target: s is not approved for protected identities
// and approves a locating field of a protecting reference to target.
func refersTo(m *model.Model, s client.Subscription, target string) bool {
	c := m.Concept(s.Concept)
	if c == nil || s.ProtectedApproved {
		return false
	}
	for _, a := range c.ProtectingReferences() {
		if a.Ref != target {
			continue
		}
		for _, f := range a.Protection.Locating {
			if slices.Contains(s.ApprovedFields, f) {
				return true
			}
		}
	}
	return false
}

// Track keeps the ProtectedStore current from the state topics of the
// concepts protecting references point to, and delivers again, from their
// snapshot, the running subscriptions whose records may refer to a record
// that became protected, until ctx ends. Each state topic is read in its
// own consumer group (ProtectedGroup) from the earliest offset; an offset
// is committed only once the store has the record's protection (and,
// with it, the pending mark), so a re-delivery is never lost. Without a
// ProtectedStore, or without protecting references, it only waits.
func (m *Manager) Track(ctx context.Context) error {
	targets := protectedTargets(m.cfg.Model)
	if m.cfg.Protected == nil || len(targets) == 0 {
		<-ctx.Done()
		return nil
	}
	kick := make(chan struct{}, 1)
	var wg sync.WaitGroup
	for _, target := range targets {
		wg.Go(func() {
			if err := m.track(ctx, target, kick); err != nil && ctx.Err() == nil {
				m.logger.Error("keep protected identities", "concept", target, "err", err)
			}
		})
	}
	interval := m.cfg.RedeliverInterval
	if interval <= 0 {
		interval = DefaultRedeliverInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		m.redeliverPending(ctx)
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil
		case <-kick:
		case <-t.C:
		}
	}
}

// track reads target's state topic into the ProtectedStore.
func (m *Manager) track(ctx context.Context, target string, kick chan<- struct{}) error {
	c := m.cfg.Model.Concept(target)
	schema := m.cfg.Schemas[target]
	if c == nil || schema == "" {
		return fmt.Errorf("concept %q is not in the model", target)
	}
	proj, err := projection.New(c, schema, nil, true)
	if err != nil {
		return err
	}
	des, err := avroserde.NewDeserializer(m.cfg.Registry, avro.MustParse(schema))
	if err != nil {
		return fmt.Errorf("deserializer: %w", err)
	}
	group, topic := ProtectedGroup(target), envelope.StateTopic(c.ID, c.Major)
	logger := m.logger.With("concept", target, "topic", topic, "group", group)
	dialer, err := m.cfg.Kafka.Dialer("delivery")
	if err != nil {
		return fmt.Errorf("kafka consumer: %w", err)
	}
	sub, err := kafkago.NewSubscriber(kafkago.SubscriberConfig{
		Brokers: m.cfg.Kafka.Brokers, ConsumerGroup: group, Dialer: dialer, InitialOffset: kafkago.Earliest,
		FetchMaxWait: m.cfg.FetchMaxWait, MinBackoff: m.cfg.MinBackoff, MaxBackoff: m.cfg.MaxBackoff,
	}, watermill.NewSlogLogger(logger))
	if err != nil {
		return fmt.Errorf("kafka consumer: %w", err)
	}
	defer func() {
		if err := sub.Close(); err != nil {
			logger.Warn("close kafka consumer", "err", err)
		}
	}()
	msgs, ok := m.subscribe(ctx, sub, topic, logger)
	if !ok {
		return nil
	}
	for msg := range msgs {
		for attempt := 1; ; attempt++ {
			became, err := m.protection(ctx, c, proj, des, msg)
			if err == nil {
				msg.Ack()
				if became {
					select {
					case kick <- struct{}{}:
					default:
					}
				}
				break
			}
			if !apierr.Retryable(err) {
				logger.Error("skip unreadable record", "err", err)
				msg.Ack()
				break
			}
			logger.Warn("record protection later", "attempt", attempt, "err", err)
			if !sleepBackoff(ctx, m.cfg, attempt) {
				msg.Nack()
				return nil
			}
		}
	}
	return nil
}

// protection records whether one state-topic record of c is a protected
// identity; an erased record (tombstone) is not.
func (m *Manager) protection(ctx context.Context, c *model.Concept, proj *projection.Projection, des *avroserde.Deserializer, msg *message.Message) (bool, error) {
	ri, _ := kafkago.RecordInfoFromContext(msg.Context())
	env := envelope.ReadKafka(ri.Headers)
	id := string(ri.Key)
	if id == "" {
		id = env.Subject
	}
	if id == "" {
		return false, apierr.Errorf(apierr.CodeInvalid, "record at %s/%d/%d has no key", ri.Topic, ri.Partition, ri.Offset)
	}
	protected := false
	if len(msg.Payload) > 0 && env.Kind() != envelope.Erased {
		var dec map[string]any
		if err := des.DecodeContext(ctx, msg.Payload, &dec); err != nil {
			return false, fmt.Errorf("decode %s %s: %w", c.ID, id, err)
		}
		plain, err := proj.Plain(dec)
		if err != nil {
			return false, fmt.Errorf("read %s %s: %w", c.ID, id, apierr.Invalid("the record does not fit the concept's schema").Wrap(err))
		}
		protected = c.Protected(plain)
	}
	became, err := m.cfg.Protected.SetProtected(ctx, c.ID, id, protected)
	if err != nil {
		return false, apierr.Unavailable("the protection could not be recorded").Wrap(err)
	}
	return became, nil
}

// redeliverPending delivers again the subscriptions referring to every
// pending concept, and clears the concept's mark once all of them were.
func (m *Manager) redeliverPending(ctx context.Context) {
	pending, err := m.cfg.Protected.Pending(ctx)
	if err != nil {
		if ctx.Err() == nil {
			m.logger.Error("list pending re-deliveries", "err", err)
		}
		return
	}
	for target, mark := range pending {
		if err := m.redeliver(ctx, target); err != nil {
			m.logger.Error("deliver again the records referring to a protected identity (trying again later)", "concept", target, "err", err)
			continue
		}
		if err := m.cfg.Protected.Redelivered(ctx, target, mark); err != nil {
			m.logger.Error("clear pending re-delivery", "concept", target, "err", err)
		}
	}
}

// redeliver restarts, from the snapshot, every running subscription whose
// records may carry a field locating a record of target (refersTo): its
// consumer is stopped, its consumer group reset, and it is started again,
// so every record it delivered is delivered again with the current
// protection. A subscription that cannot be restarted after its reset is
// left to Sync's retries; one whose reset failed is an error (it stays
// pending).
func (m *Manager) redeliver(ctx context.Context, target string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return fmt.Errorf("deliver again: pipeline closed")
	}
	var errs []error
	for id, c := range m.running {
		if !refersTo(m.cfg.Model, c.sub, target) {
			continue
		}
		c.cancel()
		<-c.done
		delete(m.running, id)
		logger := m.logger.With("subscription", id, "system", c.sub.System, "concept", c.sub.Concept, "channel", string(c.sub.Channel))
		logger.Info("a referenced record became protected: delivering the subscription again from its snapshot", "referenced", target)
		rctx, cancel := context.WithTimeout(ctx, time.Minute)
		err := m.resetGroup(rctx, ConsumerGroup(id))
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("subscription %s: %w", id, err))
			continue // not running: Sync starts it, and the mark stays pending
		}
		nc, err := m.start(c.sub)
		if err != nil {
			m.failed[id] = &retry{version: c.sub.Version, attempt: 1, err: err, next: time.Now().Add(m.retryWait(1))}
			logger.Error("subscription not started after its reset, trying again later", "err", err)
			continue
		}
		m.running[id] = nc
	}
	if len(errs) > 0 {
		return fmt.Errorf("deliver again: %w", errors.Join(errs...))
	}
	return nil
}
