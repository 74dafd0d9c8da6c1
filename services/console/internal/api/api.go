// Package api is the console's client of the Samnav service APIs: master
// data, delivery and the schema registry. Every call carries the signed-in
// person's own token, so the APIs' role checks decide what the console
// may show and change. It holds no data and no business rules.
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/samnav/samnav/pkg/sdk/apierr"
)

// maxResponse bounds a response body the console reads.
const maxResponse = 16 << 20

// Client calls the services. It is safe for concurrent use.
type Client struct {
	MasterdataURL string
	DeliveryURL   string
	RegistryURL   string
	HTTP          *http.Client
}

// FieldError is one field problem of an invalid write, as the APIs report
// it: the field's path, the rule it breaks and a message.
type FieldError = apierr.FieldError

// Error is a refusal or failure from an API, as apierr.FromResponse reads
// it: the HTTP status, the code of the closed set, the message, the field
// problems of an invalid write, and for a refused write of a record the
// record as it is now.
type Error struct {
	Status  int
	Code    apierr.Code
	Message string
	Fields  []FieldError
	Current *Record
	// Op names the call, e.g. "GET /api/v1/unit".
	Op string
	// Err is the API's error as apierr parsed it.
	Err *apierr.Error
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %d %s: %s", e.Op, e.Status, e.Code, e.Message)
}

// Unwrap returns the API's error, so apierr.CodeOf reads its code.
func (e *Error) Unwrap() error {
	if e.Err == nil {
		return nil
	}
	return e.Err
}

// Refused reports whether the API refused the caller (401 or 403).
func (e *Error) Refused() bool {
	return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden
}

// AsError returns the *Error in err's chain, or nil.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// IsRefused reports whether err is an API's 401 or 403.
func IsRefused(err error) bool {
	e := AsError(err)
	return e != nil && e.Refused()
}

// IsStatus reports whether err is an API error with the status.
func IsStatus(err error, status int) bool {
	e := AsError(err)
	return e != nil && e.Status == status
}

// call does one request with the caller's token and decodes a JSON
// success into out (when not nil), numbers as json.Number so that a
// record's state keeps them exact. A non-2xx status returns *Error. It is
// the one place the console sends a request to a service.
func (c *Client) call(ctx context.Context, token, method, rawURL string, header http.Header, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", method, rawURL, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, rawURL, err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, req.URL.Path, err)
	}
	defer func() { _ = resp.Body.Close() }() // read to the end or bounded; nothing to report
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return fmt.Errorf("%s %s: read body: %w", method, req.URL.Path, err)
	}
	op := method + " " + req.URL.Path
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return decodeError(op, resp.StatusCode, resp.Header, raw)
	}
	if out != nil {
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if err := d.Decode(out); err != nil {
			return fmt.Errorf("%s: decode response: %w", op, err)
		}
	}
	return nil
}

