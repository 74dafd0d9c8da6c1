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

	"github.com/samnav/samnav/pkg/kafkaacl"
	"github.com/samnav/samnav/pkg/sdk/jsonapi"
)

// Status is where a subscription stands. Only StatusApproved delivers.
// Status, ChannelKind, Basis and Action are plain strings on the wire and
// in Go, so a caller compares and prints them without conversions; the
// constants below are their values.
type Status = string

const (
	// StatusRequested waits for the information owner's decision.
	StatusRequested Status = "requested"
	// StatusApproved delivers ApprovedFields over Channel.
	StatusApproved Status = "approved"
	// StatusRejected was refused; it never delivered. Final.
	StatusRejected Status = "rejected"
	// StatusRevoked delivered once and no longer does. Final.
	StatusRevoked Status = "revoked"
)

// ChannelKind is how a subscription's events leave the hub.
type ChannelKind = string

const (
	// ChannelKafka writes a compacted view topic per subscription.
	ChannelKafka ChannelKind = "kafka"
	// ChannelWebhook posts signed webhooks (Standard Webhooks).
	ChannelWebhook ChannelKind = "webhook"
	// ChannelFeed serves a cursor-based pull feed over HTTP.
	ChannelFeed ChannelKind = "feed"
)

// Basis is a lawful basis for processing under GDPR article 6(1).
type Basis = string

const (
	BasisConsent             Basis = "consent"              // 6(1)(a)
	BasisContract            Basis = "contract"             // 6(1)(b)
	BasisLegalObligation     Basis = "legal_obligation"     // 6(1)(c)
	BasisVitalInterests      Basis = "vital_interests"      // 6(1)(d)
	BasisPublicTask          Basis = "public_task"          // 6(1)(e)
	BasisLegitimateInterests Basis = "legitimate_interests" // 6(1)(f)
)

// LegalBasis is the basis a subscription rests on: the article 6 basis and
// the law, regulation or decision that gives it (e.g. "Skollagen
// (2010:800) 29 kap. 1 §").
type LegalBasis struct {
	Basis     Basis  `json:"basis"`
	Reference string `json:"reference"`
}

