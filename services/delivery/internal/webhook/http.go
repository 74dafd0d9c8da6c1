package webhook

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/httproute"
	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/delivery/internal/subscription"
)

// HandlerConfig configures Handler.
type HandlerConfig struct {
	Service *Service
	// Subscription looks up a subscription by id; its errors may be
	// *apierr.Error (not_found for an unknown id).
	Subscription func(ctx context.Context, id string) (client.Subscription, error)
	// Authorize decides whether the principal (nil if anonymous) may
	// manage sub's endpoint; nil means DefaultAuthorize.
	Authorize func(ctx context.Context, p *auth.Principal, sub client.Subscription) error
	Logger    *slog.Logger
}

// DefaultAuthorize lets an admin, and the system that owns the
// subscription (subscription.SystemOf: the system its grant speaks for,
// not whatever its token's subject is called), manage its endpoint. A
// caller who may read the subscription is refused (403); to anyone else
// it does not exist (404), as on the subscription API.
func DefaultAuthorize(_ context.Context, p *auth.Principal, sub client.Subscription) error {
	if p == nil {
		return apierr.Unauthorized("managing a webhook endpoint needs an API token").Wrap(auth.ErrUnauthenticated)
	}
	if p.Can(auth.ActionAdmin, auth.AnyConcept) || subscription.SystemOf(p) == sub.System {
		return nil
	}
	if !subscription.Readable(p, sub) {
		return apierr.Errorf(apierr.CodeNotFound, "subscription %s not found", sub.ID).Wrap(auth.ErrForbidden)
	}
	return apierr.Errorf(apierr.CodeForbidden, "%s does not own subscription %s", p, sub.ID).Wrap(auth.ErrForbidden)
}

// Handler serves the endpoint-management API, with paths relative to
// where the integrator mounts it (principals come from auth.Middleware
// in front of it):
//
//	PUT  /subscriptions/{id}/webhook                       {"url", "secret"?} register (201, returns the secret) or change the URL (200)
//	GET  /subscriptions/{id}/webhook                       the endpoint
//	POST /subscriptions/{id}/webhook/rotate                {"secret"?, "overlapSeconds"?} new secret; the old ones sign until oldUntil
//	POST /subscriptions/{id}/webhook/enable                re-enable and resume the backlog
//	POST /subscriptions/{id}/webhook/disable               stop sending; events keep queueing
//	GET  /subscriptions/{id}/webhook/attempts?message=&before=&limit=   the delivery log, newest first
//	GET  /subscriptions/{id}/webhook/messages/{msg}        one message's state
//	POST /subscriptions/{id}/webhook/messages/{msg}/redeliver   send it again
//
// Errors are RFC 9457 problem+json (apierr), field problems in "fields".
func Handler(cfg HandlerConfig) http.Handler {
	if cfg.Authorize == nil {
		cfg.Authorize = DefaultAuthorize
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	h := &handler{cfg: cfg}
	mux := httproute.New()
	mux.AnswerUnmatched(apierr.NewWriter(cfg.Logger))
	mux.HandleFunc("PUT /subscriptions/{id}/webhook", h.serve(h.put))
	mux.HandleFunc("GET /subscriptions/{id}/webhook", h.serve(h.get))
	mux.HandleFunc("POST /subscriptions/{id}/webhook/rotate", h.serve(h.rotate))
	mux.HandleFunc("POST /subscriptions/{id}/webhook/enable", h.serve(h.setStatus(cfg.Service.Enable)))
	mux.HandleFunc("POST /subscriptions/{id}/webhook/disable", h.serve(h.setStatus(cfg.Service.Disable)))
	mux.HandleFunc("GET /subscriptions/{id}/webhook/attempts", h.serve(h.attempts))
	mux.HandleFunc("GET /subscriptions/{id}/webhook/messages/{msg}", h.serve(h.message))
	mux.HandleFunc("POST /subscriptions/{id}/webhook/messages/{msg}/redeliver", h.serve(h.redeliver))
	return mux
}

type handler struct{ cfg HandlerConfig }

// authorized loads the path's subscription and checks the caller may
// manage it.
func (h *handler) authorized(r *http.Request) (client.Subscription, error) {
	sub, err := h.cfg.Subscription(r.Context(), r.PathValue("id"))
	if err != nil {
		return client.Subscription{}, err
	}
	if err := h.cfg.Authorize(r.Context(), auth.FromContext(r.Context()), sub); err != nil {
		return client.Subscription{}, err
	}
	return sub, nil
}

// operation is one request on an authorized subscription: it answers
// the status and the body to encode as JSON, or the error to answer.
type operation func(r *http.Request, sub client.Subscription) (int, any, error)

// serve answers op on the path's subscription once the caller may manage
// it: the one place a request here becomes an HTTP answer.
func (h *handler) serve(op operation) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sub, err := h.authorized(r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		status, body, err := op(r, sub)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		writeJSON(w, status, body)
	}
}

// decode reads an optional JSON body of at most 64 KiB into v.
func decode(r *http.Request, v any) error {
	return apierr.DecodeJSON(r, v, apierr.MaxBody(64<<10), apierr.Optional())
}

