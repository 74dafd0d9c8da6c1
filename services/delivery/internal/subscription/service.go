package subscription

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/services/delivery/client"
)

// Service is the subscription API. Every method takes the caller's
// principal from ctx (auth.FromContext) and enforces who may do what:
//   - a system (a principal with a publisher grant, or of kind system)
//     requests, reads and revokes its own subscriptions;
//   - the concept's information owner (auth.RoleOwner with the concept,
//     i.e. auth.ActionApprove on it) reads, approves, narrows, rejects and
//     revokes the concept's subscriptions;
//   - an admin does everything, including deciding requests on behalf of
//     the concept's information owner;
//   - an auditor reads everything.
type Service interface {
	Request(ctx context.Context, r client.Request) (client.Subscription, error)
	Get(ctx context.Context, id string) (client.Subscription, error)
	// List returns a page of the subscriptions matching f that the
	// caller may read, in the order of their ids: f.Limit of them
	// (DefaultPageSize when 0, at most MaxPageSize) after f.After.
	List(ctx context.Context, f Filter) (client.SubscriptionPage, error)
	History(ctx context.Context, id string) ([]client.SubscriptionChange, error)
	// Approve approves a requested subscription, or changes an approved
	// one, with d.Fields (a subset of the requested fields; empty means
	// all requested) and d.ProtectedIdentities (only if requested).
	Approve(ctx context.Context, id string, d client.Decision) (client.Subscription, error)
	Reject(ctx context.Context, id string, reason string) (client.Subscription, error)
	// Revoke stops an approved or requested subscription for good.
	Revoke(ctx context.Context, id string, reason string) (client.Subscription, error)
}

// Bases lists the lawful bases of GDPR article 6(1).
var Bases = []client.Basis{client.BasisConsent, client.BasisContract, client.BasisLegalObligation, client.BasisVitalInterests, client.BasisPublicTask, client.BasisLegitimateInterests}

// Channels lists the channel kinds.
var Channels = []client.ChannelKind{client.ChannelKafka, client.ChannelWebhook, client.ChannelFeed}

// ServiceOptions configures NewService.
type ServiceOptions struct {
	// OnChange, if set, is called after every committed change (the
	// delivery pipeline starts and stops consumers on it).
	OnChange func(client.Subscription)
	Now      func() time.Time
}

type service struct {
	store Store
	model *model.Model
	opts  ServiceOptions
}

// NewService returns the Service on store for the concepts of m.
func NewService(store Store, m *model.Model, opts ServiceOptions) Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &service{store: store, model: m, opts: opts}
}

var _ Service = (*service)(nil)

// SystemOf returns the system a principal speaks for, or "": its
// publisher or subscriber grant's system, else a system principal's
// subject. It is the one rule by which every route of delivery (the
// subscription API, webhook endpoints, the feed, recent deliveries)
// tells a system's own subscriptions from another's.
func SystemOf(p *auth.Principal) string {
	if s := p.System(); s != "" {
		return s
	}
	if p != nil && p.Kind == auth.KindSystem {
		return p.Subject
	}
	return ""
}

func isAdmin(p *auth.Principal) bool { return p.Can(auth.ActionAdmin, "") }

func actor(p *auth.Principal) string { return p.Subject }

func caller(ctx context.Context) (*auth.Principal, error) {
	p := auth.FromContext(ctx)
	if p == nil {
		return nil, apierr.Errorf(apierr.CodeUnauthorized, "this operation needs an API token")
	}
	return p, nil
}

func (s *service) Request(ctx context.Context, r client.Request) (client.Subscription, error) {
	p, err := caller(ctx)
	if err != nil {
		return client.Subscription{}, err
	}
	own := SystemOf(p)
	if r.System == "" {
		r.System = own
	}
	if !isAdmin(p) && (own == "" || r.System != own) {
		return client.Subscription{}, apierr.Errorf(apierr.CodeForbidden, "%s %q may request subscriptions only for its own system", p.Kind, p.Subject)
	}
	c := s.model.Concept(r.Concept)
	var fields []apierr.FieldError
	add := func(field, rule, msg string) {
		fields = append(fields, apierr.FieldError{Field: field, Rule: rule, Message: msg})
	}
	if strings.TrimSpace(r.System) == "" {
		add("system", "required", "the subscribing system's id is required")
	}
	if c == nil {
		add("concept", "reference", fmt.Sprintf("%q is not a concept of the model", r.Concept))
	}
	if strings.TrimSpace(r.Purpose) == "" {
		add("purpose", "required", "what the system uses the data for is required")
	}
	if !slices.Contains(Bases, r.LegalBasis.Basis) {
		add("legalBasis.basis", "enum", fmt.Sprintf("must be one of %v", Bases))
	}
	if strings.TrimSpace(r.LegalBasis.Reference) == "" {
		add("legalBasis.reference", "required", "the law, regulation or decision the basis rests on is required")
	}
	if !slices.Contains(Channels, r.Channel) {
		add("channel", "enum", fmt.Sprintf("must be one of %v", Channels))
	}
	if len(r.Fields) == 0 {
		add("fields", "required", "at least one attribute is required")
	}
	if c != nil {
		for _, f := range r.Fields {
			if c.Attribute(f) == nil {
				add("fields", "reference", fmt.Sprintf("%q is not an attribute of %s", f, c.ID))
			}
		}
	}
	if len(fields) > 0 {
		return client.Subscription{}, apierr.Invalid("invalid subscription request", fields...)
	}
	now := s.opts.Now().UTC()
	sub := client.Subscription{ID: uuid.Must(uuid.NewV7()).String(), System: r.System, Concept: c.ID, Major: c.Major, Purpose: r.Purpose,
		LegalBasis: r.LegalBasis, Channel: r.Channel, RequestedFields: inModelOrder(c, r.Fields), ProtectedIdentities: r.ProtectedIdentities,
		Status: client.StatusRequested, Version: 1, CreatedAt: now, UpdatedAt: now}
	ch := client.SubscriptionChange{At: now, Actor: actor(p), Action: client.ActionRequested, Reason: r.Reason, After: sub}
	if err := s.store.Create(ctx, sub, ch); err != nil {
		return client.Subscription{}, s.storeErr(err, sub.ID)
	}
	s.changed(sub)
	return sub, nil
}

