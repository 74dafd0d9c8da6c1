package sqlstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/samnav/samnav/pkg/sdk/sqldb"
	"github.com/samnav/samnav/services/masterdata/client"
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
	m, err := decodeState(b)
	if err != nil {
		return err
	}
	n.m = m
	return nil
}

// decodeState decodes a stored state, keeping numbers exact.
func decodeState(b []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("scan state: %w", err)
	}
	return m, nil
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

// rawRecord is a md_records row with its state still JSON, so that the
// decoding can happen off the goroutine reading the rows.
type rawRecord struct {
	concept, id      string
	revision         int64
	state            rawJSON
	ended            nullTimeValue
	endReason        string
	created, updated timeValue
}

func (r *rawRecord) scan(rows sqldb.Scanner) error {
	return rows.Scan(&r.concept, &r.id, &r.revision, &r.state, &r.ended, &r.endReason, &r.created, &r.updated)
}

// record decodes the state; it is safe to call on different rawRecords
// concurrently.
func (r *rawRecord) record() (*client.Record, error) {
	rec := &client.Record{Concept: r.concept, ID: r.id, Revision: r.revision, EndReason: r.endReason, CreatedAt: r.created.t, UpdatedAt: r.updated.t}
	if r.state.b != nil {
		m, err := decodeState(r.state.b)
		if err != nil {
			return nil, err
		}
		rec.State = m
	}
	if r.ended.valid {
		t := r.ended.t
		rec.EndedAt = &t
	}
	return rec, nil
}

// rawJSON scans a JSON column, copying it (drivers may reuse the bytes
// they hand to Scan); b is nil for SQL NULL.
type rawJSON struct{ b []byte }

func (n *rawJSON) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		n.b = nil
	case string:
		n.b = []byte(v)
	case []byte:
		n.b = bytes.Clone(v)
	default:
		return fmt.Errorf("scan state: unexpected %T", src)
	}
	return nil
}

func scanRecord(r sqldb.Scanner) (*client.Record, error) {
	var rec client.Record
	var state nullJSON
	var ended nullTimeValue
	var created, updated timeValue
	if err := r.Scan(&rec.Concept, &rec.ID, &rec.Revision, &state, &ended, &rec.EndReason, &created, &updated); err != nil {
		return nil, err
	}
	rec.State, rec.CreatedAt, rec.UpdatedAt = state.m, created.t, updated.t
	if ended.valid {
		t := ended.t
		rec.EndedAt = &t
	}
	return &rec, nil
}

func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortStrings(keys)
	return keys
}