// endpointView is ep as the API shows it: never its stored secrets; secret
// is set only in the answer that created it, oldUntil (when the replaced
// secrets stop signing) only in a rotation's.
func endpointView(ep Endpoint, secret string, oldUntil time.Time) client.Endpoint {
	return client.Endpoint{
		SubscriptionID: ep.SubscriptionID, URL: ep.URL, Owner: ep.Owner,
		Status: string(ep.Status), DisabledReason: ep.DisabledReason, DisabledAt: ep.DisabledAt,
		FailingSince: ep.FailingSince, ConsecutiveFailures: ep.ConsecutiveFailures,
		CreatedAt: ep.CreatedAt, UpdatedAt: ep.UpdatedAt, Secret: secret, OldUntil: oldUntil,
	}
}

// messageView is m as the API shows it: without its body, trace and lease.
func messageView(m Message) client.Message {
	return client.Message{
		ID: m.ID, SubscriptionID: m.SubscriptionID, EventID: m.EventID, Key: m.Key, Type: m.Type,
		CreatedAt: m.CreatedAt, State: string(m.State), Attempts: m.Attempts,
		NextAttemptAt: m.NextAttemptAt, LastError: m.LastError,
	}
}

func (h *handler) put(r *http.Request, sub client.Subscription) (int, any, error) {
	var req struct {
		URL    string `json:"url"`
		Secret string `json:"secret"`
	}
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	if sub.Channel != client.ChannelWebhook {
		return 0, nil, invalidf("channel", "webhook", "subscription %s delivers over %s, not webhook", sub.ID, sub.Channel)
	}
	_, err := h.cfg.Service.Endpoint(r.Context(), sub.ID)
	switch {
	case err == nil:
		ep, err := h.cfg.Service.UpdateURL(r.Context(), sub.ID, req.URL)
		return http.StatusOK, endpointView(ep, "", time.Time{}), err
	case apierr.CodeOf(err) == apierr.CodeNotFound:
		ep, sec, err := h.cfg.Service.Register(r.Context(), RegisterRequest{SubscriptionID: sub.ID, Owner: sub.System, URL: req.URL, Secret: req.Secret})
		if err != nil {
			return 0, nil, err
		}
		return http.StatusCreated, endpointView(ep, sec.String(), time.Time{}), nil
	default:
		return 0, nil, err
	}
}

func (h *handler) get(r *http.Request, sub client.Subscription) (int, any, error) {
	ep, err := h.cfg.Service.Endpoint(r.Context(), sub.ID)
	return http.StatusOK, endpointView(ep, "", time.Time{}), err
}

func (h *handler) rotate(r *http.Request, sub client.Subscription) (int, any, error) {
	var req struct {
		Secret         string `json:"secret"`
		OverlapSeconds int64  `json:"overlapSeconds"`
	}
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	if req.OverlapSeconds < 0 {
		return 0, nil, invalidf("overlapSeconds", "min", "overlapSeconds must not be negative")
	}
	sec, until, err := h.cfg.Service.RotateSecret(r.Context(), sub.ID, req.Secret, time.Duration(req.OverlapSeconds)*time.Second)
	if err != nil {
		return 0, nil, err
	}
	ep, err := h.cfg.Service.Endpoint(r.Context(), sub.ID)
	return http.StatusOK, endpointView(ep, sec.String(), until), err
}

// setStatus changes the endpoint's status with fn and answers the
// endpoint.
func (h *handler) setStatus(fn func(context.Context, string) error) operation {
	return func(r *http.Request, sub client.Subscription) (int, any, error) {
		if err := fn(r.Context(), sub.ID); err != nil {
			return 0, nil, err
		}
		return h.get(r, sub)
	}
}

func queryInt(r *http.Request, name string) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, invalidf(name, "integer", "%s must be a non-negative integer", name)
	}
	return n, nil
}

func (h *handler) attempts(r *http.Request, sub client.Subscription) (int, any, error) {
	var f AttemptFilter
	var limit int64
	for name, dst := range map[string]*int64{"message": &f.MessageID, "before": &f.BeforeID, "limit": &limit} {
		var err error
		if *dst, err = queryInt(r, name); err != nil {
			return 0, nil, err
		}
	}
	f.Limit = int(min(limit, 1000))
	as, err := h.cfg.Service.Attempts(r.Context(), sub.ID, f)
	if as == nil {
		as = []Attempt{}
	}
	return http.StatusOK, map[string]any{"attempts": as}, err
}

// messageID is the path's message id.
func messageID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("msg"), 10, 64)
	if err != nil || id <= 0 {
		return 0, invalidf("msg", "integer", "the message id must be a positive integer")
	}
	return id, nil
}

func (h *handler) message(r *http.Request, sub client.Subscription) (int, any, error) {
	id, err := messageID(r)
	if err != nil {
		return 0, nil, err
	}
	m, err := h.cfg.Service.Message(r.Context(), sub.ID, id)
	return http.StatusOK, messageView(m), err
}

func (h *handler) redeliver(r *http.Request, sub client.Subscription) (int, any, error) {
	id, err := messageID(r)
	if err != nil {
		return 0, nil, err
	}
	if err := h.cfg.Service.Redeliver(r.Context(), sub.ID, id); err != nil {
		return 0, nil, err
	}
	m, err := h.cfg.Service.Message(r.Context(), sub.ID, id)
	return http.StatusAccepted, messageView(m), err
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// fail answers err through apierr: the one place errors become HTTP
// answers here, a 5xx logged with its cause.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	apierr.NewWriter(h.cfg.Logger).Write(w, r, err)
}
