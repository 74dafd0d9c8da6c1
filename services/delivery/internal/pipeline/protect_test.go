package pipeline_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/samnav/samnav/contracts/concepts"
	"github.com/samnav/samnav/pkg/sdk/envelope"
	"github.com/samnav/samnav/pkg/sdk/kafkatopics"
	"github.com/samnav/samnav/pkg/sdk/sqldb"
	"github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/delivery/internal/kafkaview"
	"github.com/samnav/samnav/services/delivery/internal/store/sqlstore"
	"github.com/samnav/samnav/services/hubtest"
)

// The e-mail address person p-1 has in startNarrowHub's state topic.
const openAddress = "open1@example.org"

// A person who becomes a protected identity leaves no earlier address in
// the copies the hub keeps for systems not approved for protected
// identities: once the compaction bound has passed, the view topic read
// from offset 0 and the feed read from the oldest cursor hold the
// shielded record only. The bound is short here (the embedded broker
// compacts on the same schedule; see embeddedkafka.Config.CleanerInterval).
func TestAPersonWhoBecomesProtectedLeavesNoOldAddress(t *testing.T) {
	const lag = 300 * time.Millisecond
	viewSub := personSub("s-view", "skolplattform", client.ChannelKafka, "givenNames", "emailAddress")
	feedSub := personSub("s-feed", "bibliotek", client.ChannelFeed, "givenNames", "emailAddress")
	h, ctx := startNarrowHubWith(t, 60*time.Second, lag, viewSub, feedSub)
	topic := kafkaview.Topic(viewSub)
	before := h.waitForKeys(t, ctx, topic)
	if !containsValue(before, openAddress) {
		t.Fatalf("before protection the view should hold p-1's address")
	}
	// Neither Apache Kafka nor the embedded broker compacts the active
	// segment, and a segment rolls only when a record is appended: the
	// bound holds once a later record reaches p-1's partition. Another
	// person of that partition changes after the protection, as on any
	// partition that is written to.
	neighbour := ""
	for _, m := range before {
		if string(m.Key) != "p-1" && m.Partition == partitionOf(before, "p-1") {
			neighbour = string(m.Key)
		}
	}
	if neighbour == "" {
		t.Fatal("no other person shares p-1's view partition; change the test's persons")
	}
	n, _ := strconv.Atoi(neighbour[len("p-"):])
	h.waitForFeed(t, ctx, feedSub.ID)

	h.publishPerson(t, ctx, concepts.PersonV1{ID: "p-1", GivenNames: "Given1-r2", Surname: "Withdrawnsson1",
		DateOfBirth: time.Date(2015, 3, 1, 0, 0, 0, 0, time.UTC), ProtectedIdentity: concepts.PersonV1ProtectedIdentityProtectedRegistration,
		RegistrationStatus: "REGISTERED", PhoneNumbers: []string{}, EmailAddress: ptr(openAddress)}, "ev-protect", 2)

	// The shielded record must be in the view before the later one.
	eventually(t, ctx, func() (bool, string) {
		return hasEvent(h.readView(t, ctx, topic), "p-1", "ev-protect"), topic + " lacks p-1's shielded record"
	})
	time.Sleep(lag) // on Apache Kafka, the shielded record's segment is now due to roll
	h.publishPerson(t, ctx, concepts.PersonV1{ID: neighbour, GivenNames: "Later", Surname: "Neighbour",
		DateOfBirth: time.Date(2015, 3, 1, 0, 0, 0, 0, time.UTC), ProtectedIdentity: "NONE",
		RegistrationStatus: "REGISTERED", PhoneNumbers: []string{}, EmailAddress: ptr("open" + strconv.Itoa(n) + "@example.org")}, "ev-later", 3)

	eventually(t, ctx, func() (bool, string) {
		log, err := h.feed.Changes(ctx, feedSub.ID, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		shielded := false
		for _, e := range log {
			if e.EventID == "ev-protect" {
				shielded = true
			}
			if bytes.Contains(e.State, []byte(openAddress)) {
				return false, "the feed read from the oldest cursor still shows p-1's address in entry " + strconv.FormatInt(e.Position, 10)
			}
		}
		return shielded, "the feed has not stored p-1's shielded record yet"
	})
	eventually(t, ctx, func() (bool, string) {
		msgs := h.readView(t, ctx, topic)
		if containsValue(msgs, openAddress) {
			return false, topic + " read from offset 0 still shows p-1's address " + lag.String() + " and more after the shielded record"
		}
		return hasEvent(msgs, "p-1", "ev-protect"), topic + " lost p-1's shielded record"
	})
}

// The bound holds on a quiet view partition too: after a person becomes
// protected, or is erased, nothing else is written to their view
// partition, and still, once the compaction lag has passed, the view read
// from offset 0 holds no earlier address. The embedded broker, as Apache
// Kafka, never compacts the last batch of a partition (its active
// segment): the channel's one re-publish of p-1's current record after
// the lag is what closes it.
func TestAQuietViewPartitionForgetsTheOldAddressToo(t *testing.T) {
	const lag = 300 * time.Millisecond
	for _, tc := range []struct {
		name  string
		write func(t *testing.T, ctx context.Context, h *narrowHub)
	}{
		{"protected", func(t *testing.T, ctx context.Context, h *narrowHub) {
			h.publishPerson(t, ctx, concepts.PersonV1{ID: "p-1", GivenNames: "Given1-r2", Surname: "Withdrawnsson1",
				DateOfBirth: time.Date(2015, 3, 1, 0, 0, 0, 0, time.UTC), ProtectedIdentity: concepts.PersonV1ProtectedIdentityProtectedRegistration,
				RegistrationStatus: "REGISTERED", PhoneNumbers: []string{}, EmailAddress: ptr(openAddress)}, "ev-last", 2)
		}},
		{"erased", func(t *testing.T, ctx context.Context, h *narrowHub) {
			h.publishRecord(t, ctx, "p-1", nil, "ev-last", envelope.Erased, 2)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			viewSub := personSub("s-view", "skolplattform", client.ChannelKafka, "givenNames", "emailAddress")
			rp := openRepublishes(t)
			h, ctx := startViewHub(t, 60*time.Second, lag, rp, viewSub)
			topic := kafkaview.Topic(viewSub)
			if before := h.waitForKeys(t, ctx, topic); !containsValue(before, openAddress) {
				t.Fatalf("before the change the view should hold p-1's address")
			}
			// The snapshot's protected person (p-5) was scheduled too: once
			// its re-publish is done, nothing but p-1's own can reach the view.
			waitRepublished(t, ctx, rp)

			tc.write(t, ctx, h)

			// Well within the hub's context, so that a failure names
			// what is still there.
			wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			eventually(t, wctx, func() (bool, string) {
				msgs := h.readView(t, ctx, topic)
				if containsValue(msgs, openAddress) {
					return false, topic + " read from offset 0 still shows p-1's address " + lag.String() + " and more after its last record"
				}
				return hasEvent(msgs, "p-1", "ev-last"), topic + " lacks p-1's last record"
			})
			// Nothing but p-1's last record, and its copy with the same
			// event id, was written to p-1's partition after it.
			msgs := h.readView(t, ctx, topic)
			part, after := partitionOf(msgs, "p-1"), false
			for _, m := range msgs {
				if m.Partition != part {
					continue
				}
				if string(m.Key) == "p-1" && string(headerOf(m, envelope.HeaderID)) == "ev-last" {
					after = true
				} else if after {
					t.Errorf("%s/%d offset %d: %s %s written after p-1's last record; the partition was to stay quiet", topic, part, m.Offset, m.Key, headerOf(m, envelope.HeaderID))
				}
			}
			waitRepublished(t, ctx, rp)
		})
	}
}

// A re-publish never overtakes a newer record of the key: p-1 becomes
// protected, which schedules a re-publish, and its protection is lifted
// before that is due. The re-publish writes what is current then, the
// later record, so the view's last record of p-1 stays the later one.
func TestARepublishWritesTheKeysCurrentRecord(t *testing.T) {
	const lag = 3 * time.Second // the later record must be in the view before the re-publish is due (CI runs with -race on 2 cores)
	viewSub := personSub("s-view", "skolplattform", client.ChannelKafka, "givenNames", "emailAddress")
	rp := openRepublishes(t)
	h, ctx := startViewHub(t, 60*time.Second, lag, rp, viewSub)
	topic := kafkaview.Topic(viewSub)
	h.waitForKeys(t, ctx, topic)
	waitRepublished(t, ctx, rp)
	p1 := concepts.PersonV1{ID: "p-1", GivenNames: "Given1-r2", Surname: "Withdrawnsson1",
		DateOfBirth: time.Date(2015, 3, 1, 0, 0, 0, 0, time.UTC), ProtectedIdentity: concepts.PersonV1ProtectedIdentityProtectedRegistration,
		RegistrationStatus: "REGISTERED", PhoneNumbers: []string{}, EmailAddress: ptr(openAddress)}
	h.publishPerson(t, ctx, p1, "ev-protect", 2)
	p1.ProtectedIdentity, p1.GivenNames = "NONE", "Given1-r3"
	h.publishPerson(t, ctx, p1, "ev-lifted", 3)
	var end int64
	eventually(t, ctx, func() (bool, string) {
		msgs := h.readView(t, ctx, topic)
		end = -1
		for _, m := range msgs {
			if m.Partition == partitionOf(msgs, "p-1") {
				end = max(end, m.Offset)
			}
		}
		return hasEvent(msgs, "p-1", "ev-lifted"), topic + " lacks p-1's later record"
	})
	due, err := rp.DueRepublishes(ctx, time.Now().Add(time.Hour), 10)
	if err != nil || len(due) != 1 || due[0].Key != "p-1" || time.Now().After(due[0].Due) {
		t.Fatalf("re-publishes pending once p-1's later record is in the view = %v, %v; want p-1's, not due yet", due, err)
	}
	waitRepublished(t, ctx, rp)
	msgs := h.readView(t, ctx, topic)
	var last kafka.Message
	for _, m := range msgs {
		if string(m.Key) == "p-1" {
			last = m
		}
	}
	if id := string(headerOf(last, envelope.HeaderID)); id != "ev-lifted" || last.Offset <= end {
		t.Errorf("p-1's last view record is %s at offset %d; want the re-published ev-lifted after offset %d", id, last.Offset, end)
	}
}

// waitRepublished waits until no re-publish is pending in rp.
func waitRepublished(t *testing.T, ctx context.Context, rp *sqlstore.Store) {
	t.Helper()
	eventually(t, ctx, func() (bool, string) {
		due, err := rp.DueRepublishes(ctx, time.Now().Add(24*time.Hour), 10)
		if err != nil {
			t.Fatal(err)
		}
		return len(due) == 0, fmt.Sprintf("%d view re-publishes pending", len(due))
	})
}

// openRepublishes opens delivery's store on a SQLite file of the test's.
func openRepublishes(t *testing.T) *sqlstore.Store {
	t.Helper()
	db, _, err := sqldb.Open("sqlite:" + filepath.Join(t.TempDir(), "delivery.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st, err := sqlstore.New(t.Context(), db, sqldb.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// The view topics carry the compaction bounds: those the channel creates,
// and one that exists with other values, set again when a process starts.
func TestViewTopicsCarryTheCompactionBounds(t *testing.T) {
	const lag = 2 * time.Second
	sub := personSub("s-view", "skolplattform", client.ChannelKafka, "givenNames")
	h, ctx := startNarrowHubWith(t, 60*time.Second, lag, sub)
	topic := kafkaview.Topic(sub)
	h.waitForKeys(t, ctx, topic)
	adm, done, err := hubtest.HubUser.Client(10*time.Second, h.broker.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	want := map[string]string{"cleanup.policy": "compact", "max.compaction.lag.ms": "2000", "segment.ms": "2000",
		"delete.retention.ms": strconv.FormatInt(kafkaview.DefaultDeleteRetention.Milliseconds(), 10)}
	check := func(when string) {
		t.Helper()
		got, err := kafkatopics.Describe(ctx, adm, topic)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: %s %s = %q, want %q", when, topic, k, got[k], v)
			}
		}
	}
	check("created")
	// A topic made by an earlier release, or under another bound.
	if err := kafkatopics.SetConfigs(ctx, adm, topic, map[string]string{"max.compaction.lag.ms": "9223372036854775807", "segment.ms": "604800000"}); err != nil {
		t.Fatal(err)
	}
	h.restart(t)
	h.sync(t, sub)
	eventually(t, ctx, func() (bool, string) {
		got, err := kafkatopics.Describe(ctx, adm, topic)
		if err != nil {
			t.Fatal(err)
		}
		return got["max.compaction.lag.ms"] == "2000" && got["segment.ms"] == "2000", "after a restart " + topic + " still has max.compaction.lag.ms " + got["max.compaction.lag.ms"]
	})
	check("after a restart")
}
