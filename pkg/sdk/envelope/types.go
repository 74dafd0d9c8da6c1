package envelope

import (
	"fmt"
	"strings"
)

// Kind is what happened to a record: the last segment of its event type.
type Kind string

// The kinds of event Samnav publishes. The state topic carries all four;
// delivery channels announce Created as Changed.
const (
	// Created: the record was created; the value is its full state.
	Created Kind = "created"
	// Changed: the value is the record's full current state.
	Changed Kind = "changed"
	// Ended: the value is the record's last state; the record ended (an
	// employment ended, a unit closed) at EndedAt.
	Ended Kind = "ended"
	// Erased: the record was erased; on Kafka a tombstone.
	Erased Kind = "erased"
)

// Valid reports whether k is one of the four kinds.
func (k Kind) Valid() bool {
	switch k {
	case Created, Changed, Ended, Erased:
		return true
	}
	return false
}

// TypePrefix starts every event type.
const TypePrefix = "se.samnav."

// EventType is the event type (ce_type) of a k event about a record of
// concept: "se.samnav.<concept>.<kind>".
func EventType(concept string, k Kind) string { return TypePrefix + concept + "." + string(k) }

// ParseEventType splits an event type made by EventType into its concept
// and kind. It returns the kind even when the rest is not Samnav's, so a
// lenient consumer can still act on it; the error names the rule broken.
func ParseEventType(t string) (concept string, k Kind, err error) {
	i := strings.LastIndexByte(t, '.')
	k = Kind(t[i+1:])
	rest, ok := strings.CutPrefix(t, TypePrefix)
	switch {
	case !ok || i < len(TypePrefix):
		return "", k, fmt.Errorf("event type %q: must be %s<concept>.<kind>", t, TypePrefix)
	case !k.Valid():
		return "", k, fmt.Errorf("event type %q: kind %q must be created, changed, ended or erased", t, k)
	}
	concept = rest[:len(rest)-len(k)-1]
	if concept == "" || strings.Contains(concept, ".") {
		return "", k, fmt.Errorf("event type %q: concept must be one non-empty segment", t)
	}
	return concept, k, nil
}
