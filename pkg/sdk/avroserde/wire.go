package avroserde

import (
	"encoding/binary"
	"fmt"
)

const (
	// MagicByte is byte 0 of every Confluent-framed message.
	MagicByte byte = 0
	// HeaderSize is the magic byte plus the 4-byte schema id.
	HeaderSize = 5
)

// ParseHeader splits a Confluent-framed message into the writer schema id
// and the Avro body. body aliases data. It fails with ErrTruncated when data
// is shorter than the header and ErrWrongMagicByte when byte 0 is not 0.
func ParseHeader(data []byte) (id uint32, body []byte, err error) {
	if len(data) < HeaderSize {
		return 0, nil, &Error{Op: "parse header", Kind: ErrTruncated,
			Err: fmt.Errorf("message is %d bytes, header needs %d", len(data), HeaderSize)}
	}
	if data[0] != MagicByte {
		return 0, nil, &Error{Op: "parse header", Kind: ErrWrongMagicByte,
			Err: fmt.Errorf("byte 0 is 0x%02x, want 0x00", data[0])}
	}
	return binary.BigEndian.Uint32(data[1:HeaderSize]), data[HeaderSize:], nil
}

// AppendHeader appends the Confluent header for schema id to dst.
func AppendHeader(dst []byte, id uint32) []byte {
	dst = append(dst, MagicByte)
	return binary.BigEndian.AppendUint32(dst, id)
}

// TopicSubject names the subject of a topic's values (key false) or keys
// (key true) under Confluent's default TopicNameStrategy:
// "<topic>-value" or "<topic>-key".
func TopicSubject(topic string, key bool) string {
	if key {
		return topic + "-key"
	}
	return topic + "-value"
}
