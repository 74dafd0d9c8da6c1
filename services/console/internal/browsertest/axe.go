package browsertest

import (
	"context"
	_ "embed"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// axeSource is axe-core's minified engine, vendored with its license in
// axe/ (see axe/README.md for the version and how to update it).
//
//go:embed axe/axe.min.js
var axeSource string

// AxeVersion is the version of the vendored axe-core.
//
//go:embed axe/VERSION
var axeVersionFile string

// AxeVersion returns the version of the vendored axe-core, such as "4.14.1".
func AxeVersion() string { return strings.TrimSpace(axeVersionFile) }

// AxeTags are the rule tags every check runs: WCAG 2.0 and 2.1, levels A
// and AA.
var AxeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa"}

// Impact levels axe gives a violation, least to most severe.
const (
	ImpactMinor    = "minor"
	ImpactModerate = "moderate"
	ImpactSerious  = "serious"
	ImpactCritical = "critical"
)

// Violation is one axe rule that the page breaks, with the elements that
// break it.
type Violation struct {
	// ID is axe's rule id, such as "image-alt" or "color-contrast".
	ID string `json:"id"`
	// Impact is one of the Impact constants.
	Impact      string   `json:"impact"`
	Help        string   `json:"help"`
	HelpURL     string   `json:"helpUrl"`
	Description string   `json:"description"`
	Tags        []string `json:"tags"`
	Nodes       []Node   `json:"nodes"`
}

// Node is one element that breaks a rule.
type Node struct {
	// Target is a CSS selector for the element; inside a frame or a shadow
	// root, the selectors of each step joined by " >>> ".
	Target         string `json:"target"`
	HTML           string `json:"html"`
	Impact         string `json:"impact"`
	FailureSummary string `json:"failureSummary"`
}

// Serious reports whether the violation's impact is serious or critical:
// the ones the console's pages must not have.
func (v Violation) Serious() bool {
	return v.Impact == ImpactSerious || v.Impact == ImpactCritical
}

// axeRunJS injects axe if the document has none yet and runs it over the
// whole document, returning the violations with targets flattened to
// strings. %s is the JSON array of tags.
const axeRunJS = `(async () => {
	const result = await axe.run(document, {
		runOnly: {type: "tag", values: %s},
		resultTypes: ["violations"],
	});
	const target = t => Array.isArray(t) ? t.join(" >>> ") : String(t);
	return result.violations.map(v => ({
		id: v.id, impact: v.impact || "", help: v.help, helpUrl: v.helpUrl,
		description: v.description, tags: v.tags,
		nodes: v.nodes.map(n => ({
			target: n.target.map(target).join(", "), html: n.html,
			impact: n.impact || "", failureSummary: n.failureSummary || "",
		})),
	}));
})()`

// axe runs axe-core over the document in the tab of ctx.
func axe(ctx context.Context) ([]Violation, error) {
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof window.axe === "object"`))
	if err != nil {
		return nil, fmt.Errorf("axe: %w", err)
	}
	if !loaded {
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](axeSource)); err != nil {
			return nil, fmt.Errorf("axe: inject axe-core: %w", err)
		}
	}
	vs, err := chromedp.Run(ctx, chromedp.Evaluate[[]Violation](
		fmt.Sprintf(axeRunJS, jsStrings(AxeTags)), chromedp.EvalAwaitPromise))
	if err != nil {
		return nil, fmt.Errorf("axe: run: %w", err)
	}
	return vs, nil
}

// Axe checks the document now in the page (so a signed-in page, after
// Navigate) against AxeTags and returns every violation, whatever its
// impact; an error means the check could not run.
func (p *Page) Axe() ([]Violation, error) {
	ctx, cancel := context.WithTimeout(p.ctx, p.b.opts.Timeout)
	defer cancel()
	return axe(ctx)
}

// Axe loads url in a fresh tab of its own (no cookies) and checks it like
// Page.Axe, for a page anyone may see.
func (b *Browser) Axe(ctx context.Context, url string) ([]Violation, error) {
	p, err := b.newPage()
	if err != nil {
		return nil, err
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(ctx, b.opts.Timeout)
	defer cancel()
	stop := context.AfterFunc(ctx, p.cancel) // ctx ends the tab's actions too
	defer stop()
	tab, cancelTab := context.WithTimeout(p.ctx, b.opts.Timeout)
	defer cancelTab()
	if err := chromedp.Do(tab, chromedp.Navigate(url)); err != nil {
		return nil, fmt.Errorf("axe %s: %w", url, err)
	}
	vs, err := axe(tab)
	if err != nil {
		return nil, fmt.Errorf("axe %s: %w", url, err)
	}
	return vs, nil
}

// AssertAccessible checks the document now in the page with axe and fails
// the test (without stopping it) for each serious or critical violation,
// listing the elements and how to fix them; minor and moderate ones are
// logged.
func (p *Page) AssertAccessible() {
	p.t.Helper()
	vs, err := p.Axe()
	p.check("check accessibility", err)
	AssertNoSerious(p.t, p.location(), vs)
}

// AssertNoSerious fails t (without stopping it) when vs, axe's findings
// for the page at where, hold a serious or critical violation, listing
// them; the minor and moderate ones are logged.
func AssertNoSerious(t testing.TB, where string, vs []Violation) {
	t.Helper()
	var bad, rest []Violation
	for _, v := range vs {
		if v.Serious() {
			bad = append(bad, v)
		} else {
			rest = append(rest, v)
		}
	}
	if len(rest) > 0 {
		t.Logf("accessibility of %s: %d minor or moderate violation(s):\n%s", where, len(rest), FormatViolations(rest))
	}
	if len(bad) > 0 {
		t.Errorf("accessibility of %s: %d serious or critical violation(s) of WCAG 2.1 A/AA (axe-core %s):\n%s",
			where, len(bad), AxeVersion(), FormatViolations(bad))
	}
}

// FormatViolations lays violations out for a person: rule, impact, what to
// do, the link to axe's explanation, and each element with its failure.
func FormatViolations(vs []Violation) string {
	var b strings.Builder
	for _, v := range vs {
		fmt.Fprintf(&b, "- %s [%s]: %s\n  %s\n", v.ID, v.Impact, v.Help, v.HelpURL)
		for _, n := range v.Nodes {
			fmt.Fprintf(&b, "    %s  %s\n", n.Target, oneLine(n.HTML, 120))
			if n.FailureSummary != "" {
				fmt.Fprintf(&b, "      %s\n", oneLine(n.FailureSummary, 240))
			}
		}
	}
	return b.String()
}

func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > max {
		s = string(r[:max-1]) + "…"
	}
	return s
}

func jsStrings(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = jsString(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
