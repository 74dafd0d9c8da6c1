// Package openapitest checks a service against its OpenAPI document: the
// document validates as OpenAPI 3.1, every route the server mounts is in
// it with its method, and every operation's example request, sent to a
// real server, is answered with the documented status and a response (and
// request) the document's schemas accept.
//
// Validation is by github.com/pb33f/libopenapi-validator, which reads
// OpenAPI 3.1 and validates schemas as JSON Schema 2020-12.
package openapitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	verrors "github.com/pb33f/libopenapi-validator/errors"

	"github.com/samnav/samnav/pkg/httproute"
	"github.com/samnav/samnav/pkg/openapi"
)

// Checker checks one server against one document.
type Checker struct {
	t    testing.TB
	doc  openapi.Document
	v    validator.Validator
	base string
	*record
}

// record is what every Checker made from one New shares: the operations
// whose examples were sent.
type record struct {
	mu        sync.Mutex
	exercised map[string]bool
}

// With returns a Checker sharing c's document, server and record that
// reports to t (a subtest's).
func (c *Checker) With(t testing.TB) *Checker {
	cc := *c
	cc.t = t
	return &cc
}

// New validates doc as an OpenAPI 3.1 document (failing t if it is not
// one) and returns a Checker that sends its examples to the server at
// base ("http://127.0.0.1:port").
func New(t testing.TB, doc openapi.Document, base string) *Checker {
	t.Helper()
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1") {
		t.Fatalf("openapi is %q, want 3.1.x", v)
	}
	raw, err := doc.JSON()
	if err != nil {
		t.Fatal(err)
	}
	d, err := libopenapi.NewDocument(raw)
	if err != nil {
		t.Fatalf("read OpenAPI document: %v", err)
	}
	v, errs := validator.NewValidator(d)
	if len(errs) > 0 {
		t.Fatalf("build validator: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("document invalid: %s: %s", e.Message, e.Reason)
			for _, se := range e.SchemaValidationErrors {
				t.Errorf("  at %s: %s", se.FieldPath+" "+se.KeywordLocation, se.Reason)
			}
		}
		t.FailNow()
	}
	return &Checker{t: t, doc: doc, v: v, base: strings.TrimRight(base, "/"), record: &record{exercised: map[string]bool{}}}
}

// Routes fails the test for every route in routes (from the server's own
// registration, httproute.RoutesOf) that the document lacks with its
// method. expand turns one route path into the paths the document must
// hold for it (master data's {concept} becomes one path per concept); nil
// keeps the path. Routes in skip (as "METHOD /path" or "/path") are not
// API operations (a catch-all answering 404, say).
func (c *Checker) Routes(routes []httproute.Route, expand func(path string) []string, skip ...string) {
	c.t.Helper()
	if len(routes) == 0 {
		c.t.Fatal("the server lists no routes")
	}
	for _, r := range routes {
		if slices.Contains(skip, r.String()) {
			continue
		}
		if r.Method == "" {
			c.t.Errorf("route %s serves every method: mount it with one, or list the routes of what it mounts (httproute)", r)
			continue
		}
		paths := []string{r.Path}
		if expand != nil {
			paths = expand(r.Path)
		}
		for _, p := range paths {
			if _, _, ok := c.doc.Operation(r.Method, p); !ok {
				c.t.Errorf("route %s %s (from %s) is not in the OpenAPI document", r.Method, p, r)
			}
		}
	}
}

// Call says how to send one operation's example: the token, and values
// that replace the document's examples where a test must use the ids its
// own fixtures got (path parameters, headers, the body).
type Call struct {
	Token  string
	Path   map[string]string
	Header map[string]string
	Query  map[string]string
	// Body replaces the request body example when not nil.
	Body any
	// Status is the status to expect: a success status where the
	// operation documents several, or an error status (with Refused);
	// it must be documented. 0 expects the operation's only success.
	Status int
}

