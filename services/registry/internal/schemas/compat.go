package schemas

import (
	"fmt"
	"strings"

	"github.com/samnav/samnav/pkg/sdk/avro"
)

// Level is a compatibility level; the levels and what each checks are
// pkg/sdk/avro's, shared with `samnav contracts check`.
type Level = avro.Level

// DefaultLevel is the level used when neither the subject nor the registry
// has one set. Samnav's default is BackwardTransitive (Confluent's is
// Backward): a contract must stay readable by every consumer that ever read
// any of its versions, not only the latest.
const DefaultLevel = avro.BackwardTransitive

// ParseLevel parses a level name, case-insensitively.
func ParseLevel(s string) (Level, error) {
	if l := Level(strings.ToUpper(strings.TrimSpace(s))); l.Valid() {
		return l, nil
	}
	return "", errorf(CodeInvalidCompatibility, "Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive")
}

// Check checks candidate against the existing versions of a subject,
// oldest first, under level, and returns one message per incompatibility
// (none when compatible). Non-transitive levels check against the latest
// version only; transitive ones against all. BACKWARD means the candidate
// can read data written with the existing schema; FORWARD, that the
// existing schema can read data written with the candidate; FULL, both.
func Check(level Level, candidate *avro.Schema, existing []*avro.Schema) []string {
	against := avro.Against(level, existing)
	var msgs []string
	for i := len(against) - 1; i >= 0; i-- {
		old := against[i]
		if level.Backward() {
			if err := avro.Compatible(candidate, old); err != nil {
				msgs = append(msgs, fmt.Sprintf("%s: new schema cannot read data written with an existing schema (%s)", level, err))
			}
		}
		if level.Forward() {
			if err := avro.Compatible(old, candidate); err != nil {
				msgs = append(msgs, fmt.Sprintf("%s: an existing schema cannot read data written with the new schema (%s)", level, err))
			}
		}
	}
	return msgs
}
