package cloudevents_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/samnav/samnav/pkg/cloudevents"
)

func valid() cloudevents.Attributes {
	return cloudevents.Attributes{
		ID:              "01JD8X3Q9Z7K5V4T3S2R1Q0P9N",
		Source:          "/samnav/masterdata/person",
		Type:            "se.stockholm.samnav.person.changed.v1",
		Time:            time.Date(2026, 11, 27, 8, 30, 0, 123_000_000, time.FixedZone("CET", 3600)),
		Subject:         "5f1d7c3e-8a2b-4c6d-9e0f-1a2b3c4d5e6f",
		DataContentType: "application/avro",
		DataSchema:      "http://registry:8081/schemas/ids/7",
	}
}

func TestSetWritesBinaryModeHeaders(t *testing.T) {
	md := message.Metadata{"traceparent": "00-0102030405060708090a0b0c0d0e0f10-0102030405060708-01"}
	if err := cloudevents.Set(md, valid()); err != nil {
		t.Fatal(err)
	}
	want := message.Metadata{
		"traceparent":    "00-0102030405060708090a0b0c0d0e0f10-0102030405060708-01",
		"ce_specversion": "1.0",
		"ce_id":          "01JD8X3Q9Z7K5V4T3S2R1Q0P9N",
		"ce_source":      "/samnav/masterdata/person",
		"ce_type":        "se.stockholm.samnav.person.changed.v1",
		"ce_time":        "2026-11-27T07:30:00.123Z",
		"ce_subject":     "5f1d7c3e-8a2b-4c6d-9e0f-1a2b3c4d5e6f",
		"content-type":   "application/avro",
		"ce_dataschema":  "http://registry:8081/schemas/ids/7",
	}
	if len(md) != len(want) {
		t.Errorf("metadata has %d keys, want %d: %v", len(md), len(want), md)
	}
	for k, v := range want {
		if md.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, md.Get(k), v)
		}
	}
}

func TestSetThenReadRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		a    cloudevents.Attributes
	}{
		{"all attributes", valid()},
		{"required only", cloudevents.Attributes{ID: "1", Source: "urn:samnav:hr", Type: "t"}},
		{"absolute source URI", cloudevents.Attributes{ID: "1", Source: "https://samnav.stockholm.se/masterdata", Type: "t"}},
		{"New", cloudevents.New("/samnav/masterdata/unit", "se.stockholm.samnav.unit.changed.v1", "u-1")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := message.Metadata{}
			if err := cloudevents.Set(md, tt.a); err != nil {
				t.Fatal(err)
			}
			got, err := cloudevents.Read(md)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Time.Equal(tt.a.Time) {
				t.Errorf("Time %v, want %v", got.Time, tt.a.Time)
			}
			got.Time, tt.a.Time = time.Time{}, time.Time{}
			if got != tt.a {
				t.Errorf("got %+v, want %+v", got, tt.a)
			}
		})
	}
}

func TestSetClearsOptionalAttributesLeftZero(t *testing.T) {
	md := message.Metadata{}
	if err := cloudevents.Set(md, valid()); err != nil {
		t.Fatal(err)
	}
	if err := cloudevents.Set(md, cloudevents.Attributes{ID: "2", Source: "/s", Type: "t"}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"ce_time", "ce_subject", "content-type", "ce_dataschema"} {
		if _, ok := md[k]; ok {
			t.Errorf("%s left over from the earlier event", k)
		}
	}
}

func TestNewFillsIDAndTime(t *testing.T) {
	a, b := cloudevents.New("/s", "t", ""), cloudevents.New("/s", "t", "")
	if a.ID == "" || a.ID == b.ID {
		t.Errorf("IDs %q and %q: want fresh, distinct ids", a.ID, b.ID)
	}
	if time.Since(a.Time) > time.Minute || a.Time.Location() != time.UTC {
		t.Errorf("Time %v: want now, in UTC", a.Time)
	}
}

func TestInvalidAttributes(t *testing.T) {
	tests := []struct {
		name string
		md   message.Metadata
		want []string // "<attribute>" plus a fragment of the rule, one per problem
	}{
		{"nothing", message.Metadata{}, []string{
			`ce_specversion: required, must be "1.0"`, "ce_id: required", "ce_source: required", "ce_type: required"}},
		{"wrong specversion", meta(map[string]string{"ce_specversion": "0.3"}), []string{`ce_specversion "0.3": must be "1.0"`}},
		{"time not RFC 3339", meta(map[string]string{"ce_time": "27/11/2026 08:30"}), []string{`ce_time "27/11/2026 08:30": must be an RFC 3339 timestamp`}},
		{"time without zone", meta(map[string]string{"ce_time": "2026-11-27T08:30:00"}), []string{"ce_time", "RFC 3339"}},
		{"source with space", meta(map[string]string{"ce_source": "/samnav/master data"}), []string{`ce_source "/samnav/master data": must be a URI-reference`}},
		{"source bad escape", meta(map[string]string{"ce_source": "/samnav/%zz"}), []string{"ce_source", "URI-reference"}},
		{"source non-ASCII", meta(map[string]string{"ce_source": "/samnav/förvaltning"}), []string{"ce_source", "URI-reference"}},
		{"content type", meta(map[string]string{"content-type": "avro binary;;"}), []string{"content-type", "media type"}},
		{"relative dataschema", meta(map[string]string{"ce_dataschema": "/schemas/ids/7"}), []string{"ce_dataschema", "absolute URI"}},
		{"control character in id", meta(map[string]string{"ce_id": "a\nb"}), []string{"ce_id", "control characters"}},
		{"blank subject", meta(map[string]string{"ce_subject": "  "}), []string{"ce_subject", "blank"}},
		{"several at once", meta(map[string]string{"ce_specversion": "2.0", "ce_type": "", "ce_time": "yesterday"}),
			[]string{"ce_specversion", "ce_type: required", "ce_time"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := cloudevents.Read(tt.md)
			if !errors.Is(err, cloudevents.ErrInvalid) {
				t.Fatalf("Read err = %v, want ErrInvalid", err)
			}
			var ae *cloudevents.AttributeError
			if !errors.As(err, &ae) {
				t.Errorf("err %v holds no *AttributeError", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestSetRefusesInvalidAndLeavesMetadataAlone(t *testing.T) {
	md := message.Metadata{"k": "v"}
	a := valid()
	a.Source = "not a uri"
	err := cloudevents.Set(md, a)
	if !errors.Is(err, cloudevents.ErrInvalid) || !strings.Contains(err.Error(), "ce_source") {
		t.Fatalf("err = %v, want ErrInvalid naming ce_source", err)
	}
	if len(md) != 1 {
		t.Errorf("metadata changed: %v", md)
	}
}

// meta returns the headers of a valid event with the given overrides.
func meta(over map[string]string) message.Metadata {
	md := message.Metadata{}
	if err := cloudevents.Set(md, valid()); err != nil {
		panic(err)
	}
	for k, v := range over {
		md[k] = v
	}
	return md
}
