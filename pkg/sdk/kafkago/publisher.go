// Package kafkago is Samnav's Kafka transport for Watermill, on
// segmentio/kafka-go: a Publisher that returns only once Kafka acknowledged
// every message (acks=all by default) while batching concurrent Publish calls
// together, and a Subscriber that reads the partitions of a consumer group
// concurrently, keeps order within each partition, and commits an offset only
// after the message at it, and every message before it in its partition, was
// acknowledged.
//
// It speaks the Kafka protocol through kafka-go's version-negotiating
// transport and consumer group, so the same code runs against the embedded
// broker, Apache Kafka 3.x and Apache Kafka 4.x.
package kafkago

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/segmentio/kafka-go"

	"github.com/samnav/samnav/pkg/sdk/backoff"
	"github.com/samnav/samnav/pkg/sdk/configcheck"
	"github.com/samnav/samnav/pkg/sdk/kafkaauth"
)

// Acks is how many replicas must have a record before the broker
// acknowledges it (kafkaauth.Acks: one definition for every producer).
type Acks = kafkaauth.Acks

const (
	// AcksAll waits for every in-sync replica (acks=all). The default:
	// nothing acknowledged is lost when one broker dies.
	AcksAll = kafkaauth.AcksAll
	// AcksLeader waits for the partition leader only (acks=1).
	AcksLeader = kafkaauth.AcksLeader
	// AcksNone does not wait (acks=0): Publish cannot know whether Kafka
	// stored anything. Only for data one can afford to lose.
	AcksNone = kafkaauth.AcksNone
)

// Publisher defaults. They favour throughput without giving up latency: a
// batch leaves when it holds DefaultBatchSize messages or DefaultBatchBytes,
// or DefaultBatchTimeout after its first message, whichever comes first.
const (
	DefaultBatchSize    = 1000
	DefaultBatchBytes   = 1 << 20
	DefaultBatchTimeout = 5 * time.Millisecond
	DefaultWriteTimeout = 10 * time.Second
	DefaultMaxAttempts  = 10
	DefaultMinBackoff   = 100 * time.Millisecond
	DefaultMaxBackoff   = 2 * time.Second
)

// PublisherConfig configures a Publisher. Zero values take the defaults named
// on each field.
type PublisherConfig struct {
	// Brokers are the bootstrap addresses, host:port. Required.
	Brokers []string
	// RequiredAcks defaults to AcksAll.
	RequiredAcks Acks
	// BatchSize is the most messages per partition batch; default
	// DefaultBatchSize.
	BatchSize int
	// BatchBytes is the largest batch per partition in bytes, and so also the
	// largest single message the publisher sends; default DefaultBatchBytes.
	// Keep it at or below the topics' max.message.bytes.
	BatchBytes int64
	// BatchTimeout is how long a batch waits to fill before it is sent;
	// default DefaultBatchTimeout.
	BatchTimeout time.Duration
	// Compression is one of "" or "none", "gzip", "snappy", "lz4", "zstd".
	Compression string
	// Marshaler maps messages to records; default DefaultMarshaler.
	Marshaler Marshaler
	// WriteTimeout bounds one produce request; default DefaultWriteTimeout.
	WriteTimeout time.Duration
	// MaxAttempts is how often a message is tried before Publish gives up on
	// a retryable error; default DefaultMaxAttempts. Permanent errors are
	// never retried.
	MaxAttempts int
	// MinBackoff and MaxBackoff bound the wait between attempts (capped
	// exponential with jitter); defaults DefaultMinBackoff, DefaultMaxBackoff.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// AllowAutoTopicCreation asks the broker to create unknown topics (it
	// still must have auto.create.topics.enable). Off: Samnav creates its
	// topics explicitly, and publishing to an unknown topic is an error.
	AllowAutoTopicCreation bool
	// Transport carries requests to the brokers (TLS, SASL, client id).
	// Nil means a kafka.Transport with client id "samnav".
	Transport kafka.RoundTripper
}

var compressions = map[string]kafka.Compression{
	"":       0,
	"none":   0,
	"gzip":   kafka.Gzip,
	"snappy": kafka.Snappy,
	"lz4":    kafka.Lz4,
	"zstd":   kafka.Zstd,
}

