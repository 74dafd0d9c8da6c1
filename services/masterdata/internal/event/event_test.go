package event_test

import (
	"context"
	"encoding/json"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/samnav/samnav/contracts/concepts"
	"github.com/samnav/samnav/contracts/contractstest"
	"github.com/samnav/samnav/pkg/sdk/avro"
	"github.com/samnav/samnav/pkg/sdk/avroserde"
	"github.com/samnav/samnav/pkg/sdk/sqldb"
	"github.com/samnav/samnav/services/hubtest"
	"github.com/samnav/samnav/services/masterdata/client"
	"github.com/samnav/samnav/services/masterdata/internal/event"
)

// memRegistry is a Registrar and SchemaSource in memory.
type memRegistry struct {
	mu   sync.Mutex
	byID map[uint32]string
	ids  map[string]uint32
}

func (r *memRegistry) Register(_ context.Context, subject, text string) (uint32, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ids == nil {
		r.ids, r.byID = map[string]uint32{}, map[uint32]string{}
	}
	if id, ok := r.ids[subject+text]; ok {
		return id, nil
	}
	id := uint32(len(r.ids) + 1)
	r.ids[subject+text], r.byID[id] = id, text
	return id, nil
}

func (r *memRegistry) Lookup(ctx context.Context, subject, text string) (uint32, error) {
	return r.Register(ctx, subject, text)
}

func (r *memRegistry) SchemaByID(_ context.Context, id uint32) (*avro.Schema, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return avro.Parse(r.byID[id])
}

func decodeJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestEntryDecodesIntoGeneratedTypes(t *testing.T) {
	m := contractstest.Model(t)
	reg := &memRegistry{}
	b, err := event.NewBuilder(m, sqldb.SQLite, reg)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Warm(context.Background()); err != nil {
		t.Fatal(err)
	}
	date := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	tests := []struct {
		concept string
		state   string
		decode  func(t *testing.T, d *avroserde.Deserializer, data []byte)
	}{
		{"person", `{"personalIdentityNumber":"198507099805","givenNames":"Anna Maria","surname":"Andersson","dateOfBirth":"1985-07-09","protectedIdentity":"NONE","registrationStatus":"REGISTERED",
			"registeredAddress":{"streetAddress":"Gatan 1","postalCode":"11122","postTown":"Stockholm","municipalityCode":"0180"},"phoneNumbers":["+46701234567"]}`,
			func(t *testing.T, d *avroserde.Deserializer, data []byte) {
				var p concepts.PersonV1
				if err := d.Decode(data, &p); err != nil {
					t.Fatal(err)
				}
				if p.ID != "rec-1" || p.PersonalIdentityNumber == nil || *p.PersonalIdentityNumber != "198507099805" || p.CoordinationNumber != nil ||
					!p.DateOfBirth.Equal(date("1985-07-09")) || p.ProtectedIdentity != concepts.PersonV1ProtectedIdentityNone ||
					p.RegisteredAddress == nil || p.RegisteredAddress.PostalCode != "11122" || p.RegisteredAddress.CareOf != nil ||
					len(p.PhoneNumbers) != 1 || p.DateOfDeath != nil {
					t.Fatalf("decoded %+v", p)
				}
			}},
		{"employee", `{"person":"p-1","employeeNumber":"E1","givenName":"Bo","surname":"Berg","forvaltning":"f-1","employmentType":"FIXED_TERM","employmentRate":"87.50","startDate":"2024-01-15","endDate":"2025-06-30"}`,
			func(t *testing.T, d *avroserde.Deserializer, data []byte) {
				var e concepts.EmployeeV1
				if err := d.Decode(data, &e); err != nil {
					t.Fatal(err)
				}
				if e.EmploymentRate == nil || e.EmploymentRate.Cmp(big.NewRat(175, 2)) != 0 || e.EndDate == nil || !e.EndDate.Equal(date("2025-06-30")) || e.Title != nil || string(e.EmploymentType) != "FIXED_TERM" {
					t.Fatalf("decoded %+v", e)
				}
			}},
		{"address", `{"streetName":"Drottninggatan","streetNumber":12,"postalCode":"11151","postTown":"Stockholm","latitude":59.334591,"validFrom":"2020-01-01"}`,
			func(t *testing.T, d *avroserde.Deserializer, data []byte) {
				var a concepts.AddressV1
				if err := d.Decode(data, &a); err != nil {
					t.Fatal(err)
				}
				if a.StreetNumber == nil || *a.StreetNumber != 12 || a.Latitude == nil || *a.Latitude == nil || (*a.Latitude).FloatString(6) != "59.334591" || a.Longitude != nil {
					t.Fatalf("decoded %+v", a)
				}
			}},
		{"unit", `{"name":"Solskolan","unitType":"PRIMARY_SCHOOL","ownerNamnd":"n-1","openingHours":[{"dayOfWeek":"MONDAY","opens":"07:30","closes":"17:00"}],"validFrom":"2019-08-01","capacity":400}`,
			func(t *testing.T, d *avroserde.Deserializer, data []byte) {
				var u concepts.UnitV1
				if err := d.Decode(data, &u); err != nil {
					t.Fatal(err)
				}
				if len(u.OpeningHours) != 1 || string(u.OpeningHours[0].DayOfWeek) != "MONDAY" || string(u.Ownership) != "MUNICIPAL" || u.Capacity == nil || *u.Capacity != 400 {
					t.Fatalf("decoded %+v", u)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.concept, func(t *testing.T) {
			state := decodeJSON(t, tt.state)
			if errs := m.Concept(tt.concept).Validate(state); errs != nil {
				t.Fatalf("fixture invalid: %v", errs)
			}
			at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			rec := &client.Record{Concept: tt.concept, ID: "rec-1", Revision: 3, State: state}
			ch := &client.Change{Kind: client.KindUpdated, At: at, EventID: "ev-1", TraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
			e, err := b.Entry(context.Background(), rec, ch)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{
				"ce_specversion": "1.0", "ce_id": "ev-1", "ce_source": "/samnav/masterdata", "ce_type": "se.samnav." + tt.concept + ".changed",
				"ce_time": "2026-03-01T12:00:00Z", "ce_subject": "rec-1", "content-type": "application/avro", "samnav_revision": "3",
				"traceparent": ch.TraceParent,
			}
			for k, v := range want {
				if e.Headers[k] != v {
					t.Errorf("header %s = %q, want %q", k, e.Headers[k], v)
				}
			}
			if string(e.Key) != "rec-1" || e.Topic != "samnav."+tt.concept+".v1" || e.EventID != "ev-1" {
				t.Errorf("entry = %s %s %s", e.Topic, e.Key, e.EventID)
			}
			d, err := avroserde.NewDeserializer(reg, avro.MustParse(hubtest.ContractSchema(t, tt.concept)))
			if err != nil {
				t.Fatal(err)
			}
			tt.decode(t, d, e.Value)
		})
	}
}

func TestEndedAndErased(t *testing.T) {
	m := contractstest.Model(t)
	b, err := event.NewBuilder(m, sqldb.SQLite, &memRegistry{})
	if err != nil {
		t.Fatal(err)
	}
	state := decodeJSON(t, `{"givenNames":"A","surname":"B","dateOfBirth":"1985-07-09","protectedIdentity":"NONE","registrationStatus":"DECEASED"}`)
	ended := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		rec       *client.Record
		kind      client.Kind
		wantType  string
		tombstone bool
		endedAt   string
		resync    string
	}{
		{"ended", &client.Record{Concept: "person", ID: "x", Revision: 2, State: state, EndedAt: &ended}, client.KindEnded, "se.samnav.person.ended", false, "2026-03-02T00:00:00Z", ""},
		{"resync of ended", &client.Record{Concept: "person", ID: "x", Revision: 2, State: state, EndedAt: &ended}, client.KindResynced, "se.samnav.person.ended", false, "2026-03-02T00:00:00Z", "true"},
		{"resync", &client.Record{Concept: "person", ID: "x", Revision: 2, State: state}, client.KindResynced, "se.samnav.person.changed", false, "", "true"},
		{"created", &client.Record{Concept: "person", ID: "x", Revision: 1, State: state}, client.KindCreated, "se.samnav.person.created", false, "", ""},
		{"erased", &client.Record{Concept: "person", ID: "x", Revision: 3, EndedAt: &ended}, client.KindErased, "se.samnav.person.erased", true, "2026-03-02T00:00:00Z", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := b.Entry(context.Background(), tt.rec, &client.Change{Kind: tt.kind, At: ended, EventID: "e"})
			if err != nil {
				t.Fatal(err)
			}
			if e.Headers["ce_type"] != tt.wantType || (e.Value == nil) != tt.tombstone || e.Headers["samnav_ended_at"] != tt.endedAt || e.Headers["samnav_resync"] != tt.resync {
				t.Fatalf("entry headers %v, tombstone %v", e.Headers, e.Value == nil)
			}
			if _, ok := e.Headers["traceparent"]; ok {
				t.Fatal("traceparent without a trace")
			}
		})
	}
}
