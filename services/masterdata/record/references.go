// Protection that follows references: a record that refers to a protected
// identity (an employee of a person with skyddad folkbokföring) is shown
// without the attributes that locate that person (model.Protection).

package record

import (
	"context"
	"sync"

	"github.com/samnav/samnav/contracts/model"
)

// protectedRefs returns how r's reads resolve protecting references: the
// referenced record is looked up in the store once per read request
// (cached by concept and id) and is protected when its concept says so
// (model.Concept.Protected). A record that cannot be read counts as
// protected: when in doubt, withhold. The lookup is the hub's own and is
// not a read of the referenced record (nothing of it is shown).
func (s *service) protectedRefs(ctx context.Context) model.ProtectedRefs {
	var (
		mu   sync.Mutex
		seen = map[[2]string]bool{}
	)
	return func(ref *model.Attribute, id string) bool {
		key := [2]string{ref.Ref, id}
		mu.Lock()
		defer mu.Unlock()
		if p, ok := seen[key]; ok {
			return p
		}
		p := true
		target := s.model.Concept(ref.Ref)
		rec, err := s.store.Get(ctx, ref.Ref, id)
		switch {
		case err != nil:
			// Opaque ids only: no personal data in logs.
			s.logger.WarnContext(ctx, "referenced record unreadable: its locating attributes are withheld", "concept", ref.Ref, "id", id, "err", err)
		case target != nil:
			p = target.Protected(rec.State)
		}
		seen[key] = p
		return p
	}
}

// withholdReferring returns state without the attributes that locate the
// person of a protecting reference pointing to a protected identity, unless
// r is approved for protected identities.
func (r *reader) withholdReferring(state map[string]any) map[string]any {
	if r.protected || r.refs == nil || len(r.concept.ProtectingReferences()) == 0 {
		return state
	}
	state, _ = r.concept.ShieldReferring(state, r.refs)
	return state
}
