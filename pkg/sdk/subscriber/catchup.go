package subscriber

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/samnav/samnav/pkg/sdk/kafkaauth"
	"github.com/samnav/samnav/pkg/sdk/kafkago"
	"github.com/samnav/samnav/pkg/sdk/kafkatopics"
)

// This file tracks where the group stands: the ends of the topics at Run
// (the snapshot), what the group has committed, and when it has caught up.

// clientComponent names the SDK's connections in the broker's logs:
// "<Connection.ClientID>-subscriber", by default "samnav-subscriber".
const clientComponent = "subscriber"

// adminClient returns a client for metadata, offsets and topic creation
// that connects as the consumer does: with its Dialer's SASL mechanism and
// TLS settings, so that a broker requiring SASL (the hub's, with ACLs)
// accepts it as the same principal.
func adminClient(d *kafka.Dialer, brokers []string) (*kafka.Client, func()) {
	t := kafkaauth.TransportFor(d)
	return kafkaauth.ClientOn(t, 10*time.Second, brokers...), t.CloseIdleConnections
}

// prepare checks the dead-letter topic, applies ReplayFrom and notes where
// each partition ends now (the end of the snapshot).
func (s *Subscriber) prepare(ctx context.Context, client *kafka.Client, sub *kafkago.Subscriber, topic string) error {
	n, err := kafkatopics.Partitions(ctx, client, topic)
	if err != nil {
		return err
	}
	dlq := DeadLetterTopic(topic, s.cfg.Group)
	if s.cfg.CreateDeadLetterTopics {
		if err := kafkatopics.Ensure(ctx, client, kafkatopics.Spec{Name: dlq, Partitions: n}); err != nil {
			return fmt.Errorf("create dead-letter topic: %w", err)
		}
	} else if _, err := kafkatopics.Partitions(ctx, client, dlq); err != nil {
		return fmt.Errorf("dead-letter topic %s (create it, or set CreateDeadLetterTopics): %w", dlq, err)
	}
	if !s.cfg.ReplayFrom.IsZero() {
		forgot, err := s.cfg.Store.Forget(ctx, s.cfg.Group, s.cfg.ReplayFrom)
		if err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		if err := sub.SeekToTime(ctx, topic, s.cfg.ReplayFrom); err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		s.logger.InfoContext(ctx, "replaying", "topic", topic, "from", s.cfg.ReplayFrom, "forgotten", forgot)
	}
	heads, err := listOffsets(ctx, client, topic, n, kafka.LastOffsetOf)
	if err != nil {
		return fmt.Errorf("read partition ends: %w", err)
	}
	firsts, err := listOffsets(ctx, client, topic, n, kafka.FirstOffsetOf)
	if err != nil {
		return fmt.Errorf("read partition starts: %w", err)
	}
	committed, err := fetchCommitted(ctx, client, s.cfg.Group, topic, n)
	if err != nil {
		return fmt.Errorf("read committed offsets: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.heads[topic], s.progress[topic] = map[int]int64{}, map[int]int64{}
	for p := range n {
		s.heads[topic][p] = heads[p].LastOffset
		// With nothing committed the group starts at the earliest record.
		s.progress[topic][p] = max(committed[p], firsts[p].FirstOffset)
	}
	return nil
}

func listOffsets(ctx context.Context, client *kafka.Client, topic string, n int, req func(int) kafka.OffsetRequest) (map[int]kafka.PartitionOffsets, error) {
	reqs := make([]kafka.OffsetRequest, n)
	for p := range n {
		reqs[p] = req(p)
	}
	resp, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return nil, fmt.Errorf("list offsets: %w", err)
	}
	out := map[int]kafka.PartitionOffsets{}
	for _, po := range resp.Topics[topic] {
		if po.Error != nil {
			return nil, fmt.Errorf("list offsets of partition %d: %w", po.Partition, po.Error)
		}
		out[po.Partition] = po
	}
	if len(out) != n {
		return nil, fmt.Errorf("list offsets: %d of %d partitions answered", len(out), n)
	}
	return out, nil
}

// fetchCommitted returns the group's committed offsets (-1 for none).
func fetchCommitted(ctx context.Context, client *kafka.Client, group, topic string, n int) (map[int]int64, error) {
	parts := make([]int, n)
	for p := range n {
		parts[p] = p
	}
	resp, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
	if err != nil {
		return nil, fmt.Errorf("offset fetch: %w", err)
	}
	out := map[int]int64{}
	for p := range n {
		out[p] = -1
	}
	if errors.Is(resp.Error, kafka.GroupIdNotFound) {
		return out, nil // a new group: nothing committed
	}
	if resp.Error != nil {
		return nil, fmt.Errorf("offset fetch: %w", resp.Error)
	}
	for _, po := range resp.Topics[topic] {
		if po.Error == nil {
			out[po.Partition] = po.CommittedOffset
		}
	}
	return out, nil
}

// watchCommitted follows the group's committed offsets until caught up, for
// partitions other members of the group consume (and records the transport
// skipped as undecodable, which this member never sees).
func (s *Subscriber) watchCommitted(ctx context.Context, client *kafka.Client) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.caughtUp:
			return
		case <-t.C:
		}
		for topic, heads := range s.snapshotHeads() {
			committed, err := fetchCommitted(ctx, client, s.cfg.Group, topic, len(heads))
			if err != nil {
				continue
			}
			for p, off := range committed {
				s.advance(topic, p, off)
			}
		}
		s.checkCaughtUp()
	}
}

func (s *Subscriber) snapshotHeads() map[string]map[int]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]map[int]int64{}
	for t, h := range s.heads {
		out[t] = h
	}
	return out
}

func (s *Subscriber) advance(topic string, partition int, next int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if next > s.progress[topic][partition] {
		s.progress[topic][partition] = next
	}
}

func (s *Subscriber) checkCaughtUp() {
	s.mu.Lock()
	for topic, heads := range s.heads {
		for p, head := range heads {
			if s.progress[topic][p] < head {
				s.mu.Unlock()
				return
			}
		}
	}
	s.mu.Unlock()
	s.caughtUpOnce.Do(func() {
		close(s.caughtUp)
		s.logger.Info("caught up: snapshot done, following changes")
		if s.cfg.OnCaughtUp != nil {
			go s.cfg.OnCaughtUp()
		}
	})
}
