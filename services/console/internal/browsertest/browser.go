package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// EnvChromium names the variable that points at the browser binary, for a
// machine whose Chromium is not Debian's /usr/bin/chromium.
const EnvChromium = "SAMNAV_CHROMIUM"

// debianChromium is where Debian's chromium package puts its launcher.
const debianChromium = "/usr/bin/chromium"

// ErrNoChromium is returned by FindChromium and Launch when no browser binary
// is found.
var ErrNoChromium = errors.New("chromium not found")

// FindChromium returns the browser to run: $SAMNAV_CHROMIUM when it is set
// (and then it must exist), else Debian's /usr/bin/chromium, else `chromium`
// on PATH. The error wraps ErrNoChromium.
func FindChromium() (string, error) {
	if p := os.Getenv(EnvChromium); p != "" {
		if _, err := os.Stat(p); err != nil { //nolint:gosec // the developer names their own browser
			return "", fmt.Errorf("%w: %s=%s: %w", ErrNoChromium, EnvChromium, p, err)
		}
		return p, nil
	}
	if _, err := os.Stat(debianChromium); err == nil {
		return debianChromium, nil
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%w: not at %s, not on PATH, and %s is unset", ErrNoChromium, debianChromium, EnvChromium)
}

// Options tune a browser. The zero value is what the console's tests want.
type Options struct {
	// ExecPath is the browser binary; empty means FindChromium.
	ExecPath string
	// Width and Height are the viewport of every page, in CSS pixels;
	// zero means 1280×800. Screenshots are this wide and as tall as the page.
	Width, Height int
	// Timeout bounds each page action (a navigation, a wait for an element,
	// an axe run); zero means 30s. It only matters when something is wrong,
	// so it is generous for a loaded 2-core CI machine.
	Timeout time.Duration
	// Lang is the browser's UI language and first Accept-Language; empty
	// means "en-US", so a page's default language is the same everywhere.
	Lang string
}

func (o Options) withDefaults() Options {
	if o.Width == 0 {
		o.Width = 1280
	}
	if o.Height == 0 {
		o.Height = 800
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Lang == "" {
		o.Lang = "en-US"
	}
	return o
}

// launchTimeout bounds the start of the browser process and its first tab.
const launchTimeout = 60 * time.Second

// Browser is one headless Chromium process with its own empty profile in a
// temp dir. It is safe for concurrent use: each Page is its own tab in its own
// browser context (cookies, storage and cache are not shared between pages).
type Browser struct {
	opts        Options
	dir         string
	allocCtx    context.Context
	cancelAlloc context.CancelFunc
	ctx         context.Context // the first tab; its Run started the browser
	cancel      context.CancelFunc
	output      *tailBuffer
	startup     time.Duration
	closeOnce   sync.Once
	closeErr    error
}

// flags are the browser's switches. Chromium runs as root here, so it needs
// --no-sandbox; that is acceptable because it only ever loads the project's
// own test pages. Without the background-networking switches it would try
// to reach Google's services, which the closed network refuses.
func flags(o Options, dir string) []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(o.ExecPath),
		chromedp.UserDataDir(dir),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.WindowSize(o.Width, o.Height),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("disable-client-side-phishing-detection", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter,AutofillServerCommunication"),
		chromedp.Flag("safebrowsing-disable-auto-update", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.Flag("font-render-hinting", "none"),
		chromedp.Flag("lang", o.Lang),
		chromedp.Flag("accept-lang", o.Lang),
	}
}

// launchAttempts is how many times Launch starts Chromium before it gives
// up. A start can fail by itself: once in CI Chromium exited 0.3 s after
// starting, before it opened its DevTools endpoint ("chrome failed to
// start"), with nothing in its output but the usual dbus and cpufreq
// complaints, and the next test's launch worked.
const launchAttempts = 3

// Launch starts a headless browser and waits until its first tab answers,
// starting it again (with a new profile) if the process fails to start.
// The caller must Close it. Tests use Start or Shared, which also decide
// between skipping and failing when Chromium is missing.
func Launch(opts Options) (*Browser, error) {
	opts = opts.withDefaults()
	if opts.ExecPath == "" {
		p, err := FindChromium()
		if err != nil {
			return nil, err
		}
		opts.ExecPath = p
	}
	var errs []error
	for attempt := 1; attempt <= launchAttempts; attempt++ {
		b, err := launch(opts)
		if err == nil {
			return b, nil
		}
		errs = append(errs, fmt.Errorf("attempt %d: %w", attempt, err))
	}
	return nil, errors.Join(errs...)
}

// launch is one attempt of Launch.
func launch(opts Options) (*Browser, error) {
	dir, err := os.MkdirTemp("", "samnav-chromium-")
	if err != nil {
		return nil, fmt.Errorf("launch chromium: profile dir: %w", err)
	}
	b := &Browser{opts: opts, dir: dir, output: &tailBuffer{max: 8 << 10}}
	allocOpts := append(flags(opts, dir), chromedp.CombinedOutput(b.output))
	// The browser outlives any one test's context, so it hangs off
	// Background and ends only at Close.
	b.allocCtx, b.cancelAlloc = chromedp.NewExecAllocator(context.Background(), allocOpts...)
	b.ctx, b.cancel = chromedp.NewContext(b.allocCtx)

	began := time.Now()
	// The first Run's context decides how long the browser lives, so it
	// cannot carry a deadline; the deadline is enforced from outside.
	err = bounded(launchTimeout, b.cancelAlloc, func() error {
		return chromedp.Do(b.ctx)
	})
	b.startup = time.Since(began)
	if err != nil {
		closeErr := b.Close()
		return nil, fmt.Errorf("launch %s: %w%s", opts.ExecPath, errors.Join(err, closeErr), b.output.suffix())
	}
	return b, nil
}

// bounded runs f and returns its error, or calls abort and returns an error
// once d has passed; abort must make f return.
func bounded(d time.Duration, abort func(), f func() error) error {
	done := make(chan error, 1)
	go func() { done <- f() }()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-timer.C:
		abort()
		return errors.Join(fmt.Errorf("no answer within %s", d), <-done)
	}
}

// StartupTime is how long Launch took from starting the process to a tab
// that answers.
func (b *Browser) StartupTime() time.Duration { return b.startup }

// Options returns the options the browser runs with, defaults filled in.
func (b *Browser) Options() Options { return b.opts }

// Close ends the browser process and removes its profile dir. It is safe to
// call more than once.
func (b *Browser) Close() error {
	b.closeOnce.Do(func() {
		b.cancel()      // closes the first tab; waits for the browser to stop
		b.cancelAlloc() // kills the process if it has not stopped; waits for it
		b.closeErr = os.RemoveAll(b.dir)
	})
	return b.closeErr
}

// requireChromium skips t when no browser is installed, or fails it under
// CI (CI=true), where a missing browser is a broken install, not a choice.
func requireChromium(t testing.TB) {
	t.Helper()
	if _, err := FindChromium(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("browser tests need Chromium: %v; install Debian's chromium and fonts-dejavu-core (apt-get install chromium fonts-dejavu-core; .ci/run does) or set %s", err, EnvChromium)
		}
		t.Skipf("browser tests skipped: %v (apt-get install chromium fonts-dejavu-core, or set %s)", err, EnvChromium)
	}
}

