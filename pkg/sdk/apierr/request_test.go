package apierr_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/samnav/samnav/pkg/sdk/apierr"
)

func TestDecodeJSON(t *testing.T) {
	type body struct {
		Name string `json:"name"`
		N    any    `json:"n"`
	}
	tests := []struct {
		name, contentType, body string
		opts                    []apierr.DecodeOption
		status                  int // 0: accepted
		field, rule             string
	}{
		{"json", "application/json", `{"name":"a","n":12345678901234567890}`, nil, 0, "", ""},
		{"charset and +json", "application/merge-patch+json; charset=utf-8", `{"name":"a"}`, nil, 0, "", ""},
		{"no content type is taken as JSON", "", `{"name":"a"}`, nil, 0, "", ""},
		{"form", "application/x-www-form-urlencoded", `name=a`, nil, 415, "Content-Type", "media-type"},
		{"too large", "application/json", `{"name":"` + strings.Repeat("a", 64) + `"}`, []apierr.DecodeOption{apierr.MaxBody(32)}, 413, "body", "size"},
		{"empty", "application/json", ``, nil, 400, "body", "required"},
		{"empty but optional", "application/json", ``, []apierr.DecodeOption{apierr.Optional()}, 0, "", ""},
		{"not JSON", "application/json", `{"name":`, nil, 400, "body", "json"},
		{"wrong type", "application/json", `{"name":3}`, nil, 400, "body", "json"},
		{"two values", "application/json", `{} {}`, nil, 400, "body", "json"},
		{"a stray brace after the value", "application/json", `{"name":"a"}}`, nil, 400, "body", "json"},
		{"unknown member", "application/json", `{"nme":"a"}`, []apierr.DecodeOption{apierr.DisallowUnknownFields()}, 400, "nme", "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tt.body))
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			var v body
			err := apierr.DecodeJSON(r, &v, tt.opts...)
			if tt.status == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			e, ok := errors.AsType[*apierr.Error](err)
			if !ok || e.HTTPStatus() != tt.status || e.Code != apierr.CodeInvalid || len(e.Fields) != 1 || e.Fields[0].Field != tt.field || e.Fields[0].Rule != tt.rule {
				t.Fatalf("got %#v, want %d field %s rule %s", err, tt.status, tt.field, tt.rule)
			}
		})
	}
	// Numbers stay exact.
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"n":12345678901234567890}`))
	var m map[string]any
	if err := apierr.DecodeJSON(r, &m); err != nil || m["n"].(interface{ String() string }).String() != "12345678901234567890" {
		t.Fatalf("%v %v", m, err)
	}
}

func TestIfMatch(t *testing.T) {
	tests := []struct {
		header   string
		rev      int64
		ok       bool
		required int // status of RequireIfMatch's error, 0 for none
		rule     string
	}{
		{"", 0, false, 400, "required"},
		{`"3"`, 3, true, 0, ""},
		{`W/"3"`, 3, true, 0, ""},
		{`3`, 3, true, 0, ""},
		{`"0"`, 0, false, 400, "format"},
		{`"abc"`, 0, false, 400, "format"},
		{`*`, 0, false, 400, "format"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodPut, "/", nil)
		if tt.header != "" {
			r.Header.Set("If-Match", tt.header)
		}
		rev, ok, err := apierr.IfMatch(r)
		if rev != tt.rev || ok != tt.ok || (err != nil) != (tt.rule == "format") {
			t.Errorf("IfMatch(%q) = %d, %v, %v", tt.header, rev, ok, err)
		}
		_, err = apierr.RequireIfMatch(r)
		if tt.required == 0 {
			if err != nil {
				t.Errorf("RequireIfMatch(%q): %v", tt.header, err)
			}
			continue
		}
		e, isErr := errors.AsType[*apierr.Error](err)
		if !isErr || e.HTTPStatus() != tt.required || e.Fields[0].Field != "If-Match" || e.Fields[0].Rule != tt.rule {
			t.Errorf("RequireIfMatch(%q) = %v, want rule %s", tt.header, err, tt.rule)
		}
	}
	if apierr.ETag(7) != `"7"` {
		t.Error(apierr.ETag(7))
	}
}
