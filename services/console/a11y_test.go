package console_test

import (
	"io/fs"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/services/console"
	"github.com/samnav/samnav/services/console/internal/consoletest"
	"github.com/samnav/samnav/services/hubtest"
)

var cssColour = regexp.MustCompile(`--([a-z]+):\s*#([0-9a-fA-F]{6})`)

func luminance(hex string) float64 {
	var c [3]float64
	for i := range 3 {
		v, _ := strconv.ParseUint(hex[2*i:2*i+2], 16, 8)
		s := float64(v) / 255
		if s <= 0.03928 {
			c[i] = s / 12.92
		} else {
			c[i] = math.Pow((s+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*c[0] + 0.7152*c[1] + 0.0722*c[2]
}

func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// TestColoursMeetWCAGContrast checks every text colour of the style sheet
// against the background it is used on: at least 4.5:1 (WCAG 2.1 AA).
func TestColoursMeetWCAGContrast(t *testing.T) {
	css, err := fs.ReadFile(console.StaticFS, "static/style.css")
	if err != nil {
		t.Fatal(err)
	}
	colours := map[string]string{}
	for _, m := range cssColour.FindAllStringSubmatch(string(css), -1) {
		colours[m[1]] = m[2]
	}
	pairs := []struct{ fg, bg string }{
		{"text", "ffffff"}, {"muted", "ffffff"}, {"link", "ffffff"}, {"error", "ffffff"}, {"ok", "ffffff"},
		{"ffffff", "bar"}, {"bar", "ffffff"}, {"text", "soft"}, {"link", "soft"}, {"muted", "soft"},
		{"text", "focus"},
	}
	for _, p := range pairs {
		fg, bg := colours[p.fg], colours[p.bg]
		if fg == "" {
			fg = p.fg
		}
		if bg == "" {
			bg = p.bg
		}
		if len(fg) != 6 || len(bg) != 6 {
			t.Fatalf("colour %s or %s not found in style.css", p.fg, p.bg)
		}
		if r := contrast(fg, bg); r < 4.5 {
			t.Errorf("%s (#%s) on %s (#%s): contrast %.2f, want at least 4.5", p.fg, fg, p.bg, bg, r)
		}
	}
	// Input borders are user-interface components: at least 3:1.
	if r := contrast(colours["line"], "ffffff"); r < 3 {
		t.Errorf("line on white: %.2f, want at least 3", r)
	}
}

var (
	h1RE       = regexp.MustCompile(`<h1[ >]`)
	controlRE  = regexp.MustCompile(`<(input|select|textarea)\b[^>]*>`)
	attrRE     = regexp.MustCompile(`\b(id|type|aria-describedby)="([^"]*)"`)
	thRE       = regexp.MustCompile(`<th\b[^>]*>`)
	idRE       = regexp.MustCompile(`\bid="([^"]+)"`)
	labelForRE = regexp.MustCompile(`<label[^>]*\bfor="([^"]+)"`)
	ariaLabel  = regexp.MustCompile(`\baria-label(ledby)?="`)
)

// checkPage checks a rendered page for the structure WCAG needs: the
// language, landmarks, a skip link, one h1, a label for every control,
// descriptions that exist, header cells with a scope.
func checkPage(t *testing.T, name string, p consoletest.Page) {
	t.Helper()
	body := p.Body
	for _, want := range []string{`<html lang="`, `<a class="skip" href="#main">`, `<header`, `<main id="main"`, `<footer`, `<title>`} {
		if !strings.Contains(body, want) {
			t.Errorf("%s: lacks %s", name, want)
		}
	}
	if n := len(h1RE.FindAllString(body, -1)); n != 1 {
		t.Errorf("%s: %d <h1>, want exactly one", name, n)
	}
	ids := map[string]int{}
	for _, m := range idRE.FindAllStringSubmatch(body, -1) {
		ids[m[1]]++
	}
	for id, n := range ids {
		if n > 1 {
			t.Errorf("%s: id %q used %d times", name, id, n)
		}
	}
	labels := map[string]bool{}
	for _, m := range labelForRE.FindAllStringSubmatch(body, -1) {
		labels[m[1]] = true
	}
	for _, c := range controlRE.FindAllString(body, -1) {
		attrs := map[string]string{}
		for _, m := range attrRE.FindAllStringSubmatch(c, -1) {
			attrs[m[1]] = m[2]
		}
		if attrs["type"] == "hidden" {
			continue
		}
		if !labels[attrs["id"]] && !ariaLabel.MatchString(c) {
			t.Errorf("%s: control without a label: %s", name, c)
		}
		for _, d := range strings.Fields(attrs["aria-describedby"]) {
			if ids[d] == 0 {
				t.Errorf("%s: %s is described by %q, which is not on the page", name, c, d)
			}
		}
	}
	for _, th := range thRE.FindAllString(body, -1) {
		if !strings.Contains(th, "scope=") {
			t.Errorf("%s: header cell without scope: %s", name, th)
		}
	}
}

// TestPagesAreAccessible renders every page of the core and checks its
// structure, in both languages.
func TestPagesAreAccessible(t *testing.T) {
	h := consoletest.StartHub(t)
	tok := h.Token("anna", consoletest.Steward("unit"))
	rec := h.Create(tok, "unit", consoletest.UnitState("Solskolan"), "new")
	anon := consoletest.NewBrowser(t, h.Console.Handler())
	checkPage(t, "signin", anon.Get("/signin"))
	checkPage(t, "not found", anon.Get("/nowhere"))

	b := h.Browser(tok)
	b.Get("/records/unit/new")
	invalid := b.Post("/records/unit/new", url2("name", "", "capacity", "x"))
	if invalid.Status != http.StatusBadRequest {
		t.Fatalf("invalid form: %d", invalid.Status)
	}
	checkPage(t, "form with errors", invalid)
	imp := b.PostFile("/import", map[string]string{"concept": "unit", "reason": "x"}, "file", "u.csv", consoletest.UnitsCSV)
	for _, lang := range []string{"sv", "en"} {
		for _, path := range []string{"/", "/catalogue", "/catalogue/person", "/catalogue/unit", "/records", "/records/unit",
			"/records/unit/new", "/records/unit/" + rec.ID, "/records/unit/" + rec.ID + "/edit",
			"/records/unit/" + rec.ID + "/end", "/import", imp.Location} {
			p := b.Get(path + sep(path) + "lang=" + lang)
			if p.Status != http.StatusOK {
				t.Fatalf("%s: %d", path, p.Status)
			}
			checkPage(t, path+" "+lang, p)
			if !strings.Contains(p.Body, `<nav aria-label=`) {
				t.Errorf("%s: no labelled navigation", path)
			}
		}
		// The search posts; its answer is a page of its own.
		checkPage(t, "search "+lang, b.Post("/records/unit?lang="+lang, url2("q", "sol")))
	}
	// A person's page with its read log, as an auditor sees it.
	pnr, born := hubtest.Personnummer(5)
	person := h.Create(h.Token("folkbokforing", auth.Grant{Role: auth.RolePublisher, System: "folkbokforing"}), "person", map[string]any{
		"personalIdentityNumber": pnr, "givenNames": "Greta", "surname": "Läst", "dateOfBirth": born.Format("2006-01-02"),
		"protectedIdentity": "NONE", "registrationStatus": "REGISTERED"}, "")
	auditor := h.BrowserAs("ivar", auth.Grant{Role: auth.RoleAuditor})
	for _, lang := range []string{"sv", "en"} {
		p := auditor.Get("/records/person/" + person.ID + "?lang=" + lang)
		if !strings.Contains(p.Body, `id="reads-h"`) {
			t.Fatalf("the auditor's person page shows no read log:\n%s", p.Body)
		}
		checkPage(t, "read log "+lang, p)
	}
	refusedPage := h.BrowserAs("bo", consoletest.Steward("namnd")).Get("/records/unit/new")
	if refusedPage.Status != http.StatusForbidden {
		t.Fatalf("refused: %d", refusedPage.Status)
	}
	checkPage(t, "refused", refusedPage)
}

func sep(path string) string {
	if strings.Contains(path, "?") {
		return "&"
	}
	return "?"
}

func url2(kv ...string) map[string][]string {
	m := map[string][]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = []string{kv[i+1]}
	}
	return m
}

// TestNavigationShowsOnlyWhatThePrincipalMayDo checks the role-aware
// navigation.
func TestNavigationShowsOnlyWhatThePrincipalMayDo(t *testing.T) {
	h := consoletest.StartHub(t)
	for _, tc := range []struct {
		name   string
		grants []auth.Grant
		want   []string
		not    []string
	}{
		{"steward", []auth.Grant{consoletest.Steward("unit")}, []string{`href="/catalogue"`, `href="/records"`, `href="/import"`}, nil},
		{"auditor", []auth.Grant{{Role: auth.RoleAuditor}}, []string{`href="/catalogue"`, `href="/records"`}, []string{`href="/import"`}},
		{"subscriber", []auth.Grant{{Role: auth.RoleSubscriber, System: "bibliotek"}}, []string{`href="/catalogue"`}, []string{`href="/records"`, `href="/import"`}},
		{"admin", []auth.Grant{{Role: auth.RoleAdmin}}, []string{`href="/catalogue"`, `href="/records"`, `href="/import"`}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := h.BrowserAs(tc.name, tc.grants...).Get("/")
			nav := p.Body[strings.Index(p.Body, "<nav"):strings.Index(p.Body, "</nav>")]
			for _, w := range tc.want {
				if !strings.Contains(nav, w) {
					t.Errorf("nav lacks %s:\n%s", w, nav)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(nav, w) {
					t.Errorf("nav shows %s:\n%s", w, nav)
				}
			}
		})
	}
}
