// Reads: who may read what of a concept, what they are shown, and the
// record every read of personal data leaves.

package record

import (
	"context"
	"fmt"
	"time"

	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/services/masterdata/client"
)

// ReadLog keeps Reads durably. The service records a read before it
// answers: a read that cannot be recorded is not answered.
type ReadLog interface {
	RecordReads(ctx context.Context, reads []client.Read) error
	// ReadsOf returns the reads of one record, oldest first.
	ReadsOf(ctx context.Context, concept, id string) ([]client.Read, error)
}

type reasonKey struct{}

// WithReason returns ctx carrying the purpose a caller gave for its
// request (the Samnav-Reason header).
func WithReason(ctx context.Context, reason string) context.Context {
	return context.WithValue(ctx, reasonKey{}, reason)
}

// ReasonFrom returns the purpose WithReason put in ctx, or "".
func ReasonFrom(ctx context.Context) string {
	s, _ := ctx.Value(reasonKey{}).(string)
	return s
}

// reader is one authorised read of one concept: who, under which grant,
// and whether protected identities are shown.
type reader struct {
	p         *auth.Principal
	concept   *model.Concept
	basis     client.ReadBasis
	reason    string
	protected bool
	// subscription and fields: the approved subscription a subscriber
	// system reads through, and its approved fields (BasisSubscription).
	subscription string
	fields       []string
	// refs resolves protecting references (references.go).
	refs model.ProtectedRefs
}

// authorizeRead decides whether the principal in ctx may read concept and
// how: a steward of the concept, an auditor, the concept's master system,
// an admin (break-glass when it gives a reason), or a subscriber system
// through its approved subscription (subscriptionReader). Protected
// identities are shown only to a grant or subscription approved for them
// and to break-glass reads.
func (s *service) authorizeRead(ctx context.Context, concept string) (*reader, error) {
	c, err := s.concept(concept)
	if err != nil {
		return nil, err
	}
	p := auth.FromContext(ctx)
	if p == nil {
		return nil, apierr.Errorf(apierr.CodeUnauthorized, "reading %s needs an API token", c.ID)
	}
	role, _, ok := p.Basis(c.ID, c.Master)
	if !ok && p.HasRole(auth.RoleSubscriber) {
		r, err := s.subscriptionReader(ctx, p, c)
		if r != nil {
			r.refs = s.protectedRefs(ctx)
		}
		return r, err
	}
	if !ok {
		s.logger.WarnContext(ctx, "read refused", "principal", p.String(), "concept", c.ID)
		return nil, &apierr.Error{Code: apierr.CodeForbidden, Err: auth.ErrForbidden,
			Message: fmt.Sprintf("%s %q has no grant to read %s: a steward or auditor grant, being its master system, or an approved subscription", p.Kind, p.Subject, c.ID)}
	}
	r := &reader{p: p, concept: c, reason: ReasonFrom(ctx), protected: p.ProtectedApproved(c.ID), refs: s.protectedRefs(ctx)}
	switch {
	case role == auth.RoleSteward:
		r.basis = client.BasisSteward
	case role == auth.RoleAuditor:
		r.basis = client.BasisAuditor
	case role == auth.RolePublisher:
		r.basis = client.BasisMaster
	case r.reason != "":
		r.basis, r.protected = client.BasisBreakGlass, true
	default:
		r.basis = client.BasisAdmin
	}
	return r, nil
}

// show returns state as r may see it (shielded attributes withheld from a
// protected identity unless r is approved) and the attributes shown, in
// model order.
func (r *reader) show(state map[string]any) (map[string]any, []string) {
	if r.basis == client.BasisSubscription {
		state, _ = r.concept.Project(state, r.fields, r.protected)
	} else if !r.protected {
		state, _ = r.concept.Shield(state)
	}
	state = r.withholdReferring(state)
	var fields []string
	for _, a := range r.concept.Attributes {
		if _, ok := state[a.Name]; ok {
			fields = append(fields, a.Name)
		}
	}
	return state, fields
}

// records shows recs to r and records the reads, before anything is
// answered, when the concept holds personal data. recs are replaced by
// shown copies; the store's records are not changed.
func (s *service) showRecords(ctx context.Context, r *reader, path client.ReadPath, recs []*client.Record) error {
	reads := make([]client.Read, 0, len(recs))
	for i, rec := range recs {
		if rec == nil || rec.State == nil {
			continue
		}
		shown := *rec
		var fields []string
		shown.State, fields = r.show(rec.State)
		if r.basis == client.BasisSubscription {
			// Free text about the record is not an approved field.
			shown.EndReason = ""
		}
		recs[i] = &shown
		reads = append(reads, r.read(rec, fields, path, s.now()))
	}
	return s.record(ctx, r, reads)
}

func (r *reader) read(rec *client.Record, fields []string, path client.ReadPath, at time.Time) client.Read {
	return client.Read{At: at.UTC(), Subject: r.p.Subject, CredentialID: r.p.CredentialID, System: r.p.System(),
		Basis: r.basis, Subscription: r.subscription, Reason: r.reason, BreakGlass: r.basis == client.BasisBreakGlass,
		Concept: r.concept.ID, RecordID: rec.ID, Fields: fields, Path: path}
}

func (s *service) record(ctx context.Context, r *reader, reads []client.Read) error {
	if len(reads) == 0 || !r.concept.HoldsPersonalData() {
		return nil
	}
	if s.reads == nil {
		return apierr.Errorf(apierr.CodeInternal, "no read log is configured: reads of personal data cannot be recorded")
	}
	if err := s.reads.RecordReads(ctx, reads); err != nil {
		return &apierr.Error{Code: apierr.CodeUnavailable, Message: "the read could not be recorded", Err: err}
	}
	if r.basis == client.BasisBreakGlass {
		s.logger.WarnContext(ctx, "break-glass read", "principal", r.p.String(), "concept", r.concept.ID, "records", len(reads))
	}
	return nil
}

// ReadsOf implements Service.
func (s *service) ReadsOf(ctx context.Context, concept, id string) ([]client.Read, error) {
	c, err := s.concept(concept)
	if err != nil {
		return nil, err
	}
	p := auth.FromContext(ctx)
	if p == nil {
		return nil, apierr.Errorf(apierr.CodeUnauthorized, "the read log needs an API token")
	}
	if !p.Can(auth.ActionAdmin, "") && !p.HasRole(auth.RoleAuditor) {
		return nil, &apierr.Error{Code: apierr.CodeForbidden, Err: auth.ErrForbidden,
			Message: fmt.Sprintf("%s %q may not see the read log of %s: admins and auditors only", p.Kind, p.Subject, c.ID)}
	}
	if _, err := s.store.Get(ctx, concept, id); err != nil {
		return nil, fmt.Errorf("get %s %s: %w", concept, id, err)
	}
	if s.reads == nil {
		return []client.Read{}, nil
	}
	reads, err := s.reads.ReadsOf(ctx, concept, id)
	if err != nil {
		return nil, fmt.Errorf("read log of %s %s: %w", concept, id, err)
	}
	if reads == nil {
		reads = []client.Read{}
	}
	return reads, nil
}
