// Package event turns committed changes into the Kafka records of a
// concept's state topic and appends them to the outbox in the change's
// transaction.
//
// Every record is keyed by the opaque id and carries the full current
// state, Avro in the Confluent wire format under subject "<topic>-value",
// with the event's envelope as headers (CloudEvents binary content mode),
// written through pkg/sdk/envelope: the change's event id (consumers
// deduplicate by it), source envelope.SourceMasterdata, the event type
// envelope.EventType(concept, created | changed | ended | erased), the
// time the change was made, the record's opaque id as subject, content
// type Avro (absent on tombstones), the record's revision after the
// change, when the record ended (on every event of an ended record), the
// resync mark on events republished by Resync, and the W3C trace context
// of the request that made the change.
//
// What "ended" publishes: the record's last state, with kind Ended and
// the ended-at header, not a tombstone. Ending is a
// fact of the business (an employment ended, a unit closed) that
// subscribers must be able to act on and that a new subscriber's snapshot
// must still show, and a compacted topic keeps the headers of a key's last
// record. Only erasure publishes a tombstone (null value, kind Erased), which compaction eventually removes from the topic. This
// differs from ARCHITECTURE.md's "tombstone on end/erasure" on purpose.
package event

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/google/uuid"

	"github.com/samnav/samnav/contracts/generator"
	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/outbox"
	"github.com/samnav/samnav/pkg/sdk/avroserde"
	"github.com/samnav/samnav/pkg/sdk/envelope"
	"github.com/samnav/samnav/pkg/sdk/sqldb"
	"github.com/samnav/samnav/services/masterdata/client"
)

// Type returns the ce_type of a change of kind k to a record of concept
// (resynced records are announced as "changed", or "ended" when ended).
func Type(concept string, k client.Kind, ended bool) string {
	kind := envelope.Changed
	switch {
	case k == client.KindErased:
		kind = envelope.Erased
	case k == client.KindEnded || (k == client.KindResynced && ended):
		kind = envelope.Ended
	case k == client.KindCreated:
		kind = envelope.Created
	}
	return envelope.EventType(concept, kind)
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
		s, err := avroserde.NewSerializer(reg, avroserde.TopicSubject(envelope.StateTopic(c.ID, c.Major), false), string(text), opts...)
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
func (b *Builder) Entry(ctx context.Context, rec *client.Record, ch *client.Change) (outbox.Entry, error) {
	c := b.model.Concept(rec.Concept)
	s := b.serializers[rec.Concept]
	if c == nil || s == nil {
		return outbox.Entry{}, fmt.Errorf("build event: concept %q is not in the model", rec.Concept)
	}
	eventID := ch.EventID
	if eventID == "" {
		eventID = uuid.Must(uuid.NewV7()).String()
	}
	env := envelope.Envelope{
		ID:          eventID,
		Source:      envelope.SourceMasterdata,
		Type:        Type(c.ID, ch.Kind, rec.EndedAt != nil),
		Time:        ch.At,
		Subject:     rec.ID,
		Revision:    rec.Revision,
		EndedAt:     rec.EndedAt,
		Resync:      ch.Kind == client.KindResynced,
		TraceParent: ch.TraceParent,
	}
	e := outbox.Entry{Topic: envelope.StateTopic(c.ID, c.Major), Key: []byte(rec.ID), EventID: eventID}
	if ch.Kind == client.KindErased || rec.State == nil {
		e.Headers = env.Headers()
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
	env.DataContentType = envelope.ContentTypeAvro
	e.Headers = env.Headers()
	return e, nil
}

// Append implements sqlstore.Outbox.
func (b *Builder) Append(ctx context.Context, tx *sql.Tx, rec *client.Record, ch *client.Change) error {
	e, err := b.Entry(ctx, rec, ch)
	if err != nil {
		return err
	}
	if err := outbox.Append(ctx, tx, b.dialect, e); err != nil {
		return fmt.Errorf("append event of %s %s: %w", rec.Concept, rec.ID, err)
	}
	return nil
}
