// Package model is the concept model (begreppsmodell): the shared concepts
// of the city, one YAML file per concept, from which Samnav generates its
// Avro contracts, Go types, docs and AsyncAPI, and against which the hub
// validates every write.
//
// Load parses and checks a directory of concept files and reports every
// problem at once, each naming file, line, concept and rule. A loaded
// Model is immutable and safe for concurrent use.
package model

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/samnav/samnav/pkg/sdk/envelope"
)

// Model is a checked set of concepts.
type Model struct {
	// Concepts in order of ID.
	Concepts []*Concept
	byID     map[string]*Concept
}

// Concept returns the concept with the given id, or nil.
func (m *Model) Concept(id string) *Concept { return m.byID[id] }

// Text is a text in Swedish and English.
type Text struct {
	SV string `json:"sv"`
	EN string `json:"en"`
}

// Classification is an information classification as in SKR's KLASSA:
// each aspect from 0 (no impact) to 4 (very serious impact).
type Classification struct {
	Confidentiality int `json:"confidentiality"`
	Integrity       int `json:"integrity"`
	Availability    int `json:"availability"`
}

// PersonalData says whether, and how, an attribute is personal data under
// the GDPR.
type PersonalData string

// The kinds of personal data.
const (
	NotPersonal    PersonalData = ""
	Ordinary       PersonalData = "ordinary"
	Sensitive      PersonalData = "sensitive"       // GDPR art. 9
	IdentityNumber PersonalData = "identity-number" // personnummer, samordningsnummer (dataskyddslagen 3:10)
)

// Type is an attribute type.
type Type string

// The attribute types.
const (
	String    Type = "string"
	Int       Type = "int"  // 32-bit
	Long      Type = "long" // 64-bit
	Boolean   Type = "boolean"
	Date      Type = "date"      // a calendar date, "YYYY-MM-DD"
	Timestamp Type = "timestamp" // an instant, RFC 3339, millisecond precision
	Decimal   Type = "decimal"   // exact, with precision and scale
	Enum      Type = "enum"      // one code of a code list
	Reference Type = "reference" // the opaque id of another concept's record
	Record    Type = "record"    // a nested record of attributes
	List      Type = "list"      // a list of items
)

// avroScalars is how each scalar type is written in Avro: its primitive
// type and, for a logical type, the logical type's name.
var avroScalars = map[Type][2]string{
	String:    {"string", ""},
	Reference: {"string", ""},
	Int:       {"int", ""},
	Long:      {"long", ""},
	Boolean:   {"boolean", ""},
	Date:      {"int", "date"},
	Timestamp: {"long", "timestamp-millis"},
	Decimal:   {"bytes", "decimal"},
}

// Avro returns the Avro primitive type a value of type t is written as and
// its logical type ("" for none), and false for the types that become a
// named or complex Avro type (enum, record, list). The contracts generator
// writes schemas by it and the hub's encoder finds union branches by it, so
// the two cannot disagree.
func (t Type) Avro() (primitive, logical string, ok bool) {
	a, ok := avroScalars[t]
	return a[0], a[1], ok
}

// Types lists the attribute types in the order the docs present them.
var Types = []Type{String, Int, Long, Boolean, Date, Timestamp, Decimal, Enum, Reference, Record, List}

// Concept is one shared concept: a kind of record the city keeps once, in
// its master source, and shares through the hub.
type Concept struct {
	// ID names the concept in topics, schemas and URLs: lower-case letters
	// and digits, e.g. "person".
	ID string
	// Major is the contract's major version; a breaking change needs a new
	// one, and with it a new topic.
	Major          int
	Name           Text
	Definition     Text
	Master         string // system id of the master source (huvuddatakälla)
	Classification Classification
	Attributes     []*Attribute
	// File and Line locate the concept's definition, for messages.
	File string
	Line int
}

// Topic returns the state topic of the concept's current major version,
// "samnav.<id>.v<major>".
func (c *Concept) Topic() string { return envelope.StateTopic(c.ID, c.Major) }

// Attribute returns the top-level attribute with the given name, or nil.
func (c *Concept) Attribute(name string) *Attribute {
	for _, a := range c.Attributes {
		if a.Name == name {
			return a
		}
	}
	return nil
}

// NaturalKeys returns the attributes that identify a record uniquely
// besides its opaque id (e.g. a personnummer).
func (c *Concept) NaturalKeys() []*Attribute {
	var keys []*Attribute
	for _, a := range c.Attributes {
		if a.NaturalKey {
			keys = append(keys, a)
		}
	}
	return keys
}

// Attribute is one attribute of a concept, of a nested record, or the item
// of a list.
type Attribute struct {
	// Name is lowerCamelCase, unique among its siblings. A list's item has
	// no name of its own.
	Name       string
	Type       Type
	Required   bool
	Default    any // nil unless HasDefault; string, int64, bool or []any{}
	HasDefault bool
	Label      Text
	Definition Text
	// Classification is set where the attribute's differs from its concept's.
	Classification *Classification
	PersonalData   PersonalData
	// Shielded marks an address or contact attribute that a protected
	// identity (skyddad folkbokföring, sekretessmarkering) withholds from
	// every system not approved for it.
	Shielded bool
	// NaturalKey marks an attribute whose value is unique among the
	// concept's records, e.g. a personnummer. Records are still keyed by
	// their opaque id.
	NaturalKey bool
	// Protection, on a top-level reference, says that the referenced
	// record's protected identity (see Concept.Protected) extends to the
	// referring record: its Locating attributes are withheld from every
	// system not approved for protected identities (see
	// Concept.ShieldReferring).
	Protection *Protection
	Validation Validation
	// Codes is an enum's code list, in the model's order.
	Codes []Code
	// Ref is the id of the concept a reference points to.
	Ref string
	// Attributes are a record's attributes.
	Attributes []*Attribute
	// Items is a list's item type.
	Items *Attribute
	// Precision and Scale of a decimal.
	Precision, Scale int
	Line             int
}

// Code is one code of an enum's code list.
type Code struct {
	Code  string
	Label Text
}

// Validation is the rules a value must follow beyond its type.
type Validation struct {
	Pattern   string // a Go regexp the whole value must match
	MinLength *int   // in characters for strings, items for lists
	MaxLength *int
	Min, Max  *float64 // for int, long and decimal
	Check     string   // a named check of package check
	pattern   *regexp.Regexp
}

// Empty reports whether v has no rules.
func (v Validation) Empty() bool {
	return v.Pattern == "" && v.MinLength == nil && v.MaxLength == nil && v.Min == nil && v.Max == nil && v.Check == ""
}

// Error is one problem in a model file.
type Error struct {
	File    string
	Line    int
	Concept string // "" when the concept id is not known yet
	Path    string // attribute path, e.g. "registeredAddress.postalCode"; "" for the concept itself
	Rule    string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Concept != "" {
		fmt.Fprintf(&b, "concept %s: ", e.Concept)
	}
	if e.Path != "" {
		fmt.Fprintf(&b, "attribute %s: ", e.Path)
	}
	b.WriteString(e.Rule)
	return b.String()
}

// Errors is every problem Load found, in file and line order.
type Errors []*Error

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}
