package delivery_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/samnav/samnav/pkg/sdk/poll"
	"github.com/samnav/samnav/services/hubtest"
)

// webhookReceiver is the library system's endpoint: it verifies every
// delivery with the Standard Webhooks reference library and keeps what
// it accepted, by record key.
type webhookReceiver struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	verifier *standardwebhooks.Webhook
	events   map[string][]map[string]any // by subject, in arrival order
	ids      map[string]int              // webhook-id -> deliveries
}

func newWebhookReceiver(t *testing.T) *webhookReceiver {
	r := &webhookReceiver{t: t, events: map[string][]map[string]any{}, ids: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *webhookReceiver) setSecret(secret string) {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		r.t.Fatal(err)
	}
	r.mu.Lock()
	r.verifier = wh
	r.mu.Unlock()
}

func (r *webhookReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		w.WriteHeader(500)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.verifier == nil {
		w.WriteHeader(503)
		return
	}
	if err := r.verifier.Verify(body, req.Header); err != nil {
		r.t.Errorf("webhook signature does not verify: %v", err)
		w.WriteHeader(401)
		return
	}
	var env map[string]any
	if err := json.Unmarshal(body, &env); err != nil {
		r.t.Errorf("webhook body: %v", err)
		w.WriteHeader(400)
		return
	}
	r.ids[req.Header.Get("webhook-id")]++
	subject, _ := env["subject"].(string)
	r.events[subject] = append(r.events[subject], env)
	w.WriteHeader(204)
}

// last returns the newest envelope for key, or nil.
func (r *webhookReceiver) last(key string) map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	evs := r.events[key]
	if len(evs) == 0 {
		return nil
	}
	return evs[len(evs)-1]
}

// all returns every envelope received for key.
func (r *webhookReceiver) all(key string) []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]any(nil), r.events[key]...)
}

// feedReceiver keeps the newest pull-feed item per record key.
type feedReceiver struct {
	mu    sync.Mutex
	items map[string][]feedItem
}

func (f *feedReceiver) add(it feedItem) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.items == nil {
		f.items = map[string][]feedItem{}
	}
	f.items[it.Subject] = append(f.items[it.Subject], it)
}

func (f *feedReceiver) all(key string) []feedItem {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]feedItem(nil), f.items[key]...)
}

func (f *feedReceiver) last(key string) *feedItem {
	all := f.all(key)
	if len(all) == 0 {
		return nil
	}
	return &all[len(all)-1]
}

// onlyFields fails if data carries a field outside allowed (plus "id").
func onlyFields(t *testing.T, channel string, data map[string]any, allowed ...string) {
	t.Helper()
	ok := map[string]bool{"id": true}
	for _, a := range allowed {
		ok[a] = true
	}
	for k, v := range data {
		if !ok[k] && v != nil {
			t.Errorf("%s delivered unapproved field %q: %v", channel, k, data)
		}
	}
}

