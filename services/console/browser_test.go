package console

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// browser is a test client that keeps cookies, does not follow
// redirects on its own, and remembers the last page's CSRF token.
type browser struct {
	t    *testing.T
	base string
	hc   *http.Client
	csrf string
}

type page struct {
	status   int
	header   http.Header
	body     string
	location string
}

func newBrowser(t *testing.T, h http.Handler) *browser {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, base: srv.URL, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	p := page{status: resp.StatusCode, header: resp.Header, body: string(raw), location: resp.Header.Get("Location")}
	if m := csrfInput.FindStringSubmatch(p.body); m != nil {
		b.csrf = m[1]
	}
	return p
}

func (b *browser) get(path string) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.base+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

// post sends a form with the last page's CSRF token (unless the form
// sets "csrf" itself).
func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", b.csrf)
	}
	req, err := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// signIn signs in with token and checks it landed on a page.
func (b *browser) signIn(token string) {
	b.t.Helper()
	b.get("/signin")
	p := b.post("/signin", url.Values{"token": {token}, "next": {"/"}})
	if p.status != http.StatusSeeOther {
		b.t.Fatalf("sign in: status %d, want 303: %s", p.status, p.body)
	}
	b.get("/")
}

func mustContain(t *testing.T, p page, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(p.body, s) {
			t.Fatalf("page (status %d) does not contain %q:\n%s", p.status, s, p.body)
		}
	}
}

func mustNotContain(t *testing.T, p page, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if strings.Contains(p.body, s) {
			t.Fatalf("page (status %d) contains %q:\n%s", p.status, s, p.body)
		}
	}
}

// pageTime is a time as every page shows it.
var pageTime = regexp.MustCompile(`<time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0[12]:00">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d CES?T</time>`)
