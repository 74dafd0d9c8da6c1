// Package client is a typed Go client of the master data REST API (the
// operations of its OpenAPI document, /api/v1/openapi.json). It imports
// nothing of the server, so a business system, the console or a tool can
// use it without the service's internals. Errors are *apierr.Error, read
// from the problem+json answers (errors.AsType[*apierr.Error]).
package client

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/pkg/sdk/jsonapi"
)

// Record is one master record of a concept. It is keyed by an opaque,
// stable id (a UUIDv7 assigned by the hub) that never carries meaning.
// Numbers in a decoded State are json.Number, exactly as the API sent them.
type Record struct {
	Concept string `json:"concept"`
	ID      string `json:"id"`
	// Revision starts at 1 and grows by one with every change; it is the
	// record's ETag and what an update's If-Match must name.
	Revision int64 `json:"revision"`
	// State is the record's attributes, shaped as validated JSON, without
	// "id". Nil for an erased record.
	State map[string]any `json:"state"`
	// EndedAt is set once the record is ended; an ended record is kept,
	// with its history, and is still published.
	EndedAt   *time.Time `json:"endedAt,omitempty"`
	EndReason string     `json:"endReason,omitempty"`
	CreatedAt time.Time  `json:"createdAt"`
	UpdatedAt time.Time  `json:"updatedAt"`
}

// Clone returns a deep copy of r, so that it may be changed freely.
func (r *Record) Clone() *Record {
	if r == nil {
		return nil
	}
	c := *r
	c.State = cloneMap(r.State)
	if r.EndedAt != nil {
		t := *r.EndedAt
		c.EndedAt = &t
	}
	return &c
}

func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return cloneMap(x)
	case []any:
		l := make([]any, len(x))
		for i := range x {
			l[i] = cloneValue(x[i])
		}
		return l
	}
	return v
}

// Kind is what a change did: a plain string on the wire and in Go.
type Kind = string

const (
	KindCreated = "created"
	KindUpdated = "updated"
	KindEnded   = "ended"
	KindErased  = "erased"
	// KindResynced marks no change in the store; it is the kind of the
	// events a resync republishes.
	KindResynced = "resynced"
)

// Actor is who made a change and through which system: the principal's
// subject and credential (token id), and the system the change came
// through ("samnav" for the hub's own API and console, otherwise the
// external master system that published it).
type Actor struct {
	Subject      string `json:"subject"`
	CredentialID string `json:"credentialId,omitempty"`
	System       string `json:"system"`
}

// Change is one entry of a record's history.
type Change struct {
	// Seq orders the changes of one store; it is assigned on commit.
	Seq      int64     `json:"seq"`
	Concept  string    `json:"concept"`
	RecordID string    `json:"recordId"`
	Revision int64     `json:"revision"`
	Kind     Kind      `json:"kind"`
	At       time.Time `json:"at"`
	Actor    Actor     `json:"actor"`
	Reason   string    `json:"reason,omitempty"`
	// EventID is the id of the event published for the change (ce_id), by
	// which consumers deduplicate.
	EventID string `json:"eventId"`
	// State is the record's state after the change; nil after erasure
	// (erasure also removes it from every earlier change).
	State map[string]any `json:"state"`
	// TraceParent is the W3C traceparent of the request that made the
	// change, carried to its event; "" when there was none.
	TraceParent string `json:"traceParent,omitempty"`
}

// History is a record's changes, oldest first.
type History struct {
	Changes []Change `json:"changes"`
}

// Page is one page of a list; Next is "" on the last.
type Page struct {
	Records []Record `json:"records"`
	Next    string   `json:"next,omitempty"`
}

// ListOptions select a list's records: Filter by attribute equality,
// Search in text attributes, a page of Limit after Cursor.
type ListOptions struct {
	Filter       map[string]string
	Search       string
	Limit        int
	Cursor       string
	IncludeEnded bool
}

