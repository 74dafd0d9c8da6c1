package model

// IDField is the record id every projection keeps.
const IDField = "id"

// Project returns what a reader approved for fields (top-level attribute
// names, in any order; IDField is kept when state has it) may see of
// state: only those attributes, and for a protected identity (Protected)
// none of the shielded ones unless protectedApproved. withheld lists the
// approved shielded attributes left out for that reason, in model order,
// whether or not state held them, so that a channel can overwrite what a
// receiver held before (delivery's projection sends them as null). The
// result shares values with state; state is not changed. A nil state
// gives nil.
//
// It is the one field rule of an approved subscription: delivery's
// projections (webhooks, feed, view topics) and master data's API reads by
// a subscriber system both apply it.
func (c *Concept) Project(state map[string]any, fields []string, protectedApproved bool) (out map[string]any, withheld []string) {
	if state == nil {
		return nil, nil
	}
	approved := make(map[string]bool, len(fields))
	for _, f := range fields {
		approved[f] = true
	}
	out = make(map[string]any, len(fields)+1)
	if id, ok := state[IDField]; ok {
		out[IDField] = id
	}
	withhold := !protectedApproved && c.Protected(state)
	for _, a := range c.Attributes {
		if !approved[a.Name] {
			continue
		}
		if withhold && a.Shielded {
			withheld = append(withheld, a.Name)
			continue
		}
		if v, ok := state[a.Name]; ok {
			out[a.Name] = v
		}
	}
	return out, withheld
}
