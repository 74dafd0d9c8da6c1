package kafkago_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samnav/samnav/pkg/embeddedkafka"
	"github.com/samnav/samnav/pkg/sdk/kafkago"
	"github.com/samnav/samnav/pkg/sdk/poll"
)

// Samnav's own conformance tests: what the Watermill suite does not check.

func newTopic(t *testing.T, b *testBroker, partitions int) string {
	t.Helper()
	topic := "t-" + watermill.NewShortUUID()
	sub := newSubscriber(t, b.Addr(), "init", func(c *kafkago.SubscriberConfig) { c.InitializePartitions = partitions })
	if err := sub.SubscribeInitialize(topic); err != nil {
		t.Fatalf("initialize topic: %v", err)
	}
	return topic
}

// receive reads n messages from ch, acking each, or fails the test after
// timeout.
func receive(t *testing.T, ch <-chan *message.Message, n int, timeout time.Duration) []*message.Message {
	t.Helper()
	var got []*message.Message
	deadline := time.After(timeout)
	for len(got) < n {
		select {
		case m, ok := <-ch:
			if !ok {
				t.Fatalf("channel closed after %d of %d messages", len(got), n)
			}
			got = append(got, m)
			m.Ack()
		case <-deadline:
			t.Fatalf("received %d of %d messages in %s", len(got), n, timeout)
		}
	}
	return got
}

func publishN(t *testing.T, pub *kafkago.Publisher, topic string, n int, meta func(i int, m *message.Message)) []*message.Message {
	t.Helper()
	msgs := make([]*message.Message, n)
	for i := range msgs {
		msgs[i] = message.NewMessage(watermill.NewUUID(), fmt.Appendf(nil, "%d", i))
		if meta != nil {
			meta(i, msgs[i])
		}
	}
	if err := pub.Publish(topic, msgs...); err != nil {
		t.Fatalf("publish: %v", err)
	}
	return msgs
}

func TestHeadersRoundTrip(t *testing.T) {
	b := startBroker(t, embeddedkafka.Config{})
	topic := newTopic(t, b, 1)
	pub := newPublisher(t, b.Addr(), nil)
	want := message.Metadata{
		"traceparent":                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"ce_id":                      "e-1",
		"ce_source":                  "/samnav/masterdata",
		"ce_type":                    "se.stockholm.person.changed.v1",
		kafkago.PartitionKeyMetadata: "person-42",
		"empty":                      "",
		"unicode åäö":                "värde ✓",
	}
	msg := message.NewMessage(watermill.NewUUID(), []byte("payload"))
	msg.Metadata = maps.Clone(want)
	if err := pub.Publish(topic, msg); err != nil {
		t.Fatalf("publish: %v", err)
	}

	// What another Kafka client sees: the key and one header per entry.
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatalf("kgo client: %v", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var rec *kgo.Record
	for rec == nil {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("poll: %v", err)
		}
		fs.EachRecord(func(r *kgo.Record) { rec = r })
	}
	if string(rec.Key) != "person-42" {
		t.Errorf("record key = %q, want the partition key %q", rec.Key, "person-42")
	}
	if string(rec.Value) != "payload" {
		t.Errorf("record value = %q, want %q", rec.Value, "payload")
	}
	headers := map[string]string{}
	for _, h := range rec.Headers {
		if _, dup := headers[h.Key]; dup {
			t.Errorf("header %q repeated", h.Key)
		}
		headers[h.Key] = string(h.Value)
	}
	wantHeaders := maps.Clone(want)
	wantHeaders[kafkago.UUIDHeader] = msg.UUID
	if !maps.Equal(headers, wantHeaders) {
		t.Errorf("record headers = %v, want %v", headers, wantHeaders)
	}

	// And back through the Subscriber.
	sub := newSubscriber(t, b.Addr(), groupName(t), nil)
	ch := subscribe(t, sub, topic)
	got := receive(t, ch, 1, 15*time.Second)[0]
	if got.UUID != msg.UUID || string(got.Payload) != "payload" {
		t.Errorf("got message %s %q, want %s %q", got.UUID, got.Payload, msg.UUID, "payload")
	}
	if !maps.Equal(got.Metadata, want) {
		t.Errorf("metadata = %v, want %v", got.Metadata, want)
	}
	info, ok := kafkago.RecordInfoFromContext(got.Context())
	if !ok || info.Topic != topic || info.Partition != 0 || info.Offset != 0 || string(info.Key) != "person-42" || info.Time.IsZero() {
		t.Errorf("record info = %+v, %v; want topic %s partition 0 offset 0 key person-42 and a time", info, ok, topic)
	}
}

