package kafkago

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/segmentio/kafka-go"
	metadataapi "github.com/segmentio/kafka-go/protocol/metadata"

	"github.com/samnav/samnav/pkg/sdk/backoff"
	"github.com/samnav/samnav/pkg/sdk/configcheck"
	"github.com/samnav/samnav/pkg/sdk/kafkaauth"
	"github.com/samnav/samnav/pkg/sdk/kafkatopics"
)

// InitialOffset is where a consumer group starts reading a partition for
// which it has no committed offset, and where it continues when its position
// is out of range (Kafka's auto.offset.reset): before the partition's oldest
// record (deleted by retention), or past its end (the topic was deleted and
// recreated, or the partition truncated).
type InitialOffset int

const (
	// Earliest starts at the oldest record still stored (the default).
	Earliest InitialOffset = iota
	// Latest starts after the newest record: only what is published later.
	Latest
)

// Subscriber defaults.
const (
	DefaultCommitInterval       = time.Second
	DefaultNackResendSleep      = 50 * time.Millisecond
	DefaultSessionTimeout       = 10 * time.Second
	DefaultRebalanceTimeout     = 30 * time.Second
	DefaultHeartbeatInterval    = time.Second
	DefaultCloseTimeout         = 30 * time.Second
	DefaultFetchMaxBytes        = 1 << 20
	DefaultFetchMaxWait         = 250 * time.Millisecond
	DefaultInitializePartitions = 3
)

// SubscriberConfig configures a Subscriber. Zero values take the defaults
// named on each field.
type SubscriberConfig struct {
	// Brokers are the bootstrap addresses, host:port. Required.
	Brokers []string
	// ConsumerGroup is the Kafka consumer group every Subscribe call joins.
	// Required: offsets are committed for it, and the partitions of a topic
	// are shared among its members.
	ConsumerGroup string
	// InitialOffset applies to partitions the group has no committed offset
	// for, and to a partition whose committed or current position is out
	// of range (see InitialOffset); default Earliest.
	InitialOffset InitialOffset
	// CommitInterval is how often acknowledged offsets are committed, in one
	// request for all partitions of a subscription; default
	// DefaultCommitInterval. Offsets are also committed when a partition is
	// revoked and on Close, so only a crash can redeliver more than the
	// messages acknowledged in the last interval.
	CommitInterval time.Duration
	// MaxInFlight is how many messages of one partition may be out (handed
	// over, neither Acked nor Nacked) at once; default 1: a partition's
	// next message only after the one before it was Acked. Above one, a
	// partition's messages are handed over in offset order without waiting
	// (for a consumer that handles records in batches, or many at once),
	// Acks may come in any order, and the committed offset is the end of
	// the acknowledged prefix: never past a message still out or Nacked. A
	// Nacked message is offered again after NackResendSleep while later
	// ones may go on. The subscription's channel then holds up to
	// MaxInFlight messages (they count as out); what no one received
	// when a partition is released is delivered again.
	MaxInFlight int
	// NackResendSleep is the pause before a Nacked message is delivered
	// again; default DefaultNackResendSleep, a negative value means none.
	NackResendSleep time.Duration
	// MinBackoff and MaxBackoff bound the wait before reconnecting to a
	// broker or rejoining the group after an error; defaults
	// DefaultMinBackoff and DefaultMaxBackoff.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// SessionTimeout is how long the coordinator waits for a heartbeat before
	// it gives this member's partitions to others; default
	// DefaultSessionTimeout. The broker bounds it (group.min/max.session.timeout.ms).
	SessionTimeout time.Duration
	// RebalanceTimeout is how long the coordinator waits for members to
	// rejoin during a rebalance; default DefaultRebalanceTimeout.
	RebalanceTimeout time.Duration
	// HeartbeatInterval is how often the member heartbeats, and so how soon
	// it learns of a rebalance; default DefaultHeartbeatInterval. Keep it well
	// under SessionTimeout.
	HeartbeatInterval time.Duration
	// CloseTimeout bounds how long Close, a cancelled Subscribe context, or a
	// rebalance waits for a handler holding a message to Ack or Nack it;
	// default DefaultCloseTimeout. A message acknowledged after that is
	// delivered again (to this or another member).
	CloseTimeout time.Duration
	// FetchMaxBytes is the most bytes fetched per partition request; default
	// DefaultFetchMaxBytes (1 MiB, the Java consumer's
	// max.partition.fetch.bytes). A record larger than that is still
	// fetched, alone. A partition holds in memory the response being read
	// and up to 4096 records (about 1 MiB of keys and values, or one record
	// if larger) fetched ahead of delivery.
	FetchMaxBytes int
	// FetchMaxWait is how long a fetch waits at the broker for new records;
	// default DefaultFetchMaxWait.
	FetchMaxWait time.Duration
	// Unmarshaler maps records to messages; default DefaultMarshaler. A
	// record it rejects is logged with its topic, partition and offset and
	// skipped (committed past), so one bad record cannot stop a partition.
	Unmarshaler Unmarshaler
	// InitializePartitions is the partition count SubscribeInitialize
	// creates topics with; default DefaultInitializePartitions.
	InitializePartitions int
	// AllowAutoTopicCreation lets Subscribe ask the broker to create an
	// unknown topic (it still must have auto.create.topics.enable). Off:
	// subscribing to an unknown topic is an error.
	AllowAutoTopicCreation bool
	// Dialer opens connections (TLS, SASL); build it with
	// kafkaauth.Settings.Dialer. Nil means kafkaauth.DefaultDialer (no SASL
	// or TLS, client id "samnav").
	Dialer *kafka.Dialer
}

