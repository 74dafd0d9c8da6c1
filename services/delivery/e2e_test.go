package delivery_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/embeddedkafka"
	"github.com/samnav/samnav/pkg/sdk/avro"
	"github.com/samnav/samnav/pkg/sdk/avroserde"
	"github.com/samnav/samnav/pkg/sdk/kafkatopics"
	"github.com/samnav/samnav/pkg/sdk/poll"
	"github.com/samnav/samnav/services/hubtest"
)

// startHub starts the hub of the end-to-end tests (hubtest): the broker
// with the person state topic on three partitions, the registry, master
// data with its relay, and delivery, each with its own token store.
func startHub(t testing.TB, opts ...hubtest.Option) *hubtest.Hub {
	t.Helper()
	return hubtest.Start(t, append([]hubtest.Option{
		hubtest.WithBroker(embeddedkafka.Config{Topics: []kafkatopics.Spec{{Name: "samnav.person.v1", Partitions: 3, Compact: true}}}),
		hubtest.WithMasterdata(), hubtest.WithDelivery(),
	}, opts...)...)
}

// startHubWithin starts the hub (startHub) for a test that must be over
// within timeout: the context returned ends then, or when the test ends.
func startHubWithin(t testing.TB, timeout time.Duration, opts ...hubtest.Option) (*hubtest.Hub, context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	t.Cleanup(cancel)
	return startHub(t, opts...), ctx
}

// cast is who acts in the end-to-end stories: at master data the
// population register (the person's master) and a privacy officer; at
// delivery the information owner and three systems.
type cast struct {
	t                                           testing.TB
	h                                           *hubtest.Hub
	fb, mdAdmin, admin, school, library, social string
	// scan, with startScannedCast, learns every person published.
	scan *hubtest.Scan
}

// startCast starts the hub (startHub) and issues the cast's tokens, for a
// story that must be over within timeout: the context returned ends then.
func startCast(t testing.TB, timeout time.Duration) (*hubtest.Hub, *cast, context.Context) {
	t.Helper()
	return startCastWith(t, timeout, nil)
}

// startScannedCast is startCast with the log and URL scan: the hub logs
// at debug level to the cast's scan, which records every request line
// and learns every person the cast publishes; the story ends with
// c.scan.Check.
func startScannedCast(t testing.TB, timeout time.Duration) (*hubtest.Hub, *cast, context.Context) {
	t.Helper()
	return startCastWith(t, timeout, hubtest.NewScan())
}

func startCastWith(t testing.TB, timeout time.Duration, sc *hubtest.Scan) (*hubtest.Hub, *cast, context.Context) {
	t.Helper()
	var opts []hubtest.Option
	if sc != nil {
		opts = append(opts, hubtest.WithScan(sc))
	}
	h, ctx := startHubWithin(t, timeout, opts...)
	system := func(name string) string {
		return hubtest.Issue(t, h.Delivery.Tokens(), name, auth.KindSystem, auth.Grant{Role: auth.RolePublisher, System: name})
	}
	return h, &cast{t: t, h: h, scan: sc,
		fb:      hubtest.Issue(t, h.Masterdata.Tokens(), "folkbokforing", auth.KindSystem, auth.Grant{Role: auth.RolePublisher, System: "folkbokforing"}),
		mdAdmin: hubtest.Issue(t, h.Masterdata.Tokens(), "privacy-officer", auth.KindUser, auth.Grant{Role: auth.RoleAdmin}),
		admin:   hubtest.Issue(t, h.Delivery.Tokens(), "owner-anna", auth.KindUser, auth.Grant{Role: auth.RoleAdmin}),
		school:  system("skolplattform"), library: system("bibliotek"), social: system("socialtjanst")}, ctx
}

// subscriber issues a delivery token for the business system name, which
// receives data through its own subscriptions (auth.RoleSubscriber).
func (c *cast) subscriber(name string) string {
	c.t.Helper()
	return hubtest.Issue(c.t, c.h.Delivery.Tokens(), name, auth.KindSystem, auth.Grant{Role: auth.RoleSubscriber, System: name})
}

// publishElla and publishVera publish the stories' two children as the
// population register and return their ids: Ella, and Vera, who has a
// protected identity.
func (c *cast) publishElla() string {
	return c.publish(personState("201405052380", "Ella", "Storgatan 1", "NONE"))
}

func (c *cast) publishVera() string {
	return c.publish(personState("201405052398", "Vera", "Hemliga vägen 2", "PROTECTED_REGISTRATION"))
}

