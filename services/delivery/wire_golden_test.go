package delivery_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/samnav/samnav/pkg/sdk/avroserde"
	"github.com/samnav/samnav/pkg/sdk/poll"
	"github.com/samnav/samnav/services/hubtest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestWireGolden pins the exact wire form of every channel a change
// travels: the state topic record the outbox relay produces, the record on
// a subscriber's Kafka view topic, the signed webhook request and the pull
// feed's response. One person is created, changed and erased at the
// master; each channel's messages are written to testdata/wire/<channel>
// with volatile values (ids, times, signatures, cursors) replaced by
// numbered placeholders that are the same for the same value across
// channels, so a change of a header's name, value or presence, of a key,
// of the value's framing or of a JSON body shows as a golden diff.
// Refresh with -update.
func TestWireGolden(t *testing.T) {
	h, c, ctx := startCast(t, 90*time.Second)
	ella := c.publishElla()
	admin, school, library, social, mdAdmin := c.admin, c.school, c.library, c.social, c.mdAdmin

	hook := &rawHook{}
	srv := httptest.NewServer(hook)
	t.Cleanup(srv.Close)
	libSub := subscribe(t, h.DeliveryURL, library, admin, "webhook", []string{"givenNames", "surname", "registeredAddress"})
	if st, ep := hubtest.CallJSON(t, "PUT", h.DeliveryURL+"/api/v1/subscriptions/"+libSub+"/webhook", library, map[string]any{"url": srv.URL + "/samnav"}); st != 201 {
		t.Fatalf("register webhook: %d %v", st, ep)
	}
	subscribe(t, h.DeliveryURL, school, admin, "kafka", []string{"givenNames", "surname", "registeredAddress", "emailAddress"})
	socialSub := subscribe(t, h.DeliveryURL, social, admin, "feed", []string{"surname", "registeredAddress"})

	// The snapshot reaches every channel before the change is made, so
	// each channel carries exactly: snapshot, change, erasure.
	// The view topic exists once its schema is registered, at the first
	// delivery; a reader joining before could see no partitions.
	viewSchema(t, h, "samnav.view.skolplattform.person.v1")
	view := rawReader(t, h, "samnav.view.skolplattform.person.v1")
	var viewMsgs []kafka.Message
	viewMsgs = append(viewMsgs, readN(ctx, t, view, 1)...)
	poll.True(ctx, t, "the webhook snapshot", func() bool { return hook.count() >= 1 })
	var (
		snapshot *httpExchange
		snap     struct {
			Items         []json.RawMessage `json:"items"`
			ChangesCursor string            `json:"changesCursor"`
		}
	)
	poll.True(ctx, t, "the feed snapshot", func() bool {
		var body []byte
		snapshot, body = feedGet(t, h.DeliveryURL+"/api/v1/feeds/"+socialSub+"/snapshot?limit=10", social)
		if err := json.Unmarshal(body, &snap); err != nil {
			t.Fatalf("feed snapshot: %v %s", err, body)
		}
		if len(snap.Items) != 1 || snap.ChangesCursor == "" {
			return false
		}
		// A snapshot whose head was read just before the first record
		// was appended holds it in its items and again after its
		// changesCursor (as the feed promises: a receiver keeps the
		// newest). The golden form is the settled one: nothing after
		// the cursor yet.
		_, body = feedGet(t, h.DeliveryURL+"/api/v1/feeds/"+socialSub+"/changes?limit=10&cursor="+url.QueryEscape(snap.ChangesCursor), social)
		var after struct {
			Items []json.RawMessage `json:"items"`
		}
		if err := json.Unmarshal(body, &after); err != nil {
			t.Fatalf("feed changes after the snapshot: %v %s", err, body)
		}
		return len(after.Items) == 0
	})

	c.publish(personState("201405052380", "Ella", "Nya gatan 7", "NONE"))
	if r := hubtest.Call(t, "DELETE", h.MasterdataURL+"/api/v1/person/"+ella, mdAdmin, nil, "Samnav-Reason", "erasure request art. 17"); r.Status != 200 {
		t.Fatalf("erase: %d %s", r.Status, r.Raw)
	}
	viewMsgs = append(viewMsgs, readN(ctx, t, view, 2)...)
	poll.True(ctx, t, "the erasure on the webhook", func() bool { return hook.count() >= 3 })
	changesURL := h.DeliveryURL + "/api/v1/feeds/" + socialSub + "/changes?limit=10&cursor=" + url.QueryEscape(snap.ChangesCursor)
	poll.True(ctx, t, "the erasure on the feed", func() bool {
		_, body := feedGet(t, changesURL, social)
		return bytes.Contains(body, []byte("se.samnav.person.erased"))
	})
	changes, _ := feedGet(t, changesURL, social)

	state := rawReader(t, h, "samnav.person.v1")
	stateMsgs := readN(ctx, t, state, 3)

	n := newNormalizer()
	var out strings.Builder
	fmt.Fprintf(&out, "# state topic samnav.person.v1 (created, changed, erased)\n\n")
	for _, m := range stateMsgs {
		out.WriteString(n.kafka(ctx, t, h.Registry, m))
	}
	fmt.Fprintf(&out, "# view topic samnav.view.skolplattform.person.v1 (snapshot, change, erasure)\n\n")
	for _, m := range viewMsgs {
		out.WriteString(n.kafka(ctx, t, h.Registry, m))
	}
	fmt.Fprintf(&out, "# webhook requests (snapshot, change, erasure)\n\n")
	for _, r := range hook.all() {
		out.WriteString(n.http(r.line, r.header, r.body))
	}
	fmt.Fprintf(&out, "# feed responses (snapshot page, changes page)\n\n")
	for _, r := range []*httpExchange{snapshot, changes} {
		out.WriteString(n.http(r.line, r.header, r.body))
	}
	golden(t, filepath.Join("testdata", "wire", "channels.golden"), out.String())
}

