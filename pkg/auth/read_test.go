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

// TestBasisNamesTheNarrowestGrant: the grant a read is recorded under is
// the most specific one that covers the concept, and none covers it for
// owners, subscribers and stewards of other concepts.
func TestBasisNamesTheNarrowestGrant(t *testing.T) {
	unitSteward := auth.Grant{Role: auth.RoleSteward, Concepts: []string{"unit"}}
	anySteward := auth.Grant{Role: auth.RoleSteward, Concepts: []string{auth.AnyConcept}}
	auditor := auth.Grant{Role: auth.RoleAuditor}
	hr := auth.Grant{Role: auth.RolePublisher, System: "hr-system"}
	admin := auth.Grant{Role: auth.RoleAdmin}
	tests := []struct {
		name            string
		grants          []auth.Grant
		concept, master string
		want            auth.Role
		grant           auth.Grant
	}{
		{"steward of the concept", []auth.Grant{unitSteward}, "unit", "samnav", auth.RoleSteward, unitSteward},
		{"steward of every concept", []auth.Grant{anySteward}, "person", "folkbokforing", auth.RoleSteward, anySteward},
		{"steward before admin", []auth.Grant{admin, unitSteward}, "unit", "samnav", auth.RoleSteward, unitSteward},
		{"auditor before admin", []auth.Grant{admin, auditor}, "person", "folkbokforing", auth.RoleAuditor, auditor},
		{"another concept's steward falls to admin", []auth.Grant{unitSteward, admin}, "person", "folkbokforing", auth.RoleAdmin, admin},
		{"master system", []auth.Grant{hr}, "employee", "hr-system", auth.RolePublisher, hr},
		{"publisher of another system", []auth.Grant{hr}, "person", "folkbokforing", "", auth.Grant{}},
		{"steward of another concept", []auth.Grant{unitSteward}, "person", "folkbokforing", "", auth.Grant{}},
		{"owner", []auth.Grant{{Role: auth.RoleOwner, Concepts: []string{"person"}}}, "person", "folkbokforing", "", auth.Grant{}},
		{"subscriber", []auth.Grant{{Role: auth.RoleSubscriber, System: "folkbokforing"}}, "person", "folkbokforing", "", auth.Grant{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &auth.Principal{Subject: "x", Grants: tt.grants}
			role, g, ok := p.Basis(tt.concept, tt.master)
			if role != tt.want || ok != (tt.want != "") || g.Role != tt.grant.Role || g.System != tt.grant.System || len(g.Concepts) != len(tt.grant.Concepts) {
				t.Errorf("Basis(%s, %s) = %q %+v %v, want %q %+v", tt.concept, tt.master, role, g, ok, tt.want, tt.grant)
			}
		})
	}
	if _, _, ok := (*auth.Principal)(nil).Basis("person", "folkbokforing"); ok {
		t.Error("an anonymous caller has a basis")
	}
}
