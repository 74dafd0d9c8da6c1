package apierr

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"sort"
	"strings"
)

// maxErrorBody bounds the error body FromResponse reads.
const maxErrorBody = 1 << 20

// FromResponse returns nil for a 2xx response and otherwise the *Error it
// reports, reading (at most 1 MiB of) its body; see Parse. It does not
// close the body.
func FromResponse(resp *http.Response) error {
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	var body []byte
	if resp.Body != nil {
		body, _ = io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	}
	return Parse(resp.StatusCode, resp.Header, body)
}

// Parse turns an error answer into an *Error: a problem+json body (the
// shape Write sends), and, while clients and servers change over, the
// older shapes {"error":{"code","message","fields":[...] or {name: text},
// "field","rule",...}} and the registry's Confluent {"error_code",
// "message"}; anything else becomes a message from the body's text.
// Code comes from the body when it names one of the codes, else from the
// status; Status is kept when it is not the code's own. Members Parse does
// not know are kept in Extensions as json.RawMessage (e.g. "current").
func Parse(status int, header http.Header, body []byte) *Error {
	e := &Error{}
	ok := false
	if isJSON(header) || looksJSON(body) {
		ok = parseProblem(e, body) || parseLegacy(e, body) || parseConfluent(e, body)
	}
	if !e.Code.Valid() {
		e.Code = codeForStatus(status)
	}
	if status != e.Code.Status() {
		e.Status = status
	}
	if e.Message == "" && !ok {
		e.Message = strings.TrimSpace(string(body))
		if len(e.Message) > 500 {
			e.Message = e.Message[:500]
		}
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	if e.Message == "" {
		e.Message = e.Code.Title()
	}
	return e
}

func isJSON(h http.Header) bool {
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

func looksJSON(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{'
}

func parseProblem(e *Error, body []byte) bool {
	var members map[string]json.RawMessage
	if json.Unmarshal(body, &members) != nil {
		return false
	}
	if _, ok := members["type"]; !ok {
		if _, ok := members["detail"]; !ok {
			return false
		}
	}
	var p struct {
		Detail  string       `json:"detail"`
		Code    Code         `json:"code"`
		Fields  []FieldError `json:"fields"`
		TraceID string       `json:"traceId"`
		Type    string       `json:"type"`
	}
	if json.Unmarshal(body, &p) != nil {
		return false
	}
	e.Code, e.Message, e.Fields, e.TraceID = p.Code, p.Detail, p.Fields, p.TraceID
	if !e.Code.Valid() {
		e.Code = Code(strings.TrimPrefix(p.Type, TypePrefix))
	}
	for k, v := range members {
		if !standard[k] {
			if e.Extensions == nil {
				e.Extensions = map[string]any{}
			}
			e.Extensions[k] = v
		}
	}
	return true
}

// parseLegacy reads {"error": {...}}, the services' shape before
// problem+json, with each of its three ways of naming fields.
func parseLegacy(e *Error, body []byte) bool {
	var b struct {
		Error *struct {
			Code    Code            `json:"code"`
			Message string          `json:"message"`
			Fields  json.RawMessage `json:"fields"`
			Field   string          `json:"field"`
			Rule    string          `json:"rule"`
			Current json.RawMessage `json:"current"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &b) != nil || b.Error == nil {
		return false
	}
	e.Code, e.Message = b.Error.Code, b.Error.Message
	var list []FieldError
	var byName map[string]string
	switch {
	case len(b.Error.Fields) == 0:
	case json.Unmarshal(b.Error.Fields, &list) == nil:
		e.Fields = list
	case json.Unmarshal(b.Error.Fields, &byName) == nil:
		names := make([]string, 0, len(byName))
		for k := range byName {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			rule, _, found := strings.Cut(byName[k], ":")
			if !found || strings.ContainsAny(rule, " \"") {
				rule = ""
			}
			e.Fields = append(e.Fields, FieldError{Field: k, Rule: rule, Message: byName[k]})
		}
	}
	if b.Error.Field != "" {
		e.Fields = append(e.Fields, FieldError{Field: b.Error.Field, Rule: b.Error.Rule, Message: b.Error.Message})
	}
	if len(b.Error.Current) > 0 && string(b.Error.Current) != "null" {
		e.Extensions = map[string]any{"current": b.Error.Current}
	}
	return true
}

// parseConfluent reads the registry's {"error_code": 40401, "message"}.
func parseConfluent(e *Error, body []byte) bool {
	var b struct {
		ErrorCode *int   `json:"error_code"`
		Message   string `json:"message"`
	}
	if json.Unmarshal(body, &b) != nil || (b.ErrorCode == nil && b.Message == "") {
		return false
	}
	e.Message = b.Message
	return true
}

// codeForStatus is the code a status stands for when a body names none.
func codeForStatus(status int) Code {
	switch {
	case status == http.StatusBadRequest, status == http.StatusUnprocessableEntity,
		status == http.StatusRequestEntityTooLarge, status == http.StatusUnsupportedMediaType:
		return CodeInvalid
	case status == http.StatusNotFound, status == http.StatusGone:
		return CodeNotFound
	case status == http.StatusConflict, status == http.StatusPreconditionFailed:
		return CodeConflict
	case status == http.StatusUnauthorized:
		return CodeUnauthorized
	case status == http.StatusForbidden:
		return CodeForbidden
	case status == http.StatusServiceUnavailable, status == http.StatusBadGateway,
		status == http.StatusGatewayTimeout, status == http.StatusTooManyRequests:
		return CodeUnavailable
	case status >= 400 && status < 500:
		return CodeInvalid
	}
	return CodeInternal
}

// Extension decodes the extension member name (e.g. "current", the state
// a write was refused against) into v; false when there is none or it
// does not decode into v.
func (e *Error) Extension(name string, v any) bool {
	raw, ok := e.Extensions[name]
	if !ok {
		return false
	}
	var b []byte
	switch x := raw.(type) {
	case json.RawMessage:
		b = x
	default:
		var err error
		if b, err = json.Marshal(x); err != nil {
			return false
		}
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v) == nil
}
