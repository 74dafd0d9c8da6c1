package recent_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/delivery/internal/channel"
	"github.com/samnav/samnav/services/delivery/internal/pipeline"
	"github.com/samnav/samnav/services/delivery/internal/recent"
)

func seqs(ds []recent.Delivery) []uint64 {
	out := make([]uint64, len(ds))
	for i, d := range ds {
		out[i] = d.Seq
	}
	return out
}

func TestRingKeepsTheLatest(t *testing.T) {
	r := recent.NewRing(3)
	for i := range 5 {
		r.Add(recent.Delivery{RecordID: fmt.Sprint(i)})
	}
	tests := []struct {
		name  string
		after uint64
		limit int
		want  string
	}{
		{"everything retained", 0, 0, "[3 4 5]"},
		{"after a cursor", 3, 0, "[4 5]"},
		{"limit keeps the newest", 0, 2, "[4 5]"},
		{"up to date", 5, 0, "[]"},
		{"cursor from before a restart", 99, 0, "[3 4 5]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, next := r.After(tt.after, tt.limit, nil)
			if fmt.Sprint(seqs(got)) != tt.want || next != 5 {
				t.Fatalf("After(%d, %d) = %v, %d; want %s, 5", tt.after, tt.limit, seqs(got), next, tt.want)
			}
		})
	}
	got, _ := r.After(0, 0, func(d recent.Delivery) bool { return d.RecordID == "3" })
	if len(got) != 1 || got[0].Seq != 4 {
		t.Fatalf("filtered: %+v", got)
	}
}

func TestWaitWakesOnAdd(t *testing.T) {
	r := recent.NewRing(10)
	done := make(chan struct{})
	go func() {
		r.Wait(context.Background(), 0)
		close(done)
	}()
	r.Add(recent.Delivery{})
	<-done // hangs (and the test times out) if Add does not wake Wait
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r.Wait(ctx, 1) // returns: ctx ended
}

type batcher struct {
	fail  bool
	batch int
}

func (b *batcher) Deliver(context.Context, client.Subscription, channel.Event) error {
	if b.fail {
		return errors.New("refused")
	}
	return nil
}

func (b *batcher) DeliverBatch(_ context.Context, _ client.Subscription, evs []channel.Event) error {
	if b.fail {
		return errors.New("refused")
	}
	b.batch += len(evs)
	return nil
}

func TestWrapRecordsOnlyAccepted(t *testing.T) {
	sub := client.Subscription{ID: "s1", System: "skolplattform", Concept: "person"}
	ev := channel.Event{Key: "p1", EventID: "e1", Type: channel.TypeChanged, Revision: 3, Time: time.Date(2026, 11, 27, 10, 1, 2, 0, time.UTC),
		State: map[string]any{"id": "p1", "givenNames": "Ada", "address": map[string]any{}}}
	r := recent.NewRing(10)
	inner := &batcher{}
	ch := recent.Wrap(inner, r, client.ChannelKafka)
	b, ok := ch.(pipeline.Batcher)
	if !ok {
		t.Fatal("wrapping a Batcher must give a Batcher, or the pipeline stops batching")
	}
	if err := b.DeliverBatch(context.Background(), sub, []channel.Event{ev, ev}); err != nil {
		t.Fatal(err)
	}
	inner.fail = true
	if err := ch.Deliver(context.Background(), sub, ev); err == nil {
		t.Fatal("a refusal must pass through")
	}
	if err := b.DeliverBatch(context.Background(), sub, []channel.Event{ev}); err == nil {
		t.Fatal("a refusal must pass through")
	}
	got, _ := r.After(0, 0, nil)
	if len(got) != 2 || inner.batch != 2 {
		t.Fatalf("recorded %d (inner got %d), want the 2 accepted", len(got), inner.batch)
	}
	d := got[0]
	if d.Subscription != "s1" || d.System != "skolplattform" || d.Concept != "person" || d.Channel != "kafka" || d.RecordID != "p1" ||
		d.EventID != "e1" || d.Operation != "changed" || d.Revision != 3 || !d.ChangedAt.Equal(ev.Time) || d.DeliveredAt.IsZero() ||
		strings.Join(d.Fields, ",") != "address,givenNames" {
		t.Fatalf("delivery %+v", d)
	}
	plain := recent.Wrap(channel.Func(func(context.Context, client.Subscription, channel.Event) error { return nil }), r, client.ChannelWebhook)
	if _, ok := plain.(pipeline.Batcher); ok {
		t.Fatal("a channel without batches must not become a Batcher")
	}
}

