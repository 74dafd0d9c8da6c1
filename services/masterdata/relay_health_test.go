package masterdata_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/samnav/samnav/pkg/daemon"
	"github.com/samnav/samnav/pkg/embeddedkafka"
	"github.com/samnav/samnav/pkg/outbox"
	"github.com/samnav/samnav/pkg/sdk/kafkatopics"
	"github.com/samnav/samnav/pkg/sdk/sqldb"
	_ "github.com/samnav/samnav/pkg/sqldb/drivers" // the drivers sqldb.Open uses
	"github.com/samnav/samnav/services/hubtest"
	"github.com/samnav/samnav/services/masterdata"
)

const unitTopic = "samnav.unit.v1"

// TestRelayRecreatesDeletedStateTopic: an operator deletes a concept's state
// topic while master data runs; the relay recreates it (compacted, with the
// configured partitions) and publishes the change it was blocked on and
// every later change, in order, and /healthz stays ok.
func TestRelayRecreatesDeletedStateTopic(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	broker := startBroker(t)
	a := startAPIWith(t, masterdata.Config{Brokers: []string{broker.Addr()}, EnsureTopics: true, TopicPartitions: 1}, masterdata.Deps{})
	admin := &kafka.Client{Addr: kafka.TCP(broker.Addr()), Timeout: 10 * time.Second}
	resp, err := admin.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: []string{unitTopic}})
	if err != nil || resp.Errors[unitTopic] != nil {
		t.Fatalf("delete %s: %v %v", unitTopic, err, resp)
	}

	st := a.steward("anna", "unit")
	c := a.do("POST", "/api/v1/unit", st, unit("Solskolan"), "Samnav-Reason", "new school")
	if c.status != 201 {
		t.Fatalf("create: %s", c.raw)
	}
	id := c.body["id"].(string)
	for rev, name := range []string{"Solskolan F-6", "Solskolan F-9"} {
		if r := a.do("PUT", "/api/v1/unit/"+id, st, unit(name), "If-Match", `"`+string(rune('1'+rev))+`"`); r.status != 200 {
			t.Fatalf("update %d: %s", rev+2, r.raw)
		}
	}
	c2 := a.do("POST", "/api/v1/unit", st, unit("Månskolan"))
	if c2.status != 201 {
		t.Fatalf("create: %s", c2.raw)
	}
	id2 := c2.body["id"].(string)

	got := readChanges(ctx, t, broker.Addr(), unitTopic, 4)
	want := []string{id + "@1", id + "@2", id + "@3", id2 + "@1"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("%s carries %v, want %v in this order", unitTopic, got, want)
	}
	configs, err := kafkatopics.Describe(ctx, admin, unitTopic)
	if err != nil {
		t.Fatal(err)
	}
	if configs["cleanup.policy"] != "compact" {
		t.Errorf("recreated topic has cleanup.policy %q, want compact", configs["cleanup.policy"])
	}
	if h := a.do("GET", "/healthz", "", nil); h.status != 200 || h.body["status"] != "ok" {
		t.Errorf("/healthz after the topic was recreated: %d %s, want 200 ok", h.status, h.raw)
	}
}

