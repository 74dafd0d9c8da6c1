// Package bulkimport loads records from legacy systems into the hub: CSV or
// NDJSON files, validated row by row against the concept model, each
// rejected row reported with every reason, progress reported as it goes, and
// resumable after an interruption from a checkpoint file.
package bulkimport

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/samnav/samnav/contracts/model"
)

// Format is an input file format.
type Format string

const (
	CSV    Format = "csv"
	NDJSON Format = "ndjson"
)

// Row is one input record. Fields holds the record shaped as decoded JSON,
// ready for model.Concept.Validate.
type Row struct {
	// Number is the row's 1-based number among the data rows (a CSV
	// header is not counted).
	Number int
	// Line is the line in the file where the row starts, for messages.
	Line   int
	Fields map[string]any
	// Err is set when the row could not be read into fields at all (bad
	// JSON, a cell that is not a number where the model wants one); such a
	// row is rejected without validation.
	Err error
}

// rowReader yields rows one at a time.
type rowReader interface {
	next() (Row, error) // io.EOF at the end
}

// newRowReader returns a reader of rows of concept c in format f.
func newRowReader(f Format, r io.Reader, c *model.Concept) (rowReader, error) {
	switch f {
	case CSV:
		return newCSVReader(r, c)
	case NDJSON:
		return &ndjsonReader{sc: newScanner(r)}, nil
	default:
		return nil, fmt.Errorf("format %q: must be %q or %q", f, CSV, NDJSON)
	}
}

func newScanner(r io.Reader) *bufio.Scanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	return sc
}

type ndjsonReader struct {
	sc   *bufio.Scanner
	line int
	n    int
}

func (r *ndjsonReader) next() (Row, error) {
	for r.sc.Scan() {
		r.line++
		b := bytes.TrimSpace(r.sc.Bytes())
		if len(b) == 0 {
			continue
		}
		r.n++
		row := Row{Number: r.n, Line: r.line}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var fields map[string]any
		if err := dec.Decode(&fields); err != nil {
			row.Err = fmt.Errorf("not a JSON object: %w", err)
		} else if dec.More() {
			row.Err = errors.New("more than one JSON value on the line")
		}
		row.Fields = fields
		return row, nil
	}
	if err := r.sc.Err(); err != nil {
		return Row{}, fmt.Errorf("read line %d: %w", r.line+1, err)
	}
	return Row{}, io.EOF
}

// A CSV file has a header row naming attributes. Nested record attributes
// are dotted paths ("registeredAddress.postalCode"); a list of plain values
// is one cell with the items separated by '|'. An empty cell is an absent
// value.
type csvReader struct {
	r       *csv.Reader
	columns []csvColumn
	n       int
}

type csvColumn struct {
	path []string
	attr *model.Attribute
}

func newCSVReader(r io.Reader, c *model.Concept) (*csvReader, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // rows are checked against the header below, with counts in the message
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read CSV header: %w", err)
	}
	var cols []csvColumn
	var errs []error
	seen := map[string]bool{}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if seen[h] {
			errs = append(errs, fmt.Errorf("header column %d %q: named twice", i+1, h))
			continue
		}
		seen[h] = true
		path := strings.Split(h, ".")
		attr := lookup(c.Attributes, path)
		if attr == nil {
			errs = append(errs, fmt.Errorf("header column %d %q: concept %s has no such attribute", i+1, h, c.ID))
			continue
		}
		if attr.Type == model.Record || (attr.Type == model.List && attr.Items != nil && attr.Items.Type == model.Record) {
			errs = append(errs, fmt.Errorf("header column %d %q: a %s cannot be one CSV cell; name its attributes (%s.<attribute>) or use NDJSON", i+1, h, attr.Type, h))
			continue
		}
		cols = append(cols, csvColumn{path: path, attr: attr})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &csvReader{r: cr, columns: cols}, nil
}

func lookup(attrs []*model.Attribute, path []string) *model.Attribute {
	for _, a := range attrs {
		if a.Name != path[0] {
			continue
		}
		if len(path) == 1 {
			return a
		}
		if a.Type == model.Record {
			return lookup(a.Attributes, path[1:])
		}
		return nil
	}
	return nil
}

func (r *csvReader) next() (Row, error) {
	rec, err := r.r.Read()
	if err == io.EOF {
		return Row{}, io.EOF
	}
	line, _ := r.r.FieldPos(0)
	r.n++
	row := Row{Number: r.n, Line: line}
	var perr *csv.ParseError
	if errors.As(err, &perr) {
		row.Err = fmt.Errorf("malformed CSV: %w", perr.Err)
		return row, nil
	}
	if err != nil {
		return Row{}, fmt.Errorf("read CSV row %d: %w", r.n, err)
	}
	if len(rec) != len(r.columns) {
		row.Err = fmt.Errorf("has %d cells, the header names %d columns", len(rec), len(r.columns))
		return row, nil
	}
	fields := map[string]any{}
	var errs []error
	for i, col := range r.columns {
		cell := strings.TrimSpace(rec[i])
		if cell == "" {
			continue
		}
		v, err := cellValue(col.attr, cell)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", strings.Join(col.path, "."), err))
			continue
		}
		set(fields, col.path, v)
	}
	row.Fields = fields
	row.Err = errors.Join(errs...)
	return row, nil
}

func set(m map[string]any, path []string, v any) {
	for _, p := range path[:len(path)-1] {
		sub, ok := m[p].(map[string]any)
		if !ok {
			sub = map[string]any{}
			m[p] = sub
		}
		m = sub
	}
	m[path[len(path)-1]] = v
}

// cellValue turns a CSV cell into the JSON-shaped value the model
// validates (Attribute.FromText); a list's items are separated by "|".
func cellValue(a *model.Attribute, cell string) (any, error) {
	if a.Type != model.List {
		v, err := a.FromText(cell)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", cell, err)
		}
		return v, nil
	}
	parts := strings.Split(cell, "|")
	out := make([]any, 0, len(parts))
	for _, p := range parts {
		v, err := cellValue(a.Items, strings.TrimSpace(p))
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