// Validate reports every problem with the configuration at once, each naming
// the field and the rule.
func (c PublisherConfig) Validate() error {
	errs := validateBrokers(c.Brokers)
	if c.RequiredAcks < AcksAll || c.RequiredAcks > AcksNone {
		errs = append(errs, fmt.Errorf("required acks: must be AcksAll, AcksLeader or AcksNone, got %d", c.RequiredAcks))
	}
	if _, ok := compressions[c.Compression]; !ok {
		errs = append(errs, fmt.Errorf("compression %q: must be one of none, gzip, snappy, lz4, zstd", c.Compression))
	}
	return errors.Join(append(errs,
		configcheck.NotNegative("batch size", c.BatchSize), configcheck.NotNegative("batch bytes", c.BatchBytes),
		configcheck.NotNegative("batch timeout", c.BatchTimeout), configcheck.NotNegative("write timeout", c.WriteTimeout),
		configcheck.NotNegative("max attempts", c.MaxAttempts), backoff.CheckBounds(c.MinBackoff, c.MaxBackoff))...)
}

func validateBrokers(brokers []string) []error {
	if len(brokers) == 0 {
		return []error{errors.New("brokers: at least one host:port is required")}
	}
	var errs []error
	for i, b := range brokers {
		if colon := strings.LastIndexByte(b, ':'); colon <= 0 || colon == len(b)-1 {
			errs = append(errs, fmt.Errorf("brokers[%d] %q: must be host:port", i, b))
		}
	}
	return errs
}

func (c *PublisherConfig) setDefaults() {
	c.BatchSize = cmp.Or(c.BatchSize, DefaultBatchSize)
	c.BatchBytes = cmp.Or(c.BatchBytes, DefaultBatchBytes)
	c.BatchTimeout = cmp.Or(c.BatchTimeout, DefaultBatchTimeout)
	if c.Marshaler == nil {
		c.Marshaler = DefaultMarshaler{}
	}
	c.WriteTimeout = cmp.Or(c.WriteTimeout, DefaultWriteTimeout)
	c.MaxAttempts = cmp.Or(c.MaxAttempts, DefaultMaxAttempts)
	c.MinBackoff, c.MaxBackoff = backoffBounds(c.MinBackoff, c.MaxBackoff)
}

// backoffBounds fills unset backoff bounds with defaults that respect the
// bound that is set.
func backoffBounds(minD, maxD time.Duration) (time.Duration, time.Duration) {
	switch {
	case minD == 0 && maxD == 0:
		return DefaultMinBackoff, DefaultMaxBackoff
	case minD == 0:
		return min(DefaultMinBackoff, maxD), maxD
	case maxD == 0:
		return minD, max(DefaultMaxBackoff, minD)
	}
	return minD, maxD
}

// Publisher publishes Watermill messages to Kafka. It is safe for concurrent
// use; concurrent Publish calls share batches.
type Publisher struct {
	cfg    PublisherConfig
	logger watermill.LoggerAdapter
	// writer batches; single sends one message per request, used to tell
	// which message of a batch the broker found too large.
	writer *kafka.Writer
	single *kafka.Writer
	// ownTransport is the transport the publisher made, closed by Close.
	ownTransport *kafka.Transport

	mu       sync.RWMutex
	closed   bool
	inflight sync.WaitGroup

	closeOnce sync.Once
	closeErr  error
}

var _ message.Publisher = (*Publisher)(nil)

// NewPublisher validates cfg and returns a Publisher. It does not connect:
// the first Publish does, so a broker that is down at start delays or fails
// that Publish (after retries) instead of the constructor.
func NewPublisher(cfg PublisherConfig, logger watermill.LoggerAdapter) (*Publisher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new publisher: invalid config: %w", err)
	}
	cfg.setDefaults()
	if logger == nil {
		logger = watermill.NopLogger{}
	}
	// "component" is the application's label (a service names its parts);
	// the library names itself under "client".
	logger = logger.With(watermill.LogFields{"client": "kafkago.publisher"})
	p := &Publisher{cfg: cfg, logger: logger}
	if p.cfg.Transport == nil {
		t := kafkaauth.TransportFor(nil)
		p.cfg.Transport, p.ownTransport = t, t
	}
	var err error
	if p.writer, err = p.newWriter(cfg.BatchSize); err != nil {
		return nil, fmt.Errorf("new publisher: %w", err)
	}
	if p.single, err = p.newWriter(1); err != nil {
		return nil, fmt.Errorf("new publisher: %w", err)
	}
	return p, nil
}

