package kafkago_test

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"strings"
	"syscall"
	"testing"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/segmentio/kafka-go"

	"github.com/samnav/samnav/pkg/sdk/kafkago"
)

func TestDefaultMarshalerRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		meta    message.Metadata
		wantKey string
	}{
		{"no metadata", nil, "id-1"},
		{"partition key", message.Metadata{kafkago.PartitionKeyMetadata: "k"}, "k"},
		{"empty partition key falls back to uuid", message.Metadata{kafkago.PartitionKeyMetadata: ""}, "id-1"},
		{"trace and cloudevents", message.Metadata{"traceparent": "00-aa-bb-01", "ce_id": "x", "ce_type": "t"}, "id-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := message.NewMessage("id-1", []byte("p"))
			if tt.meta != nil {
				msg.Metadata = maps.Clone(tt.meta)
			}
			km, err := kafkago.DefaultMarshaler{}.Marshal("topic", msg)
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			if string(km.Key) != tt.wantKey {
				t.Errorf("key = %q, want %q", km.Key, tt.wantKey)
			}
			km.Topic = "topic"
			got, err := kafkago.DefaultMarshaler{}.Unmarshal(km)
			if err != nil {
				t.Fatalf("unmarshal: %v", err)
			}
			if got.UUID != msg.UUID || string(got.Payload) != "p" {
				t.Errorf("got %s %q, want %s %q", got.UUID, got.Payload, msg.UUID, "p")
			}
			if len(got.Metadata) != len(msg.Metadata) || (len(msg.Metadata) > 0 && !maps.Equal(got.Metadata, msg.Metadata)) {
				t.Errorf("metadata = %v, want %v", got.Metadata, msg.Metadata)
			}
		})
	}
}

