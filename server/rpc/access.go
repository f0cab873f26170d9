package rpc

import (
	"context"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
	"github.com/meshplane/meshplane/api/gen/meshplane/v1/meshplanev1connect"
	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/ent/accessrequest"
	"github.com/meshplane/meshplane/server/ent/grant"
	grantsvc "github.com/meshplane/meshplane/server/grant"
	"github.com/meshplane/meshplane/server/provision"
)

// AccessHandler serves meshplane.v1.AccessService.
type AccessHandler struct{ svc *grantsvc.Service }

var _ meshplanev1connect.AccessServiceHandler = (*AccessHandler)(nil)

var (
	requestStates = enumMap[v1.AccessRequestState]{
		v1.AccessRequestState_ACCESS_REQUEST_STATE_PENDING:   string(accessrequest.StatePending),
		v1.AccessRequestState_ACCESS_REQUEST_STATE_APPROVED:  string(accessrequest.StateApproved),
		v1.AccessRequestState_ACCESS_REQUEST_STATE_DECLINED:  string(accessrequest.StateDeclined),
		v1.AccessRequestState_ACCESS_REQUEST_STATE_CANCELLED: string(accessrequest.StateCancelled),
	}
	grantStates = enumMap[v1.GrantState]{
		v1.GrantState_GRANT_STATE_PENDING:      string(grant.StatePending),
		v1.GrantState_GRANT_STATE_APPROVED:     string(grant.StateApproved),
		v1.GrantState_GRANT_STATE_PROVISIONING: string(grant.StateProvisioning),
		v1.GrantState_GRANT_STATE_ACTIVE:       string(grant.StateActive),
		v1.GrantState_GRANT_STATE_REVOKING:     string(grant.StateRevoking),
		v1.GrantState_GRANT_STATE_EXPIRING:     string(grant.StateExpiring),
		v1.GrantState_GRANT_STATE_EXPIRED:      string(grant.StateExpired),
		v1.GrantState_GRANT_STATE_REVOKED:      string(grant.StateRevoked),
		v1.GrantState_GRANT_STATE_DECLINED:     string(grant.StateDeclined),
		v1.GrantState_GRANT_STATE_CANCELLED:    string(grant.StateCancelled),
	}
)

func grantPB(g *ent.Grant) *v1.Grant {
	return &v1.Grant{
		Id: g.ID, RequestId: g.RequestID, Consumer: g.Consumer, ConsumerDomain: g.ConsumerDomain,
		KafkaPrincipal: provision.KafkaPrincipal(g.ConsumerDomain, g.Consumer), Domain: g.Domain, Product: g.Product,
		Port: g.Port, Topic: g.Topic, Environment: g.Environment, GroupPrefix: g.GroupPrefix, Purpose: g.Purpose, State: grantStates.num(string(g.State)),
		DurationSeconds: g.DurationSeconds, ExpireTime: tsOrNil(g.ExpireTime), RunId: g.RunID, Error: g.Error,
		EndedBy: g.EndedBy, EndReason: g.EndReason, ApproveTime: tsOrNil(g.ApproveTime), ActivateTime: tsOrNil(g.ActivateTime),
		EndTime: tsOrNil(g.EndTime), Version: g.Version, CreateTime: timestamppb.New(g.CreateTime),
	}
}

func accessRequestPB(r *grantsvc.Request) *v1.AccessRequest {
	out := &v1.AccessRequest{
		Id: r.ID, Consumer: r.Consumer, ConsumerDomain: r.ConsumerDomain,
		KafkaPrincipal: r.KafkaPrincipal, RequestedBy: r.RequestedBy,
		Purpose: r.Purpose, DurationSeconds: r.DurationSeconds, GroupPrefix: r.GroupPrefix, Environment: r.Environment, State: requestStates.num(string(r.State)),
		Awaiting: r.Awaiting, DeclineReason: r.DeclineReason, DeclinedBy: r.DeclinedBy,
		AutoApproved: r.AutoApproved, MaxDurationSeconds: r.MaxDurationSeconds, PolicyVersion: r.PolicyVersion,
		PolicyError: r.PolicyError, Grants: mapSlice(r.Grants, grantPB), Version: r.Version,
		CreateTime: timestamppb.New(r.CreateTime), UpdateTime: timestamppb.New(r.UpdateTime),
	}
	for _, a := range r.Approvals {
		out.Approvals = append(out.Approvals, &v1.Approval{Role: a.Role, Domain: a.Domain, Reason: a.Reason,
			ApprovedBy: a.ApprovedBy, ApproveTime: tsOrNil(a.ApproveTime)})
	}
	for _, d := range r.Decisions {
		out.Decisions = append(out.Decisions, &v1.AccessDecision{By: d.By, Decision: d.Decision, As: d.As, Reason: d.Reason,
			Time: timestamppb.New(d.Time)})
	}
	return out
}

func credentialPB(c *grantsvc.Credential) *v1.KafkaCredential {
	out := &v1.KafkaCredential{Principal: c.Principal, Username: c.Username, KafkaPrincipal: c.KafkaPrincipal,
		Mechanism: c.Mechanism, IssuedBy: c.IssuedBy, IssueTime: timestamppb.New(c.CreateTime), RotateTime: tsOrNil(c.RotateTime), Environment: c.Environment}
	return out
}

