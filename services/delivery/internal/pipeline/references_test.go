package pipeline_test

import (
	"bytes"
	"context"
	"fmt"
	"math/big"
	"path/filepath"
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
	"github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/delivery/internal/channel"
	"github.com/samnav/samnav/services/delivery/internal/feed"
	"github.com/samnav/samnav/services/delivery/internal/kafkaview"
	"github.com/samnav/samnav/services/delivery/internal/pipeline"
	"github.com/samnav/samnav/services/delivery/internal/store/sqlstore"
	"github.com/samnav/samnav/services/hubtest"
)

// publisher writes state-topic records as master data's relay does.
type publisher struct {
	t   *testing.T
	ctx context.Context
	w   *kafka.Writer
	ser map[string]*avroserde.Serializer
	n   int
}

func (p *publisher) publish(concept, id string, v any) {
	p.t.Helper()
	val, err := p.ser[concept].EncodeContext(p.ctx, v)
	if err != nil {
		p.t.Fatal(err)
	}
	p.n++
	if err := p.w.WriteMessages(p.ctx, kafka.Message{Topic: "samnav." + concept + ".v1", Key: []byte(id), Value: val, Headers: []kafka.Header{
		{Key: envelope.HeaderID, Value: []byte(fmt.Sprintf("ev-%d", p.n))}, {Key: envelope.HeaderType, Value: []byte(envelope.EventType(concept, envelope.Changed))},
		{Key: envelope.HeaderTime, Value: []byte(time.Now().UTC().Format(time.RFC3339Nano))}}}); err != nil {
		p.t.Fatal(err)
	}
}

func personWith(id, marker string) concepts.PersonV1 {
	return concepts.PersonV1{ID: id, GivenNames: "Kim", Surname: "Lindqvist", DateOfBirth: time.Date(1990, 3, 1, 0, 0, 0, 0, time.UTC),
		ProtectedIdentity: concepts.PersonV1ProtectedIdentity(marker), RegistrationStatus: "REGISTERED", PhoneNumbers: []string{}}
}

