package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Page is one tab, in a browser context of its own: it starts with no
// cookies and shares none with other pages, so two pages are two people.
// Its methods are for one test goroutine; each fails the test (t.Fatal) when
// its action fails or takes longer than the browser's Timeout, naming the
// selector and the page's URL.
type Page struct {
	t         testing.TB
	b         *Browser
	ctx       context.Context
	cancel    context.CancelFunc
	mu        sync.Mutex
	jsErrs    []string
	closeOnce sync.Once
}

// NewPage opens a tab for t and closes it when t ends.
func (b *Browser) NewPage(t testing.TB) *Page {
	t.Helper()
	p, err := b.newPage()
	if err != nil {
		t.Fatal(err)
	}
	p.t = t
	t.Cleanup(func() {
		if t.Failed() {
			p.explainFailure()
		}
		p.Close()
	})
	return p
}

// explainFailure logs where a failed test's page was and its JS errors,
// and with `go test -artifacts` keeps a screenshot and the HTML of it in
// the test's artifact dir.
func (p *Page) explainFailure() {
	p.t.Logf("the page was at %s", p.location())
	if errs := p.JSErrors(); len(errs) > 0 {
		p.t.Logf("its JavaScript errors: %q", errs)
	}
	if f := flag.Lookup("test.artifacts"); f == nil || f.Value.String() != "true" {
		return
	}
	ctx, cancel := context.WithTimeout(p.ctx, p.b.opts.Timeout)
	defer cancel()
	dir := p.t.ArtifactDir()
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		path := filepath.Join(dir, "page.png")
		if os.WriteFile(path, png, 0o600) == nil {
			p.t.Logf("its screenshot: %s", path)
		}
	}
	if html, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`)); err == nil {
		path := filepath.Join(dir, "page.html")
		if os.WriteFile(path, []byte(html), 0o600) == nil {
			p.t.Logf("its HTML: %s", path)
		}
	}
}

func (b *Browser) newPage() (*Page, error) {
	p := &Page{b: b}
	p.ctx, p.cancel = chromedp.NewContext(b.ctx,
		chromedp.WithNewBrowserContext(),
		chromedp.WithListener(p.listen),
	)
	// The first Run's context keeps the tab alive, so it carries no
	// deadline; the deadline is enforced from outside.
	err := bounded(b.opts.Timeout, p.cancel, func() error {
		return chromedp.Do(p.ctx, viewport(b.opts.Width, b.opts.Height))
	})
	if err != nil {
		p.cancel()
		return nil, fmt.Errorf("open tab: %w%s", err, b.output.suffix())
	}
	return p, nil
}

func viewport(width, height int) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
			Width:             int64(width),
			Height:            int64(height),
			DeviceScaleFactor: 1,
		})
		return err
	})
}

// SetViewport resizes the page's viewport (CSS pixels), for a narrow
// screen: WCAG 1.4.10 asks that content reflows at 320 px wide without
// scrolling sideways (see HasHorizontalScroll).
func (p *Page) SetViewport(width, height int) {
	p.t.Helper()
	p.Do(fmt.Sprintf("set the viewport to %d×%d", width, height), viewport(width, height))
}

// HasHorizontalScroll reports whether the document is wider than the
// viewport, so a person would have to scroll sideways to read it.
func (p *Page) HasHorizontalScroll() bool {
	p.t.Helper()
	return Eval[bool](p, `document.documentElement.scrollWidth > document.documentElement.clientWidth`)
}

// Close closes the tab and its browser context (its cookies go with it).
// NewPage's cleanup calls it; calling it earlier is fine, and so is calling
// it twice.
func (p *Page) Close() { p.closeOnce.Do(p.cancel) }

// listen records the page's uncaught exceptions and console errors. It runs
// on the tab's reader goroutine, so it only appends.
func (p *Page) listen(ev any) {
	var msg string
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg = d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			msg = d.Exception.Description
		}
		msg = fmt.Sprintf("uncaught: %s (%s:%d)", msg, d.URL, d.LineNumber+1)
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError {
			return
		}
		parts := make([]string, 0, len(ev.Args))
		for _, a := range ev.Args {
			switch {
			case len(a.Value) > 0:
				parts = append(parts, strings.Trim(string(a.Value), `"`))
			case a.Description != "":
				parts = append(parts, a.Description)
			}
		}
		msg = "console.error: " + strings.Join(parts, " ")
	default:
		return
	}
	p.mu.Lock()
	p.jsErrs = append(p.jsErrs, msg)
	p.mu.Unlock()
}

