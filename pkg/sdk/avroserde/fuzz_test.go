package avroserde_test

import (
	"context"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/sdk/avro"
	"github.com/samnav/samnav/pkg/sdk/avroserde"
)

// fuzzSchema exercises every decoder an outside message can reach: unions,
// arrays, maps, enums, fixed, bytes, logical types and a nested record.
const fuzzSchema = `{"type":"record","name":"Fuzz","namespace":"se.samnav.test","fields":[
  {"name":"id","type":"string"},
  {"name":"n","type":"long"},
  {"name":"nick","type":["null","string"],"default":null},
  {"name":"tags","type":{"type":"array","items":"string"}},
  {"name":"attrs","type":{"type":"map","values":"int"}},
  {"name":"kind","type":{"type":"enum","name":"Kind","symbols":["A","B","C"]}},
  {"name":"hash","type":{"type":"fixed","name":"Hash","size":4}},
  {"name":"raw","type":"bytes"},
  {"name":"born","type":{"type":"int","logicalType":"date"}},
  {"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}},
  {"name":"amount","type":{"type":"bytes","logicalType":"decimal","precision":9,"scale":2}},
  {"name":"addr","type":{"type":"record","name":"Addr","fields":[{"name":"street","type":"string"},{"name":"zip","type":"string"}]}},
  {"name":"ok","type":"boolean"},
  {"name":"score","type":"double"}
]}`

// staticSource serves schemas from memory: the fuzzer exercises decoding,
// not HTTP.
type staticSource map[uint32]*avro.Schema

func (s staticSource) SchemaByID(_ context.Context, id uint32) (*avro.Schema, error) {
	if sc, ok := s[id]; ok {
		return sc, nil
	}
	return nil, &avroserde.Error{Op: "fetch schema", SchemaID: id, Kind: avroserde.ErrUnknownSchemaID}
}

var sentinels = []error{
	avroserde.ErrTruncated, avroserde.ErrWrongMagicByte, avroserde.ErrUnknownSchemaID,
	avroserde.ErrMalformedBody, avroserde.ErrIncompatible,
}

func fuzzSeeds(f *testing.F) {
	s := avro.MustParse(fuzzSchema)
	v := map[string]any{
		"id": "p-1", "n": int64(-3), "nick": "Kalle", "tags": []any{"a", "bb"},
		"attrs": map[string]any{"x": 1}, "kind": "B", "hash": [4]byte{1, 2, 3, 4},
		"raw": []byte{9, 8}, "born": 19000, "at": int64(1_700_000_000_000),
		"amount": []byte{0x01, 0x00}, "addr": map[string]any{"street": "Drottninggatan 1", "zip": "11151"},
		"ok": true, "score": 1.5,
	}
	body, err := avro.Marshal(s, v)
	if err != nil {
		f.Fatalf("seed: %v", err)
	}
	for _, id := range []uint32{1, 2} {
		f.Add(append(avroserde.AppendHeader(nil, id), body...))
	}
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 0, 1})
	f.Add([]byte{1, 0, 0, 0, 1, 0})
	f.Add(append(avroserde.AppendHeader(nil, 1), body[:len(body)/2]...))
	f.Add(append(avroserde.AppendHeader(nil, 1), 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01))
}

func FuzzParseHeader(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		id, body, err := avroserde.ParseHeader(data)
		if err != nil {
			if !errors.Is(err, avroserde.ErrTruncated) && !errors.Is(err, avroserde.ErrWrongMagicByte) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		again := append(avroserde.AppendHeader(nil, id), body...)
		if string(again) != string(data) {
			t.Fatalf("AppendHeader(ParseHeader(x)) != x")
		}
	})
}

// FuzzDecode feeds arbitrary bytes to a Deserializer: it must return nil or
// an error of one of the documented kinds, and never panic or hang.
func FuzzDecode(f *testing.F) {
	fuzzSeeds(f)
	reader := avro.MustParse(fuzzSchema)
	src := staticSource{
		1: reader,
		// id 2: another version (n an int, no nick, an extra field), so
		// decoding goes through schema resolution.
		2: avro.MustParse(strings.Replace(fuzzSchema,
			`{"name":"n","type":"long"},
  {"name":"nick","type":["null","string"],"default":null},`,
			`{"name":"n","type":"int"},
  {"name":"extra","type":{"type":"array","items":"long"}},`, 1)),
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		des, err := avroserde.NewDeserializer(src, reader)
		if err != nil {
			t.Fatal(err)
		}
		// A generic target goes through the checked path, a typed one (for
		// id 1, the reader's own schema) through the path hamba bounds.
		var generic map[string]any
		checkKind(t, des.Decode(data, &generic))
		var typed fuzzRecord
		checkKind(t, des.Decode(data, &typed))
	})
}

func checkKind(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return
		}
	}
	t.Fatalf("error of no documented kind: %v", err)
}

type fuzzRecord struct {
	ID     string         `avro:"id"`
	N      int64          `avro:"n"`
	Nick   *string        `avro:"nick"`
	Tags   []string       `avro:"tags"`
	Attrs  map[string]int `avro:"attrs"`
	Kind   string         `avro:"kind"`
	Hash   [4]byte        `avro:"hash"`
	Raw    []byte         `avro:"raw"`
	Born   time.Time      `avro:"born"`
	At     time.Time      `avro:"at"`
	Amount *big.Rat       `avro:"amount"`
	Addr   struct {
		Street string `avro:"street"`
		Zip    string `avro:"zip"`
	} `avro:"addr"`
	OK    bool    `avro:"ok"`
	Score float64 `avro:"score"`
}

func TestFuzzWriterVersionsAreCompatible(t *testing.T) {
	// Guards the fuzz setup: if id 2 stopped resolving, the fuzzer would
	// only ever see ErrIncompatible for it.
	v2 := strings.Replace(fuzzSchema, `{"name":"n","type":"long"},
  {"name":"nick","type":["null","string"],"default":null},`, `{"name":"n","type":"int"},
  {"name":"extra","type":{"type":"array","items":"long"}},`, 1)
	if v2 == fuzzSchema {
		t.Fatal("replacement did not apply")
	}
	if err := avro.Compatible(avro.MustParse(fuzzSchema), avro.MustParse(v2)); err != nil {
		t.Fatal(err)
	}
}
