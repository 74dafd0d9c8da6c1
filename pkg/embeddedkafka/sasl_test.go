package embeddedkafka_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/samnav/samnav/pkg/embeddedkafka"
	"github.com/samnav/samnav/pkg/kafkaacl"
	"github.com/samnav/samnav/pkg/sdk/kafkaauth"
	"github.com/samnav/samnav/pkg/sdk/kafkatopics"
)

var hub = kafkaauth.Config{Mechanism: kafkaauth.ScramSHA512, Username: "samnav", Password: "hub-secret"}

func client(t *testing.T, addr string, cred kafkaauth.Config) *kafka.Client {
	t.Helper()
	c, done, err := cred.Client(5*time.Second, addr)
	if err != nil {
		t.Fatalf("client for %q: %v", cred.Username, err)
	}
	t.Cleanup(done)
	return c
}

// fetch reads partition 0 of topic from the start as cred, the way a
// consumer's first fetch does.
func fetch(ctx context.Context, t *testing.T, addr string, cred kafkaauth.Config, topic string) (int, error) {
	t.Helper()
	// A consumer looks the topic's partitions up by name first (kafka-go's
	// Reader does it through its Dialer); Kafka answers
	// TOPIC_AUTHORIZATION_FAILED for a topic the principal may not
	// describe. (kafka-go's Client would answer from its all-topics
	// metadata cache, which just leaves the topic out.)
	d, err := cred.Dialer("test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.LookupPartitions(ctx, "tcp", addr, topic); err != nil {
		return 0, err
	}
	c := client(t, addr, cred)
	resp, err := c.Fetch(ctx, &kafka.FetchRequest{Topic: topic, Partition: 0, Offset: 0, MaxBytes: 1 << 20})
	if err != nil {
		return 0, err
	}
	if resp.Error != nil {
		return 0, resp.Error
	}
	n := 0
	for _, err := resp.Records.ReadRecord(); err == nil; _, err = resp.Records.ReadRecord() {
		n++
	}
	return n, nil
}

func TestSASLUsersReadOnlyWhatACLsAllow(t *testing.T) {
	for _, kafka4 := range []bool{false, true} {
		t.Run(map[bool]string{false: "latest", true: "kafka4"}[kafka4], func(t *testing.T) { testSASLUsers(t, kafka4) })
	}
}

