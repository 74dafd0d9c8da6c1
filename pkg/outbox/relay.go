package outbox

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/samnav/samnav/pkg/sdk/backoff"
	"github.com/samnav/samnav/pkg/sdk/instrument"
	"github.com/samnav/samnav/pkg/sdk/kafkaauth"
	"github.com/samnav/samnav/pkg/sdk/sqldb"
)

// Defaults of RelayConfig's optional fields.
const (
	DefaultLeaseTTL     = 15 * time.Second
	DefaultBatchSize    = 1000
	DefaultBatchBytes   = 1 << 20 // Kafka's default message.max.bytes is 1048588
	DefaultPollInterval = 50 * time.Millisecond
	DefaultWriteTimeout = 5 * time.Second
	DefaultMinBackoff   = 100 * time.Millisecond
	DefaultMaxBackoff   = 10 * time.Second
)

// RelayConfig configures a Relay. Zero optional fields take the Default*
// values.
type RelayConfig struct {
	// DB holds the outbox (after Migrate); required.
	DB *sql.DB
	// Dialect is DB's SQL dialect.
	Dialect sqldb.Dialect
	// Brokers are the Kafka bootstrap addresses (host:port); required.
	Brokers []string
	// Name names the lease and the progress, for example "masterdata"; all
	// relays of one outbox share it, and only one of them publishes.
	Name string
	// Owner names this instance in the lease; it must differ between live
	// instances. Empty means hostname-pid-random.
	Owner string
	// LeaseTTL is how long a lease lasts without renewal: the time a crashed
	// holder blocks a takeover. It must exceed 2*WriteTimeout.
	LeaseTTL time.Duration
	// BatchSize is the most entries one Kafka write carries.
	BatchSize int
	// BatchBytes is the most bytes one Kafka write carries (also the
	// largest entry that can be published); keep it at or below the
	// broker's message.max.bytes.
	BatchBytes int
	// PollInterval is how often an idle relay looks for new entries, and
	// how often a relay without the lease tries to take it.
	PollInterval time.Duration
	// WriteTimeout bounds one Kafka produce request.
	WriteTimeout time.Duration
	// MinBackoff and MaxBackoff bound the exponential backoff between
	// retries of a failed write or SQL statement. A poison entry is retried
	// every MaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// Kafka are the credentials, TLS, client id and timeouts the relay's
	// producer and admin client are built from (pkg/sdk/kafkaauth); its
	// Brokers are ignored (Brokers above are the relay's), and the relay's
	// WriteTimeout bounds each request. The zero value connects without
	// SASL or TLS.
	Kafka kafkaauth.Settings
	// Transport carries Kafka requests. Nil means a transport of the
	// relay's own, built from Kafka and closed when Run returns.
	Transport kafka.RoundTripper
	// Logger receives the relay's logs; nil discards them.
	Logger *slog.Logger
	// MeterProvider receives the relay's metrics; nil means no metrics.
	MeterProvider metric.MeterProvider
	// OnUnknownTopic, if set, is called when Kafka reports that the topic of
	// the first unacknowledged entry does not exist (UNKNOWN_TOPIC_OR_PARTITION:
	// a topic deleted, never created, or a broker without auto-creation).
	// client talks to Brokers over the relay's own transport, so a topic
	// created through it is known to the relay's next write at once. It
	// returns nil when the topic exists now: the relay retries at once. An
	// error (the topic must not be created here, or creating it failed)
	// leaves the relay blocked at that entry, retrying with backoff, with the
	// error and the topic in Status. Nil means the relay only retries. It is
	// called from Run's goroutine only, with a ctx that ends after
	// WriteTimeout.
	OnUnknownTopic func(ctx context.Context, client *kafka.Client, topic string) error
}

// Validate reports every problem with the configuration at once, each naming
// the field and the rule it breaks.
func (c RelayConfig) Validate() error {
	var errs []error
	if c.DB == nil {
		errs = append(errs, errors.New("db: must not be nil"))
	}
	if err := c.Dialect.Valid(); err != nil {
		errs = append(errs, err)
	}
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("brokers: must name at least one broker"))
	}
	for i, b := range c.Brokers {
		if b == "" {
			errs = append(errs, fmt.Errorf("brokers[%d]: must not be empty", i))
		}
	}
	if err := errors.Join(c.Kafka.SASL.Validate(), c.Kafka.Connection.Validate(c.Kafka.SASL)); err != nil {
		errs = append(errs, fmt.Errorf("kafka: %w", err))
	}
	if strings.TrimSpace(c.Name) == "" {
		errs = append(errs, errors.New("name: must not be empty"))
	}
	for _, f := range []struct {
		name string
		d    time.Duration
	}{{"lease ttl", c.LeaseTTL}, {"poll interval", c.PollInterval}, {"write timeout", c.WriteTimeout}, {"min backoff", c.MinBackoff}, {"max backoff", c.MaxBackoff}} {
		if f.d < 0 {
			errs = append(errs, fmt.Errorf("%s: must not be negative, got %s", f.name, f.d))
		}
	}
	if c.BatchSize < 0 {
		errs = append(errs, fmt.Errorf("batch size: must not be negative, got %d", c.BatchSize))
	}
	if c.BatchBytes < 0 {
		errs = append(errs, fmt.Errorf("batch bytes: must not be negative, got %d", c.BatchBytes))
	}
	d := c
	d.setDefaults()
	if d.LeaseTTL <= 2*d.WriteTimeout {
		errs = append(errs, fmt.Errorf("lease ttl: must exceed twice the write timeout (%s), got %s", d.WriteTimeout, d.LeaseTTL))
	}
	if d.MinBackoff > d.MaxBackoff {
		errs = append(errs, fmt.Errorf("min backoff: must not exceed max backoff (%s), got %s", d.MaxBackoff, d.MinBackoff))
	}
	return errors.Join(errs...)
}

