package avroserde

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
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/samnav/samnav/pkg/sdk/avro"
)

// ContentType is the Confluent Schema Registry media type for requests.
const ContentType = "application/vnd.schemaregistry.v1+json"

const (
	acceptHeader   = "application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json; q=0.9, application/json; q=0.5"
	maxBodyBytes   = 8 << 20
	defaultTimeout = 10 * time.Second
)

// RegistryClient speaks the subset of the Confluent Schema Registry REST
// API that serialisation needs, and caches what never changes: a schema id,
// once assigned, names the same schema for ever, so each id is fetched once
// and kept for the life of the client. Concurrent misses for one id share a
// single request; a failed fetch is not remembered, so the next call tries
// again. A RegistryClient is safe for concurrent use.
type RegistryClient struct {
	base    *url.URL
	http    *http.Client
	timeout time.Duration
	auth    func(*http.Request)

	mu      sync.RWMutex
	byID    map[uint32]*avro.Schema
	flights singleflight.Group
}

// Option configures a RegistryClient.
type Option func(*RegistryClient)

// WithHTTPClient sets the HTTP client (transport, TLS, proxies). The
// default is a client of its own with http.DefaultTransport.
func WithHTTPClient(c *http.Client) Option { return func(r *RegistryClient) { r.http = c } }

// WithTimeout bounds each registry request (default 10 s). The caller's
// context still applies; whichever ends first wins.
func WithTimeout(d time.Duration) Option { return func(r *RegistryClient) { r.timeout = d } }

// WithBearerToken sends "Authorization: Bearer <token>" on every request.
func WithBearerToken(token string) Option {
	return func(r *RegistryClient) {
		r.auth = func(req *http.Request) { req.Header.Set("Authorization", "Bearer "+token) }
	}
}

// WithBasicAuth sends HTTP basic credentials on every request.
func WithBasicAuth(user, password string) Option {
	return func(r *RegistryClient) {
		r.auth = func(req *http.Request) { req.SetBasicAuth(user, password) }
	}
}

// RegistryOr returns given when it is set, else a client of the registry
// at baseURL (NewRegistryClient): the one default of a service's
// Deps.Registry. R is the interface the service needs of the registry;
// *RegistryClient must implement it.
func RegistryOr[R comparable](given R, baseURL string, opts ...Option) (R, error) {
	var none R
	if given != none {
		return given, nil
	}
	c, err := NewRegistryClient(baseURL, opts...)
	if err != nil {
		return none, fmt.Errorf("registry client: %w", err)
	}
	r, ok := any(c).(R)
	if !ok {
		return none, fmt.Errorf("registry client: %T does not implement %T", c, (*R)(nil))
	}
	return r, nil
}

// NewRegistryClient returns a client for the registry at baseURL, an
// absolute http or https URL (a path prefix is kept).
func NewRegistryClient(baseURL string, opts ...Option) (*RegistryClient, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("parse registry url: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("registry url %q: must be an absolute http or https URL", baseURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	c := &RegistryClient{
		base:    u,
		http:    &http.Client{},
		timeout: defaultTimeout,
		byID:    make(map[uint32]*avro.Schema),
	}
	for _, o := range opts {
		o(c)
	}
	if c.timeout <= 0 {
		return nil, fmt.Errorf("registry timeout %s: must be positive", c.timeout)
	}
	return c, nil
}

// SchemaByID returns the schema registered under id, from the cache when it
// has been seen before. Errors: ErrUnknownSchemaID, ErrRegistryUnavailable,
// ErrRegistryRejected.
func (c *RegistryClient) SchemaByID(ctx context.Context, id uint32) (*avro.Schema, error) {
	c.mu.RLock()
	s, ok := c.byID[id]
	c.mu.RUnlock()
	if ok {
		return s, nil
	}
	// The shared fetch must not die with whichever caller started it, so it
	// runs detached from that caller's cancellation (still bounded by the
	// client's timeout); each caller waits only as long as its own context.
	ch := c.flights.DoChan(strconv.FormatUint(uint64(id), 10), func() (any, error) {
		c.mu.RLock()
		s, ok := c.byID[id]
		c.mu.RUnlock()
		if ok {
			return s, nil
		}
		s, err := c.fetch(context.WithoutCancel(ctx), id)
		if err != nil {
			return nil, err
		}
		c.remember(id, s)
		return s, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*avro.Schema), nil
	case <-ctx.Done():
		return nil, &Error{Op: "fetch schema", SchemaID: id, Kind: ErrRegistryUnavailable, Err: ctx.Err()}
	}
}

func (c *RegistryClient) remember(id uint32, s *avro.Schema) {
	c.mu.Lock()
	c.byID[id] = s
	c.mu.Unlock()
}

type schemaResponse struct {
	Schema     string            `json:"schema"`
	SchemaType string            `json:"schemaType"`
	References []json.RawMessage `json:"references"`
}

func (c *RegistryClient) fetch(ctx context.Context, id uint32) (*avro.Schema, error) {
	var resp schemaResponse
	op := "fetch schema"
	if err := c.do(ctx, http.MethodGet, "/schemas/ids/"+strconv.FormatUint(uint64(id), 10), nil, &resp); err != nil {
		return nil, classify(op, id, "", err, ErrUnknownSchemaID)
	}
	return parseRegistered(op, id, resp)
}

