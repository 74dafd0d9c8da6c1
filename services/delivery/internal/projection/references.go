// Protection that follows references: an employee of a protected person
// is delivered without the fields that would locate that person.

package projection

import (
	"github.com/samnav/samnav/contracts/model"
)

// ProtectedRefs tells whether the record a protecting reference points to
// (the concept ref.Ref, record id) is a protected identity; see
// model.Attribute.Protection.
type ProtectedRefs = model.ProtectedRefs

// Referring reports whether the subscription's records must be checked
// for references to protected identities before delivery: the concept has
// protecting references and the subscription is not approved for protected
// identities. When it is false, Apply is the whole projection.
func (p *Projection) Referring() bool {
	return !p.protected && len(p.concept.ProtectingReferences()) > 0
}

// ApplyReferring is Apply for a concept whose records refer to protected
// identities: for a subscription not approved for protected identities,
// every approved field that locates the person of a protecting reference
// pointing to a protected record (protected says which) is present with
// the value nil (withheld), as Apply withholds a protected identity's own
// shielded fields, so a receiver overwrites what it held before the person
// became protected. protected is asked only when Referring, and only for
// references state holds.
func (p *Projection) ApplyReferring(state map[string]any, protected ProtectedRefs) map[string]any {
	out := p.Apply(state)
	if out == nil || !p.Referring() {
		return out
	}
	for _, f := range p.concept.Withheld(state, protected) {
		if p.keep[f] {
			out[f] = nil
		}
	}
	return out
}

// References returns the ids, by protecting reference, that state refers
// to and that ApplyReferring would ask about: what a caller resolves
// before projecting (nil when the projection is not Referring).
func (p *Projection) References(state map[string]any) map[*model.Attribute]string {
	if !p.Referring() || state == nil {
		return nil
	}
	var out map[*model.Attribute]string
	for _, a := range p.concept.ProtectingReferences() {
		if id, _ := state[a.Name].(string); id != "" {
			if out == nil {
				out = map[*model.Attribute]string{}
			}
			out[a] = id
		}
	}
	return out
}
