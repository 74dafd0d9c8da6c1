package envelope_test

import (
	"strings"
	"testing"

	"github.com/samnav/samnav/pkg/sdk/envelope"
)

func TestTopicNames(t *testing.T) {
	if got := envelope.StateTopic("person", 1); got != "samnav.person.v1" {
		t.Errorf("StateTopic = %q", got)
	}
	if got := envelope.ViewTopic("skolplattform", "person", 2); got != "samnav.view.skolplattform.person.v2" {
		t.Errorf("ViewTopic = %q", got)
	}
	if got := envelope.SystemViewPrefix("skolplattform"); got != "samnav.view.skolplattform." {
		t.Errorf("SystemViewPrefix = %q", got)
	}
	if got := envelope.DeadLetterTopic("samnav.view.s.person.v1", "s.app"); got != "samnav.view.s.person.v1.dlq.s.app" {
		t.Errorf("DeadLetterTopic = %q", got)
	}
	p := envelope.DeadLetterPrefix("samnav.view.s.person.v1", "s")
	if p != "samnav.view.s.person.v1.dlq.s." || !envelope.IsSystemDeadLetterPrefix(p, "s") || envelope.IsSystemDeadLetterPrefix(p, "t") {
		t.Errorf("DeadLetterPrefix = %q", p)
	}
}

func TestParseTopics(t *testing.T) {
	c, m, err := envelope.ParseStateTopic(envelope.StateTopic("unit", 12))
	if err != nil || c != "unit" || m != 12 {
		t.Errorf("ParseStateTopic = %q %d %v", c, m, err)
	}
	s, c, m, err := envelope.ParseViewTopic(envelope.ViewTopic("bibliotek", "person", 1))
	if err != nil || s != "bibliotek" || c != "person" || m != 1 {
		t.Errorf("ParseViewTopic = %q %q %d %v", s, c, m, err)
	}
	topic, group, err := envelope.ParseDeadLetterTopic(envelope.DeadLetterTopic("samnav.view.s.person.v1", "s.app"))
	if err != nil || topic != "samnav.view.s.person.v1" || group != "s.app" {
		t.Errorf("ParseDeadLetterTopic = %q %q %v", topic, group, err)
	}
	for _, bad := range []string{"", "samnav.person", "samnav.person.1", "samnav.person.v0", "samnav.person.v01", "other.person.v1",
		"samnav.view.s.person.v1", "samnav..v1"} {
		if _, _, err := envelope.ParseStateTopic(bad); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("ParseStateTopic(%q) err = %v", bad, err)
		}
	}
	for _, bad := range []string{"samnav.person.v1", "samnav.view.s.person", "samnav.view..person.v1", "samnav.view.s.person.v1.dlq.x", "samnav.view.s.p.vx"} {
		if _, _, _, err := envelope.ParseViewTopic(bad); err == nil {
			t.Errorf("ParseViewTopic(%q) accepted", bad)
		}
	}
	for _, bad := range []string{"samnav.person.v1", ".dlq.g", "samnav.person.v1.dlq."} {
		if _, _, err := envelope.ParseDeadLetterTopic(bad); err == nil {
			t.Errorf("ParseDeadLetterTopic(%q) accepted", bad)
		}
	}
}
