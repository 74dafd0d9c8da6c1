package flow

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/samnav/samnav/services/console/internal/api"
	"github.com/samnav/samnav/services/console/internal/site"
	delivery "github.com/samnav/samnav/services/delivery/client"
	masterdata "github.com/samnav/samnav/services/masterdata/client"
)

// The live flow (issue 6, item 5): the latest changes as they leave their
// master and reach every subscriber, "folkbokforing changed person X's
// address at 10:01:02 → skolplattform (Kafka) 10:01:03, bibliotek
// (webhook) 10:01:03, hemtjanst (feed)", so a newcomer running `make run`
// sees the once-only principle work. The list is the delivery service's
// window of recent deliveries, grouped by event; the master side (who
// changed what) comes from master data's history of the record. The page
// refreshes its list every few seconds with console.js's data-poll; it
// works without JavaScript by its refresh link, and the updates can be
// paused (WCAG 2.2.2).
var _ = site.Register(site.Area[*pages]{
	Name: "flow", Order: 50, New: newPages,
	Pages: []site.Route[*pages]{
		{Path: "/flow", Show: (*pages).flowPage},
		{Path: "/flow/list", Show: (*pages).flowList},
	},
})

// Bounds of one flow page: deliveries read, changes shown, and master
// history look-ups (one API call each).
const (
	flowDeliveries = 500
	flowChanges    = 20
	flowHistories  = 20
	// flowWebhooks bounds the webhook subscriptions whose delivery log
	// one page reads (one call each, flowAttempts attempts).
	flowWebhooks = 10
	flowAttempts = 200
)

// Where a delivery stands. The delivery service records a delivery when
// its channel accepts it: for Kafka and the pull feed that is delivery;
// a webhook message is then only queued, and the subscription's delivery
// log says whether the receiver has it.
const (
	flowDelivered = "delivered"
	flowQueued    = "queued"
	flowFailing   = "failing"
	// flowHanded: queued at the webhook channel, and the person may not
	// read the log that would say more.
	flowHanded = "handed"
)

// flowChange is one change at its master and every delivery of it.
type flowChange struct {
	EventID     string
	Concept     string
	ConceptName string
	RecordID    string
	Short       string
	Revision    int64
	Operation   string
	ChangedAt   time.Time
	// Master side, when master data's history could be read.
	Known   bool
	Actor   string
	System  string
	Kind    string
	Reason  string
	Changed []string // labels of the attributes this change changed
	// Deliveries, in the order they were accepted.
	Deliveries []flowDelivery
}

type flowDelivery struct {
	System, SystemName, Channel, ChannelLabel string
	Subscription                              string
	// DeliveredAt is when the channel accepted it (a webhook: queued it).
	DeliveredAt time.Time
	// State is flowDelivered, flowQueued or flowFailing; At is when it got
	// there (a webhook: when the receiver took it), AfterMS how long after
	// the change.
	State, StateLabel string
	At                time.Time
	Fields            []string
	AfterMS           int64
}

type flowData struct {
	Changes []flowChange
	Live    bool
	// Refused: this token may read no deliveries.
	Refused bool
	Updated time.Time
}

func (s *pages) flowPage(w http.ResponseWriter, r *site.Request) error {
	d, err := s.flowData(r)
	if err != nil {
		return err
	}
	d.Live = r.URL.Query().Get("live") != "0"
	return s.Render(w, r, "flow.html", "flow.title", d)
}

// flowList is the list alone, for console.js's data-poll.
func (s *pages) flowList(w http.ResponseWriter, r *site.Request) error {
	d, err := s.flowData(r)
	if err != nil {
		return err
	}
	t, ok := s.Template("flow.html")
	if !ok {
		return errFlowTemplate
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "flow.list", &site.View{Lang: r.Lang, Principal: r.Principal(), Path: r.URL.Path, Data: d}); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
	return nil
}

var errFlowTemplate = errors.New("flow.html: no such page template")

func (s *pages) flowData(r *site.Request) (*flowData, error) {
	d := &flowData{Updated: s.Now()}
	rec, err := s.API.Delivery(r.Token()).Recent(r.Context(), 0, flowDeliveries, 0)
	if api.IsRefused(err) {
		d.Refused = true
		return d, nil
	}
	if err != nil {
		return nil, err
	}
	byEvent := map[string]int{}
	// Newest first: walk the window backwards.
	for _, dl := range slices.Backward(rec.Deliveries) {
		i, ok := byEvent[dl.EventID]
		if !ok {
			if len(d.Changes) == flowChanges {
				continue
			}
			i = len(d.Changes)
			byEvent[dl.EventID] = i
			short := dl.RecordID
			if len(short) > 8 {
				short = short[:8]
			}
			d.Changes = append(d.Changes, flowChange{EventID: dl.EventID, Concept: dl.Concept, ConceptName: s.ConceptName(r, dl.Concept),
				RecordID: dl.RecordID, Short: short, Revision: dl.Revision, Operation: dl.Operation, ChangedAt: dl.ChangedAt})
		}
		sys := s.SystemLabel(r, dl.System)
		state := flowDelivered
		if dl.Channel == "webhook" {
			state = flowHanded
		}
		d.Changes[i].Deliveries = append(d.Changes[i].Deliveries, flowDelivery{System: dl.System, SystemName: sys.Name, Channel: dl.Channel,
			ChannelLabel: r.T("flow.channel." + dl.Channel), Subscription: dl.Subscription, DeliveredAt: dl.DeliveredAt, State: state, At: dl.DeliveredAt,
			Fields: s.AttrLabels(r, dl.Concept, s.inModelOrder(dl.Concept, dl.Fields))})
	}
	s.flowWebhookStates(r, d.Changes)
	for i := range d.Changes {
		for j := range d.Changes[i].Deliveries {
			dl := &d.Changes[i].Deliveries[j]
			dl.StateLabel = r.T("flow.state." + dl.State)
			dl.AfterMS = max(dl.At.Sub(d.Changes[i].ChangedAt).Milliseconds(), 0)
		}
		slices.SortStableFunc(d.Changes[i].Deliveries, func(a, b flowDelivery) int { return a.DeliveredAt.Compare(b.DeliveredAt) })
	}
	s.flowMasters(r, d.Changes)
	return d, nil
}

