package delivery_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/samnav/samnav/services/hubtest"
)

// TestLiveFlowAndLag: a change published once at the master shows in the
// recent deliveries of the subscription that received it, with only the
// approved fields, to the subscriber itself and not to another system;
// the subscription's lag reaches zero once the pipeline delivered it.
func TestLiveFlowAndLag(t *testing.T) {
	h, c, ctx := startCast(t, 90*time.Second)
	ella := c.publishElla()
	admin, home, library := c.admin, c.subscriber("hemtjanst"), c.subscriber("bibliotek")
	st, sub := hubtest.CallJSON(t, "POST", h.DeliveryURL+"/api/v1/subscriptions", home, map[string]any{"concept": "person", "purpose": "home care visits", "channel": "feed",
		"legalBasis": map[string]any{"basis": "public_task", "reference": "Socialtjänstlagen (2001:453)"}, "fields": []string{"givenNames", "surname"}, "reason": "new"})
	if st != 201 {
		t.Fatalf("request: %d %v", st, sub)
	}
	id := sub["id"].(string)
	if st, _ := hubtest.CallJSON(t, "GET", h.DeliveryURL+"/api/v1/subscriptions/"+id+"/lag", library, nil); st != 404 {
		t.Fatalf("another system reads the lag: %d, want 404", st)
	}
	if st, body := hubtest.CallJSON(t, "POST", h.DeliveryURL+"/api/v1/subscriptions/"+id+"/approve", admin, map[string]any{"fields": []string{"givenNames"}, "reason": "names only"}); st != 200 {
		t.Fatalf("approve: %d %v", st, body)
	}

	var got map[string]any
	for after := "0"; got == nil; {
		st, body := hubtest.CallJSON(t, "GET", h.DeliveryURL+"/api/v1/deliveries/recent?wait=5&after="+after, home, nil)
		if st != 200 {
			t.Fatalf("recent: %d %v", st, body)
		}
		for _, d := range body["deliveries"].([]any) {
			if d := d.(map[string]any); d["recordId"] == ella {
				got = d
			}
		}
		after = fmt.Sprint(uint64(body["next"].(float64)))
		if ctx.Err() != nil {
			t.Fatal("no delivery of the published person")
		}
	}
	if got["subscription"] != id || got["system"] != "hemtjanst" || got["channel"] != "feed" || got["operation"] != "changed" ||
		fmt.Sprint(got["fields"]) != "[givenNames]" || got["eventId"] == "" {
		t.Fatalf("delivery %v, want the feed delivery of givenNames only", got)
	}
	if _, body := hubtest.CallJSON(t, "GET", h.DeliveryURL+"/api/v1/deliveries/recent", library, nil); len(body["deliveries"].([]any)) != 0 {
		t.Fatalf("another system sees deliveries: %v", body)
	}
	for {
		st, body := hubtest.CallJSON(t, "GET", h.DeliveryURL+"/api/v1/subscriptions/"+id+"/lag", home, nil)
		if st != 200 {
			t.Fatalf("lag: %d %v", st, body)
		}
		ch := body["channels"].([]any)[0].(map[string]any)
		if ch["channel"] != "feed" || ch["topic"] != "samnav.person.v1" || len(ch["partitions"].([]any)) != 3 {
			t.Fatalf("lag %v", body)
		}
		if ch["events"].(float64) == 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("lag never reached 0: %v", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
