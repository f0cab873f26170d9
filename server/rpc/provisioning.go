package rpc

import (
	"context"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
	"github.com/meshplane/meshplane/api/gen/meshplane/v1/meshplanev1connect"
	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/ent/provisioningrun"
	"github.com/meshplane/meshplane/server/provision"
	"github.com/meshplane/meshplane/server/provision/summary"
)

// ProvisioningHandler serves meshplane.v1.ProvisioningService.
type ProvisioningHandler struct{ svc *provision.Service }

var _ meshplanev1connect.ProvisioningServiceHandler = (*ProvisioningHandler)(nil)

var (
	runStates = enumMap[v1.RunState]{
		v1.RunState_RUN_STATE_QUEUED:      string(provisioningrun.StateQueued),
		v1.RunState_RUN_STATE_PLANNING:    string(provisioningrun.StatePlanning),
		v1.RunState_RUN_STATE_PLANNED:     string(provisioningrun.StatePlanned),
		v1.RunState_RUN_STATE_APPLYING:    string(provisioningrun.StateApplying),
		v1.RunState_RUN_STATE_APPLIED:     string(provisioningrun.StateApplied),
		v1.RunState_RUN_STATE_FAILED:      string(provisioningrun.StateFailed),
		v1.RunState_RUN_STATE_CANCELLED:   string(provisioningrun.StateCancelled),
		v1.RunState_RUN_STATE_INTERRUPTED: string(provisioningrun.StateInterrupted),
	}
	runKinds = enumMap[v1.RunKind]{
		v1.RunKind_RUN_KIND_APPLY:   string(provisioningrun.KindApply),
		v1.RunKind_RUN_KIND_DESTROY: string(provisioningrun.KindDestroy),
	}
)

func summaryPB(s summary.Summary) *v1.PlanSummary {
	out := &v1.PlanSummary{Create: int32(s.Create), Update: int32(s.Update), Delete: int32(s.Delete), Replace: int32(s.Replace),
		Destructive: s.Destructive, Reasons: s.Reasons}
	for _, r := range s.Resources {
		rc := &v1.ResourceChange{Address: r.Address, Type: r.Type, Action: r.Action, Reason: r.Reason}
		for _, a := range r.Attributes {
			rc.Attributes = append(rc.Attributes, &v1.AttributeChange{Path: a.Path, Before: a.Before, After: a.After})
		}
		for _, ref := range r.SecretRefs {
			rc.SecretRefs = append(rc.SecretRefs, &v1.SecretReference{Setting: ref.Setting, Ref: ref.Ref})
		}
		out.Resources = append(out.Resources, rc)
	}
	return out
}

func runPB(r *ent.ProvisioningRun, withLog bool) *v1.Run {
	out := &v1.Run{
		Id: r.ID, Domain: r.Domain, Product: r.Product, Kind: runKinds.num(string(r.Kind)), State: runStates.num(string(r.State)),
		ProductVersion: r.ProductVersion, HasChanges: r.HasChanges, Destructive: r.Destructive, Summary: summaryPB(r.Summary),
		Error: r.Error, CreatedBy: r.CreatedBy, ApprovedBy: r.ApprovedBy, CreateTime: timestamppb.New(r.CreateTime), Version: r.Version,
		PolicyVersion: r.PolicyVersion, Trigger: string(r.Trigger), TriggerDetail: r.TriggerDetail,
		AutoApply: r.AutoApply, AutoApplyNote: r.AutoApplyNote, Environment: r.Environment,
	}
	for _, a := range r.Approvers {
		out.Approvers = append(out.Approvers, &v1.RunApprover{Role: a.Role, Reason: a.Reason})
	}
	for _, a := range r.Approvals {
		out.Approvals = append(out.Approvals, &v1.RunApproval{By: a.By, Role: a.Role, Time: timestamppb.New(a.Time)})
	}
	if withLog {
		out.Log = r.Log
	}
	out.ApproveTime, out.StartTime, out.FinishTime = tsOrNil(r.ApproveTime), tsOrNil(r.StartTime), tsOrNil(r.FinishTime)
	return out
}

func (h *ProvisioningHandler) Plan(ctx context.Context, req *connect.Request[v1.PlanRequest]) (*connect.Response[v1.PlanResponse], error) {
	r, err := h.svc.Plan(ctx, req.Msg.GetDomain(), req.Msg.GetProduct(), req.Msg.GetEnvironment())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.PlanResponse{Run: runPB(r, false)}), nil
}

