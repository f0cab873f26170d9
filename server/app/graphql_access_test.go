package app_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
	"github.com/meshplane/meshplane/server/app/apptest"
)

// gqlAccessRequestFields selects every field of an AccessRequest.
const gqlAccessRequestFields = `id consumer consumerDomain kafkaPrincipal requestedBy purpose durationSeconds groupPrefix state
	approvals { role domain reason approvedBy approveTime } awaiting decisions { by decision as reason time }
	declineReason declinedBy autoApproved maxDurationSeconds policyVersion policyError version createTime updateTime
	grants { ` + gqlGrantFields + ` }`

const gqlGrantFields = `id requestId consumer consumerDomain kafkaPrincipal domain product port topic groupPrefix purpose state
	durationSeconds expireTime runId error endedBy endReason approveTime activateTime endTime version createTime`

type gqlGrant struct {
	ID, RequestID, Consumer, ConsumerDomain, KafkaPrincipal string
	Domain, Product, Port, Topic, GroupPrefix, Purpose      string
	State                                                   string
	DurationSeconds                                         int64
	RunID                                                   *string
	EndedBy, EndReason                                      string
	Version                                                 int64
}

type gqlAccessRequest struct {
	ID, Consumer, ConsumerDomain, KafkaPrincipal, RequestedBy, Purpose string
	DurationSeconds, MaxDurationSeconds, Version                       int64
	GroupPrefix, State                                                 string
	Approvals                                                          []struct {
		Role, Domain, Reason, ApprovedBy string
		ApproveTime                      *string
	}
	Awaiting                                              []string
	Decisions                                             []struct{ By, Decision, As, Reason, Time string }
	DeclineReason, DeclinedBy, PolicyVersion, PolicyError string
	AutoApproved                                          bool
	Grants                                                []gqlGrant
}

