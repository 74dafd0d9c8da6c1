package model

import "slices"

// Personal reports whether a is personal data of any kind (ordinary,
// sensitive or an identity number): the one answer to "may this value
// travel in a URL, a log line or an error message" — it may not when
// Personal is true. A nil attribute (one the model does not have) is not
// personal.
func (a *Attribute) Personal() bool {
	return a != nil && a.PersonalData != NotPersonal
}

// PublicNaturalKeys are c's natural-key attributes that are not personal
// data, in the model's order: the only natural keys a URL may carry (a
// GET lookup by one), every other one goes in a request body.
func (c *Concept) PublicNaturalKeys() []*Attribute {
	var out []*Attribute
	for _, a := range c.NaturalKeys() {
		if !a.Personal() {
			out = append(out, a)
		}
	}
	return out
}

// ReservedConceptIDs are ids a concept may not have: the master data API
// serves each concept under /api/v1/{concept} and has routes of its own
// beside them (POST /api/v1/lookup/{concept}, /api/v1/search/{concept},
// /api/v1/publish/{concept}, GET /api/v1/whoami), so a concept of one of
// these names would collide with them.
var ReservedConceptIDs = []string{"lookup", "search", "publish", "whoami"}

// reservedConceptID reports whether id is one of ReservedConceptIDs.
func reservedConceptID(id string) bool {
	return slices.Contains(ReservedConceptIDs, id)
}
