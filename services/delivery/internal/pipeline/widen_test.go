package pipeline_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/samnav/samnav/pkg/sdk/avroserde"
	"github.com/samnav/samnav/pkg/sdk/poll"
	"github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/delivery/internal/kafkaview"
)

// eventually calls check until it reports true, and fails the test with
// check's last account when ctx ends first.
func eventually(t *testing.T, ctx context.Context, check func() (bool, string)) {
	t.Helper()
	poll.Until(ctx, t, "the expected state of the view and feed", func() error {
		if ok, why := check(); !ok {
			return errors.New(why)
		}
		return nil
	})
}

// viewHasSurnames reports whether topic, read from the beginning, holds
// every person, each of its records with the person's surname.
func (h *narrowHub) viewHasSurnames(t *testing.T, ctx context.Context, topic string) (bool, string) {
	return h.viewHolds(t, ctx, topic, func(m kafka.Message) string {
		if n := strings.TrimPrefix(string(m.Key), "p-"); !bytes.Contains(m.Value, []byte("Withdrawnsson"+n)) {
			return fmt.Sprintf("%s offset %d/%d (key %s) has no surname: %q", topic, m.Partition, m.Offset, m.Key, m.Value)
		}
		return ""
	})
}

// viewLacksSurnames reports whether topic, read from the beginning, holds
// every person and no surname.
func (h *narrowHub) viewLacksSurnames(t *testing.T, ctx context.Context, topic string) (bool, string) {
	return h.viewHolds(t, ctx, topic, func(m kafka.Message) string {
		if bytes.Contains(m.Value, []byte("Withdrawnsson")) {
			return fmt.Sprintf("%s offset %d/%d (key %s) holds a withdrawn surname", topic, m.Partition, m.Offset, m.Key)
		}
		return ""
	})
}

// viewHolds reports whether topic, read from the beginning, holds every
// person and no record bad finds fault with (bad's account is the
// report's).
func (h *narrowHub) viewHolds(t *testing.T, ctx context.Context, topic string, bad func(kafka.Message) string) (bool, string) {
	seen := map[string]bool{}
	for _, m := range h.readView(t, ctx, topic) {
		if why := bad(m); why != "" {
			return false, why
		}
		seen[string(m.Key)] = true
	}
	if len(seen) != statePersons {
		return false, fmt.Sprintf("%s holds %d of %d persons", topic, len(seen), statePersons)
	}
	return true, ""
}

// feedHasSurnames reports whether sub's feed snapshot holds every person,
// each with its surname.
func (h *narrowHub) feedHasSurnames(t *testing.T, ctx context.Context, sub string) (bool, string) {
	snap, err := h.feed.Snapshot(ctx, sub, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap) != statePersons {
		return false, fmt.Sprintf("feed %s holds %d of %d persons", sub, len(snap), statePersons)
	}
	for _, e := range snap {
		want := `"surname":"Withdrawnsson` + strings.TrimPrefix(e.Key, "p-") + `"`
		if !bytes.Contains(e.State, []byte(want)) {
			return false, fmt.Sprintf("feed %s: %s has no surname: %s", sub, e.Key, e.State)
		}
	}
	return true, ""
}

// personSub is an approved subscription of system to person v1 on ch,
// with fields requested and approved.
func personSub(id, system string, ch client.ChannelKind, fields ...string) client.Subscription {
	return client.Subscription{ID: id, System: system, Concept: "person", Major: 1, Channel: ch,
		RequestedFields: fields, ApprovedFields: slices.Clone(fields), Status: client.StatusApproved, Version: 2}
}

// protectedSub is socialtjanst's Kafka subscription to given names and
// e-mail addresses, approved for persons with a protected identity.
func protectedSub() client.Subscription {
	s := personSub("s-soc", "socialtjanst", client.ChannelKafka, "givenNames", "emailAddress")
	s.ProtectedIdentities, s.ProtectedApproved = true, true
	return s
}

// withdrawProtected is s with the approval for protected identities
// withdrawn, as a new version.
func withdrawProtected(s client.Subscription) client.Subscription {
	s.ProtectedApproved, s.Version = false, s.Version+1
	return s
}

func widened(s client.Subscription) client.Subscription {
	s.RequestedFields, s.ApprovedFields, s.Version = []string{"givenNames", "surname"}, []string{"givenNames", "surname"}, s.Version+1
	return s
}

