// Package webhook is the signed-webhook channel of the delivery service:
// it accepts projected events from the pipeline (Channel.Deliver), keeps
// them in a durable per-endpoint queue, and a dispatcher pool posts them
// to each subscription's endpoint following the Standard Webhooks spec
// (webhook-id, webhook-timestamp, webhook-signature: v1 HMAC-SHA256 with
// every active secret, so secrets rotate without downtime).
//
// Delivery promises:
//   - at least once: a message leaves the queue only after a 2xx, after
//     its retry schedule is exhausted (it is then "failed" and can be
//     redelivered by hand), and stays queued while its endpoint is
//     disabled;
//   - per record key in order: a message is not sent while an earlier
//     message of the same key to the same endpoint is pending; other keys
//     are not held up;
//   - the same webhook-id (the event id) on every attempt, so receivers
//     deduplicate;
//   - never to a loopback, link-local, private, metadata, unspecified,
//     multicast or reserved address unless AddressPolicy allows it,
//     checked at registration and on every connection.
package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/pkg/sdk/envelope"
	"github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/delivery/internal/channel"
)

// DefaultSchedule is the wait before each retry after a failed attempt:
// the first attempt is immediate, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h
// and 10 h (about 28 h in all), after Standard Webhooks and Svix.
var DefaultSchedule = []time.Duration{
	5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour,
	5 * time.Hour, 10 * time.Hour, 10 * time.Hour,
}

// DisablePolicy says when prolonged failure disables an endpoint: when
// every attempt for at least After has failed and at least Failures
// attempts in a row have failed. A zero field is no condition; both zero
// never disables.
type DisablePolicy struct {
	After    time.Duration
	Failures int
}

func (p DisablePolicy) exceeded(ep Endpoint, now time.Time) bool {
	if p.After <= 0 && p.Failures <= 0 {
		return false
	}
	if ep.ConsecutiveFailures == 0 || ep.FailingSince.IsZero() {
		return false
	}
	if p.After > 0 && now.Sub(ep.FailingSince) < p.After {
		return false
	}
	return p.Failures <= 0 || ep.ConsecutiveFailures >= p.Failures
}

// Config configures a Service. Store, Subscriptions, Model and Schemas
// are required; every other zero field takes the default its comment
// names.
type Config struct {
	Store Store
	// Subscriptions looks a subscription up at every attempt: what is
	// sent is projected with the subscription as it is then, and nothing
	// is sent for one that no longer delivers.
	Subscriptions SubscriptionFunc
	// Model and Schemas (concept id to generated Avro schema) are what the
	// projections are built from, as the pipeline's are.
	Model   *model.Model
	Schemas map[string]string
	// Protected tells whether a referenced record (the person an employee
	// refers to) is a protected identity now, for records of a concept
	// with protecting references (model.Attribute.Protection); nil counts
	// every such reference as protected (when in doubt, withhold).
	Protected func(ctx context.Context, concept, id string) (bool, error)
	// Addresses decides where webhooks may go (zero: public only).
	Addresses AddressPolicy
	// Schedule is the wait before each retry (DefaultSchedule); a message
	// gets len(Schedule)+1 attempts.
	Schedule []time.Duration
	// Jitter spreads each retry wait by up to ±Jitter of it (0: none;
	// 0.1 is a good production value).
	Jitter float64
	// Timeout bounds one attempt, connect to last response byte (15 s).
	Timeout time.Duration
	// Workers is the number of attempts in flight at once (16).
	Workers int
	// PollInterval is the longest the dispatcher sleeps without looking
	// at the queue (1 s); a Deliver or a finished attempt wakes it sooner.
	PollInterval time.Duration
	// Disable disables endpoints after prolonged failure
	// (5 days of failing attempts).
	Disable DisablePolicy
	// RotationOverlap is how long a replaced secret keeps signing (24 h).
	RotationOverlap time.Duration
	Logger          *slog.Logger
	// Now is the clock (time.Now).
	Now func() time.Time
	// MeterProvider receives the attempt metrics (see metrics); nil means
	// none.
	MeterProvider metric.MeterProvider
}

