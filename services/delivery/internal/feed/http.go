package feed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/daemon"
	"github.com/samnav/samnav/pkg/httproute"
	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/pkg/sdk/envelope"
	"github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/delivery/internal/subscription"
)

func invalid(field, rule, msg string) *apierr.Error { return apierr.InvalidField(field, rule, msg) }

// Item, SnapshotPage and ChangesPage are the feed's wire types; the typed
// client (package client) is their one home.
type (
	Item         = client.Item
	SnapshotPage = client.SnapshotPage
	ChangesPage  = client.ChangesPage
)

// Handler returns the feed's HTTP API under prefix (e.g. "/api/v1/feeds"):
// GET {prefix}/{subscription}/snapshot and GET {prefix}/{subscription}/changes.
// It reads the caller from auth.FromContext: mount it behind
// auth.Middleware.
func (f *Feed) Handler(prefix string) http.Handler {
	mux := httproute.New()
	mux.AnswerUnmatched(apierr.NewWriter(f.logger))
	mux.HandleFunc("GET "+prefix+"/{subscription}/snapshot", f.ServeSnapshot)
	mux.HandleFunc("GET "+prefix+"/{subscription}/changes", f.ServeChanges)
	return mux
}

// ServeSnapshot serves one snapshot page. It needs the path value
// "subscription" (a mux pattern naming {subscription}).
func (f *Feed) ServeSnapshot(w http.ResponseWriter, r *http.Request) {
	page, err := f.snapshot(r)
	if err == nil {
		f.metrics.entries.Add(r.Context(), int64(len(page.Items)), f.metrics.snapshot)
	}
	f.respond(w, r, page, err)
}

// ServeChanges serves the changes after a cursor, long-polling with wait.
// It needs the path value "subscription".
//
// A long poll may outlast the server's WriteTimeout: it extends its own
// write deadline to the longest wait allowed plus writeMargin. It answers
// at once with what it has when the server begins to drain
// (daemon.Draining), so a shutdown is not held up by waiting readers.
func (f *Feed) ServeChanges(w http.ResponseWriter, r *http.Request) {
	// Not every ResponseWriter supports deadlines (a test recorder); the
	// server's own WriteTimeout then applies.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(f.cfg.MaxWait + writeMargin))
	page, err := f.changes(r)
	if err == nil {
		f.metrics.entries.Add(r.Context(), int64(len(page.Items)), f.metrics.changes)
	}
	f.respond(w, r, page, err)
}

// writeMargin is the time a long poll's answer may take to read and write
// after its wait.
const writeMargin = 30 * time.Second

// read is what both reads of a feed begin with: the path's subscription,
// if the caller may read its feed, the query, and the page size asked
// for.
func (f *Feed) read(r *http.Request) (client.Subscription, url.Values, int, error) {
	sub, err := f.authorize(r)
	if err != nil {
		return sub, nil, 0, err
	}
	q := r.URL.Query()
	limit, err := f.limit(q.Get("limit"))
	return sub, q, limit, err
}

func (f *Feed) snapshot(r *http.Request) (*SnapshotPage, error) {
	sub, q, limit, err := f.read(r)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	var cur cursor
	if s := q.Get("cursor"); s != "" {
		if cur, err = f.codec.decode(s, kindSnapshot, sub.ID); err != nil {
			return nil, badCursor(err)
		}
	} else {
		// The head is read before any state row: a change committed
		// before it is in the state read below, one committed after it
		// is in the changes after it.
		head, err := f.cfg.Store.Head(ctx, sub.ID)
		if err != nil {
			return nil, storeError(err)
		}
		cur = cursor{Kind: kindSnapshot, Sub: sub.ID, Pos: head}
	}
	entries, err := f.cfg.Store.Snapshot(ctx, sub.ID, cur.After, limit+1)
	if err != nil {
		return nil, storeError(err)
	}
	page := &SnapshotPage{Items: make([]Item, 0, min(len(entries), limit)),
		ChangesCursor: f.codec.encode(cursor{Kind: kindChanges, Sub: sub.ID, Pos: cur.Pos})}
	if len(entries) > limit {
		entries = entries[:limit]
		page.NextCursor = f.codec.encode(cursor{Kind: kindSnapshot, Sub: sub.ID, Pos: cur.Pos, After: entries[limit-1].Key})
	}
	for _, e := range entries {
		page.Items = append(page.Items, item(sub, e))
	}
	return page, nil
}

