package envelope_test

import (
	"errors"
	"testing"

	"github.com/samnav/samnav/pkg/sdk/envelope"
)

// FuzzFromHeaders feeds arbitrary header values to FromHeaders: it must
// either accept them, in which case Headers writes back headers it accepts
// again with the same envelope, or reject them with ErrInvalid.
func FuzzFromHeaders(f *testing.F) {
	f.Add("1.0", "id-1", "/samnav/x", "t", "2026-11-27T07:30:00.123Z", "s", "application/avro", "3")
	f.Add("0.3", "", "::", "", "yesterday", " ", "a;;", "-1")
	f.Add("1.0", "a\x00", "/%zz", "t", "2026-11-27T07:30:00+01:00", "", "", "")
	f.Fuzz(func(t *testing.T, spec, id, source, typ, tm, subject, ct, rev string) {
		h := map[string]string{"ce_specversion": spec, "ce_id": id, "ce_source": source,
			"ce_type": typ, "ce_time": tm, "ce_subject": subject, "content-type": ct, "samnav_revision": rev}
		a, err := envelope.FromHeaders(h)
		if err != nil {
			if !errors.Is(err, envelope.ErrInvalid) {
				t.Fatalf("error not ErrInvalid: %v", err)
			}
			return
		}
		if err := a.Validate(); err != nil {
			t.Fatalf("Validate refused what FromHeaders accepted: %v", err)
		}
		b, err := envelope.FromHeaders(a.Headers())
		if err != nil {
			t.Fatalf("FromHeaders refused what Headers wrote: %v", err)
		}
		if !a.Time.Equal(b.Time) || a.ID != b.ID || a.Source != b.Source || a.Type != b.Type || a.Subject != b.Subject || a.Revision != b.Revision {
			t.Fatalf("round trip changed %+v into %+v", a, b)
		}
	})
}
