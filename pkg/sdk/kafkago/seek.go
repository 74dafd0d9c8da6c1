package kafkago

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/samnav/samnav/pkg/sdk/kafkatopics"
)

// SeekToTime sets the consumer group's committed offsets for topic so that
// the group's next Subscribe starts every partition at its first record
// whose timestamp is at or after at, or at the partition's end if it has
// none. It is how a subscriber replays history from a point in time.
//
// It commits as an administrator does (kafka-consumer-groups
// --reset-offsets): the group must have no active members, or the broker
// refuses. Call it before Subscribe, or after every member closed.
func (s *Subscriber) SeekToTime(ctx context.Context, topic string, at time.Time) error {
	n, err := kafkatopics.Partitions(ctx, s.client, topic)
	if err != nil {
		return fmt.Errorf("seek topic %q to %s: %w", topic, at.Format(time.RFC3339Nano), err)
	}
	byTime := make([]kafka.OffsetRequest, n)
	last := make([]kafka.OffsetRequest, n)
	for p := range n {
		byTime[p] = kafka.TimeOffsetOf(p, at)
		last[p] = kafka.LastOffsetOf(p)
	}
	found, err := s.listOffsets(ctx, topic, byTime)
	if err != nil {
		return fmt.Errorf("seek topic %q to %s: %w", topic, at.Format(time.RFC3339Nano), err)
	}
	ends, err := s.listOffsets(ctx, topic, last)
	if err != nil {
		return fmt.Errorf("seek topic %q to %s: %w", topic, at.Format(time.RFC3339Nano), err)
	}
	offsets := make(map[int]int64, n)
	for p := range n {
		offsets[p] = ends[p].LastOffset
		for off := range found[p].Offsets {
			if off >= 0 {
				offsets[p] = off
			}
		}
	}
	if err := s.SeekToOffsets(ctx, topic, offsets); err != nil {
		return fmt.Errorf("seek topic %q to %s: %w", topic, at.Format(time.RFC3339Nano), err)
	}
	return nil
}

func (s *Subscriber) listOffsets(ctx context.Context, topic string, reqs []kafka.OffsetRequest) (map[int]kafka.PartitionOffsets, error) {
	resp, err := s.client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return nil, fmt.Errorf("list offsets: %w", err)
	}
	out := make(map[int]kafka.PartitionOffsets, len(reqs))
	for _, po := range resp.Topics[topic] {
		if po.Error != nil {
			return nil, fmt.Errorf("list offsets of partition %d: %w", po.Partition, po.Error)
		}
		out[po.Partition] = po
	}
	for _, r := range reqs {
		if _, ok := out[r.Partition]; !ok {
			return nil, fmt.Errorf("list offsets of partition %d: no answer from the broker", r.Partition)
		}
	}
	return out, nil
}

// SeekToOffsets commits, for the consumer group, the offset each listed
// partition of topic should continue from (the offset of the next record to
// deliver). Partitions not listed keep their committed offsets. The group
// must have no active members; see SeekToTime.
func (s *Subscriber) SeekToOffsets(ctx context.Context, topic string, offsets map[int]int64) error {
	if len(offsets) == 0 {
		return nil
	}
	commits := make([]kafka.OffsetCommit, 0, len(offsets))
	for p, off := range offsets {
		if p < 0 || off < 0 {
			return fmt.Errorf("seek topic %q: partition %d offset %d: partition and offset must not be negative", topic, p, off)
		}
		commits = append(commits, kafka.OffsetCommit{Partition: p, Offset: off})
	}
	resp, err := s.client.OffsetCommit(ctx, &kafka.OffsetCommitRequest{
		GroupID:      s.cfg.ConsumerGroup,
		GenerationID: -1, // an administrative commit, outside any generation
		Topics:       map[string][]kafka.OffsetCommit{topic: commits},
	})
	if err != nil {
		return fmt.Errorf("seek topic %q: commit offsets: %w", topic, err)
	}
	var errs []error
	for _, p := range resp.Topics[topic] {
		if p.Error != nil {
			hint := ""
			if errors.Is(p.Error, kafka.IllegalGeneration) || errors.Is(p.Error, kafka.UnknownMemberId) || errors.Is(p.Error, kafka.RebalanceInProgress) {
				hint = " (the consumer group has active members; close them first)"
			}
			errs = append(errs, fmt.Errorf("partition %d%s: %w", p.Partition, hint, p.Error))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("seek topic %q: commit offsets for group %q: %w", topic, s.cfg.ConsumerGroup, errors.Join(errs...))
	}
	return nil
}
