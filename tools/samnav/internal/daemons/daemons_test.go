// Package daemons_test runs every cmd/*d binary as a process of its own,
// as production does: configured only by environment variables, against an
// embedded Kafka-protocol broker and a throwaway PostgreSQL. It checks
// that each serves /livez, /healthz and /metrics (with its HTTP and, for
// delivery, its delivery metrics), carries a master data write through to
// a subscriber, and on SIGTERM drains and exits 0 within its grace period
// with nothing acknowledged lost.
package daemons_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/auth/authsql"
	"github.com/samnav/samnav/pkg/embeddedkafka"
	"github.com/samnav/samnav/pkg/sdk/poll"
	"github.com/samnav/samnav/pkg/sdk/sqldb"
	_ "github.com/samnav/samnav/pkg/sqldb/drivers" // the token stores' driver
	"github.com/samnav/samnav/services/hubtest"
)

// grace is every daemon's SAMNAV_SHUTDOWN_GRACE here; a daemon must have
// exited within it (plus start-up slack of the process) after SIGTERM.
const grace = 10 * time.Second

// build compiles the named daemons into a temporary directory, in one go
// command.
func build(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	for _, n := range names {
		args = append(args, "github.com/samnav/samnav/services/"+strings.TrimSuffix(n, "d")+"/cmd/"+n)
	}
	cmd := exec.CommandContext(t.Context(), "go", args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return dir
}

// daemon is one running binary.
type daemon struct {
	name string
	cmd  *exec.Cmd
	base string // http://host:port of its server
	mu   sync.Mutex
	log  bytes.Buffer
	done chan struct{}
}

// start runs bin with exactly env (plus PATH) and waits until it logs the
// address it listens on (SAMNAV_<NAME>_ADDR is 127.0.0.1:0).
func start(t *testing.T, dir, name string, env map[string]string) *daemon {
	t.Helper()
	d := &daemon{name: name, done: make(chan struct{})}
	d.cmd = exec.Command(filepath.Join(dir, name)) //nolint:gosec // G204: a binary this test built
	d.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "SAMNAV_LOG_FORMAT=json", "SAMNAV_SHUTDOWN_GRACE=" + grace.String(),
		"SAMNAV_" + strings.ToUpper(strings.TrimSuffix(name, "d")) + "_ADDR=127.0.0.1:0"}
	for k, v := range env {
		d.cmd.Env = append(d.cmd.Env, k+"="+v)
	}
	stderr, err := d.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	addr := make(chan string, 1)
	go func() {
		defer close(d.done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			d.mu.Lock()
			d.log.Write(line)
			d.log.WriteByte('\n')
			d.mu.Unlock()
			var rec struct{ Msg, Addr string }
			if json.Unmarshal(line, &rec) == nil && rec.Msg == "listening" && rec.Addr != "" {
				select {
				case addr <- rec.Addr:
				default:
				}
			}
		}
		_ = d.cmd.Wait()
	}()
	t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			_ = d.cmd.Process.Kill()
			<-d.done
		}
		if t.Failed() {
			t.Logf("%s log:\n%s", name, d.logText())
		}
	})
	select {
	case a := <-addr:
		d.base = "http://" + a
	case <-d.done:
		t.Fatalf("%s exited at start:\n%s", name, d.logText())
	case <-time.After(60 * time.Second):
		t.Fatalf("%s logged no listening address:\n%s", name, d.logText())
	}
	return d
}

func (d *daemon) logText() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.log.String()
}

// waitHealthy waits until /livez and then /healthz answer 200.
func (d *daemon) waitHealthy(t *testing.T) {
	t.Helper()
	ctx := poll.Within(t, 60*time.Second)
	for _, path := range []string{"/livez", "/healthz"} {
		poll.Until(ctx, t, d.name+" "+path+" answering 200", func() error {
			if st, body := get(t, d.base+path, ""); st != http.StatusOK {
				return fmt.Errorf("%d %s", st, body)
			}
			return nil
		})
	}
}

