// Package lag measures how far each subscription's delivery is behind the
// head of its concept's state topic.
//
// The pipeline (package pipeline) reads a state topic in one consumer group
// per subscription and commits an offset only after the channel accepted
// the event, so the group's committed offsets are exactly the
// subscription's delivered position. Lag per partition is the log end
// offset minus the committed offset (or minus the log start offset when
// nothing was committed yet). The time of the oldest undelivered change is
// the timestamp of the first record past the committed offset.
//
// Everything is read over the Kafka protocol (ListOffsets, OffsetFetch,
// Fetch through kafka-go's Client, which negotiates versions), so it works
// the same on the embedded broker and on Apache Kafka.
package lag

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/samnav/samnav/services/delivery/client"
)

// Partition and Report are the lag API's wire types; the typed client
// (package client) is their one home.
type (
	// Partition is the lag of one partition.
	Partition = client.PartitionLag
	// Report is a consumer group's lag on one topic.
	Report = client.LagReport
)

// ErrNoTopic says the topic does not exist (yet).
var ErrNoTopic = errors.New("topic does not exist")

// Meter measures lag over the Kafka protocol. It is safe for concurrent
// use.
type Meter struct {
	client *kafka.Client
	now    func() time.Time
}

// New returns a Meter asking through client, built where every Kafka
// client is (kafkaauth.Settings.Client).
func New(client *kafka.Client) *Meter {
	return &Meter{client: client, now: time.Now}
}

// Measure returns group's lag on topic.
func (m *Meter) Measure(ctx context.Context, topic, group string) (Report, error) {
	meta, err := m.client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return Report{}, fmt.Errorf("metadata of %s: %w", topic, err)
	}
	var parts []int
	for _, t := range meta.Topics {
		if t.Name != topic {
			continue
		}
		if t.Error != nil {
			if errors.Is(t.Error, kafka.UnknownTopicOrPartition) {
				return Report{}, fmt.Errorf("%s: %w", topic, ErrNoTopic)
			}
			return Report{}, fmt.Errorf("metadata of %s: %w", topic, t.Error)
		}
		for _, p := range t.Partitions {
			parts = append(parts, p.ID)
		}
	}
	if len(parts) == 0 {
		return Report{}, fmt.Errorf("%s: %w", topic, ErrNoTopic)
	}
	sort.Ints(parts)
	reqs := make([]kafka.OffsetRequest, 0, 2*len(parts))
	for _, p := range parts {
		reqs = append(reqs, kafka.FirstOffsetOf(p), kafka.LastOffsetOf(p))
	}
	offs, err := m.client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return Report{}, fmt.Errorf("list offsets of %s: %w", topic, err)
	}
	ends := map[int]kafka.PartitionOffsets{}
	for _, po := range offs.Topics[topic] {
		if po.Error != nil {
			return Report{}, fmt.Errorf("list offsets of %s/%d: %w", topic, po.Partition, po.Error)
		}
		ends[po.Partition] = po
	}
	committed, err := m.client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
	if err != nil {
		return Report{}, fmt.Errorf("committed offsets of group %s: %w", group, err)
	}
	// A group that never committed is not found on some brokers: nothing
	// delivered yet.
	if committed.Error != nil && !errors.Is(committed.Error, kafka.GroupIdNotFound) {
		return Report{}, fmt.Errorf("committed offsets of group %s: %w", group, committed.Error)
	}
	cm := map[int]int64{}
	for _, p := range committed.Topics[topic] {
		if p.Error != nil {
			return Report{}, fmt.Errorf("committed offset of group %s on %s/%d: %w", group, topic, p.Partition, p.Error)
		}
		cm[p.Partition] = p.CommittedOffset
	}
	r := Report{Topic: topic, Group: group, MeasuredAt: m.now().UTC(), Partitions: make([]Partition, 0, len(parts))}
	for _, p := range parts {
		po := ends[p]
		c, ok := cm[p]
		if !ok {
			c = -1
		}
		from := c
		if from < po.FirstOffset {
			from = po.FirstOffset
		}
		pl := Partition{Partition: p, End: po.LastOffset, Committed: c, Lag: max(po.LastOffset-from, 0)}
		if pl.Lag > 0 {
			if t, ok := m.recordTime(ctx, topic, p, from); ok {
				pl.OldestUndelivered = &t
				if r.OldestUndelivered == nil || t.Before(*r.OldestUndelivered) {
					r.OldestUndelivered = &t
				}
			}
		}
		r.Events += pl.Lag
		r.Partitions = append(r.Partitions, pl)
	}
	if r.OldestUndelivered != nil {
		r.BehindSeconds = max(r.MeasuredAt.Sub(*r.OldestUndelivered).Seconds(), 0)
	}
	return r, nil
}

// recordTime returns the timestamp of the first record at or after offset
// on topic/partition; false if there is none or it cannot be read (the
// lag in events is still right; the time is a best effort).
func (m *Meter) recordTime(ctx context.Context, topic string, partition int, offset int64) (time.Time, bool) {
	res, err := m.client.Fetch(ctx, &kafka.FetchRequest{Topic: topic, Partition: partition, Offset: offset, MinBytes: 1, MaxBytes: 1 << 20, MaxWait: 10 * time.Millisecond})
	if err != nil || res.Error != nil || res.Records == nil {
		return time.Time{}, false
	}
	for {
		rec, err := res.Records.ReadRecord()
		if err != nil { // io.EOF: no record at or past offset
			return time.Time{}, false
		}
		if rec.Offset >= offset {
			return rec.Time.UTC(), true
		}
	}
}
