package avro_test

import (
	"encoding/hex"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/sdk/avro"
)

// These tests pin what Samnav relies on from its Avro implementation. A
// swap of hamba/avro, or an upgrade, that changes any of it fails here.

func TestCanonicalForm(t *testing.T) {
	tests := []struct {
		name, schema, want string
	}{
		{"primitive as object", `{"type":"int"}`, `"int"`},
		// hamba keeps logicalType in the canonical form, unlike the Avro
		// spec's Parsing Canonical Form, so a date and a plain int get
		// different fingerprints. Pinned: a swap to a strictly spec-following
		// implementation would change fingerprints of every contract with a
		// logical type.
		{"logical type kept (hamba deviation from the spec)", `{"type":"int","logicalType":"date"}`, `{"type":"int","logicalType":"date"}`},
		{
			"docs, defaults, aliases and properties dropped; namespace folded into name; attribute order fixed",
			`{"doc":"a person","namespace":"se.samnav","type":"record","name":"P","aliases":["Q"],"x-class":"K2",
			  "fields":[{"doc":"opaque","name":"id","type":"string","default":"x","aliases":["pid"]},
			            {"name":"tags","type":{"items":"string","type":"array"}}]}`,
			`{"name":"se.samnav.P","type":"record","fields":[{"name":"id","type":"string"},{"name":"tags","type":{"type":"array","items":"string"}}]}`,
		},
		{
			"enum, fixed and union",
			`{"type":"record","name":"R","fields":[
			  {"name":"k","type":{"type":"enum","name":"K","symbols":["A","B"],"default":"A"}},
			  {"name":"h","type":{"type":"fixed","name":"H","size":2}},
			  {"name":"n","type":["null","string"],"default":null}]}`,
			`{"name":"R","type":"record","fields":[{"name":"k","type":{"name":"K","type":"enum","symbols":["A","B"]}},{"name":"h","type":{"name":"H","type":"fixed","size":2}},{"name":"n","type":["null","string"]}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := avro.Parse(tt.schema)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Canonical(); got != tt.want {
				t.Errorf("Canonical() =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestFingerprintIsSHA256OfCanonicalForm(t *testing.T) {
	tests := []struct{ schema, wantHex string }{
		// Hex values from `printf '<canonical form>' | sha256sum`.
		{`{"type":"string"}`, "e9e5c1c9e4f6277339d1bcde0733a59bd42f8731f449da6dc13010a916930d48"},
		{`{"type":"record","name":"P","namespace":"se.samnav","doc":"d","fields":[{"name":"id","type":"string","default":""}]}`,
			"49f3fc48acc32f1ea357d7e7f837e65b63076478d3db3f8c737564f64c3dedcd"},
	}
	for _, tt := range tests {
		s := avro.MustParse(tt.schema)
		fp := s.Fingerprint()
		if got := hex.EncodeToString(fp[:]); got != tt.wantHex {
			t.Errorf("Fingerprint(%s) = %s, want %s", tt.schema, got, tt.wantHex)
		}
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, schema string
		wantErr      bool
		wantType     string
		wantFullName string
	}{
		{"record", `{"type":"record","name":"P","namespace":"se.samnav","fields":[]}`, false, "record", "se.samnav.P"},
		{"string", `"string"`, false, "string", ""},
		{"not json", `{`, true, "", ""},
		{"record without fields", `{"type":"record","name":"P"}`, true, "", ""},
		{"unknown type", `{"type":"record","name":"P","fields":[{"name":"a","type":"Nope"}]}`, true, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := avro.Parse(tt.schema)
			if tt.wantErr {
				if !errors.Is(err, avro.ErrInvalidSchema) {
					t.Fatalf("err = %v, want ErrInvalidSchema", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Type() != tt.wantType || s.FullName() != tt.wantFullName {
				t.Errorf("Type %q FullName %q, want %q %q", s.Type(), s.FullName(), tt.wantType, tt.wantFullName)
			}
		})
	}
}

func TestParseDoesNotLeakNamedTypes(t *testing.T) {
	// Each Parse has its own named-type cache: a type defined in one schema
	// must not be visible to, or clash with, another.
	avro.MustParse(`{"type":"record","name":"se.samnav.Address","fields":[{"name":"street","type":"string"}]}`)
	if _, err := avro.Parse(`{"type":"record","name":"P","fields":[{"name":"a","type":"se.samnav.Address"}]}`); err == nil {
		t.Error("a named type from an earlier Parse was visible to a later one")
	}
	v2 := avro.MustParse(`{"type":"record","name":"se.samnav.Address","fields":[{"name":"street","type":"string"},{"name":"zip","type":"string","default":""}]}`)
	if !strings.Contains(v2.Canonical(), `"zip"`) {
		t.Errorf("second version of a record lost its new field: %s", v2.Canonical())
	}
}

const (
	recV1 = `{"type":"record","name":"se.samnav.P","fields":[{"name":"id","type":"string"},{"name":"n","type":"int"}]}`
	// recAddDefault adds a field with a default and promotes n to long.
	recAddDefault   = `{"type":"record","name":"se.samnav.P","fields":[{"name":"id","type":"string"},{"name":"n","type":"long"},{"name":"city","type":"string","default":"Stockholm"}]}`
	recAddNoDefault = `{"type":"record","name":"se.samnav.P","fields":[{"name":"id","type":"string"},{"name":"n","type":"int"},{"name":"city","type":"string"}]}`
	recRemoved      = `{"type":"record","name":"se.samnav.P","fields":[{"name":"id","type":"string"}]}`
	recNToString    = `{"type":"record","name":"se.samnav.P","fields":[{"name":"id","type":"string"},{"name":"n","type":"string"}]}`
	recNullableID   = `{"type":"record","name":"se.samnav.P","fields":[{"name":"id","type":["null","string"]},{"name":"n","type":"int"}]}`
	enumAB          = `{"type":"enum","name":"se.samnav.K","symbols":["A","B"]}`
	enumABC         = `{"type":"enum","name":"se.samnav.K","symbols":["A","B","C"]}`
	enumABWithDef   = `{"type":"enum","name":"se.samnav.K","symbols":["A","B","X"],"default":"X"}`
)

func TestCompatible(t *testing.T) {
	tests := []struct {
		name           string
		reader, writer string
		ok             bool
	}{
		{"same schema", recV1, recV1, true},
		{"reader adds field with default, int widened to long", recAddDefault, recV1, true},
		{"reader adds field without default", recAddNoDefault, recV1, false},
		{"reader drops a field", recRemoved, recV1, true},
		{"reader narrows long to int", recV1, recAddDefault, false},
		{"type change int to string", recNToString, recV1, false},
		{"reader wraps field in union with null", recNullableID, recV1, true},
		{"reader unwraps a union with null", recV1, recNullableID, false},
		{"enum symbol added by reader", enumABC, enumAB, true},
		{"enum symbol removed by reader", enumAB, enumABC, false},
		{"enum symbol removed but reader has a default", enumABWithDef, enumABC, true},
		{"int widened to long", `"long"`, `"int"`, true},
		{"int to double", `"double"`, `"int"`, true},
		{"string read as bytes", `"bytes"`, `"string"`, true},
		{"long narrowed to int", `"int"`, `"long"`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := avro.Compatible(avro.MustParse(tt.reader), avro.MustParse(tt.writer))
			if (err == nil) != tt.ok {
				t.Errorf("Compatible = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

// TestCompatibleIgnoresEarlierVerdicts pins the reason Compatible uses a
// fresh checker: hamba's checker caches verdicts under a fingerprint that
// ignores defaults, so after checking a reader whose new field has a
// default, a reused checker would call the same reader without the default
// compatible too.
func TestCompatibleIgnoresEarlierVerdicts(t *testing.T) {
	writer := avro.MustParse(recV1)
	withDefault := avro.MustParse(strings.Replace(recAddNoDefault, `"type":"string"}]}`, `"type":"string","default":""}]}`, 1))
	withoutDefault := avro.MustParse(recAddNoDefault)
	if withDefault.Fingerprint() != withoutDefault.Fingerprint() {
		t.Fatal("test premise: the two readers must differ only in a default")
	}
	for range 2 { // both orders, twice
		if err := avro.Compatible(withDefault, writer); err != nil {
			t.Fatalf("reader with default: %v", err)
		}
		if err := avro.Compatible(withoutDefault, writer); err == nil {
			t.Fatal("reader without default judged compatible after a reader with one: stale cached verdict")
		}
	}
}

type pV1 struct {
	ID string `avro:"id"`
	N  int32  `avro:"n"`
}

type pV2 struct {
	ID   string `avro:"id"`
	N    int64  `avro:"n"`
	City string `avro:"city"`
}

type pNullable struct {
	ID *string `avro:"id"`
	N  int32   `avro:"n"`
}

func TestResolver(t *testing.T) {
	data, err := avro.Marshal(avro.MustParse(recV1), pV1{ID: "a", N: -5})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("int to long and field added with default", func(t *testing.T) {
		r, err := avro.NewResolver(avro.MustParse(recAddDefault), avro.MustParse(recV1))
		if err != nil {
			t.Fatal(err)
		}
		var got pV2
		if err := r.Unmarshal(data, &got); err != nil {
			t.Fatal(err)
		}
		if got != (pV2{ID: "a", N: -5, City: "Stockholm"}) {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("union with null", func(t *testing.T) {
		r, err := avro.NewDecoder(avro.MustParse(recNullableID), avro.MustParse(recV1))
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := r.Decode(data, &got); err != nil {
			t.Fatal(err)
		}
		if got["id"] != "a" || got["n"] != -5 {
			t.Errorf("got %+v", got)
		}
		// Known limitation of hamba v2.31: a writer's plain string resolved
		// into a reader's ["null","string"] cannot be decoded into a *string
		// field (hamba reports "*string is unsupported for Avro string").
		// Pinned so that a fix, or a swap that behaves otherwise, is noticed;
		// it must stay an error, never a panic.
		var ptr pNullable
		if err := r.Decode(data, &ptr); !errors.Is(err, avro.ErrBadData) {
			t.Errorf("decoding into *string: err = %v; if this now works, drop the limitation note in pkg/sdk/avro and avroserde", err)
		}
	})
	t.Run("removed field skipped", func(t *testing.T) {
		v2, err := avro.Marshal(avro.MustParse(recAddDefault), pV2{ID: "b", N: 1, City: "Solna"})
		if err != nil {
			t.Fatal(err)
		}
		r, err := avro.NewDecoder(avro.MustParse(recRemoved), avro.MustParse(recAddDefault))
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			ID string `avro:"id"`
		}
		if err := r.Decode(v2, &got); err != nil {
			t.Fatal(err)
		}
		if got.ID != "b" {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("incompatible refused", func(t *testing.T) {
		if _, err := avro.NewResolver(avro.MustParse(recAddNoDefault), avro.MustParse(recV1)); err == nil {
			t.Error("NewResolver accepted a reader field without default missing from the writer")
		}
	})
}

const logicalSchema = `{"type":"record","name":"se.samnav.L","fields":[
  {"name":"born","type":{"type":"int","logicalType":"date"}},
  {"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}},
  {"name":"amount","type":{"type":"bytes","logicalType":"decimal","precision":12,"scale":2}},
  {"name":"kind","type":{"type":"enum","name":"Kind","symbols":["RESIDENT","EMIGRATED","DECEASED"]}}
]}`

type logical struct {
	Born   time.Time `avro:"born"`
	At     time.Time `avro:"at"`
	Amount *big.Rat  `avro:"amount"`
	Kind   string    `avro:"kind"`
}

func TestLogicalTypesAndEnumRoundTrip(t *testing.T) {
	s := avro.MustParse(logicalSchema)
	in := logical{
		Born:   time.Date(1912, 12, 12, 0, 0, 0, 0, time.UTC),
		At:     time.Date(2025, 3, 1, 12, 30, 15, 123_456_789, time.UTC),
		Amount: big.NewRat(123456, 100), // 1234.56
		Kind:   "EMIGRATED",
	}
	data, err := avro.Marshal(s, in)
	if err != nil {
		t.Fatal(err)
	}
	// date is days since the epoch as a zig-zag varint: 1912-12-12 is day
	// -20839, zig-zag 41677.
	if want := []byte{0xcd, 0xc5, 0x02}; string(data[:3]) != string(want) {
		t.Errorf("date encoded as %x, want %x", data[:3], want)
	}
	var out logical
	if err := avro.UnmarshalStrict(s, data, &out); err != nil {
		t.Fatal(err)
	}
	if !out.Born.Equal(in.Born) {
		t.Errorf("date %v, want %v", out.Born, in.Born)
	}
	if want := in.At.Truncate(time.Millisecond); !out.At.Equal(want) {
		t.Errorf("timestamp-millis %v, want %v (truncated to ms)", out.At, want)
	}
	if out.Amount == nil || out.Amount.Cmp(in.Amount) != 0 {
		t.Errorf("decimal %v, want %v", out.Amount, in.Amount)
	}
	if out.Kind != in.Kind {
		t.Errorf("enum %q, want %q", out.Kind, in.Kind)
	}
	if _, err := avro.Marshal(s, logical{Born: in.Born, At: in.At, Amount: in.Amount, Kind: "MOVED"}); err == nil {
		t.Error("Marshal accepted an enum symbol not in the schema")
	}
}

func TestAppendMarshalMatchesMarshal(t *testing.T) {
	s := avro.MustParse(recAddDefault)
	v := pV2{ID: "åäö", N: 1 << 40, City: "Sundbyberg"}
	want, err := avro.Marshal(s, v)
	if err != nil {
		t.Fatal(err)
	}
	prefix := []byte{0xde, 0xad}
	got, err := avro.AppendMarshal(prefix, s, v)
	if err != nil {
		t.Fatal(err)
	}
	if string(got[:2]) != string(prefix) || string(got[2:]) != string(want) {
		t.Errorf("AppendMarshal = %x, want %x%x", got, prefix, want)
	}
	if _, err := avro.AppendMarshal(nil, s, map[string]any{"id": 1}); err == nil {
		t.Error("AppendMarshal accepted a value that does not fit the schema")
	}
}

func TestUnmarshalStrict(t *testing.T) {
	s := avro.MustParse(recV1)
	good, err := avro.Marshal(s, pV1{ID: "abc", N: 300})
	if err != nil {
		t.Fatal(err)
	}
	arr := avro.MustParse(`{"type":"array","items":"long"}`)
	tests := []struct {
		name   string
		schema *avro.Schema
		data   []byte
		want   error
	}{
		{"exact", s, good, nil},
		{"empty", s, nil, avro.ErrShortData},
		{"cut inside string", s, good[:2], avro.ErrShortData},
		{"cut inside varint", s, good[:len(good)-1], avro.ErrShortData},
		{"trailing byte", s, append(append([]byte{}, good...), 0), avro.ErrTrailingData},
		{"negative string length", s, []byte{0x03}, avro.ErrBadData},
		{"string over the size limit", s, []byte{0xfe, 0xff, 0xff, 0xff, 0x0f}, avro.ErrBadData},
		// On the unchecked typed path hamba reports an over-long varint as
		// running out of data; the checked path calls it malformed.
		{"varint overflow", s, []byte{0x02, 'a', 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, avro.ErrShortData},
		{"boolean byte other than 0 or 1", avro.MustParse(`"boolean"`), []byte{0x02}, avro.ErrBadData},
		{"array block claims 2^30 items", arr, []byte{0x80, 0x80, 0x80, 0x80, 0x08}, avro.ErrBadData},
		{"array of nulls claims 2^62 items", avro.MustParse(`{"type":"array","items":"null"}`),
			[]byte{0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, avro.ErrBadData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out any
			switch tt.schema {
			case s:
				out = &pV1{}
			case arr:
				out = &[]int64{}
			default:
				out = new(any)
			}
			err := avro.UnmarshalStrict(tt.schema, tt.data, out)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			// A generic target takes the checked path; it must agree that
			// the data is bad (the kind may differ only for varint overflow).
			var generic any
			if gerr := avro.UnmarshalStrict(tt.schema, tt.data, &generic); (gerr == nil) != (err == nil) {
				t.Errorf("generic target: err = %v, typed target: %v", gerr, err)
			}
		})
	}
}

// TestDecoderBoundsClaimedCounts pins the guard against hamba trusting block
// counts: a writer field the reader lacks is skipped by a loop over the
// claimed count that ignores errors, so without the guard five bytes
// claiming 2^62 items keep the decoder busy for hours.
func TestDecoderBoundsClaimedCounts(t *testing.T) {
	writer := avro.MustParse(`{"type":"record","name":"se.samnav.W","fields":[
	  {"name":"id","type":"string"},
	  {"name":"tags","type":{"type":"array","items":"long"}}]}`)
	reader := avro.MustParse(`{"type":"record","name":"se.samnav.W","fields":[{"name":"id","type":"string"}]}`)
	d, err := avro.NewDecoder(reader, writer)
	if err != nil {
		t.Fatal(err)
	}
	huge := []byte{0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f} // zig-zag 2^62-1
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"skipped array claims 2^62 items", append([]byte{0x02, 'a'}, huge...), avro.ErrBadData},
		{"well formed", []byte{0x02, 'a', 0x04, 0x02, 0x04, 0x00}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, out := range []any{&struct {
				ID string `avro:"id"`
			}{}, &map[string]any{}} {
				if err := d.Decode(tt.data, out); !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
					t.Errorf("into %T: err = %v, want %v", out, err, tt.want)
				}
			}
		})
	}
}
