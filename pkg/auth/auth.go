// Package auth decides who is calling a Samnav API and what they may do.
//
// Every service asks an Authenticator for the Principal behind a request and
// asks the Principal whether it may perform an action on a concept. Today
// principals come from API tokens (for systems and for people); an OIDC
// single-sign-on Authenticator can be added beside the token one, through
// Chain, without changing any service: services see only Principals.
package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/samnav/samnav/pkg/sdk/apierr"
)

// Role is what a principal is trusted to do.
type Role string

const (
	// RoleAdmin may do everything, including managing tokens.
	RoleAdmin Role = "admin"
	// RoleSteward keeps the master data of the concepts named in its
	// grant: create, correct, end, import.
	RoleSteward Role = "steward"
	// RolePublisher is an external master system publishing changes of the
	// concepts it is the designated master of. Its grant names the system.
	RolePublisher Role = "publisher"
	// RoleAuditor reads everything, including history and audit trails,
	// and changes nothing.
	RoleAuditor Role = "auditor"
	// RoleOwner is the information owner (informationsägare) of the
	// concepts named in its grant: decides which systems may receive them
	// (ActionApprove), and nothing else.
	RoleOwner Role = "owner"
	// RoleSubscriber is a business system that receives data through its
	// own approved subscriptions. Its grant names the system. It may ask
	// for subscriptions and read its own deliveries (decided by the
	// delivery service from System()); it holds no Action on master data.
	RoleSubscriber Role = "subscriber"
)

// Roles lists every role, for validation and documentation.
var Roles = []Role{RoleAdmin, RoleSteward, RolePublisher, RoleAuditor, RoleOwner, RoleSubscriber}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// Action is something a principal may be allowed to do.
type Action string

const (
	// ActionRead reads records and their history.
	ActionRead Action = "read"
	// ActionWrite creates, changes or ends records of a concept.
	ActionWrite Action = "write"
	// ActionPublish publishes changes as a concept's master system.
	ActionPublish Action = "publish"
	// ActionAdmin manages tokens, schemas and configuration.
	ActionAdmin Action = "admin"
	// ActionApprove decides who receives a concept: approves, narrows or
	// rejects subscriptions to it.
	ActionApprove Action = "approve"
)

// AnyConcept in a grant's Concepts means every concept.
const AnyConcept = "*"

// Grant gives a role, limited to some concepts where the role is about
// concepts (steward), or to one system (publisher).
type Grant struct {
	Role Role `json:"role"`
	// Concepts limits a steward or owner grant; AnyConcept means all.
	// Ignored for other roles.
	Concepts []string `json:"concepts,omitempty"`
	// System is the system id a publisher grant speaks for; it must be the
	// concept's designated master for a publish to be allowed.
	System string `json:"system,omitempty"`
	// ProtectedIdentities approves a steward or auditor grant for the
	// shielded attributes (address, contacts) of protected identities;
	// without it every read withholds them.
	ProtectedIdentities bool `json:"protectedIdentities,omitempty"`
}

// Validate reports every problem with the grant, naming the field and rule.
func (g Grant) Validate() error {
	var errs []error
	if !g.Role.Valid() {
		errs = append(errs, fmt.Errorf("role %q: must be one of %v", g.Role, Roles))
	}
	if g.Role == RoleSteward && len(g.Concepts) == 0 {
		errs = append(errs, errors.New("concepts: a steward grant must name at least one concept (or \"*\")"))
	}
	if g.Role == RoleOwner && len(g.Concepts) == 0 {
		errs = append(errs, errors.New("concepts: an owner grant must name at least one concept (or \"*\")"))
	}
	if (g.Role == RolePublisher || g.Role == RoleSubscriber) && strings.TrimSpace(g.System) == "" {
		errs = append(errs, fmt.Errorf("system: a %s grant must name the system it acts for", g.Role))
	}
	if g.ProtectedIdentities && g.Role != RoleSteward && g.Role != RoleAuditor {
		errs = append(errs, fmt.Errorf("protectedIdentities: only a steward or auditor grant may be approved for protected identities, not %s", g.Role))
	}
	for _, c := range g.Concepts {
		if strings.TrimSpace(c) == "" {
			errs = append(errs, errors.New("concepts: must not contain an empty name"))
		}
	}
	return errors.Join(errs...)
}

// Kind tells people from systems, for audit trails.
type Kind string

const (
	KindUser   Kind = "user"
	KindSystem Kind = "system"
)

// Principal is an authenticated caller.
type Principal struct {
	// Subject identifies the caller stably: a user name, a system id, or an
	// OIDC subject.
	Subject string
	Kind    Kind
	// Name is for display in consoles and audit trails.
	Name   string
	Grants []Grant
	// CredentialID names the credential used (a token id), so an audit
	// entry can say which token made a change. Never the secret itself.
	CredentialID string
}

