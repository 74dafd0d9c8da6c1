package compat_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/samnav/samnav/contracts/compat"
	"github.com/samnav/samnav/contracts/contractstest"
	"github.com/samnav/samnav/pkg/sdk/avro"
)

// rec builds a record schema named Person in namespace se.samnav.person.v1
// with the given fields (JSON objects).
func rec(fields ...string) string {
	return `{"type":"record","name":"Person","namespace":"se.samnav.person.v1","fields":[` + strings.Join(fields, ",") + `]}`
}

const (
	id          = `{"name":"id","type":"string"}`
	name        = `{"name":"name","type":"string"}`
	nameOpt     = `{"name":"name","type":["null","string"],"default":null}`
	nameDef     = `{"name":"name","type":"string","default":""}`
	nameAlias   = `{"name":"fullName","aliases":["name"],"type":"string"}`
	ageInt      = `{"name":"age","type":"int"}`
	ageLong     = `{"name":"age","type":"long"}`
	ageString   = `{"name":"age","type":"string"}`
	ageDate     = `{"name":"age","type":{"type":"int","logicalType":"date"}}`
	statusAB    = `{"name":"status","type":{"type":"enum","name":"Status","symbols":["A","B"]}}`
	statusABC   = `{"name":"status","type":{"type":"enum","name":"Status","symbols":["A","B","C"]}}`
	statusA     = `{"name":"status","type":{"type":"enum","name":"Status","symbols":["A"]}}`
	statusADef  = `{"name":"status","type":{"type":"enum","name":"Status","symbols":["A","B"],"default":"A"}}`
	statusABDef = `{"name":"status","type":{"type":"enum","name":"Status","symbols":["A","B","C"],"default":"A"}}`
	statusRen   = `{"name":"status","type":{"type":"enum","name":"State","symbols":["A","B"]}}`
	addr        = `{"name":"address","type":{"type":"record","name":"Address","fields":[{"name":"street","type":"string"},{"name":"postalCode","type":"string"}]}}`
	addrNoPC    = `{"name":"address","type":{"type":"record","name":"Address","fields":[{"name":"street","type":"string"}]}}`
	addrPCInt   = `{"name":"address","type":{"type":"record","name":"Address","fields":[{"name":"street","type":"string"},{"name":"postalCode","type":"int"}]}}`
	phones      = `{"name":"phones","type":{"type":"array","items":"string"},"default":[]}`
	phonesInt   = `{"name":"phones","type":{"type":"array","items":"int"},"default":[]}`
)