// TestRelayBlockedByForeignTopicIsReported: an outbox entry for a topic
// that is no concept's state topic is not created by master data: /healthz
// reports degraded naming the topic, the change committed after it is not
// published, and once an operator creates the topic both follow in order.
func TestRelayBlockedByForeignTopicIsReported(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	broker := startBroker(t)
	dir := filepath.Join(t.TempDir(), "md")
	a := startAPIWith(t, masterdata.Config{Base: daemon.Base{DataDir: dir}, Brokers: []string{broker.Addr()}, EnsureTopics: true, TopicPartitions: 1,
		RelayStallAfter: time.Nanosecond}, masterdata.Deps{})
	if h := a.do("GET", "/livez", "", nil); h.status != 200 {
		t.Fatalf("/livez: %d %s", h.status, h.raw)
	}

	const foreign = "samnav.foreign.v1"
	db := openSQLite(t, filepath.Join(dir, "masterdata.db"))
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := outbox.Append(ctx, tx, sqldb.SQLite, outbox.Entry{Topic: foreign, Key: []byte("k"), Value: []byte("v"), EventID: "foreign-1"}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	st := a.steward("anna", "unit")
	c := a.do("POST", "/api/v1/unit", st, unit("Solskolan"))
	if c.status != 201 {
		t.Fatalf("create: %s", c.raw)
	}
	id := c.body["id"].(string)

	var h response
	for h = a.do("GET", "/healthz", "", nil); h.status != 503; h = a.do("GET", "/healthz", "", nil) {
		if ctx.Err() != nil {
			t.Fatalf("/healthz never reported the blocked relay: %d %s", h.status, h.raw)
		}
		time.Sleep(20 * time.Millisecond)
	}
	relay, _ := h.body["relay"].(map[string]any)
	blocked, _ := relay["blocked"].(map[string]any)
	if h.body["status"] != "degraded" || !strings.Contains(h.raw, `\"`+foreign+`\" is not the state topic of a concept`) ||
		blocked["topic"] != foreign || blocked["unknownTopic"] != true || relay["pending"] != float64(2) {
		t.Fatalf("/healthz = %s, want degraded, blocked at %s which it names, 2 pending", h.raw, foreign)
	}
	status, err := a.srv.Relay().Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if status.Blocked == nil || status.Position != status.Blocked.Entry-1 {
		t.Fatalf("relay status %+v: want blocked right after its position", status)
	}
	// Nothing after the blocked entry may be published, or order breaks.
	// Other tests prove the relay publishes within this window when it can.
	rctx, rcancel := context.WithTimeout(ctx, 2*time.Second)
	got := readChanges(rctx, t, broker.Addr(), unitTopic, 1)
	rcancel()
	if len(got) != 0 {
		t.Fatalf("%s received %v while an earlier entry is blocked", unitTopic, got)
	}

	admin := &kafka.Client{Addr: kafka.TCP(broker.Addr()), Timeout: 10 * time.Second}
	if err := kafkatopics.Ensure(ctx, admin, kafkatopics.Spec{Name: foreign, Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	if got := readChanges(ctx, t, broker.Addr(), unitTopic, 1); len(got) != 1 || got[0] != id+"@1" {
		t.Fatalf("%s carries %v after the operator created %s, want [%s@1]", unitTopic, got, foreign, id)
	}
	if got := readChanges(ctx, t, broker.Addr(), foreign, 1); len(got) != 1 {
		t.Fatalf("%s carries %v, want the blocked entry", foreign, got)
	}
	for h = a.do("GET", "/healthz", "", nil); h.status != 200; h = a.do("GET", "/healthz", "", nil) {
		if ctx.Err() != nil {
			t.Fatalf("/healthz stayed degraded after the relay recovered: %d %s", h.status, h.raw)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func startBroker(t *testing.T) *embeddedkafka.Broker {
	t.Helper()
	return hubtest.Start(t, hubtest.WithBroker(embeddedkafka.Config{})).Broker
}

func openSQLite(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, _, err := sqldb.Open("sqlite:" + path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// readChanges reads partition 0 of topic from the start until want distinct
// events arrived or ctx ends, and returns "key@revision" of each event's
// first occurrence, in order.
func readChanges(ctx context.Context, t *testing.T, addr, topic string, want int) []string {
	t.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{addr}, Topic: topic, Partition: 0, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	var out []string
	seen := map[string]bool{}
	for len(out) < want {
		msg, err := r.ReadMessage(ctx)
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return out
		}
		if err != nil {
			t.Fatalf("read %s: %v", topic, err)
		}
		h := map[string]string{}
		for _, hd := range msg.Headers {
			h[hd.Key] = string(hd.Value)
		}
		if seen[h["ce_id"]] {
			continue
		}
		seen[h["ce_id"]] = true
		out = append(out, string(msg.Key)+"@"+h["samnav_revision"])
	}
	return out
}
