package pipeline_test

import (
	"testing"

	"github.com/samnav/samnav/services/delivery/internal/pipeline"
	"github.com/samnav/samnav/services/delivery/internal/subscription"
)

func TestNarrowed(t *testing.T) {
	base := subscription.Subscription{ApprovedFields: []string{"givenNames", "surname", "registeredAddress"}, ProtectedApproved: true}
	with := func(f func(*subscription.Subscription)) subscription.Subscription { s := base; f(&s); return s }
	for _, tc := range []struct {
		name string
		next subscription.Subscription
		want bool
	}{
		{"unchanged", base, false},
		{"same fields in another order", with(func(s *subscription.Subscription) {
			s.ApprovedFields = []string{"registeredAddress", "givenNames", "surname"}
		}), false},
		{"a field added", with(func(s *subscription.Subscription) {
			s.ApprovedFields = []string{"givenNames", "surname", "registeredAddress", "emailAddress"}
		}), false},
		{"a field withdrawn", with(func(s *subscription.Subscription) { s.ApprovedFields = []string{"givenNames", "registeredAddress"} }), true},
		{"a field swapped for another", with(func(s *subscription.Subscription) {
			s.ApprovedFields = []string{"givenNames", "surname", "emailAddress"}
		}), true},
		{"protected identities withdrawn", with(func(s *subscription.Subscription) { s.ProtectedApproved = false }), true},
	} {
		if got := pipeline.Narrowed(base, tc.next); got != tc.want {
			t.Errorf("%s: Narrowed = %v, want %v", tc.name, got, tc.want)
		}
	}
	granted := with(func(s *subscription.Subscription) { s.ProtectedApproved = false })
	if pipeline.Narrowed(granted, base) {
		t.Error("granting protected identities is not a narrowing")
	}
}

func TestReshaped(t *testing.T) {
	base := subscription.Subscription{ApprovedFields: []string{"givenNames", "surname"}, ProtectedApproved: false}
	with := func(f func(*subscription.Subscription)) subscription.Subscription { s := base; f(&s); return s }
	for _, tc := range []struct {
		name string
		next subscription.Subscription
		want bool
	}{
		{"unchanged", base, false},
		{"same fields in another order", with(func(s *subscription.Subscription) { s.ApprovedFields = []string{"surname", "givenNames"} }), false},
		{"another purpose only", with(func(s *subscription.Subscription) { s.Purpose = "other"; s.Version = 9 }), false},
		{"a field added", with(func(s *subscription.Subscription) {
			s.ApprovedFields = []string{"givenNames", "surname", "emailAddress"}
		}), true},
		{"a field withdrawn", with(func(s *subscription.Subscription) { s.ApprovedFields = []string{"givenNames"} }), true},
		{"protected identities approved", with(func(s *subscription.Subscription) { s.ProtectedApproved = true }), true},
	} {
		if got := pipeline.Reshaped(base, tc.next); got != tc.want {
			t.Errorf("%s: Reshaped = %v, want %v", tc.name, got, tc.want)
		}
	}
}
