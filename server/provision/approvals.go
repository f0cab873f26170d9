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
	gainsRole := covered(after) > covered(before)
	gainsDestruction := !s.destructionApproved(cur, before) && s.destructionApproved(cur, after)
	if !gainsRole && !gainsDestruction {
		return nil, false, errs.PermissionDenied("run %s in environment %s needs the approval of %s, and %s's would add none of these (roles held in domain %s, or approve-destructive there)",
			cur.ID, cur.Environment, s.describeOutstanding(cur, before), who, cur.Domain)
	}
	return after, covered(after) == len(cur.Approvers) && s.destructionApproved(cur, after), nil
}

// destructionApproved reports whether approvals of run r may apply it as
// far as destruction goes: r destroys nothing, or one of its approvers is
// allowed approve-destructive in r's environment.
func (s *Service) destructionApproved(r *ent.ProvisioningRun, approvals []schema.RunApproval) bool {
	return !r.Destructive || slices.ContainsFunc(approvals, func(a schema.RunApproval) bool {
		return s.authz.Allowed(a.By, r.Domain, envObject(r.Environment), ActApproveDestructive)
	})
}

// describeOutstanding says whose approvals run r still needs, given its
// approvals with their roles assigned.
func (s *Service) describeOutstanding(r *ent.ProvisioningRun, assigned []schema.RunApproval) string {
	var parts []string
	taken := make([]bool, len(assigned))
	for _, a := range r.Approvers {
		i := slices.IndexFunc(assigned, func(x schema.RunApproval) bool { return x.Role == a.Role })
		for i >= 0 && taken[i] {
			next := slices.IndexFunc(assigned[i+1:], func(x schema.RunApproval) bool { return x.Role == a.Role })
			if next < 0 {
				i = -1
			} else {
				i += 1 + next
			}
		}
		if i >= 0 {
			taken[i] = true
			continue
		}
		part := "a " + a.Role
		if a.Reason != "" {
			part += " (" + a.Reason + ")"
		}
		parts = append(parts, part)
	}
	if !s.destructionApproved(r, assigned) {
		parts = append(parts, "someone allowed to approve destructive plans in "+r.Environment)
	}
	if len(parts) == 0 {
		return "nobody more"
	}
	return strings.Join(parts, " and ")
}

// assignRoles matches approvals to the run's required roles, each role to a
// different approver holding it, covering as many roles as can be (a
// bipartite matching, found by augmenting paths), and returns the approvals
// with their roles set ("" for an approval no role needed).
func (s *Service) assignRoles(r *ent.ProvisioningRun, approvals []schema.RunApproval) []schema.RunApproval {
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
	out := slices.Clone(approvals)
	for i := range out {
		out[i].Role = ""
	}
	for ri, a := range holder {
		if a >= 0 {
			out[a].Role = r.Approvers[ri].Role
		}
	}
	return out
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

// designated reports whether who's approval would cover a role the planned
// run r still needs.
func (s *Service) designated(r *ent.ProvisioningRun, who string) bool {
	if r.State != provisioningrun.StatePlanned || len(r.Approvers) == 0 ||
		slices.ContainsFunc(r.Approvals, func(a schema.RunApproval) bool { return a.By == who }) {
		return false
	}
	return covered(s.assignRoles(r, append(slices.Clone(r.Approvals), schema.RunApproval{By: who}))) > covered(s.assignRoles(r, r.Approvals))
}

// approvers names who approved, for ApprovedBy.
func approvers(as []schema.RunApproval) string {
	names := make([]string, len(as))
	for i, a := range as {
		names[i] = a.By
	}
	return strings.Join(names, ", ")
}
