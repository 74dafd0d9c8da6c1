// Reads by subscriber systems: through an approved subscription, which
// the delivery service keeps.

package record

import (
	"context"
	"fmt"
	"slices"

	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/services/masterdata/client"
)

// SubscriptionApproved is the one status under which a subscription
// reads (and delivers).
const SubscriptionApproved = "approved"

// Subscription is what master data needs to know of one system's
// subscription to one concept to decide a read through it.
type Subscription struct {
	ID      string
	System  string
	Concept string
	// Status is the delivery service's: only SubscriptionApproved reads.
	Status string
	// ApprovedFields are the top-level attributes it may read.
	ApprovedFields []string
	// ProtectedApproved: the owner approved it for the shielded attributes
	// of protected identities.
	ProtectedApproved bool
}

// Subscriptions tells master data which subscriptions a system holds.
// The delivery service keeps them; an implementation asks it (see
// masterdata.DeliverySubscriptions). It must be safe for concurrent use.
type Subscriptions interface {
	// Of returns system's subscriptions to concept, whatever their status
	// (none is an empty slice, not an error). An error means they could
	// not be learnt: the read is not answered.
	Of(ctx context.Context, system, concept string) ([]Subscription, error)
}

// subscriptionReader authorises a subscriber system's read of c through
// its approved subscription: the approved fields, shielded attributes of
// protected identities only when the subscription is approved for them.
// It refuses (403) a system with none, or with only a requested, rejected
// or revoked one, naming which.
func (s *service) subscriptionReader(ctx context.Context, p *auth.Principal, c *model.Concept) (*reader, error) {
	system := p.System()
	refuse := func(msg string) error {
		s.logger.WarnContext(ctx, "read refused", "principal", p.String(), "concept", c.ID, "basis", string(client.BasisSubscription))
		return &apierr.Error{Code: apierr.CodeForbidden, Err: auth.ErrForbidden, Message: msg}
	}
	if s.subs == nil {
		return nil, refuse(fmt.Sprintf("system %q reads %s only through an approved subscription, and this service does not know the subscriptions (no delivery service is connected)", system, c.ID))
	}
	subs, err := s.subs.Of(ctx, system, c.ID)
	if err != nil {
		return nil, &apierr.Error{Code: apierr.CodeUnavailable, Message: "the subscriptions could not be read from the delivery service", Err: err}
	}
	var other *Subscription
	for i, sub := range subs {
		if sub.System != system || sub.Concept != c.ID {
			continue
		}
		if sub.Status == SubscriptionApproved {
			return &reader{p: p, concept: c, basis: client.BasisSubscription, reason: ReasonFrom(ctx),
				protected: sub.ProtectedApproved, subscription: sub.ID, fields: slices.Clone(sub.ApprovedFields)}, nil
		}
		other = &subs[i]
	}
	if other != nil {
		return nil, refuse(fmt.Sprintf("subscription %s of system %q to %s is %s: only an approved subscription reads", other.ID, system, c.ID, other.Status))
	}
	return nil, refuse(fmt.Sprintf("system %q has no approved subscription to %s: a subscriber system reads only through one", system, c.ID))
}

// mayUse reports whether r may select records by attribute (a filter, a
// natural-key lookup, a search field): a subscription only by the
// attributes it is approved for, so that it learns nothing of the others
// by what matches; and by a shielded attribute only when approved for
// protected identities, so that matching an address does not reveal that
// a protected person lives there.
func (r *reader) mayUse(attribute string) bool {
	if r.basis != client.BasisSubscription {
		return true
	}
	a := r.concept.Attribute(attribute)
	return a != nil && slices.Contains(r.fields, attribute) && (!a.Shielded || r.protected)
}

// notApproved is the error for selecting by an attribute the reader may
// not use (mayUse).
func notApproved(attribute string) *apierr.Error {
	return &apierr.Error{Code: apierr.CodeForbidden, Message: "the query selects by an attribute the reader is not approved for",
		Fields: []apierr.FieldError{{Field: attribute, Rule: "not-approved", Message: "the subscription is not approved for this attribute (or, being shielded, for protected identities)"}}}
}
