package kafkaview_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/samnav/samnav/pkg/embeddedkafka"
	"github.com/samnav/samnav/pkg/sdk/avroserde"
	"github.com/samnav/samnav/pkg/sdk/kafkatopics"
	"github.com/samnav/samnav/pkg/sdk/subscriber"
	"github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/delivery/internal/channel"
	"github.com/samnav/samnav/services/delivery/internal/kafkaview"
	"github.com/samnav/samnav/services/hubtest"
)

// secureHub is an embedded broker with SASL and ACLs, a schema registry
// and a view channel acting as the hub's superuser.
type secureHub struct {
	broker *embeddedkafka.Broker
	reg    *avroserde.RegistryClient
	ch     *kafkaview.Channel
}

func startSecureHub(t *testing.T) *secureHub {
	t.Helper()
	hub := hubtest.Start(t, hubtest.WithBroker(embeddedkafka.Config{Superuser: hubtest.HubUser}), hubtest.WithRegistry())
	m, schemas := hubtest.Model(t)
	ch, err := kafkaview.New(kafkaview.Config{Brokers: []string{hub.Broker.Addr()}, Registrar: hub.Registry, Model: m, Schemas: schemas, Auth: hubtest.HubUser})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ch.Close() })
	return &secureHub{broker: hub.Broker, reg: hub.Registry, ch: ch}
}

func personSub(id, system string) client.Subscription {
	return client.Subscription{ID: id, System: system, Concept: "person", Major: 1, Channel: client.ChannelKafka,
		RequestedFields: []string{"givenNames", "surname"}, ApprovedFields: []string{"givenNames", "surname"},
		Status: client.StatusApproved, Version: 2}
}

func personEvent(s client.Subscription, key, given string) channel.Event {
	return channel.Event{SubscriptionID: s.ID, System: s.System, Concept: s.Concept, Key: key, EventID: s.ID + "-" + key,
		Type: channel.TypeChanged, Time: time.Now(), Revision: 1, State: map[string]any{"id": key, "givenNames": given, "surname": "Lind"}}
}

