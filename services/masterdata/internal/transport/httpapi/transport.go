// Package httpapi is the master data REST API: decode, call the
// Service's endpoint, encode. It holds no business rules; errors are
// mapped to HTTP statuses in one place, encodeError.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	kithttp "github.com/go-kit/kit/transport/http"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/auth/tokenapi"
	"github.com/samnav/samnav/pkg/daemon"
	"github.com/samnav/samnav/pkg/httproute"
	"github.com/samnav/samnav/pkg/openapi"
	"github.com/samnav/samnav/pkg/paging"
	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/services/masterdata/client"
	"github.com/samnav/samnav/services/masterdata/record"
)

// MaxBodyBytes bounds a request body.
const MaxBodyBytes = 4 << 20

// Options configures NewHandler.
type Options struct {
	Logger         *slog.Logger
	Authenticator  auth.Authenticator
	TracerProvider trace.TracerProvider
	// Tokens is the issuer whose tokens /api/v1/tokens manages (package
	// tokenapi); nil answers those routes 503.
	Tokens *auth.Tokens
	// TokenPolicy bounds the tokens issued there.
	TokenPolicy auth.TokenPolicy
}

// NewHandler returns the API:
//
//	POST   /api/v1/{concept}                           create (201, ETag)
//	GET    /api/v1/{concept}                           list: ?attr=value filters (not personal), q, limit, cursor, includeEnded
//	GET    /api/v1/{concept}/{id}                      read (ETag)
//	PUT    /api/v1/{concept}/{id}                      replace the state; If-Match required
//	POST   /api/v1/{concept}/{id}/end                  end: {"reason": ...}; If-Match optional
//	GET    /api/v1/{concept}/{id}/history              every change: who, when, system, reason, state after
//	GET    /api/v1/{concept}/{id}/reads                the read log: who was shown the record (admins, auditors)
//	GET    /api/v1/{concept}/by/{attribute}/{value}    natural-key lookup, for a key that is not personal data
//	POST   /api/v1/lookup/{concept}                    natural-key lookup, the key in the body: {"attribute", "value"}
//	POST   /api/v1/search/{concept}                    list with q and filters in the body (personal data never in a URL)
//	DELETE /api/v1/{concept}/{id}                      erase (admin): tombstone; reason in Samnav-Reason
//	POST   /api/v1/publish/{concept}                   batch from the concept's master system
//	GET    /api/v1/whoami                              the caller's principal (for the console's sign-in)
//	       /api/v1/tokens...                           API tokens (admin): issue, list, rotate, revoke, history (package tokenapi)
//	GET    /api/v1/openapi.json                        this API's OpenAPI 3.1 document (OpenAPI)
//
// Writes take an optional reason from the Samnav-Reason header (never the
// query string: a "reason" parameter is refused). Errors are RFC 9457 problem+json (apierr): a
// stale If-Match is 412 with the record as it is now in "current" and
// its ETag; an oversized body 413, a body that is not JSON 415.
func NewHandler(svc record.Service, m *model.Model, opts Options) http.Handler {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	eps := MakeEndpoints(svc, m, NewPublisher(svc, m, logger))
	wr := apierr.NewWriter(logger)
	serverOpts := []kithttp.ServerOption{kithttp.ServerBefore(apierr.RequestContext, readReason), kithttp.ServerErrorEncoder(errorEncoder(wr))}
	h := func(ep func(context.Context, any) (any, error), dec kithttp.DecodeRequestFunc, enc kithttp.EncodeResponseFunc) http.Handler {
		return kithttp.NewServer(ep, dec, enc, serverOpts...)
	}
	mux := httproute.New()
	mux.Handle("GET "+openapi.Path, openapi.Handler(OpenAPI(m)))
	mux.Handle("POST /api/v1/publish/{concept}", h(eps.Publish, decodePublish, encodeJSON))
	mux.Handle("POST /api/v1/{concept}", h(eps.Create, decodeCreate, encodeRecord))
	mux.Handle("GET /api/v1/{concept}", h(eps.List, noPersonalDataInURL(m, decodeList), encodeJSON))
	mux.Handle("POST "+SearchPath, h(eps.List, decodeSearch, encodeJSON))
	mux.Handle("POST "+LookupPath, h(eps.ByNaturalKey, decodeLookup, encodeRecord))
	mux.Handle("GET /api/v1/{concept}/{id}", h(eps.Get, decodeGet, encodeRecord))
	mux.Handle("PUT /api/v1/{concept}/{id}", h(eps.Update, decodeUpdate, encodeRecord))
	mux.Handle("DELETE /api/v1/{concept}/{id}", h(eps.Erase, decodeErase, encodeRecord))
	mux.Handle("POST /api/v1/{concept}/{id}/end", h(eps.End, decodeEnd, encodeRecord))
	mux.Handle("GET /api/v1/{concept}/{id}/history", h(eps.History, decodeGet, encodeJSON))
	mux.Handle("GET /api/v1/{concept}/{id}/reads", h(eps.Reads, decodeGet, encodeJSON))
	mux.Handle("GET /api/v1/{concept}/by/{attribute}/{value}", h(eps.ByNaturalKey, noPersonalDataInURL(m, decodeNaturalKey), encodeRecord))
	mux.HandleFunc("GET /api/v1/whoami", whoami)
	(&tokenapi.API{Tokens: opts.Tokens, Policy: opts.TokenPolicy, Errors: wr}).Register(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		wr.Write(w, r, apierr.NotFound("no route for this method and path"))
	})
	var handler = daemon.RecordRoute(mux)
	if opts.Authenticator != nil {
		handler = auth.Middleware(opts.Authenticator, func(w http.ResponseWriter, r *http.Request, err error) {
			wr.Write(w, r, apierr.Unauthorized(err.Error()).Wrap(err))
		})(handler)
	}
	return httproute.Listing(tracing(handler, opts.TracerProvider), mux)
}

