// Package openapi holds what Samnav's OpenAPI 3.1 documents share: the
// Problem error shape (RFC 9457) and the bearer security scheme as
// components, a merge of several documents into one (for `samnav dev`,
// which serves several APIs on one port), a handler serving a document at
// /api/v1/openapi.json, and the match of a served route to a documented
// path that the route-coverage tests use.
//
// A Document is the decoded JSON of an OpenAPI document: maps, slices and
// scalars, as encoding/json decodes into any. Keeping it untyped keeps
// every key of the specification available without a model of it here;
// the tests validate the documents with a full OpenAPI validator.
package openapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
)

// Document is an OpenAPI document as decoded JSON.
type Document map[string]any

// Path is the path Samnav's services serve their document at.
const Path = "/api/v1/openapi.json"

// Methods are the operation keys of a path item, in documentation order.
var Methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// Parse decodes a document from JSON.
func Parse(data []byte) (Document, error) {
	var d Document
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("parse OpenAPI document: %w", err)
	}
	return d, nil
}

// JSON encodes d, indented and with its keys sorted (encoding/json sorts
// map keys), so that the same document always has the same bytes.
func (d Document) JSON() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		return nil, fmt.Errorf("encode OpenAPI document: %w", err)
	}
	return b.Bytes(), nil
}

// Handler serves d as JSON. The document is public: it says what the API
// accepts, never what it holds, so it needs no token.
func Handler(d Document) http.Handler {
	body, err := d.JSON()
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if err != nil {
			http.Error(w, "the OpenAPI document could not be encoded", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
}

// Paths returns d's path items by path template.
func (d Document) Paths() map[string]map[string]any {
	out := map[string]map[string]any{}
	ps, _ := d["paths"].(map[string]any)
	for p, item := range ps {
		if m, ok := item.(map[string]any); ok {
			out[p] = m
		}
	}
	return out
}

// Operation returns the operation d documents for method (any case) on
// the path template that matches path, with that template; path may hold
// concrete segments or {wildcards}, and a {wildcard} matches any segment.
func (d Document) Operation(method, path string) (op map[string]any, template string, ok bool) {
	method = strings.ToLower(method)
	for tmpl, item := range d.Paths() {
		if !Match(tmpl, path) {
			continue
		}
		if op, ok := item[method].(map[string]any); ok {
			return op, tmpl, true
		}
	}
	return nil, "", false
}

// Match reports whether the path template tmpl and path name the same
// route: as many segments, each equal or a {wildcard} on either side.
func Match(tmpl, path string) bool {
	ts, ps := strings.Split(tmpl, "/"), strings.Split(path, "/")
	if len(ts) != len(ps) {
		return false
	}
	for i := range ts {
		if ts[i] != ps[i] && !wildcard(ts[i]) && !wildcard(ps[i]) {
			return false
		}
	}
	return true
}

func wildcard(seg string) bool {
	return strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}")
}

// Merge returns one document holding the paths and components of docs
// under info. Two documents may share a component only if they define it
// identically (the shared Problem, say), and never a path but Path, the
// document itself, which the first one describes.
func Merge(info map[string]any, docs ...Document) (Document, error) {
	out := Document{"openapi": "3.1.0", "info": info, "paths": map[string]any{}, "components": map[string]any{}}
	paths := out["paths"].(map[string]any)
	comps := out["components"].(map[string]any)
	var tags []any
	seenTag := map[string]bool{}
	var security any
	for _, d := range docs {
		for p, item := range d.Paths() {
			if _, dup := paths[p]; dup && p == Path {
				continue // every document describes itself there alike
			}
			if _, dup := paths[p]; dup {
				return nil, fmt.Errorf("merge OpenAPI documents: path %s is in more than one", p)
			}
			paths[p] = item
		}
		cs, _ := d["components"].(map[string]any)
		for kind, v := range cs {
			src, _ := v.(map[string]any)
			dst, _ := comps[kind].(map[string]any)
			if dst == nil {
				dst = map[string]any{}
				comps[kind] = dst
			}
			for name, def := range src {
				if have, dup := dst[name]; dup && !reflect.DeepEqual(have, def) {
					return nil, fmt.Errorf("merge OpenAPI documents: components.%s.%s differs between documents", kind, name)
				}
				dst[name] = def
			}
		}
		ts, _ := d["tags"].([]any)
		for _, t := range ts {
			name, _ := t.(map[string]any)["name"].(string)
			if !seenTag[name] {
				seenTag[name] = true
				tags = append(tags, t)
			}
		}
		if s, ok := d["security"]; ok {
			if security != nil && !reflect.DeepEqual(security, s) {
				return nil, fmt.Errorf("merge OpenAPI documents: their default security differs")
			}
			security = s
		}
	}
	if tags != nil {
		out["tags"] = tags
	}
	if security != nil {
		out["security"] = security
	}
	return out, nil
}

// SortedPaths returns d's path templates in order.
func (d Document) SortedPaths() []string {
	return slices.Sorted(maps.Keys(d.Paths()))
}