// optional turns a required field {"name":..,"type":T} into ["null", T]
// with default null.
func optional(f string) string {
	var m map[string]any
	if err := json.Unmarshal([]byte(f), &m); err != nil {
		panic(err)
	}
	m["type"] = []any{"null", m["type"]}
	m["default"] = nil
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// TestExplain is the compatibility matrix: for each change from old to new,
// what the explanation finds reading old data with the new schema
// (backward) and new data with the old schema (forward), and that it
// agrees with pkg/sdk/avro.Compatible's verdict both ways.
func TestExplain(t *testing.T) {
	tests := []struct {
		name          string
		old, new      string
		backward      []string // "kind path"
		forward       []string
		backwardWords string // a phrase the first backward message holds
	}{
		{name: "unchanged", old: rec(id, name), new: rec(id, name)},
		{name: "field added with default", old: rec(id), new: rec(id, nameDef), forward: nil},
		{name: "optional field added", old: rec(id), new: rec(id, nameOpt)},
		{name: "field added without default", old: rec(id), new: rec(id, name),
			backward: []string{"missing-field name"}, backwardWords: "field name was added without a default"},
		{name: "field removed without default", old: rec(id, name), new: rec(id),
			forward: []string{"missing-field name"}},
		{name: "field with default removed", old: rec(id, nameDef), new: rec(id)},
		{name: "field renamed with alias", old: rec(id, name), new: rec(id, nameAlias),
			forward: []string{"missing-field name"}},
		{name: "field renamed without alias", old: rec(id, name), new: rec(id, `{"name":"fullName","type":"string"}`),
			backward: []string{"missing-field fullName"}, forward: []string{"missing-field name"}},
		{name: "int widened to long", old: rec(id, ageInt), new: rec(id, ageLong),
			forward: []string{"type-mismatch age"}},
		{name: "int to string", old: rec(id, ageInt), new: rec(id, ageString),
			backward: []string{"type-mismatch age"}, forward: []string{"type-mismatch age"}, backwardWords: "type of age changed from int to string"},
		{name: "logical type added (same encoding)", old: rec(id, ageInt), new: rec(id, ageDate)},
		{name: "required made optional", old: rec(id, name), new: rec(id, nameOpt),
			forward: []string{"type-mismatch name"}},
		{name: "optional made required", old: rec(id, nameOpt), new: rec(id, name),
			backward: []string{"type-mismatch name"}, backwardWords: "null or string to string"},
		{name: "enum symbol added", old: rec(id, statusAB), new: rec(id, statusABC),
			forward: []string{"missing-symbol status C"}},
		{name: "enum symbol removed", old: rec(id, statusAB), new: rec(id, statusA),
			backward: []string{"missing-symbol status B"}, backwardWords: "enum symbol B of status was removed"},
		{name: "enum symbol added, old enum has default", old: rec(id, statusADef), new: rec(id, statusABDef)},
		{name: "enum renamed", old: rec(id, statusAB), new: rec(id, statusRen),
			backward: []string{"name-mismatch status"}, forward: []string{"name-mismatch status"}},
		{name: "nested field removed", old: rec(id, addr), new: rec(id, addrNoPC),
			forward: []string{"missing-field address.postalCode"}},
		{name: "nested type changed", old: rec(id, addr), new: rec(id, addrPCInt),
			backward: []string{"type-mismatch address.postalCode"}, forward: []string{"type-mismatch address.postalCode"}},
		{name: "nested type changed in an optional record", old: rec(id, optional(addr)), new: rec(id, optional(addrPCInt)),
			backward: []string{"type-mismatch address.postalCode"}, forward: []string{"type-mismatch address.postalCode"}, backwardWords: "type of address.postalCode changed from string to int"},
		{name: "array items changed", old: rec(id, phones), new: rec(id, phonesInt),
			backward: []string{"type-mismatch phones[]"}, forward: []string{"type-mismatch phones[]"}},
		{name: "several at once", old: rec(id, name, ageInt, statusAB), new: rec(id, ageString, statusA, `{"name":"x","type":"int"}`),
			backward: []string{"type-mismatch age", "missing-symbol status B", "missing-field x"},
			forward:  []string{"missing-field name", "type-mismatch age"}},
		{name: "record renamed", old: rec(id), new: strings.Replace(rec(id), `"Person"`, `"Human"`, 1),
			backward: []string{"name-mismatch "}, forward: []string{"name-mismatch "}},
		{name: "namespace changed", old: rec(id), new: strings.Replace(rec(id), "person.v1", "person.v2", 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, dir := range []struct {
				name           string
				reader, writer string
				want           []string
				d              compat.Direction
			}{
				{"backward", tt.new, tt.old, tt.backward, compat.BackwardDir},
				{"forward", tt.old, tt.new, tt.forward, compat.ForwardDir},
			} {
				ins, err := compat.Explain(dir.reader, dir.writer)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, in := range ins {
					s := string(in.Kind) + " " + in.Path
					if in.Symbol != "" {
						s += " " + in.Symbol
					}
					got = append(got, s)
				}
				if !slices.Equal(got, dir.want) {
					t.Errorf("%s: got %q, want %q", dir.name, got, dir.want)
				}
				verdict := avro.Compatible(avro.MustParse(dir.reader), avro.MustParse(dir.writer))
				if (verdict == nil) != (len(ins) == 0) {
					t.Errorf("%s: explanation %q disagrees with pkg/sdk/avro.Compatible: %v", dir.name, got, verdict)
				}
				if dir.d == compat.BackwardDir && tt.backwardWords != "" {
					if msg := ins[0].Describe(dir.d); !strings.Contains(msg, tt.backwardWords) {
						t.Errorf("backward message %q does not say %q", msg, tt.backwardWords)
					}
				}
			}
		})
	}
}

func TestCheckLevels(t *testing.T) {
	v1 := rec(id, name, statusAB)
	v2 := rec(id, name, statusAB, `{"name":"age","type":"int","default":0}`)
	tests := []struct {
		name     string
		level    compat.Level
		next     string
		previous []string
		want     []string // "against direction kind path"
	}{
		{"none allows anything", avro.None, rec(id), []string{v1}, nil},
		{"backward: removing a field is fine", avro.Backward, rec(id, statusAB), []string{v1}, nil},
		{"forward: removing a field breaks", avro.Forward, rec(id, statusAB), []string{v1}, []string{"v1 forward missing-field name"}},
		{"full: both directions", avro.Full, rec(id, name, statusA), []string{v1}, []string{"v1 backward missing-symbol status"}},
		{"backward checks only the latest", avro.Backward, rec(id, statusAB, `{"name":"age","type":"int","default":0}`),
			[]string{rec(id, statusAB, `{"name":"age","type":"string"}`), v2}, nil},
		{"backward transitive checks all", avro.BackwardTransitive, rec(id, statusAB, `{"name":"age","type":"int","default":0}`),
			[]string{rec(id, statusAB, `{"name":"age","type":"string"}`), v2}, []string{"v1 backward type-mismatch age"}},
		{"new subject", avro.BackwardTransitive, v1, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var prev []compat.Version
			for i, s := range tt.previous {
				prev = append(prev, compat.Version{Label: fmt.Sprintf("v%d", i+1), Schema: s})
			}
			ps, err := compat.Check(tt.level, tt.next, prev)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range ps {
				got = append(got, fmt.Sprintf("%s %s %s %s", p.Against, p.Direction, p.Kind, p.Path))
				if p.Message == "" {
					t.Errorf("problem %+v has no message", p)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseLevel(t *testing.T) {
	for _, l := range avro.Levels {
		if got, err := compat.ParseLevel(strings.ToLower(string(l))); err != nil || got != l {
			t.Errorf("ParseLevel(%q) = %q, %v", l, got, err)
		}
	}
	if _, err := compat.ParseLevel("SIDEWAYS"); err == nil || !strings.Contains(err.Error(), "BACKWARD_TRANSITIVE") {
		t.Errorf("ParseLevel(SIDEWAYS) = %v, want an error listing the levels", err)
	}
}

// TestExplainAgreesOnContracts mutates every field of every real contract
// (removed, made required, retyped, added without default) and checks that
// the explanation and pkg/sdk/avro.Compatible agree both ways on each mutation.
func TestExplainAgreesOnContracts(t *testing.T) {
	cs := contractstest.Contracts(t)
	n := 0
	for _, c := range cs {
		var doc map[string]any
		if err := json.Unmarshal([]byte(c.Schema), &doc); err != nil {
			t.Fatal(err)
		}
		fields := doc["fields"].([]any)
		mutate := func(label string, f func([]any) []any) {
			clone := map[string]any{}
			for k, v := range doc {
				clone[k] = v
			}
			clone["fields"] = f(slices.Clone(fields))
			b, err := json.Marshal(clone)
			if err != nil {
				t.Fatal(err)
			}
			agree(t, c.Topic+" "+label, c.Schema, string(b))
			n++
		}
		for i := range fields {
			mutate(fmt.Sprintf("remove field %d", i), func(fs []any) []any { return slices.Delete(fs, i, i+1) })
			mutate(fmt.Sprintf("retype field %d", i), func(fs []any) []any {
				f := clone(fs[i])
				f["type"] = "boolean"
				delete(f, "default")
				fs[i] = f
				return fs
			})
			mutate(fmt.Sprintf("require field %d", i), func(fs []any) []any {
				f := clone(fs[i])
				if u, ok := f["type"].([]any); ok && len(u) == 2 {
					f["type"] = u[1]
					delete(f, "default")
				}
				fs[i] = f
				return fs
			})
		}
		mutate("add field without default", func(fs []any) []any {
			return append(fs, map[string]any{"name": "added", "type": "string"})
		})
	}
	if n == 0 {
		t.Fatal("no mutations checked")
	}
}

func clone(v any) map[string]any {
	out := map[string]any{}
	for k, x := range v.(map[string]any) {
		out[k] = x
	}
	return out
}

func agree(t *testing.T, label, a, b string) {
	t.Helper()
	for _, p := range [][2]string{{a, b}, {b, a}} {
		ins, err := compat.Explain(p[0], p[1])
		if err != nil {
			t.Fatalf("%s: %v", label, err)
		}
		verdict := avro.Compatible(avro.MustParse(p[0]), avro.MustParse(p[1]))
		if (verdict == nil) != (len(ins) == 0) {
			t.Errorf("%s: explanation %+v disagrees with pkg/sdk/avro.Compatible: %v", label, ins, verdict)
		}
	}
}

// FuzzExplain feeds arbitrary schema text, as a registry might return it:
// Explain may reject it but must not panic, and on schemas pkg/sdk/avro
// accepts it must agree with pkg/sdk/avro.Compatible.
func FuzzExplain(f *testing.F) {
	f.Add(rec(id, name), rec(id, nameOpt))
	f.Add(rec(id, statusAB), rec(id, statusA))
	f.Add(`{"type":"record","name":"N","fields":[{"name":"next","type":["null","N"],"default":null}]}`, `{"type":"record","name":"N","fields":[{"name":"next","type":["null","N"]}]}`)
	f.Add(`["null","int",{"type":"array","items":"long"}]`, `{"type":"map","values":"string"}`)
	f.Add(`{"type":"fixed","name":"F","size":4}`, `{"type":"fixed","name":"F","size":8}`)
	f.Fuzz(func(t *testing.T, reader, writer string) {
		ins, err := compat.Explain(reader, writer)
		if err != nil {
			return
		}
		r, errR := parseNoPanic(reader)
		w, errW := parseNoPanic(writer)
		if errR != nil || errW != nil {
			return
		}
		if verdict := avro.Compatible(r, w); (verdict == nil) != (len(ins) == 0) {
			t.Errorf("explanation %+v disagrees with pkg/sdk/avro.Compatible: %v", ins, verdict)
		}
	})
}

// parseNoPanic is avro.Parse, less hamba/avro's panic on some malformed
// schemas (see compat.parse), which is pkg/sdk/avro's to fix.
func parseNoPanic(s string) (sch *avro.Schema, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("avro.Parse panicked: %v", r)
		}
	}()
	return avro.Parse(s)
}

func TestCheckMalformedSchemaIsAnError(t *testing.T) {
	bad := `{"type":"record","name":"A","fields":[{"name":"a","type":[],"default":null}]}`
	for _, c := range []struct{ next, prev string }{{bad, rec(id)}, {rec(id), bad}} {
		_, err := compat.Check(avro.BackwardTransitive, c.next, []compat.Version{{Label: "1", Schema: c.prev}})
		if !errors.Is(err, compat.ErrInvalidSchema) {
			t.Errorf("Check with a malformed schema: err = %v, want ErrInvalidSchema", err)
		}
	}
}
