package feed_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/pkg/sdk/poll"
	dclient "github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/delivery/internal/channel"
	"github.com/samnav/samnav/services/delivery/internal/feed"
	"github.com/samnav/samnav/services/delivery/internal/pipeline"
)

const prefix = "/api/v1/feeds"

var key = []byte("0123456789abcdef0123456789abcdef")

type fixture struct {
	t    *testing.T
	feed *feed.Feed
	srv  *httptest.Server
	subs map[string]dclient.Subscription
	// tokens per system id
	tokens map[string]string
}

func sub(id, system string) dclient.Subscription {
	return dclient.Subscription{ID: id, System: system, Concept: "person", Major: 1, Channel: dclient.ChannelFeed,
		Status: dclient.StatusApproved, ApprovedFields: []string{"givenNames"}}
}

// newFixture serves a feed on SQLite behind the real token authentication,
// mounted as the report tells the integrator to.
func newFixture(t *testing.T, mod func(*feed.Config)) *fixture {
	t.Helper()
	f := &fixture{t: t, tokens: map[string]string{}, subs: map[string]dclient.Subscription{
		"sub-school":  sub("sub-school", "school"),
		"sub-library": sub("sub-library", "library"),
		"sub-hooks":   {ID: "sub-hooks", System: "school", Channel: dclient.ChannelWebhook, Status: dclient.StatusApproved},
		"sub-revoked": {ID: "sub-revoked", System: "school", Channel: dclient.ChannelFeed, Status: dclient.StatusRevoked},
	}}
	cfg := feed.Config{
		Store:     newSQLiteStore(t),
		CursorKey: key,
		Subscriptions: func(_ context.Context, id string) (dclient.Subscription, bool, error) {
			s, ok := f.subs[id]
			return s, ok, nil
		},
		MaxWait: 30 * time.Second,
		// Long enough that a test passing in time proves the wake-up
		// came from Deliver, not from the poll.
		PollInterval: time.Hour,
	}
	if mod != nil {
		mod(&cfg)
	}
	fd, err := feed.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.feed = fd
	tokens := &auth.Tokens{Store: &auth.MemoryStore{}}
	for _, sys := range []string{"school", "library"} {
		secret, _, err := tokens.Issue(context.Background(), auth.IssueRequest{Subject: sys, Kind: auth.KindSystem, Name: sys,
			Grants: []auth.Grant{{Role: auth.RolePublisher, System: sys}}})
		if err != nil {
			t.Fatal(err)
		}
		f.tokens[sys] = secret
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+prefix+"/", fd.Handler(prefix))
	f.srv = httptest.NewServer(auth.Middleware(tokens, apierr.Write)(mux))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) deliver(subID string, evs ...channel.Event) {
	f.t.Helper()
	for _, ev := range evs {
		if err := f.feed.Deliver(context.Background(), f.subs[subID], ev); err != nil {
			f.t.Fatalf("deliver %s: %v", ev.EventID, err)
		}
	}
}

type response struct {
	status int
	body   []byte
}

func (f *fixture) get(system, path string, q url.Values) response {
	f.t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, f.srv.URL+path+"?"+q.Encode(), nil)
	if err != nil {
		f.t.Fatal(err)
	}
	if system != "" {
		req.Header.Set("Authorization", "Bearer "+f.tokens[system])
	}
	client := &http.Client{Timeout: 20 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return response{status: -1, body: []byte(err.Error())}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{status: -1, body: []byte(err.Error())}
	}
	return response{resp.StatusCode, b}
}

func (f *fixture) snapshot(subID string, q url.Values) feed.SnapshotPage {
	f.t.Helper()
	return page[feed.SnapshotPage](f, subID, "snapshot", q)
}

func (f *fixture) changes(subID string, q url.Values) feed.ChangesPage {
	f.t.Helper()
	return page[feed.ChangesPage](f, subID, "changes", q)
}