func parseRegistered(op string, id uint32, resp schemaResponse) (*avro.Schema, error) {
	if resp.SchemaType != "" && resp.SchemaType != "AVRO" {
		return nil, &Error{Op: op, SchemaID: id, Kind: ErrRegistryRejected,
			Err: fmt.Errorf("schemaType %q: only AVRO is supported", resp.SchemaType)}
	}
	if len(resp.References) > 0 {
		return nil, &Error{Op: op, SchemaID: id, Kind: ErrRegistryRejected,
			Err: errors.New("references: schema references are not supported")}
	}
	s, err := avro.Parse(resp.Schema)
	if err != nil {
		return nil, &Error{Op: op, SchemaID: id, Kind: ErrRegistryRejected, Err: err}
	}
	return s, nil
}

type registerRequest struct {
	Schema     string `json:"schema"`
	SchemaType string `json:"schemaType,omitempty"`
}

type idResponse struct {
	ID      uint32 `json:"id"`
	Version int    `json:"version"`
}

// Register registers the schema text under subject (or finds it there
// already) and returns its id. The text is sent as given, docs and defaults
// included, because the registry's compatibility checks need the defaults.
// Errors: ErrIncompatible (409), ErrRegistryUnavailable, ErrRegistryRejected.
func (c *RegistryClient) Register(ctx context.Context, subject, schemaText string) (uint32, error) {
	s, err := parseForSubject("register", subject, schemaText)
	if err != nil {
		return 0, err
	}
	var resp idResponse
	err = c.do(ctx, http.MethodPost, "/subjects/"+url.PathEscape(subject)+"/versions",
		registerRequest{Schema: schemaText}, &resp)
	if err != nil {
		return 0, classify("register", 0, subject, err, ErrNotRegistered)
	}
	c.remember(resp.ID, s)
	return resp.ID, nil
}

// Lookup returns the id of schemaText when it is registered under subject,
// without registering it. Errors: ErrNotRegistered, ErrRegistryUnavailable,
// ErrRegistryRejected.
func (c *RegistryClient) Lookup(ctx context.Context, subject, schemaText string) (uint32, error) {
	s, err := parseForSubject("lookup", subject, schemaText)
	if err != nil {
		return 0, err
	}
	var resp idResponse
	err = c.do(ctx, http.MethodPost, "/subjects/"+url.PathEscape(subject),
		registerRequest{Schema: schemaText}, &resp)
	if err != nil {
		return 0, classify("lookup", 0, subject, err, ErrNotRegistered)
	}
	c.remember(resp.ID, s)
	return resp.ID, nil
}

func parseForSubject(op, subject, text string) (*avro.Schema, error) {
	if subject == "" {
		return nil, &Error{Op: op, Kind: ErrRegistryRejected, Err: errors.New("subject: must not be empty")}
	}
	s, err := avro.Parse(text)
	if err != nil {
		return nil, &Error{Op: op, Subject: subject, Kind: ErrRegistryRejected, Err: err}
	}
	return s, nil
}

// classify turns a transport or registry failure into an *Error. notFound
// is the kind a 404 maps to for this operation.
func classify(op string, id uint32, subject string, err error, notFound error) error {
	e := &Error{Op: op, SchemaID: id, Subject: subject, Err: err}
	var re *RegistryError
	switch {
	case !errors.As(err, &re):
		e.Kind = ErrRegistryUnavailable // network, timeout, unreadable answer
	case re.Status == http.StatusNotFound:
		e.Kind = notFound
		if re.Code == 40403 && op == "fetch schema" {
			e.Kind = ErrUnknownSchemaID
		}
	case re.Status == http.StatusConflict:
		e.Kind = ErrIncompatible
	case re.Status >= 500 || re.Status == http.StatusTooManyRequests || re.Status == http.StatusRequestTimeout:
		e.Kind = ErrRegistryUnavailable
	default:
		e.Kind = ErrRegistryRejected
	}
	return e
}

// do sends one request and decodes a 2xx JSON answer into out. A non-2xx
// answer becomes a *RegistryError; anything else is a transport failure.
func (c *RegistryClient) do(ctx context.Context, method, path string, in, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	u := *c.base
	path, u.RawQuery, _ = strings.Cut(path, "?") // a query, as in "?permanent=true"
	u.Path += path
	u.RawPath = ""
	if strings.Contains(path, "%") {
		u.RawPath = c.base.EscapedPath() + path
		u.Path, _ = url.PathUnescape(u.RawPath)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Accept", acceptHeader)
	if in != nil {
		req.Header.Set("Content-Type", ContentType)
	}
	if c.auth != nil {
		c.auth(req)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
	if err != nil {
		return fmt.Errorf("read %s %s answer: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		re := &RegistryError{Status: resp.StatusCode}
		var eb struct {
			Code    int    `json:"error_code"`
			Message string `json:"message"`
		}
		if json.Unmarshal(data, &eb) == nil {
			re.Code, re.Message = eb.Code, eb.Message
		}
		if re.Message == "" {
			re.Message = http.StatusText(resp.StatusCode)
		}
		return re
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode %s %s answer: %w", method, path, err)
	}
	return nil
}
