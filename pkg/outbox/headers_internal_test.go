package outbox

import (
	"encoding/json"
	"maps"
	"testing"
)

// decodeHeaders must decode exactly what encoding/json decodes, and fail
// where it fails.
func FuzzDecodeHeaders(f *testing.F) {
	for _, h := range []map[string]string{
		{},
		{"ce_id": "0190a0a0-0000-7000-8000-000000000000", "ce_type": "se.samnav.person.created", "content-type": "application/avro"},
		{"a": "<&>", "b": "line\nbreak", "c": `quote " and \ backslash`, "d": "å ä ö", "": "empty name"},
	} {
		b, err := json.Marshal(h)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	for _, s := range []string{`{"a":"b","a":"c"}`, `{"a":"b" }`, `{"a":1}`, `{"a":"b",}`, `{"a"}`, "{\"a\":\"\x01\"}", "{\"a\":\"\xff\"}", `{}`, `{"a":"b"}x`, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want map[string]string
		wantErr := json.Unmarshal([]byte(s), &want)
		got, err := decodeHeaders(s)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("decodeHeaders(%q) error %v, encoding/json %v", s, err, wantErr)
		}
		if err == nil && !maps.Equal(got, want) {
			t.Fatalf("decodeHeaders(%q) = %v, encoding/json %v", s, got, want)
		}
	})
}
