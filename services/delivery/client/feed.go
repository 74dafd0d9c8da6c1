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

// Item is one event as the feed serves it: a CloudEvents 1.0 JSON event.
type Item struct {
	SpecVersion     string `json:"specversion"`
	ID              string `json:"id"`
	Source          string `json:"source"`
	Type            string `json:"type"`
	Subject         string `json:"subject"`
	Time            string `json:"time"`
	DataContentType string `json:"datacontenttype"`
	// Revision is the record's revision; it grows with every change of
	// one record, so a receiver can drop a state older than one it holds.
	Revision int64  `json:"revision"`
	EndedAt  string `json:"endedat,omitempty"`
	// TraceParent is the W3C traceparent of the change (CloudEvents
	// distributed tracing extension).
	TraceParent string `json:"traceparent,omitempty"`
	// Data is the projected record; null for an erased one.
	Data json.RawMessage `json:"data"`
}

// SnapshotPage is a page of a feed's snapshot.
type SnapshotPage struct {
	Items []Item `json:"items"`
	// NextCursor fetches the next page; "" on the last one.
	NextCursor string `json:"nextCursor,omitempty"`
	// ChangesCursor is where Changes continues after the snapshot: the
	// change-log position when the snapshot began. Same on every page.
	ChangesCursor string `json:"changesCursor"`
}

// ChangesPage is the changes after a cursor.
type ChangesPage struct {
	Items []Item `json:"items"`
	// NextCursor continues after the last item (the request's cursor when
	// there are no items).
	NextCursor string `json:"nextCursor"`
	// More is true when further events are waiting: ask again at once.
	More bool `json:"more"`
}

// Delivery is one event a channel accepted for one subscription: written
// to the view topic, queued for the webhook, appended to the feed.
type Delivery struct {
	// Seq orders the deliveries of one delivery process: 1, 2, 3, ...
	Seq          uint64 `json:"seq"`
	Subscription string `json:"subscription"`
	System       string `json:"system"`
	Concept      string `json:"concept"`
	// Channel is kafka, webhook or feed.
	Channel  string `json:"channel"`
	RecordID string `json:"recordId"`
	EventID  string `json:"eventId"`
	// Operation is changed, ended or erased.
	Operation string `json:"operation"`
	Revision  int64  `json:"revision"`
	// ChangedAt is when the master committed the change.
	ChangedAt time.Time `json:"changedAt"`
	// DeliveredAt is when the channel accepted the event.
	DeliveredAt time.Time `json:"deliveredAt"`
	// Fields are the attributes that went (the projection's, without the
	// record id), sorted.
	Fields []string `json:"fields"`
}

// RecentDeliveries is a page of the recent deliveries; pass Next as after
// to get what follows.
type RecentDeliveries struct {
	Deliveries []Delivery `json:"deliveries"`
	// Next is the cursor to pass as after to get what follows.
	Next uint64 `json:"next"`
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
