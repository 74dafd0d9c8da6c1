// Package feed is the pull-feed channel: for systems behind firewalls that
// cannot receive webhooks or reach Kafka, it keeps each subscription's
// projected events in SQL and serves them over HTTP as snapshot pages
// followed by the changes after an opaque cursor, with long-polling.
//
// # Storage
//
// Feed.Deliver (the channel.Channel of a feed subscription) stores every
// projected event durably before it returns: a row in the subscription's
// change log with the next position, and the record's row in the
// subscription's current state (removed on erasure). Feed.DeliverBatch (the
// pipeline's Batcher) does the same for a whole batch in one transaction. A redelivered event
// (same EventID) is accepted without storing it twice.
//
// An event whose projection withheld fields (channel.Event.Withheld: the
// record is a protected identity, the subscription is not approved for
// them) also sets those fields to null in every earlier entry of the same
// record and in its current state, in the same transaction: once it is
// stored, no cursor and no snapshot of the subscription reads an earlier
// value of them (the change log's bound on protection is zero).
//
// # Reading: snapshot, then follow, without a gap
//
//	GET {prefix}/{subscription}/snapshot?cursor=&limit=
//	GET {prefix}/{subscription}/changes?cursor=&limit=&wait=
//
// A reader starts with /snapshot and no cursor. The first page fixes the
// change-log position at which the snapshot begins (read before any
// state row), and every page returns it as changesCursor; nextCursor pages
// on until it is empty. Then the reader follows /changes from
// changesCursor. A record changed while the snapshot was paged shows up in
// /changes (and possibly already in a later snapshot page: items carry the
// record's revision and the event id, so a receiver keeps the newest), so
// nothing is missed between snapshot and follow.
//
// /changes returns the events after its cursor, oldest first, and the cursor
// to continue from. With wait (a duration such as 30s, at most
// Config.MaxWait) and nothing new, it holds the request until Deliver
// stores an event for the subscription or the wait ends, then answers
// (possibly with no items). Deliveries in this process wake waiters at
// once; other replicas' deliveries are seen within Config.PollInterval.
//
// Items are CloudEvents 1.0 in JSON: type envelope.EventType of kind
// changed, ended or erased; subject the record key; data the projected record, null
// when erased; revision and traceparent as extension attributes.
//
// # Who may read
//
// Only the subscription's own system, authenticated by pkg/auth (the
// handlers read auth.FromContext, so mount them behind auth.Middleware),
// and only while the subscription is approved.
package feed

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/delivery/internal/channel"
)

// Defaults of Config's optional fields.
const (
	DefaultMaxWait      = 60 * time.Second
	DefaultPollInterval = time.Second
	DefaultLimit        = 100
	DefaultMaxLimit     = 1000
	// DefaultRetention is how long the change log keeps an entry.
	DefaultRetention = 7 * 24 * time.Hour
	// MinCursorKeyLen is the shortest Config.CursorKey accepted.
	MinCursorKeyLen = 32
)

// SubscriptionFunc returns the subscription with id, and false when there
// is none. The feed asks it on every request, so a revoked subscription
// stops being readable at once.
type SubscriptionFunc func(ctx context.Context, id string) (client.Subscription, bool, error)

// Config configures a Feed.
type Config struct {
	// Store keeps the feeds; required.
	Store Store
	// Subscriptions looks subscriptions up for the HTTP handlers; required.
	Subscriptions SubscriptionFunc
	// CursorKey signs cursors (HMAC-SHA256), at least MinCursorKeyLen
	// bytes; required. Every replica needs the same key. Changing it makes
	// every issued cursor invalid (readers get 400 and start again from a
	// snapshot).
	CursorKey []byte
	// MaxWait is the longest long-poll a reader may ask for; default
	// DefaultMaxWait.
	MaxWait time.Duration
	// PollInterval is how often a waiting request re-reads the store, for
	// events another replica stored; default DefaultPollInterval.
	PollInterval time.Duration
	// DefaultLimit and MaxLimit bound items per response; defaults
	// DefaultLimit and DefaultMaxLimit.
	DefaultLimit int
	MaxLimit     int
	// Retention is how long an entry stays in a subscription's change
	// log (Prune removes older ones; a subscription's newest entry and
	// the current state, which snapshots read, are always kept); default
	// DefaultRetention, negative keeps every entry forever. A reader that
	// falls further behind gets 410 Gone (SnapshotRequired) and starts again
	// from a snapshot: a longer retention costs storage, a shorter one
	// makes slow readers re-read everything.
	Retention time.Duration
	// Logger; nil discards.
	Logger *slog.Logger
	// MeterProvider receives the feed's metrics (readers, entries
	// served); nil means none.
	MeterProvider metric.MeterProvider
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	if c.Store == nil {
		errs = append(errs, errors.New("Store: is required"))
	}
	if c.Subscriptions == nil {
		errs = append(errs, errors.New("Subscriptions: is required"))
	}
	if len(c.CursorKey) < MinCursorKeyLen {
		errs = append(errs, fmt.Errorf("CursorKey: must be at least %d bytes", MinCursorKeyLen))
	}
	if c.MaxWait < 0 || c.PollInterval < 0 || c.DefaultLimit < 0 || c.MaxLimit < 0 {
		errs = append(errs, errors.New("MaxWait, PollInterval, DefaultLimit, MaxLimit: must not be negative"))
	}
	if c.DefaultLimit > 0 && c.MaxLimit > 0 && c.DefaultLimit > c.MaxLimit {
		errs = append(errs, errors.New("DefaultLimit: must not exceed MaxLimit"))
	}
	return errors.Join(errs...)
}

