package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/services/console/internal/site"
)

var anna = &auth.Principal{Subject: "anna", Kind: auth.KindUser, Name: "Anna Steward",
	Grants: []auth.Grant{{Role: auth.RoleSteward, Concepts: []string{"unit"}}}}

func TestSignInAndOut(t *testing.T) {
	s := newConsole(t, fakeVerifier{"snv_good_secret": anna})
	b := newBrowser(t, s.Handler())

	p := b.get("/?q=x")
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/signin?next=") {
		t.Fatalf("anonymous page: %d %q, want a redirect to sign in", p.status, p.location)
	}
	p = b.get(p.location)
	mustContain(t, p, `<html lang="sv">`, "Logga in", `<label for="token">`, `value="/?q=x"`)

	p = b.post("/signin", url.Values{"token": {"snv_bad_secret"}, "next": {"/"}})
	if p.status != http.StatusUnauthorized {
		t.Fatalf("bad token: status %d, want 401", p.status)
	}
	mustContain(t, p, "Token godtogs inte", `aria-invalid="true"`, `aria-describedby="token-help token-error"`, `id="error-summary"`)

	p = b.post("/signin", url.Values{"token": {"snv_good_secret"}, "next": {"/?q=x"}})
	if p.status != http.StatusSeeOther || p.location != "/?q=x" {
		t.Fatalf("sign in: %d %q, want 303 to the page asked for", p.status, p.location)
	}
	var sc *http.Cookie
	for _, c := range p.header.Values("Set-Cookie") {
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
	home := b.get("/")
	mustContain(t, home, "Hej Anna Steward!", "Informationsförvaltare (unit)", "Logga ut")

	p = b.post("/signout", nil)
	if p.status != http.StatusSeeOther {
		t.Fatalf("sign out: %d", p.status)
	}
	if p = b.get("/"); p.status != http.StatusSeeOther {
		t.Fatalf("after sign-out the home page must ask for sign-in, got %d", p.status)
	}
	if s.site.Sessions.Len() != 0 {
		t.Fatalf("%d sessions remain after sign-out", s.site.Sessions.Len())
	}
}

func TestSessionExpiresWhenIdle(t *testing.T) {
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s := newConsole(t, fakeVerifier{"snv_good_secret": anna}, func(c *Config) { c.Now = clock; c.SessionIdle = time.Minute })
	b := newBrowser(t, s.Handler())
	b.signIn("snv_good_secret")
	now = now.Add(59 * time.Second)
	if p := b.get("/"); p.status != http.StatusOK {
		t.Fatalf("within idle time: %d", p.status)
	}
	now = now.Add(61 * time.Second)
	if p := b.get("/"); p.status != http.StatusSeeOther {
		t.Fatalf("after idle time: %d, want a redirect to sign in", p.status)
	}
}

func TestPostWithoutCSRFIsRefused(t *testing.T) {
	s := newConsole(t, fakeVerifier{"snv_good_secret": anna})
	b := newBrowser(t, s.Handler())

	// The sign-in form itself is protected (login CSRF).
	b.get("/signin")
	if p := b.post("/signin", url.Values{"token": {"snv_good_secret"}, "csrf": {"forged"}}); p.status != http.StatusForbidden {
		t.Fatalf("sign-in with a forged token: %d, want 403", p.status)
	}
	b.signIn("snv_good_secret")
	for _, csrf := range []string{"", "forged"} {
		p := b.post("/signout", url.Values{"csrf": {csrf}})
		if p.status != http.StatusForbidden {
			t.Fatalf("sign-out with csrf %q: %d, want 403", csrf, p.status)
		}
		mustContain(t, p, "säkerhetsnyckel")
	}
	if s.site.Sessions.Len() != 1 {
		t.Fatal("a refused sign-out must leave the session")
	}
}

func TestLanguageSwitch(t *testing.T) {
	s := newConsole(t, fakeVerifier{"snv_good_secret": anna})
	b := newBrowser(t, s.Handler())
	b.signIn("snv_good_secret")

	p := b.get("/")
	mustContain(t, p, `<html lang="sv">`, "Hej Anna Steward!", `href="/?lang=en"`, "In English", `<a class="skip" href="#main">Hoppa till innehållet</a>`)
	p = b.get("/?lang=en")
	mustContain(t, p, `<html lang="en">`, "Hello Anna Steward!", "Data steward (unit)", `href="/?lang=sv"`, "På svenska")
	// Remembered in a cookie.
	p = b.get("/")
	mustContain(t, p, `<html lang="en">`, "Sign out")
	p = b.get("/?lang=sv")
	mustContain(t, p, `<html lang="sv">`)
	p = b.get("/?lang=xx")
	mustContain(t, p, `<html lang="sv">`)
}

