package browsertest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp/kb"

	"github.com/samnav/samnav/services/console/internal/browsertest"
)

func TestMain(m *testing.M) { os.Exit(browsertest.Main(m)) }

func TestNavigateReadsThePage(t *testing.T) {
	t.Parallel()
	srv := site(t)
	p := browsertest.Shared(t).NewPage(t)

	if got := p.Navigate(srv.URL + "/form"); got != 200 {
		t.Errorf("status of /form = %d, want 200", got)
	}
	if got := p.Title(); got != "Find a person" {
		t.Errorf("title = %q", got)
	}
	if got := p.Text("h1"); got != "Find a person" {
		t.Errorf("h1 = %q", got)
	}
	if got := p.URL(); got != srv.URL+"/form" {
		t.Errorf("URL = %q", got)
	}
	if !p.Exists("#name") || p.Exists("#no-such-thing") {
		t.Error("Exists does not tell present from absent")
	}
	if v, ok := p.Attr("#name", "name"); !ok || v != "name" {
		t.Errorf("Attr(#name, name) = %q, %v", v, ok)
	}
	if _, ok := p.Attr("#name", "disabled"); ok {
		t.Error("Attr reports an attribute the element does not have")
	}
	if got := p.Navigate(srv.URL + "/missing"); got != 404 {
		t.Errorf("status of /missing = %d, want 404", got)
	}
}

func TestSubmitSendsTheFilledFormAndFollowsTheRedirect(t *testing.T) {
	t.Parallel()
	p, srv := openPage(t, "/form")

	p.Fill("#name", "Åsa Lind") // replaces the field's initial value
	if got := p.Value("#name"); got != "Åsa Lind" {
		t.Fatalf("value after Fill = %q", got)
	}
	p.Select("#city", "got")
	if got := p.Submit("button[type=submit]"); got != 200 {
		t.Errorf("status after submit = %d, want 200 (after the 303)", got)
	}
	if got := p.Text("#greeting"); got != "Hello, Åsa Lind" {
		t.Errorf("greeting = %q", got)
	}
	if got := p.Texts("li"); !slices.Equal(got, []string{"city got", "action search"}) {
		t.Errorf("list = %q, want the city chosen and the submit button's value", got)
	}
	if got := p.URL(); !strings.HasPrefix(got, srv.URL+"/hello?") {
		t.Errorf("URL after submit = %q, want the redirect's target", got)
	}

	p.Navigate(srv.URL + "/form")
	if got := p.ClickAndWait("#plain"); got != 200 {
		t.Errorf("status after clicking a link = %d", got)
	}
	if got := p.Text("#greeting"); got != "Hello, Link" {
		t.Errorf("greeting after the link = %q", got)
	}
}

func TestSearchAsYouTypeAsksOnceAndLaterTextIsAwaited(t *testing.T) {
	t.Parallel()
	p, srv := openPage(t, "/search")
	if got := p.Text("#results"); got != "search number 1:" {
		t.Fatalf("first page: %q", got)
	}

	p.FillOnce("#q", "Åsa Lind")
	if got := p.WaitText("#results", "Åsa Lind"); got != "search number 2: Åsa Lind" {
		t.Errorf("results after FillOnce: %q, want the second search (exactly one request)", got)
	}
	if got := p.WaitURL("q=%C3%85sa+Lind"); !strings.HasPrefix(got, srv.URL+"/search?") {
		t.Errorf("address after the search: %q", got)
	}
	if got := p.WaitText("#later", "delivered"); got != "delivered to the subscriber" {
		t.Errorf("WaitText returned %q", got)
	}

	p.Fill("#q", "Bo")
	if got := p.WaitText("#results", ": Bo"); !strings.HasPrefix(got, "search number ") {
		t.Errorf("results after typing: %q", got)
	}
	if p.Reload() != 200 || p.Value("#q") != "Bo" {
		t.Error("Reload did not load the rewritten address")
	}
}

func TestPagesAreSeparatePeople(t *testing.T) {
	t.Parallel()
	srv := site(t)
	b := browsertest.Shared(t)
	anna, ben := b.NewPage(t), b.NewPage(t)

	anna.SetCookie(srv.URL, "session", "anna-token")
	anna.Navigate(srv.URL + "/echo")
	ben.Navigate(srv.URL + "/echo")

	if got := anna.Text("#session"); got != "anna-token" {
		t.Errorf("the server saw session %q from the page that set it", got)
	}
	if got := ben.Text("#session"); got != "none" {
		t.Errorf("another page sent session %q: pages share cookies", got)
	}
	if c := anna.Cookie("session"); c == nil || c.Value != "anna-token" {
		t.Errorf("Cookie(session) = %+v", c)
	}
	if c := ben.Cookie("session"); c != nil {
		t.Errorf("the other page has cookie %+v", c)
	}
}

