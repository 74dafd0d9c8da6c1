package concepts_test

import (
	"reflect"
	"testing"

	"github.com/samnav/samnav/contracts/concepts"
	"github.com/samnav/samnav/contracts/contractstest"
)

// TestTopics: every concept of the model has a generated type that New
// makes from its state topic and TopicOf maps back, as a value or a
// pointer; anything else is unknown to both.
func TestTopics(t *testing.T) {
	for _, c := range contractstest.Model(t).Concepts {
		v := concepts.New(c.Topic())
		if v == nil || reflect.TypeOf(v).Kind() != reflect.Pointer {
			t.Fatalf("New(%q) = %T, want a pointer to the concept's type", c.Topic(), v)
		}
		if got, ok := concepts.TopicOf(v); !ok || got != c.Topic() {
			t.Errorf("TopicOf(%T) = %q, %v; want %q", v, got, ok, c.Topic())
		}
		elem := reflect.ValueOf(v).Elem().Interface()
		if got, ok := concepts.TopicOf(elem); !ok || got != c.Topic() {
			t.Errorf("TopicOf(%T) = %q, %v; want %q", elem, got, ok, c.Topic())
		}
	}
	if got, ok := concepts.TopicOf(concepts.PersonV1{}); got != "samnav.person.v1" || !ok {
		t.Errorf("TopicOf(PersonV1{}) = %q, %v", got, ok)
	}
	for _, v := range []any{nil, "samnav.person.v1", new(int), concepts.PersonV1RegisteredAddress{}} {
		if got, ok := concepts.TopicOf(v); ok || got != "" {
			t.Errorf("TopicOf(%#v) = %q, %v; want not a concept", v, got, ok)
		}
	}
	if v := concepts.New("samnav.spaceship.v1"); v != nil {
		t.Errorf("New of an unknown topic = %T, want nil", v)
	}
}