// Validate reports every problem with the configuration at once, each naming
// the field and the rule.
func (c SubscriberConfig) Validate() error {
	errs := validateBrokers(c.Brokers)
	if c.ConsumerGroup == "" {
		errs = append(errs, errors.New("consumer group: must not be empty"))
	}
	if c.InitialOffset != Earliest && c.InitialOffset != Latest {
		errs = append(errs, fmt.Errorf("initial offset: must be Earliest or Latest, got %d", c.InitialOffset))
	}
	return errors.Join(append(errs,
		configcheck.NotNegative("commit interval", c.CommitInterval), backoff.CheckBounds(c.MinBackoff, c.MaxBackoff),
		configcheck.NotNegative("session timeout", c.SessionTimeout), configcheck.NotNegative("rebalance timeout", c.RebalanceTimeout),
		configcheck.NotNegative("heartbeat interval", c.HeartbeatInterval), configcheck.NotNegative("close timeout", c.CloseTimeout),
		configcheck.NotNegative("fetch max wait", c.FetchMaxWait), configcheck.NotNegative("fetch max bytes", c.FetchMaxBytes),
		configcheck.NotNegative("max in flight", c.MaxInFlight), configcheck.NotNegative("initialize partitions", c.InitializePartitions))...)
}

func (c *SubscriberConfig) setDefaults() {
	c.CommitInterval = cmp.Or(c.CommitInterval, DefaultCommitInterval)
	c.NackResendSleep = max(cmp.Or(c.NackResendSleep, DefaultNackResendSleep), 0)
	c.MinBackoff, c.MaxBackoff = backoffBounds(c.MinBackoff, c.MaxBackoff)
	c.SessionTimeout = cmp.Or(c.SessionTimeout, DefaultSessionTimeout)
	c.RebalanceTimeout = cmp.Or(c.RebalanceTimeout, DefaultRebalanceTimeout)
	c.HeartbeatInterval = cmp.Or(c.HeartbeatInterval, DefaultHeartbeatInterval)
	c.CloseTimeout = cmp.Or(c.CloseTimeout, DefaultCloseTimeout)
	c.FetchMaxWait = cmp.Or(c.FetchMaxWait, DefaultFetchMaxWait)
	c.FetchMaxBytes = cmp.Or(c.FetchMaxBytes, DefaultFetchMaxBytes)
	if c.Unmarshaler == nil {
		c.Unmarshaler = DefaultMarshaler{}
	}
	c.InitializePartitions = cmp.Or(c.InitializePartitions, DefaultInitializePartitions)
	c.MaxInFlight = max(c.MaxInFlight, 1)
	if c.Dialer == nil {
		c.Dialer = kafkaauth.DefaultDialer()
	}
}

