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
	"github.com/samnav/samnav/services/delivery/internal/subscription"
)

// HandlerConfig configures Handler.
type HandlerConfig struct {
	Service *Service
	// Subscription looks up a subscription by id; its errors may be
	// *apierr.Error (not_found for an unknown id).
	Subscription func(ctx context.Context, id string) (subscription.Subscription, error)
	// Authorize decides whether the principal (nil if anonymous) may
	// manage sub's endpoint; nil means DefaultAuthorize.
	Authorize func(ctx context.Context, p *auth.Principal, sub subscription.Subscription) error
	Logger    *slog.Logger
}

// DefaultAuthorize lets an admin, and the system that owns the
// subscription, manage its endpoint.
func DefaultAuthorize(_ context.Context, p *auth.Principal, sub subscription.Subscription) error {
	if p == nil {
		return apierr.Unauthorized("managing a webhook endpoint needs an API token").Wrap(auth.ErrUnauthenticated)
	}
	if p.Can(auth.ActionAdmin, auth.AnyConcept) || (p.Kind == auth.KindSystem && p.Subject == sub.System) {
		return nil
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
	mux.HandleFunc("PUT /subscriptions/{id}/webhook", h.put)
	mux.HandleFunc("GET /subscriptions/{id}/webhook", h.get)
	mux.HandleFunc("POST /subscriptions/{id}/webhook/rotate", h.rotate)
	mux.HandleFunc("POST /subscriptions/{id}/webhook/enable", h.enable)
	mux.HandleFunc("POST /subscriptions/{id}/webhook/disable", h.disable)
	mux.HandleFunc("GET /subscriptions/{id}/webhook/attempts", h.attempts)
	mux.HandleFunc("GET /subscriptions/{id}/webhook/messages/{msg}", h.message)
	mux.HandleFunc("POST /subscriptions/{id}/webhook/messages/{msg}/redeliver", h.redeliver)
	return mux
}

type handler struct{ cfg HandlerConfig }

// authorized loads the path's subscription and checks the caller may
// manage it.
func (h *handler) authorized(r *http.Request) (subscription.Subscription, error) {
	sub, err := h.cfg.Subscription(r.Context(), r.PathValue("id"))
	if err != nil {
		return subscription.Subscription{}, err
	}
	if err := h.cfg.Authorize(r.Context(), auth.FromContext(r.Context()), sub); err != nil {
		return subscription.Subscription{}, err
	}
	return sub, nil
}

// decode reads an optional JSON body of at most 64 KiB into v.
func decode(r *http.Request, v any) error {
	return apierr.DecodeJSON(r, v, apierr.MaxBody(64<<10), apierr.Optional())
}

// endpointView is an endpoint as the API shows it: never its secrets.
type endpointView struct {
	Endpoint
	// Secret is set only in the answer that created the secret.
	Secret string `json:"secret,omitempty"`
	// OldUntil is when the replaced secrets stop signing (rotate only).
	OldUntil time.Time `json:"oldUntil,omitzero"`
}

func (h *handler) put(w http.ResponseWriter, r *http.Request) {
	sub, err := h.authorized(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var req struct {
		URL    string `json:"url"`
		Secret string `json:"secret"`
	}
	if err := decode(r, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	if sub.Channel != subscription.ChannelWebhook {
		h.fail(w, r, invalidf("channel", "webhook", "subscription %s delivers over %s, not webhook", sub.ID, sub.Channel))
		return
	}
	_, err = h.cfg.Service.Endpoint(r.Context(), sub.ID)
	switch {
	case err == nil:
		ep, err := h.cfg.Service.UpdateURL(r.Context(), sub.ID, req.URL)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, endpointView{Endpoint: ep})
	case apierr.CodeOf(err) == apierr.CodeNotFound:
		ep, sec, err := h.cfg.Service.Register(r.Context(), RegisterRequest{SubscriptionID: sub.ID, Owner: sub.System, URL: req.URL, Secret: req.Secret})
		if err != nil {
			h.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, endpointView{Endpoint: ep, Secret: sec.String()})
	default:
		h.fail(w, r, err)
	}
}

func (h *handler) get(w http.ResponseWriter, r *http.Request) {
	sub, err := h.authorized(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ep, err := h.cfg.Service.Endpoint(r.Context(), sub.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, endpointView{Endpoint: ep})
}

func (h *handler) rotate(w http.ResponseWriter, r *http.Request) {
	sub, err := h.authorized(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var req struct {
		Secret         string `json:"secret"`
		OverlapSeconds int64  `json:"overlapSeconds"`
	}
	if err := decode(r, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	if req.OverlapSeconds < 0 {
		h.fail(w, r, invalidf("overlapSeconds", "min", "overlapSeconds must not be negative"))
		return
	}
	sec, until, err := h.cfg.Service.RotateSecret(r.Context(), sub.ID, req.Secret, time.Duration(req.OverlapSeconds)*time.Second)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ep, err := h.cfg.Service.Endpoint(r.Context(), sub.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, endpointView{Endpoint: ep, Secret: sec.String(), OldUntil: until})
}

func (h *handler) setStatus(w http.ResponseWriter, r *http.Request, fn func(context.Context, string) error) {
	sub, err := h.authorized(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := fn(r.Context(), sub.ID); err != nil {
		h.fail(w, r, err)
		return
	}
	h.get(w, r)
}

func (h *handler) enable(w http.ResponseWriter, r *http.Request) {
	h.setStatus(w, r, h.cfg.Service.Enable)
}

func (h *handler) disable(w http.ResponseWriter, r *http.Request) {
	h.setStatus(w, r, h.cfg.Service.Disable)
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

func (h *handler) attempts(w http.ResponseWriter, r *http.Request) {
	sub, err := h.authorized(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var f AttemptFilter
	var limit int64
	for name, dst := range map[string]*int64{"message": &f.MessageID, "before": &f.BeforeID, "limit": &limit} {
		if *dst, err = queryInt(r, name); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	f.Limit = int(min(limit, 1000))
	as, err := h.cfg.Service.Attempts(r.Context(), sub.ID, f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if as == nil {
		as = []Attempt{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"attempts": as})
}

func (h *handler) messageID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("msg"), 10, 64)
	if err != nil || id <= 0 {
		return 0, invalidf("msg", "integer", "the message id must be a positive integer")
	}
	return id, nil
}

func (h *handler) message(w http.ResponseWriter, r *http.Request) {
	sub, err := h.authorized(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	id, err := h.messageID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	m, err := h.cfg.Service.Message(r.Context(), sub.ID, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

func (h *handler) redeliver(w http.ResponseWriter, r *http.Request) {
	sub, err := h.authorized(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	id, err := h.messageID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.cfg.Service.Redeliver(r.Context(), sub.ID, id); err != nil {
		h.fail(w, r, err)
		return
	}
	m, err := h.cfg.Service.Message(r.Context(), sub.ID, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, m)
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
