package subscription

import (
	"context"

	"github.com/samnav/samnav/services/delivery/client"
)

// Filter selects subscriptions for List; zero fields match everything.
type Filter struct {
	System  string
	Concept string
	Status  client.Status
	// After selects only subscriptions whose id sorts after it: the
	// position of the next page.
	After string
	// Limit is the page size: at most Limit subscriptions, 0 meaning all
	// for a Store and DefaultPageSize for Service.List.
	Limit int
}

// Page sizes of Service.List.
const (
	DefaultPageSize = 100
	MaxPageSize     = client.MaxPage
)

// Store keeps subscriptions and their history. Implementations are safe
// for concurrent use.
type Store interface {
	// Create stores a new subscription s (Version 1) and its first
	// history entry ch in one transaction. An existing ID is ErrConflict.
	Create(ctx context.Context, s client.Subscription, ch client.SubscriptionChange) error
	// Get returns the subscription, or an error wrapping ErrNotFound.
	Get(ctx context.Context, id string) (client.Subscription, error)
	// List returns the subscriptions matching f in the order of their
	// ids, after f.After and at most f.Limit of them when set.
	List(ctx context.Context, f Filter) ([]client.Subscription, error)
	// Update runs fn on the current subscription inside a transaction.
	// fn returns the changed subscription and the history entry to
	// append; Update stores both with Version+1, or nothing if fn fails
	// (its error returned as is). If the subscription changed between
	// read and write, Update fails with ErrConflict and stores nothing.
	Update(ctx context.Context, id string, fn func(client.Subscription) (client.Subscription, client.SubscriptionChange, error)) (client.Subscription, error)
	// History returns the subscription's changes, oldest first, or an
	// error wrapping ErrNotFound.
	History(ctx context.Context, id string) ([]client.SubscriptionChange, error)
}