// Context is the tab's chromedp context, for actions this type has no
// method for. Bound each use: chromedp.Run(ctx, ...) on it has no deadline.
func (p *Page) Context() context.Context { return p.ctx }

// Do runs chromedp actions on the tab within the browser's Timeout.
func (p *Page) Do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	p.check(what, p.do(actions...))
}

func (p *Page) do(actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(p.ctx, p.b.opts.Timeout)
	defer cancel()
	return chromedp.Do(ctx, actions...)
}

// run runs one action with a value within the browser's Timeout.
func run[T any](p *Page, a chromedp.Action[T]) (T, error) {
	ctx, cancel := context.WithTimeout(p.ctx, p.b.opts.Timeout)
	defer cancel()
	return chromedp.Run(ctx, a)
}

// check fails the test when err is not nil, saying what was being done and
// where.
func (p *Page) check(what string, err error) {
	p.t.Helper()
	if err == nil {
		return
	}
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("%w (nothing happened within %s)", err, p.b.opts.Timeout)
	}
	p.t.Fatalf("browser: %s, on %s: %v%s", what, p.location(), err, p.b.output.suffix())
}

// location is the tab's URL for an error message, best effort.
func (p *Page) location() string {
	ctx, cancel := context.WithTimeout(p.ctx, p.b.opts.Timeout/10)
	defer cancel()
	u, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "(URL unknown)"
	}
	return u
}

// Navigate loads url, waits for its load event and returns the HTTP status
// of the document (0 for a URL that has none, such as about:blank).
func (p *Page) Navigate(url string) int {
	p.t.Helper()
	resp, err := run(p, chromedp.NavigateResponse(url))
	p.check("navigate to "+url, err)
	if resp == nil {
		return 0
	}
	return int(resp.Status)
}

// URL is the address of the document now in the tab.
func (p *Page) URL() string {
	p.t.Helper()
	u, err := run(p, chromedp.Location())
	p.check("read the URL", err)
	return u
}

// Title is the document's title.
func (p *Page) Title() string {
	p.t.Helper()
	s, err := run(p, chromedp.Title())
	p.check("read the title", err)
	return s
}

// Fill waits for the field sel to be visible, empties it and types value
// into it key by key, as a person would (input events fire).
func (p *Page) Fill(sel, value string) {
	p.t.Helper()
	css := chromedp.CSS(sel)
	p.Do(fmt.Sprintf("fill %q", sel),
		chromedp.WaitVisible(css),
		// chromedp.SetValue(css, "") cannot empty a field: the empty
		// argument is dropped on the way and the field gets "undefined".
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%s).value = ""`, jsString(sel))),
		chromedp.SendKeys(css, value),
	)
}

// Select chooses the option with the given value in the <select> sel and
// fires its change event.
func (p *Page) Select(sel, value string) {
	p.t.Helper()
	p.Do(fmt.Sprintf("select %q in %q", value, sel),
		chromedp.WaitVisible(chromedp.CSS(sel)),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
			const el = document.querySelector(%s);
			if (![...el.options].some(o => o.value === %s)) throw new Error("no option with value " + %[2]s);
			el.value = %[2]s;
			el.dispatchEvent(new Event("input", {bubbles: true}));
			el.dispatchEvent(new Event("change", {bubbles: true}));
		})()`, jsString(sel), jsString(value))),
	)
}

// Click waits for sel to be visible and clicks it with the mouse. It does
// not wait for a page the click may load; use ClickAndWait for a link or a
// button that navigates.
func (p *Page) Click(sel string) {
	p.t.Helper()
	p.Do(fmt.Sprintf("click %q", sel), chromedp.Click(chromedp.CSS(sel)))
}

// ClickAndWait clicks sel and waits for the page that the click loads,
// following redirects; it returns that page's HTTP status.
func (p *Page) ClickAndWait(sel string) int {
	p.t.Helper()
	return p.navigating(fmt.Sprintf("click %q and wait for the next page", sel),
		chromedp.Click(chromedp.CSS(sel)))
}

