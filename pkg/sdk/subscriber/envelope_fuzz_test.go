package subscriber

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzReadEnvelope: whatever headers a record carries, readEnvelope does
// not panic and never refuses it (a bad optional header must not make a
// record undeliverable); a tombstone is Erased; the type is the last
// segment of ce_type; well-formed revisions (non-negative integers) and
// times read back as written.
func FuzzReadEnvelope(f *testing.F) {
	// As the hub writes them on a state or view topic.
	f.Add("01JD7Q3V5Y0000000000000000", "se.samnav.person.changed", "2026-11-27T08:00:00.123456789Z", "3", "", false)
	f.Add("01JD7Q3V5Y0000000000000001", "se.samnav.unit.ended", "2026-11-27T08:00:00Z", "12", "2026-11-30T00:00:00+01:00", false)
	f.Add("e3", "se.samnav.person.erased", "", "", "", true)
	f.Add("", "", "yesterday", "-1", "soon", false)
	f.Add("x", "changed", "2026-13-40T99:00:00Z", "9223372036854775808", "0000-00-00T00:00:00Z", false)
	f.Fuzz(func(t *testing.T, id, typ, at, revision, endedAt string, tombstone bool) {
		h := map[string]string{"ce_id": id, "ce_type": typ, "ce_time": at, HeaderRevision: revision, HeaderEndedAt: endedAt}
		env := readEnvelope(h, tombstone)
		switch {
		case env.id != id:
			t.Fatalf("id %q, want %q", env.id, id)
		case tombstone && env.typ != Erased:
			t.Fatalf("a tombstone read as %q", env.typ)
		case !tombstone && typ == "" && env.typ != Changed:
			t.Fatalf("no ce_type read as %q, want changed", env.typ)
		case !tombstone && typ != "" && (strings.Contains(string(env.typ), ".") || !strings.HasSuffix(typ, string(env.typ))):
			t.Fatalf("ce_type %q read as %q, want its last segment", typ, env.typ)
		}
		if n, err := strconv.ParseInt(revision, 10, 64); err == nil && n >= 0 && env.revision != n {
			t.Fatalf("revision %q read as %d", revision, env.revision)
		} else if (err != nil || n < 0) && env.revision != 0 {
			t.Fatalf("bad revision %q (not a non-negative integer) read as %d, want 0", revision, env.revision)
		}
		if want, err := time.Parse(time.RFC3339Nano, at); err == nil && !env.time.Equal(want) {
			t.Fatalf("ce_time %q read as %v", at, env.time)
		} else if err != nil && !env.time.IsZero() {
			t.Fatalf("bad ce_time %q read as %v, want zero", at, env.time)
		}
		if _, err := time.Parse(time.RFC3339Nano, endedAt); (err == nil) != (env.endedAt != nil) {
			t.Fatalf("samnav_ended_at %q read as %v", endedAt, env.endedAt)
		}
		// Round trip: what was read, written back as the hub writes it,
		// reads the same.
		back := readEnvelope(map[string]string{"ce_id": env.id, "ce_type": "se.samnav.person." + string(env.typ),
			"ce_time": env.time.Format(time.RFC3339Nano), HeaderRevision: strconv.FormatInt(env.revision, 10)}, tombstone)
		if back.id != env.id || back.typ != env.typ || back.revision != env.revision || (!env.time.IsZero() && !back.time.Equal(env.time)) {
			t.Fatalf("read %+v, written back and read again %+v", env, back)
		}
	})
}
