package kafkabench_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/samnav/samnav/pkg/embeddedkafka"
	"github.com/samnav/samnav/pkg/sdk/kafkatopics"
	"github.com/samnav/samnav/tools/kafkabench"
)

var flagBroker = flag.String("kafkabench.broker", "inprocess",
	`where the embedded broker runs: "process", a child process of its own as a real broker is, or "inprocess", in the benchmark's process`)

// env is one embedded broker with an admin client, shared by every
// transport of a run.
//
// The broker runs in the benchmark's process by default, or with
// -kafkabench.broker=process in a child process (this test binary again,
// running TestBrokerProcess), as a real broker runs apart from its
// clients. In the benchmark's process the broker's heap is the clients'
// heap too: a client that allocates enough to start a garbage collection
// pays for marking the broker's records, and one that stays just under the
// threshold pays nothing. Measured at N=1M with both consume topics kept for
// the whole run (1.7 GB live): raw kafka-go's 100 B consume ran without a
// collection and Samnav's with one, every round (runtime.MemStats.NumGC
// around each run). BenchmarkTransports therefore keeps a consume topic only
// while its payload's runs last. A broker process of its own removes the
// effect, but on two cores two Go runtimes compete for them and the
// figures scatter more (docs/benchmarks.md).
type env struct {
	addr       string
	admin      *kafka.Client
	partitions int
	// brokerPID is the broker's process, 0 if it runs in this one.
	brokerPID int
}

func startEnv(tb testing.TB, partitions int) *env {
	tb.Helper()
	e := &env{partitions: partitions}
	switch *flagBroker {
	case "process":
		e.addr, e.brokerPID = startBrokerProcess(tb, partitions)
	case "inprocess":
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		broker, err := embeddedkafka.Start(ctx, embeddedkafka.Config{DefaultPartitions: partitions})
		if err != nil {
			tb.Fatalf("start embedded broker: %v", err)
		}
		tb.Cleanup(func() { _ = broker.Close() })
		e.addr = broker.Addr()
	default:
		tb.Fatalf("-kafkabench.broker: must be process or inprocess, got %q", *flagBroker)
	}
	e.admin = &kafka.Client{Addr: kafka.TCP(e.addr), Timeout: 30 * time.Second}
	return e
}

// brokerProcessEnv, set to a partition count, makes TestBrokerProcess run
// the broker.
const brokerProcessEnv = "KAFKABENCH_BROKER_PARTITIONS"

// brokerAddrLine prefixes the line on which the broker process says where
// it listens.
const brokerAddrLine = "kafkabench-broker-addr: "

// startBrokerProcess runs the embedded broker in a child process and
// returns its address and process id. The child stops when its stdin
// closes, at the end of the test or benchmark.
func startBrokerProcess(tb testing.TB, partitions int) (string, int) {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestBrokerProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), brokerProcessEnv+"="+strconv.Itoa(partitions))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start broker process: %v", err)
	}
	tb.Cleanup(func() {
		_ = stdin.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				tb.Errorf("broker process: %v", err)
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			tb.Errorf("broker process did not stop within 30s of its stdin closing; killed")
		}
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), brokerAddrLine); ok {
				addr <- a
			}
		}
	}()
	select {
	case a := <-addr:
		return a, cmd.Process.Pid
	case <-time.After(30 * time.Second):
		tb.Fatal("broker process did not report its address within 30s")
		return "", 0
	}
}

// TestBrokerProcess is the broker of startBrokerProcess; run on its own it
// skips.
func TestBrokerProcess(t *testing.T) {
	partitions, err := strconv.Atoi(os.Getenv(brokerProcessEnv))
	if err != nil {
		t.Skip("runs only as the benchmark's broker process")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	broker, err := embeddedkafka.Start(ctx, embeddedkafka.Config{DefaultPartitions: partitions})
	if err != nil {
		t.Fatalf("start embedded broker: %v", err)
	}
	defer broker.Close()
	fmt.Printf("%s%s\n", brokerAddrLine, broker.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin) // until the benchmark closes it
}

// cpu returns the CPU time (user and system) used so far by this process
// and by the broker's, if it has its own.
func (e *env) cpu() time.Duration {
	return processCPU() + e.brokerCPU()
}

// brokerCPU reads the broker process's CPU time from /proc (in clock ticks
// of 10 ms: USER_HZ is 100 on Linux); 0 if the broker runs in this process
// or /proc cannot be read.
func (e *env) brokerCPU() time.Duration {
	if e.brokerPID == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", e.brokerPID))
	if err != nil {
		return 0
	}
	// Fields after the command (in parentheses, which may hold spaces):
	// state is field 3, utime 14 and stime 15.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * (time.Second / 100)
}

func (e *env) settings() kafkabench.Settings {
	return kafkabench.DefaultSettings([]string{e.addr})
}

// transports returns every transport under comparison, the baseline
// (raw kafka-go) first.
func (e *env) transports(s kafkabench.Settings) []kafkabench.Transport {
	return []kafkabench.Transport{
		&kafkabench.RawKafkaGo{Settings: s},
		&kafkabench.Samnav{Settings: s},
		&kafkabench.WatermillKafka{Settings: s},
	}
}

func (e *env) createTopic(ctx context.Context, name string) error {
	return kafkatopics.Ensure(ctx, e.admin, kafkatopics.Spec{Name: name, Partitions: e.partitions})
}

func (e *env) deleteTopic(ctx context.Context, name string) error {
	resp, err := e.admin.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: []string{name}})
	if err != nil {
		return fmt.Errorf("delete topic %q: %w", name, err)
	}
	return errors.Join(resp.Errors[name])
}