// SearchRequest is the body of POST /api/v1/search/{concept}: a list's
// query, sent in the body because a search or filter may be personal
// data, which never goes in a URL.
type SearchRequest struct {
	Q            string            `json:"q,omitempty"`
	Filter       map[string]string `json:"filter,omitempty"`
	Limit        int               `json:"limit,omitempty"`
	Cursor       string            `json:"cursor,omitempty"`
	IncludeEnded bool              `json:"includeEnded,omitempty"`
}

// PublishItem is one change an external master system publishes. It
// names its record by id, or by a natural key (NaturalKey, or else the
// first natural-key attribute present in State).
type PublishItem struct {
	// Op is "upsert" (create the record, or replace its state) or "end".
	Op         string         `json:"op"`
	ID         string         `json:"id,omitempty"`
	NaturalKey *NaturalKey    `json:"naturalKey,omitempty"`
	State      map[string]any `json:"state,omitempty"`
	Reason     string         `json:"reason,omitempty"`
}

// NaturalKey names a record by the value of a natural-key attribute.
type NaturalKey struct {
	Attribute string `json:"attribute"`
	Value     string `json:"value"`
}

// PublishResult says what happened to one item.
type PublishResult struct {
	Index    int    `json:"index"`
	ID       string `json:"id"`
	Revision int64  `json:"revision"`
	Outcome  string `json:"outcome"` // created | updated | ended
}

// PublishResults is the answer to a publish batch, one result per item in
// the batch's order.
type PublishResults struct {
	Results []PublishResult `json:"results"`
}

// Whoami is the caller as the API sees it.
type Whoami struct {
	Subject      string  `json:"subject"`
	Kind         string  `json:"kind"`
	Name         string  `json:"name,omitempty"`
	CredentialID string  `json:"credentialId,omitempty"`
	Grants       []Grant `json:"grants"`
}

// Grant is one of the caller's grants.
type Grant struct {
	Role     string   `json:"role"`
	Concepts []string `json:"concepts,omitempty"`
	System   string   `json:"system,omitempty"`
}

// Client calls one hub's master data API with one token. It is safe for
// concurrent use.
type Client struct {
	BaseURL string // e.g. "http://127.0.0.1:8080"
	Token   string
	// HTTP is the client used; nil means http.DefaultClient.
	HTTP *http.Client
}

// Create creates a record of concept; reason is recorded ("" for none).
func (c *Client) Create(ctx context.Context, concept string, state map[string]any, reason string) (*Record, error) {
	var r Record
	return &r, c.do(ctx, http.MethodPost, recordPath(concept, ""), reasonHeader(reason), state, &r)
}

// Get reads a record.
func (c *Client) Get(ctx context.Context, concept, id string) (*Record, error) {
	var r Record
	return &r, c.do(ctx, http.MethodGet, recordPath(concept, id), nil, nil, &r)
}

// GetByNaturalKey reads the record whose natural-key attribute has value.
func (c *Client) GetByNaturalKey(ctx context.Context, concept, attribute, value string) (*Record, error) {
	var r Record
	// The value may be a personnummer: it travels in the body, never in
	// the URL.
	return &r, c.do(ctx, http.MethodPost, "/api/v1/lookup/"+url.PathEscape(concept), nil, NaturalKey{Attribute: attribute, Value: value}, &r)
}

// Update replaces a record's state; revision is the one replaced (the
// If-Match): a stale one answers 412 with the current record.
func (c *Client) Update(ctx context.Context, concept, id string, revision int64, state map[string]any, reason string) (*Record, error) {
	var r Record
	h := reasonHeader(reason)
	h.Set("If-Match", ifMatch(revision))
	return &r, c.do(ctx, http.MethodPut, recordPath(concept, id), h, state, &r)
}

