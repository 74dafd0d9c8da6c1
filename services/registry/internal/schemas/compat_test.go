package schemas_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/samnav/samnav/pkg/sdk/avro"
	"github.com/samnav/samnav/services/registry/internal/schemas"
)

// record builds a record schema named Person from field JSON snippets.
func record(fields ...string) string {
	return `{"type":"record","name":"Person","namespace":"se.stockholm","fields":[` + strings.Join(fields, ",") + `]}`
}

const (
	id       = `{"name":"id","type":"string"}`
	nameDef  = `{"name":"name","type":"string","default":""}`
	nameReq  = `{"name":"name","type":"string"}`
	ageInt   = `{"name":"age","type":"int"}`
	ageLong  = `{"name":"age","type":"long"}`
	ageStr   = `{"name":"age","type":"string"}`
	nameOpt  = `{"name":"name","type":["null","string"],"default":null}`
	fullName = `{"name":"fullName","type":"string","aliases":["name"]}`
	kindAB   = `{"name":"kind","type":{"type":"enum","name":"Kind","symbols":["A","B"]}}`
	kindABC  = `{"name":"kind","type":{"type":"enum","name":"Kind","symbols":["A","B","C"]}}`
)

// verdict is the expected outcome under BACKWARD, FORWARD and FULL (and
// their transitive forms, which agree when there is one earlier version).
type verdict struct{ backward, forward, full bool }

// TestCompatibilityMatrix checks each schema change under every level
// against the verdict Confluent's registry (Avro's schema resolution
// rules) gives: BACKWARD = the new schema reads old data, FORWARD = the
// old schema reads new data, FULL = both.
func TestCompatibilityMatrix(t *testing.T) {
	tests := []struct {
		change   string
		old, new string
		want     verdict
	}{
		{"add field with default", record(id), record(id, nameDef), verdict{true, true, true}},
		{"add field without default", record(id), record(id, nameReq), verdict{false, true, false}},
		{"remove field with default", record(id, nameDef), record(id), verdict{true, true, true}},
		{"remove field without default", record(id, nameReq), record(id), verdict{true, false, false}},
		{"rename field with alias", record(id, nameReq), record(id, fullName), verdict{true, false, false}},
		{"widen int to long", record(id, ageInt), record(id, ageLong), verdict{true, false, false}},
		{"narrow long to int", record(id, ageLong), record(id, ageInt), verdict{false, true, false}},
		{"enum symbol added", record(id, kindAB), record(id, kindABC), verdict{true, false, false}},
		{"enum symbol removed", record(id, kindABC), record(id, kindAB), verdict{false, true, false}},
		{"type change string to int", record(id, ageStr), record(id, ageInt), verdict{false, false, false}},
		{"make optional via union with null", record(id, nameReq), record(id, nameOpt), verdict{true, false, false}},
		{"no change", record(id, nameDef), record(id, nameDef), verdict{true, true, true}},
	}
	for _, tt := range tests {
		old, next := avro.MustParse(tt.old), avro.MustParse(tt.new)
		for _, lc := range []struct {
			level schemas.Level
			want  bool
		}{
			{avro.None, true},
			{avro.Backward, tt.want.backward},
			{avro.BackwardTransitive, tt.want.backward},
			{avro.Forward, tt.want.forward},
			{avro.ForwardTransitive, tt.want.forward},
			{avro.Full, tt.want.full},
			{avro.FullTransitive, tt.want.full},
		} {
			t.Run(fmt.Sprintf("%s/%s", tt.change, lc.level), func(t *testing.T) {
				msgs := schemas.Check(lc.level, next, []*avro.Schema{old})
				if got := len(msgs) == 0; got != lc.want {
					t.Fatalf("compatible = %v (messages %q); want %v", got, msgs, lc.want)
				}
			})
		}
	}
}

// TestTransitiveLevels checks that transitive levels look at every earlier
// version and the others at the latest only, with histories where the two
// disagree.
func TestTransitiveLevels(t *testing.T) {
	tests := []struct {
		name                string
		history             []string
		candidate           string
		level, transitive   schemas.Level
		latestOK, allVersOK bool
	}{
		{
			name:      "backward: new field without default, present with a default in the latest only",
			history:   []string{record(id), record(id, nameDef)},
			candidate: record(id, nameReq),
			level:     avro.Backward, transitive: avro.BackwardTransitive,
			latestOK: true, allVersOK: false,
		},
		{
			name:      "forward: field removed that only the latest gave a default",
			history:   []string{record(id, nameReq), record(id, nameDef)},
			candidate: record(id),
			level:     avro.Forward, transitive: avro.ForwardTransitive,
			latestOK: true, allVersOK: false,
		},
		{
			name:      "full: field type changed against the first version",
			history:   []string{record(id, ageInt), record(id)},
			candidate: record(id, `{"name":"age","type":"string","default":""}`),
			level:     avro.Full, transitive: avro.FullTransitive,
			latestOK: true, allVersOK: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hist []*avro.Schema
			for _, h := range tt.history {
				hist = append(hist, avro.MustParse(h))
			}
			cand := avro.MustParse(tt.candidate)
			if got := len(schemas.Check(tt.level, cand, hist)) == 0; got != tt.latestOK {
				t.Errorf("%s: compatible = %v; want %v", tt.level, got, tt.latestOK)
			}
			if got := len(schemas.Check(tt.transitive, cand, hist)) == 0; got != tt.allVersOK {
				t.Errorf("%s: compatible = %v; want %v", tt.transitive, got, tt.allVersOK)
			}
		})
	}
}

func TestParseLevel(t *testing.T) {
	for _, in := range []string{"none", "BACKWARD", "backward_transitive", " Full_Transitive "} {
		if _, err := schemas.ParseLevel(in); err != nil {
			t.Errorf("ParseLevel(%q) = %v", in, err)
		}
	}
	_, err := schemas.ParseLevel("SIDEWAYS")
	if e, ok := schemas.AsError(err); !ok || e.Code != schemas.CodeInvalidCompatibility {
		t.Fatalf("ParseLevel(SIDEWAYS) error = %v; want code 42203", err)
	}
}
