package rpc

import (
	"context"
	"maps"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
	"github.com/meshplane/meshplane/api/gen/meshplane/v1/meshplanev1connect"
	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/policy"
	"github.com/meshplane/meshplane/server/policy/engine"
	"github.com/meshplane/meshplane/server/spec"
)

// PolicyHandler serves meshplane.v1.PolicyService.
type PolicyHandler struct{ svc *policy.Service }

var _ meshplanev1connect.PolicyServiceHandler = (*PolicyHandler)(nil)

func modulePB(m policy.Module, withFiles bool) *v1.PolicyModule {
	out := &v1.PolicyModule{Name: m.Name, Description: m.Description, Version: m.Version,
		PublishedVersion: int32(m.PublishedVersion), DraftChanged: m.DraftChanged, DraftUpdatedBy: m.DraftUpdatedBy,
		UpdateTime: timestamppb.New(m.UpdateTime)}
	if withFiles {
		out.Files = maps.Clone(m.Draft)
	}
	return out
}

func versionPB(v *ent.PolicyVersion, withFiles bool) *v1.PolicyVersion {
	out := &v1.PolicyVersion{Module: v.Module, Number: int32(v.Number), Message: v.Message, Digest: v.Digest,
		PublishedBy: v.PublishedBy, PublishTime: timestamppb.New(v.PublishTime), RestoredFrom: int32(v.RestoredFrom)}
	if withFiles {
		out.Files = maps.Clone(v.Files)
	}
	return out
}

func violationsPB(vs []engine.Violation) []*v1.PolicyViolation {
	out := make([]*v1.PolicyViolation, 0, len(vs))
	for _, v := range vs {
		out = append(out, &v1.PolicyViolation{Path: v.Path, Message: v.Message})
	}
	return out
}

func decisionPB(d *engine.Decision) *v1.MaskingDecision {
	if d == nil {
		return nil
	}
	return &v1.MaskingDecision{Port: d.Port, Field: d.Field, Sink: d.Sink, Classification: string(d.Classification),
		Action: string(d.Action), Algorithm: d.Algorithm, Salt: d.Salt, Chars: int32(d.Chars), Length: int32(d.Length),
		Reason: d.Reason, Fallback: d.Fallback}
}

func impactPB(i *policy.Impact) *v1.PolicyImpact {
	out := &v1.PolicyImpact{Module: i.Module, PublishedVersion: int32(i.PublishedVersion),
		ProductsEvaluated: int32(i.ProductsEvaluated), DurationUs: i.Duration.Microseconds()}
	for _, a := range i.Admission {
		out.AdmissionChanges = append(out.AdmissionChanges, &v1.AdmissionChange{Domain: a.Domain, Product: a.Product, Environment: a.Environment,
			AllowedBefore: a.AllowedBefore, AllowedAfter: a.AllowedAfter,
			ViolationsBefore: violationsPB(a.Before), ViolationsAfter: violationsPB(a.After)})
	}
	for _, m := range i.Masking {
		out.MaskingChanges = append(out.MaskingChanges, &v1.MaskingChange{Domain: m.Domain, Product: m.Product, Environment: m.Environment,
			Before: decisionPB(m.Before), After: decisionPB(m.After)})
	}
	for _, c := range i.Connectors {
		out.ConnectorChanges = append(out.ConnectorChanges, &v1.ConnectorChange{Domain: c.Domain, Product: c.Product,
			Connector: c.Connector, Keys: c.Keys, Provisioned: c.Provisioned, Environment: c.Environment})
	}
	out.AccessRequestsEvaluated = int32(i.AccessRequestsEvaluated)
	for _, a := range i.Access {
		out.AccessChanges = append(out.AccessChanges, &v1.AccessChange{RequestId: a.RequestID, Consumer: a.Consumer,
			Before: accessOutcomePB(a.Before), After: accessOutcomePB(a.After)})
	}
	return out
}

func accessOutcomePB(o policy.AccessOutcome) *v1.AccessOutcome {
	return &v1.AccessOutcome{Approvers: o.Approvers, MaxDurationSeconds: o.MaxDurationSeconds, AutoApprove: o.AutoApprove, FailedClosed: o.FailedClosed}
}

