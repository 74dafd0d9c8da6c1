package console_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/services/console"
	"github.com/samnav/samnav/services/console/internal/consoletest"
	"github.com/samnav/samnav/services/console/internal/site"
)

// fakeVerifier knows a fixed set of tokens.
type fakeVerifier map[string]*auth.Principal

func (f fakeVerifier) Verify(_ context.Context, token string) (*auth.Principal, error) {
	if p, ok := f[token]; ok {
		return p, nil
	}
	return nil, fmt.Errorf("%w: unknown token", auth.ErrUnauthenticated)
}

var anna = &auth.Principal{Subject: "anna", Kind: auth.KindUser, Name: "Anna Steward",
	Grants: []auth.Grant{{Role: auth.RoleSteward, Concepts: []string{"unit"}}}}

func TestSignInAndOut(t *testing.T) {
	s := consoletest.NewConsole(t, fakeVerifier{"snv_good_secret": anna})
	b := consoletest.NewBrowser(t, s.Handler())

	p := b.Get("/?q=x")
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/signin?next=") {
		t.Fatalf("anonymous page: %d %q, want a redirect to sign in", p.Status, p.Location)
	}
	p = b.Get(p.Location)
	consoletest.MustContain(t, p, `<html lang="sv">`, "Logga in", `<label for="token">`, `value="/?q=x"`)

	p = b.Post("/signin", url.Values{"token": {"snv_bad_secret"}, "next": {"/"}})
	if p.Status != http.StatusUnauthorized {
		t.Fatalf("bad token: status %d, want 401", p.Status)
	}
	consoletest.MustContain(t, p, "Token godtogs inte", `aria-invalid="true"`, `aria-describedby="token-help token-error"`, `id="error-summary"`)

	p = b.Post("/signin", url.Values{"token": {"snv_good_secret"}, "next": {"/?q=x"}})
	if p.Status != http.StatusSeeOther || p.Location != "/?q=x" {
		t.Fatalf("sign in: %d %q, want 303 to the page asked for", p.Status, p.Location)
	}
	var sc *http.Cookie
	for _, c := range p.Header.Values("Set-Cookie") {
		if strings.HasPrefix(c, site.SessionCookie+"=") {
			sc, _ = http.ParseSetCookie(c)
		}
	}
	if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Value == "" {
		t.Fatalf("session cookie %+v: must be HttpOnly, SameSite=Lax", sc)
	}
	if strings.Contains(sc.Value, "snv_") {
		t.Fatal("the session cookie must not carry the token")
	}
	home := b.Get("/")
	consoletest.MustContain(t, home, "Hej Anna Steward!", "Informationsförvaltare (unit)", "Logga ut")

	p = b.Post("/signout", nil)
	if p.Status != http.StatusSeeOther {
		t.Fatalf("sign out: %d", p.Status)
	}
	if p = b.Get("/"); p.Status != http.StatusSeeOther {
		t.Fatalf("after sign-out the home page must ask for sign-in, got %d", p.Status)
	}
	if console.SessionCount(s) != 0 {
		t.Fatalf("%d sessions remain after sign-out", console.SessionCount(s))
	}
}

func TestSessionExpiresWhenIdle(t *testing.T) {
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s := consoletest.NewConsole(t, fakeVerifier{"snv_good_secret": anna}, func(c *console.Config) { c.Now = clock; c.SessionIdle = time.Minute })
	b := consoletest.NewBrowser(t, s.Handler())
	b.SignIn("snv_good_secret")
	now = now.Add(59 * time.Second)
	if p := b.Get("/"); p.Status != http.StatusOK {
		t.Fatalf("within idle time: %d", p.Status)
	}
	now = now.Add(61 * time.Second)
	if p := b.Get("/"); p.Status != http.StatusSeeOther {
		t.Fatalf("after idle time: %d, want a redirect to sign in", p.Status)
	}
}

