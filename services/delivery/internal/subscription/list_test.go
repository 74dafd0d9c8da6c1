package subscription_test

import (
	"reflect"
	"slices"
	"testing"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/delivery/internal/subscription"
)

// TestListPages: List answers pages of the subscriptions the caller may
// read, in id order, with Next until the last page; following Next gives
// every readable subscription once, also when the ones the caller may not
// read lie between them.
func TestListPages(t *testing.T) {
	svc := newService(t)
	admin := &auth.Principal{Subject: "root", Kind: auth.KindUser, Grants: []auth.Grant{{Role: auth.RoleAdmin}}}
	systems := []string{"skolplattform", "bibliotek", "skolplattform", "bibliotek", "bibliotek", "skolplattform", "skolplattform"}
	mine := map[string][]string{}
	var all []string
	for _, sys := range systems {
		p := &auth.Principal{Subject: sys, Kind: auth.KindSystem, Grants: []auth.Grant{{Role: auth.RolePublisher, System: sys}}}
		sub, err := svc.Request(as(p), client.Request{Concept: "person", Purpose: "p", Channel: client.ChannelFeed,
			LegalBasis: client.LegalBasis{Basis: client.BasisPublicTask, Reference: "r"}, Fields: []string{"givenNames"}, Reason: "new"})
		if err != nil {
			t.Fatal(err)
		}
		mine[sys] = append(mine[sys], sub.ID)
		all = append(all, sub.ID)
	}
	follow := func(p *auth.Principal, limit int) (ids []string, pages int) {
		f := subscription.Filter{Limit: limit}
		for {
			page, err := svc.List(as(p), f)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			if len(page.Subscriptions) > limit {
				t.Fatalf("page of %d with limit %d", len(page.Subscriptions), limit)
			}
			for _, s := range page.Subscriptions {
				ids = append(ids, s.ID)
			}
			if page.Next == "" {
				return ids, pages
			}
			f.After = page.Next
		}
	}
	sorted := func(ids []string) []string {
		out := slices.Clone(ids)
		slices.Sort(out)
		return out
	}
	if got, pages := follow(admin, 3); !reflect.DeepEqual(got, sorted(all)) || pages != 3 {
		t.Errorf("admin, pages of 3: %v in %d pages, want %v in 3", got, pages, sorted(all))
	}
	school := &auth.Principal{Subject: "skolplattform", Kind: auth.KindSystem, Grants: []auth.Grant{{Role: auth.RolePublisher, System: "skolplattform"}}}
	if got, _ := follow(school, 1); !reflect.DeepEqual(got, sorted(mine["skolplattform"])) {
		t.Errorf("skolplattform, pages of 1: %v, want only its own %v", got, sorted(mine["skolplattform"]))
	}
	if got, pages := follow(admin, subscription.DefaultPageSize); len(got) != len(all) || pages != 1 {
		t.Errorf("admin, default page: %d in %d pages", len(got), pages)
	}
	for _, limit := range []int{-1, subscription.MaxPageSize + 1} {
		_, err := svc.List(as(admin), subscription.Filter{Limit: limit})
		e := apierr.As(err)
		if e == nil || e.Code != apierr.CodeInvalid || len(e.Fields) != 1 || e.Fields[0].Field != "limit" {
			t.Errorf("limit %d: %v, want invalid naming limit", limit, err)
		}
	}
}