// Subscriber consumes Kafka topics as a member of a consumer group. It is
// safe for concurrent use. Each Subscribe call is its own group member.
//
// Delivery is at least once: a message is delivered again until it is
// Acked, and may be delivered again after a crash, a broker restart or a
// rebalance when its Ack was not yet committed. Subscribers deduplicate by
// message UUID.
type Subscriber struct {
	cfg       SubscriberConfig
	logger    watermill.LoggerAdapter
	transport *kafka.Transport
	client    *kafka.Client

	// closeCtx is cancelled by Close; every subscription derives from it.
	closeCtx context.Context
	cancel   context.CancelFunc
	mu       sync.Mutex
	closed   bool
	subs     sync.WaitGroup

	closeOnce sync.Once
}

var (
	_ message.Subscriber           = (*Subscriber)(nil)
	_ message.SubscribeInitializer = (*Subscriber)(nil)
)

// NewSubscriber validates cfg and returns a Subscriber. It does not connect:
// Subscribe does.
func NewSubscriber(cfg SubscriberConfig, logger watermill.LoggerAdapter) (*Subscriber, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new subscriber: invalid config: %w", err)
	}
	cfg.setDefaults()
	if logger == nil {
		logger = watermill.NopLogger{}
	}
	// "component" is the application's label (a service names its parts);
	// the library names itself under "client".
	logger = logger.With(watermill.LogFields{"client": "kafkago.subscriber", "consumer_group": cfg.ConsumerGroup})
	// Admin requests connect as the consumer does.
	transport := kafkaauth.TransportFor(cfg.Dialer)
	ctx, cancel := context.WithCancel(context.Background())
	return &Subscriber{
		cfg:       cfg,
		logger:    logger,
		transport: transport,
		client:    kafkaauth.ClientOn(transport, 10*time.Second, cfg.Brokers...),
		closeCtx:  ctx,
		cancel:    cancel,
	}, nil
}

// SubscribeInitialize creates topic with InitializePartitions partitions and
// the broker's default replication, if it does not exist yet.
func (s *Subscriber) SubscribeInitialize(topic string) error {
	ctx, cancel := context.WithTimeout(s.closeCtx, 30*time.Second)
	defer cancel()
	var err error
	for attempt := 1; attempt <= 5; attempt++ {
		err = kafkatopics.Ensure(ctx, s.client, kafkatopics.Spec{Name: topic, Partitions: s.cfg.InitializePartitions})
		if err == nil || !Retryable(err) {
			break
		}
		if !backoff.Sleep(ctx, backoff.Delay(attempt, s.cfg.MinBackoff, s.cfg.MaxBackoff)) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("initialize topic %q: %w", topic, err)
	}
	return nil
}

