// Package record is the domain of Samnav's master data: records of the
// concepts of the model, their changes, the errors every layer speaks, and
// the Service and Store contracts. It holds no knowledge of HTTP, SQL or
// Kafka.
package record

import (
	"context"
	"time"
)

// Record is one master record of a concept. It is keyed by an opaque,
// stable id (a UUIDv7 assigned by the hub) that never carries meaning.
type Record struct {
	Concept string `json:"concept"`
	ID      string `json:"id"`
	// Revision starts at 1 and grows by one with every change; it is the
	// record's ETag and what an update's If-Match must name.
	Revision int64 `json:"revision"`
	// State is the record's attributes, shaped as validated JSON (see
	// model.Concept.Validate), without "id". Nil for an erased record.
	State map[string]any `json:"state"`
	// EndedAt is set once the record is ended; an ended record is kept,
	// with its history, and is still published (see package event).
	EndedAt   *time.Time `json:"endedAt,omitempty"`
	EndReason string     `json:"endReason,omitempty"`
	CreatedAt time.Time  `json:"createdAt"`
	UpdatedAt time.Time  `json:"updatedAt"`
}

// Clone returns a deep copy of r, so an update closure may change it freely.
func (r *Record) Clone() *Record {
	if r == nil {
		return nil
	}
	c := *r
	c.State = cloneMap(r.State)
	if r.EndedAt != nil {
		t := *r.EndedAt
		c.EndedAt = &t
	}
	return &c
}

func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return cloneMap(x)
	case []any:
		l := make([]any, len(x))
		for i := range x {
			l[i] = cloneValue(x[i])
		}
		return l
	}
	return v
}

// Kind is what a change did.
type Kind string

const (
	KindCreated Kind = "created"
	KindUpdated Kind = "updated"
	KindEnded   Kind = "ended"
	KindErased  Kind = "erased"
	// KindResynced marks no change in the store; it is the kind of the
	// events Resync republishes.
	KindResynced Kind = "resynced"
)

// Actor is who made a change and through which system: the principal's
// subject and credential (token id), and the system the change came
// through ("samnav" for the hub's own API and console, otherwise the
// external master system that published it).
type Actor struct {
	Subject      string `json:"subject"`
	CredentialID string `json:"credentialId,omitempty"`
	System       string `json:"system"`
}

// Change is one entry of a record's history.
type Change struct {
	// Seq orders the changes of one store; it is assigned on commit.
	Seq      int64     `json:"seq"`
	Concept  string    `json:"concept"`
	RecordID string    `json:"recordId"`
	Revision int64     `json:"revision"`
	Kind     Kind      `json:"kind"`
	At       time.Time `json:"at"`
	Actor    Actor     `json:"actor"`
	Reason   string    `json:"reason,omitempty"`
	// EventID is the id of the event published for the change (ce_id), by
	// which consumers deduplicate.
	EventID string `json:"eventId"`
	// State is the record's state after the change; nil after erasure
	// (erasure also removes it from every earlier change).
	State map[string]any `json:"state"`
	// TraceParent is the W3C traceparent of the request that made the
	// change, carried to its event; "" when there was none.
	TraceParent string `json:"traceParent,omitempty"`
}

// ListQuery selects records of one concept.
type ListQuery struct {
	// Filter keeps records whose top-level attribute equals the value
	// (compared as text).
	Filter map[string]string
	// Search keeps records any of whose text attributes (SearchFields)
	// contains Search, ignoring case.
	Search       string
	SearchFields []string
	// IncludeEnded lists ended records too; by default they are left out.
	IncludeEnded bool
	// After is the id of the last record of the previous page ("" for the
	// first page); records come in id order.
	After string
	// Limit is the page size, at least 1.
	Limit int
}

// Page is one page of records, and the cursor of the next page ("" when
// this is the last).
type Page struct {
	Records []*Record `json:"records"`
	Next    string    `json:"next,omitempty"`
}

// Service is the master data of every concept in the model. Every write
// is validated against the model, authorised for the principal in ctx
// (auth.FromContext), stored with its history row, and published through
// the outbox in one transaction; a refused write changes nothing. Errors
// are *apierr.Error with one of the codes. Implementations are safe for
// concurrent use.
type Service interface {
	// Create stores a new record with a fresh id and revision 1.
	Create(ctx context.Context, concept string, state map[string]any, reason string) (*Record, error)
	// Update replaces the state of a record. ifRevision must equal its
	// current revision (0 skips the check); a stale one fails with
	// apierr.CodeConflict wrapping ErrStaleRevision, the record as it
	// is now in the error's "current" extension.
	Update(ctx context.Context, concept, id string, ifRevision int64, state map[string]any, reason string) (*Record, error)
	// End ends a record; reason is required. Ending an ended record fails
	// with apierr.CodeConflict.
	End(ctx context.Context, concept, id string, ifRevision int64, reason string) (*Record, error)
	// Get returns a record, ended or not.
	Get(ctx context.Context, concept, id string) (*Record, error)
	// GetByNaturalKey returns the record whose natural-key attribute has
	// the value.
	GetByNaturalKey(ctx context.Context, concept, attribute, value string) (*Record, error)
	// List returns one page of records.
	List(ctx context.Context, concept string, q ListQuery) (*Page, error)
	// History returns every change of a record, oldest first.
	History(ctx context.Context, concept, id string) ([]Change, error)
}