// page reads one page of subID's feed endpoint (snapshot or changes) as
// the school, failing the test on anything but a 200.
func page[P any](f *fixture, subID, endpoint string, q url.Values) P {
	f.t.Helper()
	r := f.get("school", prefix+"/"+subID+"/"+endpoint, q)
	if r.status != http.StatusOK {
		f.t.Fatalf("%s: %d %s", endpoint, r.status, r.body)
	}
	var p P
	if err := json.Unmarshal(r.body, &p); err != nil {
		f.t.Fatal(err)
	}
	return p
}

var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

func changed(key string, rev int64, name string) channel.Event {
	return channel.Event{SubscriptionID: "sub-school", System: "school", Concept: "person", Key: key,
		EventID: fmt.Sprintf("%s-r%d", key, rev), Type: channel.TypeChanged, Time: t0.Add(time.Duration(rev) * time.Minute), Revision: rev,
		State: map[string]any{"id": key, "givenNames": name}, Trace: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		Topic: "samnav.person.v1", Partition: 0, Offset: rev}
}

func subjects(items []feed.Item) string {
	var b strings.Builder
	for _, it := range items {
		var d map[string]any
		_ = json.Unmarshal(it.Data, &d)
		fmt.Fprintf(&b, "%s:%s:%v ", it.Subject, it.Type[strings.LastIndex(it.Type, ".")+1:], d["givenNames"])
	}
	return strings.TrimSpace(b.String())
}

// TestSnapshotThenFollow pages a snapshot while records change, then
// follows the changes cursor: every change made during paging arrives, the
// final state per record equals the feed's newest, nothing is missing.
func TestSnapshotThenFollow(t *testing.T) {
	f := newFixture(t, nil)
	for i, k := range []string{"p1", "p2", "p3", "p4", "p5"} {
		f.deliver("sub-school", changed(k, 1, fmt.Sprintf("n%d", i+1)))
	}
	page := f.snapshot("sub-school", url.Values{"limit": {"2"}})
	if got := subjects(page.Items); got != "p1:changed:n1 p2:changed:n2" || page.NextCursor == "" || page.ChangesCursor == "" {
		t.Fatalf("page 1 = %q, next %q, changes %q", got, page.NextCursor, page.ChangesCursor)
	}
	follow := page.ChangesCursor
	// While the reader pages: p1 (already paged) changes, p4 (not yet
	// paged) is erased, p6 is new.
	erase := channel.Event{SubscriptionID: "sub-school", Concept: "person", Key: "p4", EventID: "p4-r2", Type: channel.TypeErased, Time: t0, Revision: 2}
	f.deliver("sub-school", changed("p1", 2, "n1b"), erase, changed("p6", 1, "n6"))

	var snap []feed.Item
	snap = append(snap, page.Items...)
	for page.NextCursor != "" {
		next := f.snapshot("sub-school", url.Values{"limit": {"2"}, "cursor": {page.NextCursor}})
		if next.ChangesCursor != follow {
			t.Fatalf("changes cursor moved during paging: %q then %q", follow, next.ChangesCursor)
		}
		snap = append(snap, next.Items...)
		page = next
	}
	if got := subjects(snap); got != "p1:changed:n1 p2:changed:n2 p3:changed:n3 p5:changed:n5 p6:changed:n6" {
		t.Fatalf("snapshot = %q", got)
	}
	ch := f.changes("sub-school", url.Values{"cursor": {follow}})
	if got := subjects(ch.Items); got != "p1:changed:n1b p4:erased:<nil> p6:changed:n6" {
		t.Fatalf("changes after the snapshot = %q", got)
	}
	if string(ch.Items[1].Data) != "null" {
		t.Errorf("erased data = %s, want null", ch.Items[1].Data)
	}
	// Applying snapshot then changes gives the feed's current state.
	state := map[string]string{}
	for _, it := range append(snap, ch.Items...) {
		if string(it.Data) == "null" {
			delete(state, it.Subject)
		} else {
			state[it.Subject] = string(it.Data)
		}
	}
	again := f.snapshot("sub-school", url.Values{"limit": {"100"}})
	if len(again.Items) != len(state) {
		t.Fatalf("reader holds %d records, feed %d", len(state), len(again.Items))
	}
	for _, it := range again.Items {
		if state[it.Subject] != string(it.Data) {
			t.Errorf("%s: reader holds %s, feed %s", it.Subject, state[it.Subject], it.Data)
		}
	}
	// At the head: no items, the same position, no more.
	end := f.changes("sub-school", url.Values{"cursor": {ch.NextCursor}})
	if len(end.Items) != 0 || end.More {
		t.Fatalf("at the head: %q more=%v", subjects(end.Items), end.More)
	}
}

