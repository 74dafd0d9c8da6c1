// Package kafkaview is the Kafka channel: every subscription on it gets
// its own compacted view topic samnav.view.<system>.<concept>.v<major>,
// keyed by the record's opaque id, its values the projected record in the
// Confluent wire format with the projected schema registered under
// "<view topic>-value", with the state topic's CloudEvents headers, and a
// tombstone when a record is erased. ACLs says what Kafka must grant so
// that only the subscribing system reads its view topic; Reconcile applies
// them over the Kafka protocol (to the embedded broker and to Apache Kafka
// alike), removes those of subscriptions no longer approved, and deletes
// the view topics of revoked subscriptions.
package kafkaview

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/segmentio/kafka-go"

	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/sdk/avroserde"
	"github.com/samnav/samnav/pkg/sdk/envelope"
	"github.com/samnav/samnav/pkg/sdk/kafkaauth"
	"github.com/samnav/samnav/pkg/sdk/kafkago"
	"github.com/samnav/samnav/pkg/sdk/kafkatopics"
	"github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/delivery/internal/channel"
	"github.com/samnav/samnav/services/delivery/internal/projection"
)

// Topic names the view topic of a subscription.
func Topic(s client.Subscription) string {
	return envelope.ViewTopic(s.System, s.Concept, s.Major)
}

// Subjects is what rebuilding a view needs of the schema registry beside
// registration: the view subject's latest schema (is the view built for
// the subscription's projection?) and deleting the subject's versions
// (a rebuilt view starts a new schema history). avroserde.RegistryClient
// implements it.
type Subjects interface {
	LatestSchema(ctx context.Context, subject string) (id uint32, schema string, err error)
	DeleteSubject(ctx context.Context, subject string) error
}

var _ Subjects = (*avroserde.RegistryClient)(nil)

// Shapes keeps, durably, what each subscription's view was built for
// (feed.SQLStore does, in the delivery database). See Config.Shapes.
type Shapes interface {
	// Shape returns what SetShape last recorded for sub, "" if nothing.
	Shape(ctx context.Context, sub string) (string, error)
	// SetShape records shape for sub; "" removes the record.
	SetShape(ctx context.Context, sub, shape string) error
}

// Config configures a Channel.
type Config struct {
	Brokers []string
	// Registrar registers view schemas. When it is also a Subjects (the
	// registry client is), Clear deletes the view subject's versions and
	// Current compares its latest schema with the projection; without it
	// a widened schema may be refused and Current only checks the topic.
	Registrar avroserde.Registrar
	// Shapes, optional, records the projection (approved fields,
	// protected identities) each view was Built for, so that Current also
	// sees a change of protected identities that leaves the projected
	// schema as it was. Without it, or for a view built before it was
	// set, Current compares the registered schema only.
	Shapes Shapes
	Model  *model.Model
	// Schemas maps concept id to its generated Avro schema.
	Schemas map[string]string
	// Partitions of each view topic; default 3.
	Partitions int
	// Publisher is the producer; nil makes one with acks=all and
	// kafkago.ExternalMarshaler. One given here must use ExternalMarshaler
	// too, so that nothing internal reaches the subscriber.
	Publisher *kafkago.Publisher
	// Auth is the delivery service's own Kafka credentials. With a SASL
	// mechanism set, Reconcile also manages the subscribers' ACLs (the
	// principal needs ALTER and DESCRIBE on the cluster, and CREATE,
	// DELETE, WRITE, DESCRIBE on topics prefixed envelope.ViewTopicPrefix).
	Auth kafkaauth.Config
	// Connection is the TLS, client id and timeouts of the channel's Kafka
	// clients (kafkaauth.Settings with Brokers and Auth).
	Connection kafkaauth.Connection
	// MaxCompactionLag bounds how long a superseded value stays readable
	// in a view topic: a person who becomes a protected identity is
	// written again shielded, and the record that showed the address is
	// compacted away within it. It is the view topics' max.compaction.lag.ms
	// and their segment.ms (Apache Kafka never compacts the active segment;
	// see docs/architecture.md "Copies forget within a bound"). Default
	// DefaultMaxCompactionLag; at least a millisecond.
	MaxCompactionLag time.Duration
	// DeleteRetention is how long a view topic keeps a tombstone (an
	// erased record) after compaction reached it, for subscribers that
	// were away: their delete.retention.ms. A tombstone holds the opaque
	// key only. Default DefaultDeleteRetention.
	DeleteRetention time.Duration
	// Republishes, optional, keeps the re-publishes that close the bound
	// on a quiet view partition: every record that withholds what the
	// key's earlier records may hold (a protected identity's shielded
	// record, an erasure) schedules, durably and before DeliverBatch
	// returns, one re-publish of the key's current record after
	// MaxCompactionLag and RepublishMargin, which RunRepublishes does.
	// Without it nothing is scheduled, and a partition that receives
	// nothing more keeps the earlier record until its next write.
	Republishes Republishes
}