func (f *Feed) changes(r *http.Request) (*ChangesPage, error) {
	sub, q, limit, err := f.read(r)
	if err != nil {
		return nil, err
	}
	wait, err := f.wait(q.Get("wait"))
	if err != nil {
		return nil, err
	}
	s := q.Get("cursor")
	if s == "" {
		return nil, invalid("cursor", "required", "is required: start with /snapshot and follow its changesCursor")
	}
	cur, err := f.codec.decode(s, kindChanges, sub.ID)
	if err != nil {
		return nil, badCursor(err)
	}
	ctx := r.Context()
	var deadline <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		deadline = t.C
		defer f.metrics.waiting(ctx)()
	}
	draining := daemon.Draining(ctx)
	for {
		woken := f.waiter(sub.ID)
		entries, err := f.cfg.Store.Changes(ctx, sub.ID, cur.Pos, limit+1)
		if err != nil {
			return nil, storeError(err)
		}
		if len(entries) > 0 && entries[0].Position != cur.Pos+1 {
			// Positions are gapless: a gap after the cursor means the
			// entries in it were pruned or purged.
			return nil, SnapshotRequired()
		}
		if len(entries) > 0 || deadline == nil {
			page := &ChangesPage{Items: make([]Item, 0, min(len(entries), limit))}
			if len(entries) > limit {
				entries, page.More = entries[:limit], true
			}
			for _, e := range entries {
				page.Items = append(page.Items, item(sub, e))
				cur.Pos = e.Position
			}
			page.NextCursor = f.codec.encode(cursor{Kind: kindChanges, Sub: sub.ID, Pos: cur.Pos})
			return page, nil
		}
		poll := time.NewTimer(f.cfg.PollInterval)
		select {
		case <-woken:
		case <-poll.C:
		case <-deadline:
			deadline = nil // read once more, then answer
		case <-draining:
			deadline, draining = nil, nil // the server is stopping: read once more, then answer
		case <-ctx.Done():
			poll.Stop()
			return nil, apierr.Unavailable("request ended while waiting").Wrap(ctx.Err())
		}
		poll.Stop()
	}
}

// authorize returns the subscription named in the path if the caller is
// its system and it is approved.
func (f *Feed) authorize(r *http.Request) (client.Subscription, error) {
	p := auth.FromContext(r.Context())
	if p == nil {
		return client.Subscription{}, apierr.Unauthorized("the feed needs credentials of the subscribing system").Wrap(auth.ErrUnauthenticated)
	}
	id := r.PathValue("subscription")
	sub, ok, err := f.cfg.Subscriptions(r.Context(), id)
	if err != nil {
		return sub, apierr.Unavailable("look up subscription").Wrap(err)
	}
	if !ok || sub.Channel != client.ChannelFeed {
		return sub, apierr.Errorf(apierr.CodeNotFound, "subscription %q has no feed", id)
	}
	if subscription.SystemOf(p) != sub.System {
		// To a caller who may not read the subscription it does not
		// exist, as on the subscription API: neither its id nor its
		// system is confirmed.
		if !subscription.Readable(p, sub) {
			return sub, apierr.Errorf(apierr.CodeNotFound, "subscription %q has no feed", id).Wrap(auth.ErrForbidden)
		}
		return sub, apierr.Errorf(apierr.CodeForbidden, "only the subscribing system may read the feed of subscription %q", id).Wrap(auth.ErrForbidden)
	}
	if !sub.Delivering() {
		return sub, apierr.Errorf(apierr.CodeForbidden, "subscription %q is %s, not approved", id, sub.Status).Wrap(auth.ErrForbidden)
	}
	return sub, nil
}

func (f *Feed) limit(s string) (int, error) {
	if s == "" {
		return f.cfg.DefaultLimit, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > f.cfg.MaxLimit {
		return 0, invalid("limit", "range", fmt.Sprintf("must be a whole number from 1 to %d", f.cfg.MaxLimit))
	}
	return n, nil
}

// wait accepts a Go duration ("30s", "1m") or whole seconds ("30").
func (f *Feed) wait(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		n, err2 := strconv.Atoi(s)
		if err2 != nil {
			return 0, invalid("wait", "duration", `must be a duration such as "30s" or whole seconds`)
		}
		d = time.Duration(n) * time.Second
	}
	if d < 0 || d > f.cfg.MaxWait {
		return 0, invalid("wait", "range", fmt.Sprintf("must be from 0 to %s", f.cfg.MaxWait))
	}
	return d, nil
}

func item(sub client.Subscription, e Entry) Item {
	it := Item{SpecVersion: envelope.SpecVersion, ID: e.EventID, Source: envelope.FeedSource(sub.ID),
		Type: envelope.EventType(e.Concept, envelope.Kind(e.Type)), Subject: e.Key, Time: envelope.FormatTime(e.Time),
		DataContentType: envelope.ContentTypeJSON, Revision: e.Revision, TraceParent: e.Trace, Data: e.State}
	if e.EndedAt != nil {
		it.EndedAt = envelope.FormatTime(*e.EndedAt)
	}
	if it.Data == nil {
		it.Data = json.RawMessage("null")
	}
	return it
}

func badCursor(err error) *apierr.Error {
	msg := err.Error()
	var ce *cursorErr
	if errors.As(err, &ce) {
		msg = ce.rule
	}
	return invalid("cursor", "valid", msg)
}

func storeError(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return apierr.Unavailable("read feed").Wrap(err)
	}
	return apierr.Internal("read feed").Wrap(err)
}

// SnapshotRequired answers a cursor whose following changes are no longer
// kept (older than the feed's retention, or the feed was rebuilt after
// its subscription was narrowed or widened): not_found, with HTTP 410
// Gone. The reader starts again from /snapshot.
func SnapshotRequired() *apierr.Error {
	return apierr.NotFound("cursor expired: the changes after it are no longer kept (older than the feed's retention, or the feed was rebuilt when its subscription was narrowed or widened); take a new snapshot from /snapshot").
		WithStatus(http.StatusGone)
}

// respond answers body, or err through apierr (a 5xx logged with its
// cause; a reader leaving a long poll only at debug).
func (f *Feed) respond(w http.ResponseWriter, r *http.Request, body any, err error) {
	if err != nil {
		apierr.NewWriter(f.logger).Write(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(body)
}