// TestChangesAreTheProjectedEvents: what the feed serves is exactly what
// the pipeline delivered (the same events the Kafka channel gets): id,
// type, key, time, revision, end time, trace and the projected state.
func TestChangesAreTheProjectedEvents(t *testing.T) {
	f := newFixture(t, nil)
	ended := t0.Add(3 * time.Hour)
	evs := []channel.Event{
		changed("p1", 1, "Åsa"),
		{SubscriptionID: "sub-school", Concept: "person", Key: "p1", EventID: "e-end", Type: channel.TypeEnded, Time: t0.Add(time.Hour), Revision: 2, EndedAt: &ended,
			State: map[string]any{"id": "p1", "givenNames": "Åsa", "registeredAddress": map[string]any{"city": "Stockholm"}, "phoneNumbers": []any{"+4681234"}, "n": int64(42)}},
		{SubscriptionID: "sub-school", Concept: "person", Key: "p1", EventID: "e-erase", Type: channel.TypeErased, Time: t0.Add(2 * time.Hour), Revision: 3},
	}
	start := f.snapshot("sub-school", nil).ChangesCursor
	f.deliver("sub-school", evs...)
	// A redelivery (same event id) is accepted and not served twice.
	f.deliver("sub-school", evs[0])
	q := url.Values{"limit": {"1"}}
	var items []feed.Item
	page := f.snapshot("sub-school", nil)
	if len(page.Items) != 0 {
		t.Fatalf("an erased record is in the snapshot: %q", subjects(page.Items))
	}
	q.Set("cursor", start)
	for {
		p := f.changes("sub-school", q)
		items = append(items, p.Items...)
		q.Set("cursor", p.NextCursor)
		if !p.More {
			break
		}
	}
	if len(items) != len(evs) {
		t.Fatalf("served %d items, want %d", len(items), len(evs))
	}
	for i, ev := range evs {
		it := items[i]
		tm, err := time.Parse(time.RFC3339Nano, it.Time)
		if err != nil || !tm.Equal(ev.Time) || it.ID != ev.EventID || it.Type != "se.samnav.person."+ev.Type || it.Subject != ev.Key ||
			it.Revision != ev.Revision || it.TraceParent != ev.Trace || it.SpecVersion != "1.0" {
			t.Errorf("item %d = %+v, want event %+v", i, it, ev)
		}
		var want, got any
		wantJSON, _ := json.Marshal(ev.State)
		_ = json.Unmarshal(wantJSON, &want)
		if err := json.Unmarshal(it.Data, &got); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("item %d data = %s, want %s", i, it.Data, wantJSON)
		}
	}
	if items[1].EndedAt != ended.Format(time.RFC3339Nano) {
		t.Errorf("endedat = %q", items[1].EndedAt)
	}
}

// TestLongPollWakesOnDeliver: a reader at the head waits; a Deliver wakes
// it with the new event long before its wait (and the poll interval,
// an hour here) ends.
func TestLongPollWakesOnDeliver(t *testing.T) {
	f := newFixture(t, nil)
	head := f.snapshot("sub-school", nil).ChangesCursor
	// Deliver to another subscription first: it must not wake this one
	// with nothing; then to this one.
	woken := f.longPoll(head)
	lib := changed("p9", 1, "x")
	lib.SubscriptionID = "sub-library"
	f.deliver("sub-library", lib)
	f.deliver("sub-school", changed("p1", 1, "Nils"))
	if p := woken("Deliver"); subjects(p.Items) != "p1:changed:Nils" {
		t.Fatalf("woken with %q", subjects(p.Items))
	}
}

