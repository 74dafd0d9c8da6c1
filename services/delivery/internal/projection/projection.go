// Package projection cuts a concept's record down to what one subscription
// may receive, before anything leaves the hub: the record id plus the
// subscription's approved fields, and for a person with a protected
// identity none of the shielded (address and contact) attributes unless the
// subscription is approved for protected identities.
//
// It also derives the projected Avro schema a Kafka view topic is written
// with, from the concept's generated contract, and converts between the
// decoded Avro shape of a record and the plain shape channels receive.
// Everything here is pure and safe for concurrent use.
package projection

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/sdk/avro"
)

// ProtectedAttribute is the attribute whose value, other than
// NotProtected, marks a record as a protected identity (model's rule).
const (
	ProtectedAttribute = model.ProtectedAttribute
	NotProtected       = model.NotProtected
)

// IDField is the record id, delivered to every subscription.
const IDField = model.IDField

// Projection is one subscription's view of one concept.
type Projection struct {
	concept   *model.Concept
	fields    []string // approved, in model order, without id
	keep      map[string]bool
	shielded  map[string]bool // approved fields that are shielded
	locating  map[string]bool // approved fields that locate the person of a protecting reference
	protected bool            // approved for protected identities
	schema    string          // projected Avro schema
	full      *node
	view      *node
}

// New returns the projection of concept c, whose generated Avro schema is
// fullSchema, to the approved fields; protectedApproved says the
// subscription may receive shielded attributes of protected identities. It
// fails, naming the field, when a field is not a top-level attribute of c.
func New(c *model.Concept, fullSchema string, fields []string, protectedApproved bool) (*Projection, error) {
	p := &Projection{concept: c, keep: map[string]bool{}, shielded: map[string]bool{}, locating: map[string]bool{}, protected: protectedApproved}
	var errs []string
	for _, f := range fields {
		if f == IDField {
			continue
		}
		a := c.Attribute(f)
		if a == nil {
			errs = append(errs, fmt.Sprintf("field %q: not an attribute of %s", f, c.ID))
			continue
		}
		p.keep[f] = true
		if a.Shielded {
			p.shielded[f] = true
		}
		if c.Locating(f) {
			p.locating[f] = true
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("project %s: %s", c.ID, strings.Join(errs, "; "))
	}
	for _, a := range c.Attributes {
		if p.keep[a.Name] {
			p.fields = append(p.fields, a.Name)
		}
	}
	full, err := parseNode(fullSchema)
	if err != nil {
		return nil, fmt.Errorf("parse schema of %s: %w", c.ID, err)
	}
	p.full = full
	text, err := p.projectSchema(fullSchema)
	if err != nil {
		return nil, fmt.Errorf("project schema of %s: %w", c.ID, err)
	}
	if _, err := avro.Parse(text); err != nil {
		return nil, fmt.Errorf("projected schema of %s: %w", c.ID, err)
	}
	p.schema = text
	if p.view, err = parseNode(text); err != nil {
		return nil, fmt.Errorf("parse projected schema of %s: %w", c.ID, err)
	}
	return p, nil
}

// Fields returns the approved fields in model order, without id.
func (p *Projection) Fields() []string { return slices.Clone(p.fields) }

// Schema returns the projected Avro schema: the concept's record with only
// id and the approved fields, in the contract's order, each as the
// contract defines it, except that a shielded field, and a field that
// locates the person of a protecting reference (model.Protection), becomes
// nullable (["null", T], default null) for a subscription not approved for
// protected identities, since it may be withheld. It keeps the contract's
// record name; it is the view topic's own contract (the full contract
// cannot read it where it drops required fields).
func (p *Projection) Schema() string { return p.schema }

// Protected reports whether state is a protected identity: the concept has
// shielded attributes and state's protectedIdentity is anything but NONE
// (absent or unreadable counts as protected: when in doubt, withhold).
func (p *Projection) Protected(state map[string]any) bool { return p.concept.Protected(state) }

// Apply returns a new map with state's id and approved fields only. For a
// protected identity and a subscription not approved for protected
// identities, every approved shielded field is present with the value nil
// (withheld), so a receiver that held an address before the person became
// protected overwrites it. Values are shared with state, not copied. A nil
// state gives nil.
func (p *Projection) Apply(state map[string]any) map[string]any {
	out, withheld := p.concept.Project(state, p.fields, p.protected)
	for _, f := range withheld {
		out[f] = nil
	}
	return out
}

// Plain converts a record decoded from Avro with the concept's full schema
// into the plain shape channels receive: union values unwrapped (nil or
// the value), ints as int64, nested records as map[string]any, lists as
// []any, dates and timestamps as time.Time.
func (p *Projection) Plain(decoded map[string]any) (map[string]any, error) {
	if decoded == nil {
		return nil, fmt.Errorf("plain %s: no record", p.concept.ID)
	}
	return record(p.full.plain(decoded, ""))
}

// ViewPlain is Plain for a record decoded with the projected Schema.
func (p *Projection) ViewPlain(decoded map[string]any) (map[string]any, error) {
	return record(p.view.plain(decoded, ""))
}

// AvroValue converts a projected plain state (from Apply) into the value
// the projected Schema encodes: union values wrapped as the Avro encoder
// expects, withheld and absent nullable fields as nil.
func (p *Projection) AvroValue(state map[string]any) (map[string]any, error) {
	return record(p.view.avro(state, ""))
}

// record is the top-level record a conversion of a whole value made.
func record(v any, err error) (map[string]any, error) {
	if err != nil {
		return nil, err
	}
	m, _ := v.(map[string]any)
	return m, nil
}

func (p *Projection) projectSchema(full string) (string, error) {
	var rec map[string]any
	if err := json.Unmarshal([]byte(full), &rec); err != nil {
		return "", err
	}
	fields, _ := rec["fields"].([]any)
	kept := make([]any, 0, len(p.fields)+1)
	for _, f := range fields {
		fm, _ := f.(map[string]any)
		name, _ := fm["name"].(string)
		if name != IDField && !p.keep[name] {
			continue
		}
		if (p.shielded[name] || p.locating[name]) && !p.protected && !nullable(fm["type"]) {
			fm["type"] = []any{"null", fm["type"]}
			fm["default"] = nil
		}
		kept = append(kept, fm)
	}
	rec["fields"] = kept
	b, err := json.Marshal(rec)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func nullable(t any) bool {
	u, ok := t.([]any)
	return ok && len(u) > 0 && u[0] == "null"
}