// tracing continues the caller's trace (W3C traceparent) in a server span
// for each request, so that the change's event carries the trace on.
func tracing(next http.Handler, tp trace.TracerProvider) http.Handler {
	if tp == nil {
		tp = noop.NewTracerProvider()
	}
	tracer := tp.Tracer("github.com/samnav/samnav/services/masterdata")
	prop := propagation.TraceContext{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := tracer.Start(ctx, r.Method+" "+r.Pattern, trace.WithSpanKind(trace.SpanKindServer))
		defer span.End()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func invalid(field, rule, msg string) error { return apierr.InvalidField(field, rule, msg) }

// decodeBody decodes a JSON body into v, keeping numbers exact.
func decodeBody(r *http.Request, v any) error {
	return apierr.DecodeJSON(r, v, apierr.MaxBody(MaxBodyBytes))
}

// ReasonHeader carries the purpose of a request: why a record is read
// (an admin's reason makes the read break-glass), or why it is changed.
const ReasonHeader = "Samnav-Reason"

// readReason puts the request's purpose (ReasonHeader; never a query
// parameter, which would leave it in URLs and access logs) in the context
// for the read log.
func readReason(ctx context.Context, r *http.Request) context.Context {
	if s := r.Header.Get(ReasonHeader); s != "" {
		return record.WithReason(ctx, s)
	}
	return ctx
}

// reason is a write's reason, from the Samnav-Reason header. A reason
// in the query string is refused: it may name a person, and a URL stays in
// every proxy's and server's access log.
func reason(r *http.Request) (string, error) {
	if r.URL.Query().Has("reason") {
		return "", invalid("reason", RulePersonalDataInURL, "must not be in the URL: send it in the "+ReasonHeader+" header (or, to end a record, the body)")
	}
	return r.Header.Get(ReasonHeader), nil
}

// stateAndReason is a create's or an update's record state, from the
// body, and its reason (see reason).
func stateAndReason(r *http.Request) (map[string]any, string, error) {
	var state map[string]any
	if err := decodeBody(r, &state); err != nil {
		return nil, "", err
	}
	why, err := reason(r)
	if err != nil {
		return nil, "", err
	}
	return state, why, nil
}

func decodeCreate(_ context.Context, r *http.Request) (any, error) {
	state, why, err := stateAndReason(r)
	if err != nil {
		return nil, err
	}
	return createRequest{Concept: r.PathValue("concept"), State: state, Reason: why}, nil
}

func decodeUpdate(_ context.Context, r *http.Request) (any, error) {
	rev, err := apierr.RequireIfMatch(r)
	if err != nil {
		return nil, err
	}
	state, why, err := stateAndReason(r)
	if err != nil {
		return nil, err
	}
	return updateRequest{Concept: r.PathValue("concept"), ID: r.PathValue("id"), Revision: rev, State: state, Reason: why}, nil
}

func decodeEnd(_ context.Context, r *http.Request) (any, error) {
	var body struct {
		Reason string `json:"reason"`
	}
	if err := apierr.DecodeJSON(r, &body, apierr.MaxBody(MaxBodyBytes), apierr.Optional()); err != nil {
		return nil, err
	}
	why, err := reason(r)
	if err != nil {
		return nil, err
	}
	if body.Reason == "" {
		body.Reason = why
	}
	rev, _, err := apierr.IfMatch(r)
	if err != nil {
		return nil, err
	}
	return endRequest{Concept: r.PathValue("concept"), ID: r.PathValue("id"), Revision: rev, Reason: body.Reason}, nil
}

func decodeGet(_ context.Context, r *http.Request) (any, error) {
	return getRequest{Concept: r.PathValue("concept"), ID: r.PathValue("id")}, nil
}

func decodeErase(_ context.Context, r *http.Request) (any, error) {
	why, err := reason(r)
	if err != nil {
		return nil, err
	}
	return eraseRequest{Concept: r.PathValue("concept"), ID: r.PathValue("id"), Reason: why}, nil
}

func decodeNaturalKey(_ context.Context, r *http.Request) (any, error) {
	return naturalKeyRequest{Concept: r.PathValue("concept"), Attribute: r.PathValue("attribute"), Value: r.PathValue("value")}, nil
}

// listParams are the query parameters of a list that are not filters.
var listParams = map[string]bool{"q": true, "limit": true, "cursor": true, "includeEnded": true}

func decodeList(_ context.Context, r *http.Request) (any, error) {
	qs := r.URL.Query()
	q := record.ListQuery{Search: qs.Get("q"), Filter: map[string]string{}}
	page, fields := paging.Parse(qs, 0)
	if len(fields) > 0 {
		return nil, invalid(fields[0].Field, fields[0].Rule, fields[0].Message)
	}
	q.Limit, q.After = page.Limit, page.After
	if s := qs.Get("includeEnded"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, invalid("includeEnded", "type", "must be true or false")
		}
		q.IncludeEnded = b
	}
	for k, v := range qs {
		if !listParams[k] {
			q.Filter[k] = v[0]
		}
	}
	return listRequest{Concept: r.PathValue("concept"), Query: q}, nil
}

func decodePublish(_ context.Context, r *http.Request) (any, error) {
	var body struct {
		Items []PublishItem `json:"items"`
	}
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	return publishRequest{Concept: r.PathValue("concept"), Items: body.Items}, nil
}

func encodeRecord(_ context.Context, w http.ResponseWriter, resp any) error {
	rr := resp.(recordResponse)
	w.Header().Set("ETag", apierr.ETag(rr.rec.Revision))
	if rr.status == http.StatusCreated {
		w.Header().Set("Location", "/api/v1/"+rr.rec.Concept+"/"+rr.rec.ID)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rr.status)
	return json.NewEncoder(w).Encode(rr.rec)
}

func encodeJSON(_ context.Context, w http.ResponseWriter, resp any) error {
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(resp)
}

// errorEncoder answers every refused or failed request through apierr
// (problem+json; 5xx logged with the route and trace id); a refusal that
// carries the current record also carries its ETag.
func errorEncoder(wr *apierr.Writer) kithttp.ErrorEncoder {
	return func(ctx context.Context, err error, w http.ResponseWriter) {
		if e, ok := errors.AsType[*apierr.Error](err); ok {
			if cur, ok := e.Extensions["current"].(*client.Record); ok {
				w.Header().Set("ETag", apierr.ETag(cur.Revision))
			}
		}
		wr.EncodeError(ctx, err, w)
	}
}

// whoamiResponse is the caller as the API sees it: who, which token, and
// the grants. Never the token's secret.
type whoamiResponse struct {
	Subject      string       `json:"subject"`
	Kind         auth.Kind    `json:"kind"`
	Name         string       `json:"name,omitempty"`
	CredentialID string       `json:"credentialId,omitempty"`
	Grants       []auth.Grant `json:"grants"`
}

// whoami answers with the authenticated caller, so that a console running
// apart from the hub can verify a sign-in token without a token store of
// its own. An anonymous caller gets 401.
func whoami(w http.ResponseWriter, r *http.Request) {
	p := auth.FromContext(r.Context())
	if p == nil {
		apierr.Write(w, r, apierr.Unauthorized("whoami needs an API token").Wrap(auth.ErrUnauthenticated))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(whoamiResponse{Subject: p.Subject, Kind: p.Kind, Name: p.Name, CredentialID: p.CredentialID, Grants: p.Grants})
}