// Defaults of Config's compaction bounds.
const (
	// DefaultMaxCompactionLag: within an hour of a person becoming
	// protected no view shows their earlier address, while the broker
	// rolls each view partition's segment at most hourly (fewer, larger
	// files than a shorter bound would make).
	DefaultMaxCompactionLag = time.Hour
	// DefaultDeleteRetention is Apache Kafka's default offsets retention
	// (offsets.retention.minutes, seven days): a subscriber whose group
	// still has a committed offset sees every erasure; one away longer
	// starts again from the beginning, where the erased key is absent.
	DefaultDeleteRetention = 7 * 24 * time.Hour
)

// Validate reports every problem with c's compaction bounds at once, each
// naming the field and the rule.
func (c Config) Validate() error {
	var errs []error
	if c.MaxCompactionLag < 0 || c.MaxCompactionLag > 0 && c.MaxCompactionLag < time.Millisecond {
		errs = append(errs, fmt.Errorf("MaxCompactionLag: must be 0 (default %s) or at least 1ms, got %s", DefaultMaxCompactionLag, c.MaxCompactionLag))
	}
	if c.DeleteRetention < 0 {
		errs = append(errs, fmt.Errorf("DeleteRetention: must not be negative, got %s", c.DeleteRetention))
	}
	return errors.Join(errs...)
}

// TopicConfigs returns the topic-level configs every view topic carries
// beside cleanup.policy=compact and retention.ms=-1: the compaction bounds.
// The channel sets them on the topics it creates and, at the first use of
// a view in a process, on a view topic that exists already.
func (c Config) TopicConfigs() map[string]string {
	lag := cmp.Or(c.MaxCompactionLag, DefaultMaxCompactionLag).Milliseconds()
	del := cmp.Or(c.DeleteRetention, DefaultDeleteRetention).Milliseconds()
	return map[string]string{
		"max.compaction.lag.ms": strconv.FormatInt(lag, 10),
		// Kafka rolls a compacted topic's active segment at the smaller
		// of the two anyway; saying so keeps the bound on brokers and
		// tools that read segment.ms alone.
		"segment.ms":          strconv.FormatInt(lag, 10),
		"delete.retention.ms": strconv.FormatInt(del, 10),
	}
}

// spec is the view topic's spec.
func (c Config) spec(topic string) kafkatopics.Spec {
	return kafkatopics.Spec{Name: topic, Partitions: c.Partitions, Compact: true, Retention: -1, Configs: c.TopicConfigs()}
}

// kafka returns the settings the channel's Kafka clients are built from.
func (c Config) kafka() kafkaauth.Settings {
	return kafkaauth.Settings{Brokers: c.Brokers, SASL: c.Auth, Connection: c.Connection}
}

// Channel writes view topics. It implements channel.Channel.
type Channel struct {
	cfg Config
	pub *kafkago.Publisher
	own bool
	// transport is the publisher's when own: closed by Close.
	transport *kafka.Transport

	mu    sync.Mutex
	views map[string]*view // by subscription id + version
	// deleted holds revoked view topics Reconcile deleted, so later
	// rounds do not ask again (cleared when a topic is approved again).
	deleted map[string]bool
	// locks serialise the writes to each subscription's view in this
	// process (see lock).
	locks map[string]*sync.Mutex
}

type view struct {
	topic string
	proj  *projection.Projection
	ser   *avroserde.Serializer
}

var _ channel.Channel = (*Channel)(nil)

