package kafkago_test

import (
	"context"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samnav/samnav/pkg/embeddedkafka"
	"github.com/samnav/samnav/pkg/sdk/kafkago"
	"github.com/samnav/samnav/pkg/sdk/kafkatopics"
)

// TestResumeAfterDeletedRecords: when retention deleted records the group
// had not consumed yet, its next member starts at the oldest record left
// instead of stalling on an offset the broker no longer has.
func TestResumeAfterDeletedRecords(t *testing.T) {
	b := startBroker(t, embeddedkafka.Config{})
	topic := newTopic(t, b, 1)
	pub := newPublisher(t, b.Addr(), nil)
	msgs := publishN(t, pub, topic, 10, nil)
	group := groupName(t)

	first := newSubscriber(t, b.Addr(), group, func(c *kafkago.SubscriberConfig) { c.CommitInterval = time.Hour })
	ch := subscribe(t, first, topic)
	receive(t, ch, 3, 15*time.Second) // acked; committed on Close: offset 3
	if err := first.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	deleteRecordsBefore(t, b.Addr(), topic, 0, 6)

	next := newSubscriber(t, b.Addr(), group, nil)
	ch = subscribe(t, next, topic)
	got := receive(t, ch, 4, 15*time.Second)
	for i, m := range got {
		if want := msgs[6+i]; m.UUID != want.UUID {
			t.Fatalf("message %d after the deletion is %s (payload %s), want %s (payload %s)", i, m.UUID, m.Payload, want.UUID, want.Payload)
		}
	}
}

// deleteRecordsBefore deletes the records of topic/partition before offset,
// as retention does.
func deleteRecordsBefore(t *testing.T, addr, topic string, partition int32, offset int64) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatalf("kgo client: %v", err)
	}
	defer cl.Close()
	p := kmsg.NewDeleteRecordsRequestTopicPartition()
	p.Partition, p.Offset = partition, offset
	rt := kmsg.NewDeleteRecordsRequestTopic()
	rt.Topic, rt.Partitions = topic, []kmsg.DeleteRecordsRequestTopicPartition{p}
	req := kmsg.NewPtrDeleteRecordsRequest()
	req.Topics, req.TimeoutMillis = []kmsg.DeleteRecordsRequestTopic{rt}, 10_000
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("delete records: %v", err)
	}
	for _, rt := range resp.Topics {
		for _, p := range rt.Partitions {
			if p.ErrorCode != 0 {
				t.Fatalf("delete records of %s/%d: error code %d", rt.Topic, p.Partition, p.ErrorCode)
			}
			if p.LowWatermark != offset {
				t.Fatalf("delete records of %s/%d: low watermark %d, want %d", rt.Topic, p.Partition, p.LowWatermark, offset)
			}
		}
	}
}

// TestResumeAfterTopicRecreated: when the topic is deleted and recreated
// while a subscriber runs, the subscriber's position (and its group's
// committed offset) is past the new topic's end. It continues from the new
// topic's first record, as a Kafka consumer with auto.offset.reset=earliest
// does, instead of waiting there while records are written below it.
func TestResumeAfterTopicRecreated(t *testing.T) {
	testResumeAfterTopicRecreated(t, 0)
}

// TestResumeAfterTopicAbsentAcrossRebalance: the topic stays deleted long
// enough for the group to rebalance without it (kafka-go's partition watcher
// sees it gone), and is assigned nothing. When the topic is created again,
// the subscriber rejoins and reads it; kafka-go alone would stay assigned
// nothing whenever the topic came back between the assignment and the start
// of its watcher.
func TestResumeAfterTopicAbsentAcrossRebalance(t *testing.T) {
	testResumeAfterTopicRecreated(t, 6*time.Second)
}

func testResumeAfterTopicRecreated(t *testing.T, absent time.Duration) {
	const n, m = 10, 4
	b := startBroker(t, embeddedkafka.Config{})
	topic := newTopic(t, b, 1)
	pub := newPublisher(t, b.Addr(), nil)
	publishN(t, pub, topic, n, nil)
	sub := newSubscriber(t, b.Addr(), groupName(t), func(c *kafkago.SubscriberConfig) { c.CommitInterval = 20 * time.Millisecond })
	ch := subscribe(t, sub, topic)
	receive(t, ch, n, 15*time.Second)

	client, closeClient := kafkatopics.NewClient(10*time.Second, b.Addr())
	defer closeClient()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second+absent)
	defer cancel()
	resp, err := client.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: []string{topic}})
	if err != nil {
		t.Fatalf("delete topic: %v", err)
	}
	if err := resp.Errors[topic]; err != nil {
		t.Fatalf("delete topic: %v", err)
	}
	time.Sleep(absent)
	if err := kafkatopics.Ensure(ctx, client, kafkatopics.Spec{Name: topic, Partitions: 1}); err != nil {
		t.Fatalf("recreate topic: %v", err)
	}
	logFetchPastEnd(t, b.Addr(), topic, n)

	want := publishN(t, pub, topic, m, nil)
	got := receive(t, ch, m, 30*time.Second)
	for i, msg := range got {
		if msg.UUID != want[i].UUID {
			t.Fatalf("message %d after the topic was recreated is %s (payload %s), want %s (payload %s)", i, msg.UUID, msg.Payload, want[i].UUID, want[i].Payload)
		}
	}
}

// logFetchPastEnd records how the broker answers a fetch from offset, past
// the end of topic's partition 0: Kafka answers OFFSET_OUT_OF_RANGE.
func logFetchPastEnd(t *testing.T, addr, topic string, offset int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := (&kafka.Dialer{Timeout: 10 * time.Second}).DialLeader(ctx, "tcp", addr, topic, 0)
	if err != nil {
		t.Logf("probe a fetch past the end: dial leader: %v", err)
		return
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	first, last, err := conn.ReadOffsets()
	if err != nil {
		t.Logf("probe a fetch past the end: read offsets: %v", err)
		return
	}
	if _, err := conn.Seek(offset, kafka.SeekAbsolute|kafka.SeekDontCheck); err != nil {
		t.Logf("probe a fetch past the end: seek: %v", err)
		return
	}
	batch := conn.ReadBatchWith(kafka.ReadBatchConfig{MinBytes: 1, MaxBytes: 1 << 20, MaxWait: 100 * time.Millisecond})
	t.Logf("the embedded broker answers a fetch from offset %d of a partition with offsets [%d, %d] with: %v", offset, first, last, batch.Close())
}

// TestPartitionsAddedWhileSubscribed: partitions added to a topic while a
// subscriber reads it are assigned by a rebalance, and their records
// delivered.
func TestPartitionsAddedWhileSubscribed(t *testing.T) {
	m := startActiveMember(t)

	client, closeClient := kafkatopics.NewClient(10*time.Second, m.b.Addr())
	defer closeClient()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	resp, err := client.CreatePartitions(ctx, &kafka.CreatePartitionsRequest{Topics: []kafka.TopicPartitionsConfig{{Name: m.topic, Count: 3}}})
	if err == nil {
		err = resp.Errors[m.topic]
	}
	if err != nil {
		t.Fatalf("add partitions: %v", err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(m.b.Addr()), kgo.DefaultProduceTopic(m.topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatalf("kgo client: %v", err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(ctx, &kgo.Record{Partition: 2, Value: []byte("in a new partition")}).FirstErr(); err != nil {
		t.Fatalf("produce to the new partition: %v", err)
	}
	got := receive(t, m.ch, 1, 30*time.Second)
	if string(got[0].Payload) != "in a new partition" {
		t.Fatalf("received %q, want the record of the new partition", got[0].Payload)
	}
}
