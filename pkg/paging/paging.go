// Package paging is how the hub's REST lists page: a request names a
// limit and the cursor of the previous page's "next", and cursors are
// opaque to clients (base64url of the last id of a page), so that the
// stores' keys can change without breaking a client.
package paging

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"

	"github.com/samnav/samnav/pkg/sdk/apierr"
)

// ErrBadCursor is a cursor this API did not make.
var ErrBadCursor = errors.New("bad cursor")

// Cursor returns the opaque cursor of the page that starts after id
// after; "" (the last page has no next) for "".
func Cursor(after string) string {
	if after == "" {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte("a:" + after))
}

// After returns the id a cursor from Cursor starts after, or
// ErrBadCursor.
func After(cursor string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || !bytes.HasPrefix(b, []byte("a:")) {
		return "", ErrBadCursor
	}
	return string(b[2:]), nil
}

// Page is the page a list request asks for: Limit 0 when the request
// names none (the store's default), After "" for the first page.
type Page struct {
	Limit int
	After string
}

// Parse reads the page from q's "limit" and "cursor": limit an integer,
// between 1 and maxLimit when maxLimit > 0; cursor one Cursor made. It
// returns every problem, as field errors naming the parameter and the
// rule, in that order.
func Parse(q url.Values, maxLimit int) (Page, []apierr.FieldError) {
	var p Page
	var fields []apierr.FieldError
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		switch {
		case err != nil:
			fields = append(fields, apierr.FieldError{Field: "limit", Rule: "type", Message: "must be an integer"})
		case maxLimit > 0 && (n < 1 || n > maxLimit):
			fields = append(fields, apierr.FieldError{Field: "limit", Rule: "range", Message: fmt.Sprintf("must be between 1 and %d", maxLimit)})
		}
		p.Limit = n
	}
	if s := q.Get("cursor"); s != "" {
		after, err := After(s)
		if err != nil {
			fields = append(fields, apierr.FieldError{Field: "cursor", Rule: "format", Message: "is not a cursor this API returned"})
		}
		p.After = after
	}
	return p, fields
}
