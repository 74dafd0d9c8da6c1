package outbox

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/samnav/samnav/pkg/kafkaauth"
	"github.com/samnav/samnav/pkg/kafkago"
	"github.com/samnav/samnav/pkg/sqldb"
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
	// Transport carries Kafka requests (TLS, SASL). Nil means a transport of
	// the relay's own, closed when Run returns.
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
	if c.LeaseTTL == 0 {
		c.LeaseTTL = DefaultLeaseTTL
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.BatchBytes == 0 {
		c.BatchBytes = DefaultBatchBytes
	}
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
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

// RelayStatus is what a relay reports about itself, for health checks and
// operators.
type RelayStatus struct {
	// Leader is true while this instance holds the lease and publishes.
	// Only the leader's Blocked says anything about the stream.
	Leader bool
	// Position is the id of the last entry this instance saw acknowledged
	// (or skipped), 0 before it led.
	Position int64
	// PublishedAt is when this instance last recorded progress; zero if it
	// has not.
	PublishedAt time.Time
	// Pending is how many entries wait to be published (Lag); -1 when the
	// database could not be asked.
	Pending int64
	// Blocked is set while the first unacknowledged entry cannot be
	// published: nothing after it is published until it is (order is
	// strict), so everything behind it waits.
	Blocked *RelayBlock
}

// RelayBlock describes why the relay does not advance.
type RelayBlock struct {
	// Entry is the outbox id of the entry that cannot be published; 0 when
	// the relay cannot even read the outbox or record progress.
	Entry int64
	// Topic is that entry's topic, if known.
	Topic string
	// UnknownTopic is true when Kafka reports Topic does not exist (and
	// OnUnknownTopic, if any, did not create it).
	UnknownTopic bool
	// Err says what fails, naming the topic when it is the cause.
	Err string
	// Since is when this entry first failed; Attempts counts failures since.
	Since    time.Time
	Attempts int
}

// Stalled reports whether the relay has been blocked for longer than d at
// now.
func (s RelayStatus) Stalled(now time.Time, d time.Duration) bool {
	return s.Leader && s.Blocked != nil && now.Sub(s.Blocked.Since) > d
}

// Status returns the relay's state. Its in-memory part is always returned;
// err is set (and Pending -1) when the pending count could not be read.
func (r *Relay) Status(ctx context.Context) (RelayStatus, error) {
	r.mu.Lock()
	st := r.status
	if st.Blocked != nil {
		b := *st.Blocked
		st.Blocked = &b
	}
	r.mu.Unlock()
	lag, err := r.Lag(ctx)
	if err != nil {
		st.Pending = -1
		return st, err
	}
	st.Pending = lag
	return st, nil
}

// block records that entry (0: none in particular) fails with err.
func (r *Relay) block(entry int64, topic string, unknownTopic bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.status.Blocked
	if b == nil || b.Entry != entry || b.Topic != topic {
		b = &RelayBlock{Entry: entry, Topic: topic, Since: time.Now()}
		r.status.Blocked = b
	}
	b.UnknownTopic, b.Err = unknownTopic, err.Error()
	b.Attempts++
}

// advanced records progress up to pos; a block ends only when its entry
// is passed (or the relay is idle), not when entries before it are.
func (r *Relay) advanced(pos int64, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status.Position, r.status.PublishedAt = pos, at
	if b := r.status.Blocked; b != nil && (b.Entry == 0 || b.Entry <= pos) {
		r.status.Blocked = nil
	}
}

func (r *Relay) unblock() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status.Blocked = nil
}

func (r *Relay) setLeader(leader bool, pos int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status.Leader, r.status.Position = leader, pos
	if !leader {
		r.status.Blocked = nil // the new leader reports its own
	}
}

