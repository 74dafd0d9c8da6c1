// Package compat explains, in plain words and with the attribute path,
// why one version of a contract cannot be read with another, under the
// Confluent Schema Registry's compatibility levels, the way `buf breaking`
// explains protobuf changes.
//
// The verdict is pkg/sdk/avro.Compatible's (the Avro resolution rules Samnav's
// decoders follow); this package only explains it, and its explanations are
// tested to agree with that verdict.
package compat

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/samnav/samnav/pkg/sdk/avro"
)

// Level is a Confluent compatibility level; the levels and what each
// checks are pkg/sdk/avro's, shared with the registry that enforces them.
type Level = avro.Level

// Default is Samnav's compatibility level where none is configured, in
// `samnav contracts check` and in the registry. Confluent's is Backward;
// Samnav's is BackwardTransitive: a contract must stay readable by every
// consumer that ever read any of its versions, not only the latest.
const Default = avro.BackwardTransitive

// ParseLevel parses a level name, case-insensitively.
func ParseLevel(s string) (Level, error) {
	l := Level(strings.ToUpper(strings.TrimSpace(s)))
	if !l.Valid() {
		names := make([]string, len(avro.Levels))
		for i, l := range avro.Levels {
			names[i] = string(l)
		}
		return "", fmt.Errorf("compatibility level %q is not one of %s", s, strings.Join(names, ", "))
	}
	return l, nil
}

// Kind is what makes a reader unable to read a writer.
type Kind string

// The kinds of incompatibility, from the reader's side.
const (
	MissingField  Kind = "missing-field"  // a reader field without default is not in the writer
	TypeMismatch  Kind = "type-mismatch"  // the reader's type cannot read the writer's
	MissingSymbol Kind = "missing-symbol" // a writer enum symbol is not in the reader, which has no default symbol
	NameMismatch  Kind = "name-mismatch"  // a named type was renamed without an alias
	SizeMismatch  Kind = "size-mismatch"  // a fixed's size changed
)

// Incompatibility is one reason data written with one schema (the writer)
// cannot be read with another (the reader).
type Incompatibility struct {
	Kind Kind
	// Path locates it from the root record: "registeredAddress.postalCode",
	// "phoneNumbers[]", "" for the root itself.
	Path string
	// Reader and Writer describe the types at Path (TypeMismatch,
	// NameMismatch, SizeMismatch); FieldReader and FieldWriter the whole
	// field's types, for context.
	Reader, Writer           string
	FieldReader, FieldWriter string
	// Symbol is the enum symbol (MissingSymbol).
	Symbol string
}

// Explain lists every reason data written with writer cannot be read with
// reader (schema JSON text); none when it can. Both must be valid Avro.
func Explain(reader, writer string) ([]Incompatibility, error) {
	r, err := parseSchema(reader)
	if err != nil {
		return nil, fmt.Errorf("reader: %w", err)
	}
	w, err := parseSchema(writer)
	if err != nil {
		return nil, fmt.Errorf("writer: %w", err)
	}
	e := &explainer{visiting: map[[2]*node]bool{}}
	e.match(r, w, "", r.describe(), w.describe())
	return e.found, nil
}

