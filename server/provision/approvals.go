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
// no approvers is approved by its first approval; otherwise who must hold
// one of the roles still outstanding, and approves as that role.
func (s *Service) approval(cur *ent.ProvisioningRun, who string, auto bool) ([]schema.RunApproval, bool, error) {
	approvals := slices.Clone(cur.Approvals)
	if auto || len(cur.Approvers) == 0 {
		return append(approvals, schema.RunApproval{By: who, Time: now()}), true, nil
	}
	outstanding := outstandingApprovers(cur)
	if slices.ContainsFunc(approvals, func(a schema.RunApproval) bool { return a.By == who }) {
		return nil, false, errs.New(errs.KindFailedPrecondition, "%s already approved run %s; it waits for the approval of %s",
			who, cur.ID, describeApprovers(outstanding)).WithReason(ReasonAlreadyApproved)
	}
	for _, a := range outstanding {
		if s.authz.HasRole(who, cur.Domain, a.Role) {
			approvals = append(approvals, schema.RunApproval{By: who, Role: a.Role, Time: now()})
			return approvals, len(outstanding) == 1, nil
		}
	}
	return nil, false, errs.PermissionDenied("run %s in environment %s needs the approval of %s, and %s holds none of these roles in domain %s",
		cur.ID, cur.Environment, describeApprovers(outstanding), who, cur.Domain)
}

// designated reports whether who holds a role the planned run r still needs.
func (s *Service) designated(r *ent.ProvisioningRun, who string) bool {
	return r.State == provisioningrun.StatePlanned && slices.ContainsFunc(outstandingApprovers(r), func(a schema.RunApprover) bool {
		return s.authz.HasRole(who, r.Domain, a.Role)
	})
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