// Submit submits the form that sel is, or is in, as pressing its submit
// button would (validation and submit handlers run; a submit button sel is
// the submitter, so its name and value are sent), and waits for the page the
// form loads; it returns that page's HTTP status.
func (p *Page) Submit(sel string) int {
	p.t.Helper()
	return p.navigating(fmt.Sprintf("submit the form of %q and wait for the next page", sel),
		chromedp.WaitReady(chromedp.CSS(sel)),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
			const el = document.querySelector(%s);
			const form = el.tagName === "FORM" ? el : el.form || el.closest("form");
			if (!form) throw new Error("not a form and not in one");
			const submitter = el.matches("button:not([type]), button[type=submit], input[type=submit], input[type=image]") ? el : undefined;
			form.requestSubmit(submitter);
		})()`, jsString(sel))),
	)
}

// FillOnce sets the field sel to value at once, with one input event and
// one change event, and does not wait: for a search-as-you-type form (the
// console's [data-autosubmit]), which then asks once for the results, where
// Fill's key-by-key typing can ask several times on a slow machine. Wait
// for the results with WaitText, and for the address with WaitURL.
func (p *Page) FillOnce(sel, value string) {
	p.t.Helper()
	p.Do(fmt.Sprintf("fill %q at once", sel),
		chromedp.WaitVisible(chromedp.CSS(sel)),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
			const el = document.querySelector(%s);
			el.focus();
			el.value = %s;
			el.dispatchEvent(new Event("input", {bubbles: true}));
			el.dispatchEvent(new Event("change", {bubbles: true}));
		})()`, jsString(sel), jsString(value))),
	)
}

// WaitURL waits until the page's address contains part, whether a page
// loaded or a script rewrote the address (history.replaceState), and
// returns the address.
func (p *Page) WaitURL(part string) string {
	p.t.Helper()
	return p.poll(fmt.Sprintf("wait for the address to contain %q", part), "location.href", func(u string) bool {
		return strings.Contains(u, part)
	})
}

// Reload loads the current page again and returns its HTTP status.
func (p *Page) Reload() int {
	p.t.Helper()
	return p.navigating("reload", chromedp.Reload())
}

// navigating runs actions that load a new page and waits for it.
func (p *Page) navigating(what string, actions ...chromedp.Action[chromedp.Void]) int {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, p.b.opts.Timeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, actions...)
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("%w: no page loaded; did the action navigate? (a field failing the form's validation stops a submit)", err)
	}
	p.check(what, err)
	if resp == nil {
		return 0
	}
	return int(resp.Status)
}