func (c *Config) defaults() error {
	var missing []string
	if c.Store == nil {
		missing = append(missing, "Store")
	}
	if c.Subscriptions == nil {
		missing = append(missing, "Subscriptions")
	}
	if c.Model == nil {
		missing = append(missing, "Model")
	}
	if c.Schemas == nil {
		missing = append(missing, "Schemas")
	}
	if len(missing) > 0 {
		return fmt.Errorf("new webhook service: %s required", strings.Join(missing, ", "))
	}
	if c.Schedule == nil {
		c.Schedule = DefaultSchedule
	}
	if c.Timeout <= 0 {
		c.Timeout = 15 * time.Second
	}
	if c.Workers <= 0 {
		c.Workers = 16
	}
	if c.PollInterval <= 0 {
		c.PollInterval = time.Second
	}
	if c.Disable == (DisablePolicy{}) {
		c.Disable = DisablePolicy{After: 5 * 24 * time.Hour}
	}
	if c.RotationOverlap <= 0 {
		c.RotationOverlap = 24 * time.Hour
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Logger = c.Logger.With("component", "webhook")
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// Service is the webhook channel: endpoint management, the Channel the
// pipeline delivers to, and (Run) the dispatcher. Its methods are safe for
// concurrent use.
type Service struct {
	cfg         Config
	projections *projections
	client      *http.Client
	wake        chan struct{}
	metrics     *metrics
}

var _ channel.Channel = (*Service)(nil)

// New returns a Service; call Run to start sending.
func New(cfg Config) (*Service, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	tr := &http.Transport{
		// No proxy: a proxy would dial on our behalf, past the address policy.
		Proxy:                 nil,
		DialContext:           cfg.Addresses.dialer(cfg.Timeout),
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   cfg.Workers,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: cfg.Timeout,
	}
	client := &http.Client{
		Transport: tr,
		Timeout:   cfg.Timeout,
		// 3xx is a failure (Standard Webhooks): the owner updates the URL.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	m, err := newMetrics(cfg.MeterProvider)
	if err != nil {
		return nil, fmt.Errorf("new webhook service: metrics: %w", err)
	}
	ps := &projections{model: cfg.Model, schemas: cfg.Schemas, bySub: map[string]shaped{}}
	return &Service{cfg: cfg, projections: ps, client: client, wake: make(chan struct{}, 1), metrics: m}, nil
}

// HTTPClient returns the client the dispatcher sends with: the address
// policy applied at dial time, no proxy, no redirects, Config.Timeout.
// For benchmarks and diagnostics that must use the same client.
func (s *Service) HTTPClient() *http.Client { return s.client }

func (s *Service) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Envelope is the JSON body of every webhook.
type Envelope struct {
	// Type is envelope.EventType(concept, changed | ended | erased).
	Type string `json:"type"`
	// ID is the event id, also sent as webhook-id.
	ID string `json:"id"`
	// Time is when the change was committed.
	Time time.Time `json:"time"`
	// Subject is the record's opaque id (the record key).
	Subject      string     `json:"subject"`
	Subscription string     `json:"subscription"`
	Revision     int64      `json:"revision"`
	EndedAt      *time.Time `json:"endedAt,omitempty"`
	// Data is the projected record; null for erased. (In a queued
	// Message's Body it is the unprojected record, see Message.Body.)
	Data map[string]any `json:"data"`
}

func eventError(field, rule, format string, args ...any) error {
	e := invalidf(field, rule, format, args...)
	return fmt.Errorf("deliver event: %w", e)
}

// Deliver implements channel.Channel: it stores the event in the
// endpoint's durable queue and returns; the dispatcher sends it. What is
// queued is the event with its unprojected state (ev.Source, which is
// required), stored encrypted; every attempt projects it again (see
// project), so a narrowing or a protection that comes later applies to
// retries and redeliveries too. An event
// already queued (same EventID) is accepted again without a second copy.
// A subscription without an endpoint gets a not_found error, so the
// pipeline offers the event again once the owner has registered one.
func (s *Service) Deliver(ctx context.Context, sub client.Subscription, ev channel.Event) error {
	m, err := s.message(sub, ev, s.cfg.Now())
	if err != nil {
		return err
	}
	if _, _, err := s.cfg.Store.Enqueue(ctx, m); err != nil {
		return fmt.Errorf("enqueue event %s: %w", ev.EventID, err)
	}
	s.poke()
	return nil
}

// DeliverBatch is Deliver for many events of sub at once (the pipeline's
// Batcher): it checks every event first and refuses the whole batch,
// queueing nothing, if any breaks Deliver's rules (the error names each
// such event by its index); otherwise it queues them in their order in one
// transaction, all or none, so a batch costs one durable commit. An event
// already queued, or repeated within evs, is queued once. It returns nil
// only once every event is durably queued.
func (s *Service) DeliverBatch(ctx context.Context, sub client.Subscription, evs []channel.Event) error {
	if len(evs) == 0 {
		return nil
	}
	now := s.cfg.Now()
	ms, err := channel.ConvertBatch(evs, func(ev channel.Event) (Message, error) { return s.message(sub, ev, now) })
	if err != nil {
		return fmt.Errorf("deliver batch to webhook of %s: %w", sub.ID, err)
	}
	if _, err := s.cfg.Store.EnqueueBatch(ctx, ms); err != nil {
		return fmt.Errorf("enqueue batch of %d events for %s: %w", len(ms), sub.ID, err)
	}
	s.poke()
	return nil
}

// message checks ev against Deliver's rules and makes its queued message.
func (s *Service) message(sub client.Subscription, ev channel.Event, now time.Time) (Message, error) {
	if !sub.Delivering() {
		return Message{}, fmt.Errorf("deliver event: %w", apierr.Errorf(apierr.CodeForbidden, "subscription %s is %s, not approved", sub.ID, sub.Status))
	}
	if ev.EventID == "" || strings.ContainsAny(ev.EventID, ". \t\r\n") {
		return Message{}, eventError("eventId", "format", "event id %q must be non-empty, without '.' or spaces", ev.EventID)
	}
	if ev.Key == "" {
		return Message{}, eventError("key", "required", "event %s has no record key", ev.EventID)
	}
	switch ev.Type {
	case channel.TypeChanged, channel.TypeEnded, channel.TypeErased:
	default:
		return Message{}, eventError("type", "enum", "event %s has type %q, not changed, ended or erased", ev.EventID, ev.Type)
	}
	if ev.Type != channel.TypeErased && ev.Source == nil {
		return Message{}, eventError("source", "required", "event %s has no unprojected state to project at send time", ev.EventID)
	}
	concept := ev.Concept
	if concept == "" {
		concept = sub.Concept
	}
	env := Envelope{
		Type: envelope.EventType(concept, envelope.Kind(ev.Type)), ID: ev.EventID, Time: ev.Time.UTC(),
		Subject: ev.Key, Subscription: sub.ID, Revision: ev.Revision, EndedAt: ev.EndedAt, Data: ev.Source,
	}
	if ev.Type == channel.TypeErased {
		env.Data = nil
	}
	body, err := json.Marshal(env)
	if err != nil {
		return Message{}, fmt.Errorf("encode event %s: %w", ev.EventID, err)
	}
	return Message{
		SubscriptionID: sub.ID, EventID: ev.EventID, Key: ev.Key, Type: env.Type,
		Body: body, Trace: ev.Trace, CreatedAt: now, NextAttemptAt: now,
	}, nil
}

// RegisterRequest registers a subscription's endpoint.
type RegisterRequest struct {
	SubscriptionID string
	// Owner is the system that owns the endpoint (the subscription's).
	Owner string
	URL   string
	// Secret is the first signing secret in whsec_ form; "" generates one.
	Secret string
}

// Register creates a subscription's endpoint after checking its URL
// against the address policy. It returns the endpoint and the signing
// secret, which the owner configures on the receiver.
func (s *Service) Register(ctx context.Context, r RegisterRequest) (Endpoint, Secret, error) {
	if r.SubscriptionID == "" {
		return Endpoint{}, Secret{}, invalidf("subscriptionId", "required", "a subscription id is required")
	}
	u, err := s.cfg.Addresses.CheckURL(ctx, r.URL)
	if err != nil {
		return Endpoint{}, Secret{}, fmt.Errorf("register endpoint: %w", err)
	}
	sec, err := s.secret(r.Secret)
	if err != nil {
		return Endpoint{}, Secret{}, fmt.Errorf("register endpoint: %w", err)
	}
	now := s.cfg.Now()
	ep := Endpoint{SubscriptionID: r.SubscriptionID, URL: u.String(), Owner: r.Owner, Status: StatusEnabled, CreatedAt: now, UpdatedAt: now}
	if err := s.cfg.Store.CreateEndpoint(ctx, ep, sec); err != nil {
		return Endpoint{}, Secret{}, fmt.Errorf("register endpoint: %w", err)
	}
	ep, err = s.cfg.Store.GetEndpoint(ctx, r.SubscriptionID)
	if err != nil {
		return Endpoint{}, Secret{}, fmt.Errorf("register endpoint: %w", err)
	}
	s.cfg.Logger.InfoContext(ctx, "webhook endpoint registered", "subscription", r.SubscriptionID, "url", ep.URL)
	return ep, sec, nil
}

func (s *Service) secret(raw string) (Secret, error) {
	if raw == "" {
		return GenerateSecret()
	}
	return ParseSecret(raw)
}

// UpdateURL points an endpoint at a new URL, checked like at registration.
func (s *Service) UpdateURL(ctx context.Context, subscriptionID, rawURL string) (Endpoint, error) {
	u, err := s.cfg.Addresses.CheckURL(ctx, rawURL)
	if err != nil {
		return Endpoint{}, fmt.Errorf("update endpoint: %w", err)
	}
	if err := s.cfg.Store.UpdateEndpointURL(ctx, subscriptionID, u.String(), s.cfg.Now()); err != nil {
		return Endpoint{}, fmt.Errorf("update endpoint: %w", err)
	}
	return s.Endpoint(ctx, subscriptionID)
}

// Endpoint returns a subscription's endpoint.
func (s *Service) Endpoint(ctx context.Context, subscriptionID string) (Endpoint, error) {
	ep, err := s.cfg.Store.GetEndpoint(ctx, subscriptionID)
	if err != nil {
		return Endpoint{}, fmt.Errorf("get endpoint: %w", err)
	}
	return ep, nil
}

// RotateSecret adds a new signing secret (raw in whsec_ form, or ""
// to generate one). Every older secret keeps signing for overlap
// (Config.RotationOverlap if 0) and then expires, so receivers can switch
// secrets without missing a message. It returns the new secret and when
// the old ones stop.
func (s *Service) RotateSecret(ctx context.Context, subscriptionID, raw string, overlap time.Duration) (Secret, time.Time, error) {
	sec, err := s.secret(raw)
	if err != nil {
		return Secret{}, time.Time{}, fmt.Errorf("rotate secret: %w", err)
	}
	if overlap <= 0 {
		overlap = s.cfg.RotationOverlap
	}
	now := s.cfg.Now()
	until := now.Add(overlap)
	if err := s.cfg.Store.AddSecret(ctx, subscriptionID, sec, now, until); err != nil {
		return Secret{}, time.Time{}, fmt.Errorf("rotate secret: %w", err)
	}
	s.cfg.Logger.InfoContext(ctx, "webhook secret rotated", "subscription", subscriptionID, "old_until", until)
	return sec, until, nil
}

// Enable re-enables an endpoint and resumes its backlog: every pending
// message becomes due now with a fresh retry schedule.
func (s *Service) Enable(ctx context.Context, subscriptionID string) error {
	if err := s.cfg.Store.SetStatus(ctx, subscriptionID, StatusEnabled, "", s.cfg.Now()); err != nil {
		return fmt.Errorf("enable endpoint: %w", err)
	}
	s.cfg.Logger.InfoContext(ctx, "webhook endpoint enabled", "subscription", subscriptionID)
	s.poke()
	return nil
}

// Disable stops sending to an endpoint; events keep queueing.
func (s *Service) Disable(ctx context.Context, subscriptionID string) error {
	return s.disable(ctx, subscriptionID, ReasonOwner)
}

func (s *Service) disable(ctx context.Context, subscriptionID, reason string) error {
	if err := s.cfg.Store.SetStatus(ctx, subscriptionID, StatusDisabled, reason, s.cfg.Now()); err != nil {
		return fmt.Errorf("disable endpoint: %w", err)
	}
	s.cfg.Logger.WarnContext(ctx, "webhook endpoint disabled", "subscription", subscriptionID, "reason", reason)
	return nil
}

// Attempts returns an endpoint's delivery log, newest first.
func (s *Service) Attempts(ctx context.Context, subscriptionID string, f AttemptFilter) ([]Attempt, error) {
	if _, err := s.cfg.Store.GetEndpoint(ctx, subscriptionID); err != nil {
		return nil, fmt.Errorf("list attempts: %w", err)
	}
	as, err := s.cfg.Store.ListAttempts(ctx, subscriptionID, f)
	if err != nil {
		return nil, fmt.Errorf("list attempts: %w", err)
	}
	return as, nil
}

// Message returns one queued or logged message of an endpoint.
func (s *Service) Message(ctx context.Context, subscriptionID string, id int64) (Message, error) {
	m, err := s.cfg.Store.GetMessage(ctx, subscriptionID, id)
	if err != nil {
		return Message{}, fmt.Errorf("get message: %w", err)
	}
	return m, nil
}

// Redeliver sends a logged message again (same webhook-id, fresh
// timestamp and signatures) with a fresh retry schedule, whatever its
// state; it keeps its place in its key's order. What it sends is the
// message projected again then, like every attempt (see project): the
// subscription's current fields, the record's current protection, and
// nothing while the subscription does not deliver.
func (s *Service) Redeliver(ctx context.Context, subscriptionID string, id int64) error {
	if err := s.cfg.Store.Redeliver(ctx, subscriptionID, id, s.cfg.Now()); err != nil {
		return fmt.Errorf("redeliver message: %w", err)
	}
	s.poke()
	return nil
}