func narrowed(s client.Subscription) client.Subscription {
	s.ApprovedFields, s.Version = []string{"givenNames"}, s.Version+1
	return s
}

// Widening a Kafka subscription by a field the contract requires (person
// surname) rebuilds its view topic: the registry does not refuse the
// wider schema (a required field added is incompatible with the old
// versions under BACKWARD_TRANSITIVE, which go with the old data), and
// read from the beginning the view holds every person with a surname.
func TestWideningWithARequiredFieldRebuildsTheViewTopic(t *testing.T) {
	sub := personSub("s-skol", "skolplattform", client.ChannelKafka, "givenNames")
	h, ctx := startNarrowHub(t, 60*time.Second, sub)
	topic := kafkaview.Topic(sub)
	eventually(t, ctx, func() (bool, string) { return h.viewLacksSurnames(t, ctx, topic) })

	h.sync(t, widened(sub))
	eventually(t, ctx, func() (bool, string) { return h.viewHasSurnames(t, ctx, topic) })
	_, latest, err := h.reg.LatestSchema(ctx, avroserde.TopicSubject(topic, false))
	if err != nil || !strings.Contains(latest, `"surname"`) {
		t.Errorf("latest view schema = %s, %v; want one with surname", latest, err)
	}
	if f := h.mgr.Failing(); len(f) != 0 {
		t.Errorf("after the rebuild, failing subscriptions: %v", f)
	}
}

// Widening a feed subscription rebuilds its feed: every record's current
// state gets the newly approved field, without the system asking again.
func TestWideningRebuildsTheFeed(t *testing.T) {
	sub := personSub("s-feed", "socialtjanst", client.ChannelFeed, "givenNames")
	h, ctx := startNarrowHub(t, 60*time.Second, sub)
	for _, e := range h.waitForFeed(t, ctx, sub.ID) {
		if bytes.Contains(e.State, []byte("surname")) {
			t.Fatalf("before widening %s has a surname: %s", e.Key, e.State)
		}
	}
	h.sync(t, widened(sub))
	eventually(t, ctx, func() (bool, string) { return h.feedHasSurnames(t, ctx, sub.ID) })
}

// A reshaping saved while the pipeline was down (the process died after
// the decision was stored, before the rebuild began) is rebuilt when the
// pipeline starts again: widened Kafka and feed subscriptions get the new
// field for every record, a narrowed Kafka subscription loses it.
func TestReshapingSavedBeforeARestartIsRebuiltAtStart(t *testing.T) {
	h, ctx := startNarrowHub(t, 90*time.Second)
	narrow := func(id, system string, ch client.ChannelKind) client.Subscription {
		s := personSub(id, system, ch, "givenNames")
		s.RequestedFields = []string{"givenNames", "surname"}
		return s
	}
	kafkaSub, feedSub := narrow("s-skol", "skolplattform", client.ChannelKafka), narrow("s-feed", "socialtjanst", client.ChannelFeed)
	wideSub := widened(narrow("s-bibl", "bibliotek", client.ChannelKafka))
	h.sync(t, kafkaSub, feedSub, wideSub)
	eventually(t, ctx, func() (bool, string) { return h.viewLacksSurnames(t, ctx, kafkaview.Topic(kafkaSub)) })
	eventually(t, ctx, func() (bool, string) { return h.viewHasSurnames(t, ctx, kafkaview.Topic(wideSub)) })
	h.waitForFeed(t, ctx, feedSub.ID)

	// The decisions are stored while no pipeline runs.
	h.restart(t)
	h.sync(t, widened(kafkaSub), widened(feedSub), narrowed(wideSub))
	eventually(t, ctx, func() (bool, string) { return h.viewHasSurnames(t, ctx, kafkaview.Topic(kafkaSub)) })
	eventually(t, ctx, func() (bool, string) { return h.feedHasSurnames(t, ctx, feedSub.ID) })
	eventually(t, ctx, func() (bool, string) { return h.viewLacksSurnames(t, ctx, kafkaview.Topic(wideSub)) })

	// Started again unchanged, nothing is rebuilt: the views keep their
	// records (a rebuild would delete the topic and write them anew).
	written := func() []string {
		var out []string
		for _, m := range h.readView(t, ctx, kafkaview.Topic(kafkaSub)) {
			out = append(out, fmt.Sprintf("%d/%d@%s", m.Partition, m.Offset, m.Time.Format(time.RFC3339Nano)))
		}
		return out
	}
	before := written()
	oldHead, err := h.feed.Head(ctx, feedSub.ID)
	if err != nil {
		t.Fatal(err)
	}
	h.restart(t)
	h.sync(t, widened(kafkaSub), widened(feedSub), narrowed(wideSub))
	// Sync decides at once whether a copy is rebuilt, and a rebuild
	// clears it (the view topic deleted and created again, the feed
	// emptied) before Sync returns: nothing to wait for.
	if after := written(); !slices.Equal(after, before) {
		t.Errorf("restarted unchanged, the view was written again: records %v, before %v", after, before)
	}
	if head, err := h.feed.Head(ctx, feedSub.ID); err != nil || head != oldHead {
		t.Errorf("restarted unchanged, the feed's head is %d (%v), not %d", head, err, oldHead)
	}
}

