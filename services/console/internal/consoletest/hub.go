// Package consoletest starts the console on real services for tests: Hub
// (master data and the schema registry in process, a fake delivery
// list), FlowHub (the whole hub with an embedded broker and the delivery
// pipeline), and Browser, a cookie-keeping client that carries each
// page's CSRF token. Every area's page tests and the console's own use it.
package consoletest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	dlclient "github.com/samnav/samnav/services/delivery/client"
	mdclient "github.com/samnav/samnav/services/masterdata/client"

	"github.com/samnav/samnav/contracts"
	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/services/console"
	"github.com/samnav/samnav/services/console/internal/api"
	"github.com/samnav/samnav/services/hubtest"
	"github.com/samnav/samnav/services/masterdata"
)

// Hub is the real masterdata service and schema registry, in process on
// free ports, with a fake delivery API, and a console talking to them.
type Hub struct {
	T *testing.T
	// Services is what hubtest started: master data and the registry.
	Services *hubtest.Hub
	MD       *masterdata.Server
	Console  *console.Server
	API      *api.Client
	Delivery *FakeDelivery
	// Model is the concept model the console shows (contracts.Model).
	Model *model.Model
}

// FakeDelivery answers GET /api/v1/subscriptions with its list (filtered
// by concept), or refuses when Refuse is set.
type FakeDelivery struct {
	mu     sync.Mutex
	Subs   []dlclient.Subscription
	Refuse bool
}

func (f *FakeDelivery) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Refuse {
		apierr.Write(w, r, apierr.Forbidden("forbidden: may not list subscriptions"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	out := []dlclient.Subscription{}
	for _, s := range f.Subs {
		if c := r.URL.Query().Get("concept"); c == "" || c == s.Concept {
			out = append(out, s)
		}
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"subscriptions": out})
}

// StartHub starts master data and the schema registry (hubtest), a
// FakeDelivery, and a console on them verifying sign-ins with master
// data's tokens; mutate adjusts the console's configuration.
func StartHub(t *testing.T, mutate ...func(*console.Config)) *Hub {
	t.Helper()
	fd := &FakeDelivery{}
	dsrv := httptest.NewServer(fd)
	t.Cleanup(dsrv.Close)
	h := hubtest.Start(t, hubtest.WithMasterdata(),
		hubtest.WithConsole(append([]func(*console.Config){func(c *console.Config) { c.DeliveryURL = dsrv.URL }}, mutate...)...))
	m, err := contracts.Model()
	if err != nil {
		t.Fatal(err)
	}
	return &Hub{T: t, Services: h, MD: h.Masterdata, Console: h.Console, Delivery: fd, Model: m,
		API: &api.Client{MasterdataURL: h.MasterdataURL, DeliveryURL: dsrv.URL, RegistryURL: h.RegistryURL}}
}

// NewConsole builds a console verifying sign-ins with v, on services that
// do not answer unless mutate points it at some, closed when t ends.
func NewConsole(t *testing.T, v console.TokenVerifier, mutate ...func(*console.Config)) *console.Server {
	t.Helper()
	return hubtest.Start(t, hubtest.WithConsole(append([]func(*console.Config){func(c *console.Config) { c.Verifier = v }}, mutate...)...)).Console
}

// SignedIn returns a browser on s signed in with token.
func SignedIn(t *testing.T, s *console.Server, token string) *Browser {
	t.Helper()
	b := NewBrowser(t, s.Handler())
	b.SignIn(token)
	return b
}

// Token issues an API token for a person with the grants.
func (h *Hub) Token(name string, grants ...auth.Grant) string {
	h.T.Helper()
	return hubtest.Issue(h.T, h.MD.Tokens(), name, auth.KindUser, grants...)
}

// Browser returns a browser signed in with token.
func (h *Hub) Browser(token string) *Browser {
	h.T.Helper()
	return SignedIn(h.T, h.Console, token)
}

// BrowserAs returns a browser signed in with a new token for a person
// with the grants (Token, then Browser).
func (h *Hub) BrowserAs(name string, grants ...auth.Grant) *Browser {
	h.T.Helper()
	_, b := h.SignIn(name, grants...)
	return b
}

// SignIn issues a new token for a person with the grants and returns it
// with a browser signed in with it, for tests that also call the APIs
// as that person.
func (h *Hub) SignIn(name string, grants ...auth.Grant) (token string, b *Browser) {
	h.T.Helper()
	token = h.Token(name, grants...)
	return token, h.Browser(token)
}

// Steward is the grant of a steward of the concepts.
func Steward(concepts ...string) auth.Grant {
	return auth.Grant{Role: auth.RoleSteward, Concepts: concepts}
}

// UnitState is a valid unit.
func UnitState(name string) map[string]any {
	return map[string]any{"name": name, "unitType": "PRIMARY_SCHOOL", "ownerNamnd": "n-1", "openingHours": []any{}, "validFrom": "2019-08-01"}
}

// ShortID is how the console shows an id next to a label: its last eight
// characters after an ellipsis.
func ShortID(id string) string {
	if r := []rune(id); len(r) > 8 {
		return "…" + string(r[len(r)-8:])
	}
	return id
}

// UnitForm is a valid new-unit form.
func UnitForm(name string) url.Values {
	return url.Values{"name": {name}, "unitType": {"PRIMARY_SCHOOL"}, "ownerNamnd": {"n-1"}, "validFrom": {"2019-08-01"},
		"schoolUnitCode": {"12345678"}, "reason": {"new school"}}
}

// Create creates a record of concept with state through the master data
// API, as the holder of token, and fails the test if it cannot.
func (h *Hub) Create(token, concept string, state map[string]any, reason string) *mdclient.Record {
	h.T.Helper()
	rec, err := h.API.Masterdata(token).Create(context.Background(), concept, state, reason)
	if err != nil {
		h.T.Fatalf("create %s: %v", concept, err)
	}
	return rec
}

// Count is how many records of concept (ended ones too) the holder of
// token reads.
func (h *Hub) Count(token, concept string) int {
	h.T.Helper()
	p, err := h.API.Masterdata(token).List(context.Background(), concept, mdclient.ListOptions{IncludeEnded: true, Limit: 1000})
	if err != nil {
		h.T.Fatal(err)
	}
	return len(p.Records)
}

// WaitImport waits until the import job finishes (no timing involved:
// the console's background work ends when the job does). The pages read
// afterwards show the job by its id.
func (h *Hub) WaitImport(string) {
	h.Console.Wait()
}