// TestLongPollTimesOut: with nothing delivered, wait ends with no items
// and the same cursor position.
func TestLongPollTimesOut(t *testing.T) {
	f := newFixture(t, nil)
	head := f.snapshot("sub-school", nil).ChangesCursor
	p := f.changes("sub-school", url.Values{"cursor": {head}, "wait": {"200ms"}})
	if len(p.Items) != 0 || p.NextCursor != head {
		t.Fatalf("after a quiet wait: %q, cursor %q (want %q)", subjects(p.Items), p.NextCursor, head)
	}
}

// TestRequestsRefused: bad parameters name themselves; callers other than
// the subscription's system, and subscriptions that are not approved feeds,
// are refused.
func TestRequestsRefused(t *testing.T) {
	f := newFixture(t, nil)
	f.deliver("sub-school", changed("p1", 1, "a"), changed("p2", 1, "b"))
	snap := f.snapshot("sub-school", url.Values{"limit": {"1"}})
	changesCur := snap.ChangesCursor
	libCur := func() string {
		r := f.get("library", prefix+"/sub-library/snapshot", nil)
		var p feed.SnapshotPage
		_ = json.Unmarshal(r.body, &p)
		return p.ChangesCursor
	}()
	other := newFixture(t, func(c *feed.Config) { c.CursorKey = []byte("another key, another key, another key") })
	foreignKey := other.snapshot("sub-school", nil).ChangesCursor
	tampered := []byte(changesCur)
	tampered[3] ^= 1

	tests := []struct {
		name, system, path string
		q                  url.Values
		status             int
		field              string
		rule               string
	}{
		{"garbage cursor", "school", "/sub-school/changes", url.Values{"cursor": {"not-a-cursor"}}, 400, "cursor", "valid"},
		{"bad base64", "school", "/sub-school/snapshot", url.Values{"cursor": {"!!!.###"}}, 400, "cursor", "valid"},
		{"tampered cursor", "school", "/sub-school/changes", url.Values{"cursor": {string(tampered)}}, 400, "cursor", "valid"},
		{"cursor of another feed key", "school", "/sub-school/changes", url.Values{"cursor": {foreignKey}}, 400, "cursor", "valid"},
		{"cursor of another subscription", "school", "/sub-school/changes", url.Values{"cursor": {libCur}}, 400, "cursor", "valid"},
		{"snapshot cursor on changes", "school", "/sub-school/changes", url.Values{"cursor": {snap.NextCursor}}, 400, "cursor", "valid"},
		{"changes cursor on snapshot", "school", "/sub-school/snapshot", url.Values{"cursor": {changesCur}}, 400, "cursor", "valid"},
		{"missing changes cursor", "school", "/sub-school/changes", nil, 400, "cursor", "required"},
		{"limit zero", "school", "/sub-school/snapshot", url.Values{"limit": {"0"}}, 400, "limit", "range"},
		{"limit too big", "school", "/sub-school/changes", url.Values{"limit": {"1001"}, "cursor": {changesCur}}, 400, "limit", "range"},
		{"wait not a duration", "school", "/sub-school/changes", url.Values{"wait": {"soon"}, "cursor": {changesCur}}, 400, "wait", "duration"},
		{"wait over the maximum", "school", "/sub-school/changes", url.Values{"wait": {"31s"}, "cursor": {changesCur}}, 400, "wait", "range"},
		{"anonymous", "", "/sub-school/snapshot", nil, 401, "", ""},
		// Another system's subscription does not exist for it.
		{"other system", "library", "/sub-school/snapshot", nil, 404, "", ""},
		{"other system, changes", "library", "/sub-school/changes", url.Values{"cursor": {changesCur}}, 404, "", ""},
		{"revoked subscription", "school", "/sub-revoked/snapshot", nil, 403, "", ""},
		{"webhook subscription", "school", "/sub-hooks/snapshot", nil, 404, "", ""},
		{"unknown subscription", "school", "/nope/snapshot", nil, 404, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.get(tc.system, prefix+tc.path, tc.q)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			var body apierr.Problem
			if err := json.Unmarshal(r.body, &body); err != nil {
				t.Fatalf("body %s: %v", r.body, err)
			}
			if body.Status != tc.status || body.Code.Status() != tc.status {
				t.Fatalf("problem %s, want status %d", r.body, tc.status)
			}
			if tc.field != "" && (len(body.Fields) != 1 || body.Fields[0].Field != tc.field || body.Fields[0].Rule != tc.rule) {
				t.Fatalf("error %s, want field %s rule %s", r.body, tc.field, tc.rule)
			}
			if body.Detail == "" {
				t.Fatalf("error without a message: %s", r.body)
			}
		})
	}
}