// New returns the channel; it connects on first Deliver.
func New(cfg Config) (*Channel, error) {
	if cfg.Partitions == 0 {
		cfg.Partitions = 3
	}
	c := &Channel{cfg: cfg, pub: cfg.Publisher, views: map[string]*view{}, deleted: map[string]bool{}, locks: map[string]*sync.Mutex{}}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("view channel: %w", err)
	}
	if err := cfg.Auth.Validate(); err != nil {
		return nil, fmt.Errorf("view channel: kafka credentials: %w", err)
	}
	if err := cfg.Connection.Validate(cfg.Auth); err != nil {
		return nil, fmt.Errorf("view channel: kafka connection: %w", err)
	}
	if c.pub == nil {
		// A view topic is read by the subscribing system: it gets the
		// event's envelope as headers and nothing of the hub's plumbing.
		pc := kafkago.PublisherConfig{Brokers: cfg.Brokers, RequiredAcks: kafkago.AcksAll, Marshaler: kafkago.ExternalMarshaler{}}
		t, err := cfg.kafka().Transport("delivery")
		if err != nil {
			return nil, err
		}
		pc.Transport = t
		p, err := kafkago.NewPublisher(pc, nil)
		if err != nil {
			t.CloseIdleConnections()
			return nil, fmt.Errorf("view publisher: %w", err)
		}
		c.pub, c.own, c.transport = p, true, t
	}
	return c, nil
}

// Close releases the producer if the channel made it.
func (c *Channel) Close() error {
	if c.own {
		defer c.transport.CloseIdleConnections()
		return c.pub.Close()
	}
	return nil
}

// project makes the projection of s's concept to what s is approved for.
func (c *Channel) project(s client.Subscription) (*projection.Projection, error) {
	con := c.cfg.Model.Concept(s.Concept)
	if con == nil {
		return nil, fmt.Errorf("view of %s: concept %q is not in the model", s.ID, s.Concept)
	}
	return projection.New(con, c.cfg.Schemas[s.Concept], s.ApprovedFields, s.ProtectedApproved)
}

// view prepares (once per subscription version) the topic, the
// projection and the serializer of s.
func (c *Channel) view(ctx context.Context, s client.Subscription) (*view, error) {
	key := s.ID + "/" + strconv.FormatInt(s.Version, 10)
	c.mu.Lock()
	v := c.views[key]
	c.mu.Unlock()
	if v != nil {
		return v, nil
	}
	proj, err := c.project(s)
	if err != nil {
		return nil, err
	}
	topic := Topic(s)
	// The topic first, then the schema: a consumer that waits for the
	// view's schema to be registered finds the topic there.
	client, done, err := c.cfg.kafka().Client("delivery-admin")
	if err != nil {
		return nil, err
	}
	defer done()
	if err := kafkatopics.Ensure(ctx, client, c.cfg.spec(topic)); err != nil {
		return nil, fmt.Errorf("ensure view topic: %w", err)
	}
	// Ensure leaves a topic made by an earlier release, or under other
	// bounds, as it was: the bounds configured now apply to it too.
	if err := kafkatopics.SetConfigs(ctx, client, topic, c.cfg.TopicConfigs()); err != nil {
		return nil, fmt.Errorf("view topic compaction bounds: %w", err)
	}
	ser, err := avroserde.NewSerializer(c.cfg.Registrar, avroserde.TopicSubject(topic, false), proj.Schema())
	if err != nil {
		return nil, fmt.Errorf("view serializer of %s: %w", topic, err)
	}
	if _, err := ser.SchemaID(ctx); err != nil {
		return nil, fmt.Errorf("register view schema of %s: %w", topic, err)
	}
	v = &view{topic: topic, proj: proj, ser: ser}
	c.mu.Lock()
	c.views[key] = v
	c.mu.Unlock()
	return v, nil
}

// Deliver writes ev to the subscription's view topic and returns once
// Kafka acknowledged it (acks=all).
func (c *Channel) Deliver(ctx context.Context, s client.Subscription, ev channel.Event) error {
	return c.DeliverBatch(ctx, s, []channel.Event{ev})
}

// DeliverBatch writes evs to the subscription's view topic in one Publish
// and returns once Kafka acknowledged every one (acks=all). Concurrent
// calls (other subscriptions, other replicas' partitions) share the
// producer's batches. On an error some of evs may be written: offering
// them again duplicates (same ce_id), never loses; events of one key are
// written in the order given, as they land in one view partition. With
// Config.Republishes, the keys of evs that withhold fields or erase are
// scheduled for a re-publish before it returns nil; a failure to schedule
// is an error, so the batch is offered again.
func (c *Channel) DeliverBatch(ctx context.Context, s client.Subscription, evs []channel.Event) error {
	if len(evs) == 0 {
		return nil
	}
	l := c.lock(s.ID)
	l.Lock()
	defer l.Unlock()
	v, err := c.view(ctx, s)
	if err != nil {
		return err
	}
	msgs := make([]*message.Message, len(evs))
	for i, ev := range evs {
		if msgs[i], err = c.message(ctx, v, s, ev); err != nil {
			return err
		}
	}
	written := time.Now()
	if err := c.pub.Publish(v.topic, msgs...); err != nil {
		return fmt.Errorf("publish to %s: %w", v.topic, err)
	}
	if keys := withholds(evs); len(keys) > 0 && c.cfg.Republishes != nil {
		due := written.Add(cmp.Or(c.cfg.MaxCompactionLag, DefaultMaxCompactionLag) + c.cfg.RepublishMargin())
		if err := c.cfg.Republishes.ScheduleRepublish(ctx, s.ID, keys, written, due); err != nil {
			return fmt.Errorf("publish to %s: %w", v.topic, err)
		}
	}
	return nil
}

