package pipeline_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/samnav/samnav/contracts/concepts"
	"github.com/samnav/samnav/pkg/embeddedkafka"
	"github.com/samnav/samnav/pkg/sdk/avroserde"
	"github.com/samnav/samnav/pkg/sdk/envelope"
	"github.com/samnav/samnav/pkg/sdk/kafkaauth"
	"github.com/samnav/samnav/pkg/sdk/kafkatopics"
	"github.com/samnav/samnav/pkg/sdk/sqldb"
	_ "github.com/samnav/samnav/pkg/sqldb/drivers" // the drivers sqldb.Open uses
	"github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/delivery/internal/channel"
	"github.com/samnav/samnav/services/delivery/internal/feed"
	"github.com/samnav/samnav/services/delivery/internal/kafkaview"
	"github.com/samnav/samnav/services/delivery/internal/pipeline"
	"github.com/samnav/samnav/services/hubtest"
)

const statePersons = 6

type narrowHub struct {
	broker *embeddedkafka.Broker
	mgr    *pipeline.Manager
	dialer *kafka.Dialer
	feed   feed.Store
	reg    *avroserde.RegistryClient
	regURL string
	// newManager builds a pipeline as a restarted process would: a Kafka
	// channel and a feed of its own on the same broker, registry and
	// feed database.
	newManager func() *pipeline.Manager
}

// restart stops the pipeline and starts a new one, as after a process
// restart; it starts no consumer until Sync.
func (h *narrowHub) restart(t *testing.T) {
	t.Helper()
	if err := h.mgr.Close(); err != nil {
		t.Fatal(err)
	}
	h.mgr = h.newManager()
}

// startNarrowHub runs a SASL broker with the person state topic holding
// statePersons persons (one of them changed twice), a registry, and a
// pipeline writing Kafka view topics and synced to subs, for a test that
// must be over within timeout: the context returned ends then.
func startNarrowHub(t *testing.T, timeout time.Duration, subs ...client.Subscription) (*narrowHub, context.Context) {
	t.Helper()
	return startNarrowHubWith(t, timeout, 0, subs...)
}

// startNarrowHubWith is startNarrowHub with the view topics' compaction
// bound (kafkaview.Config.MaxCompactionLag) set to lag, and the broker
// compacting on that schedule (embeddedkafka.Config.CleanerInterval), when
// lag is not 0.
func startNarrowHubWith(t *testing.T, timeout, lag time.Duration, subs ...client.Subscription) (*narrowHub, context.Context) {
	t.Helper()
	return startViewHub(t, timeout, lag, nil, subs...)
}