func employeeOf(id, person, unit string) concepts.EmployeeV1 {
	email, phone := id+"@stad.example", "+4685550000"+id[len(id)-1:]
	return concepts.EmployeeV1{ID: id, Person: person, EmployeeNumber: id, GivenName: "Kim", Surname: "Lindqvist", Unit: &unit, Forvaltning: "f-utb",
		EmploymentType: "PERMANENT", EmploymentRate: big.NewRat(100, 1), WorkEmailAddress: &email, WorkPhoneNumber: &phone, StartDate: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
}

// TestEmployeeOfAProtectedPersonReachesTheViewWithoutLocatingFields: an
// employee subscription not approved for protected identities. Delivery
// keeps the protected persons from the person state topic; when a person
// becomes protected, the view topic gets their employee record again
// without the workplace, the work contacts and the link to the person,
// while the employee of an unprotected person keeps them; an employee of
// the protected person published afterwards is delivered shielded at once.
// The feed gets the shielded record too (a new event id: the feed drops a
// repeated one).
func TestEmployeeOfAProtectedPersonReachesTheViewWithoutLocatingFields(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	hub := hubtest.Start(t, hubtest.WithBroker(embeddedkafka.Config{Superuser: hubtest.HubUser, Topics: []kafkatopics.Spec{
		{Name: "samnav.person.v1", Partitions: 2, Compact: true}, {Name: "samnav.employee.v1", Partitions: 2, Compact: true}}}), hubtest.WithRegistry())
	m, schemas := hubtest.Model(t)
	transport, err := hubtest.HubUser.Transport("test")
	if err != nil {
		t.Fatal(err)
	}
	dialer, err := hubtest.HubUser.Dialer("test")
	if err != nil {
		t.Fatal(err)
	}
	pub := &publisher{t: t, ctx: ctx, ser: map[string]*avroserde.Serializer{},
		w: &kafka.Writer{Addr: kafka.TCP(hub.Broker.Addr()), Transport: transport, Balancer: &kafka.Hash{}, RequiredAcks: kafka.RequireAll}}
	defer pub.w.Close()
	for _, c := range []string{"person", "employee"} {
		if pub.ser[c], err = avroserde.NewSerializer(hub.Registry, avroserde.TopicSubject("samnav."+c+".v1", false), schemas[c]); err != nil {
			t.Fatal(err)
		}
	}
	pub.publish("person", "p-open", personWith("p-open", "NONE"))
	pub.publish("person", "p-prot", personWith("p-prot", "NONE"))
	pub.publish("employee", "e-1", employeeOf("e-1", "p-open", "unit-ekskolan"))
	pub.publish("employee", "e-2", employeeOf("e-2", "p-prot", "unit-solskolan"))

	db, _, err := sqldb.Open("sqlite:" + filepath.Join(t.TempDir(), "delivery.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	store, err := sqlstore.New(ctx, db, sqldb.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	fs := openFeedStore(ctx, t)
	fd, err := feed.New(feed.Config{Store: fs, CursorKey: bytes.Repeat([]byte("k"), feed.MinCursorKeyLen),
		Subscriptions: func(context.Context, string) (client.Subscription, bool, error) {
			return client.Subscription{}, false, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	view, err := kafkaview.New(kafkaview.Config{Brokers: []string{hub.Broker.Addr()}, Registrar: hub.Registry, Model: m, Schemas: schemas, Auth: hubtest.HubUser})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { view.Close() })
	mgr := pipeline.New(pipeline.Config{Kafka: kafkaauth.Settings{Brokers: []string{hub.Broker.Addr()}, SASL: hubtest.HubUser}, Registry: hub.Registry, Model: m, Schemas: schemas,
		Channels: map[client.ChannelKind]channel.Channel{client.ChannelKafka: view, client.ChannelFeed: fd}, Protected: store, RedeliverInterval: 200 * time.Millisecond,
		FetchMaxWait: 50 * time.Millisecond, MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	t.Cleanup(func() { mgr.Close() })
	fields := []string{"person", "givenName", "surname", "unit", "workEmailAddress", "workPhoneNumber"}
	sub := client.Subscription{ID: "s-badge", System: "passersystem", Concept: "employee", Major: 1, Channel: client.ChannelKafka,
		RequestedFields: fields, ApprovedFields: fields, Status: client.StatusApproved, Version: 2}
	feedSub := sub
	feedSub.ID, feedSub.System, feedSub.Channel = "s-feed", "telefonkatalog", client.ChannelFeed
	if err := mgr.Sync([]client.Subscription{sub, feedSub}); err != nil {
		t.Fatal(err)
	}
	tracked := make(chan error, 1)
	go func() { tracked <- mgr.Track(ctx) }()
	defer func() { cancel(); <-tracked }()

	h := &narrowHub{broker: hub.Broker, dialer: dialer}
	topic := kafkaview.Topic(sub)
	// latest returns the last value of each key in the view topic, read
	// from the beginning.
	latest := func() map[string][]byte {
		out := map[string][]byte{}
		for _, msg := range h.readView(t, ctx, topic) {
			out[string(msg.Key)] = msg.Value
		}
		return out
	}
	holds := func(v []byte, s ...string) bool {
		for _, x := range s {
			if !bytes.Contains(v, []byte(x)) {
				return false
			}
		}
		return true
	}
	lacks := func(v []byte, s ...string) bool {
		for _, x := range s {
			if bytes.Contains(v, []byte(x)) {
				return false
			}
		}
		return v != nil
	}
	// feedLatest returns the feed's current record of each key.
	feedLatest := func() map[string][]byte {
		snap, err := fs.Snapshot(ctx, feedSub.ID, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]byte{}
		for _, e := range snap {
			out[e.Key] = e.State
		}
		return out
	}
	eventually(t, ctx, func() (bool, string) {
		l, f := latest(), feedLatest()
		return holds(l["e-2"], "p-prot", "unit-solskolan", "e-2@stad.example") && holds(f["e-2"], "p-prot", "unit-solskolan", "e-2@stad.example"),
			fmt.Sprintf("before protection, e-2 is not delivered whole: view %q, feed %s", l["e-2"], f["e-2"])
	})

	pub.publish("person", "p-prot", personWith("p-prot", "PROTECTED_REGISTRATION"))
	eventually(t, ctx, func() (bool, string) {
		l := latest()
		return lacks(l["e-2"], "p-prot", "unit-solskolan", "e-2@stad.example", "+46855500002") && holds(l["e-2"], "Lindqvist"),
			fmt.Sprintf("after protection, the view's last record of e-2 still locates the person: %q", l["e-2"])
	})
	eventually(t, ctx, func() (bool, string) {
		f := feedLatest()
		return lacks(f["e-2"], "p-prot", "unit-solskolan", "e-2@stad.example", "+46855500002") && holds(f["e-2"], "Lindqvist"),
			fmt.Sprintf("after protection, the feed's record of e-2 still locates the person: %s", f["e-2"])
	})
	pub.publish("employee", "e-3", employeeOf("e-3", "p-prot", "unit-solskolan"))
	eventually(t, ctx, func() (bool, string) {
		l := latest()
		return lacks(l["e-3"], "p-prot", "unit-solskolan", "e-3@stad.example"), fmt.Sprintf("a new employee of the protected person: %q", l["e-3"])
	})
	if l, f := latest(), feedLatest(); !holds(l["e-1"], "p-open", "unit-ekskolan", "e-1@stad.example", "+46855500001") || !holds(f["e-1"], "p-open", "unit-ekskolan") {
		t.Errorf("the employee of an unprotected person lost its fields: view %q, feed %s", l["e-1"], f["e-1"])
	}
}
