package model

// ProtectedAttribute is the attribute whose value, other than
// NotProtected, marks a record as a protected identity (skyddad
// folkbokföring, sekretessmarkering).
const (
	ProtectedAttribute = "protectedIdentity"
	NotProtected       = "NONE"
)

// HasShielded reports whether any top-level attribute of c is shielded: only
// such a concept has protected identities.
func (c *Concept) HasShielded() bool {
	for _, a := range c.Attributes {
		if a.Shielded {
			return true
		}
	}
	return false
}

// Protected reports whether state is a protected identity: c has shielded
// attributes and state's protectedIdentity is anything but NONE (absent or
// unreadable counts as protected: when in doubt, withhold).
//
// This is the one rule every way out of the hub applies: the delivery
// channels' projections and the master data API's reads.
func (c *Concept) Protected(state map[string]any) bool {
	if !c.HasShielded() {
		return false
	}
	v, _ := state[ProtectedAttribute].(string)
	return v != NotProtected
}

// HoldsPersonalData reports whether any top-level attribute of c is
// personal data: reads of such a concept's records are recorded.
func (c *Concept) HoldsPersonalData() bool {
	for _, a := range c.Attributes {
		if a.PersonalData != NotPersonal {
			return true
		}
	}
	return false
}

// Shield returns state without the shielded attributes when state is a
// protected identity, and state itself otherwise. The result shares values
// with state; state is not changed. withheld lists the attributes left
// out, in model order.
func (c *Concept) Shield(state map[string]any) (shielded map[string]any, withheld []string) {
	if state == nil || !c.Protected(state) {
		return state, nil
	}
	out := make(map[string]any, len(state))
	for k, v := range state {
		out[k] = v
	}
	for _, a := range c.Attributes {
		if a.Shielded {
			if _, ok := out[a.Name]; ok {
				withheld = append(withheld, a.Name)
			}
			delete(out, a.Name)
		}
	}
	return out, withheld
}