// stalledFor is how long the relay has been blocked, 0 when it is not.
func (r *Relay) stalledFor(now time.Time) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.status.Leader || r.status.Blocked == nil {
		return 0
	}
	return now.Sub(r.status.Blocked.Since)
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
	m := cfg.MeterProvider.Meter("github.com/samnav/samnav/pkg/outbox")
	var errs []error
	var err error
	r.metric.published, err = m.Int64Counter("samnav.outbox.published", metric.WithUnit("{entry}"),
		metric.WithDescription("Outbox entries acknowledged by Kafka."))
	errs = append(errs, err)
	r.metric.batches, err = m.Int64Counter("samnav.outbox.batches", metric.WithUnit("{batch}"),
		metric.WithDescription("Kafka writes of outbox entries acknowledged (one batch each)."))
	errs = append(errs, err)
	r.metric.skipped, err = m.Int64Counter("samnav.outbox.skipped", metric.WithUnit("{entry}"),
		metric.WithDescription("Outbox entries passed without publishing because an operator skipped them."))
	errs = append(errs, err)
	r.metric.errors, err = m.Int64Counter("samnav.outbox.errors", metric.WithUnit("{error}"),
		metric.WithDescription("Failed Kafka writes, by whether they are retryable."))
	errs = append(errs, err)
	r.metric.duration, err = m.Float64Histogram("samnav.outbox.publish.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of one acknowledged Kafka write of a batch of entries."))
	errs = append(errs, err)
	r.metric.latency, err = m.Float64Histogram("samnav.outbox.latency", metric.WithUnit("s"),
		metric.WithDescription("Time from Append to Kafka's acknowledgement, of the oldest entry of each batch."))
	errs = append(errs, err)
	_, err = m.Int64ObservableGauge("samnav.outbox.lag", metric.WithUnit("{entry}"),
		metric.WithDescription("Entries committed to the outbox but not yet acknowledged by Kafka."),
		metric.WithInt64Callback(func(ctx context.Context, o metric.Int64Observer) error {
			ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			lag, err := r.Lag(ctx)
			if err != nil {
				return err
			}
			o.Observe(lag, r.attrs)
			return nil
		}))
	errs = append(errs, err)
	_, err = m.Float64ObservableGauge("samnav.outbox.stalled", metric.WithUnit("s"),
		metric.WithDescription("How long the first unacknowledged entry has failed to publish (everything after it waits); 0 when the relay advances."),
		metric.WithFloat64Callback(func(_ context.Context, o metric.Float64Observer) error {
			o.Observe(r.stalledFor(time.Now()).Seconds(), r.attrs)
			return nil
		}))
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("new relay: create metrics: %w", err)
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
		t, err := kafkaauth.Settings{Brokers: r.cfg.Brokers}.Transport("outbox")
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
			sleep(ctx, backoff(attempt, r.cfg.MinBackoff, r.cfg.MaxBackoff))
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
			sleep(ctx, backoff(attempt, r.cfg.MinBackoff, r.cfg.MaxBackoff))
			attempt++
			continue
		case !held:
			attempt = 1
			sleep(ctx, r.cfg.PollInterval)
			continue
		}
		attempt = 1
		r.log.Info("lease taken; publishing", "position", pos)
		r.lead(ctx, transport, pos, deadline)
	}
	return nil
}

// acquire takes or renews the lease. deadline is when this instance must
// consider the lease lost: TTL after a moment before the statement was sent,
// which is no later than the expiry the database recorded.
func (r *Relay) acquire(ctx context.Context) (pos int64, deadline time.Time, held bool, err error) {
	start := time.Now()
	err = r.cfg.DB.QueryRowContext(ctx, r.q.acquire, r.cfg.Owner, r.cfg.LeaseTTL.Milliseconds(), r.cfg.Name).Scan(&pos)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, time.Time{}, false, nil
	}
	if err != nil {
		return 0, time.Time{}, false, fmt.Errorf("take lease %q: %w", r.cfg.Name, err)
	}
	return pos, start.Add(r.cfg.LeaseTTL), true, nil
}

// entry is an outbox row as the relay reads it.
type entry struct {
	id      int64
	msg     kafka.Message
	created int64 // unix microseconds
	skipped string
	size    int // estimate of kafka-go's size of msg, never below it
}

