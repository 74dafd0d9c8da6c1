package delivery_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/samnav/samnav/contracts"
	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/embeddedkafka"
	"github.com/samnav/samnav/pkg/sdk/avro"
	"github.com/samnav/samnav/pkg/sdk/avroserde"
	"github.com/samnav/samnav/pkg/sdk/kafkatopics"
	"github.com/samnav/samnav/services/delivery"
	"github.com/samnav/samnav/services/masterdata"
	"github.com/samnav/samnav/services/registry"
)

// hub is the running hub of an end-to-end test: broker, registry, master
// data with its relay, and delivery.
type hub struct {
	t        testing.TB
	broker   *embeddedkafka.Broker
	regURL   string
	md       *masterdata.Server
	dl       *delivery.Server
	mdBase   string
	dlBase   string
	registry *avroserde.RegistryClient
}

func startHub(t testing.TB, ctx context.Context) *hub {
	t.Helper()
	dir := t.TempDir()
	broker, err := embeddedkafka.Start(ctx, embeddedkafka.Config{
		Topics: []kafkatopics.Spec{{Name: "samnav.person.v1", Partitions: 3, Compact: true}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { broker.Close() })
	cs, err := contracts.Contracts()
	if err != nil {
		t.Fatal(err)
	}
	var seed []registry.Seed
	for _, c := range cs {
		seed = append(seed, registry.Seed{Subject: c.Subject, Schema: c.Schema})
	}
	if err := os.MkdirAll(filepath.Join(dir, "registry"), 0o750); err != nil {
		t.Fatal(err)
	}
	reg, err := registry.New(registry.Config{Addr: "127.0.0.1:0", Driver: registry.DriverSQLite, DataDir: filepath.Join(dir, "registry"),
		Seed: seed, Authorizer: registry.AllowAllWrites{}}, registry.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	h := &hub{t: t, broker: broker, regURL: "http://" + reg.Addr()}
	if h.registry, err = avroserde.NewRegistryClient(h.regURL); err != nil {
		t.Fatal(err)
	}
	h.md, err = masterdata.New(ctx, masterdata.Config{Addr: "127.0.0.1:0", DataDir: filepath.Join(dir, "md"), RegistryURL: h.regURL,
		Brokers: []string{broker.Addr()}, LookupOnly: true}, masterdata.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.md.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.md.Close() })
	h.mdBase = "http://" + h.md.Addr()
	h.dl, err = delivery.New(ctx, delivery.Config{Addr: "127.0.0.1:0", DataDir: filepath.Join(dir, "delivery"), RegistryURL: h.regURL,
		Brokers: []string{broker.Addr()}, SyncInterval: time.Second, WebhookAllowPrivate: true}, delivery.Deps{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.dl.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.dl.Close() })
	h.dlBase = "http://" + h.dl.Addr()
	return h
}

func issue(t testing.TB, tokens *auth.Tokens, name string, kind auth.Kind, grants ...auth.Grant) string {
	t.Helper()
	secret, _, err := tokens.Issue(context.Background(), auth.IssueRequest{Subject: name, Kind: kind, Name: name, Grants: grants})
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

func call(t testing.TB, method, u, token string, body any) (int, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: %d %s", method, u, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, out
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
// identity reaches it without an address or email.
func TestOnceOnlyKafka(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	h := startHub(t, ctx)

	fb := issue(t, h.md.Tokens(), "folkbokforing", auth.KindSystem, auth.Grant{Role: auth.RolePublisher, System: "folkbokforing"})
	publish := func(state map[string]any) string {
		t.Helper()
		st, body := call(t, "POST", h.mdBase+"/api/v1/publish/person", fb, map[string]any{"items": []any{map[string]any{"op": "upsert", "state": state}}})
		if st != 200 {
			t.Fatalf("publish: %d %v", st, body)
		}
		return body["results"].([]any)[0].(map[string]any)["id"].(string)
	}
	ella := publish(personState("201405052380", "Ella", "Storgatan 1", "NONE"))
	hidden := publish(personState("201405052398", "Vera", "Hemliga vägen 2", "PROTECTED_REGISTRATION"))

	admin := issue(t, h.dl.Tokens(), "owner-anna", auth.KindUser, auth.Grant{Role: auth.RoleAdmin})
	school := issue(t, h.dl.Tokens(), "skolplattform", auth.KindSystem, auth.Grant{Role: auth.RolePublisher, System: "skolplattform"})
	library := issue(t, h.dl.Tokens(), "bibliotek", auth.KindSystem, auth.Grant{Role: auth.RolePublisher, System: "bibliotek"})

	req := map[string]any{"concept": "person", "purpose": "placing pupils in schools", "channel": "kafka",
		"legalBasis": map[string]any{"basis": "public_task", "reference": "Skollagen (2010:800) 29 kap."},
		"fields":     []string{"personalIdentityNumber", "givenNames", "surname", "registeredAddress", "emailAddress"}, "reason": "new school platform"}
	st, sub := call(t, "POST", h.dlBase+"/api/v1/subscriptions", school, req)
	if st != 201 || sub["status"] != "requested" || sub["system"] != "skolplattform" {
		t.Fatalf("request: %d %v", st, sub)
	}
	id := sub["id"].(string)
	// Nothing is delivered before approval; a system cannot approve itself.
	if st, body := call(t, "POST", h.dlBase+"/api/v1/subscriptions/"+id+"/approve", school, map[string]any{"reason": "me"}); st != 403 {
		t.Fatalf("self-approval: %d %v", st, body)
	}
	if st, _ := call(t, "GET", h.dlBase+"/api/v1/subscriptions/"+id, library, nil); st != 404 {
		t.Fatalf("another system sees the subscription: %d", st)
	}
	// Wait for a sync round that began after the request was stored (see
	// Synced), without relying on how long a round takes.
	n := h.dl.Synced()
	eventually(ctx, t, "a sync round after the request", func() bool { return h.dl.Synced() >= n+2 })
	if running := h.dl.Running(); len(running) != 0 {
		t.Fatalf("delivering before approval: %v", running)
	}
	st, sub = call(t, "POST", h.dlBase+"/api/v1/subscriptions/"+id+"/approve", admin,
		map[string]any{"fields": []string{"givenNames", "surname", "registeredAddress", "emailAddress"}, "reason": "the identity number is not needed for placement"})
	if st != 200 || sub["status"] != "approved" {
		t.Fatalf("approve: %d %v", st, sub)
	}
	_, hist := call(t, "GET", h.dlBase+"/api/v1/subscriptions/"+id+"/history", school, nil)
	changes := hist["changes"].([]any)
	if len(changes) != 2 || changes[1].(map[string]any)["action"] != "narrowed" || changes[1].(map[string]any)["actor"] != "owner-anna" {
		t.Fatalf("history: %v", hist)
	}
	st, acls := call(t, "GET", h.dlBase+"/api/v1/subscriptions/"+id+"/acls", admin, nil)
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
	publish(personState("201405052380", "Ella", "Nya gatan 7", "NONE"))
	read(func() bool {
		addr, _ := seen[ella]["registeredAddress"].(map[string]any)
		return addr["streetAddress"] == "Nya gatan 7"
	})
	// The protected child moves too: still no address reaches the school.
	publish(personState("201405052398", "Vera", "Ännu hemligare 3", "PROTECTED_REGISTRATION"))
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
func newViewReader(t testing.TB, h *hub, topic string) *viewReader {
	t.Helper()
	s := avro.MustParse(viewSchema(t, h, topic))
	des, err := avroserde.NewDeserializer(h.registry, s)
	if err != nil {
		t.Fatal(err)
	}
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{h.broker.Addr()}, Topic: topic, GroupID: "test-" + topic, StartOffset: kafka.FirstOffset, MaxWait: 100 * time.Millisecond,
		WatchPartitionChanges: true, PartitionWatchInterval: 100 * time.Millisecond})
	t.Cleanup(func() { r.Close() })
	return &viewReader{t: t, r: r, des: des, schema: s, count: map[string]int{}}
}

// viewSchema waits for the view topic's schema to be registered (at the
// subscription's first delivery) and returns it.
func viewSchema(t testing.TB, h *hub, topic string) string {
	t.Helper()
	var text string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get(h.regURL + "/subjects/" + url.PathEscape(topic+"-value") + "/versions/latest")
		if err == nil {
			var v struct {
				Schema string `json:"schema"`
			}
			err = json.NewDecoder(resp.Body).Decode(&v)
			resp.Body.Close()
			if err == nil && resp.StatusCode == 200 {
				text = v.Schema
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no schema registered for %s: %v", topic, err)
		}
	}
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
