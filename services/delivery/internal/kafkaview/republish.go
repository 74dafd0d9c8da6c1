// A quiet view partition: Apache Kafka never compacts a partition's active
// segment, and rolls it only when a record is appended, so a view
// partition that receives nothing after a person's shielded record keeps
// the earlier, unshielded record readable from offset 0. The channel
// therefore re-publishes, once, the key's current view record after the
// compaction lag (see Republishes and docs/architecture.md "Copies forget
// within a bound").

package kafkaview

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/segmentio/kafka-go"

	"github.com/samnav/samnav/pkg/sdk/backoff"
	"github.com/samnav/samnav/pkg/sdk/envelope"
	"github.com/samnav/samnav/pkg/sdk/kafkago"
	"github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/delivery/internal/channel"
)

// Republish is one scheduled re-publish: the current view record of Key
// in Subscription's view topic is written again once Due has passed.
// Written is when the first record that asked for it was written; the
// key's current record is looked for from then on.
type Republish struct {
	Subscription string
	Key          string
	Written      time.Time
	Due          time.Time
}

// Republishes keeps, durably, the re-publishes the channel scheduled
// (sqlstore.Store does, in the delivery database), so that a restart
// does not forget one. It holds keys and times only, never record data.
type Republishes interface {
	// ScheduleRepublish schedules keys of sub, whose records were written
	// at written, for due. A key already scheduled keeps the earlier
	// written time and the later due time: one re-publish per key.
	ScheduleRepublish(ctx context.Context, sub string, keys []string, written, due time.Time) error
	// DueRepublishes returns at most limit re-publishes due at now,
	// earliest first.
	DueRepublishes(ctx context.Context, now time.Time, limit int) ([]Republish, error)
	// Republished removes r, unless it was scheduled again since (its
	// due time moved).
	Republished(ctx context.Context, r Republish) error
	// ForgetRepublishes removes every re-publish of sub: its view topic
	// was deleted (Clear, or revoked), so no earlier record is left.
	ForgetRepublishes(ctx context.Context, sub string) error
}

// Owned returns the subscription id names if this process writes its
// view, and for the key's partition holds the right to: see
// RunRepublishes.
type Owned func(id string) (client.Subscription, bool)

// republishSlack is how much earlier than a scheduled record's write time
// its view partition is read from: the records' timestamps are the
// producer's clock (this process's), or the broker's where the topic uses
// LogAppendTime.
const republishSlack = time.Minute

// RepublishMargin is how long after the compaction lag a re-publish is
// due: Apache Kafka rolls the active segment on an append only once its
// oldest record is older than segment.ms, and the clocks of the producer
// and the broker may differ a little. A tenth of the lag.
func (c Config) RepublishMargin() time.Duration {
	return cmp.Or(c.MaxCompactionLag, DefaultMaxCompactionLag) / 10
}

// withholds names the keys of evs that withhold something the key's
// earlier records may hold: a protected identity (channel.Event.Withheld)
// or an erasure (a tombstone). Their view partition must roll after the
// lag, whether or not anything else is written to it.
func withholds(evs []channel.Event) []string {
	var keys []string
	for _, ev := range evs {
		if len(ev.Withheld) > 0 || ev.Type == channel.TypeErased {
			keys = append(keys, ev.Key)
		}
	}
	return keys
}

// lock returns the lock every write to sub's view topic takes in this
// process: DeliverBatch and a re-publish. Holding it while reading the
// key's current record and writing it again is what keeps a re-publish
// from overtaking a newer record of the key.
func (c *Channel) lock(sub string) *sync.Mutex {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.locks[sub]
	if l == nil {
		l = &sync.Mutex{}
		c.locks[sub] = l
	}
	return l
}

// RunRepublishes writes again, once each is due, the current view record
// of every key Config.Republishes scheduled, until ctx ends; without
// Republishes it only waits. It looks every tenth of the margin (at most
// 30 s, at least 10 ms).
//
// Only a subscription owned names is handled here: the one whose
// pipeline runs in this process (pipeline.Manager.Owned). Under the
// subscription's lock (see lock), so that no delivery of this process
// writes to the view in between, it reads the key's view partition from
// the scheduled record's write time to its end and writes the last
// record of the key found there again, byte for byte: the same value and
// headers, so the same event id (ce_id); a subscriber that deduplicates
// by event id drops it. A key with no record there (the view was rebuilt,
// and the rebuild scheduled its own) has nothing to write. A failure is
// logged and tried again on the next look.
func (c *Channel) RunRepublishes(ctx context.Context, owned Owned, logger *slog.Logger) error {
	if c.cfg.Republishes == nil {
		<-ctx.Done()
		return nil
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "delivery-view-republish")
	every := min(max(c.cfg.RepublishMargin()/10, 10*time.Millisecond), 30*time.Second)
	// A full round that did something looks again at once.
	for ctx.Err() == nil {
		if !c.republishRound(ctx, owned, logger) {
			backoff.Sleep(ctx, every)
		}
	}
	return nil
}

// republishRoundSize is the most re-publishes one round of
// RunRepublishes takes.
const republishRoundSize = 100

