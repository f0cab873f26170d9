package provision

import (
	"strings"
	"testing"

	"github.com/meshplane/meshplane/policies"
	"github.com/meshplane/meshplane/schema"
	"github.com/meshplane/meshplane/server/access"
	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/ent/provisioningrun"
	"github.com/meshplane/meshplane/server/errs"
)

// TestApprovalsCoverEachRoleOnce: each required role needs an approver of
// its own, whatever order they approve in; a person holding a role already
// covered adds nothing; a destructive plan needs an approver allowed to
// approve destruction.
func TestApprovalsCoverEachRoleOnce(t *testing.T) {
	authz, err := access.New(policies.RBACModel, policies.RBACPolicy)
	if err != nil {
		t.Fatal(err)
	}
	if err := authz.Load([]access.Binding{
		{Principal: "gary", Role: access.RoleGovernanceOfficer, Domain: access.AllDomains},
		{Principal: "gary", Role: access.RoleDomainOwner, Domain: "sales"},
		{Principal: "olivia", Role: access.RoleDomainOwner, Domain: "sales"},
		{Principal: "oscar", Role: access.RoleDomainOwner, Domain: "sales"},
		{Principal: "greta", Role: access.RoleGovernanceOfficer, Domain: access.AllDomains},
		{Principal: "mark", Role: access.RoleDomainMember, Domain: "sales"},
		{Principal: "root", Role: access.RolePlatformAdmin, Domain: access.AllDomains},
	}); err != nil {
		t.Fatal(err)
	}
	s := &Service{authz: authz}
	run := func(destructive bool, approvals ...string) *ent.ProvisioningRun {
		r := &ent.ProvisioningRun{ID: "r1", Domain: "sales", Environment: "prod", State: provisioningrun.StatePlanned, Destructive: destructive,
			Approvers: []schema.RunApprover{{Role: access.RoleDomainOwner}, {Role: access.RoleGovernanceOfficer}}}
		for _, a := range approvals {
			r.Approvals = append(r.Approvals, schema.RunApproval{By: a})
		}
		r.Approvals = s.assignRoles(r, r.Approvals).approvals
		return r
	}

	// Gary (owner and officer) first, then Olivia (owner): Gary becomes the
	// officer, and the run is approved.
	got, complete, err := s.approval(run(false, "gary"), "olivia", false)
	if err != nil || !complete || got[0].Role != access.RoleGovernanceOfficer || got[1].Role != access.RoleDomainOwner {
		t.Fatalf("gary then olivia: %+v complete=%v err=%v", got, complete, err)
	}
	// Two owners cover one role: the second adds nothing and is refused.
	if _, _, err := s.approval(run(false, "olivia"), "oscar", false); errs.KindOf(err) != errs.KindPermissionDenied {
		t.Fatalf("a second owner: %v", err)
	}
	if s.designated(run(false, "olivia"), "oscar") || !s.designated(run(false, "olivia"), "greta") || s.designated(run(false), "mark") {
		t.Error("designated: only someone covering an outstanding role is")
	}
	// The same person twice.
	if _, _, err := s.approval(run(false, "olivia"), "olivia", false); errs.As(err).Reason != ReasonAlreadyApproved {
		t.Fatalf("olivia twice: %v", err)
	}
	// A destructive plan: an owner (approve-destructive) and an officer
	// complete it; Gary alone as both roles cannot.
	if _, complete, err := s.approval(run(true, "greta"), "olivia", false); err != nil || !complete {
		t.Fatalf("destructive, greta then olivia: complete=%v err=%v", complete, err)
	}
	if _, _, err := s.approval(run(true, "gary"), "gary", false); errs.As(err).Reason != ReasonAlreadyApproved {
		t.Fatalf("gary twice: %v", err)
	}

	// With owners narrowed to approve (no approve-destructive), an owner
	// and an officer cannot complete a destructive plan.
	narrowed := strings.Replace(policies.RBACPolicy, "p, role:domain-owner, provision, *", "p, role:domain-owner, provision, approve", 1)
	if err := authz.SetPolicy(narrowed, []string{access.RolePlatformAdmin, access.RoleGovernanceOfficer, access.RoleDomainOwner, access.RoleDomainMember}); err != nil {
		t.Fatal(err)
	}
	got, complete, err = s.approval(run(true, "greta"), "olivia", false)
	if err != nil || complete || covered(got) != 2 {
		t.Fatalf("destructive, both roles but no approve-destructive: %+v complete=%v err=%v", got, complete, err)
	}
	r := run(true, "greta", "olivia")
	if _, _, err := s.approval(r, "oscar", false); errs.KindOf(err) != errs.KindPermissionDenied ||
		!strings.Contains(err.Error(), "someone allowed to approve destructive plans in prod") {
		t.Fatalf("a third owner without approve-destructive: %v", err)
	}
	if _, complete, err := s.approval(r, "root", false); err != nil || !complete {
		t.Fatalf("an admin brings approve-destructive: complete=%v err=%v", complete, err)
	}
}

// covered counts the approvals that cover a required role.
func covered(approvals []schema.RunApproval) int {
	n := 0
	for _, a := range approvals {
		if a.Role != "" {
			n++
		}
	}
	return n
}