// TestDeliverRefusesBrokenEvents: an event that breaks the seam's contract
// is refused and leaves nothing in the feed.
func TestDeliverRefusesBrokenEvents(t *testing.T) {
	f := newFixture(t, nil)
	s := f.subs["sub-school"]
	ok := changed("p1", 1, "a")
	tests := []struct {
		name string
		mod  func(*channel.Event)
	}{
		{"unknown type", func(e *channel.Event) { e.Type = "deleted" }},
		{"erased with state", func(e *channel.Event) { e.Type = channel.TypeErased }},
		{"changed without state", func(e *channel.Event) { e.State = nil }},
		{"no key", func(e *channel.Event) { e.Key = "" }},
		{"no event id", func(e *channel.Event) { e.EventID = "" }},
		{"another subscription's event", func(e *channel.Event) { e.SubscriptionID = "sub-library" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := ok
			tc.mod(&ev)
			if err := f.feed.Deliver(context.Background(), s, ev); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	if p := f.snapshot("sub-school", nil); len(p.Items) != 0 {
		t.Fatalf("refused events were stored: %q", subjects(p.Items))
	}
}

// The pipeline hands a Batcher whole batches; the feed must be one.
var _ pipeline.Batcher = (*feed.Feed)(nil)

// TestDeliverBatchIsAllOrNothing: a batch with one broken event is refused
// with Deliver's reasons for it and stores none of its events; a good batch
// is stored in order, a repeated event once, and wakes a waiting reader.
func TestDeliverBatchIsAllOrNothing(t *testing.T) {
	f := newFixture(t, nil)
	s := f.subs["sub-school"]
	ctx := context.Background()
	head := f.snapshot("sub-school", nil).ChangesCursor
	for _, tc := range []struct {
		name string
		mod  func(*channel.Event)
	}{
		{"unknown type", func(e *channel.Event) { e.Type = "deleted" }},
		{"erased with state", func(e *channel.Event) { e.Type = channel.TypeErased }},
		{"no key", func(e *channel.Event) { e.Key = "" }},
		{"another subscription's event", func(e *channel.Event) { e.SubscriptionID = "sub-library" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := changed("p2", 1, "b")
			tc.mod(&bad)
			single := f.feed.Deliver(ctx, s, bad)
			if single == nil {
				t.Fatal("Deliver accepted the broken event")
			}
			err := f.feed.DeliverBatch(ctx, s, []channel.Event{changed("p1", 1, "a"), bad, changed("p3", 1, "c")})
			if err == nil {
				t.Fatal("a batch with a broken event was accepted")
			}
			reason := strings.TrimPrefix(single.Error(), "deliver to feed of sub-school: ")
			if !strings.Contains(err.Error(), "event 1 ") || !strings.Contains(err.Error(), reason) {
				t.Fatalf("batch error %q does not name event 1 with Deliver's reason %q", err, reason)
			}
		})
	}
	if p := f.snapshot("sub-school", nil); len(p.Items) != 0 {
		t.Fatalf("a refused batch stored events: %q", subjects(p.Items))
	}

	woken := f.longPoll(head)
	batch := []channel.Event{changed("p1", 1, "a"), changed("p2", 1, "b"), changed("p1", 2, "a2"), changed("p2", 1, "b")}
	if err := f.feed.DeliverBatch(ctx, s, batch); err != nil {
		t.Fatal(err)
	}
	if p := woken("DeliverBatch"); subjects(p.Items) != "p1:changed:a p2:changed:b p1:changed:a2" {
		t.Fatalf("woken with %q", subjects(p.Items))
	}
	// Offered again (as the pipeline does after an error): nothing new.
	if err := f.feed.DeliverBatch(ctx, s, batch); err != nil {
		t.Fatal(err)
	}
	if p := f.changes("sub-school", url.Values{"cursor": {head}}); len(p.Items) != 3 {
		t.Fatalf("after the batch again: %q", subjects(p.Items))
	}
	if p := f.snapshot("sub-school", nil); subjects(p.Items) != "p1:changed:a2 p2:changed:b" {
		t.Fatalf("snapshot = %q", subjects(p.Items))
	}
}

// TestReaderLeavingALongPollIsNoError: a reader that goes away in the
// middle of a long poll (a client timeout, or samnav dev stopping) is not
// logged as a failed request.
func TestReaderLeavingALongPollIsNoError(t *testing.T) {
	var logged lockedBuffer
	f := newFixture(t, func(c *feed.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	head := f.snapshot("sub-school", nil).ChangesCursor
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	q := url.Values{"cursor": {head}, "wait": {"30s"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.srv.URL+prefix+"/sub-school/changes?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+f.tokens["school"])
	answered := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			err = fmt.Errorf("the long poll answered %d before the reader left", resp.StatusCode)
		} else {
			err = nil
		}
		answered <- err
	}()
	// The reader leaves in the middle of the long poll, not before the
	// handler got to it (a fixed client timeout could end the request
	// before a loaded machine even parked it, and nothing is logged then).
	f.waitParked("sub-school")
	cancel()
	if err := <-answered; err != nil {
		t.Fatal(err)
	}
	poll.True(poll.Within(t, 15*time.Second), t, "the handler logging the reader leaving", func() bool {
		return strings.Contains(logged.String(), "request ended by the client")
	})
	if strings.Contains(logged.String(), "level=ERROR") {
		t.Errorf("a reader leaving was logged as an error:\n%s", logged.String())
	}
}

// longPoll starts the school reading sub-school's changes after cursor,
// waiting up to 30s, and returns once that long poll waits for the next
// event. woken returns its answer, failing the test unless it is a 200
// within 15s (by names what should have woken it).
func (f *fixture) longPoll(cursor string) (woken func(by string) feed.ChangesPage) {
	f.t.Helper()
	got := make(chan response, 1)
	go func() {
		got <- f.get("school", prefix+"/sub-school/changes", url.Values{"cursor": {cursor}, "wait": {"30s"}})
	}()
	f.waitParked("sub-school")
	return func(by string) feed.ChangesPage {
		f.t.Helper()
		select {
		case r := <-got:
			var p feed.ChangesPage
			if err := json.Unmarshal(r.body, &p); r.status != http.StatusOK || err != nil {
				f.t.Fatalf("long poll: %d %s", r.status, r.body)
			}
			return p
		case <-time.After(15 * time.Second):
			f.t.Fatalf("the waiting reader was not woken by %s", by)
			return feed.ChangesPage{}
		}
	}
}

// waitParked waits until a long poll of sub waits for its next event, so
// that what the test delivers next has to wake it.
func (f *fixture) waitParked(sub string) {
	f.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !f.feed.Parked(sub); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			f.t.Fatalf("no long poll of %s waited within 10s", sub)
		}
	}
}

// lockedBuffer is a bytes.Buffer safe for the handler's and the test's
// goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestLongPollOutlastsWriteTimeout: a long poll extends its own write
// deadline, so it answers after its wait even on a server whose
// WriteTimeout is shorter (every daemon has one).
func TestLongPollOutlastsWriteTimeout(t *testing.T) {
	f := newFixture(t, nil)
	head := f.snapshot("sub-school", nil).ChangesCursor
	short := httptest.NewUnstartedServer(f.srv.Config.Handler)
	short.Config.WriteTimeout = 200 * time.Millisecond
	short.Start()
	t.Cleanup(short.Close)
	f.srv = short
	p := f.changes("sub-school", url.Values{"cursor": {head}, "wait": {"1s"}})
	if len(p.Items) != 0 || p.NextCursor != head {
		t.Fatalf("after a quiet wait: %q, cursor %q (want %q)", subjects(p.Items), p.NextCursor, head)
	}
}