func (c *RelayConfig) setDefaults() {
	c.LeaseTTL = cmp.Or(c.LeaseTTL, DefaultLeaseTTL)
	c.BatchSize = cmp.Or(c.BatchSize, DefaultBatchSize)
	c.BatchBytes = cmp.Or(c.BatchBytes, DefaultBatchBytes)
	c.PollInterval = cmp.Or(c.PollInterval, DefaultPollInterval)
	c.WriteTimeout = cmp.Or(c.WriteTimeout, DefaultWriteTimeout)
	if c.MinBackoff == 0 {
		c.MinBackoff = min(DefaultMinBackoff, max(c.MaxBackoff, time.Millisecond))
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = max(DefaultMaxBackoff, c.MinBackoff)
	}
	if c.Owner == "" {
		host, _ := os.Hostname()
		var b [4]byte
		_, _ = rand.Read(b[:])
		c.Owner = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.MeterProvider == nil {
		c.MeterProvider = noop.NewMeterProvider()
	}
}

// Relay publishes the outbox to Kafka. Run it in every instance of a
// service; the instances elect one publisher through the lease.
type Relay struct {
	cfg    RelayConfig
	log    *slog.Logger
	q      queries
	attrs  metric.MeasurementOption
	metric struct {
		published metric.Int64Counter
		batches   metric.Int64Counter
		skipped   metric.Int64Counter
		errors    metric.Int64Counter
		duration  metric.Float64Histogram
		latency   metric.Float64Histogram
	}
	running atomic.Bool

	mu     sync.Mutex
	status RelayStatus // guarded by mu; Pending is filled in by Status
}

// NewRelay validates cfg and returns a relay. It does not connect to Kafka
// or the database; Run does.
func NewRelay(cfg RelayConfig) (*Relay, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new relay: invalid config: %w", err)
	}
	cfg.setDefaults()
	r := &Relay{
		cfg:   cfg,
		log:   cfg.Logger.With("component", "outbox.relay", "relay", cfg.Name, "owner", cfg.Owner),
		q:     newQueries(cfg.Dialect),
		attrs: metric.WithAttributes(attribute.String("relay", cfg.Name)),
	}
	m := instrument.New(cfg.MeterProvider.Meter("github.com/samnav/samnav/pkg/outbox"))
	r.metric.published = m.Counter("samnav.outbox.published", "{entry}", "Outbox entries acknowledged by Kafka.")
	r.metric.batches = m.Counter("samnav.outbox.batches", "{batch}", "Kafka writes of outbox entries acknowledged (one batch each).")
	r.metric.skipped = m.Counter("samnav.outbox.skipped", "{entry}", "Outbox entries passed without publishing because an operator skipped them.")
	r.metric.errors = m.Counter("samnav.outbox.errors", "{error}", "Failed Kafka writes, by whether they are retryable.")
	r.metric.duration = m.Histogram("samnav.outbox.publish.duration", "s", "Duration of one acknowledged Kafka write of a batch of entries.")
	r.metric.latency = m.Histogram("samnav.outbox.latency", "s", "Time from Append to Kafka's acknowledgement, of the oldest entry of each batch.")
	m.Int64Gauge("samnav.outbox.lag", "{entry}", "Entries committed to the outbox but not yet acknowledged by Kafka.",
		func(ctx context.Context, o metric.Int64Observer) error {
			ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			lag, err := r.Lag(ctx)
			if err != nil {
				return err
			}
			o.Observe(lag, r.attrs)
			return nil
		})
	m.Float64Gauge("samnav.outbox.stalled", "s", "How long the first unacknowledged entry has failed to publish (everything after it waits); 0 when the relay advances.",
		func(_ context.Context, o metric.Float64Observer) error {
			o.Observe(r.stalledFor(time.Now()).Seconds(), r.attrs)
			return nil
		})
	if err := m.Err(); err != nil {
		return nil, fmt.Errorf("new relay: %w", err)
	}
	return r, nil
}