// publish writes a person as the population register and returns its id.
func (c *cast) publish(state map[string]any) string {
	c.t.Helper()
	if c.scan != nil {
		m, _ := hubtest.Model(c.t)
		c.scan.Seeded(c.t, m, "person", state)
	}
	return c.h.Publish(c.fb, "person", state)[0]
}

func personState(pnr, given, street string, protected string) map[string]any {
	return map[string]any{"personalIdentityNumber": pnr, "givenNames": given, "surname": "Lind", "dateOfBirth": "2014-05-05",
		"protectedIdentity": protected, "registrationStatus": "REGISTERED",
		"registeredAddress": map[string]any{"streetAddress": street, "postalCode": "11122", "postTown": "Stockholm", "municipalityCode": "0180"},
		"emailAddress":      given + "@example.se"}
}

// TestOnceOnlyKafka: the once-only story on the Kafka channel. The school
// platform asks for persons; the information owner narrows the request
// (no personal identity number); persons already in the register arrive
// as the snapshot; the population register (the person's master) changes
// a child's address once and the change reaches the school platform's
// view topic with only the approved fields; a child with protected
// identity reaches it without an address or email. No log line or request
// line holds a seeded personal value (the scan).
func TestOnceOnlyKafka(t *testing.T) {
	h, c, ctx := startScannedCast(t, 90*time.Second)
	defer c.scan.Check(t)
	ella, hidden := c.publishElla(), c.publishVera()
	admin, school, library := c.admin, c.school, c.library

	req := map[string]any{"concept": "person", "purpose": "placing pupils in schools", "channel": "kafka",
		"legalBasis": map[string]any{"basis": "public_task", "reference": "Skollagen (2010:800) 29 kap."},
		"fields":     []string{"personalIdentityNumber", "givenNames", "surname", "registeredAddress", "emailAddress"}, "reason": "new school platform"}
	st, sub := hubtest.CallJSON(t, "POST", h.DeliveryURL+"/api/v1/subscriptions", school, req)
	if st != 201 || sub["status"] != "requested" || sub["system"] != "skolplattform" {
		t.Fatalf("request: %d %v", st, sub)
	}
	id := sub["id"].(string)
	// Nothing is delivered before approval; a system cannot approve itself.
	if st, body := hubtest.CallJSON(t, "POST", h.DeliveryURL+"/api/v1/subscriptions/"+id+"/approve", school, map[string]any{"reason": "me"}); st != 403 {
		t.Fatalf("self-approval: %d %v", st, body)
	}
	if st, _ := hubtest.CallJSON(t, "GET", h.DeliveryURL+"/api/v1/subscriptions/"+id, library, nil); st != 404 {
		t.Fatalf("another system sees the subscription: %d", st)
	}
	// Wait for a sync round that began after the request was stored (see
	// Synced), without relying on how long a round takes.
	n := h.Delivery.Synced()
	poll.True(ctx, t, "a sync round after the request", func() bool { return h.Delivery.Synced() >= n+2 })
	if running := h.Delivery.Running(); len(running) != 0 {
		t.Fatalf("delivering before approval: %v", running)
	}
	st, sub = hubtest.CallJSON(t, "POST", h.DeliveryURL+"/api/v1/subscriptions/"+id+"/approve", admin,
		map[string]any{"fields": []string{"givenNames", "surname", "registeredAddress", "emailAddress"}, "reason": "the identity number is not needed for placement"})
	if st != 200 || sub["status"] != "approved" {
		t.Fatalf("approve: %d %v", st, sub)
	}
	_, hist := hubtest.CallJSON(t, "GET", h.DeliveryURL+"/api/v1/subscriptions/"+id+"/history", school, nil)
	changes := hist["changes"].([]any)
	if len(changes) != 2 || changes[1].(map[string]any)["action"] != "narrowed" || changes[1].(map[string]any)["actor"] != "owner-anna" {
		t.Fatalf("history: %v", hist)
	}
	st, acls := hubtest.CallJSON(t, "GET", h.DeliveryURL+"/api/v1/subscriptions/"+id+"/acls", admin, nil)
	if st != 200 || acls["topic"] != "samnav.view.skolplattform.person.v1" || len(acls["commands"].([]any)) != 7 { // view read+describe, group read, dead-letter prefix create+write+read+describe
		t.Fatalf("acls: %d %v", st, acls)
	}

	view := "samnav.view.skolplattform.person.v1"
	reader := newViewReader(t, h, view)
	want := map[string]bool{"id": true, "givenNames": true, "surname": true, "registeredAddress": true, "emailAddress": true}
	seen := map[string]map[string]any{}
	read := func(until func() bool) {
		t.Helper()
		for !until() {
			key, rec, hdr := reader.next(ctx)
			if rec == nil {
				t.Fatalf("tombstone for %s", key)
			}
			for k := range rec {
				if !want[k] {
					t.Fatalf("view record carries unapproved field %q: %v", k, rec)
				}
			}
			if hdr["ce_id"] == "" || hdr["ce_type"] != "se.samnav.person.changed" || hdr["ce_subject"] != key {
				t.Fatalf("headers %v", hdr)
			}
			seen[key] = rec
		}
	}
	// The snapshot: both persons, the protected one without address/email.
	read(func() bool { return seen[ella] != nil && seen[hidden] != nil })
	if seen[hidden]["registeredAddress"] != nil || seen[hidden]["emailAddress"] != nil {
		t.Fatalf("protected identity delivered with address: %v", seen[hidden])
	}
	if addr, _ := seen[ella]["registeredAddress"].(map[string]any); addr["streetAddress"] != "Storgatan 1" {
		t.Fatalf("snapshot of ella: %v", seen[ella])
	}

	// The change, made once at the master.
	c.publish(personState("201405052380", "Ella", "Nya gatan 7", "NONE"))
	read(func() bool {
		addr, _ := seen[ella]["registeredAddress"].(map[string]any)
		return addr["streetAddress"] == "Nya gatan 7"
	})
	// The protected child moves too: still no address reaches the school.
	c.publish(personState("201405052398", "Vera", "Ännu hemligare 3", "PROTECTED_REGISTRATION"))
	read(func() bool { return reader.count[hidden] >= 2 })
	if seen[hidden]["registeredAddress"] != nil {
		t.Fatalf("protected identity's new address delivered: %v", seen[hidden])
	}
}

