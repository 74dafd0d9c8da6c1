package sqlstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// nullJSON scans a JSON object column (TEXT on SQLite, JSONB on
// PostgreSQL), keeping numbers exact as json.Number.
type nullJSON struct{ m map[string]any }

func (n *nullJSON) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		n.m = nil
		return nil
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("scan state: unexpected %T", src)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return fmt.Errorf("scan state: %w", err)
	}
	n.m = m
	return nil
}

// timeValue scans a timestamp column, which the drivers return as a
// time.Time or (SQLite, depending on how it was written) as text.
type timeValue struct{ t time.Time }

var timeLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"}

func (v *timeValue) Scan(src any) error {
	switch x := src.(type) {
	case time.Time:
		v.t = x.UTC()
		return nil
	case string:
		return v.parse(x)
	case []byte:
		return v.parse(string(x))
	}
	return fmt.Errorf("scan time: unexpected %T", src)
}

func (v *timeValue) parse(s string) error {
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			v.t = t.UTC()
			return nil
		}
	}
	return fmt.Errorf("scan time: cannot parse %q", s)
}

type nullTimeValue struct {
	t     time.Time
	valid bool
}

func (v *nullTimeValue) Scan(src any) error {
	if src == nil {
		v.valid = false
		return nil
	}
	var tv timeValue
	if err := tv.Scan(src); err != nil {
		return err
	}
	v.t, v.valid = tv.t, true
	return nil
}

func sortStrings(s []string) { slices.Sort(s) }
