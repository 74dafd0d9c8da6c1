package compat_test

import (
	"fmt"
	"testing"

	"github.com/samnav/samnav/contracts/compat"
	"github.com/samnav/samnav/pkg/sdk/avro"
)

// verdict is the expected outcome under BACKWARD, FORWARD and FULL (and
// their transitive forms, which agree when there is one earlier version).
type verdict struct{ backward, forward, full bool }

// TestBreachesMatrix checks each schema change under every level against
// the verdict Confluent's registry (Avro's schema resolution rules) gives:
// BACKWARD = the new schema reads old data, FORWARD = the old schema reads
// new data, FULL = both.
func TestBreachesMatrix(t *testing.T) {
	tests := []struct {
		change   string
		old, new string
		want     verdict
	}{
		{"add field with default", rec(id), rec(id, nameDef), verdict{true, true, true}},
		{"add field without default", rec(id), rec(id, name), verdict{false, true, false}},
		{"remove field with default", rec(id, nameDef), rec(id), verdict{true, true, true}},
		{"remove field without default", rec(id, name), rec(id), verdict{true, false, false}},
		{"rename field with alias", rec(id, name), rec(id, nameAlias), verdict{true, false, false}},
		{"widen int to long", rec(id, ageInt), rec(id, ageLong), verdict{true, false, false}},
		{"narrow long to int", rec(id, ageLong), rec(id, ageInt), verdict{false, true, false}},
		{"enum symbol added", rec(id, statusAB), rec(id, statusABC), verdict{true, false, false}},
		{"enum symbol removed", rec(id, statusABC), rec(id, statusAB), verdict{false, true, false}},
		{"type change string to int", rec(id, ageString), rec(id, ageInt), verdict{false, false, false}},
		{"make optional via union with null", rec(id, name), rec(id, nameOpt), verdict{true, false, false}},
		{"no change", rec(id, nameDef), rec(id, nameDef), verdict{true, true, true}},
	}
	for _, tt := range tests {
		old, next := avro.MustParse(tt.old), avro.MustParse(tt.new)
		for _, lc := range []struct {
			level compat.Level
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
				bs := compat.Breaches(lc.level, next, []*avro.Schema{old})
				if got := len(bs) == 0; got != lc.want {
					t.Fatalf("compatible = %v (breaches %v); want %v", got, bs, lc.want)
				}
				for _, b := range bs {
					if b.Version != 0 || b.Err == nil || (b.Direction == compat.BackwardDir && !lc.level.Backward()) || (b.Direction == compat.ForwardDir && !lc.level.Forward()) {
						t.Errorf("breach %+v under %s", b, lc.level)
					}
				}
			})
		}
	}
}

// TestBreachesTransitive checks that transitive levels look at every
// earlier version and the others at the latest only, with histories where
// the two disagree, and that a breach names the version it is against.
func TestBreachesTransitive(t *testing.T) {
	tests := []struct {
		name              string
		history           []string
		candidate         string
		level, transitive compat.Level
		breached          int // the version the transitive level finds broken
	}{
		{
			name:      "backward: new field without default, present with a default in the latest only",
			history:   []string{rec(id), rec(id, nameDef)},
			candidate: rec(id, name),
			level:     avro.Backward, transitive: avro.BackwardTransitive,
		},
		{
			name:      "forward: field removed that only the latest gave a default",
			history:   []string{rec(id, name), rec(id, nameDef)},
			candidate: rec(id),
			level:     avro.Forward, transitive: avro.ForwardTransitive,
		},
		{
			name:      "full: field type changed against the first version",
			history:   []string{rec(id, ageInt), rec(id)},
			candidate: rec(id, `{"name":"age","type":"string","default":""}`),
			level:     avro.Full, transitive: avro.FullTransitive,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hist []*avro.Schema
			for _, h := range tt.history {
				hist = append(hist, avro.MustParse(h))
			}
			cand := avro.MustParse(tt.candidate)
			if bs := compat.Breaches(tt.level, cand, hist); len(bs) != 0 {
				t.Errorf("%s: breaches %v; want none (the latest version is compatible)", tt.level, bs)
			}
			bs := compat.Breaches(tt.transitive, cand, hist)
			if len(bs) == 0 {
				t.Fatalf("%s: no breach; want one against version %d", tt.transitive, tt.breached)
			}
			for _, b := range bs {
				if b.Version != tt.breached {
					t.Errorf("%s: breach against version %d; want %d", tt.transitive, b.Version, tt.breached)
				}
			}
		})
	}
}
