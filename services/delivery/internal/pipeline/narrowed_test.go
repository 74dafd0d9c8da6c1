package pipeline_test

import (
	"testing"

	"github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/delivery/internal/pipeline"
)

// TestNarrowedAndReshaped: Narrowed says whether a new version of a
// subscription withdraws anything its view holds (then the view must be
// rebuilt without it); Reshaped whether the projection changes at all.
func TestNarrowedAndReshaped(t *testing.T) {
	with := func(base client.Subscription, f func(*client.Subscription)) client.Subscription {
		s := base
		f(&s)
		return s
	}
	wide := client.Subscription{ApprovedFields: []string{"givenNames", "surname", "registeredAddress"}, ProtectedApproved: true}
	plain := client.Subscription{ApprovedFields: []string{"givenNames", "surname"}, ProtectedApproved: false}
	for _, tc := range []struct {
		fn         string
		name       string
		prev, next client.Subscription
		want       bool
	}{
		{"Narrowed", "unchanged", wide, wide, false},
		{"Narrowed", "same fields in another order", wide, with(wide, func(s *client.Subscription) {
			s.ApprovedFields = []string{"registeredAddress", "givenNames", "surname"}
		}), false},
		{"Narrowed", "a field added", wide, with(wide, func(s *client.Subscription) {
			s.ApprovedFields = []string{"givenNames", "surname", "registeredAddress", "emailAddress"}
		}), false},
		{"Narrowed", "a field withdrawn", wide, with(wide, func(s *client.Subscription) { s.ApprovedFields = []string{"givenNames", "registeredAddress"} }), true},
		{"Narrowed", "a field swapped for another", wide, with(wide, func(s *client.Subscription) {
			s.ApprovedFields = []string{"givenNames", "surname", "emailAddress"}
		}), true},
		{"Narrowed", "protected identities withdrawn", wide, with(wide, func(s *client.Subscription) { s.ProtectedApproved = false }), true},
		{"Narrowed", "protected identities granted", with(wide, func(s *client.Subscription) { s.ProtectedApproved = false }), wide, false},

		{"Reshaped", "unchanged", plain, plain, false},
		{"Reshaped", "same fields in another order", plain, with(plain, func(s *client.Subscription) { s.ApprovedFields = []string{"surname", "givenNames"} }), false},
		{"Reshaped", "another purpose only", plain, with(plain, func(s *client.Subscription) { s.Purpose = "other"; s.Version = 9 }), false},
		{"Reshaped", "a field added", plain, with(plain, func(s *client.Subscription) {
			s.ApprovedFields = []string{"givenNames", "surname", "emailAddress"}
		}), true},
		{"Reshaped", "a field withdrawn", plain, with(plain, func(s *client.Subscription) { s.ApprovedFields = []string{"givenNames"} }), true},
		{"Reshaped", "protected identities approved", plain, with(plain, func(s *client.Subscription) { s.ProtectedApproved = true }), true},
	} {
		fn := pipeline.Narrowed
		if tc.fn == "Reshaped" {
			fn = pipeline.Reshaped
		}
		if got := fn(tc.prev, tc.next); got != tc.want {
			t.Errorf("%s: %s = %v, want %v", tc.name, tc.fn, got, tc.want)
		}
	}
}
