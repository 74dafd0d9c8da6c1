package envelope_test

import (
	"errors"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/samnav/samnav/pkg/sdk/envelope"
)

func valid() envelope.Envelope {
	ended := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	return envelope.Envelope{
		ID:              "01JD8X3Q9Z7K5V4T3S2R1Q0P9N",
		Source:          envelope.SourceMasterdata,
		Type:            envelope.EventType("person", envelope.Ended),
		Time:            time.Date(2026, 11, 27, 8, 30, 0, 123_000_000, time.FixedZone("CET", 3600)),
		Subject:         "5f1d7c3e-8a2b-4c6d-9e0f-1a2b3c4d5e6f",
		DataContentType: envelope.ContentTypeAvro,
		DataSchema:      "http://registry:8081/schemas/ids/7",
		Revision:        7,
		EndedAt:         &ended,
		Resync:          true,
		Subscription:    "sub-1",
		ViewShape:       "4beac9e0a472",
		TraceParent:     "00-0102030405060708090a0b0c0d0e0f10-0102030405060708-01",
		TraceState:      "vendor=x",
	}
}

func TestHeadersWriteBinaryMode(t *testing.T) {
	want := map[string]string{
		"ce_specversion":      "1.0",
		"ce_id":               "01JD8X3Q9Z7K5V4T3S2R1Q0P9N",
		"ce_source":           "/samnav/masterdata",
		"ce_type":             "se.samnav.person.ended",
		"ce_time":             "2026-11-27T07:30:00.123Z",
		"ce_subject":          "5f1d7c3e-8a2b-4c6d-9e0f-1a2b3c4d5e6f",
		"content-type":        "application/avro",
		"ce_dataschema":       "http://registry:8081/schemas/ids/7",
		"samnav_revision":     "7",
		"samnav_ended_at":     "2026-11-30T00:00:00Z",
		"samnav_resync":       "true",
		"samnav_subscription": "sub-1",
		"samnav_view_shape":   "4beac9e0a472",
		"traceparent":         "00-0102030405060708090a0b0c0d0e0f10-0102030405060708-01",
		"tracestate":          "vendor=x",
	}
	if got := valid().Headers(); !maps.Equal(got, want) {
		t.Errorf("Headers() = %v\nwant %v", got, want)
	}
	kh := valid().KafkaHeaders()
	if len(kh) != len(want) {
		t.Fatalf("KafkaHeaders has %d headers, want %d", len(kh), len(want))
	}
	for i, h := range kh {
		if i > 0 && kh[i-1].Key >= h.Key {
			t.Errorf("KafkaHeaders not sorted at %d: %s after %s", i, h.Key, kh[i-1].Key)
		}
		if want[h.Key] != string(h.Value) {
			t.Errorf("header %s = %q, want %q", h.Key, h.Value, want[h.Key])
		}
	}
}

func TestZeroOptionalFieldsHaveNoHeader(t *testing.T) {
	got := envelope.Envelope{ID: "2", Source: "/s", Type: "t"}.Headers()
	want := map[string]string{"ce_specversion": "1.0", "ce_id": "2", "ce_source": "/s", "ce_type": "t"}
	if !maps.Equal(got, want) {
		t.Errorf("Headers() = %v, want %v", got, want)
	}
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		e    envelope.Envelope
	}{
		{"all fields", valid()},
		{"required only", envelope.Envelope{ID: "1", Source: "urn:samnav:hr", Type: "t"}},
		{"absolute source URI", envelope.Envelope{ID: "1", Source: "https://samnav.stockholm.se/masterdata", Type: "t"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := envelope.FromKafkaHeaders(tt.e.KafkaHeaders())
			if err != nil {
				t.Fatal(err)
			}
			if !got.Time.Equal(tt.e.Time) {
				t.Errorf("Time %v, want %v", got.Time, tt.e.Time)
			}
			if (got.EndedAt == nil) != (tt.e.EndedAt == nil) || got.EndedAt != nil && !got.EndedAt.Equal(*tt.e.EndedAt) {
				t.Errorf("EndedAt %v, want %v", got.EndedAt, tt.e.EndedAt)
			}
			got.Time, tt.e.Time, got.EndedAt, tt.e.EndedAt = time.Time{}, time.Time{}, nil, nil
			if got != tt.e {
				t.Errorf("got %+v, want %+v", got, tt.e)
			}
		})
	}
}

