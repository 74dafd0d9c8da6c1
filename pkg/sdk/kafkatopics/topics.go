// Package kafkatopics creates and describes Kafka topics over the Kafka
// protocol, through kafka-go's version-negotiating Client, so the same code
// works against the embedded broker and against Apache Kafka 4.x (whose
// KIP-896 removed the request versions kafka-go's older Conn API sends).
package kafkatopics

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"

	"github.com/samnav/samnav/pkg/sdk/kafkaauth"
)

// Spec describes a topic Samnav needs. The zero values of the optional fields
// mean "the broker's default".
type Spec struct {
	// Name is the topic name, for example samnav.person.v1.
	Name string
	// Partitions is the number of partitions; it must be at least 1.
	Partitions int
	// ReplicationFactor is the number of replicas; 0 or -1 means the
	// broker's default.replication.factor.
	ReplicationFactor int
	// Compact sets cleanup.policy=compact: state topics keep the newest
	// value per key, and tombstones erase a key.
	Compact bool
	// Retention sets retention.ms; 0 keeps the broker default, a negative
	// value keeps data forever (retention.ms=-1).
	Retention time.Duration
	// Configs holds further topic configs (name -> value). Keys set here
	// win over those derived from Compact and Retention.
	Configs map[string]string
}

// Validate reports every problem with the spec at once, each naming the field
// and the rule it breaks.
func (s Spec) Validate() error {
	var errs []error
	switch {
	case s.Name == "":
		errs = append(errs, errors.New("name: must not be empty"))
	case len(s.Name) > 249:
		errs = append(errs, fmt.Errorf("name %q: must be at most 249 characters", s.Name))
	case s.Name == "." || s.Name == "..":
		errs = append(errs, fmt.Errorf("name %q: must not be '.' or '..'", s.Name))
	default:
		for _, r := range s.Name {
			if !legalNameRune(r) {
				errs = append(errs, fmt.Errorf("name %q: may contain only ASCII letters, digits, '.', '_' and '-'", s.Name))
				break
			}
		}
	}
	if s.Partitions < 1 {
		errs = append(errs, fmt.Errorf("topic %q: partitions: must be at least 1, got %d", s.Name, s.Partitions))
	}
	if s.ReplicationFactor < -1 {
		errs = append(errs, fmt.Errorf("topic %q: replication factor: must be -1, 0 or positive, got %d", s.Name, s.ReplicationFactor))
	}
	return errors.Join(errs...)
}

// configEntries returns the topic-level configs the spec asks for.
func (s Spec) configEntries() []kafka.ConfigEntry {
	cfg := map[string]string{}
	if s.Compact {
		cfg["cleanup.policy"] = "compact"
	}
	switch {
	case s.Retention < 0:
		cfg["retention.ms"] = "-1"
	case s.Retention > 0:
		cfg["retention.ms"] = strconv.FormatInt(s.Retention.Milliseconds(), 10)
	}
	for k, v := range s.Configs {
		cfg[k] = v
	}
	entries := make([]kafka.ConfigEntry, 0, len(cfg))
	for k, v := range cfg {
		entries = append(entries, kafka.ConfigEntry{ConfigName: k, ConfigValue: v})
	}
	return entries
}

// Ensure creates every topic in specs that does not exist yet. A topic that
// already exists is left as it is (its partitions and configs are not
// changed). It returns one error naming every topic it could not create.
func Ensure(ctx context.Context, client *kafka.Client, specs ...Spec) error {
	if len(specs) == 0 {
		return nil
	}
	var errs []error
	topics := make([]kafka.TopicConfig, 0, len(specs))
	for _, s := range specs {
		if err := s.Validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		rf := s.ReplicationFactor
		if rf == 0 {
			rf = -1
		}
		topics = append(topics, kafka.TopicConfig{
			Topic:             s.Name,
			NumPartitions:     s.Partitions,
			ReplicationFactor: rf,
			ConfigEntries:     s.configEntries(),
		})
	}
	if len(errs) > 0 {
		return fmt.Errorf("ensure topics: %w", errors.Join(errs...))
	}
	resp, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: topics})
	if err != nil {
		return fmt.Errorf("ensure topics: create topics request: %w", err)
	}
	for name, terr := range resp.Errors {
		if terr == nil || errors.Is(terr, kafka.TopicAlreadyExists) {
			continue
		}
		errs = append(errs, fmt.Errorf("topic %q: %w", name, terr))
	}
	if len(errs) > 0 {
		return fmt.Errorf("ensure topics: %w", errors.Join(errs...))
	}
	return nil
}

