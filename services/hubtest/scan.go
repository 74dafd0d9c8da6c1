package hubtest

// The log and URL scan: personal data must never reach a log line or a
// URL (docs/security.md). A Scan captures everything the hub logs, at
// debug level, and the line of every request it receives, and Check
// searches both for every personal value the test seeded.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/daemon"
)

// Scan captures log output and request lines for Check. It is safe for
// concurrent use.
type Scan struct {
	mu       sync.Mutex
	logs     bytes.Buffer
	requests []string
	values   map[string]bool
}

// NewScan returns an empty Scan.
func NewScan() *Scan { return &Scan{values: map[string]bool{}} }

// Logger logs everything, debug included, as JSON lines into s.
func (s *Scan) Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(s.Writer(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// Writer is where a logger the test builds itself (telemetry's, in
// `samnav dev`) writes its lines, JSON or text, for s to scan.
func (s *Scan) Writer() io.Writer { return scanWriter{s} }

type scanWriter struct{ s *Scan }

func (w scanWriter) Write(p []byte) (int, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	return w.s.logs.Write(p)
}

// Context returns ctx carrying s, so that every Samnav server started
// under it (daemon.ObserveRequests) records its requests' lines in s.
func (s *Scan) Context(ctx context.Context) context.Context {
	return daemon.ObserveRequests(ctx, s.observe)
}

// Handler records the line of every request h receives, for a server the
// test runs itself (httptest in front of the console).
func (s *Scan) Handler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.observe(r)
		h.ServeHTTP(w, r)
	})
}

func (s *Scan) observe(r *http.Request) {
	line := r.Method + " " + r.URL.RequestURI()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, line)
}

// Requests is how many request lines s has recorded.
func (s *Scan) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// Seeded adds the personal values of state, a record of concept that the
// test seeded, to what Check searches for (PersonalValues).
func (s *Scan) Seeded(t testing.TB, m *model.Model, concept string, state map[string]any) {
	t.Helper()
	c := m.Concept(concept)
	if c == nil {
		t.Fatalf("hubtest: scan: no concept %q", concept)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range PersonalValues(c, state) {
		s.values[v] = true
	}
}

// Values is how many distinct personal values Check searches for.
func (s *Scan) Values() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.values)
}

// minValue is the shortest value Check searches for: a shorter one (an
// initial) would be found inside unrelated words and identifies no one.
const minValue = 3

// PersonalValues are the text values of state (a record of c) that the
// model classifies as personal data (model.Attribute.Personal): names,
// identity numbers, addresses, e-mail addresses, phone numbers, nested
// records' and lists' texts included. An identity number is returned in
// its other written forms too (ten digits, with the hyphen).
func PersonalValues(c *model.Concept, state map[string]any) []string {
	var out []string
	collectPersonal(c.Attributes, state, false, &out)
	return out
}

func collectPersonal(attrs []*model.Attribute, state map[string]any, personal bool, out *[]string) {
	for _, a := range attrs {
		if v, ok := state[a.Name]; ok {
			collectValue(a, v, personal || a.Personal(), out)
		}
	}
}

func collectValue(a *model.Attribute, v any, personal bool, out *[]string) {
	switch a.Type {
	case model.Record:
		if rec, ok := v.(map[string]any); ok {
			collectPersonal(a.Attributes, rec, personal, out)
		}
	case model.List:
		if a.Items == nil {
			return
		}
		switch items := v.(type) {
		case []any:
			for _, it := range items {
				collectValue(a.Items, it, personal || a.Items.Personal(), out)
			}
		case []string:
			for _, it := range items {
				collectValue(a.Items, it, personal || a.Items.Personal(), out)
			}
		}
	case model.String:
		s, ok := v.(string)
		if !ok || !personal || utf8.RuneCountInString(s) < minValue {
			return
		}
		*out = append(*out, s)
		if a.PersonalData == model.IdentityNumber && len(s) == 12 {
			*out = append(*out, s[2:], s[:8]+"-"+s[8:], s[2:8]+"-"+s[8:])
		}
	}
}

