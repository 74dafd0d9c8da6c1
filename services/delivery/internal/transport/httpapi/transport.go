// Package httpapi is the subscription REST API: decode → service →
// encode, with one error encoder mapping the closed set of codes to HTTP
// statuses. No business rules live here.
//
//	POST /api/v1/subscriptions                 request (a system for itself)
//	GET  /api/v1/subscriptions?system=&concept=&status=&limit=&cursor=   a page; "next" is the next page's cursor
//	GET  /api/v1/subscriptions/{id}
//	GET  /api/v1/subscriptions/{id}/history
//	POST /api/v1/subscriptions/{id}/approve    {fields, protectedIdentities, reason}
//	POST /api/v1/subscriptions/{id}/reject     {reason}
//	POST /api/v1/subscriptions/{id}/revoke     {reason}
//	GET  /api/v1/subscriptions/{id}/acls       Kafka ACLs of the view topic
//
// Mounted beside them (see delivery.go): the webhook API
// (/api/v1/subscriptions/{id}/webhook...), the pull feed (/api/v1/feeds/),
// GET /api/v1/subscriptions/{id}/lag (package lag) and
// GET /api/v1/deliveries/recent?after=&limit=&wait= (package recent).
package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/go-kit/kit/endpoint"
	kithttp "github.com/go-kit/kit/transport/http"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/daemon"
	"github.com/samnav/samnav/pkg/httproute"
	"github.com/samnav/samnav/pkg/paging"
	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/delivery/internal/subscription"
)

// Options configures NewHandler.
type Options struct {
	Authenticator auth.Authenticator
	Logger        *slog.Logger
	// KafkaBootstrap is named in exported kafka-acls commands.
	KafkaBootstrap string
	// Mounts are further handlers (the webhook and feed APIs) served on
	// the same mux, behind the same authentication, by pattern.
	Mounts []Mount
}

// Mount is a handler served under Pattern (a net/http mux pattern).
type Mount struct {
	Pattern string
	Handler http.Handler
}

// maxBody bounds request bodies.
const maxBody = 1 << 20

// NewHandler returns the API on svc, authenticating every request.
func NewHandler(svc subscription.Service, o Options) http.Handler {
	e := MakeEndpoints(svc, o.KafkaBootstrap)
	wr := apierr.NewWriter(o.Logger)
	opts := []kithttp.ServerOption{kithttp.ServerBefore(apierr.RequestContext), kithttp.ServerErrorEncoder(wr.EncodeError)}
	h := func(ep endpoint.Endpoint, dec kithttp.DecodeRequestFunc, status int) http.Handler {
		return kithttp.NewServer(ep, dec, encoder(status), opts...)
	}
	mux := httproute.New()
	mux.AnswerUnmatched(wr)
	mux.Handle("POST /api/v1/subscriptions", h(e.Request, decodeRequest, http.StatusCreated))
	mux.Handle("GET /api/v1/subscriptions", h(e.List, decodeList, http.StatusOK))
	mux.Handle("GET /api/v1/subscriptions/{id}", h(e.Get, decodeID, http.StatusOK))
	mux.Handle("GET /api/v1/subscriptions/{id}/history", h(e.History, decodeID, http.StatusOK))
	mux.Handle("GET /api/v1/subscriptions/{id}/acls", h(e.ACLs, decodeID, http.StatusOK))
	mux.Handle("POST /api/v1/subscriptions/{id}/approve", h(e.Approve, decodeDecision, http.StatusOK))
	mux.Handle("POST /api/v1/subscriptions/{id}/reject", h(e.Reject, decodeDecision, http.StatusOK))
	mux.Handle("POST /api/v1/subscriptions/{id}/revoke", h(e.Revoke, decodeDecision, http.StatusOK))
	for _, m := range o.Mounts {
		mux.Handle(m.Pattern, m.Handler)
	}
	return httproute.Listing(auth.Middleware(o.Authenticator, func(w http.ResponseWriter, r *http.Request, err error) {
		wr.Write(w, r, apierr.Unauthorized("authentication failed").Wrap(err))
	})(daemon.RecordRoute(mux)), mux)
}

func decodeJSON(r *http.Request, v any) error {
	return apierr.DecodeJSON(r, v, apierr.MaxBody(maxBody), apierr.DisallowUnknownFields())
}

func decodeRequest(_ context.Context, r *http.Request) (any, error) {
	var req client.Request
	return req, decodeJSON(r, &req)
}

// DecodeRequest decodes a subscription request body (exported for the
// fuzz target).
func DecodeRequest(r *http.Request) (client.Request, error) {
	v, err := decodeRequest(r.Context(), r)
	return v.(client.Request), err
}

// decodeList reads ?system=&concept=&status= and the page: limit (default
// subscription.DefaultPageSize, at most MaxPageSize) and cursor (the
// previous page's next), paged as master data's lists are.
func decodeList(_ context.Context, r *http.Request) (any, error) {
	q := r.URL.Query()
	page, fields := paging.Parse(q, subscription.MaxPageSize)
	if len(fields) > 0 {
		return nil, apierr.Invalid("the query is invalid", fields...)
	}
	return listRequest{subscription.Filter{System: q.Get("system"), Concept: q.Get("concept"), Status: client.Status(q.Get("status")),
		Limit: page.Limit, After: page.After}}, nil
}

func decodeID(_ context.Context, r *http.Request) (any, error) {
	return idRequest{r.PathValue("id")}, nil
}

func decodeDecision(_ context.Context, r *http.Request) (any, error) {
	d := decisionRequest{ID: r.PathValue("id")}
	return d, decodeJSON(r, &d.Decision)
}

func encoder(status int) kithttp.EncodeResponseFunc {
	return func(_ context.Context, w http.ResponseWriter, v any) error {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		return json.NewEncoder(w).Encode(v)
	}
}