func TestDefaultMarshalerRejects(t *testing.T) {
	tests := []struct {
		name    string
		msg     *message.Message
		record  *kafka.Message
		wantErr string
	}{
		{name: "empty uuid", msg: message.NewMessage("", nil), wantErr: "uuid: must not be empty"},
		{name: "reserved metadata key", msg: func() *message.Message {
			m := message.NewMessage("id", nil)
			m.Metadata.Set(kafkago.UUIDHeader, "other")
			return m
		}(), wantErr: "is reserved"},
		{name: "repeated uuid header", record: &kafka.Message{Headers: []kafka.Header{
			{Key: kafkago.UUIDHeader, Value: []byte("a")}, {Key: kafkago.UUIDHeader, Value: []byte("b")},
		}}, wantErr: "must appear at most once"},
		{name: "empty uuid header", record: &kafka.Message{Headers: []kafka.Header{{Key: kafkago.UUIDHeader}}}, wantErr: "must not be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.msg != nil {
				_, err = kafkago.DefaultMarshaler{}.Marshal("topic", tt.msg)
			} else {
				_, err = kafkago.DefaultMarshaler{}.Unmarshal(*tt.record)
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestUnmarshalForeignRecord(t *testing.T) {
	km := kafka.Message{Topic: "t", Partition: 2, Offset: 7, Value: []byte("v"), Headers: []kafka.Header{{Key: "a", Value: []byte("1")}, {Key: "a", Value: []byte("2")}}}
	msg, err := kafkago.DefaultMarshaler{}.Unmarshal(km)
	if err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	if msg.UUID != "t-2-7" || msg.Metadata.Get("a") != "2" {
		t.Errorf("got uuid %q metadata %v, want uuid t-2-7 and a=2 (last value)", msg.UUID, msg.Metadata)
	}
}

// FuzzUnmarshal feeds arbitrary records, as any producer could write them,
// to the default Unmarshaler: it must return a message or an error, never
// panic, and a message it returns must marshal back to the same headers.
func FuzzUnmarshal(f *testing.F) {
	f.Add([]byte("k"), []byte("v"), kafkago.UUIDHeader, []byte("id"), "traceparent", []byte("00-1-2-01"))
	f.Add([]byte{}, []byte{}, "", []byte{}, kafkago.UUIDHeader, []byte{0xff})
	f.Fuzz(func(t *testing.T, key, value []byte, h1 string, v1 []byte, h2 string, v2 []byte) {
		km := kafka.Message{Topic: "t", Key: key, Value: value, Headers: []kafka.Header{{Key: h1, Value: v1}, {Key: h2, Value: v2}}}
		msg, err := kafkago.DefaultMarshaler{}.Unmarshal(km)
		if err != nil {
			return
		}
		back, err := kafkago.DefaultMarshaler{}.Marshal("t", msg)
		if err != nil {
			t.Fatalf("marshal of an unmarshalled message: %v", err)
		}
		again, err := kafkago.DefaultMarshaler{}.Unmarshal(back)
		if err != nil {
			t.Fatalf("unmarshal of a marshalled message: %v", err)
		}
		if again.UUID != msg.UUID || !maps.Equal(again.Metadata, msg.Metadata) || string(again.Payload) != string(msg.Payload) {
			t.Fatalf("round trip changed the message: %v %v -> %v %v", msg.UUID, msg.Metadata, again.UUID, again.Metadata)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		wantErr []string
	}{
		{"publisher ok", kafkago.PublisherConfig{Brokers: []string{"h:1"}}.Validate(), nil},
		{"publisher bad", kafkago.PublisherConfig{Brokers: []string{"nohost"}, Compression: "brotli", BatchSize: -1, RequiredAcks: 7}.Validate(),
			[]string{`brokers[0] "nohost": must be host:port`, `compression "brotli"`, "batch size: must not be negative", "required acks"}},
		{"publisher no brokers", kafkago.PublisherConfig{}.Validate(), []string{"brokers: at least one"}},
		{"subscriber ok", kafkago.SubscriberConfig{Brokers: []string{"h:1"}, ConsumerGroup: "g"}.Validate(), nil},
		{"subscriber bad", kafkago.SubscriberConfig{Brokers: []string{"h:1"}, InitialOffset: 9, CommitInterval: -1}.Validate(),
			[]string{"consumer group: must not be empty", "initial offset", "commit interval: must not be negative"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.wantErr) == 0 {
				if tt.err != nil {
					t.Fatalf("unexpected error: %v", tt.err)
				}
				return
			}
			if tt.err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(tt.err.Error(), w) {
					t.Errorf("error %q does not contain %q", tt.err, w)
				}
			}
		})
	}
}

func TestRetryable(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{kafka.LeaderNotAvailable, true},
		{kafka.NotLeaderForPartition, true},
		{kafka.RequestTimedOut, true},
		{fmt.Errorf("wrapped: %w", kafka.NotEnoughReplicas), true},
		{syscall.ECONNREFUSED, true},
		{io.ErrUnexpectedEOF, true},
		{kafka.MessageSizeTooLarge, false},
		{kafka.TopicAuthorizationFailed, false},
		{kafka.InvalidTopic, false},
		{errors.New("something else"), false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := kafkago.Retryable(tt.err); got != tt.want {
			t.Errorf("Retryable(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// BenchmarkMarshaler: one message as the telemetry decorator and CloudEvents
// leave it (three metadata entries), both ways.
func BenchmarkMarshaler(b *testing.B) {
	msg := message.NewMessage(watermill.NewUUID(), make([]byte, 100))
	msg.Metadata.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	msg.Metadata.Set("ce_type", "samnav.masterdata.changed")
	msg.Metadata.Set("ce_source", "masterdata")
	km, err := kafkago.DefaultMarshaler{}.Marshal("t", msg)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := (kafkago.DefaultMarshaler{}).Marshal("t", msg); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := (kafkago.DefaultMarshaler{}).Unmarshal(km); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestExternalMarshalerSendsNothingInternal: a record for an outside
// reader carries the message's own metadata as headers and the partition
// key as its key, but neither Watermill's UUID header nor the partition
// key metadata.
func TestExternalMarshalerSendsNothingInternal(t *testing.T) {
	msg := message.NewMessage("id-1", []byte("p"))
	msg.Metadata = message.Metadata{kafkago.PartitionKeyMetadata: "k", "traceparent": "00-aa-bb-01", "b": "2", "a": "1", "_watermill_other": "x"}
	km, err := kafkago.ExternalMarshaler{}.Marshal("topic", msg)
	if err != nil {
		t.Fatal(err)
	}
	if string(km.Key) != "k" || string(km.Value) != "p" {
		t.Errorf("key %q value %q, want k and p", km.Key, km.Value)
	}
	var got []string
	for _, h := range km.Headers {
		got = append(got, h.Key+"="+string(h.Value))
	}
	if want := "a=1 b=2 traceparent=00-aa-bb-01"; strings.Join(got, " ") != want {
		t.Errorf("headers %v, want %s", got, want)
	}
	// Unkeyed messages are keyed by their UUID, as with DefaultMarshaler.
	km, err = kafkago.ExternalMarshaler{}.Marshal("topic", message.NewMessage("id-2", nil))
	if err != nil || string(km.Key) != "id-2" || len(km.Headers) != 0 {
		t.Errorf("unkeyed: key %q headers %v err %v", km.Key, km.Headers, err)
	}
	// Read back, the record's UUID comes from its coordinates.
	km.Topic, km.Partition, km.Offset = "topic", 1, 7
	back, err := kafkago.DefaultMarshaler{}.Unmarshal(km)
	if err != nil || back.UUID != "topic-1-7" {
		t.Errorf("unmarshal: uuid %v err %v", back, err)
	}
	if _, err := (kafkago.ExternalMarshaler{}).Marshal("topic", message.NewMessage("", nil)); err == nil {
		t.Error("a message without uuid was marshalled")
	}
}
