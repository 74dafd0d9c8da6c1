// Package generator turns the concept model into Samnav's contracts: Avro
// schemas, Go types, an AsyncAPI document and a concept catalogue. Output
// depends only on the model, so running it twice gives the same bytes, and
// `make generate && git diff --exit-code` proves the committed files are
// current.
package generator

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/samnav/samnav/contracts/model"
)

// File is one generated file.
type File struct {
	// Path is relative to the contracts directory, with '/' separators.
	Path string
	Data []byte
}

// Generate returns every file generated from m, in path order.
func Generate(m *model.Model) ([]File, error) {
	var files []File
	for _, c := range m.Concepts {
		avsc, err := Avro(c)
		if err != nil {
			return nil, fmt.Errorf("generate avro schema of %s: %w", c.ID, err)
		}
		files = append(files, File{AvroFile(c), avsc})
		src, err := GoType(c)
		if err != nil {
			return nil, fmt.Errorf("generate go type of %s: %w", c.ID, err)
		}
		files = append(files, File{GoFile(c), src})
	}
	doc, err := GoPackageDoc(m)
	if err != nil {
		return nil, fmt.Errorf("generate go package doc: %w", err)
	}
	files = append(files, File{GoPackageDir + "/doc.go", doc})
	api, err := AsyncAPI(m)
	if err != nil {
		return nil, fmt.Errorf("generate asyncapi: %w", err)
	}
	files = append(files, File{"asyncapi.yaml", api})
	md, err := CatalogueMarkdown(m)
	if err != nil {
		return nil, fmt.Errorf("generate catalogue: %w", err)
	}
	files = append(files, File{"docs/catalogue.md", md})
	html, err := CatalogueHTML(m)
	if err != nil {
		return nil, fmt.Errorf("generate html catalogue: %w", err)
	}
	files = append(files, File{"docs/catalogue.html", html})
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	return files, nil
}

// Write writes files under dir. A file whose content is unchanged is not
// rewritten. Write never deletes: when a concept's major version is raised,
// the previous major's schema and Go type stay, frozen, so both topics can
// run side by side until subscribers have moved; removing them is a
// deliberate act.
func Write(dir string, files []File) error {
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if old, err := os.ReadFile(p); err == nil && string(old) == string(f.Data) {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("create directory for %s: %w", f.Path, err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", f.Path, err)
		}
	}
	return nil
}
