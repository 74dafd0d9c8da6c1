package kafkago

import (
	"sync"
	"syscall"
	"testing"
	"time"

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
	h := newDispatchHarness(b, partitions, nil)
	// Each partition gets its share of b.N records while the consumer below
	// runs.
	payload := make([]byte, 100)
	for p := range partitions {
		h.feed(p, 0, b.N/partitions+1, func(km *kafka.Message) { km.Value = payload })
	}

	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	if loop {
		for range b.N {
			(<-h.out).Ack()
		}
	} else {
		var acking sync.WaitGroup
		for range b.N {
			m := <-h.out
			acking.Go(func() { m.Ack() })
		}
		acking.Wait()
	}
	b.StopTimer()
	// CPU time of the process (all goroutines) is far less disturbed than
	// ns/op by other work on a shared machine. It includes the feeders'
	// unmarshalling, done ahead as the fetchers do.
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
