package embeddedkafka_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/embeddedkafka"
	"github.com/samnav/samnav/pkg/sdk/kafkaauth"
	"github.com/samnav/samnav/pkg/sdk/kafkatopics"
)

func start(t *testing.T, cfg embeddedkafka.Config) *embeddedkafka.Broker {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := embeddedkafka.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("start broker: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// produceConsume writes n records with franz-go's kgo (a client that is not
// Samnav's) and reads them back from the start of the topic.
func produceConsume(t *testing.T, addr, topic string, n int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	prod, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RequiredAcks(kgo.AllISRAcks()))
	if err != nil {
		t.Fatalf("new producer: %v", err)
	}
	defer prod.Close()
	for i := range n {
		rec := &kgo.Record{Topic: topic, Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte(fmt.Sprintf("v%d", i))}
		if err := prod.ProduceSync(ctx, rec).FirstErr(); err != nil {
			t.Fatalf("produce %d: %v", i, err)
		}
	}
	return consume(t, addr, topic, n)
}

func consume(t *testing.T, addr, topic string, n int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cons, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatalf("new consumer: %v", err)
	}
	defer cons.Close()
	var got []string
	for len(got) < n {
		fetches := cons.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d records: %v", len(got), n, err)
		}
		fetches.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
		fetches.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	return got
}

func TestThirdPartyClientProducesAndConsumes(t *testing.T) {
	b := start(t, embeddedkafka.Config{Topics: []kafkatopics.Spec{{Name: "samnav.test.v1", Partitions: 1}}})
	got := produceConsume(t, b.Addr(), "samnav.test.v1", 10)
	for i, v := range got {
		if want := fmt.Sprintf("v%d", i); v != want {
			t.Fatalf("record %d = %q, want %q", i, v, want)
		}
	}
}

func TestTopicsFromConfig(t *testing.T) {
	b := start(t, embeddedkafka.Config{Topics: []kafkatopics.Spec{
		{Name: "samnav.person.v1", Partitions: 6, Compact: true},
		{Name: "samnav.audit.v1", Partitions: 2, Retention: 7 * 24 * time.Hour},
	}})
	client := &kafka.Client{Addr: kafka.TCP(b.Addr()), Timeout: 5 * time.Second}
	ctx := context.Background()

	tests := []struct {
		topic      string
		partitions int
		configs    map[string]string
	}{
		{"samnav.person.v1", 6, map[string]string{"cleanup.policy": "compact"}},
		{"samnav.audit.v1", 2, map[string]string{"retention.ms": "604800000"}},
	}
	for _, tt := range tests {
		t.Run(tt.topic, func(t *testing.T) {
			n, err := kafkatopics.Partitions(ctx, client, tt.topic)
			if err != nil {
				t.Fatal(err)
			}
			if n != tt.partitions {
				t.Errorf("partitions = %d, want %d", n, tt.partitions)
			}
			got, err := kafkatopics.Describe(ctx, client, tt.topic)
			if err != nil {
				t.Fatal(err)
			}
			for k, want := range tt.configs {
				if got[k] != want {
					t.Errorf("config %s = %q, want %q", k, got[k], want)
				}
			}
		})
	}
}

func TestPersistsAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := embeddedkafka.Config{DataDir: dir, Topics: []kafkatopics.Spec{{Name: "samnav.keep.v1", Partitions: 1}}}
	b := start(t, cfg)
	produceConsume(t, b.Addr(), "samnav.keep.v1", 5)
	addr := b.Addr()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	cfg.Addr = addr // same address, as a restarted broker has
	b2 := start(t, cfg)
	got := consume(t, b2.Addr(), "samnav.keep.v1", 5)
	if len(got) != 5 || got[0] != "v0" || got[4] != "v4" {
		t.Fatalf("after restart got %v, want v0..v4", got)
	}
}