// Example sends the example request of the operation documented for
// method on the path template tmpl, and checks that the answer has the
// operation's one success status, and that request and answer are what
// the document describes. It returns the answer's decoded JSON body (nil
// when there is none) and its headers.
func (c *Checker) Example(method, tmpl string, call Call) (map[string]any, http.Header) {
	c.t.Helper()
	item, ok := c.doc.Paths()[tmpl]
	if !ok {
		c.t.Fatalf("no path %s in the document", tmpl)
	}
	op, ok := item[strings.ToLower(method)].(map[string]any)
	if !ok {
		c.t.Fatalf("no operation %s %s in the document", method, tmpl)
	}
	if call.Status < 400 {
		c.mu.Lock()
		c.exercised[strings.ToUpper(method)+" "+tmpl] = true
		c.mu.Unlock()
	}

	params := append(slices.Clone(list(item["parameters"])), list(op["parameters"])...)
	path, query, header := tmpl, url.Values{}, http.Header{}
	for _, p := range params {
		pm, _ := p.(map[string]any)
		name, _ := pm["name"].(string)
		in, _ := pm["in"].(string)
		over := map[string]map[string]string{"path": call.Path, "header": call.Header, "query": call.Query}[in]
		val, have := over[name]
		if !have {
			ex, ok := pm["example"]
			if !ok {
				if pm["required"] == true {
					c.t.Fatalf("%s %s: required %s parameter %s has no example", method, tmpl, in, name)
				}
				continue
			}
			val = fmt.Sprint(ex)
		}
		switch in {
		case "path":
			path = strings.ReplaceAll(path, "{"+name+"}", url.PathEscape(val))
		case "query":
			query.Set(name, val)
		case "header":
			header.Set(name, val)
		}
	}
	var body io.Reader
	var sent []byte
	if rb, ok := op["requestBody"].(map[string]any); ok {
		ex := call.Body
		if ex == nil {
			ct, _ := rb["content"].(map[string]any)
			mt, _ := ct["application/json"].(map[string]any)
			ex = mt["example"]
		}
		if ex != nil {
			raw, err := json.Marshal(ex)
			if err != nil {
				c.t.Fatal(err)
			}
			sent = raw
			header.Set("Content-Type", "application/json")
		} else if rb["required"] == true {
			c.t.Fatalf("%s %s: the required request body has no example", method, tmpl)
		}
	}
	target := c.base + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	if sent != nil {
		body = bytes.NewReader(sent)
	}
	req, err := http.NewRequestWithContext(c.t.Context(), strings.ToUpper(method), target, body)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header = header
	if call.Token != "" {
		req.Header.Set("Authorization", "Bearer "+call.Token)
	}
	if sent != nil && call.Status < 400 {
		check := req.Clone(req.Context())
		check.Body = io.NopCloser(bytes.NewReader(sent))
		if ok, errs := c.v.ValidateHttpRequest(check); !ok {
			c.t.Errorf("%s %s: the example request is not what the document describes:%s", method, tmpl, describe(errs))
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, tmpl, err)
	}
	defer func() { _ = resp.Body.Close() }() // a read-side close has nothing to report
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read answer: %v", method, tmpl, err)
	}
	want := successStatus(op)
	switch {
	case call.Status != 0:
		if _, ok := op["responses"].(map[string]any)[fmt.Sprint(call.Status)]; !ok {
			c.t.Fatalf("%s %s: status %d is not documented", method, tmpl, call.Status)
		}
		want = call.Status
	case want == 0:
		c.t.Fatalf("%s %s: the operation documents no success status, or several: say which (Call.Status)", method, tmpl)
	}
	if resp.StatusCode != want {
		c.t.Fatalf("%s %s: status %d, the document says %d: %s", method, tmpl, resp.StatusCode, want, raw)
	}
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	vreq, _ := http.NewRequestWithContext(c.t.Context(), strings.ToUpper(method), target, nil)
	if ok, errs := c.v.ValidateHttpResponse(vreq, resp); !ok {
		c.t.Errorf("%s %s: the answer is not what the document describes:%s\n%s", method, tmpl, describe(errs), raw)
	}
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return out, resp.Header
}

// Refused sends a request that the operation refuses with status, and
// checks that status is documented for the operation and that the answer
// is the Problem the document describes (its media type and schema).
// Path parameters, query, headers and body come from call, falling back
// to the examples.
func (c *Checker) Refused(method, tmpl string, status int, call Call) map[string]any {
	c.t.Helper()
	call.Status = status
	body, hdr := c.Example(method, tmpl, call)
	if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, openapi.ProblemMediaType) {
		c.t.Errorf("%s %s: a refusal answered with Content-Type %q, want %s", method, tmpl, ct, openapi.ProblemMediaType)
	}
	if status == http.StatusUnauthorized && !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
		c.t.Errorf("%s %s: a 401 without WWW-Authenticate: Bearer", method, tmpl)
	}
	return body
}

// Unexercised fails the test for every operation of the document whose
// example it did not send: a documented operation must be shown to work.
func (c *Checker) Unexercised() {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.doc.SortedPaths() {
		for _, m := range openapi.Methods {
			if _, ok := c.doc.Paths()[p][m]; ok && !c.exercised[strings.ToUpper(m)+" "+p] {
				c.t.Errorf("the example of %s %s was not sent", strings.ToUpper(m), p)
			}
		}
	}
}

// successStatus is the operation's one 2xx status, or 0 when it
// documents none or several.
func successStatus(op map[string]any) int {
	rs, _ := op["responses"].(map[string]any)
	found := 0
	for code := range rs {
		var n int
		if _, err := fmt.Sscanf(code, "%d", &n); err == nil && n >= 200 && n < 300 {
			if found != 0 {
				return 0
			}
			found = n
		}
	}
	return found
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func describe(errs []*verrors.ValidationError) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "\n  %s: %s", e.Message, e.Reason)
		for _, se := range e.SchemaValidationErrors {
			fmt.Fprintf(&b, "\n    at %s: %s", se.FieldPath+" "+se.KeywordLocation, se.Reason)
		}
	}
	return b.String()
}
