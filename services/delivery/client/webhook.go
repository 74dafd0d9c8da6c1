package client

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/samnav/samnav/pkg/sdk/jsonapi"
)

// Endpoint is a webhook endpoint; Secret is set only in the answer that
// made it (registration, rotation), OldUntil only in a rotation's.
type Endpoint struct {
	SubscriptionID      string    `json:"subscriptionId"`
	URL                 string    `json:"url"`
	Owner               string    `json:"owner"`
	Status              string    `json:"status"`
	DisabledReason      string    `json:"disabledReason,omitempty"`
	DisabledAt          time.Time `json:"disabledAt,omitzero"`
	FailingSince        time.Time `json:"failingSince,omitzero"`
	ConsecutiveFailures int       `json:"consecutiveFailures"`
	CreatedAt           time.Time `json:"createdAt"`
	UpdatedAt           time.Time `json:"updatedAt"`
	Secret              string    `json:"secret,omitempty"`
	OldUntil            time.Time `json:"oldUntil,omitzero"`
}

// Message is one event queued for an endpoint and where it stands.
type Message struct {
	ID             int64     `json:"id"`
	SubscriptionID string    `json:"subscriptionId"`
	EventID        string    `json:"eventId"`
	Key            string    `json:"key"`
	Type           string    `json:"type"`
	CreatedAt      time.Time `json:"createdAt"`
	State          string    `json:"state"`
	Attempts       int       `json:"attempts"`
	NextAttemptAt  time.Time `json:"nextAttemptAt"`
	LastError      string    `json:"lastError,omitempty"`
}

// Attempt is one row of an endpoint's delivery log.
type Attempt struct {
	ID             int64     `json:"id"`
	MessageID      int64     `json:"messageId"`
	SubscriptionID string    `json:"subscriptionId"`
	EventID        string    `json:"eventId"`
	N              int       `json:"n"`
	Trigger        string    `json:"trigger"`
	At             time.Time `json:"at"`
	StatusCode     int       `json:"statusCode,omitempty"`
	// Latency is how long the receiver took to answer (nanoseconds on
	// the wire).
	Latency time.Duration `json:"latencyNs"`
	Error   string        `json:"error,omitempty"`
	// Response is the answer's Content-Type, Content-Length and
	// Retry-After ("Name: value, ..."), never its body: a receiver may
	// echo the payload.
	Response string `json:"response,omitempty"`
}

// AttemptFilter selects a page of the delivery log: only Message's
// attempts (0 for all), only those older than Before (the ID of the last
// attempt of the previous page; 0 for the newest), at most Limit (0 for
// the service's default).
type AttemptFilter struct {
	Message, Before int64
	Limit           int
}

// PutWebhook registers the endpoint of a webhook subscription (secret ""
// lets the hub make one; the answer holds it, once) or changes its URL.
func (c *Client) PutWebhook(ctx context.Context, id, endpointURL, secret string) (*Endpoint, error) {
	var e Endpoint
	return &e, c.do(ctx, http.MethodPut, webhookPath(id, ""), map[string]string{"url": endpointURL, "secret": secret}, &e)
}

// Webhook reads a subscription's endpoint.
func (c *Client) Webhook(ctx context.Context, id string) (*Endpoint, error) {
	var e Endpoint
	return &e, c.do(ctx, http.MethodGet, webhookPath(id, ""), nil, &e)
}

// RotateWebhookSecret makes secret ("" lets the hub make one) the one that
// signs from now on; the old ones sign too for overlap (0 for the
// service's default). The answer holds the new secret, once, and OldUntil.
func (c *Client) RotateWebhookSecret(ctx context.Context, id, secret string, overlap time.Duration) (*Endpoint, error) {
	body := map[string]any{}
	if secret != "" {
		body["secret"] = secret
	}
	if overlap > 0 {
		body["overlapSeconds"] = int64(overlap / time.Second)
	}
	var e Endpoint
	return &e, c.do(ctx, http.MethodPost, webhookPath(id, "/rotate"), body, &e)
}

// EnableWebhook resumes sending to the endpoint, the backlog first.
func (c *Client) EnableWebhook(ctx context.Context, id string) (*Endpoint, error) {
	var e Endpoint
	return &e, c.do(ctx, http.MethodPost, webhookPath(id, "/enable"), nil, &e)
}

// DisableWebhook stops sending to the endpoint; events keep queueing.
func (c *Client) DisableWebhook(ctx context.Context, id string) (*Endpoint, error) {
	var e Endpoint
	return &e, c.do(ctx, http.MethodPost, webhookPath(id, "/disable"), nil, &e)
}

// WebhookAttempts reads a page of the delivery log, newest first.
func (c *Client) WebhookAttempts(ctx context.Context, id string, f AttemptFilter) ([]Attempt, error) {
	q := jsonapi.Query{}
	q.SetInt("message", f.Message)
	q.SetInt("before", f.Before)
	q.SetInt("limit", int64(f.Limit))
	var out struct {
		Attempts []Attempt `json:"attempts"`
	}
	return out.Attempts, c.do(ctx, http.MethodGet, q.Path(webhookPath(id, "/attempts")), nil, &out)
}

// WebhookMessage reads one queued message: its state, attempts and next
// attempt.
func (c *Client) WebhookMessage(ctx context.Context, id string, msg int64) (*Message, error) {
	var m Message
	return &m, c.do(ctx, http.MethodGet, webhookPath(id, "/messages/"+strconv.FormatInt(msg, 10)), nil, &m)
}

// Redeliver queues a message for an attempt now, also when it was
// delivered, failed or withheld; it keeps its webhook-id, and is projected
// again when sent (the subscription's current fields, the record's current
// protection). The answer is the message as it now stands.
func (c *Client) Redeliver(ctx context.Context, id string, msg int64) (*Message, error) {
	var m Message
	return &m, c.do(ctx, http.MethodPost, webhookPath(id, "/messages/"+strconv.FormatInt(msg, 10)+"/redeliver"), nil, &m)
}

func webhookPath(id, rest string) string { return subPath(id, "/webhook"+rest) }