// golden compares got with the file at path, or rewrites it with -update.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (create it with -update): %v", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (refresh with -update if intended):\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}

type httpExchange struct {
	line   string
	header http.Header
	body   []byte
}

// rawHook keeps every request as it arrived and answers 204.
type rawHook struct {
	mu   sync.Mutex
	reqs []*httpExchange
}

func (h *rawHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.reqs = append(h.reqs, &httpExchange{line: r.Method + " " + r.URL.RequestURI() + " " + r.Proto, header: r.Header.Clone(), body: body})
	h.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (h *rawHook) count() int { h.mu.Lock(); defer h.mu.Unlock(); return len(h.reqs) }
func (h *rawHook) all() []*httpExchange {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.reqs)
}

func feedGet(t *testing.T, u, token string) (*httpExchange, []byte) {
	t.Helper()
	r := hubtest.Call(t, "GET", u, token, nil)
	p, _ := url.Parse(u)
	return &httpExchange{line: fmt.Sprintf("GET %s -> %d %s", p.Path, r.Status, http.StatusText(r.Status)), header: r.Header, body: r.Raw}, r.Raw
}

func rawReader(t *testing.T, h *hubtest.Hub, topic string) *kafka.Reader {
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{h.Broker.Addr()}, Topic: topic, GroupID: "golden-" + topic, StartOffset: kafka.FirstOffset,
		MaxWait: 100 * time.Millisecond, WatchPartitionChanges: true, PartitionWatchInterval: 100 * time.Millisecond})
	t.Cleanup(func() { r.Close() })
	return r
}

func readN(ctx context.Context, t *testing.T, r *kafka.Reader, n int) []kafka.Message {
	t.Helper()
	var out []kafka.Message
	for range n {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("read %s: %v", r.Config().Topic, err)
		}
		out = append(out, m)
	}
	return out
}

// normalizer replaces volatile values with placeholders numbered by first
// appearance, so equal values stay visibly equal across channels.
type normalizer struct {
	seen map[string]string
	next map[string]int
}

func newNormalizer() *normalizer {
	return &normalizer{seen: map[string]string{}, next: map[string]int{}}
}

var volatile = []struct {
	kind string
	re   *regexp.Regexp
}{
	{"cursor", regexp.MustCompile(`"(?:nextCursor|changesCursor)":\s*"[^"]*"`)},
	{"traceparent", regexp.MustCompile(`00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}`)},
	{"uuid", regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)},
	{"time", regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})`)},
	{"ulid", regexp.MustCompile(`\b[0-9A-HJKMNP-TV-Z]{26}\b`)},
}

// volatileHeaders are headers whose whole value changes from run to run.
var volatileHeaders = map[string]bool{"webhook-timestamp": true, "webhook-signature": true, "Date": true, "Content-Length": true}

func (n *normalizer) text(s string) string {
	for _, v := range volatile {
		s = v.re.ReplaceAllStringFunc(s, func(m string) string {
			if v.kind == "cursor" {
				name, _, _ := strings.Cut(m, ":")
				return name + `: "<cursor>"`
			}
			if p, ok := n.seen[m]; ok {
				return p
			}
			n.next[v.kind]++
			p := fmt.Sprintf("<%s-%d>", v.kind, n.next[v.kind])
			n.seen[m] = p
			return p
		})
	}
	return s
}

func (n *normalizer) kafka(ctx context.Context, t *testing.T, reg *avroserde.RegistryClient, m kafka.Message) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "key: %s\nheaders:\n", n.text(string(m.Key)))
	hs := slices.Clone(m.Headers)
	slices.SortStableFunc(hs, func(a, b kafka.Header) int { return strings.Compare(a.Key, b.Key) })
	for _, hd := range hs {
		fmt.Fprintf(&b, "  %s: %s\n", hd.Key, n.text(string(hd.Value)))
	}
	if m.Value == nil {
		b.WriteString("value: null (tombstone)\n")
	} else {
		id, body, err := avroserde.ParseHeader(m.Value)
		if err != nil {
			t.Fatalf("value of %s: %v", m.Topic, err)
		}
		subject := avroserde.TopicSubject(m.Topic, false)
		latest, _, err := reg.LatestSchema(ctx, subject)
		if err != nil {
			t.Fatal(err)
		}
		which := fmt.Sprintf("%d", id)
		if id == latest {
			which = "latest of " + subject
		}
		s, err := reg.SchemaByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		des, err := avroserde.NewDeserializer(reg, s)
		if err != nil {
			t.Fatal(err)
		}
		var v map[string]any
		if err := des.DecodeContext(ctx, m.Value, &v); err != nil {
			t.Fatal(err)
		}
		js, err := json.MarshalIndent(v, "  ", "  ")
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "value: magic byte %d, schema id %s, %d bytes of Avro:\n  %s\n", m.Value[0], which, len(body), n.text(string(js)))
	}
	b.WriteString("\n")
	return b.String()
}

func (n *normalizer) http(line string, h http.Header, body []byte) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\nheaders:\n", n.text(line))
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range h {
			if !yield(k) {
				return
			}
		}
	}) {
		v := strings.Join(h[k], ", ")
		if volatileHeaders[k] || volatileHeaders[strings.ToLower(k)] {
			v = "<volatile>"
		}
		fmt.Fprintf(&b, "  %s: %s\n", k, n.text(v))
	}
	var ind bytes.Buffer
	if err := json.Indent(&ind, body, "  ", "  "); err != nil {
		ind.Reset()
		ind.Write(body)
	}
	fmt.Fprintf(&b, "body:\n  %s\n\n", n.text(ind.String()))
	return b.String()
}