func (h *ProvisioningHandler) GetRun(ctx context.Context, req *connect.Request[v1.GetRunRequest]) (*connect.Response[v1.GetRunResponse], error) {
	r, err := h.svc.GetRun(ctx, req.Msg.GetId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.GetRunResponse{Run: runPB(r, true)}), nil
}

func (h *ProvisioningHandler) ListRuns(ctx context.Context, req *connect.Request[v1.ListRunsRequest]) (*connect.Response[v1.ListRunsResponse], error) {
	pg, err := h.svc.ListRuns(ctx, req.Msg.GetDomain(), req.Msg.GetProduct(), req.Msg.GetEnvironment(), int(req.Msg.GetPageSize()), req.Msg.GetPageToken())
	if err != nil {
		return nil, err
	}
	runs := make([]*v1.Run, len(pg.Items))
	for i, r := range pg.Items {
		runs[i] = runPB(r, false)
	}
	return connect.NewResponse(&v1.ListRunsResponse{Runs: runs, NextPageToken: pg.Next}), nil
}

func (h *ProvisioningHandler) WatchRun(ctx context.Context, req *connect.Request[v1.WatchRunRequest], stream *connect.ServerStream[v1.WatchRunResponse]) error {
	return h.svc.WatchRun(ctx, req.Msg.GetId(), func(u provision.Update) error {
		return stream.Send(&v1.WatchRunResponse{Line: u.Line, State: runStates.num(string(u.State))})
	})
}

func (h *ProvisioningHandler) ApproveRun(ctx context.Context, req *connect.Request[v1.ApproveRunRequest]) (*connect.Response[v1.ApproveRunResponse], error) {
	r, err := h.svc.ApproveRun(ctx, req.Msg.GetId(), req.Msg.GetConfirmDestructive())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.ApproveRunResponse{Run: runPB(r, false)}), nil
}

func (h *ProvisioningHandler) CancelRun(ctx context.Context, req *connect.Request[v1.CancelRunRequest]) (*connect.Response[v1.CancelRunResponse], error) {
	r, err := h.svc.CancelRun(ctx, req.Msg.GetId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.CancelRunResponse{Run: runPB(r, false)}), nil
}

func (h *ProvisioningHandler) Decommission(ctx context.Context, req *connect.Request[v1.DecommissionRequest]) (*connect.Response[v1.DecommissionResponse], error) {
	r, err := h.svc.Decommission(ctx, req.Msg.GetDomain(), req.Msg.GetProduct(), req.Msg.GetEnvironment())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.DecommissionResponse{Run: runPB(r, false)}), nil
}

var connectorStates = enumMap[v1.ConnectorState]{
	v1.ConnectorState_CONNECTOR_STATE_RUNNING:      provision.ConnectorRunning,
	v1.ConnectorState_CONNECTOR_STATE_PAUSED:       provision.ConnectorPaused,
	v1.ConnectorState_CONNECTOR_STATE_FAILED:       provision.ConnectorFailed,
	v1.ConnectorState_CONNECTOR_STATE_UNASSIGNED:   provision.ConnectorUnassigned,
	v1.ConnectorState_CONNECTOR_STATE_STOPPED:      provision.ConnectorStopped,
	v1.ConnectorState_CONNECTOR_STATE_RESTARTING:   provision.ConnectorRestarting,
	v1.ConnectorState_CONNECTOR_STATE_NOT_DEPLOYED: provision.ConnectorNotDeployed,
}

func connectorPB(c provision.Connector) *v1.Connector {
	out := &v1.Connector{Name: c.Name, Role: c.Role, State: connectorStates.num(c.State), WorkerId: c.WorkerID, Trace: c.Trace, LastRunId: c.LastRunID}
	for _, t := range c.Tasks {
		out.Tasks = append(out.Tasks, &v1.ConnectorTask{Id: int32(t.ID), State: connectorStates.num(t.State), WorkerId: t.WorkerID, Trace: t.Trace})
	}
	return out
}