// Subscribe joins the consumer group for topic and returns the channel its
// messages arrive on. Partitions are consumed concurrently; within a
// partition a message is delivered only after the one before it was Acked,
// and a Nacked message is delivered again (after NackResendSleep) before
// anything after it; with MaxInFlight above one, up to that many of a
// partition's messages are out at once (see MaxInFlight).
//
// The channel is closed when ctx is cancelled or the Subscriber is closed,
// after in-flight messages were Acked or Nacked (or CloseTimeout passed) and
// their offsets committed. The context of each message carries its
// RecordInfo and is cancelled after its Ack or Nack, or when the
// subscription ends.
//
// A topic that does not exist is an error, unless AllowAutoTopicCreation is
// set and the broker creates it. A broker that cannot be reached is not: the
// subscription retries with backoff until it can.
func (s *Subscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, fmt.Errorf("subscribe to topic %q: %w", topic, ErrClosed)
	}
	s.subs.Add(1)
	s.mu.Unlock()

	if err := s.checkTopic(ctx, topic); err != nil {
		s.subs.Done()
		return nil, err
	}
	start := kafka.FirstOffset
	if s.cfg.InitialOffset == Latest {
		start = kafka.LastOffset
	}
	assigned := &assignedCounts{}
	cg, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID:                s.cfg.ConsumerGroup,
		GroupBalancers:    assigned.balancers(),
		Brokers:           s.cfg.Brokers,
		Dialer:            s.cfg.Dialer,
		Topics:            []string{topic},
		HeartbeatInterval: s.cfg.HeartbeatInterval,
		// Partitions added to a topic, and a topic created again, are
		// picked up by a rebalance: see watchPartitions.
		WatchPartitionChanges: false,
		SessionTimeout:        s.cfg.SessionTimeout,
		RebalanceTimeout:      s.cfg.RebalanceTimeout,
		JoinGroupBackoff:      s.cfg.MinBackoff * 5,
		StartOffset:           start,
		Timeout:               10 * time.Second,
		ErrorLogger:           s.kafkaLogger(topic),
	})
	if err != nil {
		s.subs.Done()
		return nil, fmt.Errorf("subscribe to topic %q: %w", topic, err)
	}

	subCtx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.closeCtx, cancel)
	// With a window (MaxInFlight above one) the channel holds up to
	// MaxInFlight messages, so a consumer that takes a batch at a time
	// finds the next one waiting rather than handed over one message, and
	// one goroutine switch, at a time; the dispatcher takes back what is
	// still buffered when it stops. Without, a message is handed over only
	// to a consumer that receives it.
	out := make(chan *message.Message, outBuffer(s.cfg.MaxInFlight))
	go func() {
		defer s.subs.Done()
		defer close(out)
		defer stop()
		defer cancel()
		s.run(subCtx, cg, assigned, topic, out)
	}()
	return out, nil
}

func outBuffer(maxInFlight int) int {
	if maxInFlight > 1 {
		return maxInFlight
	}
	return 0
}

// checkTopic fails fast, with a clear error, on a topic the broker does not
// have. An unreachable broker is left to the subscription's retries.
func (s *Subscriber) checkTopic(ctx context.Context, topic string) error {
	if err := (kafkatopics.Spec{Name: topic, Partitions: 1}).Validate(); err != nil {
		return fmt.Errorf("subscribe to topic: %w", err)
	}
	var lastErr error
	for attempt := 1; attempt <= 3; attempt++ {
		mctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		resp, err := s.transport.RoundTrip(mctx, kafka.TCP(s.cfg.Brokers...), &metadataapi.Request{
			TopicNames:             []string{topic},
			AllowAutoTopicCreation: s.cfg.AllowAutoTopicCreation,
		})
		cancel()
		if err != nil {
			s.logger.Info("Cannot check topic, subscribing anyway and retrying in the background", watermill.LogFields{"topic": topic, "err": err.Error()})
			return nil //nolint:nilerr // by design (see the doc comment): an unreachable broker is logged and left to the subscription's retries
		}
		lastErr = kafka.UnknownTopicOrPartition
		for _, t := range resp.(*metadataapi.Response).Topics {
			if t.Name == topic {
				lastErr = nil
				if t.ErrorCode != 0 {
					lastErr = kafka.Error(t.ErrorCode)
				}
			}
		}
		if lastErr == nil {
			return nil
		}
		if !backoff.Sleep(ctx, backoff.Delay(attempt, s.cfg.MinBackoff, s.cfg.MaxBackoff)) {
			break
		}
	}
	if errors.Is(lastErr, kafka.UnknownTopicOrPartition) {
		return fmt.Errorf("subscribe to topic %q: topic does not exist (create it with SubscribeInitialize or kafkatopics.Ensure): %w", topic, lastErr)
	}
	return fmt.Errorf("subscribe to topic %q: %w", topic, lastErr)
}

func (s *Subscriber) kafkaLogger(topic string) kafka.Logger {
	return kafka.LoggerFunc(func(msg string, args ...any) {
		s.logger.Info(fmt.Sprintf(msg, args...), watermill.LogFields{"topic": topic, "source": "kafka-go"})
	})
}

