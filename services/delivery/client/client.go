// Package client is a typed Go client of the delivery REST API (the
// operations of its OpenAPI document, /api/v1/openapi.json):
// subscriptions and decisions, webhook endpoints, and the pull feed. It
// imports nothing of the server, so a business system, the console or a
// tool can use it without the service's internals. Errors are
// *apierr.Error, read from the problem+json answers.
package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/samnav/samnav/pkg/sdk/jsonapi"
)

// LegalBasis is a subscription's lawful basis and what it rests on.
type LegalBasis struct {
	Basis     string `json:"basis"`
	Reference string `json:"reference"`
}

// Subscription is one system's standing request to receive one concept.
type Subscription struct {
	ID                  string     `json:"id"`
	System              string     `json:"system"`
	Concept             string     `json:"concept"`
	Major               int        `json:"major"`
	Purpose             string     `json:"purpose"`
	LegalBasis          LegalBasis `json:"legalBasis"`
	Channel             string     `json:"channel"`
	RequestedFields     []string   `json:"requestedFields"`
	ApprovedFields      []string   `json:"approvedFields,omitempty"`
	ProtectedIdentities bool       `json:"protectedIdentities"`
	ProtectedApproved   bool       `json:"protectedApproved"`
	Status              string     `json:"status"`
	Version             int64      `json:"version"`
	CreatedAt           time.Time  `json:"createdAt"`
	UpdatedAt           time.Time  `json:"updatedAt"`
}

// Request is what a system asks for.
type Request struct {
	System              string     `json:"system,omitempty"`
	Concept             string     `json:"concept"`
	Purpose             string     `json:"purpose"`
	LegalBasis          LegalBasis `json:"legalBasis"`
	Channel             string     `json:"channel"`
	Fields              []string   `json:"fields"`
	ProtectedIdentities bool       `json:"protectedIdentities,omitempty"`
	Reason              string     `json:"reason,omitempty"`
}

// Decision is the information owner's approval.
type Decision struct {
	Fields              []string `json:"fields,omitempty"`
	ProtectedIdentities bool     `json:"protectedIdentities,omitempty"`
	Reason              string   `json:"reason"`
}

// Filter selects subscriptions; Limit and Cursor page them.
type Filter struct {
	System, Concept, Status string
	Limit                   int
	Cursor                  string
}

// SubscriptionPage is a page of subscriptions; Next is "" on the last.
type SubscriptionPage struct {
	Subscriptions []Subscription `json:"subscriptions"`
	Next          string         `json:"next,omitempty"`
}

// Endpoint is a webhook endpoint; Secret is set only in the answer that
// made it.
type Endpoint struct {
	SubscriptionID      string    `json:"subscriptionId"`
	URL                 string    `json:"url"`
	Owner               string    `json:"owner"`
	Status              string    `json:"status"`
	ConsecutiveFailures int       `json:"consecutiveFailures"`
	Secret              string    `json:"secret,omitempty"`
	OldUntil            time.Time `json:"oldUntil,omitzero"`
}

// Item is one feed event (CloudEvents 1.0 JSON).
type Item struct {
	ID       string          `json:"id"`
	Type     string          `json:"type"`
	Subject  string          `json:"subject"`
	Time     string          `json:"time"`
	Revision int64           `json:"revision"`
	EndedAt  string          `json:"endedat,omitempty"`
	Data     json.RawMessage `json:"data"`
}

// SnapshotPage is a page of a feed's snapshot.
type SnapshotPage struct {
	Items         []Item `json:"items"`
	NextCursor    string `json:"nextCursor,omitempty"`
	ChangesCursor string `json:"changesCursor"`
}

// ChangesPage is the changes after a cursor.
type ChangesPage struct {
	Items      []Item `json:"items"`
	NextCursor string `json:"nextCursor"`
	More       bool   `json:"more"`
}

