// Reading batches: outbox rows become Kafka messages in id order.

package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/segmentio/kafka-go"

	"github.com/samnav/samnav/pkg/sdk/backoff"
)

// entry is an outbox row as the relay reads it.
type entry struct {
	id      int64
	msg     kafka.Message
	created int64 // unix microseconds
	skipped string
	size    int // estimate of kafka-go's size of msg, never below it
}

func eventID(m kafka.Message) string {
	for _, h := range m.Headers {
		if h.Key == headerEventID {
			return string(h.Value)
		}
	}
	return ""
}

// read returns up to limit entries after pos, in id order.
func (r *Relay) read(ctx context.Context, pos int64, limit int) ([]entry, error) {
	rows, err := r.cfg.DB.QueryContext(ctx, r.q.read, pos, limit)
	if err != nil {
		return nil, fmt.Errorf("read outbox after %d: %w", pos, err)
	}
	defer func() { _ = rows.Close() }() // read-only; rows.Err is checked below
	var out []entry
	for rows.Next() {
		var (
			e       entry
			key     []byte
			value   []byte
			null    bool
			headers string
			eventID string
			skipped sql.NullString
		)
		if err := rows.Scan(&e.id, &e.msg.Topic, &key, &value, &null, &headers, &eventID, &e.created, &skipped); err != nil {
			return nil, fmt.Errorf("read outbox entry: %w", err)
		}
		hm, err := decodeHeaders(headers)
		if err != nil {
			return nil, fmt.Errorf("read outbox entry %d: decode headers: %w", e.id, err)
		}
		if value == nil && !null {
			value = []byte{} // an empty value, which drivers may scan as nil
		}
		e.msg.Key, e.msg.Value = key, value
		// ce_id first: the poison log reads it from there.
		e.msg.Headers = make([]kafka.Header, 0, len(hm)+1)
		if id, ok := hm[headerEventID]; ok {
			e.msg.Headers = append(e.msg.Headers, kafka.Header{Key: headerEventID, Value: []byte(id)})
			delete(hm, headerEventID)
		} else {
			e.msg.Headers = append(e.msg.Headers, kafka.Header{Key: headerEventID, Value: []byte(eventID)})
		}
		for _, k := range slices.Sorted(mapKeys(hm)) {
			e.msg.Headers = append(e.msg.Headers, kafka.Header{Key: k, Value: []byte(hm[k])})
		}
		e.skipped = skipped.String
		e.size = 64 + len(key) + len(value)
		for _, h := range e.msg.Headers {
			e.size += 10 + len(h.Key) + len(h.Value)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read outbox after %d: %w", pos, err)
	}
	return out, nil
}

// decodeHeaders decodes the headers column, a JSON object of strings as
// Append writes it. Objects without escapes or whitespace (what
// json.Marshal makes of ordinary header names and values) are split
// directly, which is several times cheaper than encoding/json; anything
// else goes through encoding/json, so the result is the same.
func decodeHeaders(s string) (map[string]string, error) {
	if m, ok := splitFlatObject(s); ok {
		return m, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, err
	}
	return m, nil
}

// splitFlatObject parses {"k":"v",...} with no backslash and no
// whitespace outside strings; ok is false for anything else.
func splitFlatObject(s string) (map[string]string, bool) {
	if strings.IndexByte(s, '\\') >= 0 || len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' || !utf8.ValidString(s) {
		return nil, false
	}
	if s == "{}" {
		return map[string]string{}, true
	}
	m := make(map[string]string, 12)
	rest := s[1 : len(s)-1]
	for {
		k, r, ok := cutString(rest)
		if !ok || len(r) == 0 || r[0] != ':' {
			return nil, false
		}
		v, r, ok := cutString(r[1:])
		if !ok {
			return nil, false
		}
		if _, dup := m[k]; dup {
			return nil, false // let encoding/json decide what a duplicate means
		}
		m[k] = v
		if r == "" {
			return m, true
		}
		if r[0] != ',' {
			return nil, false
		}
		rest = r[1:]
	}
}

// cutString cuts a JSON string without escapes off the front of s.
func cutString(s string) (str, rest string, ok bool) {
	if len(s) < 2 || s[0] != '"' {
		return "", "", false
	}
	end := strings.IndexByte(s[1:], '"')
	if end < 0 {
		return "", "", false
	}
	str = s[1 : 1+end]
	for i := 0; i < len(str); i++ {
		if str[i] < 0x20 {
			return "", "", false // control characters are invalid JSON
		}
	}
	return str, s[2+end:], true
}

func mapKeys(m map[string]string) func(yield func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// topUp reads more entries when fewer than BatchSize are pending, so
// writes stay full. It returns stepAgain (after waiting) when the read
// failed or nothing is pending.
func (r *Relay) topUp(ctx context.Context, l *leadership) step {
	if len(l.pending) >= r.cfg.BatchSize {
		return stepNext
	}
	after := l.pos
	if len(l.pending) > 0 {
		after = l.pending[len(l.pending)-1].id
	}
	more, err := r.read(ctx, after, r.cfg.BatchSize-len(l.pending))
	if err != nil {
		if ctx.Err() == nil {
			r.block(0, "", false, err)
			r.log.Warn("read outbox failed; retrying", "err", err)
			r.pause(ctx, 1)
		}
		return stepAgain
	}
	l.pending = append(l.pending, more...)
	if len(l.pending) == 0 {
		r.unblock()
		backoff.Sleep(ctx, r.cfg.PollInterval)
		return stepAgain
	}
	return stepNext
}