func TestCompactionKeepsLatestPerKey(t *testing.T) {
	b := start(t, embeddedkafka.Config{Topics: []kafkatopics.Spec{{Name: "samnav.state.v1", Partitions: 1, Compact: true,
		Configs: map[string]string{"segment.ms": "1", "min.cleanable.dirty.ratio": "0.01"}}}})
	ctx := context.Background()
	prod, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	for i := range 10 {
		rec := &kgo.Record{Topic: "samnav.state.v1", Key: []byte("person-1"), Value: []byte(fmt.Sprintf("rev%d", i))}
		if err := prod.ProduceSync(ctx, rec).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	// A later record in a new segment lets the earlier ones be cleaned.
	time.Sleep(5 * time.Millisecond)
	if err := prod.ProduceSync(ctx, &kgo.Record{Topic: "samnav.state.v1", Key: []byte("person-2"), Value: []byte("x")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	b.Compact()
	got := consume(t, b.Addr(), "samnav.state.v1", 2)
	if got[0] != "rev9" {
		t.Fatalf("after compaction first record = %q, want the latest value rev9 (got %v)", got[0], got)
	}
}

// With CleanerInterval the broker compacts on its own schedule: a value
// superseded by a later batch is gone from offset 0 without Compact.
func TestCleanerIntervalCompactsOnSchedule(t *testing.T) {
	b := start(t, embeddedkafka.Config{CleanerInterval: 50 * time.Millisecond,
		Topics: []kafkatopics.Spec{{Name: "samnav.view.s.person.v1", Partitions: 1, Compact: true}}})
	ctx := context.Background()
	prod, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	for _, v := range []string{"old address", "shielded"} {
		if err := prod.ProduceSync(ctx, &kgo.Record{Topic: "samnav.view.s.person.v1", Key: []byte("p1"), Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	// The last batch is the active segment, never compacted: another key
	// written after it lets the shielded value's batch be cleaned too.
	if err := prod.ProduceSync(ctx, &kgo.Record{Topic: "samnav.view.s.person.v1", Key: []byte("p2"), Value: []byte("x")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := consume(t, b.Addr(), "samnav.view.s.person.v1", 1)
		if got[0] == "shielded" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("offset 0 still holds %q after 10s with a 50ms cleaner interval", got[0])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestConfigRefusesANegativeCleanerInterval(t *testing.T) {
	err := embeddedkafka.Config{CleanerInterval: -time.Second}.Validate()
	if err == nil || !strings.Contains(err.Error(), "cleaner interval") {
		t.Fatalf("Validate = %v, want an error naming the cleaner interval", err)
	}
}

func TestKafka4RejectsRemovedRequestVersions(t *testing.T) {
	b := start(t, embeddedkafka.Config{Kafka4: true})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// kafka-go's Client negotiates versions and works against Kafka 4.
	client := &kafka.Client{Addr: kafka.TCP(b.Addr()), Timeout: 5 * time.Second}
	if err := kafkatopics.Ensure(ctx, client, kafkatopics.Spec{Name: "samnav.k4.v1", Partitions: 1}); err != nil {
		t.Fatalf("create topic through kafka.Client against Kafka 4 mode: %v", err)
	}

	// A client that may send CreateTopics at most at v1, which Kafka 4.0
	// removed (KIP-896): the broker must refuse it as Kafka 4 does.
	versions := kversion.Stable()
	versions.SetMaxKeyVersion(kmsg.CreateTopics.Int16(), 1)
	old, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.MaxVersions(versions), kgo.RequestRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	req := kmsg.NewPtrCreateTopicsRequest()
	topic := kmsg.NewCreateTopicsRequestTopic()
	topic.Topic, topic.NumPartitions, topic.ReplicationFactor = "samnav.k4old.v1", 1, 1
	req.Topics = append(req.Topics, topic)
	if _, err := req.RequestWith(ctx, old); err == nil {
		t.Fatal("CreateTopics v1 succeeded; Kafka 4 mode must refuse request versions KIP-896 removed")
	}

	// The current protocol works.
	cur, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cur.Close()
	if err := cur.ProduceSync(ctx, &kgo.Record{Topic: "samnav.k4.v1", Value: []byte("x")}).FirstErr(); err != nil {
		t.Fatalf("produce with current versions against Kafka 4 mode: %v", err)
	}
}

func TestInvalidConfigNamesFieldAndRule(t *testing.T) {
	tests := []struct {
		name string
		cfg  embeddedkafka.Config
		want string
	}{
		{"not loopback", embeddedkafka.Config{Addr: "0.0.0.0:9092"}, "loopback"},
		{"any address, IPv6", embeddedkafka.Config{Addr: "[::]:0"}, "loopback"},
		{"no host", embeddedkafka.Config{Addr: ":0"}, "loopback"},
		{"a host name", embeddedkafka.Config{Addr: "example.com:0"}, "loopback"},
		{"not loopback with SASL", embeddedkafka.Config{Addr: "0.0.0.0:0", Superuser: kafkaauth.Config{Mechanism: kafkaauth.ScramSHA512, Username: "u", Password: "p"}}, "loopback"},
		{"bad port", embeddedkafka.Config{Addr: "127.0.0.1:99999"}, "port"},
		{"negative login limits", embeddedkafka.Config{LoginLimits: auth.LoginLimits{Base: -time.Second}}, "login limits: must not be negative"},
		{"no port", embeddedkafka.Config{Addr: "127.0.0.1"}, "host:port"},
		{"topic without partitions", embeddedkafka.Config{Topics: []kafkatopics.Spec{{Name: "x"}}}, "partitions"},
		{"bad topic name", embeddedkafka.Config{Topics: []kafkatopics.Spec{{Name: "a b", Partitions: 1}}}, "may contain only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := embeddedkafka.Start(context.Background(), tt.cfg)
			if err == nil || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(tt.want)) {
				t.Fatalf("Start error = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = embeddedkafka.Start(context.Background(), embeddedkafka.Config{Addr: ln.Addr().String()})
	var opErr *net.OpError
	if !errors.As(err, &opErr) {
		t.Fatalf("Start on a busy address: err = %v, want a *net.OpError", err)
	}
}