func TestLanguage(t *testing.T) {
	t.Parallel()
	p, srv := openPage(t, "/echo")
	if got := p.Text("#lang"); !strings.HasPrefix(got, "en-US") {
		t.Errorf("default Accept-Language = %q, want en-US first", got)
	}
	p.SetLanguage("sv-SE,sv;q=0.9")
	p.Navigate(srv.URL + "/echo")
	if got := p.Text("#lang"); got != "sv-SE,sv;q=0.9" {
		t.Errorf("Accept-Language after SetLanguage = %q", got)
	}
}

func TestScreenshotIsTheWholePageAsPNG(t *testing.T) {
	t.Parallel()
	srv := site(t)
	b := browsertest.Shared(t)
	p := b.NewPage(t)
	p.Navigate(srv.URL + "/tall")

	path := filepath.Join(t.TempDir(), "sub", "tall.png")
	p.Screenshot(path)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	size := img.Bounds().Size()
	if size.X != b.Options().Width {
		t.Errorf("width = %d, want the viewport's %d", size.X, b.Options().Width)
	}
	if size.Y <= 2000 || size.Y <= b.Options().Height {
		t.Errorf("height = %d, want the whole page (over 2000px), not the %dpx viewport", size.Y, b.Options().Height)
	}
}

func TestNarrowViewportShowsSidewaysScroll(t *testing.T) {
	t.Parallel()
	srv := site(t)
	p := browsertest.Shared(t).NewPage(t)
	p.SetViewport(320, 640)
	for _, c := range []struct {
		path string
		want bool
	}{{"/clean", false}, {"/wide", true}} {
		p.Navigate(srv.URL + c.path)
		if got := p.HasHorizontalScroll(); got != c.want {
			t.Errorf("%s at 320px: HasHorizontalScroll = %v, want %v", c.path, got, c.want)
		}
	}
	if w := browsertest.Eval[int](p, "innerWidth"); w != 320 {
		t.Errorf("innerWidth = %d after SetViewport(320, 640)", w)
	}
}

func TestDocScreenshotOnlyWhenAsked(t *testing.T) {
	p, _ := openPage(t, "/clean")

	t.Setenv(browsertest.EnvScreenshots, "")
	if got := p.DocScreenshot("clean"); got != "" {
		t.Errorf("wrote %s with %s unset", got, browsertest.EnvScreenshots)
	}

	dir := t.TempDir()
	t.Setenv(browsertest.EnvScreenshots, dir)
	got := p.DocScreenshot("clean")
	if want := filepath.Join(dir, "clean.png"); got != want {
		t.Fatalf("DocScreenshot wrote %q, want %q", got, want)
	}
	if data, err := os.ReadFile(got); err != nil || !bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("%s is not a PNG (err %v)", got, err)
	}

	// A relative dir is taken from the repository root, where go.work is.
	t.Setenv(browsertest.EnvScreenshots, "docs/screenshots")
	root, err := filepath.Abs("../../../..")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := browsertest.ScreenshotDir(), filepath.Join(root, "docs", "screenshots"); got != want {
		t.Errorf("ScreenshotDir() = %q, want %q", got, want)
	}
}

func TestAxeReportsABrokenPage(t *testing.T) {
	t.Parallel()
	p, _ := openPage(t, "/broken")

	vs, err := p.Axe()
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]browsertest.Violation{}
	for _, v := range vs {
		byID[v.ID] = v
	}
	for _, c := range []struct{ rule, target string }{
		{"image-alt", "#noalt"},
		{"label", "#nolabel"},
		{"color-contrast", "#faint"},
	} {
		v, ok := byID[c.rule]
		if !ok {
			t.Errorf("axe did not report %s; it reported:\n%s", c.rule, browsertest.FormatViolations(vs))
			continue
		}
		if !v.Serious() {
			t.Errorf("%s has impact %q, want serious or critical", c.rule, v.Impact)
		}
		if v.Help == "" || v.HelpURL == "" {
			t.Errorf("%s has no help: %+v", c.rule, v)
		}
		if !slices.ContainsFunc(v.Nodes, func(n browsertest.Node) bool { return n.Target == c.target }) {
			t.Errorf("%s names %+v, want %s among them", c.rule, v.Nodes, c.target)
		}
	}
}

