// Package channel is the seam between the delivery pipeline and the ways
// events leave the hub (Kafka view topics, signed webhooks, the pull feed).
//
// The pipeline reads a concept's state topic once per approved
// subscription (its own consumer group, from the earliest offset, so the
// compacted topic delivers the full current state first and then every
// change), projects each record to the subscription's approved fields,
// withholds shielded attributes of protected identities, and only then
// calls Channel.Deliver. A channel never sends anything the subscription
// may not receive: what it sends is State, or (for a channel that sends
// later) Source projected again at send time.
package channel

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/samnav/samnav/pkg/sdk/envelope"
	"github.com/samnav/samnav/services/delivery/client"
)

// Event types, the last segment of the event type (envelope.Kind).
const (
	// TypeChanged carries the record's full current (projected) state.
	TypeChanged = string(envelope.Changed)
	// TypeEnded carries the record's last (projected) state; the record
	// ended (e.g. a person moved away, a unit closed) at its EndedAt time.
	TypeEnded = string(envelope.Ended)
	// TypeErased says the record was erased; State is nil. On Kafka it is
	// a tombstone; a subscriber must delete everything it holds under Key.
	TypeErased = string(envelope.Erased)
)

// Event is one projected state change for one subscription.
type Event struct {
	// SubscriptionID, System and Concept name the receiving subscription.
	SubscriptionID string
	System         string
	Concept        string
	// Key is the record's opaque id (the state topic's record key).
	Key string
	// EventID is the CloudEvents id (envelope.HeaderID) of the source event.
	// It is the same on every redelivery: receivers deduplicate by it.
	EventID string
	// Type is TypeChanged, TypeEnded or TypeErased.
	Type string
	// Time is when the change was committed (envelope.HeaderTime).
	Time time.Time
	// Revision is the record's revision (envelope.HeaderRevision); it grows with
	// every change of one record, so a receiver can drop older states.
	Revision int64
	// EndedAt is set for TypeEnded (envelope.HeaderEndedAt).
	EndedAt *time.Time
	// State is the projected record, with "id" and only the subscription's
	// approved fields, values as decoded from Avro (string, int64, bool,
	// float64, map[string]any, []any, time.Time for dates and timestamps);
	// nil for TypeErased. Channels must not modify it.
	State map[string]any
	// Source is the record's state before projection (what State was
	// projected from), in the same plain shape; nil for TypeErased. It is
	// there for a channel that keeps events and sends them later (the
	// webhook queue): such a channel must keep Source encrypted and
	// project it again, with the subscription's then current projection,
	// at every send, because the subscription may be narrowed or the
	// person become protected in between. No channel sends Source as is.
	Source map[string]any
	// Trace is the W3C traceparent of the change, "" if none.
	Trace string
	// Withheld names the approved fields that State holds as nil because
	// the record is a protected identity and the subscription is not
	// approved for protected identities (every field the projection
	// withheld that held a value at the source). A channel that keeps
	// earlier states of Key (the feed's change log) must withhold these
	// fields from them too, so that no earlier value stays readable.
	Withheld []string
	// Topic, Partition and Offset locate the source record in the state
	// topic; a channel may use them as an ordering cursor.
	Topic     string
	Partition int
	Offset    int64
}

// Channel receives a subscription's projected events.
//
// Contract:
//   - Deliver returns nil only once the event is accepted durably (written
//     to Kafka, stored in a delivery queue or feed log): after nil the
//     pipeline commits past it and will not offer it again.
//   - An error means "not accepted, offer again": the pipeline redelivers
//     the same event (same EventID) after a pause and delivers nothing
//     later from the same partition until it is accepted. So events of
//     one Key reach Deliver in the state topic's order.
//   - Deliver is called concurrently for different partitions of one
//     subscription and for different subscriptions: it must be safe for
//     concurrent use.
//   - After a restart or rebalance an event may be offered again (same
//     EventID); a channel accepts it again idempotently or passes the
//     duplicate on for the receiver to drop.
//   - ctx ends when the subscription stops (revoked, or the server
//     closing); Deliver should then return promptly with an error.
type Channel interface {
	Deliver(ctx context.Context, sub client.Subscription, ev Event) error
}

// Func adapts a function to Channel.
type Func func(ctx context.Context, sub client.Subscription, ev Event) error

// Deliver calls f.
func (f Func) Deliver(ctx context.Context, sub client.Subscription, ev Event) error {
	return f(ctx, sub, ev)
}

var _ Channel = Func(nil)

// ConvertBatch converts every event of a batch with conv, as a channel
// that stores a batch in one write does before it writes: all or none, so
// on any failure it returns every event's failure at once, each naming the
// event's index and id.
func ConvertBatch[T any](evs []Event, conv func(Event) (T, error)) ([]T, error) {
	out := make([]T, 0, len(evs))
	var errs []error
	for i, ev := range evs {
		v, err := conv(ev)
		if err != nil {
			errs = append(errs, fmt.Errorf("event %d (%s): %w", i, ev.EventID, err))
			continue
		}
		out = append(out, v)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}