func TestPostWithoutCSRFIsRefused(t *testing.T) {
	s := consoletest.NewConsole(t, fakeVerifier{"snv_good_secret": anna})
	b := consoletest.NewBrowser(t, s.Handler())

	// The sign-in form itself is protected (login CSRF).
	b.Get("/signin")
	if p := b.Post("/signin", url.Values{"token": {"snv_good_secret"}, "csrf": {"forged"}}); p.Status != http.StatusForbidden {
		t.Fatalf("sign-in with a forged token: %d, want 403", p.Status)
	}
	b.SignIn("snv_good_secret")
	for _, csrf := range []string{"", "forged"} {
		p := b.Post("/signout", url.Values{"csrf": {csrf}})
		if p.Status != http.StatusForbidden {
			t.Fatalf("sign-out with csrf %q: %d, want 403", csrf, p.Status)
		}
		consoletest.MustContain(t, p, "säkerhetsnyckel")
	}
	if console.SessionCount(s) != 1 {
		t.Fatal("a refused sign-out must leave the session")
	}
}

func TestLanguageSwitch(t *testing.T) {
	s := consoletest.NewConsole(t, fakeVerifier{"snv_good_secret": anna})
	b := consoletest.NewBrowser(t, s.Handler())
	b.SignIn("snv_good_secret")

	p := b.Get("/")
	consoletest.MustContain(t, p, `<html lang="sv">`, "Hej Anna Steward!", `href="/?lang=en"`, "In English", `<a class="skip" href="#main">Hoppa till innehållet</a>`)
	p = b.Get("/?lang=en")
	consoletest.MustContain(t, p, `<html lang="en">`, "Hello Anna Steward!", "Data steward (unit)", `href="/?lang=sv"`, "På svenska")
	// Remembered in a cookie.
	p = b.Get("/")
	consoletest.MustContain(t, p, `<html lang="en">`, "Sign out")
	p = b.Get("/?lang=sv")
	consoletest.MustContain(t, p, `<html lang="sv">`)
	p = b.Get("/?lang=xx")
	consoletest.MustContain(t, p, `<html lang="sv">`)
}

func TestUnknownPathIs404(t *testing.T) {
	s := consoletest.NewConsole(t, fakeVerifier{})
	b := consoletest.NewBrowser(t, s.Handler())
	p := b.Get("/no/such/page")
	if p.Status != http.StatusNotFound {
		t.Fatalf("status %d, want 404", p.Status)
	}
	consoletest.MustContain(t, p, "<h1>", "finns inte")
}

// TestSignInVerifiesThroughTheAPIWithoutAVerifier: a console without a
// token store of its own asks the masterdata API who a token is.
func TestSignInVerifiesThroughTheAPIWithoutAVerifier(t *testing.T) {
	h := consoletest.StartHub(t, func(c *console.Config) { c.Verifier = nil })
	b := consoletest.NewBrowser(t, h.Console.Handler())
	b.Get("/signin")
	if p := b.Post("/signin", url.Values{"token": {"snv_0000_wrong"}}); p.Status != http.StatusUnauthorized {
		t.Fatalf("bad token: %d, want 401", p.Status)
	}
	b.SignIn(h.Token("anna", consoletest.Steward("unit")))
	consoletest.MustContain(t, b.Get("/"), "Hej anna!", "Informationsförvaltare (unit)")
}

func TestSecureCookiesBehindATLSProxy(t *testing.T) {
	for _, secure := range []bool{false, true} {
		s := consoletest.NewConsole(t, fakeVerifier{"snv_good_secret": anna}, func(c *console.Config) { c.SecureCookies = secure })
		b := consoletest.NewBrowser(t, s.Handler())
		b.Get("/signin")
		p := b.Post("/signin", url.Values{"token": {"snv_good_secret"}})
		var sc *http.Cookie
		for _, c := range p.Header.Values("Set-Cookie") {
			if strings.HasPrefix(c, site.SessionCookie+"=") {
				sc, _ = http.ParseSetCookie(c)
			}
		}
		if sc == nil || sc.Secure != secure {
			t.Fatalf("SecureCookies %v: session cookie %+v", secure, sc)
		}
		if csp := p.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Fatalf("CSP %q", csp)
		}
	}
}

type brokenVerifier struct{}

func (brokenVerifier) Verify(context.Context, string) (*auth.Principal, error) {
	return nil, errors.New("token store unreachable")
}

func TestSignInWhenTokensCannotBeChecked(t *testing.T) {
	s := consoletest.NewConsole(t, brokenVerifier{})
	b := consoletest.NewBrowser(t, s.Handler())
	b.Get("/signin")
	p := b.Post("/signin", url.Values{"token": {"snv_good_secret"}})
	if p.Status != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", p.Status)
	}
	consoletest.MustContain(t, p, "Token kunde inte kontrolleras just nu", `id="token"`)
	if console.SessionCount(s) != 0 {
		t.Fatal("no session may start")
	}
}