func (h *ProvisioningHandler) ListConnectors(ctx context.Context, req *connect.Request[v1.ListConnectorsRequest]) (*connect.Response[v1.ListConnectorsResponse], error) {
	cs, err := h.svc.Connectors(ctx, req.Msg.GetDomain(), req.Msg.GetProduct(), req.Msg.GetEnvironment())
	if err != nil {
		return nil, err
	}
	out := &v1.ListConnectorsResponse{}
	for _, c := range cs {
		out.Connectors = append(out.Connectors, connectorPB(c))
	}
	return connect.NewResponse(out), nil
}

func (h *ProvisioningHandler) RestartConnector(ctx context.Context, req *connect.Request[v1.RestartConnectorRequest]) (*connect.Response[v1.RestartConnectorResponse], error) {
	var task *int
	if req.Msg.Task != nil {
		n := int(req.Msg.GetTask())
		task = &n
	}
	c, err := h.svc.OperateConnector(ctx, req.Msg.GetDomain(), req.Msg.GetProduct(), req.Msg.GetEnvironment(), req.Msg.GetRole(), provision.OpRestart, task)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.RestartConnectorResponse{Connector: connectorPB(c)}), nil
}

func (h *ProvisioningHandler) PauseConnector(ctx context.Context, req *connect.Request[v1.PauseConnectorRequest]) (*connect.Response[v1.PauseConnectorResponse], error) {
	c, err := h.svc.OperateConnector(ctx, req.Msg.GetDomain(), req.Msg.GetProduct(), req.Msg.GetEnvironment(), req.Msg.GetRole(), provision.OpPause, nil)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.PauseConnectorResponse{Connector: connectorPB(c)}), nil
}

func (h *ProvisioningHandler) ResumeConnector(ctx context.Context, req *connect.Request[v1.ResumeConnectorRequest]) (*connect.Response[v1.ResumeConnectorResponse], error) {
	c, err := h.svc.OperateConnector(ctx, req.Msg.GetDomain(), req.Msg.GetProduct(), req.Msg.GetEnvironment(), req.Msg.GetRole(), provision.OpResume, nil)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.ResumeConnectorResponse{Connector: connectorPB(c)}), nil
}

func (h *ProvisioningHandler) ListEnvironments(ctx context.Context, _ *connect.Request[v1.ListEnvironmentsRequest]) (*connect.Response[v1.ListEnvironmentsResponse], error) {
	envs, err := h.svc.ListEnvironments(ctx)
	if err != nil {
		return nil, err
	}
	out := &v1.ListEnvironmentsResponse{}
	for _, e := range envs {
		params, err := structpb.NewStruct(e.Parameters)
		if err != nil {
			return nil, err
		}
		out.Environments = append(out.Environments, &v1.Environment{Name: e.Name, Default: e.Default, Access: e.Access, Sandbox: e.Sandbox,
			KafkaBootstrap: e.KafkaBootstrap, ConnectUrl: e.ConnectURL, ReplicationFactor: int32(e.ReplicationFactor),
			Parameters: params, PromoteFrom: e.PromoteFrom})
	}
	return connect.NewResponse(out), nil
}

func (h *ProvisioningHandler) ListDeployments(ctx context.Context, req *connect.Request[v1.ListDeploymentsRequest]) (*connect.Response[v1.ListDeploymentsResponse], error) {
	ds, err := h.svc.Deployments(ctx, req.Msg.GetDomain(), req.Msg.GetProduct())
	if err != nil {
		return nil, err
	}
	out := &v1.ListDeploymentsResponse{}
	for _, d := range ds {
		pb := &v1.Deployment{Environment: d.Environment, Drift: summaryPB(summary.Summary{Resources: d.Drift}).GetResources(), DriftCheckTime: tsOrNil(d.DriftCheckTime)}
		if d.ProvisionedVersion != nil {
			pb.ProvisionedVersion = *d.ProvisionedVersion
		}
		out.Deployments = append(out.Deployments, pb)
	}
	return connect.NewResponse(out), nil
}

func (h *ProvisioningHandler) Promote(ctx context.Context, req *connect.Request[v1.PromoteRequest]) (*connect.Response[v1.PromoteResponse], error) {
	r, err := h.svc.Promote(ctx, req.Msg.GetDomain(), req.Msg.GetProduct(), req.Msg.GetFrom(), req.Msg.GetTo())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.PromoteResponse{Run: runPB(r, false)}), nil
}