// stop sends SIGTERM and requires exit code 0 within the grace period.
func (d *daemon) stop(t *testing.T) {
	t.Helper()
	began := time.Now()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM %s: %v", d.name, err)
	}
	poll.Receive(poll.Within(t, grace+5*time.Second), t, d.name+" exiting after SIGTERM", d.done)
	if code := d.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("%s exited %d after SIGTERM, want 0:\n%s", d.name, code, d.logText())
	}
	if took := time.Since(began); took > grace {
		t.Errorf("%s took %s to stop, more than its %s grace", d.name, took, grace)
	}
}

// metrics returns d's /metrics text.
func (d *daemon) metrics(t *testing.T) string {
	t.Helper()
	st, body := get(t, d.base+"/metrics", "")
	if st != http.StatusOK {
		t.Fatalf("%s /metrics = %d", d.name, st)
	}
	return body
}

// hasSample reports whether text has a sample of metric whose labels
// contain every one of labels.
func hasSample(text, metric string, labels ...string) bool {
	for line := range strings.SplitSeq(text, "\n") {
		if !strings.HasPrefix(line, metric+"{") {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(line, l)
		}
		if ok {
			return true
		}
	}
	return false
}

func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	return call(t, http.MethodGet, url, token, nil)
}

func call(t *testing.T, method, url, token string, body any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func decode(t *testing.T, body string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("not JSON: %v: %s", err, body)
	}
	return m
}