// Check fails t for every log line and request line s captured that holds
// a seeded personal value, naming the log line's message and attribute
// key, or the request's method and the part of its URL (path or query
// parameter) - never the value. It also fails when s captured no log
// output or no request, or holds no value: a scan of nothing proves
// nothing.
func (s *Scan) Check(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	values := make([]string, 0, len(s.values))
	for v := range s.values {
		values = append(values, v)
	}
	slices.Sort(values)
	switch {
	case len(values) == 0:
		t.Fatal("log and URL scan: the test seeded no personal value (Seeded)")
	case s.logs.Len() == 0:
		t.Fatal("log and URL scan: nothing was logged: is debug logging on?")
	case len(s.requests) == 0:
		t.Fatal("log and URL scan: no request line was recorded")
	}
	hits := 0
	report := func(format string, args ...any) {
		if hits++; hits <= 20 {
			t.Errorf(format, args...)
		}
	}
	sc := bufio.NewScanner(bytes.NewReader(s.logs.Bytes()))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		for _, key := range leakingKeys(sc.Text(), values) {
			report("log line %d (%s) holds a seeded personal value under key %q", n, key[0], key[1])
		}
	}
	for i, line := range s.requests {
		for _, part := range leakingParts(line, values) {
			report("request %d (%s) holds a seeded personal value in %s", i+1, strings.SplitN(line, " ", 2)[0], part)
		}
	}
	if hits > 0 {
		t.Errorf("log and URL scan: %d hits for %d seeded values in %d log bytes and %d request lines", hits, len(values), s.logs.Len(), len(s.requests))
	}
}

// leakingKeys returns, for one log line, the (message, key) of every
// attribute whose value holds one of values. A JSON line is looked at key
// by key (nested groups as a.b); any other line as a whole, under the
// key "line".
func leakingKeys(line string, values []string) [][2]string {
	var rec map[string]any
	if err := json.Unmarshal([]byte(line), &rec); err != nil {
		if holdsAny(line, values) {
			return [][2]string{{textMessage(line), "line"}}
		}
		return nil
	}
	msg, _ := rec[slog.MessageKey].(string)
	var out [][2]string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				walk(strings.TrimPrefix(prefix+"."+k, "."), x[k])
			}
		case []any:
			for _, it := range x {
				walk(prefix, it)
			}
		default:
			if holdsAny(fmt.Sprint(x), values) {
				out = append(out, [2]string{msg, prefix})
			}
		}
	}
	walk("", rec)
	return out
}

// textMessage is the msg of a slog text line, or "?" without one.
func textMessage(line string) string {
	i := strings.Index(line, "msg=")
	if i < 0 {
		return "?"
	}
	rest := line[i+len("msg="):]
	if strings.HasPrefix(rest, `"`) {
		if end := strings.Index(rest[1:], `"`); end >= 0 {
			return rest[1 : end+1]
		}
	}
	if end := strings.IndexByte(rest, ' '); end >= 0 {
		return rest[:end]
	}
	return rest
}

// leakingParts names the parts of a request line ("METHOD /path?query")
// that hold one of values: "the path", or "query parameter NAME".
func leakingParts(line string, values []string) []string {
	_, target, _ := strings.Cut(line, " ")
	path, query, _ := strings.Cut(target, "?")
	var out []string
	if p, err := url.PathUnescape(path); err == nil && holdsAny(p, values) || err != nil && holdsAny(path, values) {
		out = append(out, "the path")
	}
	q, err := url.ParseQuery(query)
	if err != nil && holdsAny(query, values) {
		return append(out, "the query")
	}
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if holdsAny(k+"="+strings.Join(q[k], " "), values) {
			out = append(out, "query parameter "+k)
		}
	}
	return out
}

// holdsAny reports whether s contains one of values as a whole word: not
// preceded or followed by a letter or digit, so that the name "Ali" is
// not found in "Alice".
func holdsAny(s string, values []string) bool {
	for _, v := range values {
		for from := 0; ; {
			i := strings.Index(s[from:], v)
			if i < 0 {
				break
			}
			i += from
			before, _ := utf8.DecodeLastRuneInString(s[:i])
			after, _ := utf8.DecodeRuneInString(s[i+len(v):])
			if !wordRune(before) && !wordRune(after) {
				return true
			}
			from = i + 1
		}
	}
	return false
}

func wordRune(r rune) bool {
	return r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r))
}