func TestAxePassesACleanPage(t *testing.T) {
	t.Parallel()
	srv := site(t)
	b := browsertest.Shared(t)
	vs, err := b.Axe(context.Background(), srv.URL+"/clean")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) > 0 {
		t.Errorf("clean page has violations:\n%s", browsertest.FormatViolations(vs))
	}
	browsertest.AssertNoSerious(t, "/clean", vs)

	// The same check through a Page, run twice on one document (axe is
	// injected once), must pass too.
	p := b.NewPage(t)
	p.Navigate(srv.URL + "/clean")
	p.AssertAccessible()
	p.AssertAccessible()
}

func TestAxeVersionIsTheVendoredOne(t *testing.T) {
	t.Parallel()
	p, _ := openPage(t, "/clean")
	if _, err := p.Axe(); err != nil {
		t.Fatal(err)
	}
	if got, want := browsertest.Eval[string](p, "axe.version"), browsertest.AxeVersion(); got != want {
		t.Errorf("axe in the page is %q, VERSION says %q", got, want)
	}
}

func TestAssertAccessibleFailsOnSeriousViolations(t *testing.T) {
	t.Parallel()
	srv := site(t)
	rec := &recorder{TB: t}
	p := browsertest.Shared(t).NewPage(rec)
	p.Navigate(srv.URL + "/broken")
	p.AssertAccessible()

	if len(rec.errors) != 1 {
		t.Fatalf("AssertAccessible reported %d errors, want 1: %q", len(rec.errors), rec.errors)
	}
	msg := rec.errors[0]
	for _, want := range []string{"serious or critical", "image-alt", "label", "color-contrast", "#nolabel", "/broken"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the failure does not mention %q:\n%s", want, msg)
		}
	}

	// Only the serious and critical ones fail the test.
	rec = &recorder{TB: t}
	browsertest.AssertNoSerious(rec, "a page", []browsertest.Violation{
		{ID: "minor-rule", Impact: browsertest.ImpactMinor},
		{ID: "moderate-rule", Impact: browsertest.ImpactModerate},
	})
	if len(rec.errors) > 0 || len(rec.logs) != 1 || !strings.Contains(rec.logs[0], "moderate-rule") {
		t.Errorf("minor and moderate violations: errors %q, logs %q; want them logged only", rec.errors, rec.logs)
	}
	rec = &recorder{TB: t}
	browsertest.AssertNoSerious(rec, "a page", []browsertest.Violation{{ID: "critical-rule", Impact: browsertest.ImpactCritical}})
	if len(rec.errors) != 1 {
		t.Errorf("a critical violation gave errors %q", rec.errors)
	}
}

func TestTabOrderIsTheKeyboardRoute(t *testing.T) {
	t.Parallel()
	p, _ := openPage(t, "/keyboard")
	p.Click("#go") // TabOrder starts from the top wherever the focus is

	order := p.TabOrder(20)
	var got []string
	for _, f := range order {
		got = append(got, f.Path)
	}
	want := []string{"a#skip", "a#home", "nav > a:nth-of-type(2)", "input#q", "div#card", "button#go"}
	if !slices.Equal(got, want) {
		t.Fatalf("tab order = %q, want %q (hidden and disabled controls skipped)", got, want)
	}
	if order[0].Name != "Skip to content" || order[0].Href != "#main" {
		t.Errorf("first stop = %+v", order[0])
	}
	if order[3].Name != "Search" {
		t.Errorf("input's name = %q, want its label", order[3].Name)
	}
	if order[4].Name != "A focusable card" {
		t.Errorf("card's name = %q, want its aria-label", order[4].Name)
	}
	for _, f := range order {
		if !f.Visible {
			t.Errorf("%s is focusable but not visible", f)
		}
		if noRing := f.Name == "Echo"; f.Indicator == noRing {
			t.Errorf("%s: indicator %v, want %v", f, f.Indicator, !noRing)
		}
	}

	// Enter on the focused link follows it.
	p.TabOrder(1)
	p.PressTab()
	if f := p.Focused(); f.Name != "Home" {
		t.Fatalf("focus on %s, want Home", f)
	}
	p.Press(kb.Enter)
	p.WaitVisible("#name")
	if !strings.HasSuffix(p.URL(), "/form") {
		t.Errorf("Enter on Home led to %s", p.URL())
	}
}

