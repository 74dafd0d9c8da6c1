package site

import (
	"fmt"
	"html/template"
	"io/fs"
	"path"
	"strings"
)

// baseFuncs are the template functions every page may use.
func baseFuncs() template.FuncMap {
	fm := template.FuncMap{
		// dict builds a map from key, value pairs, to pass several values
		// to a sub-template.
		"dict": func(kv ...any) (map[string]any, error) {
			if len(kv)%2 != 0 {
				return nil, fmt.Errorf("dict: odd number of arguments")
			}
			m := make(map[string]any, len(kv)/2)
			for i := 0; i < len(kv); i += 2 {
				k, ok := kv[i].(string)
				if !ok {
					return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
				}
				m[k] = kv[i+1]
			}
			return m, nil
		},
		// cols lists the message keys of a table's column headings, for
		// the "thead" partial.
		"cols": func(keys ...string) []string { return keys },
		"join": strings.Join,
		"add":  func(a, b int) int { return a + b },
	}
	for k, f := range extraFuncs {
		fm[k] = f
	}
	return fm
}

// parseTemplates parses every page of templateFS onto a clone of the base:
// templates/layout.html and the partials templates/_*.html make the base;
// each other templates/*.html is one page, defining "content" (and
// optionally "head" for extra <head> elements).
func parseTemplates(templateFS fs.FS) (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("list templates: %w", err)
	}
	base := template.New("base").Funcs(baseFuncs())
	var pages []string
	for _, n := range names {
		b := path.Base(n)
		if b == "layout.html" || strings.HasPrefix(b, "_") {
			if _, err := base.ParseFS(templateFS, n); err != nil {
				return nil, fmt.Errorf("parse %s: %w", n, err)
			}
			continue
		}
		pages = append(pages, n)
	}
	out := make(map[string]*template.Template, len(pages))
	for _, n := range pages {
		t, err := base.Clone()
		if err != nil {
			return nil, fmt.Errorf("clone base for %s: %w", n, err)
		}
		if _, err := t.ParseFS(templateFS, n); err != nil {
			return nil, fmt.Errorf("parse %s: %w", n, err)
		}
		if t.Lookup("content") == nil {
			return nil, fmt.Errorf("%s: must define \"content\"", n)
		}
		out[path.Base(n)] = t
	}
	return out, nil
}
