package compat

import (
	"encoding/json"
	"fmt"
	"strings"
)

// node is a parsed Avro schema, just what compatibility needs.
type node struct {
	typ       string // "null", ..., "record", "enum", "fixed", "array", "map", "union"
	logical   string
	name      string // short name of a named type
	fullName  string
	aliases   []string // full names
	fields    []*field
	symbols   []string
	enumDef   bool // the enum has a default symbol
	items     *node
	values    *node
	branches  []*node
	size      int
	precision int
	scale     int
}

type field struct {
	name       string
	aliases    []string
	hasDefault bool
	typ        *node
}

var primitives = map[string]bool{"null": true, "boolean": true, "int": true, "long": true, "float": true, "double": true, "bytes": true, "string": true}

type parser struct {
	named map[string]*node
}

// parseSchema parses Avro schema JSON. It accepts what Avro allows; it is
// not a validator (pkg/sdk/avro.Parse is), so it is only used on schemas
// that parsed there.
func parseSchema(text string) (*node, error) {
	var raw any
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("parse schema json: %w", err)
	}
	p := &parser{named: map[string]*node{}}
	return p.parse(raw, "")
}

func fullName(name, ns string) string {
	if strings.Contains(name, ".") || ns == "" {
		return name
	}
	return ns + "." + name
}

func (p *parser) parse(raw any, ns string) (*node, error) {
	switch v := raw.(type) {
	case string:
		if primitives[v] {
			return &node{typ: v}, nil
		}
		n, ok := p.named[fullName(v, ns)]
		if !ok {
			n, ok = p.named[v]
		}
		if !ok {
			return nil, fmt.Errorf("unknown type %q", v)
		}
		return n, nil
	case []any:
		u := &node{typ: "union"}
		for _, b := range v {
			n, err := p.parse(b, ns)
			if err != nil {
				return nil, err
			}
			u.branches = append(u.branches, n)
		}
		return u, nil
	case map[string]any:
		t, _ := v["type"].(string)
		lt, _ := v["logicalType"].(string)
		switch t {
		case "record", "error", "enum", "fixed":
			name, _ := v["name"].(string)
			if s, ok := v["namespace"].(string); ok && !strings.Contains(name, ".") {
				ns = s
			}
			full := fullName(name, ns)
			if i := strings.LastIndex(full, "."); i >= 0 {
				ns = full[:i]
			} else {
				ns = ""
			}
			n := &node{typ: t, name: full[strings.LastIndex(full, ".")+1:], fullName: full, logical: lt}
			if t == "error" {
				n.typ = "record"
			}
			for _, a := range strs(v["aliases"]) {
				n.aliases = append(n.aliases, fullName(a, ns))
			}
			p.named[full] = n
			switch n.typ {
			case "record":
				fs, _ := v["fields"].([]any)
				for _, rf := range fs {
					fm, ok := rf.(map[string]any)
					if !ok {
						return nil, fmt.Errorf("record %s: field is not an object", full)
					}
					f := &field{aliases: strs(fm["aliases"])}
					f.name, _ = fm["name"].(string)
					_, f.hasDefault = fm["default"]
					ft, err := p.parse(fm["type"], ns)
					if err != nil {
						return nil, fmt.Errorf("record %s field %s: %w", full, f.name, err)
					}
					f.typ = ft
					n.fields = append(n.fields, f)
				}
			case "enum":
				n.symbols = strs(v["symbols"])
				_, n.enumDef = v["default"]
			case "fixed":
				if s, ok := v["size"].(json.Number); ok {
					i, _ := s.Int64()
					n.size = int(i)
				}
			}
			return n, nil
		case "array":
			items, err := p.parse(v["items"], ns)
			if err != nil {
				return nil, err
			}
			return &node{typ: "array", items: items}, nil
		case "map":
			values, err := p.parse(v["values"], ns)
			if err != nil {
				return nil, err
			}
			return &node{typ: "map", values: values}, nil
		}
		if primitives[t] {
			n := &node{typ: t, logical: lt}
			if pr, ok := v["precision"].(json.Number); ok {
				i, _ := pr.Int64()
				n.precision = int(i)
			}
			if sc, ok := v["scale"].(json.Number); ok {
				i, _ := sc.Int64()
				n.scale = int(i)
			}
			return n, nil
		}
		// {"type": {...}} or {"type": "Name"}: a wrapped reference.
		if _, ok := v["type"]; ok {
			return p.parse(v["type"], ns)
		}
		return nil, fmt.Errorf("schema object without a type")
	}
	return nil, fmt.Errorf("unexpected schema %T", raw)
}

func strs(v any) []string {
	l, _ := v.([]any)
	var out []string
	for _, x := range l {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// describe renders a type for people: "string", "int (date)", "record
// Address", "enum Status", "array of string", "null or string".
func (n *node) describe() string {
	switch n.typ {
	case "record", "enum", "fixed":
		return n.typ + " " + n.name
	case "array":
		return "array of " + n.items.describe()
	case "map":
		return "map of " + n.values.describe()
	case "union":
		parts := make([]string, len(n.branches))
		for i, b := range n.branches {
			parts[i] = b.describe()
		}
		return strings.Join(parts, " or ")
	}
	if n.logical != "" {
		return n.typ + " (" + n.logical + ")"
	}
	return n.typ
}
