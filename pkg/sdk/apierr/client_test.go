package apierr_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/samnav/samnav/pkg/sdk/apierr"
)

// What Write sends, FromResponse reads back: code, status, message,
// fields, trace id and extensions.
func TestFromResponseRoundTrip(t *testing.T) {
	errs := []*apierr.Error{
		apierr.Invalid("bad", apierr.FieldError{Field: "a.b[0].c", Rule: "required", Message: "is required"}),
		apierr.NotFound("no unit u1"),
		apierr.NotFound("cursor expired").WithStatus(http.StatusGone),
		apierr.Conflict("taken"),
		apierr.PreconditionFailed("stale").WithExtension("current", map[string]any{"id": "u1"}),
		apierr.TooLarge(10),
		apierr.Unauthorized("no token"),
		apierr.Forbidden("may not"),
		apierr.Unavailable("store"),
		apierr.Internal("internal error"),
	}
	for _, want := range errs {
		t.Run(want.Message, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				apierr.NewWriter(discard()).Write(w, traced(r), want)
			}))
			defer srv.Close()
			resp, err := http.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, ok := errors.AsType[*apierr.Error](apierr.FromResponse(resp))
			if !ok {
				t.Fatalf("FromResponse = %v", got)
			}
			if got.Code != want.Code || got.Message != want.Message || got.HTTPStatus() != want.HTTPStatus() || resp.StatusCode != want.HTTPStatus() ||
				!reflect.DeepEqual(got.Fields, want.Fields) || got.TraceID != traceID.String() {
				t.Fatalf("got %+v, want %+v", got, want)
			}
			if len(want.Extensions) > 0 {
				var cur struct{ ID string }
				if !got.Extension("current", &cur) || cur.ID != "u1" {
					t.Fatalf("extension lost: %+v", got.Extensions)
				}
			}
		})
	}
}

func TestFromResponseReadsOlderShapes(t *testing.T) {
	tests := []struct {
		name, contentType, body string
		status                  int
		code                    apierr.Code
		msg                     string
		fields                  []apierr.FieldError
	}{
		{"services before problem+json", "application/json", `{"error":{"code":"invalid","message":"bad","fields":[{"field":"name","rule":"required","message":"is required"}]}}`,
			400, apierr.CodeInvalid, "bad", []apierr.FieldError{{Field: "name", Rule: "required", Message: "is required"}}},
		{"fields by name", "application/json", `{"error":{"code":"invalid","message":"bad","fields":{"purpose":"required: why","channel":"must be one of [a b]"}}}`,
			400, apierr.CodeInvalid, "bad", []apierr.FieldError{{Field: "channel", Message: "must be one of [a b]"}, {Field: "purpose", Rule: "required", Message: "required: why"}}},
		{"one field", "application/json", `{"error":{"code":"invalid","message":"not a URL","field":"url","rule":"url"}}`,
			400, apierr.CodeInvalid, "not a URL", []apierr.FieldError{{Field: "url", Rule: "url", Message: "not a URL"}}},
		{"confluent", "application/vnd.schemaregistry.v1+json", `{"error_code":40401,"message":"Subject 'x' not found."}`,
			404, apierr.CodeNotFound, "Subject 'x' not found.", nil},
		{"text", "text/plain", "upstream down\n", 502, apierr.CodeUnavailable, "upstream down", nil},
		{"empty", "", "", 401, apierr.CodeUnauthorized, "Unauthorized", nil},
		{"unknown code", "application/problem+json", `{"type":"about:blank","status":418,"detail":"teapot","code":"snapshot_required"}`, 418, apierr.CodeInvalid, "teapot", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tt.status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(tt.body))}
			if tt.contentType != "" {
				resp.Header.Set("Content-Type", tt.contentType)
			}
			var got *apierr.Error
			if !errors.As(apierr.FromResponse(resp), &got) {
				t.Fatal("no *Error")
			}
			if got.Code != tt.code || got.Message != tt.msg || got.HTTPStatus() != tt.status || !reflect.DeepEqual(got.Fields, tt.fields) {
				t.Fatalf("got %+v", got)
			}
		})
	}
	ok := &http.Response{StatusCode: 204, Body: io.NopCloser(bytes.NewReader(nil))}
	if err := apierr.FromResponse(ok); err != nil {
		t.Fatalf("2xx: %v", err)
	}
}
