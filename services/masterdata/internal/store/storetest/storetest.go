// Package storetest is the conformance suite every record.Store passes:
// SQLite and PostgreSQL run the same tests, so the embedded default and
// production cannot drift apart.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/samnav/samnav/contracts"
	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/services/masterdata/client"
	"github.com/samnav/samnav/services/masterdata/record"
)

// Event is what a store handed its outbox for one change.
type Event struct {
	Concept, RecordID string
	Revision          int64
	Kind              client.Kind
	EventID           string
}

// Harness makes a fresh, empty store on the given model for one test.
// The store's outbox must append, inside the write transaction, an Event
// for each change, unless fail returns an error for the change, in which
// case the append fails with it. committed returns the events the outbox
// holds after commit, in append order.
type Harness func(t *testing.T, m *model.Model, fail func(*client.Change) error) (s record.Store, committed func() []Event)

// Run runs the suite.
func Run(t *testing.T, h Harness) {
	m, err := contracts.Model()
	if err != nil {
		t.Fatalf("load model: %v", err)
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, m *model.Model, h Harness)
	}{
		{"CreateGet", testCreateGet},
		{"UpdateHistory", testUpdateHistory},
		{"UpdateClosureErrorChangesNothing", testUpdateClosureError},
		{"UnknownRecord", testUnknown},
		{"NaturalKeyUnique", testNaturalKeyUnique},
		{"OutboxFailureStoresNothing", testOutboxFailure},
		{"ListFilterSearchPage", testList},
		{"EndedLeftOutOfLists", testEnded},
		{"Erase", testErase},
		{"Republish", testRepublish},
		{"ConcurrentUpdatesLoseNothing", testConcurrent},
		{"ReadLog", testReadLog},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, m, h) })
	}
}

var seq struct {
	sync.Mutex
	n int
}

// newID returns ids that sort in creation order, as UUIDv7s do.
func newID() string {
	seq.Lock()
	defer seq.Unlock()
	seq.n++
	return fmt.Sprintf("%020d-%d", time.Now().UnixNano(), seq.n)
}

func person(pnr, given, surname string) map[string]any {
	s := map[string]any{
		"givenNames": given, "surname": surname, "dateOfBirth": "1985-07-09",
		"protectedIdentity": "NONE", "registrationStatus": "REGISTERED",
	}
	if pnr != "" {
		s["personalIdentityNumber"] = pnr
	}
	return s
}

var steward = client.Actor{Subject: "anna", CredentialID: "tok1", System: "samnav"}

func create(t *testing.T, s record.Store, concept string, state map[string]any) *client.Record {
	t.Helper()
	rec, ch := newRecord(concept, state)
	if err := s.Create(context.Background(), rec, ch); err != nil {
		t.Fatalf("create %s: %v", concept, err)
	}
	return rec
}

func newRecord(concept string, state map[string]any) (*client.Record, *client.Change) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	rec := &client.Record{Concept: concept, ID: newID(), Revision: 1, State: state, CreatedAt: now, UpdatedAt: now}
	ch := &client.Change{Kind: client.KindCreated, At: now, Actor: steward, Reason: "new", EventID: newID()}
	return rec, ch
}

func update(s record.Store, concept, id string, mut func(map[string]any), kind client.Kind, reason string) (*client.Record, error) {
	return s.Update(context.Background(), concept, id, func(r *client.Record, ch *client.Change) (*client.Record, error) {
		mut(r.State)
		r.UpdatedAt = time.Now().UTC()
		ch.Kind, ch.At, ch.Actor, ch.Reason, ch.EventID = kind, r.UpdatedAt, steward, reason, newID()
		return r, nil
	})
}

func code(err error) apierr.Code {
	if err == nil {
		return ""
	}
	return apierr.CodeOf(err)
}

