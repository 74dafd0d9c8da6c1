package auth_test

import (
	"testing"

	"github.com/samnav/samnav/pkg/auth"
)

// TestCanRead: a master system reads what it masters and nothing else; the
// read grants of stewards, auditors and admins are as Can says; only a
// grant approved for protected identities, and allowed to read the
// concept, sees them.
func TestCanRead(t *testing.T) {
	hr := &auth.Principal{Subject: "hr", Grants: []auth.Grant{{Role: auth.RolePublisher, System: "hr-system"}}}
	steward := &auth.Principal{Subject: "anna", Grants: []auth.Grant{{Role: auth.RoleSteward, Concepts: []string{"unit"}, ProtectedIdentities: true}}}
	auditor := &auth.Principal{Subject: "revisor", Grants: []auth.Grant{{Role: auth.RoleAuditor}}}
	subscriber := &auth.Principal{Subject: "bibliotek", Grants: []auth.Grant{{Role: auth.RoleSubscriber, System: "hr-system"}}}
	tests := []struct {
		name              string
		p                 *auth.Principal
		concept, master   string
		read, protectedOK bool
	}{
		{"master reads its concept", hr, "employee", "hr-system", true, false},
		{"master reads no other concept", hr, "person", "folkbokforing", false, false},
		{"master of nothing the hub masters", hr, "unit", "samnav", false, false},
		{"approved steward of the concept", steward, "unit", "samnav", true, true},
		{"approval does not reach another concept", steward, "person", "folkbokforing", false, false},
		{"auditor, not approved", auditor, "person", "folkbokforing", true, false},
		{"a subscriber grant naming the master reads nothing", subscriber, "employee", "hr-system", false, false},
		{"anonymous", nil, "person", "folkbokforing", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.CanRead(tt.concept, tt.master); got != tt.read {
				t.Errorf("CanRead(%s, %s) = %v, want %v", tt.concept, tt.master, got, tt.read)
			}
			if got := tt.p.ProtectedApproved(tt.concept); got != tt.protectedOK {
				t.Errorf("ProtectedApproved(%s) = %v, want %v", tt.concept, got, tt.protectedOK)
			}
		})
	}
}

func TestOnlyStewardAndAuditorGrantsMayBeApprovedForProtectedIdentities(t *testing.T) {
	for _, g := range []auth.Grant{
		{Role: auth.RolePublisher, System: "hr-system", ProtectedIdentities: true},
		{Role: auth.RoleSubscriber, System: "bibliotek", ProtectedIdentities: true},
		{Role: auth.RoleOwner, Concepts: []string{"person"}, ProtectedIdentities: true},
		{Role: auth.RoleAdmin, ProtectedIdentities: true},
	} {
		if err := g.Validate(); err == nil {
			t.Errorf("%s grant approved for protected identities was accepted", g.Role)
		}
	}
	for _, g := range []auth.Grant{
		{Role: auth.RoleSteward, Concepts: []string{"person"}, ProtectedIdentities: true},
		{Role: auth.RoleAuditor, ProtectedIdentities: true},
	} {
		if err := g.Validate(); err != nil {
			t.Errorf("%s grant: %v", g.Role, err)
		}
	}
}
