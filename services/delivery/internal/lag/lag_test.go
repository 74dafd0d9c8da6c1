package lag_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/samnav/samnav/pkg/embeddedkafka"
	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/pkg/sdk/kafkaauth"
	"github.com/samnav/samnav/pkg/sdk/kafkatopics"
	"github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/delivery/internal/lag"
	"github.com/samnav/samnav/services/hubtest"
)

const topic = "samnav.person.v1"

func startBroker(t *testing.T) string {
	t.Helper()
	return hubtest.Start(t, hubtest.WithBroker(embeddedkafka.Config{Topics: []kafkatopics.Spec{{Name: topic, Partitions: 2}}})).Broker.Addr()
}

// produce writes n records to partition p, stamped from base on, a second
// apart.
func produce(t *testing.T, addr string, p, n int, base time.Time) {
	t.Helper()
	c := &kafka.Client{Addr: kafka.TCP(addr), Timeout: 10 * time.Second}
	recs := make([]kafka.Record, n)
	for i := range recs {
		recs[i] = kafka.Record{Key: kafka.NewBytes(fmt.Appendf(nil, "k%d", i)), Value: kafka.NewBytes([]byte("v")), Time: base.Add(time.Duration(i) * time.Second)}
	}
	res, err := c.Produce(context.Background(), &kafka.ProduceRequest{Topic: topic, Partition: p, RequiredAcks: kafka.RequireAll, Records: kafka.NewRecordReader(recs...)})
	if err != nil || res.Error != nil {
		t.Fatalf("produce to %d: %v %v", p, err, res.Error)
	}
}

// commit commits offset on partition p for group, as a standalone
// consumer does (no generation).
func commit(t *testing.T, addr, group string, p int, offset int64) {
	t.Helper()
	c := &kafka.Client{Addr: kafka.TCP(addr), Timeout: 10 * time.Second}
	res, err := c.OffsetCommit(context.Background(), &kafka.OffsetCommitRequest{GroupID: group, GenerationID: -1,
		Topics: map[string][]kafka.OffsetCommit{topic: {{Partition: p, Offset: offset}}}})
	if err != nil {
		t.Fatalf("commit: %v", err)
	}
	for _, pr := range res.Topics[topic] {
		if pr.Error != nil {
			t.Fatalf("commit %d: %v", pr.Partition, pr.Error)
		}
	}
}

