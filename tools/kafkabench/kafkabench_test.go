package kafkabench_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// TestTransports checks every harness end to end with few messages: what is
// published arrives complete, and what is consumed is acked and committed.
// The benchmark runs the same checks; this keeps them honest in `make test`.
func TestTransports(t *testing.T) {
	const n = 500
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e := startEnv(t, 3)
	payload := randomPayload(100)
	if err := e.prefill(ctx, "consume", payload, n); err != nil {
		t.Fatal(err)
	}
	for _, tr := range e.transports(e.settings()) {
		t.Run(tr.Name(), func(t *testing.T) {
			err := e.publishOnce(ctx, tr, "publish-"+tr.Name(), payload, n, func(f func() error) error { return f() })
			if err != nil {
				t.Fatalf("publish: %v", err)
			}
			res, err := e.consumeOnce(ctx, tr, "consume", "group-"+tr.Name(), n, len(payload))
			if err != nil {
				t.Fatalf("consume: %v", err)
			}
			if res.FirstMessage <= 0 || res.LastAck < res.FirstMessage {
				t.Fatalf("consume timings: first message %s, last ack %s", res.FirstMessage, res.LastAck)
			}
		})
	}
}

// TestConsumeRejectsWrongPayload proves the consume check can fail: a
// transport told to expect another payload size reports it.
func TestConsumeRejectsWrongPayload(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e := startEnv(t, 3)
	if err := e.prefill(ctx, "consume", randomPayload(10), 10); err != nil {
		t.Fatal(err)
	}
	for i, tr := range e.transports(e.settings()) {
		if _, err := tr.Consume(ctx, "consume", fmt.Sprintf("g%d", i), 10, 11); err == nil {
			t.Errorf("%s: consumed 10-byte payloads while expecting 11 bytes without error", tr.Name())
		}
	}
}

// TestBrokerInItsOwnProcess: with -kafkabench.broker=process the broker runs
// in a child process that the clients reach over TCP, whose CPU time is
// counted, and that stops with the test.
func TestBrokerInItsOwnProcess(t *testing.T) {
	addr, pid := startBrokerProcess(t, 3)
	e := &env{addr: addr, brokerPID: pid, partitions: 3, admin: &kafka.Client{Addr: kafka.TCP(addr), Timeout: 30 * time.Second}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.prefill(ctx, "own-process", randomPayload(100), 20_000); err != nil {
		t.Fatal(err)
	}
	if pid == os.Getpid() {
		t.Fatalf("broker pid %d is this process", pid)
	}
	if cpu := e.brokerCPU(); cpu <= 0 {
		t.Errorf("broker process CPU %v after taking 20,000 records, want > 0", cpu)
	}
}
