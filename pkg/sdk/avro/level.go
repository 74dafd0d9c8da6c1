package avro

import "slices"

// Level is a compatibility level, as the Confluent Schema Registry names
// them: which earlier versions of a subject a new schema is checked
// against with Compatible, and in which direction. The registry enforces
// it and `samnav contracts check` explains it; both read it from here.
type Level string

// The compatibility levels, as the Confluent REST API spells them.
const (
	None               Level = "NONE"
	Backward           Level = "BACKWARD"
	BackwardTransitive Level = "BACKWARD_TRANSITIVE"
	Forward            Level = "FORWARD"
	ForwardTransitive  Level = "FORWARD_TRANSITIVE"
	Full               Level = "FULL"
	FullTransitive     Level = "FULL_TRANSITIVE"
)

// Levels lists every level.
var Levels = []Level{None, Backward, BackwardTransitive, Forward, ForwardTransitive, Full, FullTransitive}

// Valid reports whether l is one of Levels (spelled exactly).
func (l Level) Valid() bool { return slices.Contains(Levels, l) }

// Backward reports whether, under l, a new schema must read data written
// with the earlier ones.
func (l Level) Backward() bool {
	return l == Backward || l == BackwardTransitive || l == Full || l == FullTransitive
}

// Forward reports whether, under l, the earlier schemas must read data
// written with a new one.
func (l Level) Forward() bool {
	return l == Forward || l == ForwardTransitive || l == Full || l == FullTransitive
}

// Transitive reports whether l checks against every earlier version rather
// than the latest only.
func (l Level) Transitive() bool {
	return l == BackwardTransitive || l == ForwardTransitive || l == FullTransitive
}

// Against returns the earlier versions (given oldest first) a new schema
// is checked against under l: none under NONE, every one under a
// transitive level, else the latest.
func Against[V any](l Level, earlier []V) []V {
	switch {
	case l == None || len(earlier) == 0:
		return nil
	case l.Transitive():
		return earlier
	}
	return earlier[len(earlier)-1:]
}
