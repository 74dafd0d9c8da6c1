package kafkago

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/segmentio/kafka-go"
)

// BenchmarkDeliver measures what a partition consumer adds per fetched
// record, without a broker: unmarshal and the message's context (the
// fetcher's share, done here by deliver as on a redelivery), the hand-off to
// a subscriber goroutine and waiting for its Ack.
// Compare versions of the consume path with benchstat:
//
//	go test ./pkg/kafkago/ -run '^$' -bench Deliver -count 10
func BenchmarkDeliver(b *testing.B) {
	cfg := SubscriberConfig{}
	cfg.setDefaults()
	s := &Subscriber{cfg: cfg, logger: watermill.NopLogger{}}
	out := make(chan *message.Message)
	c := &committer{offsets: map[int]int64{}, dirty: map[int]bool{}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pc := partitionConsumer{s: s, topic: "t", partition: 0, subCtx: ctx, genCtx: ctx, out: out, commit: c}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m := range out {
			m.Ack()
		}
	}()
	km := kafka.Message{
		Topic: "t", Key: []byte(watermill.NewUUID()), Value: make([]byte, 100),
		Headers: []kafka.Header{{Key: UUIDHeader, Value: []byte(watermill.NewUUID())}},
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for i := 0; i < b.N; i++ {
		km.Offset = int64(i)
		if !pc.deliver(ctx, &km, prepared{}) {
			b.Fatal("deliver stopped")
		}
	}
	b.StopTimer()
	// CPU time of the process (both goroutines) is far less disturbed than
	// ns/op by other work on a shared machine.
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
	close(out)
	<-done
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