func (h *AccessHandler) RequestAccess(ctx context.Context, req *connect.Request[v1.RequestAccessRequest]) (*connect.Response[v1.RequestAccessResponse], error) {
	in := grantsvc.RequestInput{Consumer: req.Msg.GetConsumer(), Purpose: req.Msg.GetPurpose(),
		DurationSeconds: req.Msg.GetDurationSeconds(), GroupPrefix: req.Msg.GetGroupPrefix(), Environment: req.Msg.GetEnvironment()}
	for _, p := range req.Msg.GetPorts() {
		in.Ports = append(in.Ports, grantsvc.PortRef{Domain: p.GetDomain(), Product: p.GetProduct(), Port: p.GetPort()})
	}
	r, err := h.svc.RequestAccess(ctx, in)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.RequestAccessResponse{AccessRequest: accessRequestPB(r)}), nil
}

func (h *AccessHandler) GetAccessRequest(ctx context.Context, req *connect.Request[v1.GetAccessRequestRequest]) (*connect.Response[v1.GetAccessRequestResponse], error) {
	r, err := h.svc.GetAccessRequest(ctx, req.Msg.GetId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.GetAccessRequestResponse{AccessRequest: accessRequestPB(r)}), nil
}

func (h *AccessHandler) ListAccessRequests(ctx context.Context, req *connect.Request[v1.ListAccessRequestsRequest]) (*connect.Response[v1.ListAccessRequestsResponse], error) {
	state := ""
	if st := req.Msg.GetState(); st != v1.AccessRequestState_ACCESS_REQUEST_STATE_UNSPECIFIED {
		state = requestStates.str(st)
	}
	pg, err := h.svc.ListAccessRequests(ctx, grantsvc.ListRequestsInput{AwaitingMe: req.Msg.GetAwaitingMe(),
		Consumer: req.Msg.GetConsumer(), Domain: req.Msg.GetDomain(), State: state,
		PageSize: int(req.Msg.GetPageSize()), PageToken: req.Msg.GetPageToken()})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.ListAccessRequestsResponse{AccessRequests: mapSlice(pg.Items, accessRequestPB), NextPageToken: pg.Next}), nil
}

func (h *AccessHandler) ApproveAccessRequest(ctx context.Context, req *connect.Request[v1.ApproveAccessRequestRequest]) (*connect.Response[v1.ApproveAccessRequestResponse], error) {
	r, err := h.svc.ApproveAccessRequest(ctx, req.Msg.GetId(), req.Msg.GetReason(), req.Msg.GetVersion())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.ApproveAccessRequestResponse{AccessRequest: accessRequestPB(r)}), nil
}

func (h *AccessHandler) DeclineAccessRequest(ctx context.Context, req *connect.Request[v1.DeclineAccessRequestRequest]) (*connect.Response[v1.DeclineAccessRequestResponse], error) {
	r, err := h.svc.DeclineAccessRequest(ctx, req.Msg.GetId(), req.Msg.GetReason(), req.Msg.GetVersion())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.DeclineAccessRequestResponse{AccessRequest: accessRequestPB(r)}), nil
}

func (h *AccessHandler) CancelAccessRequest(ctx context.Context, req *connect.Request[v1.CancelAccessRequestRequest]) (*connect.Response[v1.CancelAccessRequestResponse], error) {
	r, err := h.svc.CancelAccessRequest(ctx, req.Msg.GetId(), req.Msg.GetVersion())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.CancelAccessRequestResponse{AccessRequest: accessRequestPB(r)}), nil
}

func (h *AccessHandler) ListGrants(ctx context.Context, req *connect.Request[v1.ListGrantsRequest]) (*connect.Response[v1.ListGrantsResponse], error) {
	var states []string
	for _, st := range req.Msg.GetStates() {
		states = append(states, grantStates.str(st))
	}
	pg, err := h.svc.ListGrants(ctx, grantsvc.ListGrantsInput{Domain: req.Msg.GetDomain(), Product: req.Msg.GetProduct(),
		Port: req.Msg.GetPort(), Consumer: req.Msg.GetConsumer(), Environment: req.Msg.GetEnvironment(), States: states,
		PageSize: int(req.Msg.GetPageSize()), PageToken: req.Msg.GetPageToken()})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.ListGrantsResponse{Grants: mapSlice(pg.Items, grantPB), NextPageToken: pg.Next}), nil
}

func (h *AccessHandler) RevokeGrant(ctx context.Context, req *connect.Request[v1.RevokeGrantRequest]) (*connect.Response[v1.RevokeGrantResponse], error) {
	g, err := h.svc.RevokeGrant(ctx, req.Msg.GetId(), req.Msg.GetReason())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.RevokeGrantResponse{Grant: grantPB(g)}), nil
}

func (h *AccessHandler) IssueKafkaCredential(ctx context.Context, req *connect.Request[v1.IssueKafkaCredentialRequest]) (*connect.Response[v1.IssueKafkaCredentialResponse], error) {
	c, err := h.svc.IssueKafkaCredential(ctx, req.Msg.GetPrincipal(), req.Msg.GetEnvironment())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.IssueKafkaCredentialResponse{Credential: credentialPB(c), Password: c.Password,
		BootstrapServers: c.Bootstrap, SecurityProtocol: c.SecurityProtocol}), nil
}

func (h *AccessHandler) RotateKafkaCredential(ctx context.Context, req *connect.Request[v1.RotateKafkaCredentialRequest]) (*connect.Response[v1.RotateKafkaCredentialResponse], error) {
	c, err := h.svc.RotateKafkaCredential(ctx, req.Msg.GetPrincipal(), req.Msg.GetEnvironment())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.RotateKafkaCredentialResponse{Credential: credentialPB(c), Password: c.Password,
		BootstrapServers: c.Bootstrap, SecurityProtocol: c.SecurityProtocol}), nil
}
