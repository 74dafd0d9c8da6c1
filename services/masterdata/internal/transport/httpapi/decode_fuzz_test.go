package httpapi

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/samnav/samnav/pkg/paging"
	"github.com/samnav/samnav/pkg/sdk/apierr"
)

// FuzzDecode feeds one request's outside input (a JSON body, an If-Match
// header, a query string) to every decoder of the API. Each either
// accepts it, keeping the round trips that exist (a revision read from
// If-Match is the one its ETag names; a list cursor is the one this API
// would return for the id it decodes to), or refuses it with the invalid
// code and one field error naming the body, the header or the parameter
// and the rule. None panics.
func FuzzDecode(f *testing.F) {
	for _, s := range []struct{ body, ifMatch, query string }{
		// As the console and the CLI send them.
		{`{"givenNames":"Ella","surname":"Lind","registeredAddress":{"streetAddress":"Storgatan 1","postalCode":"11122","postTown":"Stockholm"}}`, `"3"`, "reason=moved"}, // refused: a reason travels in the header
		{`{"items":[{"op":"upsert","state":{"personalIdentityNumber":"201405052380","givenNames":"Ella"}},{"op":"end","naturalKey":{"attribute":"personalIdentityNumber","value":"201405052398"},"reason":"deceased"}]}`, "", ""},
		{`{"reason":"the unit closed"}`, `W/"12"`, "includeEnded=true&limit=50&cursor=YTpwLTAwMDAwMQ"},
		{`{"items":[]}`, "0", "q=Lind&municipalityCode=0180&limit=x"},
		{`{"a":1}{"b":2}`, `"-1"`, "cursor=%%%&includeEnded=maybe"},
		{`{"n":1e999999}`, `"9223372036854775808"`, "limit=99999999999999999999"},
		{``, ``, ``},
	} {
		f.Add([]byte(s.body), s.ifMatch, s.query)
	}
	fields := []string{"body", "If-Match", "limit", "cursor", "includeEnded", "reason"}
	f.Fuzz(func(t *testing.T, body []byte, ifMatch, query string) {
		req := func() *http.Request {
			r := httptest.NewRequest("POST", "/api/v1/person/p-1", bytes.NewReader(body))
			r.URL.RawQuery = query
			if ifMatch != "" {
				r.Header.Set("If-Match", ifMatch)
			}
			r.SetPathValue("concept", "person")
			r.SetPathValue("id", "p-1")
			return r
		}
		refused := func(name string, err error) {
			t.Helper()
			var e *apierr.Error
			if !errors.As(err, &e) || e.Code != apierr.CodeInvalid || len(e.Fields) != 1 ||
				!slices.Contains(fields, e.Fields[0].Field) || e.Fields[0].Rule == "" {
				t.Fatalf("%s(%q, If-Match %q, ?%s): %#v, want invalid with one field error naming what was wrong", name, body, ifMatch, query, err)
			}
		}
		for name, dec := range map[string]func(*http.Request) (any, error){
			"create":  func(r *http.Request) (any, error) { return decodeCreate(r.Context(), r) },
			"update":  func(r *http.Request) (any, error) { return decodeUpdate(r.Context(), r) },
			"end":     func(r *http.Request) (any, error) { return decodeEnd(r.Context(), r) },
			"list":    func(r *http.Request) (any, error) { return decodeList(r.Context(), r) },
			"publish": func(r *http.Request) (any, error) { return decodePublish(r.Context(), r) },
		} {
			v, err := dec(req())
			if err != nil {
				refused(name, err)
				continue
			}
			switch v := v.(type) {
			case updateRequest:
				if rev, err := apierr.ParseRevision("If-Match", apierr.ETag(v.Revision)); v.Revision < 1 || err != nil || rev != v.Revision {
					t.Fatalf("If-Match %q read as revision %d, whose ETag reads back as %d, %v", ifMatch, v.Revision, rev, err)
				}
			case endRequest:
				if v.Revision < 0 {
					t.Fatalf("If-Match %q read as revision %d", ifMatch, v.Revision)
				}
			case listRequest:
				if v.Query.After != "" {
					if after, err := paging.After(paging.Cursor(v.Query.After)); err != nil || after != v.Query.After {
						t.Fatalf("cursor for %q decodes to %q, %v", v.Query.After, after, err)
					}
				}
			}
		}
	})
}
