package envelope_test

import (
	"strings"
	"testing"

	"github.com/samnav/samnav/pkg/sdk/envelope"
)

func TestEventType(t *testing.T) {
	for _, k := range []envelope.Kind{envelope.Created, envelope.Changed, envelope.Ended, envelope.Erased} {
		typ := envelope.EventType("person", k)
		if typ != "se.samnav.person."+string(k) {
			t.Errorf("EventType(person, %s) = %q", k, typ)
		}
		c, got, err := envelope.ParseEventType(typ)
		if err != nil || c != "person" || got != k {
			t.Errorf("ParseEventType(%q) = %q, %q, %v", typ, c, got, err)
		}
		if e := (envelope.Envelope{Type: typ}); e.Kind() != k {
			t.Errorf("Kind() of %q = %q", typ, e.Kind())
		}
	}
}

func TestParseEventTypeRejects(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", "must be se.samnav.<concept>.<kind>"},
		{"se.samnav.changed", "must be se.samnav.<concept>.<kind>"},
		{"org.other.person.changed", "must be se.samnav.<concept>.<kind>"},
		{"se.samnav.person.moved", `kind "moved" must be`},
		{"se.samnav.a.b.changed", "one non-empty segment"},
		{"se.samnav..changed", "one non-empty segment"},
	} {
		_, _, err := envelope.ParseEventType(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseEventType(%q) err = %v, want %q", tt.in, err, tt.want)
		}
	}
	// The kind is returned even from a foreign type, for lenient readers.
	if _, k, _ := envelope.ParseEventType("org.other.person.erased"); k != envelope.Erased {
		t.Errorf("kind of a foreign type = %q", k)
	}
}
