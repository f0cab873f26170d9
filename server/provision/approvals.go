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

// ReasonNoDestructiveApprover refuses the approval that would complete a
// destructive plan none of whose approvers may approve destruction.
const ReasonNoDestructiveApprover = "NO_DESTRUCTIVE_APPROVER"

// approval adds who's approval to the planned run cur and reports whether
// the run is now approved in full. A run whose environment's policy names
// no approvers is approved by its first approval. Otherwise each required
// role needs an approver of its own: who's approval counts when it lets
// more roles be covered, each by a different person, than before — the
// roles are assigned anew with each approval, so the order people approve
// in does not matter — and the run is approved once every role is covered.
// A destructive run also needs one approver allowed approve-destructive.
func (s *Service) approval(cur *ent.ProvisioningRun, who string, auto bool) ([]schema.RunApproval, bool, error) {
	approvals := slices.Clone(cur.Approvals)
	if auto || len(cur.Approvers) == 0 {
		return append(approvals, schema.RunApproval{By: who, Time: now()}), true, nil
	}
	if slices.ContainsFunc(approvals, func(a schema.RunApproval) bool { return a.By == who }) {
		return nil, false, errs.New(errs.KindFailedPrecondition, "%s already approved run %s; it waits for the approval of %s",
			who, cur.ID, describeApprovers(outstandingApprovers(cur))).WithReason(ReasonAlreadyApproved)
	}
	before := s.assignRoles(cur, approvals)
	after := s.assignRoles(cur, append(approvals, schema.RunApproval{By: who, Time: now()}))
	if covered(after) <= covered(before) {
		return nil, false, errs.PermissionDenied("run %s in environment %s needs the approval of %s, and %s holds none of these roles in domain %s (or only those others approved as)",
			cur.ID, cur.Environment, describeApprovers(outstandingApprovers(cur)), who, cur.Domain)
	}
	complete := covered(after) == len(cur.Approvers)
	if complete && cur.Destructive && !slices.ContainsFunc(after, func(a schema.RunApproval) bool {
		return s.authz.Allowed(a.By, cur.Domain, envObject(cur.Environment), ActApproveDestructive)
	}) {
		return nil, false, errs.New(errs.KindFailedPrecondition, "run %s destroys data: one of its approvers must be allowed to approve destructive plans in %s, and none is",
			cur.ID, cur.Environment).WithReason(ReasonNoDestructiveApprover)
	}
	return after, complete, nil
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

// outstandingApprovers are the roles a run needs that nobody approved as yet.
func outstandingApprovers(r *ent.ProvisioningRun) []schema.RunApprover {
	var out []schema.RunApprover
	for _, a := range r.Approvers {
		if !slices.ContainsFunc(r.Approvals, func(x schema.RunApproval) bool { return x.Role == a.Role }) {
			out = append(out, a)
		}
	}
	return out
}

func describeApprovers(as []schema.RunApprover) string {
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = "a " + a.Role
		if a.Reason != "" {
			parts[i] += " (" + a.Reason + ")"
		}
	}
	return strings.Join(parts, " and ")
}

// approvers names who approved, for ApprovedBy.
func approvers(as []schema.RunApproval) string {
	names := make([]string, len(as))
	for i, a := range as {
		names[i] = a.By
	}
	return strings.Join(names, ", ")
}