func plansPB(ps []policy.QueuedPlan) []*v1.QueuedPlan {
	out := make([]*v1.QueuedPlan, 0, len(ps))
	for _, p := range ps {
		out = append(out, &v1.QueuedPlan{Domain: p.Domain, Product: p.Product, RunId: p.RunID, Skipped: p.Skipped, Environment: p.Environment})
	}
	return out
}

func (h *PolicyHandler) ListPolicyModules(ctx context.Context, _ *connect.Request[v1.ListPolicyModulesRequest]) (*connect.Response[v1.ListPolicyModulesResponse], error) {
	ms, err := h.svc.ListModules(ctx)
	if err != nil {
		return nil, err
	}
	out := &v1.ListPolicyModulesResponse{}
	for _, m := range ms {
		out.Modules = append(out.Modules, modulePB(m, false))
	}
	return connect.NewResponse(out), nil
}

func (h *PolicyHandler) GetPolicyModule(ctx context.Context, req *connect.Request[v1.GetPolicyModuleRequest]) (*connect.Response[v1.GetPolicyModuleResponse], error) {
	m, err := h.svc.GetModule(ctx, req.Msg.GetName())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.GetPolicyModuleResponse{Module: modulePB(m, true)}), nil
}

func (h *PolicyHandler) CreatePolicyModule(ctx context.Context, req *connect.Request[v1.CreatePolicyModuleRequest]) (*connect.Response[v1.CreatePolicyModuleResponse], error) {
	m, err := h.svc.CreateModule(ctx, req.Msg.GetName(), req.Msg.GetDescription(), req.Msg.GetFiles())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.CreatePolicyModuleResponse{Module: modulePB(m, true)}), nil
}

func (h *PolicyHandler) SavePolicyDraft(ctx context.Context, req *connect.Request[v1.SavePolicyDraftRequest]) (*connect.Response[v1.SavePolicyDraftResponse], error) {
	m, err := h.svc.SaveDraft(ctx, req.Msg.GetName(), req.Msg.GetFiles(), req.Msg.GetVersion())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.SavePolicyDraftResponse{Module: modulePB(m, true)}), nil
}

func (h *PolicyHandler) TestPolicyDraft(ctx context.Context, req *connect.Request[v1.TestPolicyDraftRequest]) (*connect.Response[v1.TestPolicyDraftResponse], error) {
	run, err := h.svc.TestDraft(ctx, req.Msg.GetName())
	if err != nil {
		return nil, err
	}
	out := &v1.TestPolicyDraftResponse{Passed: run.Passed, Problem: run.Problem}
	for _, r := range run.Results {
		out.Results = append(out.Results, &v1.PolicyTestResult{Package: r.Package, Name: r.Name, File: r.File, Line: int32(r.Line),
			Passed: r.Pass, Skipped: r.Skipped, Message: r.Message, DurationUs: r.Duration.Microseconds()})
	}
	return connect.NewResponse(out), nil
}

func (h *PolicyHandler) GetPolicyImpact(ctx context.Context, req *connect.Request[v1.GetPolicyImpactRequest]) (*connect.Response[v1.GetPolicyImpactResponse], error) {
	i, err := h.svc.Impact(ctx, req.Msg.GetName())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.GetPolicyImpactResponse{Impact: impactPB(i)}), nil
}

func (h *PolicyHandler) PublishPolicy(ctx context.Context, req *connect.Request[v1.PublishPolicyRequest]) (*connect.Response[v1.PublishPolicyResponse], error) {
	p, err := h.svc.Publish(ctx, req.Msg.GetName(), req.Msg.GetMessage(), req.Msg.GetVersion())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.PublishPolicyResponse{Version: versionPB(p.Version, false), Plans: plansPB(p.Plans)}), nil
}