func (c *Channel) message(ctx context.Context, v *view, s client.Subscription, ev channel.Event) (*message.Message, error) {
	msg := message.NewMessage(ev.EventID, nil)
	md := msg.Metadata
	md.Set(kafkago.PartitionKeyMetadata, ev.Key)
	env := envelope.Envelope{
		ID: ev.EventID, Source: envelope.SourceDelivery, Type: envelope.EventType(ev.Concept, envelope.Kind(ev.Type)),
		Subject: ev.Key, Time: ev.Time, Revision: ev.Revision, EndedAt: ev.EndedAt,
		Subscription: s.ID, ViewShape: shapeTag(s), TraceParent: ev.Trace,
	}
	if ev.Type != channel.TypeErased {
		val, err := v.proj.AvroValue(ev.State)
		if err != nil {
			return nil, fmt.Errorf("view value of %s: %w", ev.Key, err)
		}
		if msg.Payload, err = v.ser.EncodeContext(ctx, val); err != nil {
			return nil, fmt.Errorf("encode view value of %s: %w", ev.Key, err)
		}
		env.DataContentType = envelope.ContentTypeAvro
	}
	for k, v := range env.Headers() {
		md.Set(k, v)
	}
	return msg, nil
}

// Clear implements pipeline.Rebuilder: it deletes s's view topic, so that
// no record written under another projection stays readable, waits until
// the broker no longer knows it, deletes every schema version of the view
// subject (soft, then permanent), and creates the topic again empty. The
// pipeline then fills it from the state topic's snapshot after Built
// registered s's projected schema. The ACLs, which name the topic, stay.
//
// The subject goes with the data: its versions describe records that no
// longer exist, and under the registry's default BACKWARD_TRANSITIVE they
// would refuse a widened schema (a required field added cannot read old
// records). Deleting them, rather than setting the subject's
// compatibility to NONE, keeps the check for everything written to the
// rebuilt topic: every record in it stays readable with its latest
// schema, and a later schema change that is not a rebuild is still
// refused if it would break that.
//
// Deleting a topic deletes every consumer group's committed offsets on it
// (Apache Kafka and the embedded broker alike), so a subscriber that is
// not running reads the rebuilt view from the start when it comes back
// (the SDK drops what it already applied by event id). A subscriber that
// is running while its view is rebuilt keeps its position in memory and
// would skip the rebuilt topic's first records: it must be restarted
// (the hub cannot tell it).
func (c *Channel) Clear(ctx context.Context, s client.Subscription) error {
	topic := Topic(s)
	client, done, err := c.cfg.kafka().Client("delivery-admin")
	if err != nil {
		return err
	}
	defer done()
	// No delivery or re-publish of s writes to the topic meanwhile.
	l := c.lock(s.ID)
	l.Lock()
	defer l.Unlock()
	c.forget(topic)
	if err := deleteTopics(ctx, client, []string{topic}); err != nil {
		return fmt.Errorf("clear view %s: %w", topic, err)
	}
	// Nothing written before is left to re-publish; what the rebuild
	// writes schedules its own.
	if c.cfg.Republishes != nil {
		if err := c.cfg.Republishes.ForgetRepublishes(ctx, s.ID); err != nil {
			return fmt.Errorf("clear view %s: %w", topic, err)
		}
	}
	// Deletion is asynchronous on Apache Kafka: creating the topic
	// before it is gone would keep the old one.
	for wait := 50 * time.Millisecond; ; wait = min(2*wait, 2*time.Second) {
		_, err := kafkatopics.Partitions(ctx, client, topic)
		if errors.Is(err, kafka.UnknownTopicOrPartition) {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("clear view %s: waiting for its deletion: %w", topic, ctx.Err())
		case <-time.After(wait):
		}
	}
	if sub, ok := c.cfg.Registrar.(Subjects); ok {
		subject := avroserde.TopicSubject(topic, false)
		if err := sub.DeleteSubject(ctx, subject); err != nil {
			return fmt.Errorf("clear view %s: delete the schema versions of %s: %w", topic, subject, err)
		}
	}
	if c.cfg.Shapes != nil {
		if err := c.cfg.Shapes.SetShape(ctx, s.ID, ""); err != nil {
			return fmt.Errorf("clear view %s: %w", topic, err)
		}
	}
	if err := kafkatopics.Ensure(ctx, client, c.cfg.spec(topic)); err != nil {
		return fmt.Errorf("clear view %s: create it again: %w", topic, err)
	}
	return nil
}

