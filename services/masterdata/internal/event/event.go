// Package event turns committed changes into the Kafka records of a
// concept's state topic and appends them to the outbox in the change's
// transaction.
//
// Every record is keyed by the opaque id and carries the full current
// state, Avro in the Confluent wire format under subject "<topic>-value",
// with CloudEvents attributes as headers (binary content mode):
//
//	ce_specversion  1.0
//	ce_id           the change's event id (consumers deduplicate by it)
//	ce_source       /samnav/masterdata
//	ce_type         se.samnav.<concept>.created | changed | ended | erased
//	ce_time         when the change was made (RFC 3339)
//	ce_subject      the record's opaque id
//	content-type    application/avro (absent on tombstones)
//	samnav_revision the record's revision after the change
//	samnav_ended_at when the record was ended (RFC 3339), on every event of
//	                an ended record
//	samnav_resync   "true" on events republished by Resync
//	traceparent     the W3C trace context of the request that made the change
//
// What "ended" publishes: the record's last state, with ce_type
// "...ended" and the samnav_ended_at header, not a tombstone. Ending is a
// fact of the business (an employment ended, a unit closed) that
// subscribers must be able to act on and that a new subscriber's snapshot
// must still show, and a compacted topic keeps the headers of a key's last
// record. Only erasure publishes a tombstone (null value, ce_type
// "...erased"), which compaction eventually removes from the topic. This
// differs from ARCHITECTURE.md's "tombstone on end/erasure" on purpose.
package event

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/samnav/samnav/contracts/generator"
	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/avroserde"
	"github.com/samnav/samnav/pkg/outbox"
	"github.com/samnav/samnav/pkg/sqldb"
	"github.com/samnav/samnav/services/masterdata/record"
)

// Source is the ce_source of every event the masterdata service publishes.
const Source = "/samnav/masterdata"

// Header names.
const (
	HeaderSpecVersion = "ce_specversion"
	HeaderID          = "ce_id"
	HeaderSource      = "ce_source"
	HeaderType        = "ce_type"
	HeaderTime        = "ce_time"
	HeaderSubject     = "ce_subject"
	HeaderContentType = "content-type"
	HeaderRevision    = "samnav_revision"
	HeaderEndedAt     = "samnav_ended_at"
	HeaderResync      = "samnav_resync"
	HeaderTraceParent = "traceparent"
)

// ContentType is the content-type of event values: Avro in the Confluent
// wire format.
const ContentType = "application/avro"

// Type returns the ce_type of a change of kind k to a record of concept
// (resynced records are announced as "changed", or "ended" when ended).
func Type(concept string, k record.Kind, ended bool) string {
	suffix := "changed"
	switch {
	case k == record.KindErased:
		suffix = "erased"
	case k == record.KindEnded || (k == record.KindResynced && ended):
		suffix = "ended"
	case k == record.KindCreated:
		suffix = "created"
	}
	return "se.samnav." + concept + "." + suffix
}

// Builder builds events and appends them to the outbox. It implements
// sqlstore.Outbox. It is safe for concurrent use.
type Builder struct {
	model       *model.Model
	dialect     sqldb.Dialect
	serializers map[string]*avroserde.Serializer
}

// NewBuilder prepares a Serializer for every concept of m, with the
// schema the contracts generator makes from the model (so a concept added
// to the model needs no Go), registered or looked up in reg under
// "<topic>-value" on first use. opts pass to every Serializer
// (avroserde.LookupOnly in production, where only the contracts pipeline
// registers).
func NewBuilder(m *model.Model, d sqldb.Dialect, reg avroserde.Registrar, opts ...avroserde.SerializerOption) (*Builder, error) {
	b := &Builder{model: m, dialect: d, serializers: make(map[string]*avroserde.Serializer, len(m.Concepts))}
	for _, c := range m.Concepts {
		text, err := generator.Avro(c)
		if err != nil {
			return nil, fmt.Errorf("generate schema of %s: %w", c.ID, err)
		}
		s, err := avroserde.NewSerializer(reg, avroserde.TopicSubject(c.Topic(), false), string(text), opts...)
		if err != nil {
			return nil, fmt.Errorf("serializer of %s: %w", c.ID, err)
		}
		b.serializers[c.ID] = s
	}
	return b, nil
}

// Warm obtains every schema id from the registry now, so that no write
// transaction waits for the registry later. It returns every failure.
func (b *Builder) Warm(ctx context.Context) error {
	var errs []error
	for id, s := range b.serializers {
		if _, err := s.SchemaID(ctx); err != nil {
			errs = append(errs, fmt.Errorf("schema of %s: %w", id, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("warm schemas: %v", errs)
	}
	return nil
}

// Entry builds the outbox entry announcing ch, which left rec as it is.
func (b *Builder) Entry(ctx context.Context, rec *record.Record, ch *record.Change) (outbox.Entry, error) {
	c := b.model.Concept(rec.Concept)
	s := b.serializers[rec.Concept]
	if c == nil || s == nil {
		return outbox.Entry{}, fmt.Errorf("build event: concept %q is not in the model", rec.Concept)
	}
	eventID := ch.EventID
	if eventID == "" {
		eventID = uuid.Must(uuid.NewV7()).String()
	}
	h := map[string]string{
		HeaderSpecVersion: "1.0",
		HeaderID:          eventID,
		HeaderSource:      Source,
		HeaderType:        Type(c.ID, ch.Kind, rec.EndedAt != nil),
		HeaderTime:        ch.At.UTC().Format(time.RFC3339Nano),
		HeaderSubject:     rec.ID,
		HeaderRevision:    strconv.FormatInt(rec.Revision, 10),
	}
	if rec.EndedAt != nil {
		h[HeaderEndedAt] = rec.EndedAt.UTC().Format(time.RFC3339Nano)
	}
	if ch.Kind == record.KindResynced {
		h[HeaderResync] = "true"
	}
	if ch.TraceParent != "" {
		h[HeaderTraceParent] = ch.TraceParent
	}
	e := outbox.Entry{Topic: c.Topic(), Key: []byte(rec.ID), Headers: h, EventID: eventID}
	if ch.Kind == record.KindErased || rec.State == nil {
		return e, nil // tombstone
	}
	v, err := AvroValue(c, rec.ID, rec.State)
	if err != nil {
		return outbox.Entry{}, fmt.Errorf("build event of %s %s: %w", c.ID, rec.ID, err)
	}
	e.Value, err = s.EncodeContext(ctx, v)
	if err != nil {
		return outbox.Entry{}, fmt.Errorf("encode event of %s %s: %w", c.ID, rec.ID, err)
	}
	e.Headers[HeaderContentType] = ContentType
	return e, nil
}

// Append implements sqlstore.Outbox.
func (b *Builder) Append(ctx context.Context, tx *sql.Tx, rec *record.Record, ch *record.Change) error {
	e, err := b.Entry(ctx, rec, ch)
	if err != nil {
		return err
	}
	if err := outbox.Append(ctx, tx, b.dialect, e); err != nil {
		return fmt.Errorf("append event of %s %s: %w", rec.Concept, rec.ID, err)
	}
	return nil
}
