// Package record is the domain of Samnav's master data: records of the
// concepts of the model, their changes, the errors every layer speaks, and
// the Service and Store contracts. It holds no knowledge of HTTP, SQL or
// Kafka. A record and a change are the API's wire types, client.Record
// and client.Change: the typed client is their one home, so what the
// service stores and answers and what a client decodes cannot drift
// apart.
package record

import (
	"context"

	"github.com/samnav/samnav/services/masterdata/client"
)

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
	Records []*client.Record `json:"records"`
	Next    string           `json:"next,omitempty"`
}

// Service is the master data of every concept in the model. Every write
// is validated against the model, authorised for the principal in ctx
// (auth.FromContext), stored with its history row, and published through
// the outbox in one transaction; a refused write changes nothing. Errors
// are *apierr.Error with one of the codes. Implementations are safe for
// concurrent use.
type Service interface {
	// Create stores a new record with a fresh id and revision 1.
	Create(ctx context.Context, concept string, state map[string]any, reason string) (*client.Record, error)
	// Update replaces the state of a record. ifRevision must equal its
	// current revision (0 skips the check); a stale one fails with
	// apierr.CodeConflict wrapping ErrStaleRevision, the record as it
	// is now in the error's "current" extension.
	Update(ctx context.Context, concept, id string, ifRevision int64, state map[string]any, reason string) (*client.Record, error)
	// End ends a record; reason is required. Ending an ended record fails
	// with apierr.CodeConflict.
	End(ctx context.Context, concept, id string, ifRevision int64, reason string) (*client.Record, error)
	// Get returns a record, ended or not.
	Get(ctx context.Context, concept, id string) (*client.Record, error)
	// GetByNaturalKey returns the record whose natural-key attribute has
	// the value.
	GetByNaturalKey(ctx context.Context, concept, attribute, value string) (*client.Record, error)
	// List returns one page of records.
	List(ctx context.Context, concept string, q ListQuery) (*Page, error)
	// History returns every change of a record, oldest first.
	History(ctx context.Context, concept, id string) ([]client.Change, error)
	// Resolve returns the id of the record of concept that id (when not
	// "") or the natural key attribute=value names, for a principal that
	// may write concept: the publish API's upsert. It shows nothing but
	// the id and is not recorded as a read.
	Resolve(ctx context.Context, concept, id, attribute, value string) (string, error)
	// ReadsOf is the read log of one record, oldest first: who was shown
	// it, which fields, under which grant and why. For admins and
	// auditors of the concept (privacy officers).
	ReadsOf(ctx context.Context, concept, id string) ([]client.Read, error)
}