// lead publishes while it holds the lease. It returns, with the lease
// released, when ctx is cancelled; or when the lease is lost.
func (r *Relay) lead(ctx context.Context, transport kafka.RoundTripper, pos int64, deadline time.Time) {
	// The producer is built where every Kafka client is (acks=all, murmur2
	// partitioning: a key lands on the same partition whoever publishes
	// it), with the relay's own batching.
	w, err := kafkaauth.Settings{Brokers: r.cfg.Brokers, ReadTimeout: r.cfg.WriteTimeout, WriteTimeout: r.cfg.WriteTimeout}.Writer("outbox", kafkaauth.WriterOptions{
		Transport: transport,
		// The relay retries itself, resending from the first unacknowledged
		// entry; a writer retrying one partition's batch while the next
		// batch of that partition is sent could reorder them.
		MaxAttempts: 1,
		// One write carries at most BatchSize entries and BatchBytes bytes
		// (by an estimate that is never below kafka-go's), so each
		// partition's share goes out as ONE request: nothing in a partition
		// is sent after an entry whose request failed.
		BatchSize:    r.cfg.BatchSize,
		BatchBytes:   int64(r.cfg.BatchBytes),
		BatchTimeout: time.Millisecond,
		ErrorLogger: kafka.LoggerFunc(func(msg string, args ...any) {
			r.log.Debug(fmt.Sprintf(msg, args...))
		}),
	})
	if err != nil {
		r.log.Error("build kafka writer", "err", err)
		return
	}
	defer func() {
		// Close waits for requests still in flight: only then may another
		// instance take over, so release the lease after it.
		if err := w.Close(); err != nil {
			r.log.Debug("close kafka writer", "err", err)
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := r.cfg.DB.ExecContext(rctx, r.q.release, r.cfg.Name, r.cfg.Owner); err != nil {
			r.log.Warn("release lease failed; it expires by itself", "err", err)
		} else {
			r.log.Info("lease released", "position", pos)
		}
	}()

	// The hook's client shares the writer's transport: a topic it creates
	// refreshes the metadata the writer partitions by.
	client := &kafka.Client{Addr: w.Addr, Transport: transport, Timeout: r.cfg.WriteTimeout}
	r.setLeader(true, pos)
	defer func() { r.setLeader(false, pos) }()

	renewBefore := r.cfg.LeaseTTL * 2 / 3 // renew when less than this is left
	var (
		pending  []entry // read but not yet acknowledged, in id order
		single   int64   // isolating a poison entry: one entry per write up to this id
		attempt  int     // consecutive failures
		poisonID int64   // the entry last found poison, to log once per attempt
		healed   string  // the topic OnUnknownTopic last created in this stall
	)
	for ctx.Err() == nil {
		if time.Until(deadline) < renewBefore {
			p, d, held, err := r.acquire(ctx)
			switch {
			case ctx.Err() != nil:
				return
			case err != nil:
				r.log.Warn("renew lease failed", "err", err)
				if time.Now().After(deadline) {
					r.log.Warn("lease expired while renewal failed; stopping publishing")
					return
				}
				sleep(ctx, backoff(1, r.cfg.MinBackoff, r.cfg.MaxBackoff))
				continue
			case !held:
				r.log.Warn("lease lost to another instance; stopping publishing")
				return
			}
			if p != pos {
				// Only an operator editing the row moves it under us.
				r.log.Warn("relay position changed outside this relay", "was", pos, "now", p)
				pos, pending = p, nil
				r.setLeader(true, pos)
			}
			deadline = d
		}
		if len(pending) < r.cfg.BatchSize {
			// Top up what the last write left, so writes stay full.
			after := pos
			if len(pending) > 0 {
				after = pending[len(pending)-1].id
			}
			more, err := r.read(ctx, after, r.cfg.BatchSize-len(pending))
			if err != nil {
				if ctx.Err() == nil {
					r.block(0, "", false, err)
					r.log.Warn("read outbox failed; retrying", "err", err)
					sleep(ctx, backoff(1, r.cfg.MinBackoff, r.cfg.MaxBackoff))
				}
				continue
			}
			pending = append(pending, more...)
			if len(pending) == 0 {
				r.unblock()
				sleep(ctx, r.cfg.PollInterval)
				continue
			}
		}
		batch := r.cut(pending, pending[0].id <= single)
		if time.Until(deadline) < r.cfg.WriteTimeout+r.cfg.WriteTimeout/2 {
			deadline = time.Now() // renew before writing
			continue
		}
		msgs := make([]kafka.Message, 0, len(batch))
		for _, e := range batch {
			if e.skipped == "" {
				msgs = append(msgs, e.msg)
			}
		}
		start := time.Now()
		err := w.WriteMessages(ctx, msgs...)
		if ctx.Err() != nil {
			return
		}
		acked := len(batch)
		if err != nil {
			acked = ackedPrefix(batch, err)
		}
		if acked > 0 {
			last := batch[acked-1].id
			ok, perr := r.progress(ctx, last)
			switch {
			case perr != nil:
				// Kafka has the entries but recording failed: resend them
				// (duplicates, never loss) and record again.
				r.block(0, "", false, perr)
				r.log.Warn("record progress failed; entries will be resent", "position", last, "err", perr)
				sleep(ctx, backoff(1, r.cfg.MinBackoff, r.cfg.MaxBackoff))
				continue
			case !ok:
				r.log.Warn("lease lost before progress was recorded; stopping publishing", "position", last)
				return
			}
			deadline = start.Add(r.cfg.LeaseTTL)
			r.observe(batch[:acked], time.Since(start), err == nil)
			pos, pending = last, pending[acked:]
			r.advanced(pos, time.Now())
		}
		if err == nil {
			attempt, poisonID, healed = 0, 0, ""
			continue
		}
		attempt++
		failed := batch[acked]
		retryable := kafkago.Retryable(firstError(err))
		r.metric.errors.Add(ctx, 1, metric.WithAttributes(attribute.String("relay", r.cfg.Name), attribute.Bool("retryable", retryable)))
		if errors.Is(firstError(err), kafka.UnknownTopicOrPartition) {
			e, ok := unknownTopicEntry(batch[acked:], err)
			if !ok {
				// The writer's metadata lookup failed before it sent
				// anything, naming no topic: publish one entry per write to
				// find the entry whose topic is missing.
				r.log.Warn("kafka reports an unknown topic; isolating the entry", "from_entry", failed.id, "to_entry", batch[len(batch)-1].id)
				single = batch[len(batch)-1].id
				continue
			}
			if r.unknownTopic(ctx, client, e, attempt, &healed) {
				continue // created: retry at once
			}
			sleep(ctx, backoff(attempt, r.cfg.MinBackoff, r.cfg.MaxBackoff))
			continue
		}
		switch {
		case retryable:
			r.block(failed.id, failed.msg.Topic, false, firstError(err))
			r.log.Warn("kafka write failed; retrying from the first unacknowledged entry",
				"entry", failed.id, "attempt", attempt, "err", firstError(err))
			sleep(ctx, backoff(attempt, r.cfg.MinBackoff, r.cfg.MaxBackoff))
		case len(batch) > 1:
			// The broker refuses a partition's whole request: publish the
			// entries of the refused write one by one to find the culprit.
			r.log.Warn("kafka refused a write for good; isolating the refused entry", "from_entry", failed.id, "to_entry", batch[len(batch)-1].id, "err", firstError(err))
			single = batch[len(batch)-1].id
		default:
			if poisonID != failed.id {
				attempt = 1
				poisonID = failed.id
			}
			msg := fmt.Sprintf("entry %d (event id %s, topic %s, %d bytes) refused by Kafka: %v", failed.id,
				eventID(failed.msg), failed.msg.Topic, failed.size, firstError(err))
			_ = r.setError(ctx, msg)
			r.block(failed.id, failed.msg.Topic, false, errors.New(msg))
			r.log.Error("poison entry blocks the relay: fix the cause, or skip it with outbox.Skip",
				"entry", failed.id, "event_id", eventID(failed.msg), "topic", failed.msg.Topic, "bytes", failed.size,
				"attempt", attempt, "err", firstError(err))
			sleep(ctx, r.cfg.MaxBackoff)
			pending = nil // re-read: an operator may have skipped it meanwhile
		}
	}
}

// unknownTopicEntry returns the entry of failed (a write's unacknowledged
// entries, first first) whose topic Kafka reported unknown with err: the
// first one that failed when Kafka answered per entry, or the first sent
// one when all sent entries share one topic. ok is false when the error
// does not tell which topic is missing.
func unknownTopicEntry(failed []entry, err error) (e entry, ok bool) {
	var werrs kafka.WriteErrors
	if errors.As(err, &werrs) {
		return failed[0], true
	}
	for _, f := range failed {
		if f.skipped != "" {
			continue
		}
		if !ok {
			e, ok = f, true
		} else if f.msg.Topic != e.msg.Topic {
			return entry{}, false
		}
	}
	return e, ok
}

// unknownTopic handles entry e, whose topic Kafka reports missing: it asks
// OnUnknownTopic to create it and reports whether to retry at once (the
// hook created it, the first time in this stall). Otherwise the relay is
// blocked at e, which Status, last_error and the log name.
func (r *Relay) unknownTopic(ctx context.Context, client *kafka.Client, e entry, attempt int, healed *string) bool {
	topic := e.msg.Topic
	var msg string
	if r.cfg.OnUnknownTopic == nil {
		msg = fmt.Sprintf("entry %d (event id %s): topic %q does not exist on the broker; create it, or skip the entry with outbox.Skip",
			e.id, eventID(e.msg), topic)
	} else {
		hctx, cancel := context.WithTimeout(ctx, r.cfg.WriteTimeout)
		herr := r.cfg.OnUnknownTopic(hctx, client, topic)
		cancel()
		if ctx.Err() != nil {
			return false
		}
		if herr == nil {
			if *healed != topic {
				*healed = topic
				r.log.Warn("created missing topic; retrying at once", "topic", topic, "entry", e.id)
				return true
			}
			// Created or found before, yet still unknown to the write: the
			// broker is still propagating it; retry with backoff.
			msg = fmt.Sprintf("entry %d (event id %s): topic %q does not exist on the broker yet, though it was created",
				e.id, eventID(e.msg), topic)
		} else {
			msg = fmt.Sprintf("entry %d (event id %s): topic %q does not exist on the broker and was not created: %v",
				e.id, eventID(e.msg), topic, herr)
		}
	}
	r.block(e.id, topic, true, errors.New(msg))
	_ = r.setError(ctx, msg)
	r.log.Error("missing topic blocks the relay: every later entry waits",
		"entry", e.id, "event_id", eventID(e.msg), "topic", topic, "attempt", attempt, "err", msg)
	return false
}

// cut returns the prefix of pending one write carries: at most BatchSize
// entries and BatchBytes bytes, at least one entry; one entry when single.
func (r *Relay) cut(pending []entry, single bool) []entry {
	if single {
		return pending[:1]
	}
	n, bytes := 0, 0
	for n < len(pending) && n < r.cfg.BatchSize {
		if n > 0 && bytes+pending[n].size > r.cfg.BatchBytes {
			break
		}
		bytes += pending[n].size
		n++
	}
	return pending[:n]
}

// ackedPrefix returns how many leading entries of batch Kafka acknowledged
// in a write that failed with err.
func ackedPrefix(batch []entry, err error) int {
	var werrs kafka.WriteErrors
	if !errors.As(err, &werrs) {
		return 0 // nothing was sent, or we cannot tell what was
	}
	i := 0 // index into werrs, which has one error per unskipped entry
	for n, e := range batch {
		if e.skipped != "" {
			continue
		}
		if i >= len(werrs) || werrs[i] != nil {
			return n
		}
		i++
	}
	return len(batch)
}

// firstError returns the first per-message error of a kafka.WriteErrors, or
// err itself.
func firstError(err error) error {
	var werrs kafka.WriteErrors
	if errors.As(err, &werrs) {
		for _, e := range werrs {
			if e != nil {
				return e
			}
		}
	}
	return err
}

func (r *Relay) observe(batch []entry, took time.Duration, whole bool) {
	ctx := context.Background()
	var published, skipped int64
	for _, e := range batch {
		if e.skipped != "" {
			skipped++
			r.log.Warn("audit: skipped outbox entry passed without publishing",
				"entry", e.id, "event_id", eventID(e.msg), "topic", e.msg.Topic, "skip", e.skipped)
			continue
		}
		published++
	}
	r.metric.published.Add(ctx, published, r.attrs)
	if skipped > 0 {
		r.metric.skipped.Add(ctx, skipped, r.attrs)
	}
	if whole && published > 0 {
		r.metric.duration.Record(ctx, took.Seconds(), r.attrs)
	}
	if published > 0 {
		r.metric.batches.Add(ctx, 1, r.attrs)
		lat := time.Since(time.UnixMicro(batch[0].created)).Seconds()
		r.metric.latency.Record(ctx, math.Max(lat, 0), r.attrs)
	}
}

func eventID(m kafka.Message) string {
	for _, h := range m.Headers {
		if h.Key == headerEventID {
			return string(h.Value)
		}
	}
	return ""
}

// read returns up to limit entries after pos, in id order.
func (r *Relay) read(ctx context.Context, pos int64, limit int) ([]entry, error) {
	rows, err := r.cfg.DB.QueryContext(ctx, r.q.read, pos, limit)
	if err != nil {
		return nil, fmt.Errorf("read outbox after %d: %w", pos, err)
	}
	defer func() { _ = rows.Close() }() // read-only; rows.Err is checked below
	var out []entry
	for rows.Next() {
		var (
			e       entry
			key     []byte
			value   []byte
			null    bool
			headers string
			eventID string
			skipped sql.NullString
		)
		if err := rows.Scan(&e.id, &e.msg.Topic, &key, &value, &null, &headers, &eventID, &e.created, &skipped); err != nil {
			return nil, fmt.Errorf("read outbox entry: %w", err)
		}
		hm, err := decodeHeaders(headers)
		if err != nil {
			return nil, fmt.Errorf("read outbox entry %d: decode headers: %w", e.id, err)
		}
		if value == nil && !null {
			value = []byte{} // an empty value, which drivers may scan as nil
		}
		e.msg.Key, e.msg.Value = key, value
		// ce_id first: the poison log reads it from there.
		e.msg.Headers = make([]kafka.Header, 0, len(hm)+1)
		if id, ok := hm[headerEventID]; ok {
			e.msg.Headers = append(e.msg.Headers, kafka.Header{Key: headerEventID, Value: []byte(id)})
			delete(hm, headerEventID)
		} else {
			e.msg.Headers = append(e.msg.Headers, kafka.Header{Key: headerEventID, Value: []byte(eventID)})
		}
		for _, k := range slices.Sorted(mapKeys(hm)) {
			e.msg.Headers = append(e.msg.Headers, kafka.Header{Key: k, Value: []byte(hm[k])})
		}
		e.skipped = skipped.String
		e.size = 64 + len(key) + len(value)
		for _, h := range e.msg.Headers {
			e.size += 10 + len(h.Key) + len(h.Value)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read outbox after %d: %w", pos, err)
	}
	return out, nil
}

// decodeHeaders decodes the headers column, a JSON object of strings as
// Append writes it. Objects without escapes or whitespace (what
// json.Marshal makes of ordinary header names and values) are split
// directly, which is several times cheaper than encoding/json; anything
// else goes through encoding/json, so the result is the same.
func decodeHeaders(s string) (map[string]string, error) {
	if m, ok := splitFlatObject(s); ok {
		return m, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, err
	}
	return m, nil
}

// splitFlatObject parses {"k":"v",...} with no backslash and no
// whitespace outside strings; ok is false for anything else.
func splitFlatObject(s string) (map[string]string, bool) {
	if strings.IndexByte(s, '\\') >= 0 || len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' || !utf8.ValidString(s) {
		return nil, false
	}
	if s == "{}" {
		return map[string]string{}, true
	}
	m := make(map[string]string, 12)
	rest := s[1 : len(s)-1]
	for {
		k, r, ok := cutString(rest)
		if !ok || len(r) == 0 || r[0] != ':' {
			return nil, false
		}
		v, r, ok := cutString(r[1:])
		if !ok {
			return nil, false
		}
		if _, dup := m[k]; dup {
			return nil, false // let encoding/json decide what a duplicate means
		}
		m[k] = v
		if r == "" {
			return m, true
		}
		if r[0] != ',' {
			return nil, false
		}
		rest = r[1:]
	}
}

// cutString cuts a JSON string without escapes off the front of s.
func cutString(s string) (str, rest string, ok bool) {
	if len(s) < 2 || s[0] != '"' {
		return "", "", false
	}
	end := strings.IndexByte(s[1:], '"')
	if end < 0 {
		return "", "", false
	}
	str = s[1 : 1+end]
	for i := 0; i < len(str); i++ {
		if str[i] < 0x20 {
			return "", "", false // control characters are invalid JSON
		}
	}
	return str, s[2+end:], true
}

func mapKeys(m map[string]string) func(yield func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// progress records, in one transaction, that every entry up to pos is
// acknowledged, renews the lease and deletes entries every relay has passed;
// only if the lease still names this instance (the fence). ok is false when
// it does not.
func (r *Relay) progress(ctx context.Context, pos int64) (ok bool, err error) {
	tx, err := r.cfg.DB.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("begin progress: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	res, err := tx.ExecContext(ctx, r.q.progress, pos, r.cfg.LeaseTTL.Milliseconds(), r.cfg.Name, r.cfg.Owner)
	if err != nil {
		return false, fmt.Errorf("record progress %d: %w", pos, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("record progress %d: %w", pos, err)
	}
	if n == 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, r.q.prune, pos); err != nil {
		return false, fmt.Errorf("prune outbox up to %d: %w", pos, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("commit progress %d: %w", pos, err)
	}
	return true, nil
}

func (r *Relay) setError(ctx context.Context, msg string) error {
	_, err := r.cfg.DB.ExecContext(ctx, r.q.setError, msg, r.cfg.Name, r.cfg.Owner)
	return err
}

// queries holds the relay's SQL in one dialect.
type queries struct {
	ensureRelay, acquire, release, read, progress, prune, lag, setError string
}

func newQueries(d sqldb.Dialect) queries {
	now := d.NowMillis()
	return queries{
		ensureRelay: `INSERT INTO outbox_relays (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`,
		// The owner may always renew: while the row names it, nobody else
		// has published since it took the lease.
		acquire: `UPDATE outbox_relays SET owner = $1, expires_at_ms = ` + now + ` + $2
			WHERE name = $3 AND (owner = $1 OR expires_at_ms < ` + now + `) RETURNING position`,
		release: `UPDATE outbox_relays SET expires_at_ms = 0 WHERE name = $1 AND owner = $2`,
		read: `SELECT id, topic, msg_key, msg_value, msg_value IS NULL, headers, event_id, created_at_us, skipped_reason
			FROM outbox_entries WHERE id > $1 ORDER BY id LIMIT $2`,
		progress: `UPDATE outbox_relays SET position = $1, expires_at_ms = ` + now + ` + $2, last_error = ''
			WHERE name = $3 AND owner = $4`,
		prune: `DELETE FROM outbox_entries WHERE id <= $1 AND id <= (SELECT MIN(position) FROM outbox_relays)`,
		lag: `SELECT COUNT(*) FROM outbox_entries WHERE skipped_reason IS NULL
			AND id > COALESCE((SELECT position FROM outbox_relays WHERE name = $1), 0)`,
		setError: `UPDATE outbox_relays SET last_error = $1 WHERE name = $2 AND owner = $3`,
	}
}

// backoff is capped exponential backoff with jitter: attempt 1 waits about
// minD, each further attempt doubles, never beyond maxD.
func backoff(attempt int, minD, maxD time.Duration) time.Duration {
	d := minD
	for i := 1; i < attempt && d < maxD; i++ {
		d *= 2
	}
	d = min(d, maxD)
	if d <= 0 {
		return 0
	}
	return d/2 + mrand.N(d/2+1) //nolint:gosec // G404: jitter for retry backoff, not security
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