func testCreateGet(t *testing.T, m *model.Model, h Harness) {
	s, events := h(t, m, nil)
	rec := create(t, s, "person", person("198507099805", "Anna", "Andersson"))
	got, err := s.Get(context.Background(), "person", rec.ID)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if got.Revision != 1 || got.State["surname"] != "Andersson" || got.EndedAt != nil || !got.CreatedAt.Equal(rec.CreatedAt) {
		t.Fatalf("get = %+v, want the created record", got)
	}
	if got.Concept != "person" || got.ID != rec.ID {
		t.Fatalf("get keys = %s/%s", got.Concept, got.ID)
	}
	ev := events()
	if len(ev) != 1 || ev[0].RecordID != rec.ID || ev[0].Kind != client.KindCreated || ev[0].Revision != 1 {
		t.Fatalf("events = %+v, want one created event", ev)
	}
	if _, err := s.Get(context.Background(), "organisation", rec.ID); code(err) != apierr.CodeNotFound {
		t.Fatalf("get under another concept: %v, want not_found", err)
	}
}

func testUpdateHistory(t *testing.T, m *model.Model, h Harness) {
	s, events := h(t, m, nil)
	rec := create(t, s, "person", person("198507099805", "Anna", "Andersson"))
	got, err := update(s, "person", rec.ID, func(st map[string]any) { st["surname"] = "Berg" }, client.KindUpdated, "married")
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if got.Revision != 2 || got.State["surname"] != "Berg" {
		t.Fatalf("update = %+v", got)
	}
	hist, err := s.History(context.Background(), "person", rec.ID)
	if err != nil {
		t.Fatalf("history: %v", err)
	}
	if len(hist) != 2 {
		t.Fatalf("history has %d changes, want 2", len(hist))
	}
	h1 := hist[1]
	if h1.Kind != client.KindUpdated || h1.Revision != 2 || h1.Reason != "married" || h1.Actor != steward || h1.State["surname"] != "Berg" || h1.Seq <= hist[0].Seq || h1.EventID == "" || h1.At.IsZero() {
		t.Fatalf("history[1] = %+v", h1)
	}
	if hist[0].State["surname"] != "Andersson" || hist[0].Kind != client.KindCreated {
		t.Fatalf("history[0] = %+v", hist[0])
	}
	if ev := events(); len(ev) != 2 || ev[1].Revision != 2 || ev[1].EventID != h1.EventID {
		t.Fatalf("events = %+v", ev)
	}
}

