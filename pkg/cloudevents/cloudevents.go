// Package cloudevents carries CloudEvents 1.0 context attributes on Samnav's
// Kafka messages in binary content mode (the CloudEvents Kafka protocol
// binding): each attribute is a header named "ce_<attribute>", the data
// content type is the "content-type" header, and the message value is the
// event data (for Samnav, a Confluent-framed Avro body). On Watermill the
// headers are message metadata, which Samnav's Kafka transport maps to and
// from Kafka headers one to one.
package cloudevents

import (
	"errors"
	"fmt"
	"mime"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
)

// SpecVersion is the only CloudEvents version this package reads and writes.
const SpecVersion = "1.0"

// Header names in binary content mode.
const (
	HeaderID              = "ce_id"
	HeaderSource          = "ce_source"
	HeaderSpecVersion     = "ce_specversion"
	HeaderType            = "ce_type"
	HeaderTime            = "ce_time"
	HeaderSubject         = "ce_subject"
	HeaderDataSchema      = "ce_dataschema"
	HeaderDataContentType = "content-type"
)

// Attributes are an event's CloudEvents context attributes. ID, Source and
// Type are required; the others are optional and omitted when zero.
// SpecVersion is always SpecVersion and is not a field.
type Attributes struct {
	// ID identifies the event; with Source it is unique, and consumers
	// remove duplicates by it.
	ID string
	// Source is a URI-reference naming the context the event happened in,
	// e.g. "/samnav/masterdata/person".
	Source string
	// Type names the kind of event, e.g. "se.stockholm.samnav.person.changed.v1".
	Type string
	// Time is when the change happened; zero means not set.
	Time time.Time
	// Subject is the entity the event is about within Source (for Samnav,
	// the opaque entity id, never a personnummer).
	Subject string
	// DataContentType is the media type of the data, e.g. "application/avro".
	DataContentType string
	// DataSchema is an absolute URI of the data's schema, e.g. a registry URL.
	DataSchema string
}

// ErrInvalid is matched (errors.Is) by every validation failure.
var ErrInvalid = errors.New("invalid cloudevents attribute")

// AttributeError reports one attribute that breaks one rule.
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

// New returns attributes for a new event: a fresh ULID as ID (unique and
// sortable by creation) and the current time in UTC.
func New(source, eventType, subject string) Attributes {
	return Attributes{
		ID:      watermill.NewULID(),
		Source:  source,
		Type:    eventType,
		Time:    time.Now().UTC(),
		Subject: subject,
	}
}

// Validate reports every attribute that breaks a rule of CloudEvents 1.0,
// all at once; each error is an *AttributeError.
func (a Attributes) Validate() error {
	var errs []error
	bad := func(attr, value, rule string) {
		errs = append(errs, &AttributeError{Attribute: attr, Value: value, Rule: rule})
	}
	if a.ID == "" {
		bad(HeaderID, "", "required, must be a non-empty string")
	}
	switch {
	case a.Source == "":
		bad(HeaderSource, "", "required, must be a non-empty URI-reference")
	case !isURIReference(a.Source):
		bad(HeaderSource, a.Source, "must be a URI-reference (RFC 3986)")
	}
	if a.Type == "" {
		bad(HeaderType, "", "required, must be a non-empty string")
	}
	if a.Subject != "" && strings.TrimSpace(a.Subject) == "" {
		bad(HeaderSubject, a.Subject, "must not be blank when set")
	}
	if a.DataContentType != "" {
		if _, _, err := mime.ParseMediaType(a.DataContentType); err != nil {
			bad(HeaderDataContentType, a.DataContentType, "must be a media type (RFC 2046)")
		}
	}
	if a.DataSchema != "" {
		if u, err := url.Parse(a.DataSchema); err != nil || !u.IsAbs() || !isURIReference(a.DataSchema) {
			bad(HeaderDataSchema, a.DataSchema, "must be an absolute URI (RFC 3986)")
		}
	}
	for _, s := range []struct{ attr, v string }{
		{HeaderID, a.ID}, {HeaderType, a.Type}, {HeaderSubject, a.Subject},
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

// Set validates a and writes it into md as binary-mode headers, including
// ce_specversion "1.0"; optional attributes left zero are removed from md.
// md is left unchanged when a is invalid.
func Set(md message.Metadata, a Attributes) error {
	if err := a.Validate(); err != nil {
		return fmt.Errorf("set cloudevents attributes: %w", err)
	}
	md.Set(HeaderSpecVersion, SpecVersion)
	md.Set(HeaderID, a.ID)
	md.Set(HeaderSource, a.Source)
	md.Set(HeaderType, a.Type)
	setOptional(md, HeaderSubject, a.Subject)
	setOptional(md, HeaderDataContentType, a.DataContentType)
	setOptional(md, HeaderDataSchema, a.DataSchema)
	t := ""
	if !a.Time.IsZero() {
		t = a.Time.UTC().Format(time.RFC3339Nano)
	}
	setOptional(md, HeaderTime, t)
	return nil
}

func setOptional(md message.Metadata, key, v string) {
	if v == "" {
		delete(md, key)
		return
	}
	md.Set(key, v)
}

// Read reads and validates the attributes in md: the required ones must be
// present, ce_specversion must be "1.0" and ce_time RFC 3339. It reports
// every problem at once, each as an *AttributeError.
func Read(md message.Metadata) (Attributes, error) {
	a := Attributes{
		ID:              md.Get(HeaderID),
		Source:          md.Get(HeaderSource),
		Type:            md.Get(HeaderType),
		Subject:         md.Get(HeaderSubject),
		DataContentType: md.Get(HeaderDataContentType),
		DataSchema:      md.Get(HeaderDataSchema),
	}
	var errs []error
	switch v, ok := md[HeaderSpecVersion]; {
	case !ok || v == "":
		errs = append(errs, &AttributeError{Attribute: HeaderSpecVersion, Rule: `required, must be "1.0"`})
	case v != SpecVersion:
		errs = append(errs, &AttributeError{Attribute: HeaderSpecVersion, Value: v, Rule: `must be "1.0"`})
	}
	if v := md.Get(HeaderTime); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			errs = append(errs, &AttributeError{Attribute: HeaderTime, Value: v, Rule: "must be an RFC 3339 timestamp"})
		}
		a.Time = t
	}
	if err := a.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return a, fmt.Errorf("read cloudevents attributes: %w", err)
	}
	return a, nil
}
