package schemas_test

import (
	"strings"
	"testing"

	"github.com/samnav/samnav/pkg/sdk/avro"
	"github.com/samnav/samnav/services/registry/internal/schemas"
)

// TestCheckMessages: which versions and directions a level checks is
// contracts/compat's (tested there); the registry says one message per
// failed check, naming the level and which side cannot read which.
func TestCheckMessages(t *testing.T) {
	old := avro.MustParse(`{"type":"record","name":"Person","fields":[{"name":"id","type":"string"},{"name":"age","type":"int"}]}`)
	next := avro.MustParse(`{"type":"record","name":"Person","fields":[{"name":"id","type":"string"},{"name":"age","type":"string"}]}`)
	if msgs := schemas.Check(avro.Full, old, []*avro.Schema{old}); len(msgs) != 0 {
		t.Errorf("unchanged schema: messages %q, want none", msgs)
	}
	msgs := schemas.Check(avro.Full, next, []*avro.Schema{old})
	if len(msgs) != 2 {
		t.Fatalf("age int -> string under FULL: messages %q, want one each way", msgs)
	}
	for i, want := range []string{"FULL: new schema cannot read data written with an existing schema", "FULL: an existing schema cannot read data written with the new schema"} {
		if !strings.HasPrefix(msgs[i], want) {
			t.Errorf("message %d = %q, want it to start %q", i, msgs[i], want)
		}
	}
	if msgs := schemas.Check(avro.None, next, []*avro.Schema{old}); len(msgs) != 0 {
		t.Errorf("NONE: messages %q, want none", msgs)
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