// An SDK subscriber with its own SCRAM user reads its view topic on a
// broker enforcing ACLs, dead-letters a record its handler refuses (the
// dead-letter topic it creates under the prefix the hub granted), and is
// refused another system's view topic.
func TestSubscriberReadsOnlyItsOwnViewAndDeadLetters(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h := startSecureHub(t)
	skol, bib := personSub("s-skol", "skolplattform"), personSub("s-bib", "bibliotek")
	if err := h.ch.Reconcile(ctx, []client.Subscription{skol, bib}, nil); err != nil {
		t.Fatal(err)
	}
	deliver(t, ctx, h.ch, skol, personEvent(skol, "p-1", "Astrid"), personEvent(skol, "p-2", "POISON"), personEvent(skol, "p-3", "Bo"))
	deliver(t, ctx, h.ch, bib, personEvent(bib, "p-1", "Astrid"))
	skolUser, err := h.broker.AddUser(ctx, "skolplattform", "skol-secret")
	if err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	applied := map[string]string{}
	group := "skolplattform.pupils"
	s, err := subscriber.New(subscriber.Config{Brokers: []string{h.broker.Addr()}, Group: group, Registry: h.reg, Auth: skolUser,
		CreateDeadLetterTopics: true, MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond},
		subscriber.Handle(kafkaview.Topic(skol), "", func(_ context.Context, ev subscriber.Event[map[string]any]) error {
			given, _ := (*ev.Value)["givenNames"].(string)
			if given == "POISON" {
				return subscriber.Permanent(errors.New("refused by the test"))
			}
			mu.Lock()
			defer mu.Unlock()
			applied[ev.Key] = given
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx) }()
	select {
	case <-s.CaughtUp():
	case err := <-done:
		t.Fatalf("Run ended before catching up: %v", err)
	case <-ctx.Done():
		t.Fatal("the subscriber did not catch up with its view topic")
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(applied) != 2 || applied["p-1"] != "Astrid" || applied["p-3"] != "Bo" {
		t.Errorf("applied = %v, want p-1 Astrid and p-3 Bo", applied)
	}
	mu.Unlock()

	// The dead letter is there, readable by the system itself.
	dlq := subscriber.DeadLetterTopic(kafkaview.Topic(skol), group)
	if !strings.HasPrefix(dlq, kafkaview.DeadLetterPrefix(skol)) {
		t.Fatalf("dead-letter topic %s is outside the granted prefix %s", dlq, kafkaview.DeadLetterPrefix(skol))
	}
	dialer, err := skolUser.Dialer("test")
	if err != nil {
		t.Fatal(err)
	}
	// The record's key picks one of the topic's partitions: read them all,
	// in a group of the system's.
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{h.broker.Addr()}, Topic: dlq, GroupID: "skolplattform.dlq-check",
		StartOffset: kafka.FirstOffset, Dialer: dialer, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	msg, err := r.ReadMessage(ctx)
	if err != nil {
		t.Fatalf("read dead-letter topic %s as skolplattform: %v", dlq, err)
	}
	if string(msg.Key) != "p-2" {
		t.Errorf("dead letter key = %q, want p-2", msg.Key)
	}

	// Another system's view is refused (or hidden), and so is a group
	// outside the system's prefix (its dead-letter topic falls outside the
	// granted prefix; the group itself is refused READ).
	for _, tc := range []struct{ topic, group string }{
		{kafkaview.Topic(bib), "skolplattform.peek"},
		{kafkaview.Topic(skol), "bibliotek.peek"},
	} {
		other, err := subscriber.New(subscriber.Config{Brokers: []string{h.broker.Addr()}, Group: tc.group, Registry: h.reg, Auth: skolUser, CreateDeadLetterTopics: true},
			subscriber.Handle(tc.topic, "", func(context.Context, subscriber.Event[map[string]any]) error {
				t.Errorf("skolplattform received a record of %s in group %s", tc.topic, tc.group)
				return nil
			}))
		if err != nil {
			t.Fatal(err)
		}
		rctx, rstop := context.WithTimeout(ctx, 20*time.Second)
		err = other.Run(rctx)
		rstop()
		t.Logf("%s in %s: %v", tc.topic, tc.group, err)
		if err == nil || !isAuthorizationError(err) {
			t.Errorf("skolplattform reading %s in group %s: Run = %v, want it refused or hidden", tc.topic, tc.group, err)
		}
	}

	// Revoking deletes the view topic and the system's dead-letter topics
	// with it (they hold copies of view records).
	revoked := skol
	revoked.Status = client.StatusRevoked
	if err := h.ch.Reconcile(ctx, []client.Subscription{bib}, []client.Subscription{revoked}); err != nil {
		t.Fatal(err)
	}
	admin, closeAdmin, err := hubtest.HubUser.Client(10*time.Second, h.broker.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer closeAdmin()
	for _, topic := range []string{kafkaview.Topic(skol), dlq} {
		if _, err := kafkatopics.Partitions(ctx, admin, topic); !errors.Is(err, kafka.UnknownTopicOrPartition) {
			t.Errorf("after revocation, topic %s: %v, want it deleted", topic, err)
		}
	}
	if _, err := kafkatopics.Partitions(ctx, admin, kafkaview.Topic(bib)); err != nil {
		t.Errorf("another system's view topic after revocation: %v", err)
	}
}

// deliver offers evs until the channel accepts them, as the pipeline does
// (a producer may not see a just-created topic in its metadata yet).
func deliver(t *testing.T, ctx context.Context, ch *kafkaview.Channel, s client.Subscription, evs ...channel.Event) {
	t.Helper()
	for {
		err := ch.DeliverBatch(ctx, s, evs)
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("deliver to %s: %v", kafkaview.Topic(s), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// isAuthorizationError: refused, or (for a topic the principal may not
// describe, which the topic was delivered to, so it exists) hidden.
func isAuthorizationError(err error) bool {
	return errors.Is(err, kafka.TopicAuthorizationFailed) || errors.Is(err, kafka.GroupAuthorizationFailed) ||
		errors.Is(err, kafka.UnknownTopicOrPartition)
}
