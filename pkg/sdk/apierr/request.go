package apierr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// DefaultMaxBody bounds a request body DecodeJSON reads unless told
// otherwise.
const DefaultMaxBody = 1 << 20

// DecodeOption adjusts DecodeJSON.
type DecodeOption func(*decodeConfig)

type decodeConfig struct {
	limit         int64
	optional      bool
	strictMembers bool
}

// MaxBody bounds the body at n bytes; a longer one is refused with 413.
func MaxBody(n int64) DecodeOption { return func(c *decodeConfig) { c.limit = n } }

// Optional accepts an empty body, leaving v as it was.
func Optional() DecodeOption { return func(c *decodeConfig) { c.optional = true } }

// DisallowUnknownFields refuses a member v has no field for.
func DisallowUnknownFields() DecodeOption { return func(c *decodeConfig) { c.strictMembers = true } }

// DecodeJSON decodes r's body, one JSON value, into v, keeping numbers
// exact (json.Number where v holds interfaces). It refuses, as an
// *Error naming field "body" (or the header) and the rule:
//   - a Content-Type that is present and not JSON (415, rule "media-type");
//     an absent one is taken as JSON;
//   - a body over the limit (413, rule "size"; read through
//     http.MaxBytesReader);
//   - an empty body unless Optional (400, rule "required");
//   - a body that is not JSON, holds more than one value, or (with
//     DisallowUnknownFields) names an unknown member (400, rule "json" or
//     "unknown").
func DecodeJSON(r *http.Request, v any, opts ...DecodeOption) error {
	c := decodeConfig{limit: DefaultMaxBody}
	for _, o := range opts {
		o(&c)
	}
	if err := CheckContentType(r, "application/json"); err != nil {
		return err
	}
	if r.Body == nil || r.Body == http.NoBody {
		return emptyBody(c)
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, c.limit))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return TooLarge(c.limit)
		}
		return Invalid("the request body could not be read", FieldError{Field: "body", Rule: "read", Message: "could not be read"}).Wrap(err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return emptyBody(c)
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if c.strictMembers {
		d.DisallowUnknownFields()
	}
	if err := d.Decode(v); err != nil {
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			name = strings.Trim(name, `"`)
			return InvalidField(name, "unknown", "is not a member of this request").Wrap(err)
		}
		return InvalidField("body", "json", "is not valid JSON for this request: "+jsonProblem(err)).Wrap(err)
	}
	// Token, not More: More reports a stray '}' or ']' after the value
	// as the end of it.
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return InvalidField("body", "json", "holds more than one JSON value")
	}
	return nil
}

// jsonProblem says what is wrong with a body without quoting it (it may
// hold personal data): the kind of error and where.
func jsonProblem(err error) string {
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	}
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		if te.Field != "" {
			return fmt.Sprintf("%s must be %s, not %s", te.Field, te.Type, te.Value)
		}
		return fmt.Sprintf("must be %s, not %s", te.Type, te.Value)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "it ends too early"
	}
	return "it does not decode"
}

func emptyBody(c decodeConfig) error {
	if c.optional {
		return nil
	}
	return InvalidField("body", "required", "is required: a JSON object")
}

// TooLarge is a body over limit bytes: invalid, answered with 413.
func TooLarge(limit int64) *Error {
	return InvalidField("body", "size", fmt.Sprintf("must be at most %d bytes", limit)).WithStatus(http.StatusRequestEntityTooLarge)
}

// CheckContentType refuses a request whose Content-Type is present and is
// neither want nor a +json type when want is application/json: invalid,
// answered with 415.
func CheckContentType(r *http.Request, want string) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil && (mt == want || want == "application/json" && strings.HasSuffix(mt, "+json")) {
		return nil
	}
	return InvalidField("Content-Type", "media-type", "must be "+want).WithStatus(http.StatusUnsupportedMediaType)
}

// IfMatch reads the If-Match header as a revision in ETag form: `"3"`,
// `W/"3"` or `3`. ok is false when the header is absent; a value that is
// not a positive revision is invalid (field "If-Match", rule "format").
func IfMatch(r *http.Request) (rev int64, ok bool, err error) {
	s := r.Header.Get("If-Match")
	if s == "" {
		return 0, false, nil
	}
	rev, err = ParseRevision("If-Match", s)
	return rev, err == nil, err
}

// RequireIfMatch is IfMatch for a write that must name the revision it
// replaces: an absent header is invalid (rule "required").
func RequireIfMatch(r *http.Request) (int64, error) {
	rev, ok, err := IfMatch(r)
	if err == nil && !ok {
		return 0, InvalidField("If-Match", "required", "an update must name the revision it replaces (the ETag of the read)")
	}
	return rev, err
}

// ParseRevision reads an ETag-shaped revision of the named field.
func ParseRevision(field, s string) (int64, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "W/")
	n, err := strconv.ParseInt(strings.Trim(s, `"`), 10, 64)
	if err != nil || n < 1 {
		return 0, InvalidField(field, "format", `must be the record's revision as its ETag, e.g. "3"`)
	}
	return n, nil
}

// ETag is the entity tag of a revision: `"3"`.
func ETag(rev int64) string { return `"` + strconv.FormatInt(rev, 10) + `"` }
