package kafkago_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samnav/samnav/pkg/embeddedkafka"
	"github.com/samnav/samnav/pkg/kafkago"
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
	ch, err := first.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	receive(t, ch, 3, 15*time.Second) // acked; committed on Close: offset 3
	if err := first.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	deleteRecordsBefore(t, b.Addr(), topic, 0, 6)

	next := newSubscriber(t, b.Addr(), group, nil)
	ch, err = next.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatalf("subscribe again: %v", err)
	}
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