// Lag returns how many entries are committed to the outbox but neither
// acknowledged by Kafka nor skipped, as seen by this relay's Name. A poison
// entry keeps it from falling to zero.
func (r *Relay) Lag(ctx context.Context) (int64, error) {
	var lag int64
	if err := r.cfg.DB.QueryRowContext(ctx, r.q.lag, r.cfg.Name).Scan(&lag); err != nil {
		return 0, fmt.Errorf("count outbox lag: %w", err)
	}
	return lag, nil
}

// Run relays until ctx is cancelled, then returns nil. It publishes only
// while it holds the lease; without it, it tries to take it every
// PollInterval. Failures of Kafka and of the database are logged and
// retried, never returned: the relay never drops an entry, it stops
// advancing. Run must not be called twice at once on one Relay.
func (r *Relay) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return errors.New("run relay: already running")
	}
	defer r.running.Store(false)
	transport := r.cfg.Transport
	if transport == nil {
		t, err := r.kafka().Transport("outbox")
		if err != nil {
			return fmt.Errorf("run relay: %w", err)
		}
		defer t.CloseIdleConnections()
		transport = t
	}
	for attempt := 1; ctx.Err() == nil; attempt++ {
		if _, err := r.cfg.DB.ExecContext(ctx, r.q.ensureRelay, r.cfg.Name); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			r.log.Warn("register relay failed; retrying", "err", err)
			r.pause(ctx, attempt)
			continue
		}
		break
	}
	for attempt := 1; ctx.Err() == nil; {
		pos, deadline, held, err := r.acquire(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			r.log.Warn("take lease failed; retrying", "err", err)
			r.pause(ctx, attempt)
			attempt++
			continue
		case !held:
			attempt = 1
			backoff.Sleep(ctx, r.cfg.PollInterval)
			continue
		}
		attempt = 1
		r.log.Info("lease taken; publishing", "position", pos)
		r.lead(ctx, transport, pos, deadline)
	}
	return nil
}

// lead publishes while it holds the lease. It returns, with the lease
// released, when ctx is cancelled; or when the lease is lost.
//
// Each turn of its loop is a sequence of named steps: keep the lease,
// top up the pending entries, write one batch, record what Kafka
// acknowledged, and on a failure find out which entry blocks the stream.
func (r *Relay) lead(ctx context.Context, transport kafka.RoundTripper, pos int64, deadline time.Time) {
	w, err := r.newWriter(transport)
	if err != nil {
		r.log.Error("build kafka writer", "err", err)
		return
	}
	l := &leadership{
		pos:      pos,
		deadline: deadline,
		w:        w,
		// The hook's client shares the writer's transport: a topic it
		// creates refreshes the metadata the writer partitions by.
		client: kafkaauth.ClientOn(transport, r.cfg.WriteTimeout, r.cfg.Brokers...),
	}
	defer r.resign(ctx, l)
	r.setLeader(true, l.pos)
	defer func() { r.setLeader(false, l.pos) }()

	for ctx.Err() == nil {
		switch r.keepLease(ctx, l) {
		case stepStop:
			return
		case stepAgain:
			continue
		}
		if r.topUp(ctx, l) == stepAgain {
			continue
		}
		batch := r.cut(l.pending, l.pending[0].id <= l.single)
		if time.Until(l.deadline) < r.cfg.WriteTimeout+r.cfg.WriteTimeout/2 {
			l.deadline = time.Now() // renew before writing
			continue
		}
		start := time.Now()
		err := l.w.WriteMessages(ctx, unskipped(batch)...)
		if ctx.Err() != nil {
			return
		}
		acked := len(batch)
		if err != nil {
			acked = ackedPrefix(batch, err)
		}
		if acked > 0 {
			switch r.record(ctx, l, batch[:acked], start, err == nil) {
			case stepStop:
				return
			case stepAgain:
				continue
			}
		}
		if err == nil {
			l.attempt, l.poisonID, l.healed = 0, 0, ""
			continue
		}
		r.writeFailed(ctx, l, batch, acked, err)
	}
}

// leadership is the state of one term of lead: from taking the lease to
// losing or releasing it.
type leadership struct {
	pos      int64     // the last entry recorded as acknowledged (or skipped)
	deadline time.Time // when this instance must consider the lease lost
	w        *kafka.Writer
	client   *kafka.Client // for OnUnknownTopic

	pending  []entry // read but not yet acknowledged, in id order
	single   int64   // isolating a poison entry: one entry per write up to this id
	attempt  int     // consecutive failures
	poisonID int64   // the entry last found poison, to log once per attempt
	healed   string  // the topic OnUnknownTopic last created in this stall
}

// step says how lead's loop goes on after one of its steps.
type step int

const (
	stepNext  step = iota // go on to the next step of this turn
	stepAgain             // start the next turn of the loop
	stepStop              // stop leading
)

// pause waits the backoff before retry attempt+1, or until ctx ends.
func (r *Relay) pause(ctx context.Context, attempt int) {
	backoff.Sleep(ctx, backoff.Delay(attempt, r.cfg.MinBackoff, r.cfg.MaxBackoff))
}
