package console

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/samnav/samnav/contracts"
	"github.com/samnav/samnav/pkg/apierr"
	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/services/console/internal/api"
	"github.com/samnav/samnav/services/masterdata"
	"github.com/samnav/samnav/services/registry"
)

// hub is the real masterdata service and schema registry, in process on
// free ports, with a fake delivery API, and a console talking to them.
type hub struct {
	t        *testing.T
	md       *masterdata.Server
	console  *Server
	api      *api.Client
	delivery *fakeDelivery
}

// fakeDelivery answers GET /api/v1/subscriptions with its list (filtered
// by concept), or refuses when refuse is set.
type fakeDelivery struct {
	mu     sync.Mutex
	subs   []api.SubscriptionRecord
	refuse bool
}

func (f *fakeDelivery) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refuse {
		apierr.Write(w, r, apierr.Forbidden("forbidden: may not list subscriptions"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	out := []api.SubscriptionRecord{}
	for _, s := range f.subs {
		if c := r.URL.Query().Get("concept"); c == "" || c == s.Concept {
			out = append(out, s)
		}
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"subscriptions": out})
}

func startHub(t *testing.T, mutate ...func(*Config)) *hub {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	regURL := startRegistry(t, ctx, dir)

	md, err := masterdata.New(ctx, masterdata.Config{Addr: "127.0.0.1:0", DataDir: filepath.Join(dir, "md"), RegistryURL: regURL, LookupOnly: true}, masterdata.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if err := md.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = md.Close() })

	fd := &fakeDelivery{}
	dsrv := httptest.NewServer(fd)
	t.Cleanup(dsrv.Close)

	cfg := Config{MasterdataURL: "http://" + md.Addr(), DeliveryURL: dsrv.URL, RegistryURL: regURL}
	s := newConsole(t, md.Tokens(), append([]func(*Config){func(c *Config) {
		c.MasterdataURL, c.DeliveryURL, c.RegistryURL = cfg.MasterdataURL, cfg.DeliveryURL, cfg.RegistryURL
	}}, mutate...)...)
	return &hub{t: t, md: md, console: s, delivery: fd,
		api: &api.Client{MasterdataURL: cfg.MasterdataURL, DeliveryURL: cfg.DeliveryURL, RegistryURL: cfg.RegistryURL}}
}

// startRegistry starts a schema registry holding every contract, with its
// data under dir/registry, and returns its URL.
func startRegistry(t *testing.T, ctx context.Context, dir string) string {
	t.Helper()
	cs, err := contracts.Contracts()
	if err != nil {
		t.Fatal(err)
	}
	var seed []registry.Seed
	for _, c := range cs {
		seed = append(seed, registry.Seed{Subject: c.Subject, Schema: c.Schema})
	}
	if err := os.MkdirAll(filepath.Join(dir, "registry"), 0o750); err != nil {
		t.Fatal(err)
	}
	reg, err := registry.New(registry.Config{Addr: "127.0.0.1:0", Driver: registry.DriverSQLite, DataDir: filepath.Join(dir, "registry"),
		Seed: seed, Authorizer: registry.AllowAllWrites{}}, registry.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reg.Close() })
	return "http://" + reg.Addr()
}

// newConsole builds a console verifying sign-ins with v, on services that
// do not answer unless mutate points it at some, closed when t ends.
func newConsole(t *testing.T, v TokenVerifier, mutate ...func(*Config)) *Server {
	t.Helper()
	cfg := Config{MasterdataURL: "http://127.0.0.1:1", DeliveryURL: "http://127.0.0.1:1", RegistryURL: "http://127.0.0.1:1", Verifier: v}
	for _, m := range mutate {
		m(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// issueToken issues an API token from md's token store.
func issueToken(t *testing.T, md *masterdata.Server, name string, kind auth.Kind, grants ...auth.Grant) string {
	t.Helper()
	secret, _, err := md.Tokens().Issue(context.Background(), auth.IssueRequest{Subject: name, Kind: kind, Name: name, Grants: grants})
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// signedIn returns a browser on s signed in with token.
func signedIn(t *testing.T, s *Server, token string) *browser {
	t.Helper()
	b := newBrowser(t, s.Handler())
	b.signIn(token)
	return b
}

// token issues an API token for a person with the grants.
func (h *hub) token(name string, grants ...auth.Grant) string {
	h.t.Helper()
	return issueToken(h.t, h.md, name, auth.KindUser, grants...)
}

// browser returns a browser signed in with token.
func (h *hub) browser(token string) *browser {
	h.t.Helper()
	return signedIn(h.t, h.console, token)
}

func steward(concepts ...string) auth.Grant {
	return auth.Grant{Role: auth.RoleSteward, Concepts: concepts}
}

// unitState is a valid unit.
func unitState(name string) map[string]any {
	return map[string]any{"name": name, "unitType": "PRIMARY_SCHOOL", "ownerNamnd": "n-1", "openingHours": []any{}, "validFrom": "2019-08-01"}
}