// startViewHub is startNarrowHubWith with the view re-publishes of a
// quiet partition kept in rp and run (kafkaview.RunRepublishes) when rp
// is not nil.
func startViewHub(t *testing.T, timeout, lag time.Duration, rp kafkaview.Republishes, subs ...client.Subscription) (*narrowHub, context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	t.Cleanup(cancel)
	hub := hubtest.Start(t, hubtest.WithBroker(embeddedkafka.Config{Superuser: hubtest.HubUser, Topics: []kafkatopics.Spec{{Name: "samnav.person.v1", Partitions: 3, Compact: true}},
		CleanerInterval: lag}),
		hubtest.WithRegistry())
	broker, reg := hub.Broker, hub.Registry
	m, schemas := hubtest.Model(t)
	dialer, err := hubtest.HubUser.Dialer("test")
	if err != nil {
		t.Fatal(err)
	}
	transport, err := hubtest.HubUser.Transport("test")
	if err != nil {
		t.Fatal(err)
	}
	ser, err := avroserde.NewSerializer(reg, avroserde.TopicSubject("samnav.person.v1", false), schemas["person"])
	if err != nil {
		t.Fatal(err)
	}
	w := &kafka.Writer{Addr: kafka.TCP(broker.Addr()), Topic: "samnav.person.v1", Transport: transport, Balancer: &kafka.Hash{}, RequiredAcks: kafka.RequireAll}
	defer w.Close()
	var msgs []kafka.Message
	for i := range statePersons + 1 {
		n := i % statePersons // the last one changes person 0 again
		// The last person has a protected identity.
		protected, email := concepts.PersonV1ProtectedIdentity("NONE"), fmt.Sprintf("open%d@example.org", n)
		if n == statePersons-1 {
			protected, email = concepts.PersonV1ProtectedIdentityProtectedRegistration, "hidden@example.org"
		}
		p := concepts.PersonV1{ID: fmt.Sprintf("p-%d", n), GivenNames: fmt.Sprintf("Given%d-r%d", n, i/statePersons+1), Surname: fmt.Sprintf("Withdrawnsson%d", n),
			DateOfBirth: time.Date(2015, 3, 1, 0, 0, 0, 0, time.UTC), ProtectedIdentity: protected, RegistrationStatus: "REGISTERED", PhoneNumbers: []string{},
			EmailAddress: &email}
		val, err := ser.EncodeContext(ctx, &p)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, kafka.Message{Key: []byte(p.ID), Value: val, Headers: []kafka.Header{
			{Key: envelope.HeaderID, Value: []byte(fmt.Sprintf("ev-%d", i))}, {Key: envelope.HeaderType, Value: []byte(envelope.EventType("person", envelope.Changed))},
			{Key: envelope.HeaderTime, Value: []byte(time.Now().UTC().Format(time.RFC3339Nano))},
			{Key: envelope.HeaderRevision, Value: []byte(strconv.Itoa(i/statePersons + 1))}}})
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	fs := openFeedStore(ctx, t)
	h := &narrowHub{broker: broker, dialer: dialer, feed: fs, reg: reg, regURL: hub.RegistryURL}
	h.newManager = func() *pipeline.Manager {
		ch, err := kafkaview.New(kafkaview.Config{Brokers: []string{broker.Addr()}, Registrar: reg, Shapes: fs, Model: m, Schemas: schemas, Auth: hubtest.HubUser,
			MaxCompactionLag: lag, Republishes: rp})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ch.Close() })
		fd, err := feed.New(feed.Config{Store: fs, CursorKey: bytes.Repeat([]byte("k"), feed.MinCursorKeyLen),
			Subscriptions: func(context.Context, string) (client.Subscription, bool, error) {
				return client.Subscription{}, false, nil
			}})
		if err != nil {
			t.Fatal(err)
		}
		mgr := pipeline.New(pipeline.Config{Kafka: kafkaauth.Settings{Brokers: []string{broker.Addr()}, SASL: hubtest.HubUser}, Registry: reg, Model: m, Schemas: schemas,
			Channels:     map[client.ChannelKind]channel.Channel{client.ChannelKafka: ch, client.ChannelFeed: fd},
			Rebuilders:   map[client.ChannelKind]pipeline.Rebuilder{client.ChannelKafka: ch, client.ChannelFeed: fd},
			FetchMaxWait: 50 * time.Millisecond, MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
		t.Cleanup(func() { mgr.Close() })
		if rp != nil {
			rctx, stop := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				_ = ch.RunRepublishes(rctx, mgr.Owned, nil)
			}()
			t.Cleanup(func() { stop(); <-done })
		}
		return mgr
	}
	h.mgr = h.newManager()
	h.sync(t, subs...)
	return h, ctx
}

// sync syncs the pipeline to subs.
func (h *narrowHub) sync(t *testing.T, subs ...client.Subscription) {
	t.Helper()
	if err := h.mgr.Sync(subs); err != nil {
		t.Fatal(err)
	}
}

