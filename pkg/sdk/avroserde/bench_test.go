package avroserde_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	hamba "github.com/hamba/avro/v2" // baseline only: Samnav code goes through pkg/sdk/avro

	"github.com/samnav/samnav/pkg/sdk/avro"
	"github.com/samnav/samnav/pkg/sdk/avroserde"
)

// personSchema is a Person event shaped like the contracts' Person: an
// opaque id, the identity number, names, a population-register address,
// the protected-identity marker, a birth date and timestamps.
const personSchema = `{"type":"record","name":"Person","namespace":"se.stockholm.samnav.person.v1","fields":[
  {"name":"id","type":{"type":"string","logicalType":"uuid"}},
  {"name":"event_id","type":"string"},
  {"name":"personnummer","type":"string"},
  {"name":"given_name","type":"string"},
  {"name":"middle_name","type":["null","string"],"default":null},
  {"name":"family_name","type":"string"},
  {"name":"address","type":{"type":"record","name":"Address","fields":[
    {"name":"street","type":"string"},
    {"name":"care_of","type":["null","string"],"default":null},
    {"name":"postal_code","type":"string"},
    {"name":"city","type":"string"},
    {"name":"municipality_code","type":"string"}]}},
  {"name":"protected_identity","type":"boolean"},
  {"name":"birth_date","type":{"type":"int","logicalType":"date"}},
  {"name":"registered_at","type":{"type":"long","logicalType":"timestamp-millis"}},
  {"name":"valid_from","type":{"type":"long","logicalType":"timestamp-millis"}},
  {"name":"updated_at","type":{"type":"long","logicalType":"timestamp-millis"}},
  {"name":"version","type":"long"},
  {"name":"source","type":"string"},
  {"name":"deceased","type":"boolean","default":false}
]}`

type benchAddress struct {
	Street           string  `avro:"street"`
	CareOf           *string `avro:"care_of"`
	PostalCode       string  `avro:"postal_code"`
	City             string  `avro:"city"`
	MunicipalityCode string  `avro:"municipality_code"`
}

type benchPerson struct {
	ID                string       `avro:"id"`
	EventID           string       `avro:"event_id"`
	Personnummer      string       `avro:"personnummer"`
	GivenName         string       `avro:"given_name"`
	MiddleName        *string      `avro:"middle_name"`
	FamilyName        string       `avro:"family_name"`
	Address           benchAddress `avro:"address"`
	ProtectedIdentity bool         `avro:"protected_identity"`
	BirthDate         time.Time    `avro:"birth_date"`
	RegisteredAt      time.Time    `avro:"registered_at"`
	ValidFrom         time.Time    `avro:"valid_from"`
	UpdatedAt         time.Time    `avro:"updated_at"`
	Version           int64        `avro:"version"`
	Source            string       `avro:"source"`
	Deceased          bool         `avro:"deceased"`
}

func samplePerson() benchPerson {
	middle := "Maria"
	return benchPerson{
		ID: "5f1d7c3e-8a2b-4c6d-9e0f-1a2b3c4d5e6f", EventID: "01JD8X3Q9Z0000000000000000",
		Personnummer: "19121212-1212", GivenName: "Tolvan", MiddleName: &middle, FamilyName: "Tolvansson",
		Address:      benchAddress{Street: "Drottninggatan 1", PostalCode: "11151", City: "Stockholm", MunicipalityCode: "0180"},
		BirthDate:    time.Date(1912, 12, 12, 0, 0, 0, 0, time.UTC),
		RegisteredAt: time.UnixMilli(1_700_000_000_000).UTC(), ValidFrom: time.UnixMilli(1_700_000_100_000).UTC(),
		UpdatedAt: time.UnixMilli(1_700_000_200_000).UTC(), Version: 7, Source: "folkbokforing",
	}
}

// personSerde is, on a fake registry, a serializer writing with writer
// and a deserializer reading with the person schema.
func personSerde(tb testing.TB, writer string) (*avroserde.Serializer, *avroserde.Deserializer) {
	tb.Helper()
	reg := newFakeRegistry(tb)
	client := newClient(tb, reg.URL())
	ser, err := avroserde.NewSerializer(client, "samnav.person.v1-value", writer)
	if err != nil {
		tb.Fatal(err)
	}
	des, err := avroserde.NewDeserializer(client, avro.MustParse(personSchema))
	if err != nil {
		tb.Fatal(err)
	}
	return ser, des
}

func TestPersonRoundTrip(t *testing.T) {
	ser, des := personSerde(t, personSchema)
	in := samplePerson()
	data, err := ser.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	var out benchPerson
	if err := des.Decode(data, &out); err != nil {
		t.Fatal(err)
	}
	if out.ID != in.ID || *out.MiddleName != *in.MiddleName || out.Address != in.Address ||
		!out.BirthDate.Equal(in.BirthDate) || !out.UpdatedAt.Equal(in.UpdatedAt) || out.Version != in.Version {
		t.Errorf("got %+v, want %+v", out, in)
	}
}