type viewReader struct {
	t      testing.TB
	r      *kafka.Reader
	des    *avroserde.Deserializer
	schema *avro.Schema
	count  map[string]int
}

// newViewReader reads a view topic from the start, decoding with the
// schema registered under "<topic>-value", as any Confluent consumer would.
func newViewReader(t testing.TB, h *hubtest.Hub, topic string) *viewReader {
	t.Helper()
	s := avro.MustParse(viewSchema(t, h, topic))
	des, err := avroserde.NewDeserializer(h.Registry, s)
	if err != nil {
		t.Fatal(err)
	}
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{h.Broker.Addr()}, Topic: topic, GroupID: "test-" + topic, StartOffset: kafka.FirstOffset, MaxWait: 100 * time.Millisecond,
		WatchPartitionChanges: true, PartitionWatchInterval: 100 * time.Millisecond})
	t.Cleanup(func() { r.Close() })
	return &viewReader{t: t, r: r, des: des, schema: s, count: map[string]int{}}
}

// viewSchema waits for the view topic's schema to be registered (at the
// subscription's first delivery) and returns it.
func viewSchema(t testing.TB, h *hubtest.Hub, topic string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var text string
	poll.Until(ctx, t, "the schema of "+topic, func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.RegistryURL+"/subjects/"+url.PathEscape(topic+"-value")+"/versions/latest", nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var v struct {
			Schema string `json:"schema"`
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("registry answered %d", resp.StatusCode)
		}
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
			return fmt.Errorf("decode the registry's answer: %w", err)
		}
		text = v.Schema
		return nil
	})
	return text
}

// next returns the next record's key, plain value (nil for a tombstone)
// and headers.
func (v *viewReader) next(ctx context.Context) (string, map[string]any, map[string]string) {
	v.t.Helper()
	msg, err := v.r.ReadMessage(ctx)
	if err != nil {
		v.t.Fatalf("read view: %v", err)
	}
	h := map[string]string{}
	for _, hd := range msg.Headers {
		h[hd.Key] = string(hd.Value)
	}
	v.count[string(msg.Key)]++
	if msg.Value == nil {
		return string(msg.Key), nil, h
	}
	var rec map[string]any
	if err := v.des.DecodeContext(ctx, msg.Value, &rec); err != nil {
		v.t.Fatalf("decode view record: %v", err)
	}
	// Unwrap unions the way the Avro decoder shapes named types in maps.
	for k, val := range rec {
		if m, ok := val.(map[string]any); ok && len(m) == 1 {
			for name, inner := range m {
				if slices.Contains([]string{"se.samnav.person.v1.PersonRegisteredAddress"}, name) {
					rec[k] = inner
				}
			}
		}
	}
	return string(msg.Key), rec, h
}
