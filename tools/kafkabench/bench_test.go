package kafkabench_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/samnav/samnav/tools/kafkabench"
)

var (
	flagN          = flag.Int("kafkabench.n", 100_000, "messages per publish run and per consume run")
	flagPayloads   = flag.String("kafkabench.payloads", "100,1024", "comma-separated payload sizes in bytes")
	flagPartitions = flag.Int("kafkabench.partitions", 3, "partitions of every topic")
	flagPublishers = flag.Int("kafkabench.publishers", 0, "concurrent publishing goroutines (0: the default of kafkabench.DefaultSettings)")
	flagSlice      = flag.Int("kafkabench.slice", 0, "messages per Publish call (0: the default of kafkabench.DefaultSettings)")
	flagWMKLinger  = flag.Bool("kafkabench.wmk-linger", false, "give watermill-kafka's Sarama producer the same batch size and linger as kafka-go (see WatermillKafka.Linger)")
	flagOnly       = flag.String("kafkabench.transports", "", "comma-separated transport names to run (empty: all)")
)

// result is one measured cell of the table.
type result struct {
	payload   int
	path      string
	transport string
	rate      float64 // messages per second
	first     time.Duration
}

// BenchmarkTransports publishes and consumes N messages of each payload size
// through every transport on one embedded broker, and prints a table of
// messages/s with each transport's ratio to raw kafka-go (the baseline) and
// to watermill-kafka. Every figure in the table comes from this one process
// and run; an iteration of a sub-benchmark is one full run of N messages.
func BenchmarkTransports(b *testing.B) {
	n := *flagN
	sizes, err := parseSizes(*flagPayloads)
	if err != nil {
		b.Fatal(err)
	}
	e := startEnv(b, *flagPartitions)
	s := e.settings()
	if *flagPublishers > 0 {
		s.Publishers = *flagPublishers
	}
	if *flagSlice > 0 {
		s.Slice = *flagSlice
	}
	if err := s.Validate(); err != nil {
		b.Fatal(err)
	}
	var transports []kafkabench.Transport
	for _, tr := range e.transports(s) {
		if wmk, ok := tr.(*kafkabench.WatermillKafka); ok {
			wmk.Linger = *flagWMKLinger
		}
		if *flagOnly == "" || contains(strings.Split(*flagOnly, ","), tr.Name()) {
			transports = append(transports, tr)
		}
	}
	ctx := context.Background()
	var (
		results []result
		seq     int
	)
	for _, size := range sizes {
		payload := randomPayload(size)
		for _, tr := range transports {
			b.Run(fmt.Sprintf("payload=%dB/path=publish/transport=%s", size, tr.Name()), func(b *testing.B) {
				var elapsed time.Duration
				for range b.N {
					seq++
					topic := fmt.Sprintf("publish-%d-%s-%d", size, tr.Name(), seq)
					err := e.publishOnce(ctx, tr, topic, payload, n, func(f func() error) error {
						b.StartTimer()
						start := time.Now()
						err := f()
						elapsed += time.Since(start)
						b.StopTimer()
						return err
					})
					if err != nil {
						b.Fatal(err)
					}
				}
				rate := float64(n*b.N) / elapsed.Seconds()
				results = upsert(results, result{payload: size, path: "publish", transport: tr.Name(), rate: rate})
				reportRatios(b, results, size, "publish", rate)
			})
		}
		var prefill sync.Once
		consumeTopic := fmt.Sprintf("consume-%d", size)
		for _, tr := range transports {
			b.Run(fmt.Sprintf("payload=%dB/path=consume/transport=%s", size, tr.Name()), func(b *testing.B) {
				b.StopTimer()
				prefill.Do(func() {
					if err := e.prefill(ctx, consumeTopic, payload, n); err != nil {
						b.Fatal(err)
					}
				})
				var elapsed, first time.Duration
				for range b.N {
					seq++
					group := fmt.Sprintf("group-%s-%d", tr.Name(), seq)
					runtime.GC() // start every run from the same heap state
					b.StartTimer()
					res, err := e.consumeOnce(ctx, tr, consumeTopic, group, n, size)
					b.StopTimer()
					if err != nil {
						b.Fatal(err)
					}
					elapsed += res.LastAck
					first += res.FirstMessage
				}
				rate := float64(n*b.N) / elapsed.Seconds()
				results = upsert(results, result{payload: size, path: "consume", transport: tr.Name(), rate: rate, first: first / time.Duration(b.N)})
				b.ReportMetric(float64((first / time.Duration(b.N)).Milliseconds()), "first-msg-ms")
				reportRatios(b, results, size, "consume", rate)
			})
		}
	}
	printTable(os.Stdout, results, n, s, *flagPartitions)
}

// reportRatios reports rate against the baselines already measured in this
// run for the same payload and path.
func reportRatios(b *testing.B, results []result, size int, path string, rate float64) {
	b.ReportMetric(rate, "msgs/s")
	b.ReportMetric(0, "ns/op") // one op is a whole run of N messages; msgs/s is the figure
	for _, base := range []string{"kafkago", "watermill-kafka"} {
		if r, ok := find(results, size, path, base); ok {
			b.ReportMetric(rate/r.rate, "x-"+base)
		}
	}
}

func printTable(w io.Writer, results []result, n int, s kafkabench.Settings, partitions int) {
	if len(results) == 0 {
		return
	}
	fmt.Fprintf(w, "\nkafkabench: N=%d messages per run, %d partitions, %d publishers x %d messages per Publish, acks=all, batch %d msgs / %d B / linger %s, commit every %s, GOMAXPROCS=%d\n",
		n, partitions, s.Publishers, s.Slice, s.BatchSize, s.BatchBytes, s.Linger, s.CommitInterval, runtime.GOMAXPROCS(0))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "payload\tpath\ttransport\tmsgs/s\tx kafkago\tx watermill-kafka\tfirst msg\t")
	for _, r := range results {
		ratio := func(base string) string {
			if b, ok := find(results, r.payload, r.path, base); ok {
				return fmt.Sprintf("%.2f", r.rate/b.rate)
			}
			return "-"
		}
		first := "-"
		if r.path == "consume" {
			first = r.first.Round(time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%dB\t%s\t%s\t%.0f\t%s\t%s\t%s\t\n", r.payload, r.path, r.transport, r.rate, ratio("kafkago"), ratio("watermill-kafka"), first)
	}
	_ = tw.Flush()
}

func upsert(results []result, r result) []result {
	for i, old := range results {
		if old.payload == r.payload && old.path == r.path && old.transport == r.transport {
			results[i] = r
			return results
		}
	}
	return append(results, r)
}

func find(results []result, size int, path, transport string) (result, bool) {
	for _, r := range results {
		if r.payload == size && r.path == path && r.transport == transport {
			return r, true
		}
	}
	return result{}, false
}

func parseSizes(s string) ([]int, error) {
	var sizes []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 1 {
			return nil, fmt.Errorf("-kafkabench.payloads: %q is not a positive size in bytes", f)
		}
		sizes = append(sizes, v)
	}
	return sizes, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if strings.TrimSpace(v) == s {
			return true
		}
	}
	return false
}
