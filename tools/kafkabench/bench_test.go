package kafkabench_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/samnav/samnav/tools/kafkabench"
)

var (
	flagN          = flag.Int("kafkabench.n", envInt("KAFKABENCH_N", 100_000), "messages per publish run and per consume run (default from $KAFKABENCH_N, else 100000)")
	flagPayloads   = flag.String("kafkabench.payloads", "100,1024", "comma-separated payload sizes in bytes")
	flagPartitions = flag.Int("kafkabench.partitions", 3, "partitions of every topic")
	flagPublishers = flag.Int("kafkabench.publishers", 0, "concurrent publishing goroutines (0: the default of kafkabench.DefaultSettings)")
	flagSlice      = flag.Int("kafkabench.slice", 0, "messages per Publish call (0: the default of kafkabench.DefaultSettings)")
	flagQueue      = flag.Int("kafkabench.queue", 0, "raw kafka-go Reader.QueueCapacity (0: the default of kafkabench.DefaultSettings)")
	flagWMKLinger  = flag.Bool("kafkabench.wmk-linger", false, "give watermill-kafka's Sarama producer the same batch size and linger as kafka-go (see WatermillKafka.Linger)")
	flagRounds     = flag.Int("kafkabench.rounds", envInt("KAFKABENCH_ROUNDS", 3), "times the whole sequence of runs is repeated; the table gives medians (default from $KAFKABENCH_ROUNDS, else 3)")
	flagOnly       = flag.String("kafkabench.transports", "", "comma-separated transport names to run (empty: all)")
)

// result is one measured cell of the table in one round.
type result struct {
	round     int
	payload   int
	path      string
	transport string
	rate      float64 // messages per second
	// cpuPerMsg is the CPU time (user and system, all threads of the
	// benchmark's process and of the broker's) per message: far less
	// disturbed by other load on the machine than the wall-clock rate.
	cpuPerMsg time.Duration
	first     time.Duration
}

