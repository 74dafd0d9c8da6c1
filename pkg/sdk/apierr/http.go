package apierr

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/trace"
)

// ContentType is the media type of every error body (RFC 9457).
const ContentType = "application/problem+json"

// TypePrefix starts every problem type URI; the code follows it.
const TypePrefix = "urn:samnav:problem:"

// Problem is the wire form of an *Error (RFC 9457), the one shape every
// Samnav API answers a refused or failed request with:
//
//	{"type":"urn:samnav:problem:invalid","title":"Invalid request","status":400,
//	 "detail":"...","code":"invalid","fields":[{"field":"a.b","rule":"required","message":"..."}],
//	 "traceId":"..."}
//
// fields is left out when empty, traceId when the request has no trace.
// Extensions (e.g. "current") follow as further members.
type Problem struct {
	Type       string         `json:"type"`
	Title      string         `json:"title"`
	Status     int            `json:"status"`
	Detail     string         `json:"detail"`
	Code       Code           `json:"code"`
	Fields     []FieldError   `json:"fields,omitempty"`
	TraceID    string         `json:"traceId,omitempty"`
	Extensions map[string]any `json:"-"`
}

// standard are the members Problem itself writes.
var standard = map[string]bool{"type": true, "title": true, "status": true, "detail": true, "code": true, "fields": true, "traceId": true}

// MarshalJSON writes the standard members, then the extensions.
func (p Problem) MarshalJSON() ([]byte, error) {
	type plain Problem
	b, err := json.Marshal(plain(p))
	if err != nil || len(p.Extensions) == 0 {
		return b, err
	}
	ext := make(map[string]any, len(p.Extensions))
	for k, v := range p.Extensions {
		if !standard[k] {
			ext[k] = v
		}
	}
	if len(ext) == 0 {
		return b, nil
	}
	eb, err := json.Marshal(ext)
	if err != nil {
		return nil, err
	}
	// Both are objects: join {...a} and {...b} as {...a,...b}.
	out := make([]byte, 0, len(b)+len(eb))
	out = append(out, b[:len(b)-1]...)
	out = append(out, ',')
	return append(out, eb[1:]...), nil
}

// ProblemOf is the problem body of e, with the trace id of ctx's span
// when it has a valid one.
func ProblemOf(ctx context.Context, e *Error) Problem {
	p := Problem{Type: TypePrefix + string(e.Code), Title: e.Code.Title(), Status: e.HTTPStatus(),
		Detail: e.Message, Code: e.Code, Fields: e.Fields, Extensions: e.Extensions}
	if p.Detail == "" {
		p.Detail = p.Title
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		p.TraceID = sc.TraceID().String()
	}
	return p
}

// Writer answers errors over HTTP and logs the server's own failures.
// The zero value logs to slog.Default().
type Writer struct {
	// Logger receives one error line per 5xx answer: the code, status,
	// method, route pattern (never the URL, which may carry data), trace
	// id and the cause.
	Logger *slog.Logger
}

// NewWriter returns a Writer logging to logger (nil: slog.Default()).
func NewWriter(logger *slog.Logger) *Writer { return &Writer{Logger: logger} }

// Write answers err as problem+json (see Problem) with the status of its
// code or its Status override. A 401 carries WWW-Authenticate: Bearer,
// with error="invalid_token" when the request presented a bearer token
// that was refused (RFC 6750 §3). Every 5xx is logged at error level with
// its cause, except when the request's own context has ended (the client
// left, typically in a long poll): nothing failed on the server's side, so
// that is logged at debug.
func (wr *Writer) Write(w http.ResponseWriter, r *http.Request, err error) {
	e := As(err)
	if e == nil {
		e = Internal("internal error")
	}
	ctx := r.Context()
	status := e.HTTPStatus()
	if status >= 500 {
		wr.log(ctx, r, e, status, err)
	}
	h := w.Header()
	h.Set("Content-Type", ContentType)
	h.Set("Cache-Control", "no-store")
	h.Del("Content-Length")
	if status == http.StatusUnauthorized {
		if hasBearer(r) {
			h.Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		} else {
			h.Set("WWW-Authenticate", "Bearer")
		}
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(ProblemOf(ctx, e))
}

func (wr *Writer) log(ctx context.Context, r *http.Request, e *Error, status int, err error) {
	logger := wr.Logger
	if logger == nil {
		logger = slog.Default()
	}
	attrs := []any{"code", string(e.Code), "status", status, "method", r.Method, "route", r.Pattern}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		attrs = append(attrs, "trace_id", sc.TraceID().String())
	}
	attrs = append(attrs, "err", err)
	if ctx.Err() != nil {
		logger.DebugContext(ctx, "request ended by the client", attrs...)
		return
	}
	logger.ErrorContext(ctx, "request failed", attrs...)
}

func hasBearer(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	return ok && strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(token) != ""
}

// Write answers err with a Writer logging to slog.Default().
func Write(w http.ResponseWriter, r *http.Request, err error) { (&Writer{}).Write(w, r, err) }

type requestKey struct{}

// RequestContext returns ctx carrying r, for error encoders that are
// handed a context but not the request (go-kit's ServerErrorEncoder); use
// it as a go-kit ServerBefore.
func RequestContext(ctx context.Context, r *http.Request) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

// EncodeError is Write for an encoder with go-kit's ErrorEncoder
// signature: the request comes from ctx (see RequestContext); without it
// the route and method are not logged.
func (wr *Writer) EncodeError(ctx context.Context, err error, w http.ResponseWriter) {
	r, _ := ctx.Value(requestKey{}).(*http.Request)
	if r == nil {
		r = (&http.Request{Method: "", Header: http.Header{}}).WithContext(ctx)
	} else {
		r = r.WithContext(ctx)
	}
	wr.Write(w, r, err)
}
