package webhook_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/samnav/samnav/contracts"
	"github.com/samnav/samnav/contracts/generator"
	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/sdk/poll"
	"github.com/samnav/samnav/pkg/sdk/sqldb"
	_ "github.com/samnav/samnav/pkg/sqldb/drivers" // the drivers sqldb.Open uses
	"github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/delivery/internal/channel"
	"github.com/samnav/samnav/services/delivery/internal/webhook"
	"github.com/samnav/samnav/services/delivery/internal/webhook/sqlstore"
	"github.com/samnav/samnav/services/delivery/internal/webhook/webhooktest"
)

// received is one request a test receiver saw.
type received struct {
	At     time.Time
	Header http.Header
	Body   []byte
	Env    webhook.Envelope
	Status int
}

// receiver is a local webhook receiver whose answer a test chooses per
// request (status), recording every request.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []received
	status func(r received, n int) int // n counts requests for r's webhook-id, from 1
}

func newReceiver(t testing.TB, status func(r received, n int) int) *receiver {
	rc := &receiver{status: status}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r := received{At: time.Now(), Header: req.Header.Clone(), Body: body}
		_ = json.Unmarshal(body, &r.Env)
		rc.mu.Lock()
		n := 1
		for _, g := range rc.got {
			if g.Header.Get(webhook.HeaderID) == req.Header.Get(webhook.HeaderID) {
				n++
			}
		}
		r.Status = http.StatusNoContent
		if rc.status != nil {
			r.Status = rc.status(r, n)
		}
		rc.got = append(rc.got, r)
		rc.mu.Unlock()
		w.WriteHeader(r.Status)
		_, _ = io.WriteString(w, http.StatusText(r.Status))
	}))
	t.Cleanup(rc.Close)
	return rc
}

// downReceiver is a receiver answering status until up is set, and 200
// from then on.
func downReceiver(t testing.TB, status int) (up *atomic.Bool, rc *receiver) {
	up = new(atomic.Bool)
	return up, newReceiver(t, func(received, int) int {
		if up.Load() {
			return http.StatusOK
		}
		return status
	})
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// delivered returns the event ids answered with a 2xx, in arrival order.
func (rc *receiver) delivered() []string {
	var ids []string
	for _, r := range rc.requests() {
		if r.Status >= 200 && r.Status < 300 {
			ids = append(ids, r.Header.Get(webhook.HeaderID))
		}
	}
	return ids
}

func newStore(t testing.TB) webhook.Store {
	t.Helper()
	s, _ := newStoreDB(t)
	return s
}

// newStoreDB is newStore with the database under it, for a test that
// writes a row as an earlier release did.
func newStoreDB(t testing.TB) (*sqlstore.Store, *sql.DB) {
	t.Helper()
	db, d, err := sqldb.Open("sqlite:" + filepath.Join(t.TempDir(), "wh.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := sqlstore.Migrate(context.Background(), db, d); err != nil {
		t.Fatal(err)
	}
	s, err := sqlstore.New(context.Background(), db, d, webhooktest.Keys(t))
	if err != nil {
		t.Fatal(err)
	}
	return s, db
}

// start returns a running service on a fresh SQLite store, allowed to
// reach loopback receivers, with cfg's non-zero fields applied.
func start(t testing.TB, cfg webhook.Config) *webhook.Service {
	t.Helper()
	if cfg.Store == nil {
		cfg.Store = newStore(t)
	}
	cfg = projecting(t, cfg)
	cfg.Addresses.AllowPrivate = true
	if cfg.Schedule == nil {
		cfg.Schedule = []time.Duration{50 * time.Millisecond, 100 * time.Millisecond}
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 50 * time.Millisecond
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	svc, err := webhook.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	return svc
}

var sub1 = client.Subscription{ID: "sub1", System: "library", Concept: "person", Major: 1, Channel: client.ChannelWebhook, Status: client.StatusApproved,
	ApprovedFields: []string{"givenNames", "surname", "registeredAddress"}}

// person is the unprojected state of a person, protected with marker
// (model.NotProtected for none).
func person(key, marker string) map[string]any {
	return map[string]any{"id": key, "givenNames": "Astrid", "surname": "Lind", "dateOfBirth": "1990-05-01",
		"protectedIdentity": marker, "registeredAddress": map[string]any{"streetAddress": "Storgatan 1", "postalCode": "11122", "postTown": "Stockholm"}}
}

func event(id, key string, rev int64) channel.Event {
	src := person(key, model.NotProtected)
	return channel.Event{
		SubscriptionID: sub1.ID, System: sub1.System, Concept: "person", Key: key, EventID: id,
		Type: channel.TypeChanged, Time: time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC), Revision: rev,
		State:  map[string]any{"id": key, "givenNames": "Astrid", "surname": "Lind", "registeredAddress": src["registeredAddress"]},
		Source: src, Trace: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	}
}

// subscriptions is what a service sees of the subscriptions at send time;
// a test narrows or revokes one with set.
type subscriptions struct {
	mu sync.Mutex
	m  map[string]client.Subscription
}

func newSubscriptions(subs ...client.Subscription) *subscriptions {
	ss := &subscriptions{m: map[string]client.Subscription{}}
	for _, s := range subs {
		ss.set(s)
	}
	return ss
}

func (ss *subscriptions) set(s client.Subscription) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.m[s.ID] = s
}

func (ss *subscriptions) lookup(_ context.Context, id string) (client.Subscription, bool, error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.m[id]
	return s, ok, nil
}

var (
	loadModel   = sync.OnceValues(contracts.Model)
	loadSchemas = sync.OnceValues(func() (map[string]string, error) {
		m, err := loadModel()
		if err != nil {
			return nil, err
		}
		return generator.AvroSchemas(m)
	})
)

// projecting returns cfg with the concept model and its schemas, and,
// unless cfg has a lookup, one that sees sub1 approved.
func projecting(t testing.TB, cfg webhook.Config) webhook.Config {
	t.Helper()
	cfg, err := withProjection(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// withProjection is projecting outside a test.
func withProjection(cfg webhook.Config) (webhook.Config, error) {
	m, err := loadModel()
	if err != nil {
		return cfg, err
	}
	schemas, err := loadSchemas()
	if err != nil {
		return cfg, err
	}
	cfg.Model, cfg.Schemas = m, schemas
	if cfg.Subscriptions == nil {
		cfg.Subscriptions = newSubscriptions(sub1).lookup
	}
	return cfg, nil
}

func register(t testing.TB, svc *webhook.Service, url string) webhook.Secret {
	t.Helper()
	_, sec, err := svc.Register(context.Background(), webhook.RegisterRequest{SubscriptionID: sub1.ID, Owner: sub1.System, URL: url})
	if err != nil {
		t.Fatal(err)
	}
	return sec
}

func deliver(t testing.TB, svc *webhook.Service, evs ...channel.Event) {
	t.Helper()
	for _, ev := range evs {
		if err := svc.Deliver(context.Background(), sub1, ev); err != nil {
			t.Fatalf("deliver %s: %v", ev.EventID, err)
		}
	}
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	poll.True(poll.Within(t, 10*time.Second), t, what, cond)
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