// Can reports whether p may perform action on concept. concept may be "" for
// actions that are not about one concept (admin).
func (p *Principal) Can(action Action, concept string) bool {
	if p == nil {
		return false
	}
	for _, g := range p.Grants {
		if g.allows(action, concept) {
			return true
		}
	}
	return false
}

// System returns the system id p acts for (its publisher or subscriber
// grant's), or "" if it holds neither. An external master's writes, and a
// subscriber's subscriptions, are attributed to it.
func (p *Principal) System() string {
	if p == nil {
		return ""
	}
	for _, g := range p.Grants {
		if g.Role == RolePublisher || g.Role == RoleSubscriber {
			return g.System
		}
	}
	return ""
}

func (g Grant) allows(action Action, concept string) bool {
	switch g.Role {
	case RoleAdmin:
		return true
	case RoleAuditor:
		return action == ActionRead
	case RoleSteward:
		return (action == ActionRead || action == ActionWrite) &&
			(slices.Contains(g.Concepts, AnyConcept) || slices.Contains(g.Concepts, concept))
	case RoleOwner:
		return action == ActionApprove && (slices.Contains(g.Concepts, AnyConcept) || slices.Contains(g.Concepts, concept))
	case RolePublisher:
		// Whether the system is the concept's master is the service's
		// decision (the model knows the master); the grant allows trying.
		// A publisher reads only what it masters: CanRead.
		return action == ActionPublish
	}
	return false
}

// CanRead reports whether p may read records of concept, whose master
// system (from the model) is master: the read grant of an admin, auditor
// or the concept's steward, or a publisher grant of the master system. A
// master system reads what it masters and nothing else.
func (p *Principal) CanRead(concept, master string) bool {
	_, _, ok := p.Basis(concept, master)
	return ok
}

// Basis returns the grant under which p reads records of concept, whose
// master system (from the model) is master, and that grant's role: a
// steward grant covering concept, else an auditor grant, else a publisher
// grant of the master system, else an admin grant. ok is false when none
// lets p read concept (an owner or subscriber grant never does: a
// subscriber reads only through an approved subscription, which the
// service holding the subscriptions decides).
//
// This is the one place that says which grant covers a read; the order is
// the most specific grant first, so a read log names the narrowest basis.
func (p *Principal) Basis(concept, master string) (role Role, grant Grant, ok bool) {
	if p == nil {
		return "", Grant{}, false
	}
	for _, want := range []Role{RoleSteward, RoleAuditor, RolePublisher, RoleAdmin} {
		for _, g := range p.Grants {
			if g.Role != want {
				continue
			}
			if want == RolePublisher {
				if master != "" && g.System == master {
					return want, g, true
				}
				continue
			}
			if g.allows(ActionRead, concept) {
				return want, g, true
			}
		}
	}
	return "", Grant{}, false
}

// HasRole reports whether one of p's grants has role r.
func (p *Principal) HasRole(r Role) bool {
	return p != nil && slices.ContainsFunc(p.Grants, func(g Grant) bool { return g.Role == r })
}

// ProtectedApproved reports whether one of p's grants that lets it read
// concept is approved for protected identities (Grant.ProtectedIdentities).
func (p *Principal) ProtectedApproved(concept string) bool {
	if p == nil {
		return false
	}
	for _, g := range p.Grants {
		if g.ProtectedIdentities && g.allows(ActionRead, concept) {
			return true
		}
	}
	return false
}

// Errors every service maps the same way, being apierr codes:
// ErrUnauthenticated is unauthorized (401), ErrForbidden forbidden (403).
var (
	ErrUnauthenticated = apierr.Unauthorized("unauthenticated")
	ErrForbidden       = apierr.Forbidden("forbidden")
)

// Require returns nil if p may perform action on concept, and otherwise an
// error wrapping ErrUnauthenticated (no principal) or ErrForbidden that says
// what was refused.
func Require(p *Principal, action Action, concept string) error {
	if p == nil {
		return apierr.Errorf(apierr.CodeUnauthorized, "%w: this operation needs an API token", ErrUnauthenticated)
	}
	if !p.Can(action, concept) {
		if concept == "" {
			return apierr.Errorf(apierr.CodeForbidden, "%w: %s %q may not %s", ErrForbidden, p.Kind, p.Subject, action)
		}
		return apierr.Errorf(apierr.CodeForbidden, "%w: %s %q may not %s concept %q", ErrForbidden, p.Kind, p.Subject, action, concept)
	}
	return nil
}

type ctxKey struct{}

// WithPrincipal returns a context carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the principal the request was authenticated as, or nil
// for an anonymous request.
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(ctxKey{}).(*Principal)
	return p
}
