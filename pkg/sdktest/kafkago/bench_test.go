package kafkago_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/segmentio/kafka-go"

	"github.com/samnav/samnav/pkg/embeddedkafka"
	"github.com/samnav/samnav/pkg/sdk/kafkago"
)

// Benchmarks for tuning: Samnav's transport against raw kafka-go with the
// same settings (acks=all, batch size, bytes and timeout, murmur2), in the
// same run, on the embedded broker. Compare the pairs' ns/op:
//
//	go test ./pkg/kafkago/ -run '^$' -bench . -benchtime 50000x
//
// tools/kafkabench holds the full comparison (1M messages, watermill-kafka).

const benchPayload = 100

func benchBroker(b *testing.B) (*testBroker, string) {
	b.Helper()
	tb := startBroker(b, embeddedkafka.Config{DataDir: b.TempDir()})
	topic := "bench-" + watermill.NewShortUUID()
	sub := newSubscriber(b, tb.Addr(), "init", func(c *kafkago.SubscriberConfig) { c.InitializePartitions = 3 })
	if err := sub.SubscribeInitialize(topic); err != nil {
		b.Fatal(err)
	}
	return tb, topic
}

func BenchmarkPublish(b *testing.B) {
	tb, topic := benchBroker(b)
	pub := newPublisher(b, tb.Addr(), nil)
	payload := make([]byte, benchPayload)
	b.SetParallelism(64) // many concurrent Publish calls, as a relay has
	b.SetBytes(benchPayload)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := pub.Publish(topic, message.NewMessage(watermill.NewUUID(), payload)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkPublishRawKafkaGo(b *testing.B) {
	tb, topic := benchBroker(b)
	w := &kafka.Writer{
		Addr: kafka.TCP(tb.Addr()), Topic: topic, Balancer: &kafka.Murmur2Balancer{},
		BatchSize: kafkago.DefaultBatchSize, BatchBytes: kafkago.DefaultBatchBytes, BatchTimeout: kafkago.DefaultBatchTimeout,
		RequiredAcks: kafka.RequireAll,
	}
	defer w.Close()
	payload := make([]byte, benchPayload)
	b.SetParallelism(64)
	b.SetBytes(benchPayload)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := watermill.NewUUID()
			// The same record shape as Samnav's: UUID key and header.
			if err := w.WriteMessages(context.Background(), kafka.Message{
				Key: []byte(id), Value: payload, Headers: []kafka.Header{{Key: kafkago.UUIDHeader, Value: []byte(id)}},
			}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// fill publishes n messages for a consume benchmark, outside its timer.
func fill(b *testing.B, addr, topic string, n int) {
	b.Helper()
	pub := newPublisher(b, addr, nil)
	payload := make([]byte, benchPayload)
	const chunk = 10_000
	for i := 0; i < n; i += chunk {
		msgs := make([]*message.Message, min(chunk, n-i))
		for j := range msgs {
			msgs[j] = message.NewMessage(watermill.NewUUID(), payload)
		}
		if err := pub.Publish(topic, msgs...); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkConsume receives and Acks each message in one goroutine, as a
// loop does; BenchmarkConsumeGoroutinePerMessage Acks each in a goroutine
// of its own, as Watermill's router and Samnav's SDK do.
func BenchmarkConsume(b *testing.B) { benchConsume(b, false) }

func BenchmarkConsumeGoroutinePerMessage(b *testing.B) { benchConsume(b, true) }

func benchConsume(b *testing.B, goroutinePerMessage bool) {
	tb, topic := benchBroker(b)
	fill(b, tb.Addr(), topic, b.N)
	sub := newSubscriber(b, tb.Addr(), "bench-"+watermill.NewShortUUID(), nil)
	b.SetBytes(benchPayload)
	b.ResetTimer()
	ch, err := sub.Subscribe(context.Background(), topic)
	if err != nil {
		b.Fatal(err)
	}
	var acking sync.WaitGroup
	timeout := time.After(5 * time.Minute)
	for range b.N {
		select {
		case m := <-ch:
			if goroutinePerMessage {
				acking.Go(func() { m.Ack() })
			} else {
				m.Ack()
			}
		case <-timeout:
			b.Fatal("timed out")
		}
	}
	acking.Wait()
}

// BenchmarkConsumeRawKafkaGo reads the same records with kafka-go's Reader in
// a consumer group, committing every second as Samnav does (kafka-go's
// CommitInterval; raw kafka-go has no per-message ack).
func BenchmarkConsumeRawKafkaGo(b *testing.B) {
	tb, topic := benchBroker(b)
	fill(b, tb.Addr(), topic, b.N)
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: []string{tb.Addr()}, Topic: topic, GroupID: "bench-" + watermill.NewShortUUID(),
		MinBytes: 1, MaxBytes: kafkago.DefaultFetchMaxBytes, MaxWait: kafkago.DefaultFetchMaxWait,
		CommitInterval: time.Second, StartOffset: kafka.FirstOffset, QueueCapacity: 1000,
		HeartbeatInterval: 100 * time.Millisecond,
	})
	defer r.Close()
	b.SetBytes(benchPayload)
	b.ResetTimer()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for range b.N {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if err := r.CommitMessages(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
}