// TestAccessThroughGraphQL files, decides and lists consumer access through
// the GraphQL door, with the rules and errors the Connect door has.
func TestAccessThroughGraphQL(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	ctx := context.Background()
	admin := env.Clients(apptest.ProtocolConnect, env.AdminToken)

	env.Domain("sales")
	env.Domain("marketing")
	created, err := admin.Catalog.CreateDataProduct(ctx, connect.NewRequest(&v1.CreateDataProductRequest{Domain: "sales", Name: "orders", Spec: apptest.ProductSpec()}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Catalog.UpdateDataProduct(ctx, connect.NewRequest(&v1.UpdateDataProductRequest{Domain: "sales", Name: "orders",
		Spec: apptest.ProductSpec(), Lifecycle: v1.Lifecycle_LIFECYCLE_ACTIVE, Version: created.Msg.GetDataProduct().GetVersion()})); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Identity.CreatePrincipal(ctx, connect.NewRequest(&v1.CreatePrincipalRequest{
		Name: "reporter", Kind: v1.PrincipalKind_PRINCIPAL_KIND_SERVICE_ACCOUNT, Domain: "marketing"})); err != nil {
		t.Fatal(err)
	}
	mkt := env.User("mkt", "domain-member", "marketing")
	owner := env.User("owner", "domain-owner", "sales")
	officer := env.User("officer", "governance-officer", "*")
	outsider := env.User("outsider", "viewer", "marketing")

	// ok runs a query as tok, fails on any error and decodes data into v.
	ok := func(step, tok, query string, vars map[string]any, v any) {
		t.Helper()
		r := env.GraphQL(tok, query, vars)
		if len(r.Errors) > 0 {
			t.Fatalf("%s: %+v", step, r.Errors)
		}
		if err := json.Unmarshal(r.Data, v); err != nil {
			t.Fatalf("%s: decoding %s: %v", step, r.Data, err)
		}
	}
	// failing runs a query as tok and returns its one error.
	failing := func(step, tok, query string, vars map[string]any) apptest.GraphQLError {
		t.Helper()
		r := env.GraphQL(tok, query, vars)
		if len(r.Errors) != 1 {
			t.Fatalf("%s: want one error, got %+v (data %s)", step, r.Errors, r.Data)
		}
		return r.Errors[0]
	}
	fieldPaths := func(e apptest.GraphQLError) []string {
		var out []string
		for _, f := range e.Extensions.Fields {
			out = append(out, f.Path)
		}
		return out
	}

	const request = `mutation($in: RequestAccessInput!) { requestAccess(input: $in) { accessRequest { ` + gqlAccessRequestFields + ` } } }`
	requestVars := func(port string, extra map[string]any) map[string]any {
		in := map[string]any{"consumer": "reporter", "purpose": "weekly revenue report",
			"ports": []map[string]any{{"domain": "sales", "product": "orders", "port": port}}}
		for k, v := range extra {
			in[k] = v
		}
		return map[string]any{"in": in}
	}
	const approve = `mutation($in: ApproveAccessRequestInput!) { approveAccessRequest(input: $in) { accessRequest { ` + gqlAccessRequestFields + ` } } }`
	const decline = `mutation($in: DeclineAccessRequestInput!) { declineAccessRequest(input: $in) { accessRequest { ` + gqlAccessRequestFields + ` } } }`
	const cancel = `mutation($in: CancelAccessRequestInput!) { cancelAccessRequest(input: $in) { accessRequest { ` + gqlAccessRequestFields + ` } } }`
	const get = `query($id: ID!) { accessRequest(id: $id) { ` + gqlAccessRequestFields + ` } }`

	// A request for the PII port waits for sales' owner and a governance officer.
	var filed struct {
		RequestAccess struct{ AccessRequest gqlAccessRequest }
	}
	ok("requesting the pii port", mkt, request, requestVars("customers", nil), &filed)
	ar := filed.RequestAccess.AccessRequest
	if ar.State != "PENDING" || ar.Consumer != "reporter" || ar.ConsumerDomain != "marketing" || ar.RequestedBy != "mkt" ||
		ar.KafkaPrincipal != "User:marketing.reporter" || ar.GroupPrefix != "marketing.reporter." || ar.AutoApproved {
		t.Fatalf("filed request = %+v", ar)
	}
	if want := []string{"domain-owner:sales", "governance-officer"}; !slices.Equal(ar.Awaiting, want) {
		t.Fatalf("awaiting = %v, want %v", ar.Awaiting, want)
	}
	if len(ar.Approvals) != 2 || ar.Approvals[0].ApprovedBy != "" || ar.Approvals[0].ApproveTime != nil || ar.Decisions == nil {
		t.Errorf("approvals = %+v, decisions = %+v", ar.Approvals, ar.Decisions)
	}
	if ar.MaxDurationSeconds != 30*24*3600 || ar.DurationSeconds != ar.MaxDurationSeconds || ar.PolicyVersion == "" || ar.PolicyError != "" {
		t.Errorf("durations and policy = %d/%d %q %q", ar.DurationSeconds, ar.MaxDurationSeconds, ar.PolicyVersion, ar.PolicyError)
	}
	if len(ar.Grants) != 1 {
		t.Fatalf("grants = %+v", ar.Grants)
	}
	if g := ar.Grants[0]; g.State != "PENDING" || g.RequestID != ar.ID || g.Port != "customers" || g.Topic != "sales.orders.customers.v1" ||
		g.KafkaPrincipal != "User:marketing.reporter" || g.RunID != nil || g.Purpose != "weekly revenue report" {
		t.Errorf("grant = %+v", g)
	}

	// The requester never approves.
	e := failing("requester approves", mkt, approve, map[string]any{"in": map[string]any{"id": ar.ID}})
	if e.Extensions.Code != "PERMISSION_DENIED" || (e.Extensions.Reason != "SELF_APPROVAL" && e.Extensions.Reason != "NOT_AN_APPROVER") {
		t.Errorf("requester approving = %+v", e)
	}

	// The owner's approval leaves the officer's outstanding; a stale version conflicts.
	e = failing("stale version", owner, approve, map[string]any{"in": map[string]any{"id": ar.ID, "version": ar.Version + 5}})
	if e.Extensions.Code != "CONFLICT" {
		t.Errorf("approving a stale version = %+v", e)
	}
	var approved struct {
		ApproveAccessRequest struct{ AccessRequest gqlAccessRequest }
	}
	ok("owner approves", owner, approve, map[string]any{"in": map[string]any{"id": ar.ID, "reason": "fine by sales", "version": ar.Version}}, &approved)
	ar = approved.ApproveAccessRequest.AccessRequest
	if ar.State != "PENDING" || !slices.Equal(ar.Awaiting, []string{"governance-officer"}) {
		t.Fatalf("after the owner's approval: state %s, awaiting %v", ar.State, ar.Awaiting)
	}
	if len(ar.Decisions) != 1 || ar.Decisions[0].By != "owner" || ar.Decisions[0].Decision != "approve" ||
		ar.Decisions[0].As != "domain-owner:sales" || ar.Decisions[0].Reason != "fine by sales" || ar.Decisions[0].Time == "" {
		t.Errorf("decisions = %+v", ar.Decisions)
	}
	if ar.Approvals[0].ApprovedBy != "owner" || ar.Approvals[0].ApproveTime == nil {
		t.Errorf("approvals = %+v", ar.Approvals)
	}
	e = failing("owner approves twice", owner, approve, map[string]any{"in": map[string]any{"id": ar.ID}})
	if e.Extensions.Code != "FAILED_PRECONDITION" || e.Extensions.Reason != "ALREADY_APPROVED" {
		t.Errorf("approving twice = %+v", e)
	}

	// The officer's inbox holds the request; the owner's no longer does.
	const inbox = `{ accessRequests(awaitingMe: true) { nodes { id } pageInfo { hasNextPage } } }`
	var box struct {
		AccessRequests struct{ Nodes []struct{ ID string } }
	}
	ok("officer's inbox", officer, inbox, nil, &box)
	if len(box.AccessRequests.Nodes) != 1 || box.AccessRequests.Nodes[0].ID != ar.ID {
		t.Errorf("officer's inbox = %+v", box)
	}
	ok("owner's inbox", owner, inbox, nil, &box)
	if len(box.AccessRequests.Nodes) != 0 {
		t.Errorf("owner's inbox = %+v", box)
	}

	// The officer declines; the requester reads why.
	e = failing("declining without a reason", officer, decline, map[string]any{"in": map[string]any{"id": ar.ID, "reason": " "}})
	if e.Extensions.Code != "INVALID_ARGUMENT" || !slices.Equal(fieldPaths(e), []string{"reason"}) {
		t.Errorf("declining without a reason = %+v", e)
	}
	var declined struct {
		DeclineAccessRequest struct{ AccessRequest gqlAccessRequest }
	}
	ok("officer declines", officer, decline, map[string]any{"in": map[string]any{"id": ar.ID, "reason": "use the pseudonymised port"}}, &declined)
	if d := declined.DeclineAccessRequest.AccessRequest; d.State != "DECLINED" || d.DeclinedBy != "officer" || len(d.Awaiting) != 0 ||
		d.Grants[0].State != "DECLINED" {
		t.Errorf("declined request = %+v", d)
	}
	var read struct{ AccessRequest gqlAccessRequest }
	ok("requester reads", mkt, get, map[string]any{"id": ar.ID}, &read)
	if read.AccessRequest.State != "DECLINED" || read.AccessRequest.DeclineReason != "use the pseudonymised port" {
		t.Errorf("request as the requester reads it = %+v", read.AccessRequest)
	}
	e = failing("approving a declined request", owner, approve, map[string]any{"in": map[string]any{"id": ar.ID}})
	if e.Extensions.Reason != "NOT_PENDING" {
		t.Errorf("approving a declined request = %+v", e)
	}

	// Validation errors name the input at fault.
	e = failing("unknown port", mkt, request, requestVars("refunds", nil))
	if e.Extensions.Code != "INVALID_ARGUMENT" || !slices.Equal(fieldPaths(e), []string{"ports[0].port"}) {
		t.Errorf("unknown port = %+v", e)
	}
	e = failing("too long", mkt, request, requestVars("customers", map[string]any{"durationSeconds": 31 * 24 * 3600}))
	if e.Extensions.Code != "INVALID_ARGUMENT" || !slices.Equal(fieldPaths(e), []string{"durationSeconds"}) {
		t.Errorf("duration above the maximum = %+v", e)
	}
	e = failing("far too long", mkt, request, requestVars("customers", map[string]any{"durationSeconds": "9223372036854775807"}))
	if !slices.Equal(fieldPaths(e), []string{"durationSeconds"}) {
		t.Errorf("duration beyond any clock = %+v", e)
	}

	// A pending grant is live: the product's owner sees who asked, why and for how long.
	ok("requesting the orders port", mkt, request, requestVars("orders", map[string]any{"durationSeconds": 7 * 24 * 3600}), &filed)
	pending := filed.RequestAccess.AccessRequest
	if !slices.Equal(pending.Awaiting, []string{"domain-owner:sales"}) || pending.DurationSeconds != 7*24*3600 {
		t.Fatalf("orders request = %+v", pending)
	}
	const grants = `query($states: [GrantState!]) { grants(domain: "sales", product: "orders", states: $states) {
		edges { cursor node { id } } nodes { ` + gqlGrantFields + ` } pageInfo { hasNextPage endCursor } } }`
	type grantList struct {
		Grants *struct {
			Edges []struct {
				Cursor string
				Node   struct{ ID string }
			}
			Nodes    []gqlGrant
			PageInfo struct{ HasNextPage bool }
		}
	}
	var gl grantList
	ok("owner lists live grants", owner, grants, nil, &gl)
	if len(gl.Grants.Nodes) != 1 || gl.Grants.Nodes[0].ID != pending.Grants[0].ID || gl.Grants.Nodes[0].Consumer != "reporter" ||
		gl.Grants.Nodes[0].Purpose != "weekly revenue report" || len(gl.Grants.Edges) != 1 || gl.Grants.Edges[0].Cursor == "" {
		t.Errorf("live grants = %+v", gl.Grants)
	}
	ok("owner lists declined grants", owner, grants, map[string]any{"states": []string{"DECLINED"}}, &gl)
	if len(gl.Grants.Nodes) != 1 || gl.Grants.Nodes[0].Port != "customers" || gl.Grants.Nodes[0].EndReason != "use the pseudonymised port" {
		t.Errorf("declined grants = %+v", gl.Grants)
	}
	var prod struct {
		DataProduct struct {
			Grants struct {
				Nodes []struct{ Port, Consumer, State string }
			}
		}
	}
	ok("product's grants", owner, `{ dataProduct(domain: "sales", name: "orders") { grants(port: "orders") { nodes { port consumer state } } } }`, nil, &prod)
	if n := prod.DataProduct.Grants.Nodes; len(n) != 1 || n[0].Consumer != "reporter" || n[0].State != "PENDING" {
		t.Errorf("product's grants = %+v", n)
	}
	// Another domain's viewer learns nothing of sales' grants.
	if r := env.GraphQL(outsider, grants, nil); len(r.Errors) == 0 {
		if gl = (grantList{}); json.Unmarshal(r.Data, &gl) != nil || gl.Grants == nil || len(gl.Grants.Nodes) != 0 {
			t.Errorf("outsider's grants = %s", r.Data)
		}
	} else if r.Errors[0].Extensions.Code != "NOT_FOUND" {
		t.Errorf("outsider's grants = %+v", r.Errors)
	}

	// The requester withdraws it; the grant ends with it.
	var cancelled struct {
		CancelAccessRequest struct{ AccessRequest gqlAccessRequest }
	}
	ok("requester cancels", mkt, cancel, map[string]any{"in": map[string]any{"id": pending.ID, "version": pending.Version}}, &cancelled)
	if c := cancelled.CancelAccessRequest.AccessRequest; c.State != "CANCELLED" || c.Grants[0].State != "CANCELLED" || c.Grants[0].EndedBy != "mkt" {
		t.Errorf("cancelled request = %+v", c)
	}
	ok("owner lists live grants again", owner, grants, nil, &gl)
	if len(gl.Grants.Nodes) != 0 {
		t.Errorf("live grants after cancelling = %+v", gl.Grants.Nodes)
	}

	// The owner alone approves the plain port: the request is approved and
	// its grant goes on to provisioning, which this test leaves alone.
	ok("requesting the orders port again", mkt, request, requestVars("orders", nil), &filed)
	ok("owner approves the plain port", owner, approve, map[string]any{"in": map[string]any{"id": filed.RequestAccess.AccessRequest.ID}}, &approved)
	plain := approved.ApproveAccessRequest.AccessRequest
	if plain.State != "APPROVED" || len(plain.Awaiting) != 0 || plain.MaxDurationSeconds != 90*24*3600 {
		t.Fatalf("approved request = %+v", plain)
	}
	// When provisioning is available the grant's plan is queued at once, and
	// the run says what asked for it.
	if id := plain.Grants[0].RunID; id != nil {
		var run struct {
			Run struct {
				Trigger, TriggerDetail, AutoApplyNote string
				AutoApply                             bool
			}
		}
		ok("the grant's run", owner, `query($id: ID!) { run(id: $id) { trigger triggerDetail autoApply autoApplyNote } }`, map[string]any{"id": *id}, &run)
		if run.Run.Trigger != "grant" || !strings.Contains(run.Run.TriggerDetail, plain.ID) {
			t.Errorf("the grant's run = %+v", run.Run)
		}
	}
	var revoked struct {
		RevokeGrant struct{ Grant gqlGrant }
	}
	ok("owner revokes", owner, `mutation($id: ID!) { revokeGrant(input: {id: $id, reason: "report retired"}) { grant { `+gqlGrantFields+` } } }`,
		map[string]any{"id": plain.Grants[0].ID}, &revoked)
	if g := revoked.RevokeGrant.Grant; (g.State != "REVOKING" && g.State != "REVOKED") || g.EndReason != "report retired" || g.EndedBy != "owner" {
		t.Errorf("revoked grant = %+v", g)
	}

	// The request's listing by domain, newest first, as the consumer's domain sees it.
	var listed struct {
		AccessRequests struct{ Nodes []struct{ ID, State string } }
	}
	ok("listing by domain", mkt, `{ accessRequests(domain: "sales") { nodes { id state } } }`, nil, &listed)
	var states []string
	for _, n := range listed.AccessRequests.Nodes {
		states = append(states, n.State)
	}
	if want := []string{"APPROVED", "CANCELLED", "DECLINED"}; !slices.Equal(states, want) {
		t.Errorf("requests of sales = %v, want %v", states, want)
	}
	ok("listing declined", mkt, `{ accessRequests(state: DECLINED) { nodes { id state } } }`, nil, &listed)
	if len(listed.AccessRequests.Nodes) != 1 || listed.AccessRequests.Nodes[0].ID != ar.ID {
		t.Errorf("declined requests = %+v", listed.AccessRequests.Nodes)
	}

	// Kafka credentials: the password once, then only rotation replaces it.
	const issue = `mutation($p: String!) { issueKafkaCredential(input: {principal: $p}) {
		credential { principal username kafkaPrincipal mechanism issuedBy issueTime rotateTime } password bootstrapServers securityProtocol } }`
	var cred struct {
		IssueKafkaCredential struct {
			Credential struct {
				Principal, Username, KafkaPrincipal, Mechanism, IssuedBy, IssueTime string
				RotateTime                                                          *string
			}
			Password, SecurityProtocol string
			BootstrapServers           []string
		}
	}
	ok("issuing a credential", env.AdminToken, issue, map[string]any{"p": "reporter"}, &cred)
	c := cred.IssueKafkaCredential
	if c.Credential.Principal != "reporter" || c.Credential.Username != "marketing.reporter" || c.Credential.KafkaPrincipal != "User:marketing.reporter" ||
		c.Credential.Mechanism != "SCRAM-SHA-512" || c.Credential.IssuedBy != "admin" || c.Credential.IssueTime == "" || c.Credential.RotateTime != nil ||
		len(c.Password) < 32 || len(c.BootstrapServers) == 0 || !strings.HasPrefix(c.SecurityProtocol, "SASL_") {
		t.Errorf("issued credential = %+v", c)
	}
	e = failing("issuing twice", env.AdminToken, issue, map[string]any{"p": "reporter"})
	if e.Extensions.Code != "FAILED_PRECONDITION" || e.Extensions.Reason != "CREDENTIAL_EXISTS" || strings.Contains(e.Message, c.Password) {
		t.Errorf("issuing twice = %+v", e)
	}
	var rotated struct {
		RotateKafkaCredential struct {
			Credential struct{ RotateTime *string }
			Password   string
		}
	}
	ok("rotating", env.AdminToken, `mutation { rotateKafkaCredential(input: {principal: "reporter"}) { credential { rotateTime } password } }`, nil, &rotated)
	if r := rotated.RotateKafkaCredential; r.Credential.RotateTime == nil || r.Password == "" || r.Password == c.Password {
		t.Errorf("rotated credential = %+v", r)
	}
	e = failing("a member issues", mkt, issue, map[string]any{"p": "reporter"})
	if e.Extensions.Code != "PERMISSION_DENIED" {
		t.Errorf("a domain member issuing = %+v", e)
	}
}