// readView returns every record of topic from the beginning, as the
// subscriber reading it from the start would see them (nil if the topic
// does not exist).
func (h *narrowHub) readView(t *testing.T, ctx context.Context, topic string) []kafka.Message {
	t.Helper()
	client, done, err := hubtest.HubUser.Client(10*time.Second, h.broker.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	n, err := kafkatopics.Partitions(ctx, client, topic)
	if err != nil {
		return nil
	}
	var out []kafka.Message
	for p := range n {
		resp, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{
			topic: {kafka.FirstOffsetOf(p), kafka.LastOffsetOf(p)}}})
		if err != nil {
			t.Fatal(err)
		}
		var first, last int64
		for _, po := range resp.Topics[topic] {
			if po.Partition == p {
				first, last = po.FirstOffset, po.LastOffset
			}
		}
		if last <= first {
			continue
		}
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{h.broker.Addr()}, Topic: topic, Partition: p, Dialer: h.dialer, MaxWait: 50 * time.Millisecond})
		if err := r.SetOffset(first); err != nil {
			t.Fatal(err)
		}
		for {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				r.Close()
				t.Fatalf("read %s/%d: %v", topic, p, err)
			}
			out = append(out, m)
			if m.Offset >= last-1 {
				break
			}
		}
		r.Close()
	}
	return out
}

// committed returns how many partitions of topic group has an offset
// committed for.
func (h *narrowHub) committed(t *testing.T, ctx context.Context, group, topic string) int {
	t.Helper()
	client, done, err := hubtest.HubUser.Client(10*time.Second, h.broker.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	resp, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: {0, 1, 2}}})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, po := range resp.Topics[topic] {
		if po.Error == nil && po.CommittedOffset >= 0 {
			n++
		}
	}
	return n
}

// waitForKeys reads topic until every person's key is in it.
func (h *narrowHub) waitForKeys(t *testing.T, ctx context.Context, topic string) []kafka.Message {
	t.Helper()
	var msgs []kafka.Message
	eventually(t, ctx, func() (bool, string) {
		msgs = h.readView(t, ctx, topic)
		keys := map[string]bool{}
		for _, m := range msgs {
			keys[string(m.Key)] = true
		}
		return len(keys) == statePersons, fmt.Sprintf("%s holds %d of %d keys", topic, len(keys), statePersons)
	})
	return msgs
}