func TestJSErrorsAreCollected(t *testing.T) {
	t.Parallel()
	p, srv := openPage(t, "/clean")
	if errs := p.JSErrors(); len(errs) > 0 {
		t.Errorf("clean page has JS errors: %q", errs)
	}
	p.Navigate(srv.URL + "/throws")
	errs := p.JSErrors()
	joined := strings.Join(errs, "\n")
	if !strings.Contains(joined, "boom in the page") || !strings.Contains(joined, "shown to nobody") {
		t.Errorf("JSErrors = %q, want the exception and the console.error", errs)
	}
}

func TestAFailedTestSaysWhereItsPageWas(t *testing.T) {
	t.Parallel()
	srv := site(t)
	b := browsertest.Shared(t)
	var rec *recorder
	t.Run("fails", func(t *testing.T) {
		rec = &recorder{TB: t}
		p := b.NewPage(rec)
		p.Navigate(srv.URL + "/throws")
		rec.Errorf("a failure of the test's own")
	})
	logs := strings.Join(rec.logs, "\n")
	for _, want := range []string{srv.URL + "/throws", "boom in the page"} {
		if !strings.Contains(logs, want) {
			t.Errorf("after the failure the log does not mention %q:\n%s", want, logs)
		}
	}
}

func TestFindChromium(t *testing.T) {
	t.Setenv(browsertest.EnvChromium, filepath.Join(t.TempDir(), "nowhere"))
	if _, err := browsertest.FindChromium(); !errors.Is(err, browsertest.ErrNoChromium) {
		t.Errorf("FindChromium with %s at a missing file: %v, want ErrNoChromium", browsertest.EnvChromium, err)
	}
	exe := filepath.Join(t.TempDir(), "chromium")
	if err := os.WriteFile(exe, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(browsertest.EnvChromium, exe)
	if got, err := browsertest.FindChromium(); err != nil || got != exe {
		t.Errorf("FindChromium = %q, %v, want %q", got, err, exe)
	}
}

func TestMissingChromiumSkipsOrFailsUnderCI(t *testing.T) {
	t.Setenv(browsertest.EnvChromium, filepath.Join(t.TempDir(), "nowhere"))
	for _, c := range []struct {
		ci                 string
		wantSkip, wantFail bool
	}{
		{ci: "", wantSkip: true},
		{ci: "true", wantFail: true},
	} {
		t.Setenv("CI", c.ci)
		rec := &recorder{TB: t}
		rec.run(func() { browsertest.Start(rec) })
		if rec.skipped != c.wantSkip || rec.failed != c.wantFail {
			t.Errorf("CI=%q: skipped %v failed %v, want %v %v", c.ci, rec.skipped, rec.failed, c.wantSkip, c.wantFail)
		}
		if msg := strings.Join(rec.messages, " "); !strings.Contains(msg, "chromium") {
			t.Errorf("CI=%q: message %q does not say what to install", c.ci, msg)
		}
	}
}

// recorder stands in for the test where the test checks what the harness
// reports: errors are recorded; inside recorder.run, Skip and Fatal are
// recorded and end run's goroutine, and outside it they fail the real test.
type recorder struct {
	testing.TB
	capture  bool // inside run
	mu       sync.Mutex
	errors   []string
	messages []string
	logs     []string
	skipped  bool
	failed   bool
}

func (r *recorder) Helper() {}

func (r *recorder) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed || len(r.errors) > 0
}

func (r *recorder) Logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recorder) Skipf(format string, args ...any) {
	r.end(&r.skipped, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.end(&r.failed, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatal(args ...any) { r.end(&r.failed, fmt.Sprint(args...)) }

func (r *recorder) end(flag *bool, msg string) {
	if !r.capture {
		r.TB.Fatalf("unexpected end of the test: %s", msg)
	}
	r.mu.Lock()
	*flag = true
	r.messages = append(r.messages, msg)
	r.mu.Unlock()
	runtime.Goexit()
}

// run calls f on a goroutine of its own, so Skip and Fatal can end it.
func (r *recorder) run(f func()) {
	r.capture = true
	defer func() { r.capture = false }()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	<-done
}
