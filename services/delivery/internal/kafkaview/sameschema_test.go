package kafkaview

import (
	"testing"

	"github.com/samnav/samnav/services/delivery/client"
)

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

// TestShapeTag: the tag a view record carries changes exactly when the
// subscription's shape does, so a subscriber applies a rebuilt view again.
func TestShapeTag(t *testing.T) {
	base := client.Subscription{ApprovedFields: []string{"givenNames", "surname"}}
	same := client.Subscription{ApprovedFields: []string{"surname", "givenNames", "surname"}, Version: 7}
	wider := client.Subscription{ApprovedFields: []string{"givenNames", "surname", "email"}}
	protected := client.Subscription{ApprovedFields: []string{"givenNames", "surname"}, ProtectedApproved: true}
	if shapeTag(base) != shapeTag(same) {
		t.Error("the same fields in another order (or another decision version) changed the tag")
	}
	if shapeTag(base) == shapeTag(wider) {
		t.Error("a widened subscription kept its tag")
	}
	if shapeTag(base) == shapeTag(protected) {
		t.Error("approving protected identities kept the tag")
	}
	if len(shapeTag(base)) != 12 {
		t.Errorf("tag %q, want 12 hex digits", shapeTag(base))
	}
}
