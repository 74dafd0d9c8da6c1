package apierr_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/samnav/samnav/pkg/sdk/apierr"
)

func TestEveryCodeHasOneStatus(t *testing.T) {
	want := map[apierr.Code]int{
		apierr.CodeInvalid: 400, apierr.CodeNotFound: 404, apierr.CodeConflict: 409, apierr.CodeUnauthorized: 401,
		apierr.CodeForbidden: 403, apierr.CodeUnavailable: 503, apierr.CodeInternal: 500,
	}
	if len(apierr.Codes()) != len(want) {
		t.Fatalf("Codes() = %v, want the %d codes of the closed set", apierr.Codes(), len(want))
	}
	for _, c := range apierr.Codes() {
		if !c.Valid() || c.Status() != want[c] || c.Title() == "" {
			t.Errorf("%s: valid %v status %d title %q, want status %d", c, c.Valid(), c.Status(), c.Title(), want[c])
		}
		if got := apierr.New(c, "m").HTTPStatus(); got != want[c] {
			t.Errorf("%s: HTTPStatus %d", c, got)
		}
	}
	if apierr.Code("snapshot_required").Valid() || apierr.Code("x").Status() != 500 {
		t.Error("a code outside the set must be invalid and answered 500")
	}
}

func TestCodeOfClassifiesAnyError(t *testing.T) {
	cause := errors.New("disk on fire")
	tests := []struct {
		name      string
		err       error
		code      apierr.Code
		retryable bool
	}{
		{"nil", nil, "", false},
		{"plain error", cause, apierr.CodeInternal, true},
		{"invalid", apierr.InvalidField("name", "required", "is required"), apierr.CodeInvalid, false},
		{"wrapped not_found", fmt.Errorf("get x: %w", apierr.NotFound("no x")), apierr.CodeNotFound, false},
		{"conflict", apierr.Conflict("changed"), apierr.CodeConflict, false},
		{"unauthorized", apierr.Unauthorized("no token"), apierr.CodeUnauthorized, false},
		{"forbidden", apierr.Forbidden("may not"), apierr.CodeForbidden, false},
		{"unavailable", apierr.Unavailable("store").Wrap(cause), apierr.CodeUnavailable, true},
		{"internal", apierr.Internal("bug"), apierr.CodeInternal, true},
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), apierr.CodeUnavailable, true},
		{"canceled", context.Canceled, apierr.CodeUnavailable, true},
		{"outermost *Error wins", apierr.Invalid("outer").Wrap(apierr.Unavailable("inner")), apierr.CodeInvalid, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := apierr.CodeOf(tt.err); got != tt.code {
				t.Errorf("CodeOf = %q, want %q", got, tt.code)
			}
			if got := apierr.Retryable(tt.err); got != tt.retryable {
				t.Errorf("Retryable = %v, want %v", got, tt.retryable)
			}
		})
	}
}

func TestErrorKeepsItsCause(t *testing.T) {
	sentinel := errors.New("stale revision")
	e := apierr.Conflict("revision 1 is stale").Wrap(sentinel).WithStatus(http.StatusPreconditionFailed)
	err := fmt.Errorf("update unit u1: %w", e)
	if !errors.Is(err, sentinel) {
		t.Fatal("errors.Is does not reach the cause")
	}
	got, ok := errors.AsType[*apierr.Error](err)
	if !ok || got.HTTPStatus() != 412 || got.Code != apierr.CodeConflict {
		t.Fatalf("As = %+v", got)
	}
	if e.Error() != "revision 1 is stale: stale revision" {
		t.Errorf("Error() = %q", e.Error())
	}
	// The With methods copy: a shared sentinel is never changed.
	base := apierr.NotFound("gone")
	_ = base.WithStatus(410).WithExtension("k", 1).Wrap(sentinel)
	if base.Status != 0 || base.Extensions != nil || base.Err != nil {
		t.Fatalf("base changed: %+v", base)
	}
	f := apierr.Errorf(apierr.CodeUnauthorized, "%w: unknown token t1", sentinel)
	if !errors.Is(f, sentinel) || f.Error() != "stale revision: unknown token t1" {
		t.Fatalf("Errorf with %%w: %q", f.Error())
	}
	inv := apierr.InvalidField("url", "loopback", "is a loopback address")
	if inv.Error() != "url is a loopback address (field url, rule loopback)" {
		t.Fatalf("Error() of an invalid field = %q", inv.Error())
	}
}
