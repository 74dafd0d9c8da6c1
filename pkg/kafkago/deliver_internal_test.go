package kafkago

import (
	"context"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/segmentio/kafka-go"
)

// BenchmarkDispatch measures what the dispatcher adds per record, without a
// broker: three partitions fed with records already fetched and
// unmarshalled (the fetchers' share), handed to a consumer and Acked.
//
//   - loop: one goroutine receives and Acks each message, then receives
//     again (kafkabench's consumer);
//   - goroutine-per-message: the receiving goroutine hands each message to
//     a new goroutine that Acks it (Samnav's SDK, Watermill's router).
//
// Compare versions of the consume path with benchstat:
//
//	go test ./pkg/kafkago/ -run '^$' -bench Dispatch -count 10
func BenchmarkDispatch(b *testing.B) {
	for _, style := range []string{"loop", "goroutine-per-message"} {
		b.Run(style, func(b *testing.B) {
			benchDispatch(b, 3, style == "loop")
		})
	}
}

func benchDispatch(b *testing.B, partitions int, loop bool) {
	cfg := SubscriberConfig{}
	cfg.setDefaults()
	s := &Subscriber{cfg: cfg, logger: watermill.NopLogger{}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make(chan *message.Message)
	assigned := make([]kafka.PartitionAssignment, partitions)
	for i := range assigned {
		assigned[i] = kafka.PartitionAssignment{ID: i}
	}
	d := newDispatcher(s, "t", ctx, out, assigned)

	// Feed each partition its share of b.N records, a chunk at a time, as
	// its fetcher would.
	per := b.N/partitions + 1
	var feeding sync.WaitGroup
	for _, p := range d.parts {
		feeding.Go(func() {
			for lo := 0; lo < per; lo += chunkSize {
				batch := make([]kafka.Message, min(chunkSize, per-lo))
				for i := range batch {
					batch[i] = kafka.Message{
						Topic: "t", Partition: p.id, Offset: int64(lo + i), Value: make([]byte, 100),
						Headers: []kafka.Header{{Key: UUIDHeader, Value: []byte(watermill.NewUUID())}},
					}
				}
				if !p.f.handOver(ctx, batch) {
					return
				}
			}
		})
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.loop(ctx.Done())
	}()

	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	if loop {
		for range b.N {
			(<-out).Ack()
		}
	} else {
		var acking sync.WaitGroup
		for range b.N {
			m := <-out
			acking.Go(func() { m.Ack() })
		}
		acking.Wait()
	}
	b.StopTimer()
	// CPU time of the process (all goroutines) is far less disturbed than
	// ns/op by other work on a shared machine. It includes the feeders'
	// unmarshalling, done ahead as the fetchers do.
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
	cancel()
	<-done
	feeding.Wait()
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