// Narrowing a Kafka subscription rebuilds its view topic: read from the
// beginning it holds no value with the withdrawn field, and every record
// with the fields that remain.
func TestNarrowingRebuildsTheViewTopic(t *testing.T) {
	sub := personSub("s-skol", "skolplattform", client.ChannelKafka, "givenNames", "surname")
	h, ctx := startNarrowHub(t, 60*time.Second, sub)
	topic := kafkaview.Topic(sub)
	before := h.waitForKeys(t, ctx, topic)
	if !bytes.Contains(before[0].Value, []byte("Withdrawnsson")) {
		t.Fatalf("before narrowing the view should hold surnames; first value %q", before[0].Value)
	}

	// The subscribing system has read the view in a group of its own and
	// committed: those offsets point into the topic about to be rebuilt,
	// and must go with it, or the group would skip the rebuilt records.
	group := "skolplattform.pupils"
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{h.broker.Addr()}, Topic: topic, GroupID: group, StartOffset: kafka.FirstOffset,
		Dialer: h.dialer, MaxWait: 50 * time.Millisecond})
	for range before {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.CommitMessages(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if got := h.committed(t, ctx, group, topic); got == 0 {
		t.Fatalf("group %s committed nothing on %s", group, topic)
	}

	h.sync(t, narrowed(sub))
	after := h.waitForKeys(t, ctx, topic)
	latest := map[string][]byte{}
	for _, m := range after {
		if bytes.Contains(m.Value, []byte("Withdrawnsson")) {
			t.Errorf("after narrowing, %s offset %d (key %s) still holds the withdrawn surname", topic, m.Offset, m.Key)
		}
		latest[string(m.Key)] = m.Value
	}
	for i := range statePersons {
		want := fmt.Sprintf("Given%d-r1", i)
		if i == 0 {
			want = "Given0-r2"
		}
		if v := latest[fmt.Sprintf("p-%d", i)]; !bytes.Contains(v, []byte(want)) {
			t.Errorf("after narrowing, p-%d's latest value %q lacks its given names %s", i, v, want)
		}
	}
	if got := h.committed(t, ctx, group, topic); got != 0 {
		t.Errorf("after the rebuild group %s still has %d committed offsets on %s (it would skip records of the rebuilt view)", group, got, topic)
	}
	if got := len(after); got > statePersons+1 {
		t.Errorf("the rebuilt view holds %d records, more than the state topic's %d", got, statePersons+1)
	}
}

// Narrowing a feed subscription rebuilds its stored feed: neither its log
// nor its snapshot holds the withdrawn field, every record is there with
// the remaining ones, and positions keep growing past the old head (a
// reader's cursor stays valid).
func TestNarrowingRebuildsTheFeed(t *testing.T) {
	sub := personSub("s-feed", "socialtjanst", client.ChannelFeed, "givenNames", "surname")
	h, ctx := startNarrowHub(t, 60*time.Second, sub)
	h.waitForFeed(t, ctx, sub.ID)
	oldHead, err := h.feed.Head(ctx, sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	if log, _ := h.feed.Changes(ctx, sub.ID, 0, 100); len(log) == 0 || !bytes.Contains(log[0].State, []byte("Withdrawnsson")) {
		t.Fatalf("before narrowing the feed should hold surnames: %v", log)
	}

	h.sync(t, narrowed(sub))
	snap := h.waitForFeed(t, ctx, sub.ID)
	log, err := h.feed.Changes(ctx, sub.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range append(log, snap...) {
		if bytes.Contains(e.State, []byte("Withdrawnsson")) {
			t.Errorf("after narrowing the feed still holds the withdrawn surname at position %d: %s", e.Position, e.State)
		}
		if e.Position <= oldHead {
			t.Errorf("entry %s at position %d, not after the old head %d", e.EventID, e.Position, oldHead)
		}
	}
	for _, e := range snap {
		if !bytes.Contains(e.State, []byte(`"givenNames":"Given`)) {
			t.Errorf("after narrowing %s lacks its given names: %s", e.Key, e.State)
		}
	}
}

// waitForFeed waits until sub's feed snapshot holds every person and
// returns it.
func (h *narrowHub) waitForFeed(t *testing.T, ctx context.Context, sub string) []feed.Entry {
	t.Helper()
	var snap []feed.Entry
	eventually(t, ctx, func() (bool, string) {
		var err error
		if snap, err = h.feed.Snapshot(ctx, sub, "", 100); err != nil {
			t.Fatal(err)
		}
		return len(snap) == statePersons, fmt.Sprintf("feed %s holds %d of %d records", sub, len(snap), statePersons)
	})
	return snap
}

// A view topic missing while its consumer group has progress (a rebuild
// interrupted between deleting the topic and resetting the group, or a
// topic deleted by hand) is filled from the snapshot again at start.
func TestMissingViewTopicIsRebuiltAtStart(t *testing.T) {
	sub := personSub("s-skol", "skolplattform", client.ChannelKafka, "givenNames")
	h, ctx := startNarrowHub(t, 60*time.Second, sub)
	topic := kafkaview.Topic(sub)
	h.waitForKeys(t, ctx, topic)
	h.sync(t)
	client, done, err := hubtest.HubUser.Client(10*time.Second, h.broker.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	resp, err := client.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: []string{topic}})
	if err != nil || resp.Errors[topic] != nil {
		t.Fatalf("delete %s: %v %v", topic, err, resp)
	}
	h.sync(t, sub)
	h.waitForKeys(t, ctx, topic)
}

// Withdrawing the approval for protected identities rebuilds the view: no
// record of it holds a protected person's shielded attribute any more,
// and unprotected persons keep theirs.
func TestWithdrawingProtectedIdentitiesRebuildsTheViewTopic(t *testing.T) {
	sub := protectedSub()
	h, ctx := startNarrowHub(t, 60*time.Second, sub)
	topic := kafkaview.Topic(sub)
	before := h.waitForKeys(t, ctx, topic)
	if !slices.ContainsFunc(before, func(m kafka.Message) bool { return bytes.Contains(m.Value, []byte("hidden@example.org")) }) {
		t.Fatal("approved for protected identities, the view should hold the protected person's e-mail")
	}
	h.sync(t, withdrawProtected(sub))
	after := h.waitForKeys(t, ctx, topic)
	for _, m := range after {
		if bytes.Contains(m.Value, []byte("hidden@example.org")) {
			t.Errorf("after withdrawal, %s offset %d (key %s) still holds the protected person's e-mail", topic, m.Offset, m.Key)
		}
	}
	for i := range statePersons - 1 {
		key, email := fmt.Sprintf("p-%d", i), fmt.Sprintf("open%d@example.org", i)
		if !slices.ContainsFunc(after, func(m kafka.Message) bool { return string(m.Key) == key && bytes.Contains(m.Value, []byte(email)) }) {
			t.Errorf("after withdrawal, unprotected %s lacks its e-mail", key)
		}
	}
}

// publishPerson writes p to the person state topic as the master data
// relay does, with event id id and revision rev.
func (h *narrowHub) publishPerson(t *testing.T, ctx context.Context, p concepts.PersonV1, id string, rev int) {
	t.Helper()
	_, schemas := hubtest.Model(t)
	ser, err := avroserde.NewSerializer(h.reg, avroserde.TopicSubject("samnav.person.v1", false), schemas["person"])
	if err != nil {
		t.Fatal(err)
	}
	val, err := ser.EncodeContext(ctx, &p)
	if err != nil {
		t.Fatal(err)
	}
	h.publishRecord(t, ctx, p.ID, val, id, envelope.Changed, rev)
}

// publishRecord writes one record of key to the person state topic: val
// with kind's event type (nil and envelope.Erased: a tombstone).
func (h *narrowHub) publishRecord(t *testing.T, ctx context.Context, key string, val []byte, id string, kind envelope.Kind, rev int) {
	t.Helper()
	transport, err := hubtest.HubUser.Transport("test")
	if err != nil {
		t.Fatal(err)
	}
	w := &kafka.Writer{Addr: kafka.TCP(h.broker.Addr()), Topic: "samnav.person.v1", Transport: transport, Balancer: &kafka.Hash{}, RequiredAcks: kafka.RequireAll}
	defer w.Close()
	if err := w.WriteMessages(ctx, kafka.Message{Key: []byte(key), Value: val, Headers: []kafka.Header{
		{Key: envelope.HeaderID, Value: []byte(id)}, {Key: envelope.HeaderType, Value: []byte(envelope.EventType("person", kind))},
		{Key: envelope.HeaderTime, Value: []byte(time.Now().UTC().Format(time.RFC3339Nano))},
		{Key: envelope.HeaderRevision, Value: []byte(strconv.Itoa(rev))}}}); err != nil {
		t.Fatal(err)
	}
}

func partitionOf(msgs []kafka.Message, key string) int {
	for _, m := range msgs {
		if string(m.Key) == key {
			return m.Partition
		}
	}
	return -1
}

func containsValue(msgs []kafka.Message, s string) bool {
	for _, m := range msgs {
		if bytes.Contains(m.Value, []byte(s)) {
			return true
		}
	}
	return false
}

// hasEvent reports whether msgs hold key's record with event id id.
func hasEvent(msgs []kafka.Message, key, id string) bool {
	return slices.ContainsFunc(msgs, func(m kafka.Message) bool {
		return string(m.Key) == key && string(headerOf(m, envelope.HeaderID)) == id
	})
}

func headerOf(m kafka.Message, key string) []byte {
	for _, h := range m.Headers {
		if h.Key == key {
			return h.Value
		}
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

// openFeedStore opens a feed store in a fresh SQLite database that lives
// as long as the test.
func openFeedStore(ctx context.Context, t testing.TB) *feed.SQLStore {
	t.Helper()
	db, _, err := sqldb.Open("sqlite:" + filepath.Join(t.TempDir(), "feed.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := feed.Migrate(ctx, db, sqldb.SQLite); err != nil {
		t.Fatal(err)
	}
	fs, err := feed.NewSQLStore(db, sqldb.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}