type explainer struct {
	found    []Incompatibility
	visiting map[[2]*node]bool
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// compatible reports whether reader can read writer, without recording.
// It shares the types being compared, so recursive types end.
func (e *explainer) compatible(r, w *node) bool {
	sub := &explainer{visiting: e.visiting}
	sub.match(r, w, "", "", "")
	return len(sub.found) == 0
}

// match follows hamba/avro's SchemaCompatibility.match (the Avro spec's
// resolution rules), recording every failure instead of the first.
func (e *explainer) match(r, w *node, path, fr, fw string) {
	key := [2]*node{r, w}
	if e.visiting[key] {
		return // a recursive type already being compared
	}
	e.visiting[key] = true
	defer delete(e.visiting, key)

	mismatch := func() {
		e.found = append(e.found, Incompatibility{Kind: TypeMismatch, Path: path, Reader: r.describe(), Writer: w.describe(), FieldReader: fr, FieldWriter: fw})
	}
	if r.typ != w.typ {
		switch {
		case w.typ == "union":
			for _, b := range w.branches {
				e.match(r, b, path, fr, fw)
			}
			return
		case r.typ == "union":
			for _, b := range r.branches {
				if e.compatible(b, w) {
					return
				}
			}
			// No branch reads the writer. Where one has the writer's kind
			// (the record of an optional record, say), explain why that
			// one cannot: it says which nested field broke.
			if b := closest(r.branches, w); b != nil {
				e.match(b, w, path, fr, fw)
				return
			}
			mismatch()
			return
		}
		switch {
		case w.typ == "int" && (r.typ == "long" || r.typ == "float" || r.typ == "double"),
			w.typ == "long" && (r.typ == "float" || r.typ == "double"),
			w.typ == "float" && r.typ == "double",
			w.typ == "string" && r.typ == "bytes",
			w.typ == "bytes" && r.typ == "string":
			return
		}
		mismatch()
		return
	}
	switch r.typ {
	case "array":
		e.match(r.items, w.items, path+"[]", fr, fw)
	case "map":
		e.match(r.values, w.values, path+"{}", fr, fw)
	case "fixed":
		e.name(r, w, path)
		if r.size != w.size {
			e.found = append(e.found, Incompatibility{Kind: SizeMismatch, Path: path, Reader: fmt.Sprintf("fixed %s of %d bytes", r.name, r.size), Writer: fmt.Sprintf("fixed %s of %d bytes", w.name, w.size)})
		}
	case "enum":
		e.name(r, w, path)
		if r.enumDef {
			return
		}
		for _, s := range w.symbols {
			if !slices.Contains(r.symbols, s) {
				e.found = append(e.found, Incompatibility{Kind: MissingSymbol, Path: path, Symbol: s, Reader: r.describe(), Writer: w.describe()})
			}
		}
	case "record":
		e.name(r, w, path)
		for _, rf := range r.fields {
			var wf *field
			for _, f := range w.fields {
				if f.name == rf.name || slices.Contains(rf.aliases, f.name) {
					wf = f
					break
				}
			}
			p := join(path, rf.name)
			if wf == nil {
				if !rf.hasDefault {
					e.found = append(e.found, Incompatibility{Kind: MissingField, Path: p, FieldReader: rf.typ.describe()})
				}
				continue
			}
			e.match(rf.typ, wf.typ, p, rf.typ.describe(), wf.typ.describe())
		}
	case "union":
		for _, b := range w.branches {
			e.match(r, b, path, fr, fw)
		}
	}
}

// closest returns the union branch of the writer's type (and, for a named
// type, name), or nil.
func closest(branches []*node, w *node) *node {
	var sameType *node
	for _, b := range branches {
		if b.typ != w.typ {
			continue
		}
		if b.name == w.name {
			return b
		}
		if sameType == nil {
			sameType = b
		}
	}
	return sameType
}

func (e *explainer) name(r, w *node, path string) {
	if r.name != w.name && !slices.Contains(r.aliases, w.fullName) {
		e.found = append(e.found, Incompatibility{Kind: NameMismatch, Path: path, Reader: r.fullName, Writer: w.fullName})
	}
}

// Direction says which side is the new schema.
type Direction string

// The directions of a check.
const (
	// BackwardDir: the new schema reads data written with an old one
	// (subscribers upgrade first, old events stay readable).
	BackwardDir Direction = "backward"
	// ForwardDir: an old schema reads data written with the new one
	// (subscribers on the old schema keep working).
	ForwardDir Direction = "forward"
)

// Describe says in plain words what the incompatibility means for
// subscribers, from direction dir. In BackwardDir the reader is the new
// schema; in ForwardDir it is the old one.
func (in Incompatibility) Describe(dir Direction) string {
	where := in.Path
	if where == "" {
		where = "the record"
	}
	oldT, newT := in.FieldWriter, in.FieldReader
	oldLocal, newLocal := in.Writer, in.Reader
	if dir == ForwardDir {
		oldT, newT = newT, oldT
		oldLocal, newLocal = newLocal, oldLocal
	}
	switch in.Kind {
	case MissingField:
		if dir == BackwardDir {
			return fmt.Sprintf("field %s was added without a default: the new schema cannot read records written before it (give it a default, or make it optional)", where)
		}
		return fmt.Sprintf("field %s was removed (or renamed), and the old schema has no default for it: subscribers still on the old schema cannot read new records", where)
	case TypeMismatch:
		detail := ""
		if oldLocal != oldT || newLocal != newT {
			detail = fmt.Sprintf(" (%s cannot be read as %s)", in.Writer, in.Reader)
		}
		reader := "the new schema"
		if dir == ForwardDir {
			reader = "subscribers still on the old schema"
		}
		return fmt.Sprintf("type of %s changed from %s to %s: %s cannot read what the %s schema writes%s", where, oldT, newT, reader, map[Direction]string{BackwardDir: "old", ForwardDir: "new"}[dir], detail)
	case MissingSymbol:
		if dir == BackwardDir {
			return fmt.Sprintf("enum symbol %s of %s was removed: records holding it can no longer be read (keep the symbol, or give the enum a default symbol)", in.Symbol, where)
		}
		return fmt.Sprintf("enum symbol %s was added to %s, and the old enum has no default symbol: subscribers still on the old schema cannot read records holding it", in.Symbol, where)
	case NameMismatch:
		oldN, newN := in.Writer, in.Reader
		if dir == ForwardDir {
			oldN, newN = newN, oldN
		}
		return fmt.Sprintf("%s was renamed from %s to %s without an alias for the old name", where, oldN, newN)
	case SizeMismatch:
		return fmt.Sprintf("size of %s changed from %s to %s", where, oldLocal, newLocal)
	}
	return fmt.Sprintf("%s: %s", where, in.Kind)
}

// Version is an earlier version of a contract.
type Version struct {
	// Label names it in messages: a registry version number or a git ref.
	Label  string
	Schema string
}

// Problem is one breaking change found by Check.
type Problem struct {
	Against   string // the Version's Label
	Direction Direction
	Incompatibility
	// Message is the plain-words explanation.
	Message string
}

// ErrInvalidSchema is wrapped when a schema given to Check is not valid Avro.
var ErrInvalidSchema = errors.New("invalid schema")

// Check checks next against the earlier versions (oldest first) under
// level, and returns every breaking change. The verdict for each pair is
// pkg/sdk/avro.Compatible's; should the explanation find nothing where it found
// a problem, its own message is reported, so no breaking change goes
// unreported.
func Check(level Level, next string, previous []Version) ([]Problem, error) {
	if level == avro.None || len(previous) == 0 {
		return nil, nil
	}
	if _, err := ParseLevel(string(level)); err != nil {
		return nil, err
	}
	ns, err := parse(next)
	if err != nil {
		return nil, fmt.Errorf("%w: new schema: %w", ErrInvalidSchema, err)
	}
	// Only the versions the level checks are parsed (and must be valid);
	// Breaches narrows them no further.
	against := avro.Against(level, previous)
	parsed := make([]*avro.Schema, len(against))
	for i, v := range against {
		if parsed[i], err = parse(v.Schema); err != nil {
			return nil, fmt.Errorf("%w: version %s: %w", ErrInvalidSchema, v.Label, err)
		}
	}
	var problems []Problem
	for _, b := range Breaches(level, ns, parsed) {
		v := against[b.Version]
		reader, writer := next, v.Schema
		if b.Direction == ForwardDir {
			reader, writer = writer, reader
		}
		ins, err := Explain(reader, writer)
		if err != nil {
			return nil, fmt.Errorf("explain against version %s: %w", v.Label, err)
		}
		if len(ins) == 0 {
			problems = append(problems, Problem{Against: v.Label, Direction: b.Direction, Message: b.Err.Error()})
		}
		for _, in := range ins {
			problems = append(problems, Problem{Against: v.Label, Direction: b.Direction, Incompatibility: in, Message: in.Describe(b.Direction)})
		}
	}
	return problems, nil
}

// Breach is one check a new schema fails: against which earlier version,
// in which direction, and pkg/sdk/avro.Compatible's verdict.
type Breach struct {
	Version   int // index into the earlier versions given to Breaches
	Direction Direction
	Err       error
}

// Breaches checks next against the earlier versions (oldest first) under
// level and returns every check it fails, oldest version first, backward
// before forward. It is the one place that decides what a level checks,
// for `samnav contracts check` (Check) and the registry: the latest
// version only, or every one for a transitive level (avro.Against);
// BACKWARD, that next reads data written with the earlier version;
// FORWARD, that the earlier version reads data written with next; FULL,
// both. None checks nothing.
func Breaches(level Level, next *avro.Schema, previous []*avro.Schema) []Breach {
	against := avro.Against(level, previous)
	first := len(previous) - len(against)
	var found []Breach
	for i, old := range against {
		if level.Backward() {
			if err := avro.Compatible(next, old); err != nil {
				found = append(found, Breach{first + i, BackwardDir, err})
			}
		}
		if level.Forward() {
			if err := avro.Compatible(old, next); err != nil {
				found = append(found, Breach{first + i, ForwardDir, err})
			}
		}
	}
	return found
}

// parse is avro.Parse that turns a panic into an error: hamba/avro v2.31.0
// panics on some malformed schemas (a field whose type is the empty union
// [] with a default, found by FuzzExplain), and schemas here come from
// outside, from a registry or another commit.
func parse(text string) (s *avro.Schema, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("%w: the Avro parser failed on it: %v", ErrInvalidSchema, r)
		}
	}()
	return avro.Parse(text)
}