// issue makes an API token in a service's own token store, as an operator
// would with the service's database.
func issue(t *testing.T, dsn, subject string, kind auth.Kind, g auth.Grant) string {
	t.Helper()
	db, d, err := sqldb.Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	st, err := authsql.New(t.Context(), db, d)
	if err != nil {
		t.Fatal(err)
	}
	secret, _, err := (&auth.Tokens{Store: st}).Issue(t.Context(), auth.IssueRequest{Subject: subject, Kind: kind, Name: subject, Grants: []auth.Grant{g}})
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// TestRegistrydAlone is the reduced form -short runs: the registry on
// SQLite, no broker, no PostgreSQL.
func TestRegistrydAlone(t *testing.T) {
	dir := build(t, "registryd")
	reg := start(t, dir, "registryd", map[string]string{"SAMNAV_REGISTRY_DATA_DIR": t.TempDir(), "SAMNAV_REGISTRY_OPEN_WRITES": "true"})
	reg.waitHealthy(t)
	if st, body := get(t, reg.base+"/subjects", ""); st != http.StatusOK {
		t.Fatalf("GET /subjects = %d %s", st, body)
	}
	if m := reg.metrics(t); !hasSample(m, "http_server_request_duration_seconds_count", `http_route="GET /subjects"`, `http_response_status_code="200"`) {
		t.Errorf("registryd /metrics lacks the request by route:\n%s", m)
	}
	reg.stop(t)
}

// TestEveryDaemonAlone starts registryd, masterdatad, deliveryd and
// consoled as processes on PostgreSQL and the embedded broker, carries a
// unit written to master data to a pull-feed subscriber, scrapes each
// /metrics, and stops each with SIGTERM: a reader waiting in a long poll
// is answered at once, every process exits 0, and both acknowledged
// writes, the second made just before the SIGTERM, are on the state topic.
func TestEveryDaemonAlone(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: TestRegistrydAlone starts one binary")
	}
	dir := build(t, "registryd", "masterdatad", "deliveryd", "consoled")
	hub := hubtest.Start(t, hubtest.WithPostgres(), hubtest.WithBroker(embeddedkafka.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir()}))
	pg, broker := hub.Postgres, hub.Broker

	reg := start(t, dir, "registryd", map[string]string{"SAMNAV_REGISTRY_DRIVER": "postgres", "SAMNAV_REGISTRY_DSN": pg.NewDatabase(t),
		"SAMNAV_REGISTRY_OPEN_WRITES": "true"})
	reg.waitHealthy(t)
	mdDSN, dlDSN := pg.NewDatabase(t), pg.NewDatabase(t)
	mdEnv := map[string]string{"SAMNAV_MASTERDATA_DRIVER": "postgres", "SAMNAV_MASTERDATA_DSN": mdDSN, "SAMNAV_REGISTRY_URL": reg.base,
		"SAMNAV_KAFKA_BROKERS": broker.Addr(), "SAMNAV_MASTERDATA_ENSURE_TOPICS": "true"}
	md := start(t, dir, "masterdatad", mdEnv)
	md.waitHealthy(t)
	dl := start(t, dir, "deliveryd", map[string]string{"SAMNAV_DELIVERY_DRIVER": "postgres", "SAMNAV_DELIVERY_DSN": dlDSN, "SAMNAV_REGISTRY_URL": reg.base,
		"SAMNAV_KAFKA_BROKERS": broker.Addr(), "SAMNAV_DELIVERY_FEED_CURSOR_KEY": strings.Repeat("k", 32)})
	dl.waitHealthy(t)
	con := start(t, dir, "consoled", map[string]string{"SAMNAV_MASTERDATA_URL": md.base, "SAMNAV_DELIVERY_URL": dl.base, "SAMNAV_REGISTRY_URL": reg.base})
	con.waitHealthy(t)

	// A steward writes a unit; the home care system receives it over the
	// pull feed of its approved subscription.
	steward := issue(t, mdDSN, "anna", auth.KindUser, auth.Grant{Role: auth.RoleSteward, Concepts: []string{"unit"}})
	unit := func(name string) map[string]any {
		return map[string]any{"name": name, "unitType": "PRIMARY_SCHOOL", "ownerNamnd": "n-1", "openingHours": []any{}, "validFrom": "2019-08-01"}
	}
	st, body := call(t, http.MethodPost, md.base+"/api/v1/unit", steward, unit("Solskolan"))
	if st != http.StatusCreated {
		t.Fatalf("create unit: %d %s", st, body)
	}
	first := decode(t, body)["id"].(string)

	admin := issue(t, dlDSN, "admin", auth.KindUser, auth.Grant{Role: auth.RoleAdmin})
	home := issue(t, dlDSN, "hemtjanst", auth.KindSystem, auth.Grant{Role: auth.RoleSubscriber, System: "hemtjanst"})
	st, body = call(t, http.MethodPost, dl.base+"/api/v1/subscriptions", home, map[string]any{"concept": "unit", "purpose": "home care visits", "channel": "feed",
		"legalBasis": map[string]any{"basis": "public_task", "reference": "Socialtjänstlagen (2001:453)"}, "fields": []string{"name"}, "reason": "new"})
	if st != http.StatusCreated {
		t.Fatalf("request subscription: %d %s", st, body)
	}
	sub := decode(t, body)["id"].(string)
	if st, body := call(t, http.MethodPost, dl.base+"/api/v1/subscriptions/"+sub+"/approve", admin, map[string]any{"reason": "ok"}); st != http.StatusOK {
		t.Fatalf("approve: %d %s", st, body)
	}
	var changesCursor string
	poll.Until(poll.Within(t, 60*time.Second), t, "the unit reaching the feed", func() error {
		st, body := get(t, dl.base+"/api/v1/feeds/"+sub+"/snapshot", home)
		if st != http.StatusOK || !strings.Contains(body, first) {
			return fmt.Errorf("%d %s", st, body)
		}
		changesCursor, _ = decode(t, body)["changesCursor"].(string)
		return nil
	})

	for _, d := range []*daemon{reg, md, dl, con} {
		if m := d.metrics(t); !hasSample(m, "http_server_request_duration_seconds_count", "http_route=", "http_response_status_class=") ||
			!strings.Contains(m, "http_server_active_requests") {
			t.Errorf("%s /metrics lacks the HTTP metrics:\n%s", d.name, m)
		}
	}
	// The relay counts a batch after recording its progress, and the
	// pipeline counts events after the channel accepted them: both may come
	// just after the feed serves the unit, so they are waited for.
	poll.Until(poll.Within(t, 30*time.Second), t, "masterdatad's /metrics showing the write and the relay's throughput", func() error {
		if m := md.metrics(t); !hasSample(m, "http_server_request_duration_seconds_count", `http_route="POST /api/v1/{concept}"`, `http_response_status_code="201"`) ||
			!hasSample(m, "samnav_outbox_published_total") || !hasSample(m, "samnav_outbox_batches_total") {
			return fmt.Errorf("masterdatad /metrics lacks the write or the relay's throughput:\n%s", m)
		}
		return nil
	})
	poll.Until(poll.Within(t, 30*time.Second), t, "deliveryd's /metrics showing the delivery", func() error {
		if m := dl.metrics(t); !hasSample(m, "samnav_delivery_events_total", `subscription="`+sub+`"`, `channel="feed"`) ||
			!hasSample(m, "samnav_delivery_lag_seconds_count", `subscription="`+sub+`"`) ||
			!hasSample(m, "samnav_feed_entries_total", `endpoint="snapshot"`) ||
			!hasSample(m, "http_server_request_duration_seconds_count", `http_route="GET /api/v1/feeds/{subscription}/snapshot"`) {
			return fmt.Errorf("deliveryd /metrics lacks the delivery metrics:\n%s", m)
		}
		return nil
	})

	// The snapshot and the changes after its cursor may overlap (a change
	// committed between the snapshot's head and its state read is in
	// both), and a long poll with a change to give returns at once: read
	// the changes up to the head first, so that the long poll below waits.
	for {
		st, body := get(t, dl.base+"/api/v1/feeds/"+sub+"/changes?cursor="+changesCursor, home)
		if st != http.StatusOK {
			t.Fatalf("changes after the snapshot: %d %s", st, body)
		}
		page := decode(t, body)
		if next, _ := page["nextCursor"].(string); next != "" {
			changesCursor = next
		}
		if items, _ := page["items"].([]any); len(items) == 0 {
			break
		}
	}

	// A reader waits in a long poll while deliveryd is told to stop: it
	// is answered at once, and deliveryd exits well within its grace.
	polled := make(chan int, 1)
	go func() {
		st, _ := get(t, dl.base+"/api/v1/feeds/"+sub+"/changes?wait=60s&cursor="+changesCursor, home)
		polled <- st
	}()
	poll.True(poll.Within(t, 10*time.Second), t, "samnav_feed_readers counting the waiting reader", func() bool {
		return hasSample(dl.metrics(t), "samnav_feed_readers", " 1")
	})
	con.stop(t)
	dl.stop(t)
	if st := <-polled; st != http.StatusOK {
		t.Errorf("the long poll was answered %d when deliveryd stopped, want 200", st)
	}

	// A write acknowledged just before SIGTERM is not lost: it is on the
	// state topic, published before the relay stopped or after masterdatad
	// starts again.
	st, body = call(t, http.MethodPost, md.base+"/api/v1/unit", steward, unit("Månskolan"))
	if st != http.StatusCreated {
		t.Fatalf("create unit: %d %s", st, body)
	}
	second := decode(t, body)["id"].(string)
	md.stop(t)
	missing := onTopic(t, broker.Addr(), "samnav.unit.v1", 5*time.Second, first, second)
	if len(missing) > 0 {
		md = start(t, dir, "masterdatad", mdEnv)
		md.waitHealthy(t)
		if missing = onTopic(t, broker.Addr(), "samnav.unit.v1", 30*time.Second, missing...); len(missing) > 0 {
			t.Fatalf("acknowledged writes %v are not on the state topic, even after a restart", missing)
		}
		md.stop(t)
	}
	reg.stop(t)
}

// onTopic reads topic from the start until every key is seen or within
// passes, and returns the keys not seen.
func onTopic(t *testing.T, broker, topic string, within time.Duration, keys ...string) []string {
	t.Helper()
	want := map[string]bool{}
	for _, k := range keys {
		want[k] = true
	}
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{broker}, Topic: topic, GroupID: fmt.Sprintf("daemons-test-%d", time.Now().UnixNano()),
		StartOffset: kafka.FirstOffset, MaxWait: 100 * time.Millisecond})
	defer func() { _ = r.Close() }()
	ctx, cancel := context.WithTimeout(t.Context(), within)
	defer cancel()
	for len(want) > 0 {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			break
		}
		delete(want, string(m.Key))
	}
	var missing []string
	for k := range want {
		missing = append(missing, k)
	}
	return missing
}
