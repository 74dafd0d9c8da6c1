package kafkago

import (
	"testing"

	"github.com/segmentio/kafka-go"
)

// TestUnmarshalOwnedSharesOnlyForFetchedRecords: the public Unmarshal copies
// the UUID (a caller may reuse its buffers); the subscriber's path for
// records it fetched shares the header's bytes and otherwise gives the same
// message.
func TestUnmarshalOwnedSharesOnlyForFetchedRecords(t *testing.T) {
	record := func() kafka.Message {
		return kafka.Message{
			Topic: "t", Partition: 1, Offset: 7, Value: []byte("payload"),
			Headers: []kafka.Header{{Key: UUIDHeader, Value: []byte("0191f7a2-uuid")}, {Key: "k", Value: []byte("v")}},
		}
	}

	km := record()
	copied, err := DefaultMarshaler{}.Unmarshal(km)
	if err != nil {
		t.Fatal(err)
	}
	km.Headers[0].Value[0] = 'X'
	if copied.UUID != "0191f7a2-uuid" {
		t.Errorf("Unmarshal: UUID %q changed with the caller's buffer", copied.UUID)
	}

	km = record()
	owned, err := unmarshal(km, true)
	if err != nil {
		t.Fatal(err)
	}
	if owned.UUID != "0191f7a2-uuid" || owned.Metadata.Get("k") != "v" || string(owned.Payload) != "payload" {
		t.Fatalf("owned: got uuid %q, metadata %v, payload %q", owned.UUID, owned.Metadata, owned.Payload)
	}
	km.Headers[0].Value[0] = 'X'
	if owned.UUID != "X191f7a2-uuid" {
		t.Errorf("owned: UUID %q does not share the header's bytes", owned.UUID)
	}

	s := &Subscriber{cfg: SubscriberConfig{Unmarshaler: DefaultMarshaler{}}}
	km = record()
	if n := testing.AllocsPerRun(100, func() { _, _ = s.unmarshal(&km) }); n >= testing.AllocsPerRun(100, func() { _, _ = DefaultMarshaler{}.Unmarshal(km) }) {
		t.Errorf("the subscriber's unmarshal allocates %v times per record, no fewer than Unmarshal", n)
	}
}