// setMode sets the registry mode of subject (READONLY refuses every
// write to it).
func (h *narrowHub) setMode(t *testing.T, ctx context.Context, subject, mode string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, h.regURL+"/mode/"+subject, strings.NewReader(`{"mode":"`+mode+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", avroserde.ContentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("set mode of %s to %s: %s", subject, mode, resp.Status)
	}
}

// A rebuild the registry refuses does not deliver the old view, nor spin:
// Sync returns the refusal naming the subject with the registry's
// message, Failing shows it, and a later Sync rebuilds once the registry
// accepts.
func TestARefusedRebuildSurfacesAndIsRetried(t *testing.T) {
	sub := personSub("s-skol", "skolplattform", client.ChannelKafka, "givenNames")
	h, ctx := startNarrowHub(t, 60*time.Second, sub)
	topic := kafkaview.Topic(sub)
	subject := avroserde.TopicSubject(topic, false)
	eventually(t, ctx, func() (bool, string) { return h.viewLacksSurnames(t, ctx, topic) })

	h.setMode(t, ctx, subject, "READONLY")
	err := h.mgr.Sync([]client.Subscription{widened(sub)})
	if err == nil || !strings.Contains(err.Error(), subject) || !strings.Contains(err.Error(), "read-only mode") {
		t.Fatalf("Sync with the view subject read-only = %v; want the refusal naming %s with the registry's message", err, subject)
	}
	if f := h.mgr.Failing()[sub.ID]; f == nil || !strings.Contains(f.Error(), "read-only mode") {
		t.Errorf("Failing()[%s] = %v; want the refusal", sub.ID, f)
	}
	if slices.Contains(h.mgr.Running(), sub.ID) {
		t.Errorf("%s delivers although its rebuild failed", sub.ID)
	}

	h.setMode(t, ctx, subject, "READWRITE")
	eventually(t, ctx, func() (bool, string) {
		if err := h.mgr.Sync([]client.Subscription{widened(sub)}); err != nil {
			return false, fmt.Sprintf("Sync after the registry accepts again: %v", err)
		}
		return true, ""
	})
	if f := h.mgr.Failing(); len(f) != 0 {
		t.Errorf("after the rebuild, failing subscriptions: %v", f)
	}
	eventually(t, ctx, func() (bool, string) { return h.viewHasSurnames(t, ctx, topic) })
}

// Withdrawing the approval for protected identities while the pipeline is
// down rebuilds the view at start, though the projected schema stays the
// same (the e-mail address is nullable in the contract): no record keeps
// a protected person's e-mail.
func TestWithdrawingProtectedIdentitiesBeforeARestartIsRebuiltAtStart(t *testing.T) {
	sub := protectedSub()
	h, ctx := startNarrowHub(t, 60*time.Second, sub)
	topic := kafkaview.Topic(sub)
	hidden := func(want bool) func() (bool, string) {
		return func() (bool, string) {
			msgs := h.readView(t, ctx, topic)
			seen := map[string]bool{}
			found := false
			for _, m := range msgs {
				seen[string(m.Key)] = true
				found = found || bytes.Contains(m.Value, []byte("hidden@example.org"))
			}
			if len(seen) != statePersons || found != want {
				return false, fmt.Sprintf("%s holds %d of %d persons; protected e-mail present %v, want %v", topic, len(seen), statePersons, found, want)
			}
			return true, ""
		}
	}
	eventually(t, ctx, hidden(true))

	h.restart(t)
	h.sync(t, withdrawProtected(sub))
	eventually(t, ctx, hidden(false))
}