func TestUnknownPathIs404(t *testing.T) {
	s := newConsole(t, fakeVerifier{})
	b := newBrowser(t, s.Handler())
	p := b.get("/no/such/page")
	if p.status != http.StatusNotFound {
		t.Fatalf("status %d, want 404", p.status)
	}
	mustContain(t, p, "<h1>", "finns inte")
}

// TestSignInVerifiesThroughTheAPIWithoutAVerifier: a console without a
// token store of its own asks the masterdata API who a token is.
func TestSignInVerifiesThroughTheAPIWithoutAVerifier(t *testing.T) {
	h := startHub(t, func(c *Config) { c.Verifier = nil })
	b := newBrowser(t, h.console.Handler())
	b.get("/signin")
	if p := b.post("/signin", url.Values{"token": {"snv_0000_wrong"}}); p.status != http.StatusUnauthorized {
		t.Fatalf("bad token: %d, want 401", p.status)
	}
	b.signIn(h.token("anna", steward("unit")))
	mustContain(t, b.get("/"), "Hej anna!", "Informationsförvaltare (unit)")
}

func TestSecureCookiesBehindATLSProxy(t *testing.T) {
	for _, secure := range []bool{false, true} {
		s := newConsole(t, fakeVerifier{"snv_good_secret": anna}, func(c *Config) { c.SecureCookies = secure })
		b := newBrowser(t, s.Handler())
		b.get("/signin")
		p := b.post("/signin", url.Values{"token": {"snv_good_secret"}})
		var sc *http.Cookie
		for _, c := range p.header.Values("Set-Cookie") {
			if strings.HasPrefix(c, site.SessionCookie+"=") {
				sc, _ = http.ParseSetCookie(c)
			}
		}
		if sc == nil || sc.Secure != secure {
			t.Fatalf("SecureCookies %v: session cookie %+v", secure, sc)
		}
		if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Fatalf("CSP %q", csp)
		}
	}
}

type brokenVerifier struct{}

func (brokenVerifier) Verify(context.Context, string) (*auth.Principal, error) {
	return nil, errors.New("token store unreachable")
}

func TestSignInWhenTokensCannotBeChecked(t *testing.T) {
	s := newConsole(t, brokenVerifier{})
	b := newBrowser(t, s.Handler())
	b.get("/signin")
	p := b.post("/signin", url.Values{"token": {"snv_good_secret"}})
	if p.status != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", p.status)
	}
	mustContain(t, p, "Token kunde inte kontrolleras just nu", `id="token"`)
	if s.site.Sessions.Len() != 0 {
		t.Fatal("no session may start")
	}
}

// TestSignInFromAnOldTab: the sign-in form's token lives until a sign-in
// succeeds, so a stale sign-in form is refused with the advice to reload,
// and the session it would have replaced stays.
func TestSignInFromAnOldTab(t *testing.T) {
	bo := &auth.Principal{Subject: "bo", Kind: auth.KindUser, Grants: []auth.Grant{{Role: auth.RoleAuditor}}}
	s := newConsole(t, fakeVerifier{"snv_good_secret": anna, "snv_bo_secret": bo})
	b := newBrowser(t, s.Handler())
	b.get("/signin")
	signinCSRF := b.csrf
	b.post("/signin", url.Values{"token": {"snv_good_secret"}})
	mustContain(t, b.get("/"), "Hej Anna Steward!")
	p := b.post("/signin", url.Values{"token": {"snv_bo_secret"}, "csrf": {signinCSRF}})
	if p.status != http.StatusForbidden {
		t.Fatalf("stale sign-in form: %d, want 403", p.status)
	}
	mustContain(t, p, "Ladda om sidan")
	mustContain(t, b.get("/"), "Hej Anna Steward!")
	if s.site.Sessions.Len() != 1 {
		t.Fatalf("%d sessions, want one", s.site.Sessions.Len())
	}
}