func TestInvalidHeaders(t *testing.T) {
	tests := []struct {
		name string
		h    map[string]string
		want []string // "<header>" plus a fragment of the rule, one per problem
	}{
		{"nothing", map[string]string{}, []string{
			`ce_specversion: required, must be "1.0"`, "ce_id: required", "ce_source: required", "ce_type: required"}},
		{"wrong specversion", with(map[string]string{"ce_specversion": "0.3"}), []string{`ce_specversion "0.3": must be "1.0"`}},
		{"time not RFC 3339", with(map[string]string{"ce_time": "27/11/2026 08:30"}), []string{`ce_time "27/11/2026 08:30": must be an RFC 3339 timestamp`}},
		{"time without zone", with(map[string]string{"ce_time": "2026-11-27T08:30:00"}), []string{"ce_time", "RFC 3339"}},
		{"source with space", with(map[string]string{"ce_source": "/samnav/master data"}), []string{`ce_source "/samnav/master data": must be a URI-reference`}},
		{"source bad escape", with(map[string]string{"ce_source": "/samnav/%zz"}), []string{"ce_source", "URI-reference"}},
		{"source non-ASCII", with(map[string]string{"ce_source": "/samnav/förvaltning"}), []string{"ce_source", "URI-reference"}},
		{"content type", with(map[string]string{"content-type": "avro binary;;"}), []string{"content-type", "media type"}},
		{"relative dataschema", with(map[string]string{"ce_dataschema": "/schemas/ids/7"}), []string{"ce_dataschema", "absolute URI"}},
		{"control character in id", with(map[string]string{"ce_id": "a\nb"}), []string{"ce_id", "control characters"}},
		{"blank subject", with(map[string]string{"ce_subject": "  "}), []string{"ce_subject", "blank"}},
		{"revision", with(map[string]string{"samnav_revision": "seven"}), []string{`samnav_revision "seven": must be a non-negative integer`}},
		{"ended at", with(map[string]string{"samnav_ended_at": "tomorrow"}), []string{"samnav_ended_at", "RFC 3339"}},
		{"several at once", with(map[string]string{"ce_specversion": "2.0", "ce_type": "", "ce_time": "yesterday"}),
			[]string{"ce_specversion", "ce_type: required", "ce_time"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := envelope.FromHeaders(tt.h)
			if !errors.Is(err, envelope.ErrInvalid) {
				t.Fatalf("FromHeaders err = %v, want ErrInvalid", err)
			}
			var ae *envelope.AttributeError
			if !errors.As(err, &ae) {
				t.Errorf("err %v holds no *AttributeError", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			// What parsed is still returned, for lenient consumers.
			if tt.h["ce_id"] != "" && e.ID != tt.h["ce_id"] {
				t.Errorf("ID %q not returned with the error", tt.h["ce_id"])
			}
		})
	}
}

// with returns the headers of a valid event with the given overrides.
func with(over map[string]string) map[string]string {
	h := valid().Headers()
	maps.Copy(h, over)
	return h
}

func TestFromKafkaHeadersLastValueCounts(t *testing.T) {
	hs := append(valid().KafkaHeaders(), kafka.Header{Key: "ce_id", Value: []byte("again")})
	e, err := envelope.FromKafkaHeaders(hs)
	if err != nil || e.ID != "again" {
		t.Fatalf("ID %q, err %v; want the last ce_id", e.ID, err)
	}
}

func TestHTTPHeaders(t *testing.T) {
	h := http.Header{}
	valid().ToHTTPHeaders(h)
	if len(h) != 2 || h.Get("Traceparent") != valid().TraceParent || h.Get("Tracestate") != "vendor=x" {
		t.Errorf("HTTP headers %v", h)
	}
	if got := envelope.FromHTTPHeaders(h); got.TraceParent != valid().TraceParent || got.TraceState != "vendor=x" {
		t.Errorf("FromHTTPHeaders = %+v", got)
	}
	h = http.Header{}
	envelope.Envelope{}.ToHTTPHeaders(h)
	if len(h) != 0 {
		t.Errorf("an envelope without trace context wrote %v", h)
	}
}

func TestReadIsLenient(t *testing.T) {
	h := with(map[string]string{"ce_specversion": "", "ce_source": "not a uri", "ce_time": "yesterday", "samnav_revision": "x"})
	e := envelope.Read(h)
	if e.ID != valid().ID || e.Source != "not a uri" || !e.Time.IsZero() || e.Revision != 0 || e.EndedAt == nil || e.Kind() != envelope.Ended {
		t.Errorf("Read = %+v", e)
	}
	kh := append(valid().KafkaHeaders(), kafka.Header{Key: "ce_id", Value: []byte("again")})
	if got := envelope.ReadKafka(kh); got.ID != "again" || got.Revision != 7 {
		t.Errorf("ReadKafka = %+v", got)
	}
}