// republishRound does the due re-publishes of one round; more is true if
// it took a full round and did at least one (more may be due).
func (c *Channel) republishRound(ctx context.Context, owned Owned, logger *slog.Logger) (more bool) {
	due, err := c.cfg.Republishes.DueRepublishes(ctx, time.Now(), republishRoundSize)
	if err != nil {
		if ctx.Err() == nil {
			logger.Error("list due view re-publishes", "err", err)
		}
		return false
	}
	done := 0
	for _, r := range due {
		sub, ok := owned(r.Subscription)
		if !ok {
			continue // another replica's, or not delivering: its owner does it
		}
		if err := c.republish(ctx, sub, r); err != nil {
			if ctx.Err() == nil {
				logger.Warn("re-publish a view record after the compaction lag (trying again)", "subscription", r.Subscription, "err", err)
			}
			continue
		}
		if err := c.cfg.Republishes.Republished(ctx, r); err != nil {
			if ctx.Err() == nil {
				logger.Error("clear a done view re-publish", "subscription", r.Subscription, "err", err)
			}
			continue
		}
		done++
	}
	return len(due) == republishRoundSize && done > 0
}

// republish writes the current view record of r's key again (see
// RunRepublishes).
func (c *Channel) republish(ctx context.Context, s client.Subscription, r Republish) error {
	l := c.lock(s.ID)
	l.Lock()
	defer l.Unlock()
	topic := Topic(s)
	rec, ok, err := c.current(ctx, topic, r.Key, r.Written.Add(-republishSlack))
	if err != nil || !ok {
		return err
	}
	msg := message.NewMessage(r.Key, rec.Value)
	for _, h := range rec.Headers {
		msg.Metadata.Set(h.Key, string(h.Value))
	}
	if id := msg.Metadata.Get(envelope.HeaderID); id != "" {
		msg.UUID = id
	}
	msg.Metadata.Set(kafkago.PartitionKeyMetadata, r.Key)
	if err := c.pub.Publish(topic, msg); err != nil {
		return fmt.Errorf("re-publish to %s: %w", topic, err)
	}
	return nil
}

// current returns the last record of key in topic written at or after
// since; ok false if there is none (or no topic).
func (c *Channel) current(ctx context.Context, topic, key string, since time.Time) (kafka.Message, bool, error) {
	cl, done, err := c.cfg.kafka().Client("delivery-admin")
	if err != nil {
		return kafka.Message{}, false, err
	}
	defer done()
	meta, err := cl.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return kafka.Message{}, false, fmt.Errorf("partitions of %s: %w", topic, err)
	}
	if len(meta.Topics) != 1 || meta.Topics[0].Error != nil {
		var terr error
		if len(meta.Topics) == 1 {
			terr = meta.Topics[0].Error
		}
		if errors.Is(terr, kafka.UnknownTopicOrPartition) {
			return kafka.Message{}, false, nil
		}
		return kafka.Message{}, false, fmt.Errorf("partitions of %s: %w", topic, cmp.Or(terr, errors.New("not in the metadata")))
	}
	parts := make([]int, len(meta.Topics[0].Partitions))
	for i := range parts {
		parts[i] = i
	}
	// The publisher's balancer (kafkaauth.Settings.Writer): the key's
	// partition.
	p := (&kafka.Murmur2Balancer{}).Balance(kafka.Message{Key: []byte(key)}, parts...)
	// One request each: Apache Kafka refuses a partition named twice.
	from, err := offset(ctx, cl, topic, kafka.TimeOffsetOf(p, since))
	if err != nil {
		return kafka.Message{}, false, err
	}
	end, err := offset(ctx, cl, topic, kafka.LastOffsetOf(p))
	if err != nil {
		return kafka.Message{}, false, err
	}
	if from < 0 || end <= from {
		return kafka.Message{}, false, nil
	}
	dialer, err := c.cfg.kafka().Dialer("delivery")
	if err != nil {
		return kafka.Message{}, false, err
	}
	rd := kafka.NewReader(kafka.ReaderConfig{Brokers: c.cfg.Brokers, Topic: topic, Partition: p, Dialer: dialer, MaxWait: 100 * time.Millisecond})
	defer func() { _ = rd.Close() }()
	if err := rd.SetOffset(from); err != nil {
		return kafka.Message{}, false, fmt.Errorf("read %s/%d: %w", topic, p, err)
	}
	var last kafka.Message
	found := false
	for {
		m, err := rd.ReadMessage(ctx)
		if err != nil {
			return kafka.Message{}, false, fmt.Errorf("read %s/%d at %d: %w", topic, p, from, err)
		}
		if string(m.Key) == key {
			last, found = m, true
		}
		if m.Offset >= end-1 {
			return last, found, nil
		}
	}
}

// offset answers one offset request of topic: for a time, the first
// offset whose record is that recent, -1 if there is none; for
// kafka.LastOffset, the partition's end.
func offset(ctx context.Context, cl *kafka.Client, topic string, req kafka.OffsetRequest) (int64, error) {
	resp, err := cl.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: {req}}})
	if err != nil {
		return -1, fmt.Errorf("offsets of %s/%d: %w", topic, req.Partition, err)
	}
	for _, po := range resp.Topics[topic] {
		if po.Partition != req.Partition {
			continue
		}
		if po.Error != nil {
			return -1, fmt.Errorf("offsets of %s/%d: %w", topic, req.Partition, po.Error)
		}
		if req.Timestamp == kafka.LastOffset {
			return po.LastOffset, nil
		}
		found := int64(-1)
		for off := range po.Offsets {
			found = max(found, off)
		}
		return found, nil
	}
	return -1, fmt.Errorf("offsets of %s/%d: not in the answer", topic, req.Partition)
}