// TestOnceOnly is the once-only story on all three channels. The
// population register (folkbokforing, the person's master) changes a
// child's address once, through masterdata's publish API; the school
// platform receives it on its Kafka view topic, the library system on a
// signed webhook (verified with the Standard Webhooks reference library),
// and the social services' system, behind a firewall, on the pull feed:
// each with only its approved fields. A child with protected identity
// reaches none of them with an address. Erasing the child produces a
// tombstone on Kafka and typed erased events on the webhook and the feed.
// No log line or request line holds a seeded personal value (the scan).
func TestOnceOnly(t *testing.T) {
	h, c, ctx := startScannedCast(t, 90*time.Second)
	defer c.scan.Check(t)
	ella, vera := c.publishElla(), c.publishVera()
	admin, school, library, social, mdAdmin := c.admin, c.school, c.library, c.social, c.mdAdmin

	schoolFields := []string{"givenNames", "surname", "registeredAddress", "emailAddress"}
	libraryFields := []string{"givenNames", "surname", "registeredAddress"}
	socialFields := []string{"surname", "registeredAddress"}

	// The library registers its endpoint before approval, so the first
	// event finds it.
	hook := newWebhookReceiver(t)
	libSub := subscribe(t, h.DeliveryURL, library, admin, "webhook", libraryFields)
	st, ep := hubtest.CallJSON(t, "PUT", h.DeliveryURL+"/api/v1/subscriptions/"+libSub+"/webhook", library, map[string]any{"url": hook.srv.URL + "/samnav"})
	if st != 201 || ep["secret"] == nil {
		t.Fatalf("register webhook: %d %v", st, ep)
	}
	hook.setSecret(ep["secret"].(string))
	// Another system cannot read or change the library's endpoint.
	if st, _ := hubtest.CallJSON(t, "GET", h.DeliveryURL+"/api/v1/subscriptions/"+libSub+"/webhook", school, nil); st != 404 {
		t.Fatalf("school reads the library's endpoint: %d", st)
	}

	subscribe(t, h.DeliveryURL, school, admin, "kafka", schoolFields)
	socialSub := subscribe(t, h.DeliveryURL, social, admin, "feed", socialFields)
	// Only the subscribing system reads its feed.
	var page map[string]any
	if st := getJSON(ctx, t, h.DeliveryURL+"/api/v1/feeds/"+socialSub+"/snapshot", school, &page); st != 404 {
		t.Fatalf("school reads the social services' feed: %d", st)
	}
	feed := &feedReceiver{}
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	followFeed(rctx, t, h.DeliveryURL, socialSub, social, newReceived(), feed.add)

	view := newViewReader(t, h, "samnav.view.skolplattform.person.v1")
	kafkaSeen := map[string][]map[string]any{} // nil entry = tombstone
	readView := func(until func() bool) {
		t.Helper()
		for !until() {
			key, rec, hdr := view.next(ctx)
			if rec != nil {
				onlyFields(t, "kafka", rec, schoolFields...)
			}
			if hdr["ce_subject"] != key || hdr["ce_id"] == "" {
				t.Fatalf("view headers: %v", hdr)
			}
			kafkaSeen[key] = append(kafkaSeen[key], rec)
		}
	}
	street := streetOf
	lastKafka := func(key string) map[string]any {
		if s := kafkaSeen[key]; len(s) > 0 {
			return s[len(s)-1]
		}
		return nil
	}

	// The snapshot reaches all three.
	readView(func() bool { return lastKafka(ella) != nil && lastKafka(vera) != nil })
	poll.True(ctx, t, "the webhook snapshot", func() bool { return hook.last(ella) != nil && hook.last(vera) != nil })
	poll.True(ctx, t, "the feed snapshot", func() bool { return feed.last(ella) != nil && feed.last(vera) != nil })

	// The change, made once at the master.
	c.publish(personState("201405052380", "Ella", "Nya gatan 7", "NONE"))
	c.publish(personState("201405052398", "Vera", "Ännu hemligare 3", "PROTECTED_REGISTRATION"))
	readView(func() bool {
		return street(lastKafka(ella)["registeredAddress"]) == "Nya gatan 7" && len(kafkaSeen[vera]) >= 2
	})
	poll.True(ctx, t, "the change on the webhook", func() bool {
		d, _ := hook.last(ella)["data"].(map[string]any)
		return street(d["registeredAddress"]) == "Nya gatan 7" && len(hook.all(vera)) >= 2
	})
	poll.True(ctx, t, "the change on the feed", func() bool {
		var d map[string]any
		if it := feed.last(ella); it != nil {
			_ = json.Unmarshal(it.Data, &d)
		}
		return street(d["registeredAddress"]) == "Nya gatan 7" && len(feed.all(vera)) >= 2
	})

	// Each got only its approved fields; the protected child never with an
	// address or contact data.
	for _, env := range append(hook.all(ella), hook.all(vera)...) {
		d, _ := env["data"].(map[string]any)
		onlyFields(t, "webhook", d, libraryFields...)
		if env["type"] != "se.samnav.person.changed" {
			t.Errorf("webhook type %v", env["type"])
		}
	}
	for _, it := range append(feed.all(ella), feed.all(vera)...) {
		var d map[string]any
		if err := json.Unmarshal(it.Data, &d); err != nil {
			t.Fatal(err)
		}
		onlyFields(t, "feed", d, socialFields...)
		if _, ok := d["givenNames"]; ok {
			t.Errorf("feed delivered givenNames to social services: %v", d)
		}
	}
	for _, rec := range kafkaSeen[vera] {
		if rec["registeredAddress"] != nil || rec["emailAddress"] != nil {
			t.Errorf("kafka delivered the protected child's address: %v", rec)
		}
	}
	for _, env := range hook.all(vera) {
		if d, _ := env["data"].(map[string]any); d["registeredAddress"] != nil {
			t.Errorf("webhook delivered the protected child's address: %v", d)
		}
	}
	for _, it := range feed.all(vera) {
		var d map[string]any
		_ = json.Unmarshal(it.Data, &d)
		if d["registeredAddress"] != nil {
			t.Errorf("feed delivered the protected child's address: %v", d)
		}
	}
	if d, _ := hook.last(ella)["data"].(map[string]any); d["emailAddress"] != nil || d["givenNames"] != "Ella" {
		t.Errorf("library's view of ella: %v", d)
	}

	// Erasure: a tombstone on Kafka, a typed erased event elsewhere.
	if r := hubtest.Call(t, "DELETE", h.MasterdataURL+"/api/v1/person/"+ella, mdAdmin, nil, "Samnav-Reason", "erasure request art. 17"); r.Status != 200 {
		t.Fatalf("erase: %d %s", r.Status, r.Raw)
	}
	readView(func() bool { s := kafkaSeen[ella]; return s[len(s)-1] == nil })
	poll.True(ctx, t, "the erasure on the webhook", func() bool { return hook.last(ella)["type"] == "se.samnav.person.erased" })
	if d := hook.last(ella)["data"]; d != nil {
		t.Errorf("erased webhook event carries data: %v", d)
	}
	poll.True(ctx, t, "the erasure on the feed", func() bool { return feed.last(ella).Type == "se.samnav.person.erased" })
	if d := string(feed.last(ella).Data); d != "null" && d != "" {
		t.Errorf("erased feed item carries data: %s", d)
	}
}