// TestSignInFromAnOldTab: the sign-in form's token lives until a sign-in
// succeeds, so a stale sign-in form is refused with the advice to reload,
// and the session it would have replaced stays.
func TestSignInFromAnOldTab(t *testing.T) {
	bo := &auth.Principal{Subject: "bo", Kind: auth.KindUser, Grants: []auth.Grant{{Role: auth.RoleAuditor}}}
	s := consoletest.NewConsole(t, fakeVerifier{"snv_good_secret": anna, "snv_bo_secret": bo})
	b := consoletest.NewBrowser(t, s.Handler())
	b.Get("/signin")
	signinCSRF := b.CSRF()
	b.Post("/signin", url.Values{"token": {"snv_good_secret"}})
	consoletest.MustContain(t, b.Get("/"), "Hej Anna Steward!")
	p := b.Post("/signin", url.Values{"token": {"snv_bo_secret"}, "csrf": {signinCSRF}})
	if p.Status != http.StatusForbidden {
		t.Fatalf("stale sign-in form: %d, want 403", p.Status)
	}
	consoletest.MustContain(t, p, "Ladda om sidan")
	consoletest.MustContain(t, b.Get("/"), "Hej Anna Steward!")
	if console.SessionCount(s) != 1 {
		t.Fatalf("%d sessions, want one", console.SessionCount(s))
	}
}

// A browser address that keeps failing to sign in waits longer for each
// refusal after the free ones, and each refusal is logged with the
// address, never the token; a correct token is answered at once, and
// another address is not slowed by the guesser.
func TestFailedSignInsAreSlowedPerAddress(t *testing.T) {
	var mu sync.Mutex
	var waits []time.Duration
	var logged bytes.Buffer
	// The console's clock moves only by the waits, as if each guess came
	// right after the previous answer.
	now := time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC)
	s := consoletest.NewConsole(t, fakeVerifier{"snv_good_secret": anna}, func(c *console.Config) {
		c.SignInLimits = auth.LoginLimits{Free: 3, Base: 100 * time.Millisecond, Max: time.Second}
		c.Now = func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			return now
		}
		c.SignInWait = func(_ context.Context, d time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			waits = append(waits, d)
			now = now.Add(d)
		}
		c.Logger = slog.New(slog.NewTextHandler(&lockedWriter{w: &logged, mu: &mu}, nil))
	})
	from := func(addr string) *consoletest.Browser {
		return consoletest.NewBrowser(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.RemoteAddr = addr
			s.Handler().ServeHTTP(w, r)
		}))
	}
	guesser := from("192.0.2.7:40000")
	guesser.Get("/signin")
	for i := range 7 {
		if p := guesser.Post("/signin", url.Values{"token": {fmt.Sprintf("snv_guess%d_secret", i)}}); p.Status != http.StatusUnauthorized {
			t.Fatalf("guess %d: status %d, want 401", i, p.Status)
		}
	}
	mu.Lock()
	got := slices.Clone(waits)
	mu.Unlock()
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}
	if !slices.Equal(got, want) {
		t.Fatalf("refusals held back %v, want %v after 3 free ones", got, want)
	}

	other := from("198.51.100.9:40000")
	other.Get("/signin")
	if p := other.Post("/signin", url.Values{"token": {"snv_typo_secret"}}); p.Status != http.StatusUnauthorized {
		t.Fatalf("another address's typo: status %d, want 401", p.Status)
	}
	if p := guesser.Post("/signin", url.Values{"token": {"snv_good_secret"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("the right token from the guessing address: status %d, want 303", p.Status)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(waits) != len(want) {
		t.Fatalf("%d refusals held back, want only the guesser's %d: %v", len(waits), len(want), waits)
	}
	out := logged.String()
	if n := strings.Count(out, "console sign-in refused"); n != 8 {
		t.Fatalf("%d refusals logged, want 8:\n%s", n, out)
	}
	if !strings.Contains(out, "source=192.0.2.7") || !strings.Contains(out, "source.failures=7") {
		t.Fatalf("the log does not name the guessing address and its count:\n%s", out)
	}
	if strings.Contains(out, "guess") || strings.Contains(out, "snv_") {
		t.Fatalf("a token reached the log:\n%s", out)
	}
}

// lockedWriter serialises writes to w under mu.
type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
