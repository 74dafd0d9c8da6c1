package concepts

import "reflect"

// concept is one generated concept type and the state topic its records
// travel on. The generated table types (doc.go) holds one per concept and
// major version; the functions here are the only code that reads it, so a
// generated file declares its types and nothing else.
type concept struct {
	topic string
	typ   reflect.Type
}

// New returns a pointer to a new zero value of the type of a state topic,
// ready to decode into, or nil for a topic it does not know.
func New(topic string) any {
	for _, c := range types {
		if c.topic == topic {
			return reflect.New(c.typ).Interface()
		}
	}
	return nil
}

// TopicOf returns the state topic of a concept record, given as a
// generated type's value or a pointer to one (a PersonV1 or *PersonV1
// gives samnav.person.v1), and false for any other value.
func TopicOf(record any) (string, bool) {
	t := reflect.TypeOf(record)
	if t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	for _, c := range types {
		if c.typ == t {
			return c.topic, true
		}
	}
	return "", false
}