// Client calls one hub's delivery API with one token. It is safe for
// concurrent use.
type Client struct {
	BaseURL string
	Token   string
	// HTTP is the client used; nil means http.DefaultClient.
	HTTP *http.Client
}

// Request asks for a subscription.
func (c *Client) Request(ctx context.Context, r Request) (*Subscription, error) {
	var s Subscription
	return &s, c.do(ctx, http.MethodPost, "/api/v1/subscriptions", r, &s)
}

// List reads a page of the subscriptions the caller may read.
func (c *Client) List(ctx context.Context, f Filter) (*SubscriptionPage, error) {
	q := url.Values{}
	for k, v := range map[string]string{"system": f.System, "concept": f.Concept, "status": f.Status, "cursor": f.Cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	p := "/api/v1/subscriptions"
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	var page SubscriptionPage
	return &page, c.do(ctx, http.MethodGet, p, nil, &page)
}

// Get reads a subscription.
func (c *Client) Get(ctx context.Context, id string) (*Subscription, error) {
	var s Subscription
	return &s, c.do(ctx, http.MethodGet, subPath(id, ""), nil, &s)
}

// Approve approves (or changes) a subscription.
func (c *Client) Approve(ctx context.Context, id string, d Decision) (*Subscription, error) {
	var s Subscription
	return &s, c.do(ctx, http.MethodPost, subPath(id, "/approve"), d, &s)
}

// Reject rejects a requested subscription.
func (c *Client) Reject(ctx context.Context, id, reason string) (*Subscription, error) {
	var s Subscription
	return &s, c.do(ctx, http.MethodPost, subPath(id, "/reject"), map[string]string{"reason": reason}, &s)
}

// Revoke stops a subscription.
func (c *Client) Revoke(ctx context.Context, id, reason string) (*Subscription, error) {
	var s Subscription
	return &s, c.do(ctx, http.MethodPost, subPath(id, "/revoke"), map[string]string{"reason": reason}, &s)
}

// PutWebhook registers the endpoint of a webhook subscription (secret ""
// lets the hub make one; the answer holds it, once) or changes its URL.
func (c *Client) PutWebhook(ctx context.Context, id, endpointURL, secret string) (*Endpoint, error) {
	var e Endpoint
	return &e, c.do(ctx, http.MethodPut, subPath(id, "/webhook"), map[string]string{"url": endpointURL, "secret": secret}, &e)
}

// Webhook reads a subscription's endpoint.
func (c *Client) Webhook(ctx context.Context, id string) (*Endpoint, error) {
	var e Endpoint
	return &e, c.do(ctx, http.MethodGet, subPath(id, "/webhook"), nil, &e)
}

// Snapshot reads a page of a feed's snapshot; cursor "" is the first.
func (c *Client) Snapshot(ctx context.Context, subscriptionID, cursor string, limit int) (*SnapshotPage, error) {
	var p SnapshotPage
	return &p, c.do(ctx, http.MethodGet, feedPath(subscriptionID, "snapshot", cursor, limit, 0), nil, &p)
}

// Changes reads the changes after cursor, waiting up to wait for one.
func (c *Client) Changes(ctx context.Context, subscriptionID, cursor string, limit int, wait time.Duration) (*ChangesPage, error) {
	var p ChangesPage
	return &p, c.do(ctx, http.MethodGet, feedPath(subscriptionID, "changes", cursor, limit, wait), nil, &p)
}

func subPath(id, rest string) string { return "/api/v1/subscriptions/" + url.PathEscape(id) + rest }

func feedPath(sub, what, cursor string, limit int, wait time.Duration) string {
	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if wait > 0 {
		q.Set("wait", wait.String())
	}
	p := "/api/v1/feeds/" + url.PathEscape(sub) + "/" + what
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	return p
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	return jsonapi.Endpoint{BaseURL: c.BaseURL, Token: c.Token, HTTP: c.HTTP}.Do(ctx, method, path, nil, in, out)
}