// Feed is the pull-feed channel and its HTTP API. It is safe for
// concurrent use.
type Feed struct {
	cfg    Config
	codec  cursorCodec
	logger *slog.Logger

	mu sync.Mutex
	// wake holds, per subscription, a channel closed (and replaced) by the
	// next stored event: the long-poll waiters' signal.
	wake map[string]chan struct{}

	metrics *metrics
}

var _ channel.Channel = (*Feed)(nil)

// New validates cfg and returns a Feed.
func New(cfg Config) (*Feed, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new feed: %w", err)
	}
	cfg.MaxWait = cmp.Or(cfg.MaxWait, DefaultMaxWait)
	cfg.PollInterval = cmp.Or(cfg.PollInterval, DefaultPollInterval)
	cfg.MaxLimit = cmp.Or(cfg.MaxLimit, DefaultMaxLimit)
	cfg.DefaultLimit = cmp.Or(cfg.DefaultLimit, min(DefaultLimit, cfg.MaxLimit))
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(cfg.MeterProvider)
	if err != nil {
		return nil, fmt.Errorf("new feed: metrics: %w", err)
	}
	return &Feed{cfg: cfg, codec: cursorCodec{key: append([]byte(nil), cfg.CursorKey...)},
		logger: logger.With("component", "feed"), wake: map[string]chan struct{}{}, metrics: m}, nil
}

// Deliver implements channel.Channel: it returns nil once ev is stored in
// sub's change log and current state, and wakes the readers waiting for
// sub. A redelivered event (same EventID) is accepted without a second
// entry. An event that breaks the channel.Event contract (unknown type,
// state on an erasure, no state otherwise, no key or event id) is refused
// with an error and stored nowhere.
func (f *Feed) Deliver(ctx context.Context, sub client.Subscription, ev channel.Event) error {
	e, err := toEntry(sub, ev)
	if err != nil {
		return fmt.Errorf("deliver to feed of %s: %w", sub.ID, err)
	}
	_, stored, err := f.cfg.Store.Append(ctx, e)
	if err != nil {
		return fmt.Errorf("deliver to feed of %s: %w", sub.ID, err)
	}
	if stored {
		f.notify(sub.ID)
	}
	return nil
}

// DeliverBatch is Deliver for many events of sub at once (the pipeline's
// Batcher): it checks every event first and refuses the whole batch, storing
// nothing, if any breaks the contract (the error names each such event by
// its index with Deliver's reasons); otherwise it stores them in their order
// in one transaction, all or none, and wakes sub's readers once. An event id
// already stored, or repeated within evs, is accepted once.
func (f *Feed) DeliverBatch(ctx context.Context, sub client.Subscription, evs []channel.Event) error {
	entries, err := channel.ConvertBatch(evs, func(ev channel.Event) (Entry, error) { return toEntry(sub, ev) })
	if err != nil {
		return fmt.Errorf("deliver batch to feed of %s: %w", sub.ID, err)
	}
	stored, err := f.cfg.Store.AppendBatch(ctx, entries)
	if err != nil {
		return fmt.Errorf("deliver batch to feed of %s: %w", sub.ID, err)
	}
	if stored > 0 {
		f.notify(sub.ID)
	}
	return nil
}

// Prune removes the change-log entries stored longer ago than
// Config.Retention (see Store.Prune), and returns how many. Run it
// periodically; it is idempotent and safe on every replica.
func (f *Feed) Prune(ctx context.Context) (int64, error) {
	if f.cfg.Retention < 0 {
		return 0, nil
	}
	n, err := f.cfg.Store.Prune(ctx, time.Now().Add(-f.retention()))
	if err != nil {
		return 0, fmt.Errorf("prune feeds: %w", err)
	}
	if n > 0 {
		f.logger.InfoContext(ctx, "pruned feed change logs", "entries", n, "retention", f.retention())
	}
	return n, nil
}

func (f *Feed) retention() time.Duration {
	if f.cfg.Retention == 0 {
		return DefaultRetention
	}
	return f.cfg.Retention
}

