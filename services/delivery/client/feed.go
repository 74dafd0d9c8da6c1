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

// Item is one feed event (CloudEvents 1.0 JSON).
type Item struct {
	ID          string          `json:"id"`
	Source      string          `json:"source"`
	Type        string          `json:"type"`
	Subject     string          `json:"subject"`
	Time        string          `json:"time"`
	Revision    int64           `json:"revision"`
	EndedAt     string          `json:"endedat,omitempty"`
	Traceparent string          `json:"traceparent,omitempty"`
	Data        json.RawMessage `json:"data"`
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

// Delivery is one event a channel accepted: written to the view topic,
// queued for the webhook, appended to the feed.
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

// RecentDeliveries is a page of the recent deliveries; pass Next as after
// to get what follows.
type RecentDeliveries struct {
	Deliveries []Delivery `json:"deliveries"`
	Next       uint64     `json:"next"`
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

// Recent reads the deliveries after the sequence number after that the
// caller may see, oldest first, at most limit (0 for the service's
// default); with wait (whole seconds count) the answer is held until one
// newer than after arrives.
func (c *Client) Recent(ctx context.Context, after uint64, limit int, wait time.Duration) (*RecentDeliveries, error) {
	q := jsonapi.Query{}
	if after > 0 {
		q.Set("after", strconv.FormatUint(after, 10))
	}
	q.SetInt("limit", int64(limit))
	q.SetInt("wait", int64(wait/time.Second))
	var out RecentDeliveries
	return &out, c.do(ctx, http.MethodGet, q.Path("/api/v1/deliveries/recent"), nil, &out)
}

func feedPath(sub, what, cursor string, limit int, wait time.Duration) string {
	q := jsonapi.Query{}
	q.Set("cursor", cursor)
	q.SetInt("limit", int64(limit))
	if wait > 0 {
		q.Set("wait", wait.String())
	}
	return q.Path("/api/v1/feeds/" + url.PathEscape(sub) + "/" + what)
}
