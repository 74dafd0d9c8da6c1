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

func avroPlain(a *model.Attribute, p, ns, name string, v any) (any, error) {
	switch a.Type {
	case model.String, model.Reference, model.Enum:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("convert %s: want a string, got %T", p, v)
		}
		return s, nil
	case model.Int:
		n, err := toInt(v, 32)
		if err != nil {
			return nil, fmt.Errorf("convert %s: %w", p, err)
		}
		if n < math.MinInt32 || n > math.MaxInt32 {
			return nil, fmt.Errorf("convert %s: %d does not fit a 32-bit int", p, n)
		}
		return int32(n), nil
	case model.Long:
		n, err := toInt(v, 64)
		if err != nil {
			return nil, fmt.Errorf("convert %s: %w", p, err)
		}
		return n, nil
	case model.Boolean:
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("convert %s: want a boolean, got %T", p, v)
		}
		return b, nil
	case model.Date:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("convert %s: want a date string, got %T", p, v)
		}
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return nil, fmt.Errorf("convert %s: %w", p, err)
		}
		return t, nil
	case model.Timestamp:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("convert %s: want an RFC 3339 string, got %T", p, v)
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, fmt.Errorf("convert %s: %w", p, err)
		}
		return t.UTC().Truncate(time.Millisecond), nil
	case model.Decimal:
		r, err := toRat(v)
		if err != nil {
			return nil, fmt.Errorf("convert %s: %w", p, err)
		}
		return r, nil
	case model.Record:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("convert %s: want an object, got %T", p, v)
		}
		return avroRecord(a.Attributes, p, ns, name, m)
	case model.List:
		l, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("convert %s: want a list, got %T", p, v)
		}
		out := make([]any, len(l))
		for i, it := range l {
			c, err := avroPlain(a.Items, fmt.Sprintf("%s[%d]", p, i), ns, name+"Item", it)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	}
	return nil, fmt.Errorf("convert %s: attribute type %q not handled", p, a.Type)
}

func toInt(v any, bits int) (int64, error) {
	switch n := v.(type) {
	case json.Number:
		return strconv.ParseInt(string(n), 10, bits)
	case float64:
		if n != float64(int64(n)) {
			return 0, fmt.Errorf("%v is not an integer", n)
		}
		return int64(n), nil
	case int:
		return int64(n), nil
	case int32:
		return int64(n), nil
	case int64:
		return n, nil
	}
	return 0, fmt.Errorf("want an integer, got %T", v)
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