func TestMeasure(t *testing.T) {
	addr := startBroker(t)
	base := time.Now().Add(-2 * time.Hour).Truncate(time.Millisecond).UTC()
	produce(t, addr, 0, 10, base)
	produce(t, addr, 1, 4, base.Add(time.Hour))
	m := lag.New(adminClient(t, addr))
	ctx := context.Background()

	t.Run("no commits: everything is behind", func(t *testing.T) {
		r, err := m.Measure(ctx, topic, "fresh")
		if err != nil {
			t.Fatal(err)
		}
		if r.Events != 14 || len(r.Partitions) != 2 {
			t.Fatalf("report %+v, want 14 events over 2 partitions", r)
		}
		for _, p := range r.Partitions {
			if p.Committed != -1 {
				t.Errorf("partition %d committed %d, want -1", p.Partition, p.Committed)
			}
		}
		if r.OldestUndelivered == nil || !r.OldestUndelivered.Equal(base) {
			t.Errorf("oldest undelivered %v, want %v", r.OldestUndelivered, base)
		}
		if r.BehindSeconds <= 0 {
			t.Errorf("behind %v s, want > 0", r.BehindSeconds)
		}
	})

	// committedAt commits offsets (by partition) for group and measures it.
	committedAt := func(t *testing.T, group string, offsets ...int64) lag.Report {
		t.Helper()
		for p, o := range offsets {
			commit(t, addr, group, p, o)
		}
		r, err := m.Measure(ctx, topic, group)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	t.Run("partly committed", func(t *testing.T) {
		r := committedAt(t, "half", 7, 4)
		want := []lag.Partition{{Partition: 0, End: 10, Committed: 7, Lag: 3}, {Partition: 1, End: 4, Committed: 4, Lag: 0}}
		if len(r.Partitions) != 2 {
			t.Fatalf("partitions %+v", r.Partitions)
		}
		for i, w := range want {
			g := r.Partitions[i]
			if g.Partition != w.Partition || g.End != w.End || g.Committed != w.Committed || g.Lag != w.Lag {
				t.Errorf("partition %d: got %+v, want %+v", i, g, w)
			}
		}
		if r.Events != 3 {
			t.Errorf("events %d, want 3", r.Events)
		}
		if got := r.Partitions[0].OldestUndelivered; got == nil || !got.Equal(base.Add(7*time.Second)) {
			t.Errorf("oldest undelivered on 0: %v, want the 8th record's time %v", got, base.Add(7*time.Second))
		}
		if r.Partitions[1].OldestUndelivered != nil {
			t.Errorf("partition 1 is caught up but has an oldest undelivered time %v", r.Partitions[1].OldestUndelivered)
		}
	})

	t.Run("caught up", func(t *testing.T) {
		r := committedAt(t, "done", 10, 4)
		if r.Events != 0 || r.OldestUndelivered != nil || r.BehindSeconds != 0 {
			t.Fatalf("report %+v, want nothing behind", r)
		}
	})

	t.Run("missing topic", func(t *testing.T) {
		_, err := m.Measure(ctx, "samnav.nothing.v1", "g")
		if !errors.Is(err, lag.ErrNoTopic) {
			t.Fatalf("err %v, want ErrNoTopic", err)
		}
	})
}

// TestHandler: the API answers whom the subscription getter answers, with
// the lag of the subscription's consumer group on its state topic.
func TestHandler(t *testing.T) {
	addr := startBroker(t)
	produce(t, addr, 0, 5, time.Now().Add(-time.Minute))
	commit(t, addr, "samnav-delivery-s1", 0, 2)
	h := lag.Handler(lag.HandlerConfig{Meter: lag.New(adminClient(t, addr)), Group: func(id string) string { return "samnav-delivery-" + id },
		Subscription: func(_ context.Context, id string) (client.Subscription, error) {
			if id != "s1" {
				return client.Subscription{}, apierr.Errorf(apierr.CodeNotFound, "subscription %q not found", id)
			}
			return client.Subscription{ID: "s1", Concept: "person", Major: 1, Channel: client.ChannelWebhook, Status: client.StatusApproved}, nil
		}})
	mux := http.NewServeMux()
	mux.Handle("GET /api/v1/subscriptions/{id}/lag", h)
	for _, tt := range []struct {
		id     string
		status int
	}{{"s1", 200}, {"other", 404}} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest("GET", "/api/v1/subscriptions/"+tt.id+"/lag", nil))
		if w.Code != tt.status {
			t.Fatalf("%s: status %d, want %d: %s", tt.id, w.Code, tt.status, w.Body)
		}
		if tt.status != 200 {
			continue
		}
		var resp lag.Response
		if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
			t.Fatal(err)
		}
		if len(resp.Channels) != 1 || resp.Channels[0].Channel != client.ChannelWebhook || resp.Channels[0].Events != 3 ||
			resp.Channels[0].Topic != topic || resp.Channels[0].OldestUndelivered == nil {
			t.Fatalf("response %s, want 3 events behind on the webhook channel", w.Body)
		}
		if resp.Failing != "" {
			t.Fatalf("failing %q for a running subscription", resp.Failing)
		}
	}

	// A subscription whose rebuild the registry refused says why.
	h = lag.Handler(lag.HandlerConfig{Meter: lag.New(adminClient(t, addr)), Group: func(id string) string { return "samnav-delivery-" + id },
		Subscription: func(_ context.Context, id string) (client.Subscription, error) {
			return client.Subscription{ID: id, Concept: "person", Major: 1, Channel: client.ChannelKafka, Status: client.StatusApproved}, nil
		},
		Failing: func(id string) error {
			if id == "s1" {
				return errors.New("register view schema: subject is READONLY")
			}
			return nil
		}})
	mux = http.NewServeMux()
	mux.Handle("GET /api/v1/subscriptions/{id}/lag", h)
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest("GET", "/api/v1/subscriptions/s1/lag", nil))
	var resp lag.Response
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
		t.Fatal(err)
	}
	if w.Code != 200 || resp.Failing != "register view schema: subject is READONLY" {
		t.Fatalf("status %d, failing %q; want 200 and the pipeline's reason", w.Code, resp.Failing)
	}
}

// adminClient is a client of the broker at addr, built as the service
// builds its own.
func adminClient(t *testing.T, addr string) *kafka.Client {
	t.Helper()
	c, done, err := kafkaauth.Settings{Brokers: []string{addr}}.Client("test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(done)
	return c
}