func TestHandler(t *testing.T) {
	r := recent.NewRing(10)
	r.Add(recent.Delivery{System: "skolplattform", Concept: "person"}, recent.Delivery{System: "bibliotek", Concept: "person"},
		recent.Delivery{System: "hemtjanst", Concept: "unit"})
	h := recent.Handler(r)
	principals := map[string]*auth.Principal{
		"admin":      {Subject: "admin", Kind: auth.KindUser, Grants: []auth.Grant{{Role: auth.RoleAdmin}}},
		"auditor":    {Subject: "aud", Kind: auth.KindUser, Grants: []auth.Grant{{Role: auth.RoleAuditor}}},
		"owner":      {Subject: "own", Kind: auth.KindUser, Grants: []auth.Grant{{Role: auth.RoleOwner, Concepts: []string{"person"}}}},
		"subscriber": {Subject: "bibliotek", Kind: auth.KindSystem, Grants: []auth.Grant{{Role: auth.RoleSubscriber, System: "bibliotek"}}},
		"publisher":  {Subject: "hr", Kind: auth.KindSystem, Grants: []auth.Grant{{Role: auth.RolePublisher, System: "hr"}}},
		"steward":    {Subject: "stw", Kind: auth.KindUser, Grants: []auth.Grant{{Role: auth.RoleSteward, Concepts: []string{"unit"}}}},
		"system":     {Subject: "skolplattform", Kind: auth.KindSystem},
	}
	tests := []struct {
		who, query string
		status     int
		systems    string
	}{
		{"admin", "", 200, "skolplattform,bibliotek,hemtjanst"},
		{"auditor", "?after=1", 200, "bibliotek,hemtjanst"},
		{"owner", "", 200, "skolplattform,bibliotek"},
		{"subscriber", "", 200, "bibliotek"},
		{"publisher", "", 200, ""},
		{"steward", "", 200, "hemtjanst"},
		{"system", "", 200, "skolplattform"},
		{"admin", "?limit=1", 200, "hemtjanst"},
		{"", "", 401, ""},
		{"admin", "?after=x", 400, "after"},
		{"admin", "?limit=0", 400, "limit"},
		{"admin", "?wait=31", 400, "wait"},
		{"admin", "?wait=18446744073709551615", 400, "wait"},
		{"admin", "?wait=-1", 400, "wait"},
		{"admin", "?limit=1001", 400, "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.who+tt.query, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/api/v1/deliveries/recent"+tt.query, nil)
			if p := principals[tt.who]; p != nil {
				req = req.WithContext(auth.WithPrincipal(req.Context(), p))
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if tt.status == 400 {
				var body apierr.Problem
				if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Code != apierr.CodeInvalid || !slices.ContainsFunc(body.Fields, func(f apierr.FieldError) bool { return f.Field == tt.systems }) {
					t.Fatalf("error %s does not name field %q", w.Body, tt.systems)
				}
				return
			}
			if tt.status != 200 {
				return
			}
			var resp recent.Response
			if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range resp.Deliveries {
				got = append(got, d.System)
			}
			if strings.Join(got, ",") != tt.systems || resp.Next != 3 {
				t.Fatalf("got %v next %d, want %s next 3", got, resp.Next, tt.systems)
			}
		})
	}
}

// TestHandlerWaits: with wait=, an answer with nothing new is held until
// a delivery arrives, and ends empty when none does.
func TestHandlerWaits(t *testing.T) {
	r := recent.NewRing(10)
	admin := &auth.Principal{Subject: "admin", Grants: []auth.Grant{{Role: auth.RoleAdmin}}}
	entered := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		close(entered)
		recent.Handler(r).ServeHTTP(w, req.WithContext(auth.WithPrincipal(req.Context(), admin)))
	})
	got := make(chan recent.Response, 1)
	go func() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/?after=0&wait=30", nil))
		var body recent.Response
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
			t.Error(err)
		}
		got <- body
	}()
	<-entered
	// Without waiting, the handler would answer at once with nothing.
	for i := 0; ; i++ {
		r.Add(recent.Delivery{RecordID: fmt.Sprint(i)})
		select {
		case body := <-got:
			if len(body.Deliveries) == 0 {
				t.Fatalf("answer %+v, want the delivery it waited for", body)
			}
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func TestHandlerWaitEndsEmpty(t *testing.T) {
	r := recent.NewRing(10)
	r.Add(recent.Delivery{})
	admin := &auth.Principal{Subject: "admin", Grants: []auth.Grant{{Role: auth.RoleAdmin}}}
	w := httptest.NewRecorder()
	recent.Handler(r).ServeHTTP(w, httptest.NewRequest("GET", "/?after=1&wait=1", nil).WithContext(auth.WithPrincipal(context.Background(), admin)))
	var body recent.Response
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != 200 || len(body.Deliveries) != 0 || body.Next != 1 {
		t.Fatalf("%d %s, want 200 with no deliveries and next 1", w.Code, w.Body)
	}
}
