package delivery_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/daemon"
	"github.com/samnav/samnav/pkg/embeddedkafka"
	"github.com/samnav/samnav/pkg/kafkaacl"
	"github.com/samnav/samnav/pkg/sdk/kafkaauth"
	"github.com/samnav/samnav/pkg/sdk/kafkatopics"
	"github.com/samnav/samnav/pkg/sdk/poll"
	"github.com/samnav/samnav/services/delivery"
	"github.com/samnav/samnav/services/hubtest"
)

// startSecureHub is startHub on a broker that requires SASL and enforces
// ACLs, with the person topic on one partition; master data and delivery
// connect as the superuser.
func startSecureHub(t *testing.T) *hubtest.Hub {
	t.Helper()
	return hubtest.Start(t,
		hubtest.WithBroker(embeddedkafka.Config{Superuser: hubtest.HubUser, Topics: []kafkatopics.Spec{{Name: "samnav.person.v1", Partitions: 1, Compact: true}}}),
		hubtest.WithMasterdata(),
		hubtest.WithDelivery(func(c *delivery.Config, _ *delivery.Deps) { c.SyncInterval = 500 * time.Millisecond }))
}

// readAs fetches every partition of topic from the start as cred, the way
// a consumer starts: partitions by name (TOPIC_AUTHORIZATION_FAILED without
// DESCRIBE), then fetches (the same without READ). It returns the number of
// records.
func readAs(ctx context.Context, addr string, cred kafkaauth.Config, topic string) (int, error) {
	d, err := cred.Dialer("test")
	if err != nil {
		return 0, err
	}
	parts, err := d.LookupPartitions(ctx, "tcp", addr, topic)
	if err != nil {
		return 0, err
	}
	c, done, err := cred.Client(5*time.Second, addr)
	if err != nil {
		return 0, err
	}
	defer done()
	n := 0
	for _, p := range parts {
		resp, err := c.Fetch(ctx, &kafka.FetchRequest{Topic: topic, Partition: p.ID, Offset: 0, MaxBytes: 1 << 20})
		if err != nil {
			return n, err
		}
		if resp.Error != nil {
			return n, resp.Error
		}
		for _, err := resp.Records.ReadRecord(); err == nil; _, err = resp.Records.ReadRecord() {
			n++
		}
	}
	return n, nil
}