// run drives one subscription through the group's generations until ctx
// ends.
func (s *Subscriber) run(ctx context.Context, cg *kafka.ConsumerGroup, assigned *assignedCounts, topic string, out chan *message.Message) {
	// Closing the group ends the current generation, which waits for its
	// dispatcher (and the final commit) before leaving the group.
	defer func() {
		if err := cg.Close(); err != nil {
			s.logger.Error("Cannot leave consumer group", err, watermill.LogFields{"topic": topic})
		}
	}()
	for {
		gen, err := cg.Next(ctx)
		switch {
		case ctx.Err() != nil || errors.Is(err, kafka.ErrGroupClosed):
			return
		case err != nil:
			// kafka-go already backs off between join attempts.
			s.logger.Info("Consumer group generation failed, rejoining", watermill.LogFields{"topic": topic, "err": err.Error()})
			continue
		}
		s.logger.Debug("Joined consumer group generation", watermill.LogFields{
			"topic": topic, "generation": gen.ID, "member": gen.MemberID, "partitions": len(gen.Assignments[topic]),
		})
		s.startGeneration(ctx, gen, topic, out)
		s.watchPartitions(gen, topic, assigned.take())
	}
}

// startGeneration starts the generation's dispatcher, which fetches and
// delivers every assigned partition, and its commit goroutine. kafka-go
// ends the generation on a rebalance and waits for both before this member
// rejoins: the last commit, after the dispatcher finished, is what hands
// acknowledged work over.
func (s *Subscriber) startGeneration(ctx context.Context, gen *kafka.Generation, topic string, out chan *message.Message) {
	assigned := gen.Assignments[topic]
	var c *committer
	if s.cfg.MaxInFlight > 1 {
		d := newWindowDispatcher(s, topic, ctx, out, assigned)
		c = d.commit
		gen.Start(func(genCtx context.Context) { d.run(genCtx, assigned) })
	} else {
		d := newDispatcher(s, topic, ctx, out, assigned)
		c = d.commit
		gen.Start(func(genCtx context.Context) { d.run(genCtx, assigned) })
	}
	gen.Start(func(context.Context) {
		for {
			select {
			case <-c.kicks:
				s.commit(gen, topic, c)
			case <-c.finished:
				// The generation or the subscription ended and the
				// dispatcher is done with its messages.
				s.commit(gen, topic, c)
				return
			}
		}
	})
}

// commitFailureLogInterval is how often failed commits that go on are
// logged.
const commitFailureLogInterval = 30 * time.Second

func (s *Subscriber) commit(gen *kafka.Generation, topic string, c *committer) {
	offsets := c.pending()
	if len(offsets) == 0 {
		return
	}
	if err := gen.CommitOffsets(map[string]map[int]int64{topic: offsets}); err != nil {
		// The messages stay acknowledged but uncommitted: the next commit
		// tries again, and whoever reads the partition next gets them
		// again. Duplicates, never loss. A commit is tried every
		// CommitInterval, so a failure that lasts is logged once in a
		// while, with how many commits failed since.
		c.failed++
		if c.loggedAt.IsZero() || time.Since(c.loggedAt) >= commitFailureLogInterval {
			s.logger.Error("Cannot commit offsets; acknowledged messages may be delivered again", err, watermill.LogFields{
				"topic": topic, "generation": gen.ID, "failed_commits": c.failed,
			})
			c.failed, c.loggedAt = 0, time.Now()
		}
		return
	}
	c.failed, c.loggedAt = 0, time.Time{}
	c.done(offsets)
}

// Close ends every subscription: each waits for its in-flight messages to be
// Acked or Nacked (up to CloseTimeout), commits what was acknowledged, leaves
// the group and closes its channel. Close returns when all of that is done.
// It is idempotent.
func (s *Subscriber) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.cancel()
	})
	s.subs.Wait()
	s.transport.CloseIdleConnections()
	return nil
}
