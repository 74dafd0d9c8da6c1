// Package envelope is the one definition of what travels around a Samnav
// event on every channel: the Kafka header names and values (CloudEvents
// 1.0 attributes in binary content mode, the W3C trace context, Samnav's
// own samnav_* headers), the event types se.samnav.<concept>.<kind>, the
// topic names (state, view and dead-letter topics) and the HTTP headers a
// webhook request carries. Producers write an Envelope with Headers or
// KafkaHeaders; consumers read one with FromHeaders or FromKafkaHeaders
// (validating) or Read and ReadKafka (lenient, for the hot path).
// Nothing else in the tree spells a header name, an event type or a topic
// name pattern.
//
// In binary content mode each CloudEvents attribute is a header named
// "ce_<attribute>", the data content type is the "content-type" header and
// the record value is the event data (for Samnav a Confluent-framed Avro
// body, or nothing for a tombstone). On Watermill the headers are message
// metadata, which pkg/sdk/kafkago maps to and from Kafka headers one to one.
//
// # Why not the CloudEvents Go SDK
//
// github.com/cloudevents/sdk-go ships Kafka protocol bindings for
// IBM/sarama (protocol/kafka_sarama) and confluent-kafka-go
// (protocol/kafka_confluent). Samnav speaks Kafka through segmentio/kafka-go
// under Watermill (pkg/sdk/kafkago), so neither binding can carry our records:
// each wraps its own client's message and producer types, and adopting one
// would mean a second Kafka client (sarama) or a cgo one (librdkafka) in
// every service and in the subscriber SDK. What would remain usable is the
// SDK's event model (event.Event) and its binding/format packages, which
// bring their own JSON and validation machinery for the four attributes
// we write and read; Samnav's extension headers (samnav_revision,
// samnav_ended_at, ...) and topic naming are not covered at all. The
// binary-mode mapping is a dozen header names, so it is defined here,
// validated to the CloudEvents 1.0 rules (Validate), and kept byte for
// byte what the golden wire test (services/delivery/testdata/wire) pins.
package envelope

import (
	"errors"
	"fmt"
	"mime"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/segmentio/kafka-go"
)

// SpecVersion is the only CloudEvents version written and accepted.
const SpecVersion = "1.0"

// CloudEvents attributes as Kafka headers (binary content mode).
const (
	HeaderID          = "ce_id"
	HeaderSource      = "ce_source"
	HeaderSpecVersion = "ce_specversion"
	HeaderType        = "ce_type"
	HeaderTime        = "ce_time"
	HeaderSubject     = "ce_subject"
	HeaderDataSchema  = "ce_dataschema"
	HeaderContentType = "content-type"
)

// W3C trace context, as a Kafka header and as an HTTP header (HTTP header
// names are case-insensitive; these are the canonical lower-case forms).
const (
	HeaderTraceParent = "traceparent"
	HeaderTraceState  = "tracestate"
)

// Samnav's own headers on state and view topic records.
const (
	// HeaderRevision is the record's revision after the change; it grows
	// with every change of one record.
	HeaderRevision = "samnav_revision"
	// HeaderEndedAt is when the record ended (RFC 3339), on every event of
	// an ended record.
	HeaderEndedAt = "samnav_ended_at"
	// HeaderResync is "true" on events republished by a resync.
	HeaderResync = "samnav_resync"
	// HeaderSubscription names the subscription a view record was
	// projected for.
	HeaderSubscription = "samnav_subscription"
	// HeaderViewShape names the shape (approved fields, protected
	// identities) a view record was projected for. When the hub rebuilds a
	// view after its subscription was widened or narrowed, the same events
	// arrive again under a new shape, and a subscriber applies them again:
	// idempotency is by event id and shape.
	HeaderViewShape = "samnav_view_shape"
)

// Headers the subscriber SDK adds to a record it moves to a dead-letter
// topic, saying why and from where.
const (
	HeaderDLQError     = "samnav_dlq_error"
	HeaderDLQAttempts  = "samnav_dlq_attempts"
	HeaderDLQTopic     = "samnav_dlq_topic"
	HeaderDLQPartition = "samnav_dlq_partition"
	HeaderDLQOffset    = "samnav_dlq_offset"
	HeaderDLQGroup     = "samnav_dlq_group"
	HeaderDLQTime      = "samnav_dlq_time"
)

// Content types of event data.
const (
	// ContentTypeAvro is Avro in the Confluent wire format (Kafka topics).
	ContentTypeAvro = "application/avro"
	// ContentTypeJSON is JSON (webhooks, the pull feed).
	ContentTypeJSON = "application/json"
)

// Sources (ce_source) of the events Samnav publishes.
const (
	SourceMasterdata = "/samnav/masterdata"
	SourceDelivery   = "/samnav/delivery"
)

