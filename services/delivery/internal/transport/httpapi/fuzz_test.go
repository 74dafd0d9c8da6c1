package httpapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/services/delivery/internal/transport/httpapi"
)

// FuzzDecodeRequest: a subscription request body from the network either
// decodes into a Request that survives a JSON round trip unchanged and
// came from exactly one JSON value, or is refused with the invalid code
// and a field error naming the body (or the unknown member) and the rule;
// it never panics.
func FuzzDecodeRequest(f *testing.F) {
	for _, seed := range []string{
		// As the console and the e2e tests send it.
		`{"concept":"person","purpose":"placing pupils in schools","channel":"kafka","legalBasis":{"basis":"public_task","reference":"Skollagen (2010:800) 29 kap."},"fields":["personalIdentityNumber","givenNames","surname","registeredAddress","emailAddress"],"reason":"new school platform"}`,
		`{"concept":"person","purpose":"test","channel":"feed","legalBasis":{"basis":"public_task","reference":"Skollagen (2010:800)"},"fields":["givenNames","surname","registeredAddress"],"reason":"test"}`,
		`{"system":"bibliotek","concept":"unit","channel":"webhook","fields":[],"protectedIdentities":true}`,
		`{}`, `null`, `[]`, `"x"`, ``, `{"concept":1}`, `{"unknown":true}`, `{"fields":null}`,
		`{"concept":"person"} {"concept":"unit"}`, `{"concept":"person"}x`, `{"concept":"a\u0000b\ud800"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := httpapi.DecodeRequest(httptest.NewRequest("POST", "/api/v1/subscriptions", bytes.NewReader(body)))
		if err != nil {
			var e *apierr.Error
			if !errors.As(err, &e) || e.Code != apierr.CodeInvalid || len(e.Fields) != 1 || e.Fields[0].Field == "" || e.Fields[0].Rule == "" {
				t.Fatalf("body %q: error %#v, want the invalid code and a field error naming what is wrong", body, err)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("body %q is not one JSON value, yet it was accepted as %+v", body, req)
		}
		again, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		back, err := httpapi.DecodeRequest(httptest.NewRequest("POST", "/api/v1/subscriptions", bytes.NewReader(again)))
		if err != nil || !reflect.DeepEqual(back, req) {
			t.Fatalf("round trip of %q: %+v (%v), want %+v", body, back, err, req)
		}
	})
}
