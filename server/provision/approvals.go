package provision

import (
	"slices"
	"strings"

	"github.com/meshplane/meshplane/schema"
	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/ent/provisioningrun"
	"github.com/meshplane/meshplane/server/errs"
)

// ReasonAlreadyApproved refuses a second approval of a run by one person:
// each role a run needs is approved by someone else.
const ReasonAlreadyApproved = "ALREADY_APPROVED"

// approval adds who's approval to the planned run cur and reports whether
// the run is now approved in full. A run whose environment's policy names
// no approvers is approved by its first approval. Otherwise each required
// role needs an approver of its own: the roles are assigned anew with each
// approval (so the order people approve in does not matter), and who's
// approval counts when it lets more roles be covered, each by a different
// person, than before. A destructive run also needs one approver allowed
// approve-destructive in its environment: an approval bringing that counts
// too. The run is approved once both hold.
func (s *Service) approval(cur *ent.ProvisioningRun, who string, auto bool) ([]schema.RunApproval, bool, error) {
	approvals := slices.Clone(cur.Approvals)
	if auto || len(cur.Approvers) == 0 {
		return append(approvals, schema.RunApproval{By: who, Time: now()}), true, nil
	}
	before := s.assignRoles(cur, approvals)
	if slices.ContainsFunc(approvals, func(a schema.RunApproval) bool { return a.By == who }) {
		return nil, false, errs.New(errs.KindFailedPrecondition, "%s already approved run %s; it waits for the approval of %s",
			who, cur.ID, s.describeOutstanding(cur, before)).WithReason(ReasonAlreadyApproved)
	}
	after := s.assignRoles(cur, append(approvals, schema.RunApproval{By: who, Time: now()}))
	gainsRole := len(after.missing) < len(before.missing)
	gainsDestruction := !s.destructionApproved(cur, before.approvals) && s.destructionApproved(cur, after.approvals)
	if !gainsRole && !gainsDestruction {
		return nil, false, errs.PermissionDenied("run %s in environment %s needs the approval of %s, and %s's would add none of these (roles held in domain %s, or approve-destructive there)",
			cur.ID, cur.Environment, s.describeOutstanding(cur, before), who, cur.Domain)
	}
	return after.approvals, len(after.missing) == 0 && s.destructionApproved(cur, after.approvals), nil
}

// destructionApproved reports whether approvals of run r may apply it as
// far as destruction goes: r destroys nothing, or one of its approvers is
// allowed approve-destructive in r's environment.
func (s *Service) destructionApproved(r *ent.ProvisioningRun, approvals []schema.RunApproval) bool {
	return !r.Destructive || slices.ContainsFunc(approvals, func(a schema.RunApproval) bool {
		return s.authz.Allowed(a.By, r.Domain, envObject(r.Environment), ActApproveDestructive)
	})
}

// describeOutstanding says whose approvals run r still needs.
func (s *Service) describeOutstanding(r *ent.ProvisioningRun, a assignment) string {
	var parts []string
	for _, m := range a.missing {
		part := "a " + m.Role
		if m.Reason != "" {
			part += " (" + m.Reason + ")"
		}
		parts = append(parts, part)
	}
	if !s.destructionApproved(r, a.approvals) {
		parts = append(parts, "someone allowed to approve destructive plans in "+r.Environment)
	}
	if len(parts) == 0 {
		return "nobody more"
	}
	return strings.Join(parts, " and ")
}

// assignment is a run's approvals with the required role each covers set
// ("" for an approval no role needed), and the roles none covers.
type assignment struct {
	approvals []schema.RunApproval
	missing   []schema.RunApprover
}

// assignRoles matches approvals to the run's required roles, each role to a
// different approver holding it, covering as many roles as can be (a
// bipartite matching, found by augmenting paths).
func (s *Service) assignRoles(r *ent.ProvisioningRun, approvals []schema.RunApproval) assignment {
	holder := make([]int, len(r.Approvers)) // role → approval index, -1 when none
	for i := range holder {
		holder[i] = -1
	}
	var augment func(a int, seen []bool) bool
	augment = func(a int, seen []bool) bool {
		for ri, role := range r.Approvers {
			if seen[ri] || !s.authz.HasRole(approvals[a].By, r.Domain, role.Role) {
				continue
			}
			seen[ri] = true
			if holder[ri] < 0 || augment(holder[ri], seen) {
				holder[ri] = a
				return true
			}
		}
		return false
	}
	for a := range approvals {
		augment(a, make([]bool, len(r.Approvers)))
	}
	out := assignment{approvals: slices.Clone(approvals)}
	for i := range out.approvals {
		out.approvals[i].Role = ""
	}
	for ri, a := range holder {
		if a >= 0 {
			out.approvals[a].Role = r.Approvers[ri].Role
		} else {
			out.missing = append(out.missing, r.Approvers[ri])
		}
	}
	return out
}

// designated reports whether who's approval would cover a role the planned
// run r still needs.
func (s *Service) designated(r *ent.ProvisioningRun, who string) bool {
	if r.State != provisioningrun.StatePlanned || len(r.Approvers) == 0 ||
		slices.ContainsFunc(r.Approvals, func(a schema.RunApproval) bool { return a.By == who }) {
		return false
	}
	return len(s.assignRoles(r, append(slices.Clone(r.Approvals), schema.RunApproval{By: who})).missing) < len(s.assignRoles(r, r.Approvals).missing)
}

// approvers names who approved, for ApprovedBy.
func approvers(as []schema.RunApproval) string {
	names := make([]string, len(as))
	for i, a := range as {
		names[i] = a.By
	}
	return strings.Join(names, ", ")
}