// FeedSource is the CloudEvents source of the items of a subscription's
// pull feed.
func FeedSource(subscriptionID string) string { return "/samnav/feeds/" + subscriptionID }

// Envelope is everything an event carries besides its data. ID, Source and
// Type are required (Validate); every other field is optional and its
// header is omitted when it is zero.
type Envelope struct {
	// ID identifies the event; with Source it is unique, and consumers
	// remove duplicates by it.
	ID string
	// Source is a URI-reference naming the context the event happened in.
	Source string
	// Type is the event type, see EventType.
	Type string
	// Time is when the change happened.
	Time time.Time
	// Subject is the entity the event is about: the record's opaque id,
	// never a personnummer.
	Subject string
	// DataContentType is the media type of the data, e.g. ContentTypeAvro;
	// empty on a tombstone.
	DataContentType string
	// DataSchema is an absolute URI of the data's schema.
	DataSchema string
	// Revision is the record's revision; 0 means absent.
	Revision int64
	// EndedAt is when the record ended; nil while it has not.
	EndedAt *time.Time
	// Resync marks an event republished by a resync.
	Resync bool
	// Subscription and ViewShape are set on view topic records.
	Subscription string
	ViewShape    string
	// TraceParent and TraceState are the W3C trace context of the change.
	TraceParent string
	TraceState  string
}

// Kind is the last segment of the event type.
func (e Envelope) Kind() Kind {
	_, k, _ := ParseEventType(e.Type)
	return k
}

// Headers returns e as Kafka headers (binary content mode), as a map from
// header name to value; it is also the Watermill metadata that pkg/sdk/kafkago
// turns into those headers. Zero optional fields have no header.
func (e Envelope) Headers() map[string]string {
	h := make(map[string]string, 12)
	h[HeaderSpecVersion] = SpecVersion
	h[HeaderID] = e.ID
	h[HeaderSource] = e.Source
	h[HeaderType] = e.Type
	set := func(k, v string) {
		if v != "" {
			h[k] = v
		}
	}
	if !e.Time.IsZero() {
		h[HeaderTime] = formatTime(e.Time)
	}
	set(HeaderSubject, e.Subject)
	set(HeaderContentType, e.DataContentType)
	set(HeaderDataSchema, e.DataSchema)
	if e.Revision != 0 {
		h[HeaderRevision] = strconv.FormatInt(e.Revision, 10)
	}
	if e.EndedAt != nil {
		h[HeaderEndedAt] = formatTime(*e.EndedAt)
	}
	if e.Resync {
		h[HeaderResync] = "true"
	}
	set(HeaderSubscription, e.Subscription)
	set(HeaderViewShape, e.ViewShape)
	set(HeaderTraceParent, e.TraceParent)
	set(HeaderTraceState, e.TraceState)
	return h
}

// KafkaHeaders returns Headers as Kafka record headers, sorted by name.
func (e Envelope) KafkaHeaders() []kafka.Header {
	h := e.Headers()
	out := make([]kafka.Header, 0, len(h))
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range h {
			if !yield(k) {
				return
			}
		}
	}) {
		out = append(out, kafka.Header{Key: k, Value: []byte(h[k])})
	}
	return out
}

// FormatTime is how every time travels in a header or an event body:
// RFC 3339 in UTC with as many fractional digits as needed.
func FormatTime(t time.Time) string { return formatTime(t) }

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// FromHeaders reads an envelope from a record's headers and validates it.
// It returns every field that parses, and an error (each part an
// *AttributeError, matching ErrInvalid) naming every header that is
// missing or malformed.
func FromHeaders(h map[string]string) (Envelope, error) {
	e, errs := read(h)
	switch v, ok := h[HeaderSpecVersion]; {
	case !ok || v == "":
		errs = append(errs, &AttributeError{Attribute: HeaderSpecVersion, Rule: `required, must be "1.0"`})
	case v != SpecVersion:
		errs = append(errs, &AttributeError{Attribute: HeaderSpecVersion, Value: v, Rule: `must be "1.0"`})
	}
	if err := e.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return e, fmt.Errorf("read event envelope: %w", err)
	}
	return e, nil
}

// Read reads what parses of an envelope from a record's headers and
// validates nothing: for consumers on the hot path that must not drop a
// record over a malformed optional header (a time that does not parse is
// left zero). Use FromHeaders to check a record.
func Read(h map[string]string) Envelope {
	e, _ := read(h)
	return e
}

// ReadKafka is Read for a Kafka record's headers; of a repeated header the
// last value counts.
func ReadKafka(hs []kafka.Header) Envelope { return Read(headerMap(hs)) }

