package kafkabench_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/samnav/samnav/pkg/embeddedkafka"
	"github.com/samnav/samnav/pkg/kafkatopics"
	"github.com/samnav/samnav/tools/kafkabench"
)

// env is one embedded broker with an admin client, shared by every
// transport of a run.
type env struct {
	broker     *embeddedkafka.Broker
	admin      *kafka.Client
	partitions int
}

func startEnv(tb testing.TB, partitions int) *env {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	broker, err := embeddedkafka.Start(ctx, embeddedkafka.Config{DefaultPartitions: partitions})
	if err != nil {
		tb.Fatalf("start embedded broker: %v", err)
	}
	tb.Cleanup(func() { _ = broker.Close() })
	return &env{
		broker:     broker,
		admin:      &kafka.Client{Addr: kafka.TCP(broker.Addr()), Timeout: 30 * time.Second},
		partitions: partitions,
	}
}

func (e *env) settings() kafkabench.Settings {
	return kafkabench.DefaultSettings([]string{e.broker.Addr()})
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
