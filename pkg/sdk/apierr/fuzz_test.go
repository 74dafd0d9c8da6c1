package apierr_test

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"testing"

	"github.com/samnav/samnav/pkg/sdk/apierr"
)

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// FuzzFromResponse: whatever a server (or something in front of it)
// answers, FromResponse returns an *Error with a code of the closed set,
// the answer's status and a message, and never panics.
func FuzzFromResponse(f *testing.F) {
	f.Add(400, "application/problem+json", []byte(`{"type":"urn:samnav:problem:invalid","title":"Invalid request","status":400,"detail":"bad","code":"invalid","fields":[{"field":"a","rule":"required","message":"m"}]}`))
	f.Add(412, "application/problem+json", []byte(`{"type":"urn:samnav:problem:conflict","status":412,"detail":"stale","code":"conflict","current":{"id":"u1"}}`))
	f.Add(400, "application/json", []byte(`{"error":{"code":"invalid","message":"bad","fields":{"a":"required: x"}}}`))
	f.Add(400, "application/json", []byte(`{"error":{"code":"invalid","field":"url","rule":"url"}}`))
	f.Add(404, "application/vnd.schemaregistry.v1+json", []byte(`{"error_code":40401,"message":"not found"}`))
	f.Add(502, "text/html", []byte(`<html>bad gateway</html>`))
	f.Add(500, "", []byte(nil))
	f.Add(409, "application/json", []byte(`{"error":null,"detail":7,"fields":{}}`))
	f.Fuzz(func(t *testing.T, status int, contentType string, body []byte) {
		if status < 300 || status > 599 {
			return
		}
		resp := &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {contentType}}, Body: io.NopCloser(bytes.NewReader(body))}
		e, ok := errors.AsType[*apierr.Error](apierr.FromResponse(resp))
		if !ok {
			t.Fatal("not an *Error")
		}
		if !e.Code.Valid() || e.HTTPStatus() != status || e.Message == "" {
			t.Fatalf("status %d body %q: %+v", status, body, e)
		}
		_ = e.Error()
	})
}
