package masterdata

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	dlclient "github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/masterdata/record"
)

// DefaultSubscriptionsTTL is how long DeliverySubscriptions keeps what it
// learnt of one system's subscriptions to one concept: the longest a
// revocation or narrowing takes to reach API reads.
const DefaultSubscriptionsTTL = 5 * time.Second

// DeliverySubscriptions learns subscriber systems' subscriptions from the
// delivery service, which keeps them, through its API with master data's
// own token (a principal that may read every subscription: an auditor
// grant). Each answer is kept TTL, so a system paging through a list asks
// delivery once, not once a page, and a revocation reaches API reads
// within TTL. It is safe for concurrent use.
//
// Delivery often starts after master data (it may run in the same
// process, on the same token store): Connect gives it the client once
// delivery is reachable; until then a subscriber's read is unavailable.
type DeliverySubscriptions struct {
	// TTL is how long an answer is kept; 0 means DefaultSubscriptionsTTL,
	// negative means not at all.
	TTL time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu     sync.Mutex
	client *dlclient.Client
	cache  map[subscriptionsKey]cachedSubscriptions
}

var _ record.Subscriptions = (*DeliverySubscriptions)(nil)

type subscriptionsKey struct{ system, concept string }

type cachedSubscriptions struct {
	subs    []record.Subscription
	expires time.Time
}

// NewDeliverySubscriptions returns a DeliverySubscriptions asking c (nil:
// Connect it later).
func NewDeliverySubscriptions(c *dlclient.Client) *DeliverySubscriptions {
	return &DeliverySubscriptions{client: c}
}

// Connect sets the delivery client and forgets what was learnt.
func (d *DeliverySubscriptions) Connect(c *dlclient.Client) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.client, d.cache = c, nil
}

// errNotConnected: no delivery client yet.
var errNotConnected = errors.New("the delivery service is not connected")

// Of implements record.Subscriptions.
func (d *DeliverySubscriptions) Of(ctx context.Context, system, concept string) ([]record.Subscription, error) {
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	key := subscriptionsKey{system, concept}
	d.mu.Lock()
	c := d.client
	if hit, ok := d.cache[key]; ok && now().Before(hit.expires) {
		d.mu.Unlock()
		return hit.subs, nil
	}
	d.mu.Unlock()
	if c == nil {
		return nil, errNotConnected
	}
	all, err := c.All(ctx, dlclient.Filter{System: system, Concept: concept})
	if err != nil {
		return nil, fmt.Errorf("list subscriptions of %s to %s: %w", system, concept, err)
	}
	subs := make([]record.Subscription, 0, len(all))
	for _, s := range all {
		subs = append(subs, record.Subscription{ID: s.ID, System: s.System, Concept: s.Concept, Status: s.Status,
			ApprovedFields: s.ApprovedFields, ProtectedApproved: s.ProtectedApproved})
	}
	ttl := d.TTL
	if ttl == 0 {
		ttl = DefaultSubscriptionsTTL
	}
	if ttl > 0 {
		d.mu.Lock()
		if d.client == c { // not reconnected meanwhile
			if d.cache == nil {
				d.cache = map[subscriptionsKey]cachedSubscriptions{}
			}
			d.cache[key] = cachedSubscriptions{subs: subs, expires: now().Add(ttl)}
		}
		d.mu.Unlock()
	}
	return subs, nil
}