// flowWebhookStates marks the webhook deliveries the receiver has taken
// (delivered, at the first successful attempt) or refused so far
// (failing) or not tried yet (queued), from each subscription's delivery
// log, as far as the person's token may read it (else they stay handed to
// the channel).
func (s *pages) flowWebhookStates(r *site.Request, changes []flowChange) {
	type outcome struct {
		ok     time.Time
		failed bool
	}
	logs := map[string]map[string]*outcome{} // subscription -> event -> outcome
	for i := range changes {
		for j := range changes[i].Deliveries {
			dl := &changes[i].Deliveries[j]
			if dl.Channel != "webhook" {
				continue
			}
			log, read := logs[dl.Subscription]
			if !read {
				if len(logs) == flowWebhooks {
					continue
				}
				attempts, err := s.API.Delivery(r.Token()).WebhookAttempts(r.Context(), dl.Subscription, delivery.AttemptFilter{Limit: flowAttempts})
				if err == nil {
					log = map[string]*outcome{}
					for _, a := range attempts {
						o := log[a.EventID]
						if o == nil {
							o = &outcome{}
							log[a.EventID] = o
						}
						if a.StatusCode >= 200 && a.StatusCode < 300 {
							if o.ok.IsZero() || a.At.Before(o.ok) {
								o.ok = a.At
							}
						} else {
							o.failed = true
						}
					}
				}
				logs[dl.Subscription] = log // nil when refused
			}
			if log == nil {
				continue
			}
			switch o := log[changes[i].EventID]; {
			case o == nil:
				dl.State = flowQueued
			case !o.ok.IsZero():
				dl.State, dl.At = flowDelivered, o.ok
			case o.failed:
				dl.State = flowFailing
			}
		}
	}
}

// flowMasters fills in who changed what from master data's history of
// each record (as far as the person's token may read it).
func (s *pages) flowMasters(r *site.Request, changes []flowChange) {
	type key struct{ concept, id string }
	histories := map[key][]masterdata.Change{}
	lookups := 0
	for i := range changes {
		c := &changes[i]
		k := key{c.Concept, c.RecordID}
		h, ok := histories[k]
		if !ok {
			if lookups == flowHistories {
				continue
			}
			lookups++
			var err error
			if h, err = s.API.Masterdata(r.Token()).History(r.Context(), c.Concept, c.RecordID); err != nil {
				histories[k] = nil // refused or gone: the deliveries still show
				continue
			}
			histories[k] = h
		}
		for j, ch := range h {
			if ch.Revision != c.Revision {
				continue
			}
			c.Known, c.Actor, c.System, c.Kind, c.Reason = true, ch.Actor.Subject, ch.Actor.System, ch.Kind, ch.Reason
			var before map[string]any
			if j > 0 {
				before = h[j-1].State
			}
			c.Changed = s.AttrLabels(r, c.Concept, s.inModelOrder(c.Concept, changedAttrs(before, ch.State)))
			break
		}
	}
}

// changedAttrs lists the top-level attributes whose values differ
// between before and after (compared as JSON), sorted.
func changedAttrs(before, after map[string]any) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range []map[string]any{after, before} {
		for k := range m {
			if seen[k] || k == "id" {
				continue
			}
			seen[k] = true
			a, _ := json.Marshal(before[k])
			b, _ := json.Marshal(after[k])
			if !bytes.Equal(a, b) {
				out = append(out, k)
			}
		}
	}
	slices.Sort(out)
	return out
}

// inModelOrder orders attribute names as the concept lists them; names
// the model lacks keep their order at the end.
func (s *pages) inModelOrder(concept string, names []string) []string {
	c := s.Model.Concept(concept)
	if c == nil {
		return names
	}
	out := make([]string, 0, len(names))
	for _, a := range c.Attributes {
		if slices.Contains(names, a.Name) {
			out = append(out, a.Name)
		}
	}
	for _, n := range names {
		if c.Attribute(n) == nil {
			out = append(out, n)
		}
	}
	return out
}