// TestKeyPartition checks that a key always maps to the same partition, and
// to the one the Java-compatible murmur2 partitioner of another client picks
// (franz-go's default), so Samnav and non-Go producers agree.
func TestKeyPartition(t *testing.T) {
	b := startBroker(t, embeddedkafka.Config{})
	const partitions = 6
	topic := newTopic(t, b, partitions)
	pub := newPublisher(t, b.Addr(), nil)
	keys := []string{"a", "b", "person-1", "person-2", "org-556677-8899", "unit-9", "ö", "x-long-key-" + watermill.NewUUID()}
	for round := range 3 {
		publishN(t, pub, topic, len(keys), func(i int, m *message.Message) {
			m.Metadata.Set(kafkago.PartitionKeyMetadata, keys[i])
			m.Metadata.Set("round", fmt.Sprint(round))
		})
	}
	// franz-go produces the same keys with its default (murmur2) partitioner.
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatalf("kgo client: %v", err)
	}
	defer cl.Close()
	want := map[string]int32{}
	for _, k := range keys {
		r, err := cl.ProduceSync(context.Background(), &kgo.Record{Key: []byte(k), Value: []byte("kgo")}).First()
		if err != nil {
			t.Fatalf("kgo produce: %v", err)
		}
		want[k] = r.Partition
	}

	sub := newSubscriber(t, b.Addr(), groupName(t), nil)
	ch := subscribe(t, sub, topic)
	// 3 rounds from the Publisher, 1 from franz-go: records without
	// Watermill's UUID header are delivered too.
	got := map[string]map[int]bool{}
	for _, m := range receive(t, ch, 4*len(keys), 20*time.Second) {
		info, _ := kafkago.RecordInfoFromContext(m.Context())
		k := string(info.Key)
		if got[k] == nil {
			got[k] = map[int]bool{}
		}
		got[k][info.Partition] = true
	}
	for _, k := range keys {
		if len(got[k]) != 1 || !got[k][int(want[k])] {
			t.Errorf("key %q landed on partitions %v, want only %d (franz-go's choice)", k, slices.Collect(maps.Keys(got[k])), want[k])
		}
	}
}