// newWriter builds a writer where every Kafka client is built
// (pkg/sdk/kafkaauth), on the publisher's transport.
func (p *Publisher) newWriter(batchSize int) (*kafka.Writer, error) {
	s := kafkaauth.Settings{Brokers: p.cfg.Brokers, Connection: kafkaauth.Connection{ReadTimeout: p.cfg.WriteTimeout, WriteTimeout: p.cfg.WriteTimeout}}
	return s.Writer("", kafkaauth.WriterOptions{
		Transport:    p.cfg.Transport,
		Acks:         p.cfg.RequiredAcks,
		MaxAttempts:  1, // Publish retries, with its own classification
		BatchSize:    batchSize,
		BatchBytes:   p.cfg.BatchBytes,
		BatchTimeout: p.cfg.BatchTimeout,
		Compression:  compressions[p.cfg.Compression],
		ErrorLogger: kafka.LoggerFunc(func(msg string, args ...any) {
			// Publish reports every failure itself; kafka-go's own
			// account of them is detail for debugging.
			p.logger.Debug(fmt.Sprintf(msg, args...), nil)
		}),
		AllowAutoTopicCreation: p.cfg.AllowAutoTopicCreation,
	})
}

// Publish publishes msgs to topic and returns once Kafka acknowledged every
// one of them (with the configured acks), or with an error saying which
// failed and why. Retryable failures (leader moves, a broker restarting) are
// retried with backoff up to MaxAttempts; permanent ones (message too large,
// unknown topic) are returned at once. A failed Publish may still have
// stored some of msgs: retrying it can duplicate, never lose.
//
// Publish is safe for concurrent use; concurrent calls are batched together.
// It must not be called after Close.
func (p *Publisher) Publish(topic string, msgs ...*message.Message) error {
	p.mu.RLock()
	if p.closed {
		p.mu.RUnlock()
		return fmt.Errorf("publish to topic %q: %w", topic, ErrClosed)
	}
	p.inflight.Add(1)
	p.mu.RUnlock()
	defer p.inflight.Done()

	if topic == "" {
		return errors.New("publish: topic: must not be empty")
	}
	if len(msgs) == 0 {
		return nil
	}
	records := make([]kafka.Message, len(msgs))
	for i, msg := range msgs {
		km, err := p.cfg.Marshaler.Marshal(topic, msg)
		if err != nil {
			return fmt.Errorf("publish to topic %q: %w", topic, err)
		}
		km.Topic = topic
		records[i] = km
	}
	return p.write(topic, msgs, records)
}

// write sends records until all are acknowledged or an error is final. The
// first attempt sends records as they are; only a retry builds a batch of
// the records not yet acknowledged.
func (p *Publisher) write(topic string, msgs []*message.Message, records []kafka.Message) error {
	var (
		pending []int // indexes into records not yet acknowledged; nil: all
		batch   []kafka.Message
		unknown time.Time // when the topic was first reported unknown
	)
	for attempt := 1; ; attempt++ {
		send := records
		if pending != nil {
			batch = batch[:0]
			for _, i := range pending {
				batch = append(batch, records[i])
			}
			send = batch
		}
		err := p.writer.WriteMessages(context.Background(), send...)
		if err == nil {
			return nil
		}
		index := func(j int) int {
			if pending == nil {
				return j
			}
			return pending[j]
		}
		var (
			failed []int
			cause  error
		)
		var werrs kafka.WriteErrors
		if errors.As(err, &werrs) && len(werrs) == len(send) {
			for j, werr := range werrs {
				if werr != nil {
					failed = append(failed, index(j))
					cause = werr
				}
			}
		} else {
			failed, cause = make([]int, len(send)), err
			for j := range failed {
				failed[j] = index(j)
			}
		}
		if len(failed) == 0 {
			return nil
		}

		var tooLarge kafka.MessageTooLargeError
		switch {
		case errors.As(cause, &tooLarge):
			// Client side: nothing of this call was sent.
			km := tooLarge.Message
			return fmt.Errorf("publish to topic %q: message %s is %d bytes, more than batch bytes %d allow; nothing of this call was published: %w",
				topic, messageID(km), recordSize(km), p.cfg.BatchBytes, kafka.MessageSizeTooLarge)
		case errors.Is(cause, kafka.MessageSizeTooLarge):
			return p.writeOneByOne(topic, msgs, records, failed)
		case errors.Is(cause, kafka.UnknownTopicOrPartition):
			// Retried until the transport's cached metadata was refreshed
			// at least once, whatever MaxAttempts says: a topic just
			// created, or deleted and created again, may be missing from
			// the cache until then. Longer means it does not exist.
			if unknown.IsZero() {
				unknown = time.Now()
			} else if time.Since(unknown) > p.metadataWait() {
				return fmt.Errorf("publish to topic %q: topic does not exist (create it first; the publisher does not create topics unless AllowAutoTopicCreation is set and the broker allows it): %w", topic, cause)
			}
		case !Retryable(cause):
			return fmt.Errorf("publish to topic %q: %d of %d messages failed (not retryable): %w", topic, len(failed), len(records), cause)
		case attempt >= p.cfg.MaxAttempts:
			return fmt.Errorf("publish to topic %q: %d of %d messages failed after %d attempts: %w", topic, len(failed), len(records), attempt, cause)
		}
		d := backoff.Delay(attempt, p.cfg.MinBackoff, p.cfg.MaxBackoff)
		p.logger.Info("Publish failed, retrying", watermill.LogFields{
			"topic": topic, "failed": len(failed), "attempt": attempt, "backoff": d.String(), "err": cause.Error(),
		})
		time.Sleep(d)
		pending = failed
	}
}

