package feed

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
)

// Cursor kinds: a snapshot cursor continues paging a snapshot; a changes
// cursor continues reading the change log.
const (
	kindSnapshot = "s"
	kindChanges  = "c"
)

// cursor is what an opaque cursor string carries. Clients never see the
// fields: the string is the base64url JSON of this struct, a dot, and a
// truncated HMAC-SHA256 of the JSON under the feed's key, so a cursor
// cannot be forged or edited, and one made for another subscription (or
// by a feed with another key) is refused.
type cursor struct {
	V    int    `json:"v"`
	Kind string `json:"k"`
	Sub  string `json:"s"`
	// Pos is the change-log position: for a changes cursor, the last one
	// read; for a snapshot cursor, the head when the snapshot began.
	Pos int64 `json:"p"`
	// After is the last key a snapshot page returned.
	After string `json:"a,omitempty"`
}

const macSize = 16

// maxCursorLen bounds what is decoded from outside input.
const maxCursorLen = 4096

var errCursor = errors.New("cursor")

type cursorCodec struct{ key []byte }

func (c cursorCodec) encode(cur cursor) string {
	cur.V = 1
	body, err := json.Marshal(cur)
	if err != nil { // a struct of strings and ints always marshals
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(body) + "." + base64.RawURLEncoding.EncodeToString(c.mac(body))
}

func (c cursorCodec) mac(body []byte) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write(body)
	return m.Sum(nil)[:macSize]
}

// decode verifies s and returns its cursor if it is of kind and for sub.
// Every failure wraps errCursor and says which rule s breaks.
func (c cursorCodec) decode(s, kind, sub string) (cursor, error) {
	if len(s) > maxCursorLen {
		return cursor{}, cursorError("is longer than 4096 characters")
	}
	b64, sig, ok := strings.Cut(s, ".")
	if !ok {
		return cursor{}, cursorError("is malformed: it is not a cursor this feed issued")
	}
	body, err1 := base64.RawURLEncoding.DecodeString(b64)
	mac, err2 := base64.RawURLEncoding.DecodeString(sig)
	if err1 != nil || err2 != nil || len(mac) != macSize {
		return cursor{}, cursorError("is malformed: it is not a cursor this feed issued")
	}
	if !hmac.Equal(mac, c.mac(body)) {
		return cursor{}, cursorError("does not verify: it was altered, or issued by another feed")
	}
	var cur cursor
	if err := json.Unmarshal(body, &cur); err != nil || cur.V != 1 || cur.Pos < 0 {
		return cursor{}, cursorError("is malformed: it is not a cursor this feed issued")
	}
	if cur.Sub != sub {
		return cursor{}, cursorError("belongs to another subscription")
	}
	if cur.Kind != kind {
		if kind == kindChanges {
			return cursor{}, cursorError("is a snapshot page cursor: use it with /snapshot, and the snapshot's changesCursor here")
		}
		return cursor{}, cursorError("is a changes cursor: use it with /changes")
	}
	return cur, nil
}

func cursorError(rule string) error {
	return &cursorErr{rule: rule}
}

type cursorErr struct{ rule string }

func (e *cursorErr) Error() string        { return "cursor " + e.rule }
func (e *cursorErr) Is(target error) bool { return target == errCursor }