func read(h map[string]string) (Envelope, []error) {
	e := Envelope{
		ID: h[HeaderID], Source: h[HeaderSource], Type: h[HeaderType], Subject: h[HeaderSubject],
		DataContentType: h[HeaderContentType], DataSchema: h[HeaderDataSchema],
		Subscription: h[HeaderSubscription], ViewShape: h[HeaderViewShape],
		TraceParent: h[HeaderTraceParent], TraceState: h[HeaderTraceState],
		Resync: h[HeaderResync] == "true",
	}
	var errs []error
	bad := func(attr, value, rule string) {
		errs = append(errs, &AttributeError{Attribute: attr, Value: value, Rule: rule})
	}
	if v := h[HeaderTime]; v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			bad(HeaderTime, v, "must be an RFC 3339 timestamp")
		}
		e.Time = t
	}
	if v := h[HeaderRevision]; v != "" {
		r, err := strconv.ParseInt(v, 10, 64)
		if err != nil || r < 0 {
			bad(HeaderRevision, v, "must be a non-negative integer")
		} else {
			e.Revision = r
		}
	}
	if v := h[HeaderEndedAt]; v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			bad(HeaderEndedAt, v, "must be an RFC 3339 timestamp")
		} else {
			e.EndedAt = &t
		}
	}
	return e, errs
}

// FromKafkaHeaders is FromHeaders for a Kafka record's headers; of a
// repeated header the last value counts.
func FromKafkaHeaders(hs []kafka.Header) (Envelope, error) { return FromHeaders(headerMap(hs)) }

func headerMap(hs []kafka.Header) map[string]string {
	h := make(map[string]string, len(hs))
	for _, x := range hs {
		h[x.Key] = string(x.Value)
	}
	return h
}

// ErrInvalid is matched (errors.Is) by every validation failure.
var ErrInvalid = errors.New("invalid event envelope")

// AttributeError reports one header that breaks one rule.
type AttributeError struct {
	Attribute string // the header name, e.g. "ce_source"
	Value     string // the offending value ("" when missing)
	Rule      string // what the value must satisfy
}

func (e *AttributeError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("%s: %s", e.Attribute, e.Rule)
	}
	return fmt.Sprintf("%s %q: %s", e.Attribute, e.Value, e.Rule)
}

// Is makes every AttributeError match ErrInvalid.
func (e *AttributeError) Is(target error) bool { return target == ErrInvalid }

// Validate reports every field that breaks a rule of CloudEvents 1.0, all
// at once; each error is an *AttributeError.
func (e Envelope) Validate() error {
	var errs []error
	bad := func(attr, value, rule string) {
		errs = append(errs, &AttributeError{Attribute: attr, Value: value, Rule: rule})
	}
	if e.ID == "" {
		bad(HeaderID, "", "required, must be a non-empty string")
	}
	switch {
	case e.Source == "":
		bad(HeaderSource, "", "required, must be a non-empty URI-reference")
	case !isURIReference(e.Source):
		bad(HeaderSource, e.Source, "must be a URI-reference (RFC 3986)")
	}
	if e.Type == "" {
		bad(HeaderType, "", "required, must be a non-empty string")
	}
	if e.Subject != "" && strings.TrimSpace(e.Subject) == "" {
		bad(HeaderSubject, e.Subject, "must not be blank when set")
	}
	if e.DataContentType != "" {
		if _, _, err := mime.ParseMediaType(e.DataContentType); err != nil {
			bad(HeaderContentType, e.DataContentType, "must be a media type (RFC 2046)")
		}
	}
	if e.DataSchema != "" {
		if u, err := url.Parse(e.DataSchema); err != nil || !u.IsAbs() || !isURIReference(e.DataSchema) {
			bad(HeaderDataSchema, e.DataSchema, "must be an absolute URI (RFC 3986)")
		}
	}
	if e.Revision < 0 {
		bad(HeaderRevision, strconv.FormatInt(e.Revision, 10), "must be a non-negative integer")
	}
	for _, s := range []struct{ attr, v string }{
		{HeaderID, e.ID}, {HeaderType, e.Type}, {HeaderSubject, e.Subject},
		{HeaderSubscription, e.Subscription}, {HeaderViewShape, e.ViewShape},
		{HeaderTraceParent, e.TraceParent}, {HeaderTraceState, e.TraceState},
	} {
		if hasControl(s.v) {
			bad(s.attr, s.v, "must not contain control characters")
		}
	}
	return errors.Join(errs...)
}

// isURIReference is a practical RFC 3986 URI-reference check: it parses,
// and holds no whitespace or control characters (which a URI never does,
// though Go's parser tolerates some).
func isURIReference(s string) bool {
	if strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r > unicode.MaxASCII }) {
		return false
	}
	_, err := url.Parse(s)
	return err == nil
}

func hasControl(s string) bool { return strings.ContainsFunc(s, unicode.IsControl) }
