package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// ApproversQuery answers who must approve a planned run in an environment.
const ApproversQuery = "data.meshplane.provision.approvers"

// Run is what the approvers policy knows of a planned run, as input.run.
type Run struct {
	Kind        string // apply or destroy
	Trigger     string // user, policy, grant, revoke, expiry, recovery or promotion
	Destructive bool
	// Changes counts the plan's resources to create, update, replace and delete.
	Create, Update, Replace, Delete int
}

// RunApprover is a role one of whose holders must approve a run.
type RunApprover struct {
	Role   string // ApproverDomainOwner (of the run's domain) or ApproverGovernanceOfficer
	Reason string
}

// PlannedRun is a plan a policy publish queued in one environment, or why
// none was queued there.
type PlannedRun struct {
	Environment, RunID, Skipped string
}

// RunApprovers is the approvers policy's answer for one run.
type RunApprovers struct {
	Approvers     []RunApprover
	PolicyVersion string
	// FailedClosed is set when the policy could not answer: then a domain
	// owner and a governance officer must approve, and Error says why.
	FailedClosed bool
	Error        string
}

var (
	kRun         = ast.StringTerm("run")
	kTrigger     = ast.StringTerm("trigger")
	kDestructive = ast.StringTerm("destructive")
	kCreate      = ast.StringTerm("create")
	kUpdate      = ast.StringTerm("update")
	kReplace     = ast.StringTerm("replace")
	kDelete      = ast.StringTerm("delete")
)

// ApproversInput returns the input document the approvers policy evaluates:
// {"product": P, "environment": E, "run": R}.
func ApproversInput(p Product, r Run) *ast.Term {
	return ast.ObjectTerm(
		ast.Item(kProduct, productTerm(p)),
		ast.Item(kEnvironment, p.Environment.term()),
		ast.Item(kRun, ast.ObjectTerm(
			ast.Item(kKind, ast.StringTerm(r.Kind)),
			ast.Item(kTrigger, ast.StringTerm(r.Trigger)),
			ast.Item(kDestructive, ast.BooleanTerm(r.Destructive)),
			ast.Item(kCreate, ast.InternedTerm(r.Create)),
			ast.Item(kUpdate, ast.InternedTerm(r.Update)),
			ast.Item(kReplace, ast.InternedTerm(r.Replace)),
			ast.Item(kDelete, ast.InternedTerm(r.Delete)),
		)),
	)
}

// Approvers evaluates the approvers policy for a run of p. It fails closed:
// when the policy times out, errs, is undefined or answers something
// malformed, a domain owner and a governance officer must approve.
func (s *Set) Approvers(ctx context.Context, p Product, r Run) (RunApprovers, error) {
	if s == nil {
		err := errors.New("no policy set is loaded")
		return failClosedApprovers(err), err
	}
	t, err := s.eval(ctx, s.approvers, ApproversQuery, ApproversInput(p, r))
	var out RunApprovers
	if err == nil {
		out.Approvers, err = readApprovers(t)
	}
	if err != nil {
		out = failClosedApprovers(err)
	}
	out.PolicyVersion = s.version
	return out, err
}

// Approvers evaluates the approvers policy in force, failing closed as
// Set.Approvers does.
func (e *Engine) Approvers(ctx context.Context, p Product, r Run) RunApprovers {
	out, _ := e.cur.Load().Approvers(ctx, p, r)
	return out
}

func failClosedApprovers(err error) RunApprovers {
	why := err.Error()
	if errors.Is(err, ErrUndefined) {
		why = "the policy set does not define " + ApproversQuery
	}
	why = truncateRunes(strings.TrimPrefix(why, "evaluating "+ApproversQuery+": "), maxFailure)
	reason := "meshplane failed closed: the approvers policy could not be evaluated (" + why + ")"
	return RunApprovers{FailedClosed: true, Error: why, Approvers: []RunApprover{
		{Role: ApproverDomainOwner, Reason: reason}, {Role: ApproverGovernanceOfficer, Reason: reason}}}
}

// readApprovers reads an array (or set) of {"role", "reason"} objects; a
// role named twice is asked once, with its reasons joined.
func readApprovers(t *ast.Term) ([]RunApprover, error) {
	elems, ok := elements(t)
	if !ok {
		return nil, fmt.Errorf("%w: approvers is %s, not an array", ErrMalformed, valueName(t))
	}
	var out []RunApprover
	for _, e := range elems {
		o, ok := e.Value.(ast.Object)
		if !ok {
			return nil, fmt.Errorf("%w: approver %s is %s, not an object", ErrMalformed, short(e), ast.ValueName(e.Value))
		}
		var a RunApprover
		var bad string
		o.Until(func(k, v *ast.Term) bool {
			str, isString := v.Value.(ast.String)
			switch {
			case !k.Equal(kRole) && !k.Equal(kReason):
				bad = fmt.Sprintf("has unknown key %s (want role and reason)", k)
			case !isString:
				bad = fmt.Sprintf("has a %s that is not a string", k)
			case k.Equal(kRole):
				a.Role = string(str)
			default:
				a.Reason = truncateRunes(string(str), maxReason)
			}
			return bad != ""
		})
		if bad == "" && a.Role != ApproverDomainOwner && a.Role != ApproverGovernanceOfficer {
			bad = fmt.Sprintf("has role %q (want %s or %s)", a.Role, ApproverDomainOwner, ApproverGovernanceOfficer)
		}
		if bad != "" {
			return nil, fmt.Errorf("%w: approver %s %s", ErrMalformed, short(e), bad)
		}
		if i := slices.IndexFunc(out, func(x RunApprover) bool { return x.Role == a.Role }); i >= 0 {
			if a.Reason != "" {
				out[i].Reason = truncateRunes(strings.TrimPrefix(out[i].Reason+"; "+a.Reason, "; "), maxReason)
			}
			continue
		}
		out = append(out, a)
	}
	slices.SortFunc(out, func(x, y RunApprover) int { return strings.Compare(x.Role, y.Role) })
	return out, nil
}
