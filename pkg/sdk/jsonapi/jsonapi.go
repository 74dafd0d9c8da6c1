// Package jsonapi sends one JSON request to a Samnav REST API and decodes
// its answer: the request plumbing the services' typed clients share.
package jsonapi

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

	"github.com/samnav/samnav/pkg/sdk/apierr"
)

// Endpoint is where and as whom requests go.
type Endpoint struct {
	// BaseURL is the API's root, e.g. http://127.0.0.1:8080.
	BaseURL string
	// Token is sent as a bearer token when set.
	Token string
	// HTTP sends the requests; nil means http.DefaultClient.
	HTTP *http.Client
}

// maxAnswer bounds the answer Do reads: a page of records or events is
// far smaller, and a runaway body must not exhaust the caller's memory.
const maxAnswer = 16 << 20

// Do sends method path with in (when not nil) as its JSON body and the
// extra headers h, and decodes a 2xx answer into out (when not nil).
// Numbers in untyped parts of out (a record's state, a map[string]any)
// decode as json.Number, so an integer or decimal stays exactly what the
// API sent. An error answer is returned as the *apierr.Error
// apierr.FromResponse makes of it.
func (e Endpoint) Do(ctx context.Context, method, path string, h http.Header, in, out any) error {
	route, _, _ := strings.Cut(path, "?")
	return e.DoRoute(ctx, route, method, path, h, in, out)
}

// DoRoute is Do for a path that may hold personal data (a natural key's
// value, say): its errors name route (e.g.
// "/api/v1/{concept}/by/{attribute}/{value}") instead of the path. Do's
// errors name the path without its query.
func (e Endpoint) DoRoute(ctx context.Context, route, method, path string, h http.Header, in, out any) error {
	var body io.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", method, route, err)
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(e.BaseURL, "/")+path, body)
	if err != nil {
		return fmt.Errorf("build %s %s: %w", method, route, err)
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if e.Token != "" {
		req.Header.Set("Authorization", "Bearer "+e.Token)
	}
	hc := e.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		// The query may hold filter values (personal data, say): the
		// error names the path only, and not the *url.Error's full URL.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return fmt.Errorf("%s %s: %w", method, route, err)
	}
	defer func() { _ = resp.Body.Close() }() // a read-side close has nothing to report
	if err := apierr.FromResponse(resp); err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	d := json.NewDecoder(io.LimitReader(resp.Body, maxAnswer))
	d.UseNumber()
	if err := d.Decode(out); err != nil {
		return fmt.Errorf("decode %s %s: %w", method, route, err)
	}
	return nil
}

// Query is a request's query parameters. Set and SetInt leave out a zero
// value, so an option the caller did not give is not sent and the
// server's default holds.
type Query url.Values

// Set sets name to v, unless v is "".
func (q Query) Set(name, v string) {
	if v != "" {
		url.Values(q).Set(name, v)
	}
}

// SetInt sets name to n, unless n is 0 or less.
func (q Query) SetInt(name string, n int64) {
	if n > 0 {
		url.Values(q).Set(name, strconv.FormatInt(n, 10))
	}
}

// Path returns path with the query appended, when there is one.
func (q Query) Path(path string) string {
	if len(q) == 0 {
		return path
	}
	return path + "?" + url.Values(q).Encode()
}