// Start launches a browser for t alone and closes it when t ends. Chromium
// missing skips t, or fails it under CI. A package with several browser
// tests should use Main and Shared: a launch costs about a second here.
func Start(t testing.TB) *Browser {
	t.Helper()
	requireChromium(t)
	b, err := Launch(Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("chromium started in %s", b.StartupTime().Round(time.Millisecond))
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("close browser: %v", err)
		}
	})
	return b
}

// shared is the package's browser under Main.
var shared struct {
	mu      sync.Mutex
	managed bool // Main is running the tests
	b       *Browser
	err     error // a failed launch, so later tests fail fast with it
}

// Main runs a package's tests and closes the browser that Shared started
// for them, if any. Call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(browsertest.Main(m)) }
func Main(m *testing.M) int {
	shared.mu.Lock()
	shared.managed = true
	shared.mu.Unlock()

	code := m.Run()

	shared.mu.Lock()
	defer shared.mu.Unlock()
	shared.managed = false
	if shared.b != nil {
		if err := shared.b.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "browsertest: close browser: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
		shared.b = nil
	}
	return code
}

// Shared returns the package's one browser, launching it at the first call,
// so a run of only non-browser tests never starts it. The package's TestMain
// must call Main, which closes it after the last test. Chromium missing skips
// t, or fails it under CI. Give each test its own Page.
func Shared(t testing.TB) *Browser {
	t.Helper()
	requireChromium(t)
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.managed {
		t.Fatal("browsertest.Shared needs the package's TestMain to call browsertest.Main, which closes the browser")
	}
	if shared.err != nil {
		t.Fatalf("shared browser failed to launch earlier: %v", shared.err)
	}
	if shared.b == nil {
		b, err := Launch(Options{})
		if err != nil {
			shared.err = err
			t.Fatal(err)
		}
		t.Logf("chromium started in %s (shared by this package's tests)", b.StartupTime().Round(time.Millisecond))
		shared.b = b
	}
	return shared.b
}

// tailBuffer keeps the last max bytes the browser printed, to explain a
// failed launch or a crash.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (w *tailBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if over := len(w.buf) - w.max; over > 0 {
		w.buf = append(w.buf[:0], w.buf[over:]...)
	}
	return len(p), nil
}

func (w *tailBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.buf)
}

// suffix formats the browser's output for an error message, or nothing.
// Lines about D-Bus, which a container has no use for, are left out.
func (w *tailBuffer) suffix() string {
	var keep []string
	for line := range strings.Lines(w.String()) {
		if strings.Contains(line, "dbus") || strings.Contains(line, "unexpected operator") {
			continue
		}
		if line = strings.TrimSpace(line); line != "" {
			keep = append(keep, line)
		}
	}
	if len(keep) == 0 {
		return ""
	}
	return "\nchromium's last output:\n" + strings.Join(keep, "\n")
}