func testSASLUsers(t *testing.T, kafka4 bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const viewA, viewB, raw = "samnav.view.a.person.v1", "samnav.view.b.person.v1", "samnav.person.v1"
	b := start(t, embeddedkafka.Config{Superuser: hub, Kafka4: kafka4, Topics: []kafkatopics.Spec{
		{Name: viewA, Partitions: 1}, {Name: viewB, Partitions: 1}, {Name: raw, Partitions: 1},
	}})
	if b.Superuser() != hub {
		t.Fatalf("Superuser() = %+v, want %+v", b.Superuser(), hub)
	}
	tr, err := hub.Transport("test")
	if err != nil {
		t.Fatal(err)
	}
	w := &kafka.Writer{Addr: kafka.TCP(b.Addr()), Transport: tr, RequiredAcks: kafka.RequireAll}
	for _, topic := range []string{viewA, viewB, raw} {
		if err := w.WriteMessages(ctx, kafka.Message{Topic: topic, Key: []byte("k"), Value: []byte("v")}); err != nil {
			t.Fatalf("superuser writes %s: %v", topic, err)
		}
	}
	_ = w.Close()

	a, err := b.AddUser(ctx, "a", "a-secret")
	if err != nil {
		t.Fatalf("add user a: %v", err)
	}
	if _, err := b.AddUser(ctx, "b", "b-secret"); err != nil {
		t.Fatalf("add user b: %v", err)
	}

	// Before any ACL, a reads nothing: authorization is deny by default.
	if _, err := fetch(ctx, t, b.Addr(), a, viewA); !errors.Is(err, kafka.TopicAuthorizationFailed) {
		t.Fatalf("a reads %s without an ACL: err = %v, want TOPIC_AUTHORIZATION_FAILED", viewA, err)
	}
	acls := []kafkaacl.Entry{
		{Principal: "User:a", ResourceType: "TOPIC", ResourceName: viewA, PatternType: "LITERAL", Operation: "READ", Permission: "ALLOW", Host: "*"},
		{Principal: "User:a", ResourceType: "TOPIC", ResourceName: viewA, PatternType: "LITERAL", Operation: "DESCRIBE", Permission: "ALLOW", Host: "*"},
		{Principal: "User:a", ResourceType: "GROUP", ResourceName: "a.", PatternType: "PREFIXED", Operation: "READ", Permission: "ALLOW", Host: "*"},
	}
	su := client(t, b.Addr(), hub)
	for range 2 { // applying twice changes nothing
		if err := kafkaacl.Create(ctx, su, acls...); err != nil {
			t.Fatalf("create acls: %v", err)
		}
	}
	listed, err := kafkaacl.List(ctx, su, "")
	if err != nil {
		t.Fatalf("list acls: %v", err)
	}
	if len(listed) != len(acls) {
		t.Fatalf("listed %d acls after creating %d twice: %v", len(listed), len(acls), listed)
	}

	if n, err := fetch(ctx, t, b.Addr(), a, viewA); err != nil || n != 1 {
		t.Fatalf("a reads its own view topic: n=%d err=%v, want 1 record", n, err)
	}
	// As a consumer group member, the way a subscriber reads.
	dialer, err := a.Dialer("a-test")
	if err != nil {
		t.Fatal(err)
	}
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{b.Addr()}, GroupID: "a.reader", Topic: viewA, Dialer: dialer, StartOffset: kafka.FirstOffset, MaxWait: 100 * time.Millisecond})
	rctx, rcancel := context.WithTimeout(ctx, 20*time.Second)
	m, err := r.ReadMessage(rctx)
	rcancel()
	_ = r.Close()
	if err != nil || string(m.Value) != "v" {
		t.Fatalf("a reads its view topic in group a.reader: %q, %v", m.Value, err)
	}
	for _, topic := range []string{viewB, raw} {
		if _, err := fetch(ctx, t, b.Addr(), a, topic); !errors.Is(err, kafka.TopicAuthorizationFailed) {
			t.Errorf("a reads %s: err = %v, want TOPIC_AUTHORIZATION_FAILED", topic, err)
		}
		// franz-go, another production client, is refused the same way.
		cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.SASL(scram.Auth{User: "a", Pass: "a-secret"}.AsSha512Mechanism()),
			kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		if err != nil {
			t.Fatal(err)
		}
		pctx, pcancel := context.WithTimeout(ctx, 10*time.Second)
		fs := cl.PollFetches(pctx)
		pcancel()
		cl.Close()
		var refused bool
		fs.EachError(func(_ string, _ int32, err error) { refused = refused || errors.Is(err, kerr.TopicAuthorizationFailed) })
		if !refused || fs.NumRecords() != 0 {
			t.Errorf("kgo as a reads %s: %d records, errors %v; want TOPIC_AUTHORIZATION_FAILED", topic, fs.NumRecords(), fs.Errors())
		}
	}
	// a cannot grant itself more.
	if err := kafkaacl.Create(ctx, client(t, b.Addr(), a), kafkaacl.Entry{Principal: "User:a", ResourceType: "TOPIC", ResourceName: viewB,
		PatternType: "LITERAL", Operation: "READ", Permission: "ALLOW", Host: "*"}); err == nil {
		t.Error("user a created an ACL; only the superuser may")
	}

	deleted, err := kafkaacl.Delete(ctx, su, acls...)
	if err != nil || len(deleted) != len(acls) {
		t.Fatalf("delete acls: deleted %v, err %v", deleted, err)
	}
	if _, err := fetch(ctx, t, b.Addr(), a, viewA); !errors.Is(err, kafka.TopicAuthorizationFailed) {
		t.Fatalf("a reads %s after its ACLs were deleted: err = %v, want TOPIC_AUTHORIZATION_FAILED", viewA, err)
	}
	if again, err := kafkaacl.Delete(ctx, su, acls...); err != nil || len(again) != 0 {
		t.Fatalf("deleting again: deleted %v, err %v; want nothing and no error", again, err)
	}

	// A deleted user can no longer log in; deleting it twice is no error.
	if err := a.Check(ctx, b.Addr()); err != nil {
		t.Fatalf("a logs in before its deletion: %v", err)
	}
	for range 2 {
		if err := b.DeleteUser(ctx, "a"); err != nil {
			t.Fatalf("delete user a: %v", err)
		}
	}
	if err := a.Check(ctx, b.Addr()); !errors.Is(err, kafkaauth.ErrAuthentication) {
		t.Fatalf("deleted user a logs in: err = %v", err)
	}
}

