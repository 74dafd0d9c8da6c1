package kafkaview

import "testing"

func TestSameSchema(t *testing.T) {
	const base = `{"type":"record","name":"P","doc":"A person.","fields":[{"name":"id","type":"string","doc":"Id."},{"name":"surname","type":"string"}]}`
	for _, tc := range []struct {
		name, other string
		want        bool
	}{
		{"identical", base, true},
		{"other whitespace and key order", `{ "name":"P", "type":"record", "fields":[{"type":"string","name":"id","doc":"Id."},{"name":"surname","type":"string"}], "doc":"A person."}`, true},
		{"docs reworded", `{"type":"record","name":"P","doc":"Someone.","fields":[{"name":"id","type":"string"},{"name":"surname","type":"string","doc":"Family name."}]}`, true},
		{"a field less", `{"type":"record","name":"P","doc":"A person.","fields":[{"name":"id","type":"string","doc":"Id."}]}`, false},
		{"a field made nullable", `{"type":"record","name":"P","doc":"A person.","fields":[{"name":"id","type":"string","doc":"Id."},{"name":"surname","type":["null","string"],"default":null}]}`, false},
	} {
		if got := sameSchema(base, tc.other); got != tc.want {
			t.Errorf("%s: sameSchema = %v, want %v", tc.name, got, tc.want)
		}
	}
}
