package masterdata

import (
	"context"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/daemon"
	"github.com/samnav/samnav/pkg/sdk/envelope"
	"github.com/samnav/samnav/pkg/sdk/kafkatopics"
)

// DefaultRelayStallAfter is how long the outbox relay may be blocked before
// /healthz reports the service degraded.
const DefaultRelayStallAfter = time.Minute

// topicSpec is the state topic of concept c as master data creates it.
func (s *Server) topicSpec(c *model.Concept) kafkatopics.Spec {
	parts := s.cfg.TopicPartitions
	if parts == 0 {
		parts = 3
	}
	return kafkatopics.Spec{Name: envelope.StateTopic(c.ID, c.Major), Partitions: parts, Compact: true, Retention: -1}
}

// createStateTopic is the relay's OnUnknownTopic: it recreates a missing
// state topic of a concept of the model, as ensureTopics creates it at
// start, when the service may create topics (EnsureTopics). Any other topic
// is refused: the relay stays blocked at it, and /healthz names it.
func (s *Server) createStateTopic(ctx context.Context, client *kafka.Client, topic string) error {
	if !s.cfg.EnsureTopics {
		return fmt.Errorf("master data creates no topics (EnsureTopics is off); create %q on the broker", topic)
	}
	for _, c := range s.model.Concepts {
		if envelope.StateTopic(c.ID, c.Major) != topic {
			continue
		}
		if err := kafkatopics.Ensure(ctx, client, s.topicSpec(c)); err != nil {
			return fmt.Errorf("recreate state topic of concept %s: %w", c.ID, err)
		}
		s.logger.Warn("state topic was missing; recreated it", "topic", topic, "concept", c.ID)
		return nil
	}
	return fmt.Errorf("%q is not the state topic of a concept in the model, so master data does not create it", topic)
}

// Health is the service's health as /healthz reports it.
type Health struct {
	// Status is "ok" or "degraded".
	Status string `json:"status"`
	// Problems says what is degraded, one line each.
	Problems []string `json:"problems,omitempty"`
	// Relay is the outbox relay's state; absent without Brokers.
	Relay *RelayHealth `json:"relay,omitempty"`
}

// RelayHealth is the outbox relay's part of Health.
type RelayHealth struct {
	Leader      bool       `json:"leader"`
	Position    int64      `json:"position"`
	PublishedAt *time.Time `json:"publishedAt,omitempty"`
	// Pending counts changes not yet on Kafka; -1 if unknown.
	Pending int64 `json:"pending"`
	// Blocked describes the change the relay cannot publish; every later
	// change waits behind it.
	Blocked *RelayBlocked `json:"blocked,omitempty"`
}

// RelayBlocked is the relay's block in RelayHealth.
type RelayBlocked struct {
	Entry        int64     `json:"entry"`
	Topic        string    `json:"topic,omitempty"`
	UnknownTopic bool      `json:"unknownTopic"`
	Error        string    `json:"error"`
	Since        time.Time `json:"since"`
	Attempts     int       `json:"attempts"`
}

// Health checks the database, Kafka and the outbox relay (see Checks): it
// is degraded when the database or Kafka does not answer, or when the
// relay has been blocked (nothing published) for longer than
// RelayStallAfter.
func (s *Server) Health(ctx context.Context) Health {
	rep := daemon.Health(ctx, s.Checks())
	h := Health{Status: rep.Status, Problems: rep.Problems}
	h.Relay, _ = rep.Details["relay"].(*RelayHealth)
	return h
}

// Checks are what /healthz checks: the database answers; with Brokers,
// Kafka answers with the service's credentials, and the outbox relay
// (reported under "relay") is not blocked for longer than RelayStallAfter.
// /livez answers while the process serves, since restarting does not heal
// a missing topic.
func (s *Server) Checks() []daemon.Check {
	checks := []daemon.Check{daemon.PingCheck("database", s.db)}
	if s.relay == nil {
		return checks
	}
	return append(checks,
		daemon.Check{Name: "kafka", Run: func(ctx context.Context) (any, []string) {
			if err := s.cfg.kafka().Check(ctx); err != nil {
				return nil, []string{"kafka: " + err.Error()}
			}
			return nil, nil
		}},
		daemon.Check{Name: "relay", Run: s.relayHealth})
}

// relayHealth reports the outbox relay's state, and a problem when it has
// been blocked for longer than RelayStallAfter.
func (s *Server) relayHealth(ctx context.Context) (any, []string) {
	var problems []string
	st, err := s.relay.Status(ctx)
	if err != nil {
		problems = append(problems, "outbox: "+err.Error())
	}
	rh := &RelayHealth{Leader: st.Leader, Position: st.Position, Pending: st.Pending}
	if !st.PublishedAt.IsZero() {
		at := st.PublishedAt.UTC()
		rh.PublishedAt = &at
	}
	if b := st.Blocked; b != nil && st.Leader {
		rh.Blocked = &RelayBlocked{Entry: b.Entry, Topic: b.Topic, UnknownTopic: b.UnknownTopic, Error: b.Err, Since: b.Since.UTC(), Attempts: b.Attempts}
	}
	stall := s.cfg.RelayStallAfter
	if stall == 0 {
		stall = DefaultRelayStallAfter
	}
	if now := time.Now(); st.Stalled(now, stall) {
		problems = append(problems, fmt.Sprintf("outbox relay blocked for %s at entry %d (%d changes wait): %s",
			now.Sub(st.Blocked.Since).Round(time.Second), st.Blocked.Entry, st.Pending, st.Blocked.Err))
	}
	return rh, problems
}
