package paging_test

import (
	"net/url"
	"slices"
	"testing"

	"github.com/samnav/samnav/pkg/paging"
	"github.com/samnav/samnav/pkg/sdk/apierr"
)

func TestCursorRoundTrips(t *testing.T) {
	for _, id := range []string{"p-000001", "a:b", "ä/ö?&=", " "} {
		c := paging.Cursor(id)
		if got, err := paging.After(c); err != nil || got != id {
			t.Errorf("After(Cursor(%q)) = %q, %v", id, got, err)
		}
	}
	if c := paging.Cursor(""); c != "" {
		t.Errorf("Cursor(\"\") = %q, want none (the last page)", c)
	}
	for _, bad := range []string{"%%%", "cC0x", "YTpw=", "!"} {
		if _, err := paging.After(bad); err == nil {
			t.Errorf("After(%q) accepted a cursor Cursor never makes", bad)
		}
	}
}

func TestParse(t *testing.T) {
	rule := func(fields []apierr.FieldError) []string {
		var out []string
		for _, f := range fields {
			out = append(out, f.Field+":"+f.Rule)
		}
		return out
	}
	for _, tc := range []struct {
		query  string
		max    int
		want   paging.Page
		fields []string
	}{
		{"", 100, paging.Page{}, nil},
		{"limit=5&cursor=" + paging.Cursor("s-7"), 100, paging.Page{Limit: 5, After: "s-7"}, nil},
		{"limit=100", 100, paging.Page{Limit: 100}, nil},
		{"limit=101", 100, paging.Page{Limit: 101}, []string{"limit:range"}},
		{"limit=0", 100, paging.Page{}, []string{"limit:range"}},
		{"limit=5000", 0, paging.Page{Limit: 5000}, nil},
		{"limit=ten&cursor=%25%25", 100, paging.Page{}, []string{"limit:type", "cursor:format"}},
		{"cursor=bm9wZQ", 0, paging.Page{}, []string{"cursor:format"}},
	} {
		q, err := url.ParseQuery(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		got, fields := paging.Parse(q, tc.max)
		if !slices.Equal(rule(fields), tc.fields) {
			t.Errorf("Parse(%q, %d) problems %v, want %v", tc.query, tc.max, rule(fields), tc.fields)
		}
		if tc.fields == nil && got != tc.want {
			t.Errorf("Parse(%q, %d) = %+v, want %+v", tc.query, tc.max, got, tc.want)
		}
	}
}