// TestPerKeyOrder publishes a sequence per key from concurrent publishers
// and checks each key's messages arrive in order, from a topic with several
// partitions consumed concurrently.
func TestPerKeyOrder(t *testing.T) {
	b := startBroker(t, embeddedkafka.Config{})
	topic := newTopic(t, b, 4)
	pub := newPublisher(t, b.Addr(), nil)
	const keys, perKey = 16, 100
	var wg sync.WaitGroup
	for k := range keys {
		wg.Go(func() {
			for i := range perKey {
				m := message.NewMessage(watermill.NewUUID(), fmt.Appendf(nil, "%d", i))
				m.Metadata.Set(kafkago.PartitionKeyMetadata, fmt.Sprintf("key-%d", k))
				if err := pub.Publish(topic, m); err != nil {
					t.Errorf("publish: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	sub := newSubscriber(t, b.Addr(), groupName(t), nil)
	ch := subscribe(t, sub, topic)
	next := map[string]int{}
	partitions := map[int]bool{}
	for _, m := range receive(t, ch, keys*perKey, 30*time.Second) {
		k := m.Metadata.Get(kafkago.PartitionKeyMetadata)
		if string(m.Payload) != fmt.Sprint(next[k]) {
			t.Fatalf("key %s: got message %s, want %d", k, m.Payload, next[k])
		}
		next[k]++
		info, _ := kafkago.RecordInfoFromContext(m.Context())
		partitions[info.Partition] = true
	}
	if len(partitions) < 2 {
		t.Errorf("all keys on partitions %v: the test needs several to mean anything", partitions)
	}
}

func TestReplayByTimestamp(t *testing.T) {
	b := startBroker(t, embeddedkafka.Config{})
	topic := newTopic(t, b, 3)
	pub := newPublisher(t, b.Addr(), nil)
	publishN(t, pub, topic, 30, nil)
	time.Sleep(50 * time.Millisecond) // record timestamps have millisecond resolution
	from := time.Now()
	time.Sleep(10 * time.Millisecond)
	later := publishN(t, pub, topic, 30, nil)

	group := groupName(t)
	// Consume everything once and commit, so the replay must rewind.
	first := newSubscriber(t, b.Addr(), group, nil)
	ch := subscribe(t, first, topic)
	receive(t, ch, 60, 20*time.Second)
	if err := first.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	replay := newSubscriber(t, b.Addr(), group, nil)
	if err := replay.SeekToTime(context.Background(), topic, from); err != nil {
		t.Fatalf("seek to time: %v", err)
	}
	ch = subscribe(t, replay, topic)
	got := receive(t, ch, len(later), 20*time.Second)
	assertSameIDs(t, got, later)
	select {
	case m := <-ch:
		t.Errorf("unexpected message %s after the replayed ones", m.UUID)
	case <-time.After(500 * time.Millisecond):
	}
}

// TestSeekToOffsetsRefusedWhileActive checks that a seek does not silently
// fight a running member: the broker refuses, and the error says why.
func TestSeekToOffsetsRefusedWhileActive(t *testing.T) {
	m := startActiveMember(t)
	err := m.sub.SeekToOffsets(context.Background(), m.topic, map[int]int64{0: 0})
	if err == nil {
		t.Fatal("seek while a member is active: got no error")
	}
	t.Logf("error: %v", err)
}

func assertSameIDs(t *testing.T, got, want []*message.Message) {
	t.Helper()
	ids := func(ms []*message.Message) []string {
		out := make([]string, len(ms))
		for i, m := range ms {
			out[i] = m.UUID
		}
		slices.Sort(out)
		return out
	}
	if g, w := ids(got), ids(want); !slices.Equal(g, w) {
		t.Errorf("got %d messages %v, want %d %v", len(g), g, len(w), w)
	}
}

// TestCommitOnlyAfterAck acks some messages of a partition, holds the next
// one unacked while the subscriber closes, and checks a new subscriber of
// the group starts exactly at the first unacked message: acked work is not
// redelivered, unacked work is not lost. It runs against a Kafka 4 broker
// too, proving the commit path uses only request versions Kafka 4 serves.
func TestCommitOnlyAfterAck(t *testing.T) {
	for _, kafka4 := range []bool{false, true} {
		t.Run(fmt.Sprintf("kafka4=%v", kafka4), func(t *testing.T) {
			b := startBroker(t, embeddedkafka.Config{Kafka4: kafka4})
			topic := newTopic(t, b, 1)
			pub := newPublisher(t, b.Addr(), nil)
			msgs := publishN(t, pub, topic, 10, nil)
			group := groupName(t)

			sub := newSubscriber(t, b.Addr(), group, func(c *kafkago.SubscriberConfig) {
				c.CommitInterval = time.Hour // only the commit on Close counts
				c.CloseTimeout = 200 * time.Millisecond
			})
			ch := subscribe(t, sub, topic)
			receive(t, ch, 4, 15*time.Second)
			var held *message.Message
			select {
			case held = <-ch: // the fifth: never acked
			case <-time.After(15 * time.Second):
				t.Fatal("fifth message not delivered")
			}
			if err := sub.Close(); err != nil {
				t.Fatalf("close: %v", err)
			}
			select {
			case <-held.Context().Done():
			default:
				t.Error("the held message's context is not cancelled after Close")
			}

			next := newSubscriber(t, b.Addr(), group, nil)
			ch = subscribe(t, next, topic)
			got := receive(t, ch, 6, 15*time.Second)
			for i, m := range got {
				if m.UUID != msgs[4+i].UUID {
					t.Fatalf("after restart message %d is %s (payload %s), want %s (payload %s)", i, m.UUID, m.Payload, msgs[4+i].UUID, msgs[4+i].Payload)
				}
			}
		})
	}
}

// TestRebalanceLosesNothingAcked runs two members of one group over six
// partitions while messages flow: the second joins mid-stream, the first
// leaves mid-stream. Every message must be received, and a message acked
// before a hand-over may be redelivered only if its commit was still
// pending, never lost.
func TestRebalanceLosesNothingAcked(t *testing.T) {
	b := startBroker(t, embeddedkafka.Config{})
	topic := newTopic(t, b, 6)
	pub := newPublisher(t, b.Addr(), nil)
	group := groupName(t)
	const total = 3000

	var (
		mu       sync.Mutex
		received = map[string]int{}
	)
	consume := func(ch <-chan *message.Message) {
		for m := range ch {
			mu.Lock()
			received[m.UUID]++
			mu.Unlock()
			m.Ack()
		}
	}
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(received)
	}

	a := newSubscriber(t, b.Addr(), group, func(c *kafkago.SubscriberConfig) { c.CommitInterval = 50 * time.Millisecond })
	chA := subscribe(t, a, topic)
	doneA := make(chan struct{})
	go func() { consume(chA); close(doneA) }()

	published := make(chan []*message.Message, 1)
	go func() {
		var all []*message.Message
		for range total / 100 {
			all = append(all, publishN(t, pub, topic, 100, nil)...)
			time.Sleep(20 * time.Millisecond)
		}
		published <- all
	}()

	poll.True(poll.Within(t, 30*time.Second), t, "first member consuming", func() bool { return count() > total/5 })
	bSub := newSubscriber(t, b.Addr(), group, func(c *kafkago.SubscriberConfig) { c.CommitInterval = 50 * time.Millisecond })
	chB := subscribe(t, bSub, topic)
	go consume(chB)
	poll.True(poll.Within(t, 30*time.Second), t, "both members consuming", func() bool { return count() > total/2 })
	if err := a.Close(); err != nil {
		t.Fatalf("close a: %v", err)
	}
	<-doneA
	all := <-published
	poll.True(poll.Within(t, 30*time.Second), t, "every message received", func() bool { return count() >= total })
	mu.Lock()
	defer mu.Unlock()
	dups := 0
	for _, m := range all {
		switch n := received[m.UUID]; {
		case n == 0:
			t.Errorf("message %s lost", m.UUID)
		case n > 1:
			dups++
		}
	}
	t.Logf("%d messages, %d delivered more than once", len(all), dups)
}
