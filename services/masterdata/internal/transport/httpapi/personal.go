// No personal data in URLs: a value of a personal attribute would stay in
// every proxy's and server's access log, the browser history and the
// Referer of the next request. Lookups and searches by such an attribute
// go in a POST body; GET stays for non-personal keys.

package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	kithttp "github.com/go-kit/kit/transport/http"

	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/paging"
	"github.com/samnav/samnav/services/masterdata/client"
	"github.com/samnav/samnav/services/masterdata/record"
)

// RulePersonalDataInURL names the refusal of a GET that carries the value
// of a personal attribute in its path or query.
const RulePersonalDataInURL = "personal-data-in-url"

// LookupPath and SearchPath are the POST routes that take a natural key or
// a search in their body.
const (
	LookupPath = "/api/v1/lookup/{concept}"
	SearchPath = "/api/v1/search/{concept}"
)

// noPersonalDataInURL wraps a GET decoder (natural-key lookup or list) and
// refuses the request, naming the attribute, when its URL holds the value
// of an attribute the model classifies as personal data: a natural key, a
// filter, or a text search (q), which searches names.
func noPersonalDataInURL(m *model.Model, dec kithttp.DecodeRequestFunc) kithttp.DecodeRequestFunc {
	return func(ctx context.Context, r *http.Request) (any, error) {
		req, err := dec(ctx, r)
		if err != nil {
			return nil, err
		}
		var c *model.Concept
		switch x := req.(type) {
		case naturalKeyRequest:
			if c = m.Concept(x.Concept); c != nil && c.Attribute(x.Attribute).Personal() {
				return nil, invalid(x.Attribute, RulePersonalDataInURL, "is personal data and must not be in a URL: look it up with POST "+LookupPath+", the value in the body")
			}
		case listRequest:
			if c = m.Concept(x.Concept); c == nil {
				break
			}
			for attr := range x.Query.Filter {
				if c.Attribute(attr).Personal() {
					return nil, invalid(attr, RulePersonalDataInURL, "is personal data and must not be in a URL: filter by it with POST "+SearchPath+", the value in the body")
				}
			}
			if x.Query.Search != "" {
				for _, attr := range record.TextAttributes(c) {
					if c.Attribute(attr).Personal() {
						return nil, invalid("q", RulePersonalDataInURL, "searches personal data and must not be in a URL: search with POST "+SearchPath+", q in the body")
					}
				}
			}
		}
		return req, nil
	}
}

func decodeLookup(_ context.Context, r *http.Request) (any, error) {
	var body client.NaturalKey
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	if body.Attribute == "" {
		return nil, invalid("attribute", "required", "names the natural-key attribute to look up by")
	}
	if body.Value == "" {
		return nil, invalid("value", "required", "is the value looked up")
	}
	return naturalKeyRequest{Concept: r.PathValue("concept"), Attribute: body.Attribute, Value: body.Value}, nil
}

func decodeSearch(_ context.Context, r *http.Request) (any, error) {
	var body client.SearchRequest
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	q := record.ListQuery{Search: body.Q, Filter: body.Filter, IncludeEnded: body.IncludeEnded}
	if q.Filter == nil {
		q.Filter = map[string]string{}
	}
	v := url.Values{}
	if body.Limit != 0 {
		v.Set("limit", strconv.Itoa(body.Limit))
	}
	if body.Cursor != "" {
		v.Set("cursor", body.Cursor)
	}
	page, fields := paging.Parse(v, 0)
	if len(fields) > 0 {
		return nil, invalid(fields[0].Field, fields[0].Rule, fields[0].Message)
	}
	q.Limit, q.After = page.Limit, page.After
	return listRequest{Concept: r.PathValue("concept"), Query: q}, nil
}
