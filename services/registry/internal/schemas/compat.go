package schemas

import (
	"fmt"

	"github.com/samnav/samnav/contracts/compat"
	"github.com/samnav/samnav/pkg/sdk/avro"
)

// The registry's compatibility levels are compat.Level, the ones `samnav
// contracts check` applies (pkg/sdk/avro's, with what each checks), and
// where neither the subject nor the registry has one set it uses
// compat.Default (BackwardTransitive, see there why).

// ParseLevel parses a level name, case-insensitively, as compat.ParseLevel
// does, with the registry's error code and Confluent's message.
func ParseLevel(s string) (compat.Level, error) {
	l, err := compat.ParseLevel(s)
	if err != nil {
		return "", errorf(CodeInvalidCompatibility, "Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive")
	}
	return l, nil
}

// Check checks candidate against the existing versions of a subject,
// oldest first, under level (compat.Breaches decides which versions and
// directions), and returns one message per incompatibility (none when
// compatible).
func Check(level compat.Level, candidate *avro.Schema, existing []*avro.Schema) []string {
	var msgs []string
	for _, b := range compat.Breaches(level, candidate, existing) {
		what := "new schema cannot read data written with an existing schema"
		if b.Direction == compat.ForwardDir {
			what = "an existing schema cannot read data written with the new schema"
		}
		msgs = append(msgs, fmt.Sprintf("%s: %s (%s)", level, what, b.Err))
	}
	return msgs
}
