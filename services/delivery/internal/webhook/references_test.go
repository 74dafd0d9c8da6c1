package webhook_test

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/samnav/samnav/services/delivery/internal/channel"
	"github.com/samnav/samnav/services/delivery/internal/webhook"
)

// An employee message sent while the person was not protected is, once
// the person is protected, redelivered without the fields that locate
// them: the send-time projection resolves the employee's reference to the
// person with the person's protection as it is then.
func TestRedeliverAfterTheEmployeesPersonIsProtected(t *testing.T) {
	empSub := sub1
	empSub.Concept = "employee"
	empSub.ApprovedFields = []string{"person", "givenName", "surname", "unit", "workEmailAddress"}
	var protected atomic.Bool
	rc := newReceiver(t, nil)
	svc := start(t, webhook.Config{Subscriptions: newSubscriptions(empSub).lookup,
		Protected: func(_ context.Context, concept, id string) (bool, error) {
			return concept == "person" && id == "p1" && protected.Load(), nil
		}})
	register(t, svc, rc.URL)
	src := map[string]any{"id": "e1", "person": "p1", "givenName": "Kim", "surname": "Lindqvist", "unit": "unit-solskolan",
		"workEmailAddress": "kim@stad.example", "forvaltning": "f1"}
	ev := channel.Event{SubscriptionID: empSub.ID, System: empSub.System, Concept: "employee", Key: "e1", EventID: "evt-e1",
		Type: channel.TypeChanged, Time: time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC), Revision: 1, Source: src,
		State: map[string]any{"id": "e1", "person": "p1", "givenName": "Kim", "surname": "Lindqvist", "unit": "unit-solskolan", "workEmailAddress": "kim@stad.example"}}
	if err := svc.Deliver(context.Background(), empSub, ev); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "evt-e1 delivered", func() bool { return slices.Contains(rc.delivered(), "evt-e1") })
	if first := string(sentOf(rc, "evt-e1")[0].Body); !strings.Contains(first, "unit-solskolan") {
		t.Fatalf("before protection the employee went without its unit: %s", first)
	}
	protected.Store(true)
	if err := svc.Redeliver(context.Background(), empSub.ID, messageOf(t, svc, "evt-e1")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "evt-e1 redelivered", func() bool { return len(sentOf(rc, "evt-e1")) == 2 })
	r := sentOf(rc, "evt-e1")[1]
	for _, leak := range []string{"unit-solskolan", "kim@stad.example", `"p1"`} {
		if strings.Contains(string(r.Body), leak) {
			t.Errorf("redelivered after protection with %s: %s", leak, r.Body)
		}
	}
	if r.Env.Data["surname"] != "Lindqvist" {
		t.Errorf("redelivered without the fields that do not locate: %v", r.Env.Data)
	}
}