func TestSASLRefusesWrongPasswordAndUnknownUser(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := start(t, embeddedkafka.Config{Superuser: hub})
	for _, cred := range []kafkaauth.Config{
		{Mechanism: hub.Mechanism, Username: hub.Username, Password: "wrong"},
		{Mechanism: hub.Mechanism, Username: "nobody", Password: "x"},
	} {
		err := cred.Check(ctx, b.Addr())
		if !errors.Is(err, kafkaauth.ErrAuthentication) {
			t.Errorf("user %q with a wrong password: err = %v, want authentication failed", cred.Username, err)
			continue
		}
		if !strings.Contains(err.Error(), `user "`+cred.Username+`" (SCRAM-SHA-512): authentication failed: wrong username or password`) {
			t.Errorf("user %q: error %q does not name the user, the mechanism and the cause", cred.Username, err)
		}
	}
	// Without credentials at all, a client gets nowhere.
	if err := (kafkaauth.Config{}).Check(ctx, b.Addr()); err == nil || !strings.Contains(err.Error(), "may require SASL") {
		t.Errorf("a client without SASL: err = %v, want a hint that the broker may require SASL", err)
	}
	if err := hub.Check(ctx, b.Addr()); err != nil {
		t.Errorf("superuser refused: %v", err)
	}
}

func TestSASLOnADataDirOfAnOpenBroker(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	open, err := embeddedkafka.Start(ctx, embeddedkafka.Config{DataDir: dir, Topics: []kafkatopics.Spec{{Name: "t", Partitions: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	_ = open.Close()
	for _, su := range []kafkaauth.Config{hub, {Mechanism: kafkaauth.ScramSHA256, Username: "samnav", Password: "changed"}} {
		b, err := embeddedkafka.Start(ctx, embeddedkafka.Config{DataDir: dir, Superuser: su})
		if err != nil {
			t.Fatalf("start with superuser %+v on a data dir without it: %v", su, err)
		}
		n, err := kafkatopics.Partitions(ctx, client(t, b.Addr(), su), "t")
		if err != nil || n != 1 {
			t.Errorf("superuser %s/%s describes the earlier topic: %d, %v", su.Mechanism, su.Password, n, err)
		}
		_ = b.Close()
	}
}

func TestSASLConfigErrorsNameFieldAndRule(t *testing.T) {
	for _, tc := range []struct {
		su   kafkaauth.Config
		want string
	}{
		{kafkaauth.Config{Mechanism: "PLAIN", Username: "u", Password: "p"}, "superuser: mechanism: PLAIN is not SCRAM"},
		{kafkaauth.Config{Mechanism: "SCRAM-SHA-512", Password: "p"}, "username: required"},
		{kafkaauth.Config{Mechanism: "SCRAM-SHA-512", Username: "u"}, "password: required"},
		{kafkaauth.Config{Mechanism: "MD5", Username: "u", Password: "p"}, `mechanism: "MD5" is not`},
	} {
		_, err := embeddedkafka.Start(context.Background(), embeddedkafka.Config{Superuser: tc.su})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("superuser %+v: err = %v, want it to contain %q", tc.su, err, tc.want)
		}
	}
	b := start(t, embeddedkafka.Config{})
	if _, err := b.AddUser(context.Background(), "a", "p"); err == nil || !strings.Contains(err.Error(), "without SASL") {
		t.Errorf("AddUser on an open broker: err = %v, want it to say the broker runs without SASL", err)
	}
}

func TestKafkaTopicsClientWithSASL(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := start(t, embeddedkafka.Config{Superuser: hub, Topics: []kafkatopics.Spec{{Name: "t", Partitions: 2}}})
	mech, err := hub.SASL()
	if err != nil {
		t.Fatal(err)
	}
	c, done := kafkatopics.NewClientSASL(5*time.Second, mech, b.Addr())
	defer done()
	if n, err := kafkatopics.Partitions(ctx, c, "t"); err != nil || n != 2 {
		t.Fatalf("partitions as the superuser: %d, %v", n, err)
	}
	anon, done2 := kafkatopics.NewClient(2*time.Second, b.Addr())
	defer done2()
	if _, err := kafkatopics.Partitions(ctx, anon, "t"); err == nil {
		t.Fatal("a client without SASL described a topic")
	}
}
