package event

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"time"

	"github.com/samnav/samnav/contracts/generator"
	"github.com/samnav/samnav/contracts/model"
)

// AvroValue converts a record's state, shaped as validated JSON (see
// model.Concept.Validate), to the value shape the concept's generated Avro
// schema encodes from: dates and timestamps as time.Time, decimals as
// *big.Rat, enums as their code, nested records as map[string]any, lists
// as []any, and optional attributes without a default as a union value
// (nil for null, otherwise a one-entry map from the Avro type name to the
// value, the shape the Avro encoder expects for unions in maps). id is the
// record's opaque id. It fails, naming the attribute, on a value that does
// not fit; a state that passed Validate always fits.
func AvroValue(c *model.Concept, id string, state map[string]any) (map[string]any, error) {
	ns := generator.AvroNamespace(c) + "."
	out, err := avroRecord(c.Attributes, "", ns, model.TypeName(c.ID), state)
	if err != nil {
		return nil, err
	}
	out["id"] = id
	return out, nil
}

// avroRecord converts the attributes of one record. ns is the schema's
// namespace with a trailing dot and scope the Avro name of the record, from
// which the names of nested enums and records derive as the generator names
// them (scope + PascalCase attribute, list items + "Item").
func avroRecord(attrs []*model.Attribute, prefix, ns, scope string, rec map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(attrs)+1)
	for _, a := range attrs {
		p := a.Name
		if prefix != "" {
			p = prefix + "." + a.Name
		}
		raw := rec[a.Name]
		nullable := !a.Required && !a.HasDefault
		if raw == nil {
			switch {
			case nullable:
				out[a.Name] = nil
			case a.HasDefault:
				v, err := avroPlain(a, p, ns, scope+model.Pascal(a.Name), a.Default)
				if err != nil {
					return nil, err
				}
				out[a.Name] = v
			default:
				return nil, fmt.Errorf("convert %s: required value is absent", p)
			}
			continue
		}
		name := scope + model.Pascal(a.Name)
		v, err := avroPlain(a, p, ns, name, raw)
		if err != nil {
			return nil, err
		}
		if nullable {
			v = map[string]any{unionName(a, ns+name): v}
		}
		out[a.Name] = v
	}
	return out, nil
}

// unionName is the name by which the Avro encoder finds the branch of
// ["null", T] for attribute a: the primitive type name, with the logical
// type appended for logical types, or fullName for a named type.
func unionName(a *model.Attribute, fullName string) string {
	if primitive, logical, ok := a.Type.Avro(); ok {
		if logical != "" {
			return primitive + "." + logical
		}
		return primitive
	}
	if a.Type == model.List {
		return "array"
	}
	return fullName // enum, record
}

// avroPlain converts one non-null value of attribute a (at path p) to what
// the Avro encoder takes for a's type; name is the Avro name a nested enum
// or record gets.
func avroPlain(a *model.Attribute, p, ns, name string, v any) (any, error) {
	var out any
	var err error
	switch a.Type {
	case model.String, model.Reference, model.Enum:
		out, err = as[string](v, "a string")
	case model.Int:
		out, err = toInt32(v)
	case model.Long:
		out, err = toInt(v)
	case model.Boolean:
		out, err = as[bool](v, "a boolean")
	case model.Date:
		out, err = parseTime(v, "a date string", time.DateOnly)
	case model.Timestamp:
		var t time.Time
		t, err = parseTime(v, "an RFC 3339 string", time.RFC3339Nano)
		out = t.UTC().Truncate(time.Millisecond)
	case model.Decimal:
		out, err = toRat(v)
	case model.Record:
		m, err := as[map[string]any](v, "an object")
		if err != nil {
			return nil, fmt.Errorf("convert %s: %w", p, err)
		}
		return avroRecord(a.Attributes, p, ns, name, m)
	case model.List:
		l, err := as[[]any](v, "a list")
		if err != nil {
			return nil, fmt.Errorf("convert %s: %w", p, err)
		}
		items := make([]any, len(l))
		for i, it := range l {
			if items[i], err = avroPlain(a.Items, fmt.Sprintf("%s[%d]", p, i), ns, name+"Item", it); err != nil {
				return nil, err
			}
		}
		return items, nil
	default:
		err = fmt.Errorf("attribute type %q not handled", a.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("convert %s: %w", p, err)
	}
	return out, nil
}

// as returns v as a T, or an error saying what JSON value was wanted.
func as[T any](v any, want string) (T, error) {
	t, ok := v.(T)
	if !ok {
		return t, fmt.Errorf("want %s, got %T", want, v)
	}
	return t, nil
}

// parseTime parses v, a JSON string, in layout.
func parseTime(v any, want, layout string) (time.Time, error) {
	s, err := as[string](v, want)
	if err != nil {
		return time.Time{}, err
	}
	return time.Parse(layout, s)
}

// toInt reads an integer as Validate does (model.Integer).
func toInt(v any) (int64, error) {
	n, ok := model.Integer(v)
	if !ok {
		return 0, fmt.Errorf("want an integer, got %T", v)
	}
	return n, nil
}

// toInt32 is toInt for a 32-bit Avro int.
func toInt32(v any) (int32, error) {
	n, err := toInt(v)
	if err != nil {
		return 0, err
	}
	if n < math.MinInt32 || n > math.MaxInt32 {
		return 0, fmt.Errorf("%d does not fit a 32-bit int", n)
	}
	return int32(n), nil
}

func toRat(v any) (*big.Rat, error) {
	var s string
	switch n := v.(type) {
	case string:
		s = n
	case json.Number:
		s = string(n)
	case float64:
		s = strconv.FormatFloat(n, 'f', -1, 64)
	case int:
		s = strconv.Itoa(n)
	case int64:
		s = strconv.FormatInt(n, 10)
	default:
		return nil, fmt.Errorf("want a decimal, got %T", v)
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return nil, fmt.Errorf("%q is not a decimal", s)
	}
	return r, nil
}