type roundTrip func(b *testing.B, in *benchPerson, out *benchPerson)

func personCodecs(b *testing.B) (baseline, serde roundTrip) {
	b.Helper()
	ser, des := personSerde(b, personSchema)
	hs := hamba.MustParse(personSchema)
	baseline = func(b *testing.B, in, out *benchPerson) {
		data, err := hamba.Marshal(hs, in)
		if err != nil {
			b.Fatal(err)
		}
		if err := hamba.Unmarshal(hs, data, out); err != nil {
			b.Fatal(err)
		}
	}
	serde = func(b *testing.B, in, out *benchPerson) {
		data, err := ser.Encode(in)
		if err != nil {
			b.Fatal(err)
		}
		if err := des.Decode(data, out); err != nil {
			b.Fatal(err)
		}
	}
	// Warm both: registration, schema fetch, codec construction.
	in, out := samplePerson(), benchPerson{}
	baseline(b, &in, &out)
	serde(b, &in, &out)
	return baseline, serde
}

// BenchmarkPerson reports encode+decode of one Person event: plain
// hamba/avro Marshal+Unmarshal (the baseline) and avroserde Encode+Decode
// (Confluent framing, cached schema id, resolver lookup, strict decode).
func BenchmarkPerson(b *testing.B) {
	baseline, serde := personCodecs(b)
	for _, bc := range []struct {
		name string
		fn   roundTrip
	}{{"hamba", baseline}, {"avroserde", serde}} {
		b.Run(bc.name, func(b *testing.B) {
			in, out := samplePerson(), benchPerson{}
			b.ReportAllocs()
			for b.Loop() {
				bc.fn(b, &in, &out)
			}
		})
	}
}

// BenchmarkPersonResolved is the checked path: data written by an older
// version (without "deceased") read with the current one, so every message
// is walked by the bounds check before hamba decodes it with resolution.
func BenchmarkPersonResolved(b *testing.B) {
	older := strings.Replace(personSchema, `,
  {"name":"deceased","type":"boolean","default":false}`, "", 1)
	if older == personSchema {
		b.Fatal("older schema not derived")
	}
	ser, des := personSerde(b, older)
	in, out := samplePerson(), benchPerson{}
	b.ReportAllocs()
	for b.Loop() {
		data, err := ser.Encode(&in)
		if err != nil {
			b.Fatal(err)
		}
		if err := des.Decode(data, &out); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPersonRatio runs the baseline and avroserde in alternating
// batches within one benchmark, so both see the same machine load, and
// reports avroserde's time as a multiple of hamba's (target <= 1.15).
func BenchmarkPersonRatio(b *testing.B) {
	baseline, serde := personCodecs(b)
	in, out := samplePerson(), benchPerson{}
	const batch = 256
	var tBase, tSerde time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	run := func(fn roundTrip, n int) time.Duration {
		start := time.Now()
		for range n {
			fn(b, &in, &out)
		}
		return time.Since(start)
	}
	for done, i := 0, 0; done < b.N; done, i = done+batch, i+1 {
		n := min(batch, b.N-done)
		if i%2 == 0 { // alternate which goes first, so neither always runs warm
			tBase += run(baseline, n)
			tSerde += run(serde, n)
		} else {
			tSerde += run(serde, n)
			tBase += run(baseline, n)
		}
	}
	b.ReportMetric(float64(tBase.Nanoseconds())/float64(b.N), "hamba-ns/op")
	b.ReportMetric(float64(tSerde.Nanoseconds())/float64(b.N), "serde-ns/op")
	b.ReportMetric(float64(tSerde)/float64(tBase), "serde/hamba")
}

// BenchmarkSchemaByID measures writer-schema lookups: warm is a cache hit,
// cold is an HTTP GET /schemas/ids/{id} to an httptest registry (a fresh
// client per lookup, sharing one keep-alive HTTP client).
func BenchmarkSchemaByID(b *testing.B) {
	reg := newFakeRegistry(b)
	id := reg.mustAdd("samnav.person.v1-value", personSchema)
	ctx := context.Background()
	httpClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	b.Run("warm", func(b *testing.B) {
		c := newClient(b, reg.URL(), avroserde.WithHTTPClient(httpClient))
		if _, err := c.SchemaByID(ctx, id); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		start := time.Now()
		for b.Loop() {
			if _, err := c.SchemaByID(ctx, id); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "lookups/s")
	})
	b.Run("cold", func(b *testing.B) {
		b.ReportAllocs()
		start := time.Now()
		for b.Loop() {
			c := newClient(b, reg.URL(), avroserde.WithHTTPClient(httpClient))
			if _, err := c.SchemaByID(ctx, id); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "lookups/s")
	})
}
