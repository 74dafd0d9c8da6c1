package api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// The delivery service's subscription, webhook, lag and recent-delivery
// APIs, for the console's subscriptions, system map and live flow pages.

// LegalBasis is a subscription's GDPR article 6(1) basis and the law or
// decision it rests on.
type LegalBasis struct {
	Basis     string `json:"basis"`
	Reference string `json:"reference"`
}

// SubscriptionRecord is a subscription with every field the delivery API
// shows.
type SubscriptionRecord struct {
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

// SubscriptionChange is one decision in a subscription's history.
type SubscriptionChange struct {
	At     time.Time          `json:"at"`
	Actor  string             `json:"actor"`
	Action string             `json:"action"`
	Reason string             `json:"reason"`
	After  SubscriptionRecord `json:"after"`
}

// SubscriptionRequest is what a system asks for.
type SubscriptionRequest struct {
	System              string     `json:"system,omitempty"`
	Concept             string     `json:"concept"`
	Purpose             string     `json:"purpose"`
	LegalBasis          LegalBasis `json:"legalBasis"`
	Channel             string     `json:"channel"`
	Fields              []string   `json:"fields"`
	ProtectedIdentities bool       `json:"protectedIdentities"`
	Reason              string     `json:"reason"`
}

// SubscriptionDecision is an owner's approve (Fields: the approved subset,
// empty for all requested), reject or revoke.
type SubscriptionDecision struct {
	Fields              []string `json:"fields,omitempty"`
	ProtectedIdentities bool     `json:"protectedIdentities"`
	Reason              string   `json:"reason"`
}

// Decision actions of DecideSubscription.
const (
	DecisionApprove = "approve"
	DecisionReject  = "reject"
	DecisionRevoke  = "revoke"
)

// ListSubscriptions lists every subscription the caller may read; filter
// holds system, concept, status. It follows the list's pages (limit,
// cursor, next) to the last.
func (c *Client) ListSubscriptions(ctx context.Context, token string, filter url.Values) ([]SubscriptionRecord, error) {
	var all []SubscriptionRecord
	q := url.Values{}
	for k, v := range filter {
		q[k] = v
	}
	q.Set("limit", strconv.Itoa(subscriptionPage))
	for {
		var out struct {
			Subscriptions []SubscriptionRecord `json:"subscriptions"`
			Next          string               `json:"next"`
		}
		u := join(c.DeliveryURL, "api", "v1", "subscriptions") + "?" + q.Encode()
		if err := c.delivery(ctx, token, http.MethodGet, u, nil, &out); err != nil {
			return nil, err
		}
		all = append(all, out.Subscriptions...)
		if out.Next == "" {
			return all, nil
		}
		q.Set("cursor", out.Next)
	}
}

// subscriptionPage is how many subscriptions ListSubscriptions asks for
// at once: the API's largest page.
const subscriptionPage = 1000

// GetSubscription returns one subscription.
func (c *Client) GetSubscription(ctx context.Context, token, id string) (*SubscriptionRecord, error) {
	return fetch[SubscriptionRecord](ctx, c, token, http.MethodGet, join(c.DeliveryURL, "api", "v1", "subscriptions", id), nil, nil)
}

// SubscriptionHistory returns a subscription's decisions, oldest first.
func (c *Client) SubscriptionHistory(ctx context.Context, token, id string) ([]SubscriptionChange, error) {
	var out struct {
		Changes []SubscriptionChange `json:"changes"`
	}
	return out.Changes, c.delivery(ctx, token, http.MethodGet, join(c.DeliveryURL, "api", "v1", "subscriptions", id, "history"), nil, &out)
}

// RequestSubscription files a request. An invalid one fails with a 400
// *Error whose Fields name each field and its rule.
func (c *Client) RequestSubscription(ctx context.Context, token string, r SubscriptionRequest) (*SubscriptionRecord, error) {
	return fetch[SubscriptionRecord](ctx, c, token, http.MethodPost, join(c.DeliveryURL, "api", "v1", "subscriptions"), nil, r)
}

// DecideSubscription approves (or narrows), rejects or revokes; action is
// one of DecisionApprove, DecisionReject, DecisionRevoke.
func (c *Client) DecideSubscription(ctx context.Context, token, id, action string, d SubscriptionDecision) (*SubscriptionRecord, error) {
	return fetch[SubscriptionRecord](ctx, c, token, http.MethodPost, join(c.DeliveryURL, "api", "v1", "subscriptions", id, action), nil, d)
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
// of its state topic.
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

// Lag is GET /api/v1/subscriptions/{id}/lag.
type Lag struct {
	Subscription string       `json:"subscription"`
	Status       string       `json:"status"`
	Channels     []ChannelLag `json:"channels"`
	// Failing is why delivery is stopped and retried (a refused rebuild,
	// say); empty while it runs.
	Failing string `json:"failing,omitempty"`
}

// SubscriptionLag returns how far a subscription is behind.
func (c *Client) SubscriptionLag(ctx context.Context, token, id string) (*Lag, error) {
	return fetch[Lag](ctx, c, token, http.MethodGet, join(c.DeliveryURL, "api", "v1", "subscriptions", id, "lag"), nil, nil)
}

// WebhookEndpoint is a subscription's webhook endpoint.
type WebhookEndpoint struct {
	SubscriptionID      string    `json:"subscriptionId"`
	URL                 string    `json:"url"`
	Owner               string    `json:"owner"`
	Status              string    `json:"status"`
	DisabledReason      string    `json:"disabledReason,omitempty"`
	DisabledAt          time.Time `json:"disabledAt,omitzero"`
	FailingSince        time.Time `json:"failingSince,omitzero"`
	ConsecutiveFailures int       `json:"consecutiveFailures"`
	CreatedAt           time.Time `json:"createdAt"`
}

// WebhookAttempt is one attempt to deliver a webhook message.
type WebhookAttempt struct {
	ID         int64     `json:"id"`
	MessageID  int64     `json:"messageId"`
	EventID    string    `json:"eventId"`
	N          int       `json:"n"`
	Trigger    string    `json:"trigger"`
	At         time.Time `json:"at"`
	StatusCode int       `json:"statusCode,omitempty"`
	LatencyNs  int64     `json:"latencyNs"`
	Error      string    `json:"error,omitempty"`
}

// WebhookMessage is one queued webhook message and where it stands.
type WebhookMessage struct {
	ID            int64     `json:"id"`
	EventID       string    `json:"eventId"`
	Key           string    `json:"key"`
	Type          string    `json:"type"`
	CreatedAt     time.Time `json:"createdAt"`
	State         string    `json:"state"`
	Attempts      int       `json:"attempts"`
	NextAttemptAt time.Time `json:"nextAttemptAt"`
	LastError     string    `json:"lastError,omitempty"`
}

func (c *Client) webhookURL(id string, elems ...string) string {
	return join(c.DeliveryURL, append([]string{"api", "v1", "subscriptions", id, "webhook"}, elems...)...)
}

// Webhook returns a subscription's endpoint.
func (c *Client) Webhook(ctx context.Context, token, id string) (*WebhookEndpoint, error) {
	return fetch[WebhookEndpoint](ctx, c, token, http.MethodGet, c.webhookURL(id), nil, nil)
}

// WebhookAttempts returns the newest attempts (at most limit).
func (c *Client) WebhookAttempts(ctx context.Context, token, id string, limit int) ([]WebhookAttempt, error) {
	var out struct {
		Attempts []WebhookAttempt `json:"attempts"`
	}
	u := c.webhookURL(id, "attempts") + "?limit=" + strconv.Itoa(limit)
	return out.Attempts, c.delivery(ctx, token, http.MethodGet, u, nil, &out)
}

// WebhookMessage returns one message.
func (c *Client) WebhookMessage(ctx context.Context, token, id string, msg int64) (*WebhookMessage, error) {
	return fetch[WebhookMessage](ctx, c, token, http.MethodGet, c.webhookURL(id, "messages", strconv.FormatInt(msg, 10)), nil, nil)
}

// RedeliverWebhook queues a message for another attempt now.
func (c *Client) RedeliverWebhook(ctx context.Context, token, id string, msg int64) error {
	return c.delivery(ctx, token, http.MethodPost, c.webhookURL(id, "messages", strconv.FormatInt(msg, 10), "redeliver"), nil, nil)
}

// SetWebhookEnabled enables or disables an endpoint.
func (c *Client) SetWebhookEnabled(ctx context.Context, token, id string, enabled bool) error {
	action := "disable"
	if enabled {
		action = "enable"
	}
	return c.delivery(ctx, token, http.MethodPost, c.webhookURL(id, action), nil, nil)
}

// Delivery is one event a channel accepted, from the recent-deliveries
// window.
type Delivery struct {
	Seq          uint64    `json:"seq"`
	Subscription string    `json:"subscription"`
	System       string    `json:"system"`
	Concept      string    `json:"concept"`
	Channel      string    `json:"channel"`
	RecordID     string    `json:"recordId"`
	EventID      string    `json:"eventId"`
	Operation    string    `json:"operation"`
	Revision     int64     `json:"revision"`
	ChangedAt    time.Time `json:"changedAt"`
	DeliveredAt  time.Time `json:"deliveredAt"`
	Fields       []string  `json:"fields"`
}

// RecentDeliveries is GET /api/v1/deliveries/recent.
type RecentDeliveries struct {
	Deliveries []Delivery `json:"deliveries"`
	Next       uint64     `json:"next"`
}

// Recent returns the deliveries after the cursor that the caller may see.
func (c *Client) Recent(ctx context.Context, token string, after uint64, limit int) (*RecentDeliveries, error) {
	u := join(c.DeliveryURL, "api", "v1", "deliveries", "recent") + "?after=" + strconv.FormatUint(after, 10) + "&limit=" + strconv.Itoa(limit)
	return fetch[RecentDeliveries](ctx, c, token, http.MethodGet, u, nil, nil)
}