// Built implements pipeline.Rebuilder: it makes sure s's view topic
// exists and registers s's projected schema under the view subject. A
// refusal names the subject and carries the registry's message.
func (c *Channel) Built(ctx context.Context, s client.Subscription) error {
	if _, err := c.view(ctx, s); err != nil {
		return err
	}
	if c.cfg.Shapes != nil {
		if err := c.cfg.Shapes.SetShape(ctx, s.ID, shape(s)); err != nil {
			return fmt.Errorf("view of %s: %w", s.ID, err)
		}
	}
	return nil
}

// shape names s's projection: its approved fields, sorted, and whether
// it receives protected identities' shielded attributes.
// shapeTag is a short, stable name of s's shape, carried on every view
// record: a rebuild for a new shape sends the same events again, and a
// subscriber that deduplicates by event id must apply them again.
func shapeTag(s client.Subscription) string {
	sum := sha256.Sum256([]byte(shape(s)))
	return hex.EncodeToString(sum[:6])
}

func shape(s client.Subscription) string {
	fields := slices.Clone(s.ApprovedFields)
	slices.Sort(fields)
	fields = slices.Compact(fields)
	return fmt.Sprintf("fields=%s;protected=%t", strings.Join(fields, ","), s.ProtectedApproved)
}

// forget drops the prepared views of topic, so that the next Deliver
// creates the topic and registers its schema again.
func (c *Channel) forget(topic string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, v := range c.views {
		if v.topic == topic {
			delete(c.views, k)
		}
	}
}

// Current implements pipeline.Rebuilder: whether s's view topic exists
// and the latest schema of its subject is s's projected schema (which
// Built registers after every rebuild). A reshaping saved before the
// process stopped, or a rebuild interrupted before Built, leaves another
// schema, or none, there. With Config.Shapes it also compares the
// recorded projection, which sees a change of protected identities alone
// that leaves the projected schema as it was. Without Subjects it checks
// the topic (and the recorded projection) only.
func (c *Channel) Current(ctx context.Context, s client.Subscription) (bool, error) {
	client, done, err := c.cfg.kafka().Client("delivery-admin")
	if err != nil {
		return false, err
	}
	defer done()
	_, err = kafkatopics.Partitions(ctx, client, Topic(s))
	switch {
	case errors.Is(err, kafka.UnknownTopicOrPartition):
		c.forget(Topic(s))
		return false, nil
	case err != nil:
		return false, fmt.Errorf("view of %s: %w", s.ID, err)
	}
	if c.cfg.Shapes != nil {
		built, err := c.cfg.Shapes.Shape(ctx, s.ID)
		if err != nil {
			return false, fmt.Errorf("view of %s: %w", s.ID, err)
		}
		if built != "" && built != shape(s) {
			return false, nil
		}
	}
	sub, ok := c.cfg.Registrar.(Subjects)
	if !ok {
		return true, nil
	}
	proj, err := c.project(s)
	if err != nil {
		return false, err
	}
	subject := avroserde.TopicSubject(Topic(s), false)
	_, latest, err := sub.LatestSchema(ctx, subject)
	switch {
	case errors.Is(err, avroserde.ErrNotRegistered):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("view of %s: latest schema of %s: %w", s.ID, subject, err)
	}
	return sameSchema(latest, proj.Schema()), nil
}

// sameSchema reports whether the Avro schemas a and b are the same but
// for docs (and whitespace or key order, which the registry may change):
// a contract release that only rewords a doc does not rebuild views.
func sameSchema(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return a == b
	}
	return reflect.DeepEqual(withoutDocs(x), withoutDocs(y))
}

func withoutDocs(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			if k != "doc" {
				out[k] = withoutDocs(x)
			}
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = withoutDocs(x)
		}
		return out
	}
	return v
}