func inModelOrder(c *model.Concept, fields []string) []string {
	out := make([]string, 0, len(fields))
	for _, a := range c.Attributes {
		if slices.Contains(fields, a.Name) {
			out = append(out, a.Name)
		}
	}
	return out
}

func (s *service) changed(sub client.Subscription) {
	if s.opts.OnChange != nil {
		s.opts.OnChange(sub)
	}
}

func (s *service) storeErr(err error, id string) error {
	switch {
	case errors.Is(err, ErrNotFound):
		return &apierr.Error{Code: apierr.CodeNotFound, Message: fmt.Sprintf("subscription %q not found", id), Err: err}
	case errors.Is(err, ErrConflict):
		return &apierr.Error{Code: apierr.CodeConflict, Message: fmt.Sprintf("subscription %q changed concurrently; retry", id), Err: err}
	}
	if _, ok := errors.AsType[*apierr.Error](err); ok {
		return err
	}
	return &apierr.Error{Code: apierr.CodeUnavailable, Message: "subscription store", Err: err}
}

// Readable reports whether p may read sub: an admin, a reader of its
// concept who is not only a publisher (steward, auditor), the concept's
// information owner, and the subscribing system. To anyone else a
// subscription does not exist: the routes on one answer 404, not 403,
// so that another system's subscription ids and system names do not leak.
func Readable(p *auth.Principal, sub client.Subscription) bool {
	return isAdmin(p) || p.Can(auth.ActionRead, sub.Concept) && !hasOnlyPublisher(p) || SystemOf(p) == sub.System ||
		p.Can(auth.ActionApprove, sub.Concept)
}

// hasOnlyPublisher: a publisher grant allows reading master data, not
// other systems' subscriptions.
func hasOnlyPublisher(p *auth.Principal) bool {
	for _, g := range p.Grants {
		if g.Role != auth.RolePublisher {
			return false
		}
	}
	return true
}

func (s *service) Get(ctx context.Context, id string) (client.Subscription, error) {
	p, err := caller(ctx)
	if err != nil {
		return client.Subscription{}, err
	}
	sub, err := s.store.Get(ctx, id)
	if err != nil {
		return client.Subscription{}, s.storeErr(err, id)
	}
	if !Readable(p, sub) {
		// Not found, not forbidden: another system's subscriptions are
		// not its business, not even their ids.
		return client.Subscription{}, apierr.Errorf(apierr.CodeNotFound, "subscription %q not found", id)
	}
	return sub, nil
}

func (s *service) List(ctx context.Context, f Filter) (client.SubscriptionPage, error) {
	p, err := caller(ctx)
	if err != nil {
		return client.SubscriptionPage{}, err
	}
	if f.Limit == 0 {
		f.Limit = DefaultPageSize
	}
	if f.Limit < 1 || f.Limit > MaxPageSize {
		return client.SubscriptionPage{}, apierr.InvalidField("limit", "range", fmt.Sprintf("must be between 1 and %d", MaxPageSize))
	}
	// The store pages by id; what the caller may not read is left out,
	// so read on until the page is full or the store has no more.
	limit := f.Limit
	page := client.SubscriptionPage{Subscriptions: []client.Subscription{}}
	for {
		f.Limit = limit + 1
		subs, err := s.store.List(ctx, f)
		if err != nil {
			return client.SubscriptionPage{}, s.storeErr(err, "")
		}
		for i, sub := range subs {
			if i == limit {
				break
			}
			f.After = sub.ID
			if !Readable(p, sub) {
				continue
			}
			if len(page.Subscriptions) == limit {
				// A readable one beyond the page: there is a next page.
				page.Next = page.Subscriptions[limit-1].ID
				return page, nil
			}
			page.Subscriptions = append(page.Subscriptions, sub)
		}
		if len(subs) <= limit {
			return page, nil
		}
	}
}

