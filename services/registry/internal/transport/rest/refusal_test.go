package rest_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/services/registry/internal/transport/rest"
)

type refuseWith struct{ err error }

func (r refuseWith) AuthorizeWrite(*http.Request) error { return r.err }

// A write the authorizer refuses answers 401 with a challenge when the
// caller is not recognised, and 403 (Confluent's 40301) without one when
// the caller is known but may not write: a client with a valid credential
// must not be told to log in again.
func TestRefusedWritesTellUnknownFromNotAllowed(t *testing.T) {
	for _, tt := range []struct {
		name      string
		err       error
		status    int
		code      int
		challenge bool
	}{
		{"no credential", errors.New("a valid bearer token or basic credential is required"), http.StatusUnauthorized, 401, true},
		{"unknown token", apierr.Unauthorized("token not recognised"), http.StatusUnauthorized, 401, true},
		{"known, not admin", apierr.Forbidden("system \"hr-system\" may not admin"), http.StatusForbidden, 40301, false},
		{"wrapped forbidden", apierr.Errorf(apierr.CodeForbidden, "%w: may not admin", apierr.Forbidden("forbidden")), http.StatusForbidden, 40301, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHandler(t, refuseWith{tt.err})
			req := httptest.NewRequest(http.MethodPost, "/subjects/s-value/versions", strings.NewReader(`{"schema":"\"string\""}`))
			req.Header.Set("Content-Type", rest.ContentType)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			var body struct {
				ErrorCode int `json:"error_code"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.ErrorCode != tt.code {
				t.Fatalf("body %s, want error_code %d", rec.Body, tt.code)
			}
			if got := rec.Header().Get("WWW-Authenticate") != ""; got != tt.challenge {
				t.Fatalf("WWW-Authenticate set %v, want %v", got, tt.challenge)
			}
		})
	}
}