func testUpdateClosureError(t *testing.T, m *model.Model, h Harness) {
	s, events := h(t, m, nil)
	rec := create(t, s, "person", person("", "Anna", "Andersson"))
	boom := errors.New("stale")
	_, err := s.Update(context.Background(), "person", rec.ID, func(r *client.Record, ch *client.Change) (*client.Record, error) {
		r.State["surname"] = "Changed"
		return nil, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("update = %v, want the closure's error", err)
	}
	got, _ := s.Get(context.Background(), "person", rec.ID)
	if got.Revision != 1 || got.State["surname"] != "Andersson" {
		t.Fatalf("after a refused update: %+v", got)
	}
	if len(events()) != 1 {
		t.Fatalf("a refused update published an event")
	}
}

func testUnknown(t *testing.T, m *model.Model, h Harness) {
	s, _ := h(t, m, nil)
	ctx := context.Background()
	if _, err := s.Get(ctx, "person", "nope"); code(err) != apierr.CodeNotFound {
		t.Errorf("get: %v", err)
	}
	if _, err := update(s, "person", "nope", func(map[string]any) {}, client.KindUpdated, ""); code(err) != apierr.CodeNotFound {
		t.Errorf("update: %v", err)
	}
	if _, err := s.History(ctx, "person", "nope"); code(err) != apierr.CodeNotFound {
		t.Errorf("history: %v", err)
	}
	if _, err := s.GetByNaturalKey(ctx, "person", "personalIdentityNumber", "198507099805"); code(err) != apierr.CodeNotFound {
		t.Errorf("by natural key: %v", err)
	} else if strings.Contains(err.Error(), "198507099805") {
		// A natural key may be a personnummer: no error repeats it.
		t.Errorf("by natural key: the error repeats the value looked up: %v", err)
	}
}

func testNaturalKeyUnique(t *testing.T, m *model.Model, h Harness) {
	s, events := h(t, m, nil)
	ctx := context.Background()
	a := create(t, s, "person", person("198507099805", "Anna", "Andersson"))
	got, err := s.GetByNaturalKey(ctx, "person", "personalIdentityNumber", "198507099805")
	if err != nil || got.ID != a.ID {
		t.Fatalf("by natural key = %v, %v", got, err)
	}
	dup, ch := newRecord("person", person("198507099805", "Bo", "Bengtsson"))
	err = s.Create(ctx, dup, ch)
	var e *apierr.Error
	if !errors.As(err, &e) || e.Code != apierr.CodeConflict || len(e.Fields) != 1 || e.Fields[0].Field != "personalIdentityNumber" || e.Fields[0].Rule != "unique" {
		t.Fatalf("duplicate create = %v, want conflict on personalIdentityNumber", err)
	}
	if _, err := s.Get(ctx, "person", dup.ID); code(err) != apierr.CodeNotFound {
		t.Fatalf("the refused duplicate was stored")
	}
	b := create(t, s, "person", person("198001012380", "Bo", "Bengtsson"))
	if _, err := update(s, "person", b.ID, func(st map[string]any) { st["personalIdentityNumber"] = "198507099805" }, client.KindUpdated, ""); code(err) != apierr.CodeConflict {
		t.Fatalf("update to a held natural key = %v, want conflict", err)
	}
	// Changing a's number frees the old value.
	if _, err := update(s, "person", a.ID, func(st map[string]any) { st["personalIdentityNumber"] = "198112189876" }, client.KindUpdated, "corrected"); err != nil {
		t.Fatalf("update a: %v", err)
	}
	if _, err := update(s, "person", b.ID, func(st map[string]any) { st["personalIdentityNumber"] = "198507099805" }, client.KindUpdated, ""); err != nil {
		t.Fatalf("take the freed value: %v", err)
	}
	got, err = s.GetByNaturalKey(ctx, "person", "personalIdentityNumber", "198507099805")
	if err != nil || got.ID != b.ID {
		t.Fatalf("by natural key after move = %v, %v", got, err)
	}
	// The same value under another concept or attribute is no conflict.
	create(t, s, "person", person("", "Cecilia", "Carlsson"))
	if n := len(events()); n != 5 {
		t.Fatalf("%d events, want 5 (3 creates, 2 updates)", n)
	}
}

func testOutboxFailure(t *testing.T, m *model.Model, h Harness) {
	boom := errors.New("outbox down")
	var failing bool
	s, events := h(t, m, func(*client.Change) error {
		if failing {
			return boom
		}
		return nil
	})
	ctx := context.Background()
	a := create(t, s, "person", person("198507099805", "Anna", "Andersson"))
	failing = true
	rec, ch := newRecord("person", person("198001012380", "Bo", "Bengtsson"))
	if err := s.Create(ctx, rec, ch); !errors.Is(err, boom) {
		t.Fatalf("create with failing outbox = %v", err)
	}
	if _, err := s.Get(ctx, "person", rec.ID); code(err) != apierr.CodeNotFound {
		t.Fatalf("record stored although its event was not")
	}
	if _, err := s.GetByNaturalKey(ctx, "person", "personalIdentityNumber", "198001012380"); code(err) != apierr.CodeNotFound {
		t.Fatalf("natural key stored although the event was not")
	}
	if _, err := update(s, "person", a.ID, func(st map[string]any) { st["surname"] = "X" }, client.KindUpdated, ""); !errors.Is(err, boom) {
		t.Fatalf("update with failing outbox = %v", err)
	}
	got, _ := s.Get(ctx, "person", a.ID)
	hist, _ := s.History(ctx, "person", a.ID)
	if got.Revision != 1 || got.State["surname"] != "Andersson" || len(hist) != 1 {
		t.Fatalf("update stored although its event was not: %+v, %d changes", got, len(hist))
	}
	if n := len(events()); n != 1 {
		t.Fatalf("%d events committed, want 1", n)
	}
}

func testList(t *testing.T, m *model.Model, h Harness) {
	s, _ := h(t, m, nil)
	ctx := context.Background()
	var andersson []string
	for i := range 7 {
		st := person("", fmt.Sprintf("Given%d", i), "Andersson")
		if i%2 == 1 {
			st["surname"] = "Berg_%"
		}
		rec := create(t, s, "person", st)
		if i%2 == 0 {
			andersson = append(andersson, rec.ID)
		}
	}
	create(t, s, "organisation", map[string]any{"organisationNumber": "5560360793", "name": "Andersson AB", "legalForm": "AB"})
	var got []string
	after := ""
	pages := 0
	for {
		page, err := s.List(ctx, "person", record.ListQuery{Filter: map[string]string{"surname": "Andersson"}, After: after, Limit: 3})
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		pages++
		for _, r := range page.Records {
			got = append(got, r.ID)
		}
		if page.Next == "" {
			break
		}
		after = page.Next
		if pages > 10 {
			t.Fatal("paging does not end")
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(andersson) || pages != 2 {
		t.Fatalf("filtered pages = %v in %d pages, want %v in 2", got, pages, andersson)
	}
	tests := []struct {
		q    record.ListQuery
		want int
	}{
		{record.ListQuery{Limit: 100}, 7},
		{record.ListQuery{Limit: 100, Search: "given3", SearchFields: []string{"givenNames", "surname"}}, 1},
		{record.ListQuery{Limit: 100, Search: "ERG_%", SearchFields: []string{"givenNames", "surname"}}, 3},
		{record.ListQuery{Limit: 100, Search: "rg_x", SearchFields: []string{"surname"}}, 0},
		{record.ListQuery{Limit: 100, Filter: map[string]string{"surname": "Berg_%", "givenNames": "Given1"}}, 1},
		{record.ListQuery{Limit: 100, Filter: map[string]string{"dateOfBirth": "1985-07-09"}}, 7},
		{record.ListQuery{Limit: 100, Filter: map[string]string{"surname": "andersson"}}, 0},
	}
	for _, tt := range tests {
		page, err := s.List(ctx, "person", tt.q)
		if err != nil {
			t.Fatalf("list %+v: %v", tt.q, err)
		}
		if len(page.Records) != tt.want {
			t.Errorf("list %+v: %d records, want %d", tt.q, len(page.Records), tt.want)
		}
	}
}

func testEnded(t *testing.T, m *model.Model, h Harness) {
	s, _ := h(t, m, nil)
	ctx := context.Background()
	a := create(t, s, "person", person("", "Anna", "Andersson"))
	create(t, s, "person", person("", "Bo", "Andersson"))
	_, err := s.Update(ctx, "person", a.ID, func(r *client.Record, ch *client.Change) (*client.Record, error) {
		now := time.Now().UTC()
		r.EndedAt, r.EndReason, r.UpdatedAt = &now, "moved away", now
		ch.Kind, ch.At, ch.Actor, ch.Reason, ch.EventID = client.KindEnded, now, steward, "moved away", newID()
		return r, nil
	})
	if err != nil {
		t.Fatalf("end: %v", err)
	}
	got, err := s.Get(ctx, "person", a.ID)
	if err != nil || got.EndedAt == nil || got.EndReason != "moved away" || got.State["givenNames"] != "Anna" {
		t.Fatalf("ended record = %+v, %v", got, err)
	}
	page, _ := s.List(ctx, "person", record.ListQuery{Limit: 10})
	if len(page.Records) != 1 {
		t.Fatalf("list has %d records, want the one not ended", len(page.Records))
	}
	page, _ = s.List(ctx, "person", record.ListQuery{Limit: 10, IncludeEnded: true})
	if len(page.Records) != 2 {
		t.Fatalf("list with ended has %d records, want 2", len(page.Records))
	}
}

func testErase(t *testing.T, m *model.Model, h Harness) {
	s, events := h(t, m, nil)
	ctx := context.Background()
	a := create(t, s, "person", person("198507099805", "Anna", "Andersson"))
	if _, err := update(s, "person", a.ID, func(st map[string]any) { st["surname"] = "Berg" }, client.KindUpdated, "married"); err != nil {
		t.Fatal(err)
	}
	_, err := s.Update(ctx, "person", a.ID, func(r *client.Record, ch *client.Change) (*client.Record, error) {
		now := time.Now().UTC()
		r.State, r.UpdatedAt = nil, now
		if r.EndedAt == nil {
			r.EndedAt = &now
		}
		ch.Kind, ch.At, ch.Actor, ch.Reason, ch.EventID = client.KindErased, now, steward, "GDPR art. 17", newID()
		return r, nil
	})
	if err != nil {
		t.Fatalf("erase: %v", err)
	}
	hist, err := s.History(ctx, "person", a.ID)
	if err != nil || len(hist) != 3 {
		t.Fatalf("history after erasure: %d changes, %v", len(hist), err)
	}
	for _, ch := range hist {
		if ch.State != nil {
			t.Errorf("change %d keeps its state after erasure", ch.Revision)
		}
	}
	if hist[2].Kind != client.KindErased || hist[2].Reason != "GDPR art. 17" || hist[1].Reason != "married" {
		t.Errorf("who and why did not survive erasure: %+v", hist)
	}
	if _, err := s.GetByNaturalKey(ctx, "person", "personalIdentityNumber", "198507099805"); code(err) != apierr.CodeNotFound {
		t.Errorf("natural key survives erasure: %v", err)
	}
	page, _ := s.List(ctx, "person", record.ListQuery{Limit: 10, IncludeEnded: true})
	if len(page.Records) != 0 {
		t.Errorf("erased record listed")
	}
	ev := events()
	if len(ev) != 3 || ev[2].Kind != client.KindErased {
		t.Errorf("events = %+v, want an erased event last", ev)
	}
	create(t, s, "person", person("198507099805", "Anna", "Ny"))
}

func testRepublish(t *testing.T, m *model.Model, h Harness) {
	s, events := h(t, m, nil)
	ctx := context.Background()
	var ids []string
	for i := range 5 {
		ids = append(ids, create(t, s, "person", person("", fmt.Sprint("P", i), "Andersson")).ID)
	}
	create(t, s, "organisation", map[string]any{"organisationNumber": "5560360793", "name": "X AB", "legalForm": "AB"})
	before := len(events())
	var got []string
	after := ""
	for {
		last, n, err := s.Republish(ctx, "person", after, 2)
		if err != nil {
			t.Fatalf("republish: %v", err)
		}
		if n == 0 {
			if last != "" {
				t.Fatalf("empty batch returned last %q", last)
			}
			break
		}
		if n > 2 {
			t.Fatalf("batch of %d, limit 2", n)
		}
		after = last
	}
	for _, ev := range events()[before:] {
		if ev.Kind != client.KindResynced || ev.Concept != "person" {
			t.Fatalf("republished event %+v", ev)
		}
		got = append(got, ev.RecordID)
	}
	if fmt.Sprint(got) != fmt.Sprint(ids) {
		t.Fatalf("republished %v, want %v", got, ids)
	}
	hist, _ := s.History(ctx, "person", ids[0])
	if len(hist) != 1 {
		t.Fatalf("republishing wrote history: %d changes", len(hist))
	}
}

func testConcurrent(t *testing.T, m *model.Model, h Harness) {
	s, events := h(t, m, nil)
	rec := create(t, s, "person", person("", "Anna", "Andersson"))
	const workers, each = 4, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				_, err := update(s, "person", rec.ID, func(st map[string]any) {
					st["givenNames"] = st["givenNames"].(string) + "x"
				}, client.KindUpdated, fmt.Sprint(w, i))
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent update: %v", err)
	}
	got, _ := s.Get(context.Background(), "person", rec.ID)
	if got.Revision != 1+workers*each || len(got.State["givenNames"].(string)) != len("Anna")+workers*each {
		t.Fatalf("after %d updates: revision %d, givenNames %q: an update was lost", workers*each, got.Revision, got.State["givenNames"])
	}
	hist, _ := s.History(context.Background(), "person", rec.ID)
	for i, ch := range hist {
		if ch.Revision != int64(i+1) {
			t.Fatalf("history revision %d at %d", ch.Revision, i)
		}
	}
	if len(events()) != 1+workers*each {
		t.Fatalf("%d events, want %d", len(events()), 1+workers*each)
	}
}
