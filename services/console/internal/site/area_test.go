package site

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/httproute"
	"github.com/samnav/samnav/services/console/internal/session"
)

// tokenIs is a TokenVerifier that knows one token, anna's.
type tokenIs string

func (v tokenIs) Verify(_ context.Context, token string) (*auth.Principal, error) {
	if token != string(v) {
		return nil, auth.ErrUnauthenticated
	}
	return &auth.Principal{Subject: "anna"}, nil
}

// probe is a handler set that records what ran, for the Register tests.
type probe struct{ ran []string }

func (p *probe) show(w http.ResponseWriter, r *Request) error {
	p.ran = append(p.ran, "show "+r.URL.Path)
	return nil
}

func (p *probe) submit(w http.ResponseWriter, r *Request) error {
	p.ran = append(p.ran, "submit "+r.URL.Path)
	return nil
}

// registerProbe registers a probe area for the test and removes it when
// the test ends.
func registerProbe(t *testing.T, a Area[*probe]) Feature {
	t.Helper()
	n := len(features)
	t.Cleanup(func() { features = features[:n] })
	Register(a)
	if len(features) != n+1 {
		t.Fatalf("Register added %d features, want 1", len(features)-n)
	}
	return features[n]
}

func TestRegisterMountsEachRouteForSignedInPeople(t *testing.T) {
	h := &probe{}
	var built int
	visible := func(p *auth.Principal) bool { return p.Subject == "anna" }
	f := registerProbe(t, Area[*probe]{
		Name: "probe", Order: 99, Visible: visible,
		New:    func(*Site) *probe { built++; return h },
		Before: func(h *probe, r *Request) { h.ran = append(h.ran, "before "+r.Method) },
		Pages: []Route[*probe]{
			{Path: "/probe", Show: (*probe).show, Submit: (*probe).submit},
			{Path: "/probe/{id}/act", Submit: (*probe).submit},
		},
	})
	if f.Name != "probe" || len(f.Nav) != 1 {
		t.Fatalf("feature %s with nav %+v, want probe with one entry", f.Name, f.Nav)
	}
	if n := f.Nav[0]; n.Path != "/probe" || n.Label != "nav.probe" || n.Order != 99 || n.Visible == nil || !n.Visible(&auth.Principal{Subject: "anna"}) {
		t.Errorf("menu entry %+v, want /probe labelled nav.probe at 99 with the area's Visible", n)
	}

	s := &Site{mux: httproute.New(), verifier: tokenIs("token"), Sessions: session.NewStore(time.Hour, time.Now), Logger: slog.New(slog.DiscardHandler)}
	f.Routes(s)
	if built != 1 {
		t.Fatalf("New called %d times, want once per Site", built)
	}
	sess, err := s.Sessions.Create("token", &auth.Principal{Subject: "anna"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		method, path string
		signedIn     bool
		status       int
		ran          []string
	}{
		{"GET", "/probe", true, http.StatusOK, []string{"before GET", "show /probe"}},
		{"POST", "/probe", true, http.StatusOK, []string{"before POST", "submit /probe"}},
		{"POST", "/probe/7/act", true, http.StatusOK, []string{"before POST", "submit /probe/7/act"}},
		{"GET", "/probe/7/act", true, http.StatusMethodNotAllowed, nil},
		{"GET", "/probe", false, http.StatusSeeOther, nil},
	} {
		h.ran = nil
		var body *strings.Reader
		if c.method == http.MethodPost {
			body = strings.NewReader(url.Values{csrfField: {sess.CSRF}}.Encode())
		} else {
			body = strings.NewReader("")
		}
		req := httptest.NewRequest(c.method, c.path, body)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if c.signedIn {
			req.AddCookie(&http.Cookie{Name: SessionCookie, Value: sess.ID})
		}
		rec := httptest.NewRecorder()
		s.mux.ServeHTTP(rec, req)
		name := fmt.Sprintf("%s %s (signed in %v)", c.method, c.path, c.signedIn)
		if rec.Code != c.status {
			t.Errorf("%s: status %d, want %d", name, rec.Code, c.status)
		}
		if !slices.Equal(h.ran, c.ran) {
			t.Errorf("%s: ran %q, want %q", name, h.ran, c.ran)
		}
	}
}

func TestRegisterRefusesARouteWithoutHandlers(t *testing.T) {
	defer func() {
		if got := fmt.Sprint(recover()); !strings.Contains(got, "probe") || !strings.Contains(got, "/probe/empty") {
			t.Errorf("panic %q, want one naming the area and the path", got)
		}
	}()
	registerProbe(t, Area[*probe]{Name: "probe", New: func(*Site) *probe { return &probe{} },
		Pages: []Route[*probe]{{Path: "/probe/empty"}}})
}
