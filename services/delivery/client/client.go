// Package client is a typed Go client of the delivery REST API, every
// operation of its OpenAPI document (/api/v1/openapi.json): subscriptions,
// their decisions, history, Kafka ACLs and lag; webhook endpoints, secrets
// and delivery log; the pull feed; the recent deliveries. It
// imports nothing of the server, so a business system, the console or a
// tool can use it without the service's internals. Errors are
// *apierr.Error, read from the problem+json answers.
package client

import (
	"context"
	"net/http"
	"net/url"
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

// SubscriptionChange is one entry of a subscription's history: who did
// what, when and why, and the subscription after it.
type SubscriptionChange struct {
	Seq    int64        `json:"seq"`
	At     time.Time    `json:"at"`
	Actor  string       `json:"actor"`
	Action string       `json:"action"`
	Reason string       `json:"reason"`
	After  Subscription `json:"after"`
}

// ACL is a Kafka ACL entry.
type ACL struct {
	Principal    string `json:"principal"`    // e.g. "User:skolplattform"
	ResourceType string `json:"resourceType"` // TOPIC, GROUP, CLUSTER, TRANSACTIONAL_ID
	ResourceName string `json:"resourceName"`
	PatternType  string `json:"patternType"` // LITERAL, PREFIXED
	Operation    string `json:"operation"`   // READ, WRITE, DESCRIBE, ...
	Permission   string `json:"permission"`  // ALLOW, DENY
	Host         string `json:"host"`        // "*" for any host
}

// ACLs are the Kafka ACLs of a kafka subscription: what lets the system
// read its view topic and nothing else, and the kafka-acls commands that
// create them.
type ACLs struct {
	Topic    string   `json:"topic"`
	ACLs     []ACL    `json:"acls"`
	Commands []string `json:"commands"`
}

// PartitionLag is one partition's position.
type PartitionLag struct {
	Partition         int        `json:"partition"`
	End               int64      `json:"end"`
	Committed         int64      `json:"committed"`
	Lag               int64      `json:"lag"`
	OldestUndelivered *time.Time `json:"oldestUndelivered,omitempty"`
}

// ChannelLag is how far one channel of a subscription is behind the head
// of the concept's state topic.
type ChannelLag struct {
	Channel           string         `json:"channel"`
	Stage             string         `json:"stage"`
	Topic             string         `json:"topic"`
	Group             string         `json:"group"`
	Events            int64          `json:"events"`
	OldestUndelivered *time.Time     `json:"oldestUndelivered,omitempty"`
	BehindSeconds     float64        `json:"behindSeconds"`
	MeasuredAt        time.Time      `json:"measuredAt"`
	Partitions        []PartitionLag `json:"partitions"`
}

// Lag is how far each channel of a subscription is behind.
type Lag struct {
	Subscription string       `json:"subscription"`
	Status       string       `json:"status"`
	Channels     []ChannelLag `json:"channels"`
	// Failing is why delivery is stopped and retried (a refused rebuild,
	// say); "" while it runs.
	Failing string `json:"failing,omitempty"`
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
	q := jsonapi.Query{}
	q.Set("system", f.System)
	q.Set("concept", f.Concept)
	q.Set("status", f.Status)
	q.Set("cursor", f.Cursor)
	q.SetInt("limit", int64(f.Limit))
	var page SubscriptionPage
	return &page, c.do(ctx, http.MethodGet, q.Path("/api/v1/subscriptions"), nil, &page)
}

// MaxPage is the largest page of subscriptions the API answers.
const MaxPage = 1000

// All reads every subscription the caller may read that f selects,
// following the pages from f.Cursor to the last (f.Limit, 0 for MaxPage,
// sets how many each request asks for).
func (c *Client) All(ctx context.Context, f Filter) ([]Subscription, error) {
	if f.Limit <= 0 {
		f.Limit = MaxPage
	}
	var all []Subscription
	for {
		page, err := c.List(ctx, f)
		if err != nil {
			return nil, err
		}
		all = append(all, page.Subscriptions...)
		if page.Next == "" {
			return all, nil
		}
		f.Cursor = page.Next
	}
}

// Get reads a subscription.
func (c *Client) Get(ctx context.Context, id string) (*Subscription, error) {
	var s Subscription
	return &s, c.do(ctx, http.MethodGet, subPath(id, ""), nil, &s)
}

// History reads a subscription's changes, oldest first.
func (c *Client) History(ctx context.Context, id string) ([]SubscriptionChange, error) {
	var out struct {
		Changes []SubscriptionChange `json:"changes"`
	}
	return out.Changes, c.do(ctx, http.MethodGet, subPath(id, "/history"), nil, &out)
}

// ACLs reads the Kafka ACLs of a kafka subscription (another channel
// answers invalid).
func (c *Client) ACLs(ctx context.Context, id string) (*ACLs, error) {
	var a ACLs
	return &a, c.do(ctx, http.MethodGet, subPath(id, "/acls"), nil, &a)
}

// Lag reads how far a subscription's delivery is behind.
func (c *Client) Lag(ctx context.Context, id string) (*Lag, error) {
	var l Lag
	return &l, c.do(ctx, http.MethodGet, subPath(id, "/lag"), nil, &l)
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

func subPath(id, rest string) string { return "/api/v1/subscriptions/" + url.PathEscape(id) + rest }

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	return jsonapi.Endpoint{BaseURL: c.BaseURL, Token: c.Token, HTTP: c.HTTP}.Do(ctx, method, path, nil, in, out)
}