// Clear empties sub's feed (implementing the pipeline's Rebuilder), for a
// reshaped subscription: after a narrowing its stored events hold fields,
// or shielded attributes of protected identities, it may no longer
// receive; after a widening they lack what it may now receive. The
// pipeline then stores the state topic's snapshot again, projected the
// new way. Positions keep growing, so a reader following /changes
// receives the rebuilt records after its cursor (replacing what it holds
// with the new state), and a new snapshot holds only rebuilt records.
// What a reader fetched before is its own. The shape the feed was built
// for is forgotten until Built.
func (f *Feed) Clear(ctx context.Context, sub client.Subscription) error {
	if err := f.cfg.Store.Purge(ctx, sub.ID); err != nil {
		return fmt.Errorf("clear feed of %s: %w", sub.ID, err)
	}
	if err := f.cfg.Store.SetShape(ctx, sub.ID, ""); err != nil {
		return fmt.Errorf("clear feed of %s: %w", sub.ID, err)
	}
	f.notify(sub.ID)
	return nil
}

// Built records that sub's feed is filled for sub's projection: its
// approved fields and whether it receives protected identities' shielded
// attributes (the pipeline's Rebuilder).
func (f *Feed) Built(ctx context.Context, sub client.Subscription) error {
	if err := f.cfg.Store.SetShape(ctx, sub.ID, Shape(sub)); err != nil {
		return fmt.Errorf("feed of %s: %w", sub.ID, err)
	}
	return nil
}

// Current reports whether sub's feed was built for sub's projection
// (the pipeline's Rebuilder). It is false for a feed recorded as Built for
// another projection (a reshaping saved before the process stopped), for
// one never Built that holds nothing, and for one purged and not filled
// again (its head past zero, its log empty), which a crash between Clear
// and the pipeline's consumer-group reset leaves. A feed stored before
// shapes were recorded counts as current.
func (f *Feed) Current(ctx context.Context, sub client.Subscription) (bool, error) {
	shape, err := f.cfg.Store.Shape(ctx, sub.ID)
	if err != nil {
		return false, fmt.Errorf("feed of %s: %w", sub.ID, err)
	}
	if shape != "" && shape != Shape(sub) {
		return false, nil
	}
	head, err := f.cfg.Store.Head(ctx, sub.ID)
	if err != nil {
		return false, fmt.Errorf("feed of %s: %w", sub.ID, err)
	}
	if head == 0 {
		return shape != "", nil
	}
	first, err := f.cfg.Store.Changes(ctx, sub.ID, 0, 1)
	if err != nil {
		return false, fmt.Errorf("feed of %s: %w", sub.ID, err)
	}
	return len(first) > 0, nil
}

// Shape names what a subscription's feed holds of each record: its
// approved fields, sorted, and whether shielded attributes of protected
// identities are included.
func Shape(sub client.Subscription) string {
	fields := slices.Clone(sub.ApprovedFields)
	slices.Sort(fields)
	fields = slices.Compact(fields)
	return fmt.Sprintf("fields=%s;protected=%t", strings.Join(fields, ","), sub.ProtectedApproved)
}

// toEntry checks ev against the channel.Event contract and makes its entry.
func toEntry(sub client.Subscription, ev channel.Event) (Entry, error) {
	if err := checkEvent(sub, ev); err != nil {
		return Entry{}, err
	}
	var state json.RawMessage
	if ev.Type != channel.TypeErased {
		b, err := json.Marshal(ev.State)
		if err != nil {
			return Entry{}, fmt.Errorf("encode state of %s: %w", ev.Key, err)
		}
		state = b
	}
	concept := ev.Concept
	if concept == "" {
		concept = sub.Concept
	}
	return Entry{SubscriptionID: sub.ID, Concept: concept, Key: ev.Key, EventID: ev.EventID,
		Type: ev.Type, Time: ev.Time, Revision: ev.Revision, EndedAt: ev.EndedAt, State: state, Trace: ev.Trace, Withheld: ev.Withheld}, nil
}

func checkEvent(sub client.Subscription, ev channel.Event) error {
	var errs []error
	if sub.ID == "" {
		errs = append(errs, errors.New("subscription id: is required"))
	}
	if ev.SubscriptionID != "" && ev.SubscriptionID != sub.ID {
		errs = append(errs, fmt.Errorf("SubscriptionID: %q is not the subscription's id %q", ev.SubscriptionID, sub.ID))
	}
	if ev.Key == "" {
		errs = append(errs, errors.New("Key: is required"))
	}
	if ev.EventID == "" {
		errs = append(errs, errors.New("EventID: is required"))
	}
	switch ev.Type {
	case channel.TypeChanged, channel.TypeEnded:
		if ev.State == nil {
			errs = append(errs, fmt.Errorf("State: is required for a %s event", ev.Type))
		}
	case channel.TypeErased:
		if ev.State != nil {
			errs = append(errs, errors.New("State: must be nil for an erased event"))
		}
	default:
		errs = append(errs, fmt.Errorf("Type: %q is not changed, ended or erased", ev.Type))
	}
	return errors.Join(errs...)
}

// waiter returns the channel the next stored event of sub closes. Take
// it before reading the store, so an event stored in between is not missed.
func (f *Feed) waiter(sub string) <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch, ok := f.wake[sub]
	if !ok {
		ch = make(chan struct{})
		f.wake[sub] = ch
	}
	return ch
}

func (f *Feed) notify(sub string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ch, ok := f.wake[sub]; ok {
		close(ch)
		delete(f.wake, sub)
	}
}
