package browsertest

import (
	"fmt"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// This file is the keyboard side of a Page: which element has the focus,
// key presses, and the order Tab moves the focus in.

// Focus describes the element that has the keyboard focus.
type Focus struct {
	// Tag is the element's lower-case tag name; "body" when nothing is
	// focused.
	Tag string `json:"tag"`
	ID  string `json:"id"`
	// Role is the explicit role attribute, if any.
	Role string `json:"role"`
	// Name approximates the accessible name: aria-label, the text of
	// aria-labelledby or of the field's <label>, alt, the visible text,
	// title, placeholder, in that order.
	Name string `json:"name"`
	Href string `json:"href"`
	// Path is a CSS path to the element, for messages.
	Path string `json:"path"`
	// Visible is whether it has a box on screen.
	Visible bool `json:"visible"`
	// Indicator is whether focus shows: an outline or a box shadow is
	// drawn. A heuristic, for WCAG 2.4.7; look at a screenshot to be sure.
	Indicator bool `json:"indicator"`
}

func (f Focus) String() string {
	s := f.Path
	if f.Name != "" {
		s += fmt.Sprintf(" %q", f.Name)
	}
	return s
}

const focusJS = `(() => {
	const el = document.activeElement || document.body;
	const text = s => (s || "").replace(/\s+/g, " ").trim();
	const byIDs = ids => text(ids.split(/\s+/).map(id => { const e = document.getElementById(id); return e ? e.innerText : ""; }).join(" "));
	let name = el.getAttribute("aria-label") ||
		(el.getAttribute("aria-labelledby") ? byIDs(el.getAttribute("aria-labelledby")) : "") ||
		(el.labels && el.labels.length ? text([...el.labels].map(l => l.innerText).join(" ")) : "") ||
		el.getAttribute("alt") || text(el.innerText) || el.getAttribute("title") || el.getAttribute("placeholder") || "";
	const path = [];
	for (let e = el; e && e !== document.body && e !== document.documentElement && path.length < 6; e = e.parentElement) {
		let s = e.tagName.toLowerCase();
		if (e.id) { path.unshift(s + "#" + CSS.escape(e.id)); break; }
		const same = e.parentElement ? [...e.parentElement.children].filter(c => c.tagName === e.tagName) : [];
		if (same.length > 1) s += ":nth-of-type(" + (same.indexOf(e) + 1) + ")";
		path.unshift(s);
	}
	const r = el.getBoundingClientRect();
	const cs = getComputedStyle(el);
	const outline = cs.outlineStyle !== "none" && parseFloat(cs.outlineWidth) > 0;
	const shadow = cs.boxShadow && cs.boxShadow !== "none";
	return {
		tag: el.tagName.toLowerCase(), id: el.id || "", role: el.getAttribute("role") || "",
		name: text(name).slice(0, 80), href: el.getAttribute("href") || "", path: path.join(" > "),
		visible: r.width > 0 && r.height > 0 && cs.visibility !== "hidden",
		indicator: Boolean(outline || shadow),
	};
})()`

// Focused describes the element that has the keyboard focus now.
func (p *Page) Focused() Focus {
	p.t.Helper()
	f, err := run(p, chromedp.Evaluate[Focus](focusJS))
	p.check("read the focused element", err)
	return f
}

// Press sends a key to the focused element, as typed on a keyboard: a
// character, or one of kb's keys such as kb.Enter, kb.Tab, kb.Escape.
func (p *Page) Press(key string) {
	p.t.Helper()
	p.Do(fmt.Sprintf("press %q", key), chromedp.KeyEvent(key))
}

// PressTab presses Tab and describes the element that gets the focus.
func (p *Page) PressTab() Focus {
	p.t.Helper()
	p.Press(kb.Tab)
	return p.Focused()
}

// TabOrder presses Tab from the top of the page until the focus comes back
// to the first element it reached (or leaves the document), at most max
// times, and returns the elements in the order they were reached: the
// keyboard-only route through the page.
func (p *Page) TabOrder(max int) []Focus {
	p.t.Helper()
	// Focusing a throwaway first element and removing it puts the start of
	// sequential focus navigation at the top of the body, wherever the
	// focus was.
	p.Do("move the focus to the top", chromedp.Evaluate[chromedp.Void](`(() => {
		const s = document.createElement("span");
		s.tabIndex = -1;
		document.body.prepend(s);
		s.focus();
		s.remove();
		window.scrollTo(0, 0);
	})()`))
	var order []Focus
	for range max {
		f := p.PressTab()
		if f.Tag == "body" || (len(order) > 0 && f == order[0]) {
			break
		}
		order = append(order, f)
	}
	return order
}
