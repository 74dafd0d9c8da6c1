package avro_test

import (
	"slices"
	"testing"

	"github.com/samnav/samnav/pkg/sdk/avro"
)

func TestLevels(t *testing.T) {
	earlier := []int{1, 2, 3}
	for _, tc := range []struct {
		level             avro.Level
		backward, forward bool
		against           []int
	}{
		{avro.None, false, false, nil},
		{avro.Backward, true, false, []int{3}},
		{avro.BackwardTransitive, true, false, []int{1, 2, 3}},
		{avro.Forward, false, true, []int{3}},
		{avro.ForwardTransitive, false, true, []int{1, 2, 3}},
		{avro.Full, true, true, []int{3}},
		{avro.FullTransitive, true, true, []int{1, 2, 3}},
	} {
		if !tc.level.Valid() || tc.level.Backward() != tc.backward || tc.level.Forward() != tc.forward {
			t.Errorf("%s: valid %v, backward %v, forward %v", tc.level, tc.level.Valid(), tc.level.Backward(), tc.level.Forward())
		}
		if got := avro.Against(tc.level, earlier); !slices.Equal(got, tc.against) {
			t.Errorf("%s: against %v, want %v", tc.level, got, tc.against)
		}
		if got := avro.Against(tc.level, []int(nil)); len(got) != 0 {
			t.Errorf("%s: a new subject is checked against %v", tc.level, got)
		}
	}
	if avro.Level("backward").Valid() || avro.Level("SIDEWAYS").Valid() {
		t.Error("Valid takes the exact Confluent spelling only")
	}
}