// End ends a record; revision 0 ends whatever the current one is.
func (c *Client) End(ctx context.Context, concept, id string, revision int64, reason string) (*Record, error) {
	var r Record
	h := http.Header{}
	if revision > 0 {
		h.Set("If-Match", ifMatch(revision))
	}
	return &r, c.do(ctx, http.MethodPost, recordPath(concept, id)+"/end", h, map[string]string{"reason": reason}, &r)
}

// Erase erases a record (admins only); reason is required.
func (c *Client) Erase(ctx context.Context, concept, id, reason string) (*Record, error) {
	var r Record
	return &r, c.do(ctx, http.MethodDelete, recordPath(concept, id), reasonHeader(reason), nil, &r)
}

// List reads one page of a concept's records. A search or filter is sent
// in the body of POST /api/v1/search/{concept} (it may be personal data,
// which never goes in a URL); a plain page is a GET.
func (c *Client) List(ctx context.Context, concept string, o ListOptions) (*Page, error) {
	var page Page
	if o.Search != "" || len(o.Filter) > 0 {
		body := SearchRequest{Q: o.Search, Filter: o.Filter, Limit: o.Limit, Cursor: o.Cursor, IncludeEnded: o.IncludeEnded}
		return &page, c.do(ctx, http.MethodPost, "/api/v1/search/"+url.PathEscape(concept), nil, body, &page)
	}
	q := jsonapi.Query{}
	for k, v := range o.Filter {
		url.Values(q).Set(k, v) // an empty value filters too
	}
	q.Set("q", o.Search)
	q.SetInt("limit", int64(o.Limit))
	q.Set("cursor", o.Cursor)
	if o.IncludeEnded {
		q.Set("includeEnded", "true")
	}
	return &page, c.do(ctx, http.MethodGet, q.Path(recordPath(concept, "")), nil, nil, &page)
}

// History reads every change of a record, oldest first.
func (c *Client) History(ctx context.Context, concept, id string) ([]Change, error) {
	var h History
	return h.Changes, c.do(ctx, http.MethodGet, recordPath(concept, id)+"/history", nil, nil, &h)
}

// Publish applies a batch from the concept's master system, all or
// nothing.
func (c *Client) Publish(ctx context.Context, concept string, items []PublishItem) ([]PublishResult, error) {
	var out PublishResults
	return out.Results, c.do(ctx, http.MethodPost, "/api/v1/publish/"+url.PathEscape(concept), nil, map[string]any{"items": items}, &out)
}

// Whoami answers with the token's principal.
func (c *Client) Whoami(ctx context.Context) (*Whoami, error) {
	var w Whoami
	return &w, c.do(ctx, http.MethodGet, "/api/v1/whoami", nil, nil, &w)
}

func recordPath(concept, id string) string {
	p := "/api/v1/" + url.PathEscape(concept)
	if id != "" {
		p += "/" + url.PathEscape(id)
	}
	return p
}

// reasonHeader carries a write's reason in the Samnav-Reason header, not
// the reason query parameter: a URL ends up in access logs, and a reason,
// however it is meant, is free text.
func reasonHeader(reason string) http.Header {
	h := http.Header{}
	if reason != "" {
		h.Set("Samnav-Reason", reason)
	}
	return h
}

func ifMatch(revision int64) string { return `"` + strconv.FormatInt(revision, 10) + `"` }

// CurrentOf returns the record as it is now that a refused write carries
// (a stale If-Match answers 412 with it), or nil.
func CurrentOf(err error) *Record {
	e, ok := errors.AsType[*apierr.Error](err)
	if !ok {
		return nil
	}
	var r Record
	if !e.Extension("current", &r) {
		return nil
	}
	return &r
}

func (c *Client) endpoint() jsonapi.Endpoint {
	return jsonapi.Endpoint{BaseURL: c.BaseURL, Token: c.Token, HTTP: c.HTTP}
}

func (c *Client) do(ctx context.Context, method, path string, h http.Header, in, out any) error {
	return c.endpoint().Do(ctx, method, path, h, in, out)
}