// SetConfigs sets the topic-level configs of an existing topic
// (IncrementalAlterConfigs, operation SET): each name in configs gets its
// value, and every other config stays as it is. Ensure leaves an existing
// topic's configs alone; a service that changes what its topics must
// carry applies it with SetConfigs at start. Names and values go to the
// broker as given: it refuses an unknown name or a bad value, and the
// error names the topic.
func SetConfigs(ctx context.Context, client *kafka.Client, topic string, configs map[string]string) error {
	if len(configs) == 0 {
		return nil
	}
	entries := make([]kafka.IncrementalAlterConfigsRequestConfig, 0, len(configs))
	for k, v := range configs {
		entries = append(entries, kafka.IncrementalAlterConfigsRequestConfig{Name: k, Value: v, ConfigOperation: kafka.ConfigOperationSet})
	}
	resp, err := client.IncrementalAlterConfigs(ctx, &kafka.IncrementalAlterConfigsRequest{
		Resources: []kafka.IncrementalAlterConfigsRequestResource{{
			ResourceType: kafka.ResourceTypeTopic,
			ResourceName: topic,
			Configs:      entries,
		}},
	})
	if err != nil {
		return fmt.Errorf("set configs of topic %q: %w", topic, err)
	}
	for _, r := range resp.Resources {
		if r.Error != nil {
			return fmt.Errorf("set configs of topic %q: %w", topic, r.Error)
		}
	}
	return nil
}

// Describe returns the topic-level configs of a topic as the broker reports
// them, for checks such as "is this state topic compacted".
func Describe(ctx context.Context, client *kafka.Client, topic string) (map[string]string, error) {
	resp, err := client.DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{
		Resources: []kafka.DescribeConfigRequestResource{{
			ResourceType: kafka.ResourceTypeTopic,
			ResourceName: topic,
		}},
	})
	if err != nil {
		return nil, fmt.Errorf("describe topic %q: %w", topic, err)
	}
	out := map[string]string{}
	for _, r := range resp.Resources {
		if r.Error != nil {
			return nil, fmt.Errorf("describe topic %q: %w", topic, r.Error)
		}
		for _, e := range r.ConfigEntries {
			out[e.ConfigName] = e.ConfigValue
		}
	}
	return out, nil
}

// Partitions returns the number of partitions of a topic, or an error wrapping
// kafka.UnknownTopicOrPartition when it does not exist.
func Partitions(ctx context.Context, client *kafka.Client, topic string) (int, error) {
	resp, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return 0, fmt.Errorf("metadata for topic %q: %w", topic, err)
	}
	for _, t := range resp.Topics {
		if strings.EqualFold(t.Name, topic) {
			if t.Error != nil {
				return 0, fmt.Errorf("metadata for topic %q: %w", topic, t.Error)
			}
			return len(t.Partitions), nil
		}
	}
	return 0, fmt.Errorf("metadata for topic %q: %w", topic, kafka.UnknownTopicOrPartition)
}

// NewClient returns a version-negotiating kafka.Client for brokers with a
// transport of its own (from pkg/sdk/kafkaauth, without SASL or TLS), and a
// function that closes the transport's idle connections when the caller is
// done. kafka-go's DefaultTransport pools connections per address for the
// whole process: after a broker restarts on the same address, a pooled
// connection fails the next request with "unexpected EOF". A client of its
// own starts from fresh connections.
func NewClient(timeout time.Duration, brokers ...string) (*kafka.Client, func()) {
	return NewClientSASL(timeout, nil, brokers...)
}

// NewClientSASL is NewClient authenticating with mechanism (nil means no
// SASL), for a broker that requires it: pass the SASLMechanism of the
// Dialer the caller's consumers use. A service builds its clients from
// kafkaauth.Settings instead, which also carries TLS.
func NewClientSASL(timeout time.Duration, mechanism sasl.Mechanism, brokers ...string) (*kafka.Client, func()) {
	d := kafkaauth.DefaultDialer()
	d.SASLMechanism = mechanism
	t := kafkaauth.TransportFor(d)
	return kafkaauth.ClientOn(t, timeout, brokers...), t.CloseIdleConnections
}

// legalNameRune reports whether r may appear in a topic name: an ASCII
// letter or digit, '.', '_' or '-'.
func legalNameRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
}