// metadataWait is how long an unknown topic is retried: two refreshes of
// the transport's cached metadata (kafka-go's default is 6 s, and a
// RoundTripper of another kind is given as long).
func (p *Publisher) metadataWait() time.Duration {
	ttl := 6 * time.Second
	if t, ok := p.cfg.Transport.(*kafka.Transport); ok && t.MetadataTTL > 0 {
		ttl = t.MetadataTTL
	}
	return 2 * ttl
}

// writeOneByOne resends the messages of a batch the broker rejected as too
// large one per request, so that only a message that alone exceeds the
// broker's limit fails, and the error names it.
func (p *Publisher) writeOneByOne(topic string, msgs []*message.Message, records []kafka.Message, idx []int) error {
	var errs []error
	for _, i := range idx {
		km := records[i]
		var err error
		for attempt := 1; ; attempt++ {
			err = FirstError(p.single.WriteMessages(context.Background(), km))
			if err == nil || errors.Is(err, kafka.MessageSizeTooLarge) || !Retryable(err) || attempt >= p.cfg.MaxAttempts {
				break
			}
			time.Sleep(backoff.Delay(attempt, p.cfg.MinBackoff, p.cfg.MaxBackoff))
		}
		switch {
		case err == nil:
		case errors.Is(err, kafka.MessageSizeTooLarge):
			errs = append(errs, fmt.Errorf("publish to topic %q: message %s is %d bytes, more than the broker accepts (message.max.bytes / max.message.bytes): %w",
				topic, msgs[i].UUID, recordSize(km), kafka.MessageSizeTooLarge))
		default:
			errs = append(errs, fmt.Errorf("publish to topic %q: message %s: %w", topic, msgs[i].UUID, err))
		}
	}
	return errors.Join(errs...)
}

func messageID(km kafka.Message) string {
	for _, h := range km.Headers {
		if h.Key == UUIDHeader {
			return string(h.Value)
		}
	}
	return fmt.Sprintf("with key %q", km.Key)
}

// recordSize is the record's size as Kafka counts it, near enough: key,
// value and headers.
func recordSize(km kafka.Message) int {
	n := len(km.Key) + len(km.Value)
	for _, h := range km.Headers {
		n += len(h.Key) + len(h.Value)
	}
	return n
}

// Close waits for every Publish in progress to finish (each returns only
// once Kafka acknowledged its messages or it failed), flushes the batches and
// releases connections. It is idempotent; Publish after Close returns
// ErrClosed.
func (p *Publisher) Close() error {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		p.inflight.Wait()
		if err := errors.Join(p.writer.Close(), p.single.Close()); err != nil {
			p.closeErr = fmt.Errorf("close publisher: %w", err)
		}
		if p.ownTransport != nil {
			p.ownTransport.CloseIdleConnections()
		}
	})
	return p.closeErr
}
