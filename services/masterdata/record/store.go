package record

import (
	"context"

	"github.com/samnav/samnav/services/masterdata/client"
)

// Store keeps records, their natural keys and their history. Every write
// commits the record, its change row and its outbox events in one
// transaction, or nothing. Implementations are safe for concurrent use;
// storetest.Run is the suite every implementation passes.
type Store interface {
	// Create stores rec (Revision 1) and ch. A natural-key value already
	// held by another record fails with apierr.CodeConflict naming the attribute.
	Create(ctx context.Context, rec *client.Record, ch *client.Change) error
	// Update loads the record and calls fn with a copy; the record fn
	// returns is stored with Revision+1 together with the change fn
	// filled in, which the store completes (Seq, Revision, State). An
	// error from fn is returned as is and nothing is stored. Unknown ids
	// fail with apierr.CodeNotFound.
	Update(ctx context.Context, concept, id string, fn func(r *client.Record, ch *client.Change) (*client.Record, error)) (*client.Record, error)
	// Get returns a record; unknown ids fail with apierr.CodeNotFound.
	Get(ctx context.Context, concept, id string) (*client.Record, error)
	// GetByNaturalKey returns the record holding the natural-key value.
	GetByNaturalKey(ctx context.Context, concept, attribute, value string) (*client.Record, error)
	// List returns a page of records in id order.
	List(ctx context.Context, concept string, q ListQuery) (*Page, error)
	// History returns the changes of a record, oldest first.
	History(ctx context.Context, concept, id string) ([]client.Change, error)
	// Republish hands the current state of up to limit records of concept
	// with ids after after, in id order, to the outbox in one transaction
	// and returns the last id handed over ("" when there were none).
	Republish(ctx context.Context, concept, after string, limit int) (last string, n int, err error)
}

// Transactor is a Store that can run several writes in one transaction
// (sqlstore.Store is one). InTx calls fn with a Store whose writes join
// one transaction that commits, with every change row and outbox event in
// the order of the writes, only if fn returns nil; if fn or the commit
// fails nothing fn wrote is kept. Reads through st see fn's earlier
// writes. st is valid only until fn returns.
type Transactor interface {
	InTx(ctx context.Context, fn func(st Store) error) error
}