// BenchmarkTransports publishes and consumes N messages of each payload size
// through every transport on one embedded broker, and prints a table of
// messages/s with each transport's ratio to raw kafka-go (the baseline) and
// to watermill-kafka. Every figure in the table comes from this one process;
// an iteration of a sub-benchmark is one full run of N messages.
//
// With -kafkabench.rounds R, the whole sequence (every payload, path and
// transport) is run R times in a row, and the table gives, per cell, the
// median rate over the rounds and the median of the per-round ratios: each
// per-round ratio compares runs made seconds apart, which is what survives a
// machine shared with other work.
func BenchmarkTransports(b *testing.B) {
	n := *flagN
	sizes, err := parseSizes(*flagPayloads)
	if err != nil {
		b.Fatal(err)
	}
	if *flagRounds < 1 {
		b.Fatalf("-kafkabench.rounds: must be at least 1, got %d", *flagRounds)
	}
	e := startEnv(b, *flagPartitions)
	s := e.settings()
	if *flagPublishers > 0 {
		s.Publishers = *flagPublishers
	}
	if *flagSlice > 0 {
		s.Slice = *flagSlice
	}
	if *flagQueue > 0 {
		s.QueueCapacity = *flagQueue
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
	payloads := make(map[int][]byte, len(sizes))
	for _, size := range sizes {
		payloads[size] = randomPayload(size)
	}
	for round := 1; round <= *flagRounds; round++ {
		// Each round starts with another transport: whichever runs first
		// after a change of path or payload was seen to pay for what came
		// before (garbage, broker state), and rotation spreads that.
		order := append(slices.Clone(transports[(round-1)%len(transports):]), transports[:(round-1)%len(transports)]...)
		for _, size := range sizes {
			payload := payloads[size]
			// The consume topic of a payload size lives only while its runs
			// do, and is filled before any of them, so that no transport's
			// run follows the broker's intake of N fresh records. With the
			// broker in this process, its records are the clients' heap
			// too: a consume topic kept for the whole benchmark (1.7 GB
			// for both sizes at N=1M) made the garbage collector's work
			// depend on whether a run allocated just enough to start a
			// collection, which marked all of it (see env).
			topic := consumeTopic(size, round)
			if err := e.prefill(ctx, topic, payload, n); err != nil {
				b.Fatal(err)
			}
			for _, tr := range order {
				b.Run(fmt.Sprintf("payload=%dB/path=publish/transport=%s", size, tr.Name()), func(b *testing.B) {
					var elapsed, cpu time.Duration
					for range b.N {
						seq++
						topic := fmt.Sprintf("publish-%d-%s-%d", size, tr.Name(), seq)
						runtime.GC() // start every run from the same heap state
						err := e.publishOnce(ctx, tr, topic, payload, n, func(f func() error) error {
							b.StartTimer()
							start, cpu0 := time.Now(), e.cpu()
							err := f()
							elapsed += time.Since(start)
							cpu += e.cpu() - cpu0
							b.StopTimer()
							return err
						})
						if err != nil {
							b.Fatal(err)
						}
					}
					r := result{round: round, payload: size, path: "publish", transport: tr.Name(), rate: float64(n*b.N) / elapsed.Seconds(), cpuPerMsg: cpu / time.Duration(n*b.N)}
					results = upsert(results, r)
					reportRatios(b, results, r)
				})
			}
			for _, tr := range order {
				b.Run(fmt.Sprintf("payload=%dB/path=consume/transport=%s", size, tr.Name()), func(b *testing.B) {
					b.StopTimer()
					var elapsed, first, cpu time.Duration
					for range b.N {
						seq++
						group := fmt.Sprintf("group-%s-%d", tr.Name(), seq)
						runtime.GC()
						b.StartTimer()
						cpu0 := e.cpu()
						res, err := e.consumeOnce(ctx, tr, topic, group, n, size)
						cpu += e.cpu() - cpu0
						b.StopTimer()
						if err != nil {
							b.Fatal(err)
						}
						elapsed += res.LastAck
						first += res.FirstMessage
					}
					r := result{round: round, payload: size, path: "consume", transport: tr.Name(), rate: float64(n*b.N) / elapsed.Seconds(), first: first / time.Duration(b.N), cpuPerMsg: cpu / time.Duration(n*b.N)}
					results = upsert(results, r)
					b.ReportMetric(float64(r.first.Milliseconds()), "first-msg-ms")
					reportRatios(b, results, r)
				})
			}
			if err := e.deleteTopic(ctx, topic); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := printTable(os.Stdout, results, n, *flagRounds, s, *flagPartitions); err != nil {
		b.Error(err)
	}
}

// consumeTopic is the topic holding the N pre-produced records of size in
// a round.
func consumeTopic(size, round int) string { return fmt.Sprintf("consume-%d-%d", size, round) }

// baselines are the transports every other one is compared with.
var baselines = []string{"kafkago", "watermill-kafka"}

// reportRatios reports r against the baselines already measured in the same
// round for the same payload and path.
func reportRatios(b *testing.B, results []result, r result) {
	b.ReportMetric(r.rate, "msgs/s")
	b.ReportMetric(float64(r.cpuPerMsg.Nanoseconds()), "cpu-ns/msg")
	b.ReportMetric(0, "ns/op") // one op is a whole run of N messages; msgs/s is the figure
	for _, base := range baselines {
		if br, ok := find(results, r.round, r.payload, r.path, base); ok {
			b.ReportMetric(r.rate/br.rate, "x-"+base)
		}
	}
}

// printTable prints one line per payload, path and transport: the median
// rate over the rounds with its range, and the median over the rounds of the
// ratio to each baseline.
func printTable(w io.Writer, results []result, n, rounds int, s kafkabench.Settings, partitions int) error {
	if len(results) == 0 {
		return nil
	}
	var out strings.Builder
	fmt.Fprintf(&out, "\nkafkabench: N=%d messages per run, %d round(s), %d partitions, %d publishers x %d messages per Publish, acks=all, batch %d msgs / %d B / linger %s, commit every %s, GOMAXPROCS=%d\n",
		n, rounds, partitions, s.Publishers, s.Slice, s.BatchSize, s.BatchBytes, s.Linger, s.CommitInterval, runtime.GOMAXPROCS(0))
	tw := tabwriter.NewWriter(&out, 0, 0, 2, ' ', tabwriter.AlignRight)
	// tw writes into out, a strings.Builder, which cannot fail; Flush
	// reports anything else.
	_, _ = fmt.Fprintln(tw, "payload\tpath\ttransport\tmsgs/s (median)\tmin..max\tx kafkago\tx watermill-kafka\tcpu/msg\tcpu x kafkago\tfirst msg\t")
	type cell struct {
		payload         int
		path, transport string
	}
	var cells []cell
	seen := map[cell]bool{}
	for _, r := range results {
		c := cell{r.payload, r.path, r.transport}
		if !seen[c] {
			seen[c] = true
			cells = append(cells, c)
		}
	}
	for _, c := range cells {
		var rates, firsts, cpus []float64
		ratios := map[string][]float64{}
		var cpuRatios []float64
		for _, r := range results {
			if r.payload != c.payload || r.path != c.path || r.transport != c.transport {
				continue
			}
			rates = append(rates, r.rate)
			firsts = append(firsts, float64(r.first))
			cpus = append(cpus, float64(r.cpuPerMsg))
			if br, ok := find(results, r.round, r.payload, r.path, "kafkago"); ok && br.cpuPerMsg > 0 {
				cpuRatios = append(cpuRatios, float64(r.cpuPerMsg)/float64(br.cpuPerMsg))
			}
			for _, base := range baselines {
				if br, ok := find(results, r.round, r.payload, r.path, base); ok {
					ratios[base] = append(ratios[base], r.rate/br.rate)
				}
			}
		}
		ratio := func(base string) string {
			if len(ratios[base]) == 0 {
				return "-"
			}
			return fmt.Sprintf("%.2f", median(ratios[base]))
		}
		first := "-"
		if c.path == "consume" {
			first = time.Duration(median(firsts)).Round(time.Millisecond).String()
		}
		cpuRatio := "-"
		if len(cpuRatios) > 0 {
			cpuRatio = fmt.Sprintf("%.2f", median(cpuRatios))
		}
		_, _ = fmt.Fprintf(tw, "%dB\t%s\t%s\t%.0f\t%.0f..%.0f\t%s\t%s\t%s\t%s\t%s\t\n", c.payload, c.path, c.transport,
			median(rates), slices.Min(rates), slices.Max(rates), ratio("kafkago"), ratio("watermill-kafka"),
			time.Duration(median(cpus)).Round(10*time.Nanosecond), cpuRatio, first)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("print table: %w", err)
	}
	if _, err := io.WriteString(w, out.String()); err != nil {
		return fmt.Errorf("print table: %w", err)
	}
	return nil
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func upsert(results []result, r result) []result {
	for i, old := range results {
		if old.round == r.round && old.payload == r.payload && old.path == r.path && old.transport == r.transport {
			results[i] = r
			return results
		}
	}
	return append(results, r)
}

func find(results []result, round, size int, path, transport string) (result, bool) {
	for _, r := range results {
		if r.round == round && r.payload == size && r.path == path && r.transport == transport {
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

// processCPU returns the user and system CPU time the process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// envInt returns the integer in the environment variable name, or def. The
// environment lets `make bench`, which runs every module's benchmarks with
// the same flags, pass settings to this module alone.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}