func (h *PolicyHandler) RollbackPolicy(ctx context.Context, req *connect.Request[v1.RollbackPolicyRequest]) (*connect.Response[v1.RollbackPolicyResponse], error) {
	p, err := h.svc.Rollback(ctx, req.Msg.GetName(), int(req.Msg.GetToVersion()), req.Msg.GetMessage())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.RollbackPolicyResponse{Version: versionPB(p.Version, false), Plans: plansPB(p.Plans)}), nil
}

func (h *PolicyHandler) ListPolicyVersions(ctx context.Context, req *connect.Request[v1.ListPolicyVersionsRequest]) (*connect.Response[v1.ListPolicyVersionsResponse], error) {
	vs, err := h.svc.ListVersions(ctx, req.Msg.GetName())
	if err != nil {
		return nil, err
	}
	out := &v1.ListPolicyVersionsResponse{}
	for _, v := range vs {
		out.Versions = append(out.Versions, versionPB(v, false))
	}
	return connect.NewResponse(out), nil
}

func (h *PolicyHandler) GetPolicyVersion(ctx context.Context, req *connect.Request[v1.GetPolicyVersionRequest]) (*connect.Response[v1.GetPolicyVersionResponse], error) {
	v, err := h.svc.GetVersion(ctx, req.Msg.GetName(), int(req.Msg.GetNumber()))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.GetPolicyVersionResponse{Version: versionPB(v, true)}), nil
}

func (h *PolicyHandler) EvaluateDataProduct(ctx context.Context, req *connect.Request[v1.EvaluateDataProductRequest]) (*connect.Response[v1.EvaluateDataProductResponse], error) {
	var draft *spec.Product
	if req.Msg.GetSpec() != nil {
		p := ProductSpec(req.Msg.GetSpec())
		draft = &p
	}
	e, err := h.svc.EvaluateProduct(ctx, req.Msg.GetDomain(), req.Msg.GetName(), draft)
	if err != nil {
		return nil, err
	}
	out := &v1.EvaluateDataProductResponse{Allowed: e.Admission.Allowed, Violations: violationsPB(e.Admission.Violations),
		PolicyVersion: e.Admission.Version}
	for i := range e.Decisions {
		out.Masking = append(out.Masking, decisionPB(&e.Decisions[i]))
	}
	return connect.NewResponse(out), nil
}

func (h *PolicyHandler) ListPolicyDecisions(ctx context.Context, req *connect.Request[v1.ListPolicyDecisionsRequest]) (*connect.Response[v1.ListPolicyDecisionsResponse], error) {
	pg, err := h.svc.ListDecisions(ctx, req.Msg.GetDomain(), req.Msg.GetProduct(), int(req.Msg.GetPageSize()), req.Msg.GetPageToken())
	if err != nil {
		return nil, err
	}
	out := &v1.ListPolicyDecisionsResponse{NextPageToken: pg.Next}
	for _, d := range pg.Items {
		out.Decisions = append(out.Decisions, &v1.PolicyDecision{Id: d.ID, Time: timestamppb.New(d.Time), Kind: string(d.Kind),
			Domain: d.Domain, Product: d.Product, Trigger: d.Trigger, Actor: d.Actor, PolicyVersion: d.PolicyVersion,
			InputDigest: d.InputDigest, Allowed: d.Allowed, FailedClosed: d.FailedClosed, Result: d.Result, Error: d.Error,
			DurationUs: d.DurationUs})
	}
	return connect.NewResponse(out), nil
}

func (h *PolicyHandler) GetRBACPolicy(ctx context.Context, _ *connect.Request[v1.GetRBACPolicyRequest]) (*connect.Response[v1.GetRBACPolicyResponse], error) {
	r, err := h.svc.GetRBAC(ctx)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.GetRBACPolicyResponse{Text: r.Text, Version: r.Version, Roles: r.Roles}), nil
}

func (h *PolicyHandler) UpdateRBACPolicy(ctx context.Context, req *connect.Request[v1.UpdateRBACPolicyRequest]) (*connect.Response[v1.UpdateRBACPolicyResponse], error) {
	r, err := h.svc.UpdateRBAC(ctx, req.Msg.GetText(), req.Msg.GetVersion())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.UpdateRBACPolicyResponse{Text: r.Text, Version: r.Version, Roles: r.Roles}), nil
}
