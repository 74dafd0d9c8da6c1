package kafkago_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/samnav/samnav/pkg/embeddedkafka"
	"github.com/samnav/samnav/pkg/sdk/kafkago"
)

// restartCommand is the first argument of the test binary run as the
// Watermill suite's RestartServiceCommand: "<binary> restart-broker <url>"
// asks the test process that serves <url> to restart its broker.
const restartCommand = "restart-broker"

func TestMain(m *testing.M) {
	flag.Parse()
	if flag.Arg(0) == restartCommand {
		os.Exit(requestRestart(flag.Arg(1)))
	}
	os.Exit(m.Run())
}

func requestRestart(url string) int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "restart broker:", err)
		return 1
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, "restart broker:", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(os.Stderr, "restart broker: %s: %s\n", resp.Status, body)
		return 1
	}
	return 0
}

// testBroker is an embedded broker with a data directory that a test can
// restart on the same address, as a production broker restarts.
type testBroker struct {
	t   testing.TB
	cfg embeddedkafka.Config

	mu sync.Mutex
	b  *embeddedkafka.Broker
}

func startBroker(t testing.TB, cfg embeddedkafka.Config) *testBroker {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	}
	b, err := embeddedkafka.Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("start broker: %v", err)
	}
	cfg.Addr = b.Addr()
	cfg.Topics = nil
	tb := &testBroker{t: t, cfg: cfg, b: b}
	t.Cleanup(func() { tb.Stop() })
	return tb
}

func (tb *testBroker) Addr() string { return tb.cfg.Addr }

// Stop closes the broker, flushing its data directory.
func (tb *testBroker) Stop() {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if tb.b != nil {
		_ = tb.b.Close()
		tb.b = nil
	}
}

// Start starts a stopped broker again from its data directory.
func (tb *testBroker) Start() error {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if tb.b != nil {
		return nil
	}
	var err error
	for attempt := 0; attempt < 50; attempt++ { // the port may take a moment to free
		tb.b, err = embeddedkafka.Start(context.Background(), tb.cfg)
		if err == nil {
			return nil
		}
		tb.t.Logf("start broker attempt %d: %v", attempt, err)
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("restart broker on %s: %w", tb.cfg.Addr, err)
}

// Restart stops the broker and starts it again after down.
func (tb *testBroker) Restart(down time.Duration) error {
	tb.Stop()
	time.Sleep(down)
	return tb.Start()
}

// restartServer serves POST /restart for the suite's RestartServiceCommand
// and returns that command.
func (tb *testBroker) restartServer(t testing.TB) []string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	srv := &http.Server{
		ReadHeaderTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost {
				http.Error(w, "POST only", http.StatusMethodNotAllowed)
				return
			}
			if err := tb.Restart(200 * time.Millisecond); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			_, _ = io.WriteString(w, "restarted\n")
		}),
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return []string{os.Args[0], restartCommand, "http://" + ln.Addr().String() + "/restart"}
}

func testLogger() watermill.LoggerAdapter {
	if os.Getenv("KAFKAGO_TEST_LOG") != "" {
		return watermill.NewSlogLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})))
	}
	return watermill.NewSlogLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
}

// groupName derives a consumer group from a test's name, so that the
// subscribers of one test share a group and different tests never do.
func groupName(t testing.TB) string {
	return "g-" + strings.NewReplacer("/", ".", " ", "_").Replace(t.Name())
}

func newPublisher(t testing.TB, addr string, mod func(*kafkago.PublisherConfig)) *kafkago.Publisher {
	t.Helper()
	return newClient(t, "publisher", kafkago.PublisherConfig{Brokers: []string{addr}}, mod, kafkago.NewPublisher)
}

// newClient builds a publisher or subscriber from cfg changed by mod (if
// not nil), failing the test if it cannot, and closes it when the test
// ends.
func newClient[C any, T io.Closer](t testing.TB, what string, cfg C, mod func(*C), build func(C, watermill.LoggerAdapter) (T, error)) T {
	t.Helper()
	if mod != nil {
		mod(&cfg)
	}
	c, err := build(cfg, testLogger())
	if err != nil {
		t.Fatalf("new %s: %v", what, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// testSubscriberConfig is the subscriber configuration of the tests: the
// defaults, with faster heartbeats so that rebalances of many short-lived
// members settle in tests' time.
func testSubscriberConfig(addr, group string) kafkago.SubscriberConfig {
	return kafkago.SubscriberConfig{
		Brokers:           []string{addr},
		ConsumerGroup:     group,
		HeartbeatInterval: 100 * time.Millisecond,
		SessionTimeout:    6 * time.Second,
		CloseTimeout:      3 * time.Second,
		MaxBackoff:        time.Second,
	}
}

func newSubscriber(t testing.TB, addr, group string, mod func(*kafkago.SubscriberConfig)) *kafkago.Subscriber {
	t.Helper()
	return newClient(t, "subscriber", testSubscriberConfig(addr, group), mod, kafkago.NewSubscriber)
}

// activeMember is a broker with a one-partition topic, a publisher, and a
// subscriber that has received the topic's first record, so that it is an
// active member of its group with a partition assigned.
type activeMember struct {
	b     *testBroker
	topic string
	pub   *kafkago.Publisher
	sub   *kafkago.Subscriber
	ch    <-chan *message.Message
}

func startActiveMember(t *testing.T) activeMember {
	t.Helper()
	m := activeMember{b: startBroker(t, embeddedkafka.Config{})}
	m.topic = newTopic(t, m.b, 1)
	m.pub = newPublisher(t, m.b.Addr(), nil)
	publishN(t, m.pub, m.topic, 1, nil)
	m.sub = newSubscriber(t, m.b.Addr(), groupName(t), nil)
	m.ch = subscribe(t, m.sub, m.topic)
	receive(t, m.ch, 1, 15*time.Second)
	return m
}

// subscribe subscribes sub to topic, failing the test if it cannot.
func subscribe(t testing.TB, sub *kafkago.Subscriber, topic string) <-chan *message.Message {
	t.Helper()
	ch, err := sub.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatalf("subscribe to %s: %v", topic, err)
	}
	return ch
}