// Text waits for sel to be visible and returns its rendered text
// (innerText: what a person sees, whitespace as laid out).
func (p *Page) Text(sel string) string {
	p.t.Helper()
	s, err := run(p, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
	p.check(fmt.Sprintf("read the text of %q", sel), err)
	return s
}

// WaitText waits until the rendered text of sel contains want, across
// navigations and content a script replaces (the console's [data-poll] and
// search-as-you-type results), and returns the whole text. Use it for what
// arrives later, such as an entry in a subscriber's delivery log.
func (p *Page) WaitText(sel, want string) string {
	p.t.Helper()
	return p.poll(fmt.Sprintf("wait for %q to show %q", sel, want),
		fmt.Sprintf(`(() => { const e = document.querySelector(%s); return e ? e.innerText : null })()`, jsString(sel)),
		func(s string) bool { return strings.Contains(s, want) })
}

// poll evaluates expr (a string, or null for nothing yet) every 100 ms
// until ok accepts its value or the browser's Timeout passes, and returns
// the value; reads that meet a navigation are retried.
func (p *Page) poll(what, expr string, ok func(string) bool) string {
	p.t.Helper()
	read := chromedp.Evaluate[*string](expr)
	deadline := time.Now().Add(p.b.opts.Timeout)
	last, seen := "", false
	for {
		ctx, cancel := context.WithTimeout(p.ctx, time.Until(deadline)/2+10*time.Millisecond)
		s, err := chromedp.Run(ctx, read)
		cancel()
		if err == nil && s != nil {
			last, seen = *s, true
			if ok(last) {
				return last
			}
		}
		if time.Now().After(deadline) {
			if !seen {
				p.check(what, fmt.Errorf("nothing to read within %s", p.b.opts.Timeout))
			}
			p.check(what, fmt.Errorf("still %q after %s", oneLine(last, 300), p.b.opts.Timeout))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Texts returns the rendered text of every element matching sel now, in
// document order, without waiting; none gives an empty slice.
func (p *Page) Texts(sel string) []string {
	p.t.Helper()
	s, err := run(p, chromedp.Evaluate[[]string](fmt.Sprintf(
		`[...document.querySelectorAll(%s)].map(e => e.innerText)`, jsString(sel))))
	p.check(fmt.Sprintf("read the texts of %q", sel), err)
	return s
}

// Value is the current value of the form field sel.
func (p *Page) Value(sel string) string {
	p.t.Helper()
	s, err := run(p, chromedp.Value(chromedp.CSS(sel)))
	p.check(fmt.Sprintf("read the value of %q", sel), err)
	return s
}

// Attr returns the attribute name of sel and whether it is set.
func (p *Page) Attr(sel, name string) (string, bool) {
	p.t.Helper()
	r, err := run(p, chromedp.AttributeValue(chromedp.CSS(sel), name))
	p.check(fmt.Sprintf("read attribute %s of %q", name, sel), err)
	return r.Value, r.Exists
}

// Exists reports whether an element matches sel now, without waiting: for
// asserting that something is absent, such as a button a role may not use.
func (p *Page) Exists(sel string) bool {
	p.t.Helper()
	ok, err := run(p, chromedp.Evaluate[bool](fmt.Sprintf(`document.querySelector(%s) !== null`, jsString(sel))))
	p.check(fmt.Sprintf("look for %q", sel), err)
	return ok
}

// WaitVisible waits until sel is in the document and visible.
func (p *Page) WaitVisible(sel string) {
	p.t.Helper()
	p.Do(fmt.Sprintf("wait for %q to be visible", sel), chromedp.WaitVisible(chromedp.CSS(sel)))
}

// WaitGone waits until nothing matches sel.
func (p *Page) WaitGone(sel string) {
	p.t.Helper()
	p.Do(fmt.Sprintf("wait for %q to go", sel), chromedp.WaitNotPresent(chromedp.CSS(sel)))
}

// Eval evaluates a JavaScript expression in the page and decodes its value
// (a Promise is awaited) into T.
func Eval[T any](p *Page, expr string) T {
	p.t.Helper()
	v, err := run(p, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	p.check("evaluate "+expr, err)
	return v
}

// SetCookie sets a cookie for url (its host and path) in this page's
// browser context, as a server's Set-Cookie would; for example a session
// cookie made by the test, to skip the sign-in form.
func (p *Page) SetCookie(url, name, value string) {
	p.t.Helper()
	p.Do(fmt.Sprintf("set cookie %s for %s", name, url), chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.SetCookie, network.SetCookieParams{Name: name, Value: value, URL: url})
		return err
	}))
}

// Cookie returns the cookie name that the browser would send to the
// current page, or nil.
func (p *Page) Cookie(name string) *network.Cookie {
	p.t.Helper()
	res, err := run(p, func(ctx context.Context, t *chromedp.Target) (network.GetCookiesResult, error) {
		return cdp.Call(ctx, t, network.GetCookies, network.GetCookiesParams{})
	})
	p.check("read cookies", err)
	for _, c := range res.Cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// SetLanguage makes the page's requests ask for the given languages
// (an Accept-Language value such as "sv-SE,sv;q=0.9") from now on.
func (p *Page) SetLanguage(acceptLanguage string) {
	p.t.Helper()
	p.Do("set Accept-Language "+acceptLanguage, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
			Headers: network.Headers{"Accept-Language": acceptLanguage},
		})
		return err
	}))
}

// JSErrors returns the uncaught exceptions and console.error messages the
// page has had so far, oldest first.
func (p *Page) JSErrors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.jsErrs...)
}

// Screenshot writes a PNG of the whole page (beyond the viewport, as tall as
// the document) to path, creating its directory.
func (p *Page) Screenshot(path string) {
	p.t.Helper()
	// Web fonts still loading would be drawn in a fallback font.
	p.Do("wait for the fonts", chromedp.Evaluate[chromedp.Void](`document.fonts.ready.then(() => true)`, chromedp.EvalAwaitPromise))
	png, err := run(p, chromedp.FullScreenshot(100)) // quality 100 means PNG
	p.check("take a screenshot", err)
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		p.t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o600); err != nil {
		p.t.Fatalf("screenshot: %v", err)
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}