func (s *service) History(ctx context.Context, id string) ([]client.SubscriptionChange, error) {
	if _, err := s.Get(ctx, id); err != nil {
		return nil, err
	}
	h, err := s.store.History(ctx, id)
	if err != nil {
		return nil, s.storeErr(err, id)
	}
	return h, nil
}

func (s *service) decide(ctx context.Context, id string, mayDo func(*auth.Principal, client.Subscription) bool, fn func(client.Subscription) (client.Subscription, client.Action, error), reason string) (client.Subscription, error) {
	p, err := caller(ctx)
	if err != nil {
		return client.Subscription{}, err
	}
	if strings.TrimSpace(reason) == "" {
		return client.Subscription{}, &apierr.Error{Code: apierr.CodeInvalid, Message: "a decision needs a reason", Fields: []apierr.FieldError{{Field: "reason", Rule: "required", Message: "why, for the history, is required"}}}
	}
	sub, err := s.store.Update(ctx, id, func(cur client.Subscription) (client.Subscription, client.SubscriptionChange, error) {
		if !mayDo(p, cur) {
			if Readable(p, cur) {
				return cur, client.SubscriptionChange{}, apierr.Errorf(apierr.CodeForbidden, "%s %q may not decide subscription %q", p.Kind, p.Subject, id)
			}
			return cur, client.SubscriptionChange{}, apierr.Errorf(apierr.CodeNotFound, "subscription %q not found", id)
		}
		next, action, err := fn(cur)
		if err != nil {
			return cur, client.SubscriptionChange{}, err
		}
		next.UpdatedAt = s.opts.Now().UTC()
		return next, client.SubscriptionChange{At: next.UpdatedAt, Actor: actor(p), Action: action, Reason: reason}, nil
	})
	if err != nil {
		return client.Subscription{}, s.storeErr(err, id)
	}
	s.changed(sub)
	return sub, nil
}

// owner: the concept's information owner (or an admin, whose grant
// allows every action) decides.
func owner(p *auth.Principal, cur client.Subscription) bool {
	return p.Can(auth.ActionApprove, cur.Concept)
}

func (s *service) Approve(ctx context.Context, id string, d client.Decision) (client.Subscription, error) {
	return s.decide(ctx, id, owner, func(cur client.Subscription) (client.Subscription, client.Action, error) {
		if cur.Status != client.StatusRequested && cur.Status != client.StatusApproved {
			return cur, "", apierr.Errorf(apierr.CodeConflict, "subscription %q is %s: it cannot be approved", id, cur.Status)
		}
		fields := d.Fields
		if len(fields) == 0 {
			fields = cur.RequestedFields
		}
		for _, f := range fields {
			if !slices.Contains(cur.RequestedFields, f) {
				return cur, "", &apierr.Error{Code: apierr.CodeInvalid, Message: "approved fields must be requested fields",
					Fields: []apierr.FieldError{{Field: "fields", Rule: "requested", Message: fmt.Sprintf("%q was not requested", f)}}}
			}
		}
		if d.ProtectedIdentities && !cur.ProtectedIdentities {
			return cur, "", &apierr.Error{Code: apierr.CodeInvalid, Message: "protected identities were not requested",
				Fields: []apierr.FieldError{{Field: "protectedIdentities", Rule: "requested", Message: "may be approved only when requested"}}}
		}
		action := client.ActionApproved
		switch {
		case cur.Status == client.StatusApproved:
			action = client.ActionChanged
		case len(fields) < len(cur.RequestedFields) || cur.ProtectedIdentities && !d.ProtectedIdentities:
			action = client.ActionNarrowed
		}
		next := cur
		next.ApprovedFields = slices.Clone(fields)
		next.ProtectedApproved = d.ProtectedIdentities
		next.Status = client.StatusApproved
		return next, action, nil
	}, d.Reason)
}

func (s *service) Reject(ctx context.Context, id string, reason string) (client.Subscription, error) {
	return s.decide(ctx, id, owner, func(cur client.Subscription) (client.Subscription, client.Action, error) {
		if cur.Status != client.StatusRequested {
			return cur, "", apierr.Errorf(apierr.CodeConflict, "subscription %q is %s: only a request can be rejected (revoke an approved one)", id, cur.Status)
		}
		next := cur
		next.Status = client.StatusRejected
		return next, client.ActionRejected, nil
	}, reason)
}

func (s *service) Revoke(ctx context.Context, id string, reason string) (client.Subscription, error) {
	own := func(p *auth.Principal, cur client.Subscription) bool {
		return owner(p, cur) || SystemOf(p) == cur.System
	}
	return s.decide(ctx, id, own, func(cur client.Subscription) (client.Subscription, client.Action, error) {
		if cur.Status != client.StatusRequested && cur.Status != client.StatusApproved {
			return cur, "", apierr.Errorf(apierr.CodeConflict, "subscription %q is already %s", id, cur.Status)
		}
		next := cur
		next.Status = client.StatusRevoked
		return next, client.ActionRevoked, nil
	}, reason)
}
