package schemas

import (
	"fmt"
	"strings"

	"github.com/samnav/samnav/pkg/sdk/avro"
)

// Level is a compatibility level, as Confluent names them.
type Level string

// Compatibility levels. Samnav's default is BackwardTransitive (Confluent's
// is Backward): a contract must stay readable by every consumer that ever
// read any of its versions, not only the latest.
const (
	None               Level = "NONE"
	Backward           Level = "BACKWARD"
	BackwardTransitive Level = "BACKWARD_TRANSITIVE"
	Forward            Level = "FORWARD"
	ForwardTransitive  Level = "FORWARD_TRANSITIVE"
	Full               Level = "FULL"
	FullTransitive     Level = "FULL_TRANSITIVE"
)

// DefaultLevel is the level used when neither the subject nor the registry
// has one set.
const DefaultLevel = BackwardTransitive

// ParseLevel parses a level name, case-insensitively.
func ParseLevel(s string) (Level, error) {
	switch l := Level(strings.ToUpper(strings.TrimSpace(s))); l {
	case None, Backward, BackwardTransitive, Forward, ForwardTransitive, Full, FullTransitive:
		return l, nil
	}
	return "", errorf(CodeInvalidCompatibility, "Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive")
}

func (l Level) transitive() bool { return strings.HasSuffix(string(l), "_TRANSITIVE") }
func (l Level) backward() bool {
	return l == Backward || l == BackwardTransitive || l == Full || l == FullTransitive
}
func (l Level) forward() bool {
	return l == Forward || l == ForwardTransitive || l == Full || l == FullTransitive
}

// Check checks candidate against the existing versions of a subject,
// oldest first, under level, and returns one message per incompatibility
// (none when compatible). Non-transitive levels check against the latest
// version only; transitive ones against all. BACKWARD means the candidate
// can read data written with the existing schema; FORWARD, that the
// existing schema can read data written with the candidate; FULL, both.
func Check(level Level, candidate *avro.Schema, existing []*avro.Schema) []string {
	if level == None || len(existing) == 0 {
		return nil
	}
	against := existing
	if !level.transitive() {
		against = existing[len(existing)-1:]
	}
	var msgs []string
	for i := len(against) - 1; i >= 0; i-- {
		old := against[i]
		if level.backward() {
			if err := avro.Compatible(candidate, old); err != nil {
				msgs = append(msgs, fmt.Sprintf("%s: new schema cannot read data written with an existing schema (%s)", level, err))
			}
		}
		if level.forward() {
			if err := avro.Compatible(old, candidate); err != nil {
				msgs = append(msgs, fmt.Sprintf("%s: an existing schema cannot read data written with the new schema (%s)", level, err))
			}
		}
	}
	return msgs
}