// Subscription is one system's standing request to receive one concept.
//
// The delivery pipeline passes a copy to every channel; a channel must not
// modify it. Channel-specific settings (webhook endpoints and secrets, feed
// cursors) belong to the channel, keyed by ID.
type Subscription struct {
	// ID is opaque and stable, assigned at request.
	ID string `json:"id"`
	// System is the id of the subscribing system (the principal that
	// requested it, or on whose behalf an admin did).
	System string `json:"system"`
	// Concept is the concept id (e.g. "person"); Major its contract's
	// major version, which names the state topic samnav.<concept>.v<major>.
	Concept string `json:"concept"`
	Major   int    `json:"major"`
	// Purpose says what the system uses the data for, in words.
	Purpose    string      `json:"purpose"`
	LegalBasis LegalBasis  `json:"legalBasis"`
	Channel    ChannelKind `json:"channel"`
	// RequestedFields are the top-level attributes the system asked for.
	RequestedFields []string `json:"requestedFields"`
	// ApprovedFields are the attributes it receives: a subset of
	// RequestedFields, set on approval. The record id is always delivered.
	ApprovedFields []string `json:"approvedFields,omitempty"`
	// ProtectedIdentities: the system asks to receive the shielded
	// attributes (address, contact) of persons with a protected identity.
	ProtectedIdentities bool `json:"protectedIdentities"`
	// ProtectedApproved: the owner approved ProtectedIdentities. Without
	// it every shielded attribute of a protected person is withheld.
	ProtectedApproved bool   `json:"protectedApproved"`
	Status            Status `json:"status"`
	// Version increases by one with every change; updates with a stale
	// version fail with a conflict.
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Delivering reports whether s may deliver anything.
func (s Subscription) Delivering() bool { return s.Status == StatusApproved }

// Request is what a system asks for.
type Request struct {
	// System defaults to the caller's system; only an admin may name
	// another.
	System              string      `json:"system,omitempty"`
	Concept             string      `json:"concept"`
	Purpose             string      `json:"purpose"`
	LegalBasis          LegalBasis  `json:"legalBasis"`
	Channel             ChannelKind `json:"channel"`
	Fields              []string    `json:"fields"`
	ProtectedIdentities bool        `json:"protectedIdentities,omitempty"`
	Reason              string      `json:"reason,omitempty"`
}

// Decision is the information owner's answer: the approved fields (a
// subset of the requested ones; empty means all requested) and whether
// protected identities are approved (only if requested).
type Decision struct {
	Fields              []string `json:"fields,omitempty"`
	ProtectedIdentities bool     `json:"protectedIdentities,omitempty"`
	Reason              string   `json:"reason"`
}

// Action names a change in a subscription's history.
type Action = string

const (
	ActionRequested Action = "requested"
	ActionApproved  Action = "approved"
	ActionNarrowed  Action = "narrowed" // approved with fewer fields than requested
	ActionRejected  Action = "rejected"
	ActionChanged   Action = "changed" // an approved subscription's fields or protected approval changed
	ActionRevoked   Action = "revoked"
)

// SubscriptionChange is one entry of a subscription's history: who did
// what, when and why, and the subscription as it stood afterwards.
type SubscriptionChange struct {
	Seq    int64     `json:"seq"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"` // principal subject, e.g. a user or system id
	Action Action    `json:"action"`
	Reason string    `json:"reason"`
	// After is the subscription after the change.
	After Subscription `json:"after"`
}

// ACL is a Kafka access control entry, in the words kafka-acls.sh uses
// (pkg/kafkaacl, which creates and lists them, is its one home).
type ACL = kafkaacl.Entry

// ACLs are the Kafka ACLs of a kafka subscription: what lets the system
// read its view topic and nothing else, and the kafka-acls commands that
// create them.
type ACLs struct {
	Topic    string   `json:"topic"`
	ACLs     []ACL    `json:"acls"`
	Commands []string `json:"commands"`
}

// PartitionLag is the lag of one partition.
type PartitionLag struct {
	Partition int `json:"partition"`
	// End is the log end offset (the offset the next record gets).
	End int64 `json:"end"`
	// Committed is the group's committed offset: the next record to
	// deliver; -1 if the group has committed nothing on this partition.
	Committed int64 `json:"committed"`
	// Lag is how many records are not delivered yet (End minus Committed,
	// or minus the log start offset before the first commit). Compaction
	// may have removed some of them, so it is an upper bound.
	Lag int64 `json:"lag"`
	// OldestUndelivered is the timestamp of the first undelivered record,
	// nil when Lag is 0 or the record could not be read.
	OldestUndelivered *time.Time `json:"oldestUndelivered,omitempty"`
}

// LagReport is a consumer group's lag on one topic.
type LagReport struct {
	Topic string `json:"topic"`
	Group string `json:"group"`
	// Events is the sum of the partitions' Lag.
	Events int64 `json:"events"`
	// OldestUndelivered is the earliest of the partitions'; nil when
	// nothing is behind or no timestamp could be read.
	OldestUndelivered *time.Time `json:"oldestUndelivered,omitempty"`
	// BehindSeconds is MeasuredAt minus OldestUndelivered, 0 when nil.
	BehindSeconds float64        `json:"behindSeconds"`
	MeasuredAt    time.Time      `json:"measuredAt"`
	Partitions    []PartitionLag `json:"partitions"`
}

// ChannelLag is how far one channel of a subscription is behind the head
// of the concept's state topic.
type ChannelLag struct {
	Channel ChannelKind `json:"channel"`
	// Stage names what the position is: "pipeline", the events the
	// channel accepted (written to the view topic, queued for the
	// webhook, appended to the feed).
	Stage string `json:"stage"`
	LagReport
}

// Lag is how far each channel of a subscription is behind.
type Lag struct {
	Subscription string       `json:"subscription"`
	Status       Status       `json:"status"`
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

// History is a subscription's changes, oldest first.
type History struct {
	Changes []SubscriptionChange `json:"changes"`
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
	var out History
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
