package kafkago

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/segmentio/kafka-go"
	metadataapi "github.com/segmentio/kafka-go/protocol/metadata"
)

// partitionWatchInterval is how often a generation compares the partition
// counts of its topics with those it was assigned against.
const partitionWatchInterval = 5 * time.Second

// assignedCounts notes, on the member that leads a consumer group, how many
// partitions each topic of the group's members had when it assigned them
// (zero for a topic deleted and not yet created again).
//
// The generation that follows compares later counts with these, and ends
// itself when they differ, so that the group rebalances: a topic grew, or
// came back after it was deleted. kafka-go's own watcher compares with the
// counts it reads when the generation starts instead, so a topic created
// again between the assignment and that start was never picked up and the
// group stayed assigned nothing; and while a topic was missing it ended
// every generation at once, rejoining in a busy loop.
type assignedCounts struct {
	mu     sync.Mutex
	counts map[string]int
}

// note records the partition count of every topic of members.
func (a *assignedCounts) note(members []kafka.GroupMember, partitions []kafka.Partition) {
	counts := make(map[string]int)
	for _, m := range members {
		for _, t := range m.Topics {
			counts[t] = 0
		}
	}
	for _, p := range partitions {
		if _, ok := counts[p.Topic]; ok {
			counts[p.Topic]++
		}
	}
	a.mu.Lock()
	a.counts = counts
	a.mu.Unlock()
}

// take returns the counts the last assignment noted and forgets them: a
// member that does not lead the next generation assigns nothing.
func (a *assignedCounts) take() map[string]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	counts := a.counts
	a.counts = nil
	return counts
}

// balancers wraps kafka-go's default group balancers so that the
// assignment this member makes as leader is noted in a.
func (a *assignedCounts) balancers() []kafka.GroupBalancer {
	return []kafka.GroupBalancer{
		noting{kafka.RangeGroupBalancer{}, a},
		noting{kafka.RoundRobinGroupBalancer{}, a},
	}
}

type noting struct {
	kafka.GroupBalancer
	counts *assignedCounts
}

func (n noting) AssignGroups(members []kafka.GroupMember, partitions []kafka.Partition) kafka.GroupMemberAssignments {
	n.counts.note(members, partitions)
	return n.GroupBalancer.AssignGroups(members, partitions)
}

// watchPartitions ends gen when the partition count of a topic differs
// from baseline: the counts this member assigned against as leader (every
// member's topics), or else nil, and then topic's count at the first look.
// Cached metadata is at most a transport's refresh old (a second), well
// under the first look's interval, so the first look already sees what
// changed after the assignment.
func (s *Subscriber) watchPartitions(gen *kafka.Generation, topic string, baseline map[string]int) {
	if baseline == nil {
		baseline = map[string]int{}
	} else if missing := missingTopics(baseline); len(missing) > 0 {
		s.logger.Info("Consumer group assigned while topics had no partitions; rejoining when they have", watermill.LogFields{
			"topic": topic, "missing": missing, "generation": gen.ID,
		})
	}
	gen.Start(func(ctx context.Context) {
		t := time.NewTicker(partitionWatchInterval)
		defer t.Stop()
		topics := slices.Sorted(maps.Keys(baseline))
		if len(topics) == 0 {
			topics = []string{topic}
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			counts, err := s.partitionCounts(ctx, topics)
			if err != nil {
				continue // the heartbeat notices a lost coordinator
			}
			for _, name := range topics {
				was, known := baseline[name]
				if !known {
					baseline[name] = counts[name]
					continue
				}
				if counts[name] != was {
					s.logger.Info("Partition count changed, rebalancing", watermill.LogFields{
						"topic": name, "partitions": counts[name], "assigned": was, "generation": gen.ID,
					})
					return // ends the generation
				}
			}
		}
	})
}

// missingTopics returns, sorted, the topics counts gives no partitions.
func missingTopics(counts map[string]int) []string {
	var out []string
	for t, c := range counts {
		if c == 0 {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}

// partitionCounts returns the number of partitions of each of topics the
// broker's metadata has (a missing topic counts none).
func (s *Subscriber) partitionCounts(ctx context.Context, topics []string) (map[string]int, error) {
	mctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := s.transport.RoundTrip(mctx, kafka.TCP(s.cfg.Brokers...), &metadataapi.Request{TopicNames: topics})
	if err != nil {
		return nil, err
	}
	counts := make(map[string]int, len(topics))
	for _, t := range resp.(*metadataapi.Response).Topics {
		if t.ErrorCode == 0 {
			counts[t.Name] = len(t.Partitions)
		}
	}
	return counts, nil
}