// TestKafkaAccessFollowsApprovals: on a broker with SASL and ACLs, an
// approved Kafka subscription's system reads its own view topic with its
// own user and nothing else of the hub's; revoking withdraws its ACLs and
// deletes the topic; stale Samnav-shaped ACLs are removed, others kept.
func TestKafkaAccessFollowsApprovals(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	h := startSecureHub(t)
	addr := h.Broker.Addr()

	fb := hubtest.Issue(t, h.Masterdata.Tokens(), "folkbokforing", auth.KindSystem, auth.Grant{Role: auth.RolePublisher, System: "folkbokforing"})
	if st, body := hubtest.CallJSON(t, "POST", h.MasterdataURL+"/api/v1/publish/person", fb, map[string]any{"items": []any{map[string]any{"op": "upsert",
		"state": personState("201405052380", "Ella", "Storgatan 1", "NONE")}}}); st != 200 {
		t.Fatalf("publish: %d %v", st, body)
	}
	school, err := h.Broker.AddUser(ctx, "skolplattform", "school-secret")
	if err != nil {
		t.Fatal(err)
	}
	library, err := h.Broker.AddUser(ctx, "bibliotek", "library-secret")
	if err != nil {
		t.Fatal(err)
	}

	admin := hubtest.Issue(t, h.Delivery.Tokens(), "owner-anna", auth.KindUser, auth.Grant{Role: auth.RoleAdmin})
	subscribeSystem := func(system string) string {
		t.Helper()
		tok := hubtest.Issue(t, h.Delivery.Tokens(), system, auth.KindSystem, auth.Grant{Role: auth.RolePublisher, System: system})
		return subscribe(t, h.DeliveryURL, tok, admin, "kafka", []string{"givenNames", "surname"})
	}
	schoolSub := subscribeSystem("skolplattform")
	subscribeSystem("bibliotek")
	schoolView, libraryView := "samnav.view.skolplattform.person.v1", "samnav.view.bibliotek.person.v1"

	// Each system reads its own view topic with its own user.
	for _, c := range []struct {
		cred  kafkaauth.Config
		topic string
	}{{school, schoolView}, {library, libraryView}} {
		poll.Until(ctx, t, c.cred.Username+" reads "+c.topic, func() error {
			n, err := readAs(ctx, addr, c.cred, c.topic)
			if err == nil && n == 0 {
				return errors.New("no records yet")
			}
			return err
		})
	}
	// ... and as a consumer group named after itself, as a subscriber does.
	dialer, err := school.Dialer("skolplattform-test")
	if err != nil {
		t.Fatal(err)
	}
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{addr}, GroupID: "skolplattform.test", Topic: schoolView, Dialer: dialer,
		StartOffset: kafka.FirstOffset, MaxWait: 100 * time.Millisecond})
	rctx, rcancel := context.WithTimeout(ctx, 30*time.Second)
	_, err = r.ReadMessage(rctx)
	rcancel()
	_ = r.Close()
	if err != nil {
		t.Fatalf("skolplattform reads its view in group skolplattform.test: %v", err)
	}
	// Nothing else: not another system's view, not the raw state topic.
	for _, topic := range []string{libraryView, "samnav.person.v1"} {
		if _, err := readAs(ctx, addr, school, topic); !errors.Is(err, kafka.TopicAuthorizationFailed) {
			t.Errorf("skolplattform reads %s: err = %v, want TOPIC_AUTHORIZATION_FAILED", topic, err)
		}
	}

	// A stale Samnav-shaped ACL (no subscription behind it) is removed at
	// the next round; an ACL of another shape is not Samnav's and stays.
	su, done, err := hubtest.HubUser.Client(5*time.Second, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	stale := kafkaacl.Entry{Principal: "User:ghost", ResourceType: "TOPIC", ResourceName: "samnav.view.ghost.person.v1", PatternType: "LITERAL", Operation: "READ", Permission: "ALLOW", Host: "*"}
	foreign := kafkaacl.Entry{Principal: "User:ops", ResourceType: "TOPIC", ResourceName: "ops.", PatternType: "PREFIXED", Operation: "READ", Permission: "ALLOW", Host: "*"}
	if err := kafkaacl.Create(ctx, su, stale, foreign); err != nil {
		t.Fatal(err)
	}

	if st, body := hubtest.CallJSON(t, "POST", h.DeliveryURL+"/api/v1/subscriptions/"+schoolSub+"/revoke", admin, map[string]any{"reason": "contract ended"}); st != 200 {
		t.Fatalf("revoke: %d %v", st, body)
	}
	poll.Until(ctx, t, "skolplattform refused on its former view topic", func() error {
		if _, err := readAs(ctx, addr, school, schoolView); !errors.Is(err, kafka.TopicAuthorizationFailed) {
			return errors.New("still readable or another error: " + errString(err))
		}
		return nil
	})
	poll.Until(ctx, t, "revoked view topic deleted", func() error {
		_, err := kafkatopics.Partitions(ctx, su, schoolView)
		if errors.Is(err, kafka.UnknownTopicOrPartition) {
			return nil
		}
		return errors.New("topic still there: " + errString(err))
	})
	poll.Until(ctx, t, "stale ACL removed", func() error {
		have, err := kafkaacl.List(ctx, su, "")
		if err != nil {
			return err
		}
		var sawForeign bool
		for _, a := range have {
			if a == stale {
				return errors.New("stale ACL still there")
			}
			if a.Principal == "User:skolplattform" {
				return errors.New("revoked system keeps " + a.String())
			}
			sawForeign = sawForeign || a == foreign
		}
		if !sawForeign {
			t.Fatalf("an ACL Samnav does not manage was deleted: %v", have)
		}
		return nil
	})
	// The other system is untouched.
	if n, err := readAs(ctx, addr, library, libraryView); err != nil || n == 0 {
		t.Fatalf("bibliotek after skolplattform's revocation: n=%d err=%v", n, err)
	}
}

func errString(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}

func TestConfigKafkaCredentialsValidated(t *testing.T) {
	cfg := delivery.Config{Base: daemon.Base{DataDir: t.TempDir()}, Brokers: []string{"127.0.0.1:9092"}, Kafka: kafkaauth.Config{Mechanism: "SCRAM-SHA-512", Password: "p"}}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "Kafka: username: required with a SASL mechanism") {
		t.Errorf("Validate = %v, want it to name Kafka: username", err)
	}
	env := map[string]string{"SAMNAV_KAFKA_BROKERS": "k:9092", "SAMNAV_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512", "SAMNAV_KAFKA_SASL_USERNAME": "delivery", "SAMNAV_KAFKA_SASL_PASSWORD": "pw"}
	loaded, err := delivery.LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	if got := loaded.Kafka; got != (kafkaauth.Config{Mechanism: "SCRAM-SHA-512", Username: "delivery", Password: "pw"}) {
		t.Errorf("LoadConfig Kafka = %+v", got)
	}
}
