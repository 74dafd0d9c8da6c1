package projection

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/samnav/samnav/contracts/model"
)

// node is the part of an Avro schema that decides a value's shape.
type node struct {
	kind     string // primitive name, "record", "enum", "fixed", "array", "map", "union"
	logical  string
	fullName string
	fields   []field
	items    *node // array items, map values
	branches []*node
}

type field struct {
	name string
	n    *node
}

func parseNode(text string) (*node, error) {
	var v any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		return nil, err
	}
	return build(v, "", map[string]*node{})
}

func build(v any, ns string, named map[string]*node) (*node, error) {
	switch t := v.(type) {
	case string:
		switch t {
		case "null", "boolean", "int", "long", "float", "double", "bytes", "string":
			return &node{kind: t}, nil
		}
		full := t
		if !strings.Contains(t, ".") && ns != "" {
			full = ns + "." + t
		}
		if n, ok := named[full]; ok {
			return n, nil
		}
		if n, ok := named[t]; ok {
			return n, nil
		}
		return nil, fmt.Errorf("unknown type %q", t)
	case []any:
		n := &node{kind: "union"}
		for _, b := range t {
			bn, err := build(b, ns, named)
			if err != nil {
				return nil, err
			}
			n.branches = append(n.branches, bn)
		}
		return n, nil
	case map[string]any:
		kind, _ := t["type"].(string)
		if kind == "" {
			// {"type": {...}} or {"type": [...]}: a wrapped type.
			return build(t["type"], ns, named)
		}
		n := &node{kind: kind}
		n.logical, _ = t["logicalType"].(string)
		switch kind {
		case "record", "enum", "fixed", "error":
			name, _ := t["name"].(string)
			if s, ok := t["namespace"].(string); ok && !strings.Contains(name, ".") {
				ns = s
			}
			n.fullName = name
			if !strings.Contains(name, ".") && ns != "" {
				n.fullName = ns + "." + name
			}
			if i := strings.LastIndex(n.fullName, "."); i >= 0 {
				ns = n.fullName[:i]
			}
			named[n.fullName] = n
			if kind == "record" || kind == "error" {
				n.kind = "record"
				fs, _ := t["fields"].([]any)
				for _, f := range fs {
					fm, _ := f.(map[string]any)
					fname, _ := fm["name"].(string)
					fn, err := build(fm["type"], ns, named)
					if err != nil {
						return nil, fmt.Errorf("field %s: %w", fname, err)
					}
					n.fields = append(n.fields, field{name: fname, n: fn})
				}
			}
		case "array":
			it, err := build(t["items"], ns, named)
			if err != nil {
				return nil, err
			}
			n.items = it
		case "map":
			it, err := build(t["values"], ns, named)
			if err != nil {
				return nil, err
			}
			n.items = it
		default:
			if _, err := build(kind, ns, named); err != nil {
				return nil, err
			}
		}
		return n, nil
	}
	return nil, fmt.Errorf("unreadable type %v", v)
}

// unionName is the name by which the Avro encoder and decoder tell a
// union's branches apart in map values.
func (n *node) unionName() string {
	if n.fullName != "" {
		return n.fullName
	}
	if n.logical != "" {
		return n.kind + "." + n.logical
	}
	return n.kind
}

func (n *node) nonNull() []*node {
	var out []*node
	for _, b := range n.branches {
		if b.kind != "null" {
			out = append(out, b)
		}
	}
	return out
}

func at(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// plain unwraps decoded Avro values (see Projection.Plain).
func (n *node) plain(v any, path string) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch n.kind {
	case "union":
		bs := n.nonNull()
		if m, ok := v.(map[string]any); ok && len(m) == 1 {
			for _, b := range bs {
				if inner, ok := m[b.unionName()]; ok {
					return b.plain(inner, path)
				}
			}
		}
		if len(bs) == 1 {
			return bs[0].plain(v, path)
		}
		return nil, fmt.Errorf("%s: cannot tell the union branch of %T", path, v)
	case "record":
		return n.eachField(v, path, func(f field, fv any, present bool, path string) (any, bool, error) {
			if fv == nil && f.n.kind != "union" && f.n.kind != "null" {
				// hamba decodes an empty body into a map of nils without
				// an error: a required value must be there.
				return nil, false, fmt.Errorf("%s: required value is absent", path)
			}
			if !present {
				return nil, false, nil
			}
			pv, err := f.n.plain(fv, path)
			return pv, true, err
		})
	case "array":
		return n.eachItem(v, path, (*node).plain)
	case "int", "long":
		if x, ok := model.Integer(v); ok {
			return x, nil
		}
	}
	return v, nil
}

// avro wraps plain values for the Avro encoder (see Projection.AvroValue).
func (n *node) avro(v any, path string) (any, error) {
	switch n.kind {
	case "union":
		if v == nil {
			return nil, nil
		}
		bs := n.nonNull()
		if len(bs) != 1 {
			return nil, fmt.Errorf("%s: unions of several types are not supported", path)
		}
		inner, err := bs[0].avro(v, path)
		if err != nil {
			return nil, err
		}
		return map[string]any{bs[0].unionName(): inner}, nil
	case "null":
		return nil, nil
	}
	if v == nil {
		return nil, fmt.Errorf("%s: required value is absent", path)
	}
	switch n.kind {
	case "record":
		return n.eachField(v, path, func(f field, fv any, _ bool, path string) (any, bool, error) {
			av, err := f.n.avro(fv, path)
			return av, true, err
		})
	case "array":
		return n.eachItem(v, path, (*node).avro)
	case "int":
		// The values come from Avro ints, so they fit; one that does not
		// is passed on as it is, for the encoder to reject, never wrapped.
		switch x := v.(type) {
		case int64:
			if x >= math.MinInt32 && x <= math.MaxInt32 {
				return int32(x), nil
			}
		case int:
			if x >= math.MinInt32 && x <= math.MaxInt32 {
				return int32(x), nil
			}
		}
	case "long":
		if x, ok := v.(int); ok {
			return int64(x), nil
		}
	}
	return v, nil
}

// eachField converts every field of the record v of type n with conv,
// which gets the field, its value (nil when absent), whether it is
// present, and its path; a field conv does not keep is left out. The
// conversions plain and avro share it.
func (n *node) eachField(v any, path string, conv func(f field, fv any, present bool, path string) (any, bool, error)) (any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: want a record, got %T", path, v)
	}
	out := make(map[string]any, len(n.fields))
	for _, f := range n.fields {
		fv, present := m[f.name]
		cv, keep, err := conv(f, fv, present, at(path, f.name))
		if err != nil {
			return nil, err
		}
		if keep {
			out[f.name] = cv
		}
	}
	return out, nil
}

// eachItem converts every item of the list v with conv on the array's
// item type, each at path[i]; the conversions plain and avro share it.
func (n *node) eachItem(v any, path string, conv func(*node, any, string) (any, error)) (any, error) {
	l, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s: want a list, got %T", path, v)
	}
	out := make([]any, len(l))
	for i, it := range l {
		cv, err := conv(n.items, it, fmt.Sprintf("%s[%d]", path, i))
		if err != nil {
			return nil, err
		}
		out[i] = cv
	}
	return out, nil
}