// endOffsets returns the sum of the end offsets of topic's partitions: the
// number of messages it holds.
func (e *env) endOffsets(ctx context.Context, topic string) (int64, error) {
	reqs := make([]kafka.OffsetRequest, e.partitions)
	for p := range reqs {
		reqs[p] = kafka.LastOffsetOf(p)
	}
	resp, err := e.admin.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return 0, fmt.Errorf("list offsets of %q: %w", topic, err)
	}
	var sum int64
	for _, p := range resp.Topics[topic] {
		if p.Error != nil {
			return 0, fmt.Errorf("list offsets of %q partition %d: %w", topic, p.Partition, p.Error)
		}
		sum += p.LastOffset
	}
	return sum, nil
}

// committed returns the sum of group's committed offsets on topic.
func (e *env) committed(ctx context.Context, group, topic string) (int64, error) {
	parts := make([]int, e.partitions)
	for p := range parts {
		parts[p] = p
	}
	resp, err := e.admin.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
	if err != nil {
		return 0, fmt.Errorf("fetch offsets of group %q: %w", group, err)
	}
	if resp.Error != nil {
		return 0, fmt.Errorf("fetch offsets of group %q: %w", group, resp.Error)
	}
	var sum int64
	for _, p := range resp.Topics[topic] {
		if p.Error != nil {
			return 0, fmt.Errorf("fetch offsets of group %q partition %d: %w", group, p.Partition, p.Error)
		}
		if p.CommittedOffset > 0 {
			sum += p.CommittedOffset
		}
	}
	return sum, nil
}

// prefill creates topic and fills it with n messages of payload through raw
// kafka-go, for the consume benchmarks (not measured).
func (e *env) prefill(ctx context.Context, topic string, payload []byte, n int) error {
	if err := e.createTopic(ctx, topic); err != nil {
		return err
	}
	s := e.settings()
	s.Slice = 1000
	s.BatchSize = 1000
	s.Publishers = 4
	run, err := (&kafkabench.RawKafkaGo{Settings: s}).Publisher(ctx, topic, payload, n)
	if err != nil {
		return fmt.Errorf("prefill %q: %w", topic, err)
	}
	err = run.Publish(ctx)
	if cerr := run.Close(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	if err != nil {
		return fmt.Errorf("prefill %q: %w", topic, err)
	}
	got, err := e.endOffsets(ctx, topic)
	if err != nil {
		return err
	}
	if got != int64(n) {
		return fmt.Errorf("prefill %q: topic holds %d messages, want %d", topic, got, n)
	}
	return nil
}

// publishOnce publishes n messages of payload through tr to a fresh topic and
// checks the topic holds exactly n afterwards. It returns the time of the
// Publish call alone.
func (e *env) publishOnce(ctx context.Context, tr kafkabench.Transport, topic string, payload []byte, n int, timed func(func() error) error) error {
	if err := e.createTopic(ctx, topic); err != nil {
		return err
	}
	run, err := tr.Publisher(ctx, topic, payload, n)
	if err != nil {
		return err
	}
	err = timed(func() error { return run.Publish(ctx) })
	if cerr := run.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("close publisher: %w", cerr))
	}
	if err != nil {
		return err
	}
	got, err := e.endOffsets(ctx, topic)
	if err != nil {
		return err
	}
	if got != int64(n) {
		return fmt.Errorf("%s published %d messages to %q, want %d", tr.Name(), got, topic, n)
	}
	// Free the broker's memory: it keeps every topic in RAM.
	return e.deleteTopic(ctx, topic)
}

// uncommittedOnClose is, per transport, how many acked messages per
// partition may be left uncommitted when the subscriber closes right after
// the last Ack. watermill-kafka marks an offset in its partition goroutine
// after Ack returns, so a Close that follows the last Ack can win the race
// and the last message of a partition is delivered again on the next start
// (at-least-once, but not "everything acked is committed").
var uncommittedOnClose = map[string]int{"watermill-kafka": 1}

// consumeOnce consumes the n messages of topic with tr in group and checks
// that the group committed all n once the transport closed (less the
// transport's documented uncommittedOnClose).
func (e *env) consumeOnce(ctx context.Context, tr kafkabench.Transport, topic, group string, n, payloadSize int) (kafkabench.ConsumeResult, error) {
	res, err := tr.Consume(ctx, topic, group, n, payloadSize)
	if err != nil {
		return res, fmt.Errorf("%s consume: %w", tr.Name(), err)
	}
	got, err := e.committed(ctx, group, topic)
	if err != nil {
		return res, err
	}
	short := int64(n) - got
	if short < 0 || short > int64(uncommittedOnClose[tr.Name()]*e.partitions) {
		return res, fmt.Errorf("%s: group %q committed %d of %d messages after close", tr.Name(), group, got, n)
	}
	return res, nil
}

func randomPayload(size int) []byte {
	p := make([]byte, size)
	_, _ = rand.Read(p)
	return p
}
