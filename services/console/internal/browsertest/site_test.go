package browsertest_test

import (
	"bytes"
	"fmt"
	"html"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/samnav/samnav/services/console/internal/browsertest"
)

// openPage serves the test site and opens path on a new page of the
// shared browser: how most tests here begin.
func openPage(t *testing.T, path string) (*browsertest.Page, *httptest.Server) {
	t.Helper()
	srv := site(t)
	p := browsertest.Shared(t).NewPage(t)
	p.Navigate(srv.URL + path)
	return p, srv
}

// site serves the small pages the harness is tested against, with the
// console's Content-Security-Policy (no inline script or style), so the
// tests prove the harness, axe included, works under it.
func site(t testing.TB) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	var searches atomic.Int64 // pages of /search served: each submit is one
	page := func(w http.ResponseWriter, title, body string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		fmt.Fprintf(w, `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>%s</title>
<link rel="stylesheet" href="/site.css"></head>
<body>%s</body></html>`, html.EscapeString(title), body)
	}
	mux.HandleFunc("GET /site.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css")
		fmt.Fprint(w, `body { font-family: "DejaVu Sans", sans-serif; color: #111; background: #fff; margin: 2rem }
a:focus, button:focus, input:focus, select:focus, [tabindex]:focus { outline: 3px solid #1a5fb4 }
a.no-ring:focus { outline: none }
.tall { height: 2000px; background: #eef }
.faint { color: #ccc; background: #fff }
.fixed { min-width: 600px }
`)
	})
	mux.HandleFunc("GET /form", func(w http.ResponseWriter, r *http.Request) {
		page(w, "Find a person", `<main><h1>Find a person</h1>
<form method="post" action="/greet">
  <label for="name">Name</label> <input id="name" name="name" value="placeholder text">
  <label for="city">City</label>
  <select id="city" name="city"><option value="sto">Stockholm</option><option value="got">Göteborg</option></select>
  <button type="submit" name="action" value="search">Search</button>
</form>
<p><a id="plain" href="/hello?name=Link">A link</a></p></main>`)
	})
	mux.HandleFunc("POST /greet", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		// The submitter's name and value arrive only when a button submits.
		q := "name=" + r.PostForm.Get("name") + "&city=" + r.PostForm.Get("city") + "&action=" + r.PostForm.Get("action")
		http.Redirect(w, r, "/hello?"+strings.ReplaceAll(q, " ", "+"), http.StatusSeeOther)
	})
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		page(w, "Hello", fmt.Sprintf(`<main><h1 id="greeting">Hello, %s</h1>
<ul><li>city %s</li><li>action %s</li></ul></main>`,
			html.EscapeString(q.Get("name")), html.EscapeString(q.Get("city")), html.EscapeString(q.Get("action"))))
	})
	mux.HandleFunc("GET /echo", func(w http.ResponseWriter, r *http.Request) {
		session := "none"
		if c, err := r.Cookie("session"); err == nil {
			session = c.Value
		}
		page(w, "Echo", fmt.Sprintf(`<main><h1>Echo</h1><p id="session">%s</p><p id="lang">%s</p></main>`,
			html.EscapeString(session), html.EscapeString(r.Header.Get("Accept-Language"))))
	})
	mux.HandleFunc("GET /tall", func(w http.ResponseWriter, r *http.Request) {
		page(w, "Tall", `<main><h1>Tall</h1><div class="tall">a long page</div><p>end</p></main>`)
	})
	mux.HandleFunc("GET /keyboard", func(w http.ResponseWriter, r *http.Request) {
		page(w, "Keyboard", `<a id="skip" href="#main">Skip to content</a>
<nav><a id="home" href="/form">Home</a> <a href="/echo" class="no-ring">Echo</a></nav>
<main id="main"><h1>Keyboard</h1>
<label for="q">Search</label> <input id="q">
<button id="hidden" hidden>Hidden</button>
<button id="off" disabled>Disabled</button>
<div id="card" tabindex="0" aria-label="A focusable card">card</div>
<button id="go">Go</button></main>`)
	})
	mux.HandleFunc("GET /search", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query().Get("q")
		page(w, "Search", fmt.Sprintf(`<main><h1>Search</h1>
<form data-autosubmit action="/search"><label for="q">Name</label> <input id="q" name="q" value="%s"></form>
<p id="results">search number %d: %s</p>
<p id="later">waiting</p>
<script src="/site.js"></script></main>`, html.EscapeString(q), searches.Add(1), html.EscapeString(q)))
	})
	mux.HandleFunc("GET /site.js", func(w http.ResponseWriter, r *http.Request) {
		// Like the console's console.js: 400 ms after typing stops, a
		// form marked data-autosubmit fetches its results into #results;
		// unlike it (it posts, the query may be personal data), this one
		// GETs and rewrites the address, for WaitURL and Reload to be
		// tested on; #later changes after a while.
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprint(w, `document.querySelectorAll("form[data-autosubmit]").forEach(form => {
	let timer = null;
	form.addEventListener("input", () => {
		clearTimeout(timer);
		timer = setTimeout(async () => {
			const url = form.getAttribute("action") + "?" + new URLSearchParams(new FormData(form));
			const doc = new DOMParser().parseFromString(await (await fetch(url)).text(), "text/html");
			document.getElementById("results").innerHTML = doc.getElementById("results").innerHTML;
			history.replaceState(null, "", url);
		}, 400);
	});
});
setTimeout(() => { document.getElementById("later").textContent = "delivered to the subscriber"; }, 700);
`)
	})
	mux.HandleFunc("GET /wide", func(w http.ResponseWriter, r *http.Request) {
		page(w, "Wide", `<main><h1>Wide</h1><table><tr><td>a fixed-width table</td><td class="fixed">600px</td></tr></table></main>`)
	})
	mux.HandleFunc("GET /throws", func(w http.ResponseWriter, r *http.Request) {
		page(w, "Throws", `<main><h1>Throws</h1><script src="/throws.js"></script></main>`)
	})
	mux.HandleFunc("GET /throws.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprint(w, `console.error("shown to nobody"); throw new Error("boom in the page");`)
	})
	mux.HandleFunc("GET /clean", func(w http.ResponseWriter, r *http.Request) {
		page(w, "Clean page", `<header><p>Samnav</p></header><main><h1>A clean page</h1>
<p>Readable text on white.</p>
<img src="/pixel.png" alt="Samnav logo" width="10" height="10">
<form><label for="email">E-mail</label> <input id="email" type="email" autocomplete="email">
<button type="submit">Save</button></form></main>`)
	})
	mux.HandleFunc("GET /broken", func(w http.ResponseWriter, r *http.Request) {
		page(w, "Broken page", `<main><h1>A broken page</h1>
<img id="noalt" src="/pixel.png" width="10" height="10">
<input id="nolabel" type="text">
<p id="faint" class="faint">Text too faint to read.</p></main>`)
	})
	mux.HandleFunc("GET /pixel.png", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(pixelPNG)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// pixelPNG is a 1×1 grey PNG.
var pixelPNG = func() []byte {
	img := image.NewGray(image.Rect(0, 0, 1, 1))
	img.SetGray(0, 0, color.Gray{Y: 0x80})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err)
	}
	return b.Bytes()
}()
