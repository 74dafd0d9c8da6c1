package consoletest

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// Browser is a test client that keeps cookies, does not follow
// redirects on its own, and remembers the last page's CSRF token.
type Browser struct {
	t    *testing.T
	base string
	hc   *http.Client
	csrf string
}

type Page struct {
	Status   int
	Header   http.Header
	Body     string
	Location string
}

func NewBrowser(t *testing.T, h http.Handler) *Browser {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &Browser{t: t, base: srv.URL, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *Browser) Do(req *http.Request) Page {
	b.t.Helper()
	resp, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	p := Page{Status: resp.StatusCode, Header: resp.Header, Body: string(raw), Location: resp.Header.Get("Location")}
	if m := csrfInput.FindStringSubmatch(p.Body); m != nil {
		b.csrf = m[1]
	}
	return p
}

func (b *Browser) Get(path string) Page {
	b.t.Helper()
	req, err := http.NewRequestWithContext(b.t.Context(), http.MethodGet, b.base+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.Do(req)
}

// Post sends a form with the last page's CSRF token (unless the form
// sets "csrf" itself).
func (b *Browser) Post(path string, form url.Values) Page {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", b.csrf)
	}
	req, err := http.NewRequestWithContext(b.t.Context(), http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.Do(req)
}

// CSRF is the CSRF token of the last page that carried one.
func (b *Browser) CSRF() string { return b.csrf }

// SignIn signs in with token and checks it landed on a page.
func (b *Browser) SignIn(token string) {
	b.t.Helper()
	b.Get("/signin")
	p := b.Post("/signin", url.Values{"token": {token}, "next": {"/"}})
	if p.Status != http.StatusSeeOther {
		b.t.Fatalf("sign in: status %d, want 303: %s", p.Status, p.Body)
	}
	b.Get("/")
}

func MustContain(t *testing.T, p Page, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(p.Body, s) {
			t.Fatalf("page (status %d) does not contain %q:\n%s", p.Status, s, p.Body)
		}
	}
}

func MustNotContain(t *testing.T, p Page, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if strings.Contains(p.Body, s) {
			t.Fatalf("page (status %d) contains %q:\n%s", p.Status, s, p.Body)
		}
	}
}

// PageTime is a time as every page shows it.
var PageTime = regexp.MustCompile(`<time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0[12]:00">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d CES?T</time>`)

// PostFile sends a multipart form with one file, with the last page's
// CSRF token.
func (b *Browser) PostFile(path string, fields map[string]string, fileField, fileName, content string) Page {
	b.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if _, ok := fields["csrf"]; !ok {
		_ = mw.WriteField("csrf", b.csrf)
	}
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	fw, err := mw.CreateFormFile(fileField, fileName)
	if err != nil {
		b.t.Fatal(err)
	}
	_, _ = fw.Write([]byte(content))
	if err := mw.Close(); err != nil {
		b.t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(b.t.Context(), http.MethodPost, b.base+path, &buf)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return b.Do(req)
}
