package cloudevents_test

import (
	"errors"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/samnav/samnav/pkg/cloudevents"
)

// FuzzRead feeds arbitrary header values to Read: it must either accept
// them, in which case Set writes back headers Read accepts again with the
// same attributes, or reject them with ErrInvalid.
func FuzzRead(f *testing.F) {
	f.Add("1.0", "id-1", "/samnav/x", "t", "2026-11-27T07:30:00.123Z", "s", "application/avro")
	f.Add("0.3", "", "::", "", "yesterday", " ", "a;;")
	f.Add("1.0", "a\x00", "/%zz", "t", "2026-11-27T07:30:00+01:00", "", "")
	f.Fuzz(func(t *testing.T, spec, id, source, typ, tm, subject, ct string) {
		md := message.Metadata{"ce_specversion": spec, "ce_id": id, "ce_source": source,
			"ce_type": typ, "ce_time": tm, "ce_subject": subject, "content-type": ct}
		a, err := cloudevents.Read(md)
		if err != nil {
			if !errors.Is(err, cloudevents.ErrInvalid) {
				t.Fatalf("error not ErrInvalid: %v", err)
			}
			return
		}
		out := message.Metadata{}
		if err := cloudevents.Set(out, a); err != nil {
			t.Fatalf("Set refused what Read accepted: %v", err)
		}
		b, err := cloudevents.Read(out)
		if err != nil {
			t.Fatalf("Read refused what Set wrote: %v", err)
		}
		if !a.Time.Equal(b.Time) || a.ID != b.ID || a.Source != b.Source || a.Type != b.Type || a.Subject != b.Subject {
			t.Fatalf("round trip changed %+v into %+v", a, b)
		}
	})
}