// fetch is call for an answer that is one T.
func fetch[T any](ctx context.Context, c *Client, token, method, rawURL string, header http.Header, body any) (*T, error) {
	var v T
	if err := c.call(ctx, token, method, rawURL, header, body, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// delivery is call for the delivery service's APIs, which take no extra
// request headers.
func (c *Client) delivery(ctx context.Context, token, method, rawURL string, body, out any) error {
	return c.call(ctx, token, method, rawURL, nil, body, out)
}

// decodeError reads an API's error answer with apierr.Parse: the
// services' problem+json and the registry's Confluent body alike.
func decodeError(op string, status int, header http.Header, raw []byte) *Error {
	ae := apierr.Parse(status, header, raw)
	e := &Error{Status: status, Code: ae.Code, Message: ae.Message, Fields: ae.Fields, Op: op, Err: ae}
	var cur Record
	if ae.Extension("current", &cur) {
		e.Current = &cur
	}
	return e
}

func join(base string, elems ...string) string {
	var b strings.Builder
	b.WriteString(strings.TrimRight(base, "/"))
	for _, e := range elems {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(e))
	}
	return b.String()
}

// Record is a master record as the masterdata API shows it.
type Record struct {
	Concept   string         `json:"concept"`
	ID        string         `json:"id"`
	Revision  int64          `json:"revision"`
	State     map[string]any `json:"state"`
	EndedAt   *time.Time     `json:"endedAt,omitempty"`
	EndReason string         `json:"endReason,omitempty"`
	CreatedAt time.Time      `json:"createdAt"`
	UpdatedAt time.Time      `json:"updatedAt"`
}

// Actor is who made a change, through which system.
type Actor struct {
	Subject      string `json:"subject"`
	CredentialID string `json:"credentialId,omitempty"`
	System       string `json:"system"`
}

// Change is one entry of a record's history.
type Change struct {
	Seq      int64          `json:"seq"`
	Revision int64          `json:"revision"`
	Kind     string         `json:"kind"`
	At       time.Time      `json:"at"`
	Actor    Actor          `json:"actor"`
	Reason   string         `json:"reason,omitempty"`
	State    map[string]any `json:"state"`
}

// Page is one page of records and the cursor of the next ("" at the end).
type Page struct {
	Records []*Record `json:"records"`
	Next    string    `json:"next,omitempty"`
}

// ListQuery selects records: Filter holds attribute=value filters, Search
// a text search, Cursor a page cursor the API returned.
type ListQuery struct {
	Filter       map[string]string
	Search       string
	Limit        int
	Cursor       string
	IncludeEnded bool
}

// ListRecords returns one page of records of a concept.
func (c *Client) ListRecords(ctx context.Context, token, concept string, q ListQuery) (*Page, error) {
	v := url.Values{}
	for k, val := range q.Filter {
		v.Set(k, val)
	}
	if q.Search != "" {
		v.Set("q", q.Search)
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Cursor != "" {
		v.Set("cursor", q.Cursor)
	}
	if q.IncludeEnded {
		v.Set("includeEnded", "true")
	}
	u := join(c.MasterdataURL, "api", "v1", concept)
	if len(v) > 0 {
		u += "?" + v.Encode()
	}
	return fetch[Page](ctx, c, token, http.MethodGet, u, nil, nil)
}

// GetRecord returns one record.
func (c *Client) GetRecord(ctx context.Context, token, concept, id string) (*Record, error) {
	return fetch[Record](ctx, c, token, http.MethodGet, join(c.MasterdataURL, "api", "v1", concept, id), nil, nil)
}

// RecordByNaturalKey returns the record whose natural-key attribute has
// the value.
func (c *Client) RecordByNaturalKey(ctx context.Context, token, concept, attribute, value string) (*Record, error) {
	return fetch[Record](ctx, c, token, http.MethodGet, join(c.MasterdataURL, "api", "v1", concept, "by", attribute, value), nil, nil)
}

func reasonHeader(reason string) http.Header {
	h := http.Header{}
	if reason != "" {
		h.Set("Samnav-Reason", reason)
	}
	return h
}

// CreateRecord creates a record with the reason for the change.
func (c *Client) CreateRecord(ctx context.Context, token, concept string, state map[string]any, reason string) (*Record, error) {
	return fetch[Record](ctx, c, token, http.MethodPost, join(c.MasterdataURL, "api", "v1", concept), reasonHeader(reason), state)
}

// UpdateRecord replaces a record's state; revision is the one the change
// was based on, and a stale one fails with a 412 conflict *Error whose
// Current is the record as it is now.
func (c *Client) UpdateRecord(ctx context.Context, token, concept, id string, revision int64, state map[string]any, reason string) (*Record, error) {
	h := reasonHeader(reason)
	h.Set("If-Match", `"`+strconv.FormatInt(revision, 10)+`"`)
	return fetch[Record](ctx, c, token, http.MethodPut, join(c.MasterdataURL, "api", "v1", concept, id), h, state)
}

// EndRecord ends a record for the reason; revision 0 skips the
// concurrency check.
func (c *Client) EndRecord(ctx context.Context, token, concept, id string, revision int64, reason string) (*Record, error) {
	h := http.Header{}
	if revision > 0 {
		h.Set("If-Match", `"`+strconv.FormatInt(revision, 10)+`"`)
	}
	body := map[string]string{"reason": reason}
	return fetch[Record](ctx, c, token, http.MethodPost, join(c.MasterdataURL, "api", "v1", concept, id, "end"), h, body)
}

// History returns every change of a record, oldest first.
func (c *Client) History(ctx context.Context, token, concept, id string) ([]Change, error) {
	var h struct {
		Changes []Change `json:"changes"`
	}
	if err := c.call(ctx, token, http.MethodGet, join(c.MasterdataURL, "api", "v1", concept, id, "history"), nil, nil, &h); err != nil {
		return nil, err
	}
	return h.Changes, nil
}

// SchemaVersions returns the registered versions of a registry subject,
// ascending; a subject the registry does not know returns none.
func (c *Client) SchemaVersions(ctx context.Context, token, subject string) ([]int, error) {
	var vs []int
	err := c.call(ctx, token, http.MethodGet, join(c.RegistryURL, "subjects", subject, "versions"), nil, nil, &vs)
	if IsStatus(err, http.StatusNotFound) {
		return nil, nil
	}
	return vs, err
}

// Compatibility returns the compatibility level of a subject, falling
// back to the registry's global level when the subject has none of its
// own.
func (c *Client) Compatibility(ctx context.Context, token, subject string) (string, error) {
	var cfg struct {
		Level  string `json:"compatibilityLevel"`
		Level2 string `json:"compatibility"`
	}
	err := c.call(ctx, token, http.MethodGet, join(c.RegistryURL, "config", subject), nil, nil, &cfg)
	if IsStatus(err, http.StatusNotFound) {
		err = c.call(ctx, token, http.MethodGet, join(c.RegistryURL, "config"), nil, nil, &cfg)
	}
	if err != nil {
		return "", err
	}
	if cfg.Level == "" {
		cfg.Level = cfg.Level2
	}
	return cfg.Level, nil
}
