package envelope

import (
	"fmt"
	"strconv"
	"strings"
)

// Topic names. Every Samnav topic starts with "samnav.":
//
//	samnav.<concept>.v<major>                   a concept's state topic
//	samnav.view.<system>.<concept>.v<major>     a system's view of a concept
//	<topic>.dlq.<group>                         a consumer group's dead letters
//
// Concepts, systems and groups are single segments (no '.') in the first
// two; a dead-letter topic's group may hold dots (a system's groups are
// "<system>.<name>").
const (
	topicPrefix     = "samnav."
	ViewTopicPrefix = "samnav.view."
	deadLetterInfix = ".dlq."
)

// StateTopic is the compacted topic holding every record of a concept's
// major version, keyed by opaque id, value the full current state.
func StateTopic(concept string, major int) string {
	return topicPrefix + concept + ".v" + strconv.Itoa(major)
}

// ParseStateTopic splits a StateTopic name.
func ParseStateTopic(topic string) (concept string, major int, err error) {
	rest, ok := strings.CutPrefix(topic, topicPrefix)
	parts := strings.Split(rest, ".")
	if !ok || len(parts) != 2 || parts[0] == "" || parts[0] == "view" {
		return "", 0, fmt.Errorf("state topic %q: must be samnav.<concept>.v<major>", topic)
	}
	if major, err = parseMajor(topic, parts[1]); err != nil {
		return "", 0, err
	}
	return parts[0], major, nil
}

// ViewTopic is the topic a subscribing system reads a concept from, with
// only the fields its approved subscription names.
func ViewTopic(system, concept string, major int) string {
	return ViewTopicPrefix + system + "." + concept + ".v" + strconv.Itoa(major)
}

// SystemViewPrefix starts every view topic of system (and their
// dead-letter topics).
func SystemViewPrefix(system string) string { return ViewTopicPrefix + system + "." }

// ParseViewTopic splits a ViewTopic name.
func ParseViewTopic(topic string) (system, concept string, major int, err error) {
	rest, ok := strings.CutPrefix(topic, ViewTopicPrefix)
	parts := strings.Split(rest, ".")
	if !ok || len(parts) != 3 || parts[0] == "" || parts[1] == "" {
		return "", "", 0, fmt.Errorf("view topic %q: must be samnav.view.<system>.<concept>.v<major>", topic)
	}
	if major, err = parseMajor(topic, parts[2]); err != nil {
		return "", "", 0, err
	}
	return parts[0], parts[1], major, nil
}

func parseMajor(topic, seg string) (int, error) {
	n, ok := strings.CutPrefix(seg, "v")
	major, err := strconv.Atoi(n)
	if !ok || err != nil || major < 1 || strconv.Itoa(major) != n {
		return 0, fmt.Errorf("topic %q: version %q must be v<major>, major a positive integer", topic, seg)
	}
	return major, nil
}

// DeadLetterTopic is where consumer group parks the records of topic it
// could not apply.
func DeadLetterTopic(topic, group string) string { return topic + deadLetterInfix + group }

// ParseDeadLetterTopic splits a DeadLetterTopic name into the topic it
// holds records of and the consumer group.
func ParseDeadLetterTopic(dlq string) (topic, group string, err error) {
	i := strings.LastIndex(dlq, deadLetterInfix)
	if i <= 0 || i+len(deadLetterInfix) == len(dlq) {
		return "", "", fmt.Errorf("dead-letter topic %q: must be <topic>.dlq.<group>", dlq)
	}
	return dlq[:i], dlq[i+len(deadLetterInfix):], nil
}

// DeadLetterPrefix starts the name of every dead-letter topic of topic
// whose consumer group is named "<system>.<name>", as a subscribing
// system's groups are.
func DeadLetterPrefix(topic, system string) string { return DeadLetterTopic(topic, system+".") }

// IsSystemDeadLetterPrefix reports whether prefix is a DeadLetterPrefix of
// one of system's view topics.
func IsSystemDeadLetterPrefix(prefix, system string) bool {
	return strings.HasPrefix(prefix, SystemViewPrefix(system)) && strings.HasSuffix(prefix, deadLetterInfix+system+".")
}
