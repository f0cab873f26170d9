package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
	"github.com/meshplane/meshplane/server/app"
	"github.com/meshplane/meshplane/server/app/apptest"
)

// twoEnvironments is dev, a sandbox of one broker with no rules, and prod,
// a sandbox of three brokers that takes versions promoted from dev only,
// replicates topics three times, keeps them at most three days, allows no
// raw personal data and is protected (its owner and, for personal data, a
// governance officer approve).
func twoEnvironments() []app.EnvironmentConfig {
	return []app.EnvironmentConfig{
		{Name: "dev"},
		{Name: "prod", SandboxBrokers: 3, PromoteFrom: []string{"dev"}, Parameters: map[string]any{
			"protected": true, "replicationFactor": float64(3), "maxRetentionMs": float64(3 * 24 * 3600 * 1000), "rawPII": false}},
	}
}

// planIn plans a product in env and waits for the plan.
func planIn(t *testing.T, c apptest.Clients, env, domain, product string) *v1.Run {
	t.Helper()
	res, err := c.Provision.Plan(context.Background(), connect.NewRequest(&v1.PlanRequest{Domain: domain, Product: product, Environment: env}))
	if err != nil {
		t.Fatalf("Plan in %s: %v", env, err)
	}
	r := waitRun(t, c, res.Msg.GetRun().GetId())
	if r.GetState() != v1.RunState_RUN_STATE_PLANNED {
		t.Fatalf("plan in %s ended %v: %s", env, r.GetState(), r.GetError())
	}
	return r
}

// replicas returns how many replicas each partition of topic has in a broker.
func replicas(t *testing.T, opts []kgo.Opt, topic string) []int {
	t.Helper()
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	td, err := kadm.NewClient(cl).ListTopics(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := td[topic]
	if !ok || d.Err != nil {
		return nil
	}
	var out []int
	for _, p := range d.Partitions.Sorted() {
		out = append(out, len(p.Replicas))
	}
	return out
}

// violationsOf joins the field violations' descriptions of a Connect error.
func violationsOf(err error) string {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return ""
	}
	var out []string
	for _, d := range ce.Details() {
		if v, derr := d.Value(); derr == nil {
			if br, ok := v.(*errdetails.BadRequest); ok {
				for _, f := range br.GetFieldViolations() {
					out = append(out, f.GetField()+": "+f.GetDescription())
				}
			}
		}
	}
	return strings.Join(out, "; ")
}

func deployments(t *testing.T, c apptest.Clients, domain, product string) map[string]int64 {
	t.Helper()
	res, err := c.Provision.ListDeployments(context.Background(), connect.NewRequest(&v1.ListDeploymentsRequest{Domain: domain, Product: product}))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, d := range res.Msg.GetDeployments() {
		out[d.GetEnvironment()] = d.GetProvisionedVersion()
	}
	return out
}

// TestPromotionAcrossEnvironments: a product applied in dev is promoted to
// prod; prod's parameters refuse what breaks its rules and change the plan
// (three replicas instead of one); a member approves in dev and is refused
// in prod, where the owner and a governance officer must both approve.
func TestPromotionAcrossEnvironments(t *testing.T) {
	apptest.RequireTools(t)
	env := apptest.New(t, apptest.Options{Environments: twoEnvironments()})
	ctx := context.Background()
	env.Domain("sales")
	ownerTok := env.User("olivia", "domain-owner", "sales")
	memberTok := env.User("mark", "domain-member", "sales")
	officerTok := env.User("gary", "governance-officer", "*")
	owner := env.Clients(apptest.ProtocolConnect, ownerTok)
	member := env.Clients(apptest.ProtocolGRPC, memberTok)
	officer := env.Clients(apptest.ProtocolConnect, officerTok)

	// The environments, default first, with their parameters and no secret.
	envs, err := member.Provision.ListEnvironments(ctx, connect.NewRequest(&v1.ListEnvironmentsRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	if es := envs.Msg.GetEnvironments(); len(es) != 2 || es[0].GetName() != "dev" || !es[0].GetDefault() || es[1].GetName() != "prod" ||
		es[1].GetReplicationFactor() != 3 || es[0].GetReplicationFactor() != 1 || !es[1].GetSandbox() ||
		es[1].GetParameters().GetFields()["maxRetentionMs"].GetNumberValue() != 259200000 || es[1].GetPromoteFrom()[0] != "dev" {
		t.Fatalf("environments = %v", es)
	}

	spec := apptest.ProductSpec()
	if _, err := owner.Catalog.CreateDataProduct(ctx, connect.NewRequest(&v1.CreateDataProductRequest{Domain: "sales", Name: "orders", Spec: spec})); err != nil {
		t.Fatal(err)
	}

	// prod takes promoted versions only: planning it there directly, or
	// promoting what dev does not run, is refused and queues nothing.
	_, err = owner.Provision.Plan(ctx, connect.NewRequest(&v1.PlanRequest{Domain: "sales", Product: "orders", Environment: "prod"}))
	if connect.CodeOf(err) != connect.CodeFailedPrecondition || reasonOf(err) != "NOT_PROMOTED" {
		t.Fatalf("planning prod directly: %v (reason %q)", err, reasonOf(err))
	}
	_, err = owner.Provision.Promote(ctx, connect.NewRequest(&v1.PromoteRequest{Domain: "sales", Product: "orders", From: "dev", To: "prod"}))
	if connect.CodeOf(err) != connect.CodeFailedPrecondition || reasonOf(err) != "NOT_APPLIED_IN_SOURCE" {
		t.Fatalf("promoting what dev does not run: %v (reason %q)", err, reasonOf(err))
	}
	for _, bad := range []struct {
		req   *v1.PromoteRequest
		field string
	}{
		{&v1.PromoteRequest{Domain: "sales", Product: "orders", From: "dev", To: "staging"}, "to"},
		{&v1.PromoteRequest{Domain: "sales", Product: "orders", From: "prod", To: "prod"}, "to"},
		{&v1.PromoteRequest{Domain: "sales", Product: "orders", From: "", To: "prod"}, "from"},
		{&v1.PromoteRequest{Domain: "sales", Product: "orders", From: "../dev", To: "prod"}, "from"},
	} {
		_, err := owner.Provision.Promote(ctx, connect.NewRequest(bad.req))
		if o := connectOutcome(err); o.Code != "INVALID_ARGUMENT" || len(o.Fields) == 0 || o.Fields[0] != bad.field {
			t.Errorf("promote %v: %+v, want a violation of %s", bad.req, o, bad.field)
		}
	}
	if _, err := owner.Provision.Plan(ctx, connect.NewRequest(&v1.PlanRequest{Domain: "sales", Product: "orders", Environment: "nope"})); connectOutcome(err).Code != "INVALID_ARGUMENT" {
		t.Errorf("planning in an unknown environment: %v", err)
	}

	// dev: a member plans and approves; the topic has one replica there.
	devRun := planIn(t, member, "dev", "sales", "orders")
	if devRun.GetEnvironment() != "dev" || len(devRun.GetApprovers()) != 0 {
		t.Fatalf("dev run = %v", devRun)
	}
	approve(t, member, devRun, false)
	devKafka, prodKafka := env.Server.Sandboxes["dev"].ClientOptions(), env.Server.Sandboxes["prod"].ClientOptions()
	if got := replicas(t, devKafka, "sales.orders.orders.v1"); len(got) != 6 || got[0] != 1 {
		t.Errorf("dev topic replicas = %v, want 6 partitions of 1", got)
	}
	if got := replicas(t, prodKafka, "sales.orders.orders.v1"); got != nil {
		t.Fatalf("prod has the topic before any promotion: %v", got)
	}
	if d := deployments(t, member, "sales", "orders"); d["dev"] != 1 || d["prod"] != 0 {
		t.Fatalf("deployments after dev = %v", d)
	}

	// prod's parameters judge the promotion: its 7-day retention breaks
	// prod's 3-day cap, and nothing is queued.
	_, err = owner.Provision.Promote(ctx, connect.NewRequest(&v1.PromoteRequest{Domain: "sales", Product: "orders", From: "dev", To: "prod"}))
	if o := connectOutcome(err); o.Code != "FAILED_PRECONDITION" || strings.Join(o.Fields, " ") != "spec.ports[0].retentionMs spec.ports[1].retentionMs" ||
		!strings.Contains(violationsOf(err), "environment prod keeps topics at most 259200000 ms") {
		t.Fatalf("promoting a retention over prod's cap: %+v %v", o, violationsOf(err))
	}
	if runs, _ := owner.Provision.ListRuns(ctx, connect.NewRequest(&v1.ListRunsRequest{Domain: "sales", Product: "orders", Environment: "prod"})); len(runs.Msg.GetRuns()) != 0 {
		t.Fatalf("a refused promotion queued %d runs", len(runs.Msg.GetRuns()))
	}

	// The owner lowers the retention: version 2 must run in dev before it
	// can be promoted.
	updateSpec(t, owner, "sales", "orders", func(s *v1.DataProductSpec) {
		s.Ports[0].RetentionMs, s.Ports[1].RetentionMs = 24*3600*1000, 24*3600*1000
	})
	_, err = owner.Provision.Promote(ctx, connect.NewRequest(&v1.PromoteRequest{Domain: "sales", Product: "orders", From: "dev", To: "prod"}))
	if reasonOf(err) != "NOT_APPLIED_IN_SOURCE" || !strings.Contains(err.Error(), "dev runs version 1") {
		t.Fatalf("promoting a version dev does not run: %v", err)
	}
	approve(t, owner, planIn(t, member, "dev", "sales", "orders"), true) // lowering retention destroys data: the owner confirms

	// Promoted over GraphQL; prod's policy asks for its owner and, as the
	// customers port carries pii, a governance officer.
	r := env.GraphQL(ownerTok, `mutation { promoteProduct(input: {domain: "sales", product: "orders", from: "dev", to: "prod"}) { run { id environment trigger triggerDetail } } }`, nil)
	if len(r.Errors) > 0 {
		t.Fatalf("promoteProduct: %+v", r.Errors)
	}
	var promoted struct {
		PromoteProduct struct {
			Run struct{ ID, Environment, Trigger, TriggerDetail string }
		}
	}
	if err := json.Unmarshal(r.Data, &promoted); err != nil {
		t.Fatal(err)
	}
	pr := promoted.PromoteProduct.Run
	if pr.Environment != "prod" || pr.Trigger != "promotion" || pr.TriggerDetail != "version 2 promoted from dev" {
		t.Fatalf("promoted run = %+v", pr)
	}
	prodRun := waitRun(t, owner, pr.ID)
	if prodRun.GetState() != v1.RunState_RUN_STATE_PLANNED {
		t.Fatalf("prod plan ended %v: %s", prodRun.GetState(), prodRun.GetError())
	}
	var roles []string
	for _, a := range prodRun.GetApprovers() {
		roles = append(roles, a.GetRole())
	}
	if strings.Join(roles, ",") != "domain-owner,governance-officer" || !strings.Contains(prodRun.GetApprovers()[1].GetReason(), `port "customers" carries pii data`) {
		t.Fatalf("prod approvers = %v", prodRun.GetApprovers())
	}

	// A member may approve in dev, not in prod.
	if _, err := member.Provision.ApproveRun(ctx, connect.NewRequest(&v1.ApproveRunRequest{Id: prodRun.GetId()})); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("member approves in prod: %v", err)
	}
	// The owner's approval is one of two: the run waits for the officer,
	// and a second approval by the owner is refused.
	res, err := owner.Provision.ApproveRun(ctx, connect.NewRequest(&v1.ApproveRunRequest{Id: prodRun.GetId()}))
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Msg.GetRun(); got.GetState() != v1.RunState_RUN_STATE_PLANNED || len(got.GetApprovals()) != 1 ||
		got.GetApprovals()[0].GetBy() != "olivia" || got.GetApprovals()[0].GetRole() != "domain-owner" {
		t.Fatalf("after the owner's approval: %v", got)
	}
	if _, err := owner.Provision.ApproveRun(ctx, connect.NewRequest(&v1.ApproveRunRequest{Id: prodRun.GetId()})); reasonOf(err) != "ALREADY_APPROVED" {
		t.Fatalf("the owner approves twice: %v", err)
	}
	if r := waitRun(t, owner, prodRun.GetId()); r.GetState() != v1.RunState_RUN_STATE_PLANNED || r.GetApprovedBy() != "" {
		t.Fatalf("prod's run after one approval of two: %v approved by %q", r.GetState(), r.GetApprovedBy())
	}
	// The governance officer, who may not approve runs otherwise, approves
	// as the role the policy asks for; then the plan applies.
	if _, err := officer.Provision.ApproveRun(ctx, connect.NewRequest(&v1.ApproveRunRequest{Id: prodRun.GetId()})); err != nil {
		t.Fatalf("officer approves: %v", err)
	}
	if out := waitRun(t, owner, prodRun.GetId()); out.GetState() != v1.RunState_RUN_STATE_APPLIED || out.GetApprovedBy() != "olivia, gary" {
		t.Fatalf("prod run ended %v (%s), approved by %q", out.GetState(), out.GetError(), out.GetApprovedBy())
	}

	// prod's plan replicated the topic three times; dev keeps one.
	if got := replicas(t, prodKafka, "sales.orders.orders.v1"); len(got) != 6 || got[0] != 3 {
		t.Errorf("prod topic replicas = %v, want 6 partitions of 3", got)
	}
	if got := replicas(t, devKafka, "sales.orders.orders.v1"); len(got) != 6 || got[0] != 1 {
		t.Errorf("dev topic replicas = %v, want 6 partitions of 1", got)
	}
	if d := deployments(t, member, "sales", "orders"); d["dev"] != 2 || d["prod"] != 2 {
		t.Fatalf("deployments after the promotion = %v", d)
	}

	// Each environment has its own runs; GraphQL shows the deployments.
	q := env.GraphQL(memberTok, `{ dataProduct(domain: "sales", name: "orders") { provisionedVersion deployments { environment provisionedVersion } runs(environment: "prod") { nodes { environment state approvals { by role } } } } environments { name parametersJson } }`, nil)
	if len(q.Errors) > 0 {
		t.Fatalf("GraphQL: %+v", q.Errors)
	}
	for _, want := range []string{`{"environment":"dev","provisionedVersion":2}`, `{"environment":"prod","provisionedVersion":2}`,
		`"nodes":[{"environment":"prod","state":"APPLIED","approvals":[{"by":"olivia","role":"domain-owner"},{"by":"gary","role":"governance-officer"}]}]`,
		`\"rawPII\":false`} {
		if !strings.Contains(string(q.Data), want) {
			t.Errorf("GraphQL data lacks %s:\n%s", want, q.Data)
		}
	}

	// Retiring by hand what environments still run is refused: nothing of
	// it would ever be destroyed. A lifecycle move keeps both in sync.
	for _, lc := range []v1.Lifecycle{v1.Lifecycle_LIFECYCLE_ACTIVE, v1.Lifecycle_LIFECYCLE_DEPRECATED, v1.Lifecycle_LIFECYCLE_RETIRED} {
		cur, err := owner.Catalog.GetDataProduct(ctx, connect.NewRequest(&v1.GetDataProductRequest{Domain: "sales", Name: "orders"}))
		if err != nil {
			t.Fatal(err)
		}
		p := cur.Msg.GetDataProduct()
		_, err = owner.Catalog.UpdateDataProduct(ctx, connect.NewRequest(&v1.UpdateDataProductRequest{Domain: "sales", Name: "orders", Spec: specOf(p), Lifecycle: lc, Version: p.GetVersion()}))
		if lc != v1.Lifecycle_LIFECYCLE_RETIRED && err != nil {
			t.Fatalf("moving to %v: %v", lc, err)
		}
		if lc == v1.Lifecycle_LIFECYCLE_RETIRED && (reasonOf(err) != "STILL_PROVISIONED" || !strings.Contains(err.Error(), "still provisioned in dev, prod")) {
			t.Fatalf("retiring what dev and prod run: %v", err)
		}
	}
	if d := deployments(t, member, "sales", "orders"); d["dev"] != 4 || d["prod"] != 4 {
		t.Fatalf("deployments after two lifecycle moves = %v", d)
	}

	// Decommissioning dev leaves prod running, and the product active.
	destroy, err := owner.Provision.Decommission(ctx, connect.NewRequest(&v1.DecommissionRequest{Domain: "sales", Product: "orders", Environment: "dev"}))
	if err != nil {
		t.Fatal(err)
	}
	if r := waitRun(t, owner, destroy.Msg.GetRun().GetId()); r.GetState() != v1.RunState_RUN_STATE_PLANNED {
		t.Fatalf("dev decommission plan: %v %s", r.GetState(), r.GetError())
	} else if out := approve(t, owner, r, true); !strings.Contains(out.GetLog(), "the product stays (not retired): it is still provisioned in prod") {
		t.Errorf("dev's decommission does not say why the product stays:\n%s", out.GetLog())
	}
	if got := replicas(t, devKafka, "sales.orders.orders.v1"); got != nil {
		t.Errorf("dev still has the topic: %v", got)
	}
	if got := replicas(t, prodKafka, "sales.orders.orders.v1"); len(got) != 6 {
		t.Errorf("decommissioning dev touched prod: %v", got)
	}
	p, err := owner.Catalog.GetDataProduct(ctx, connect.NewRequest(&v1.GetDataProductRequest{Domain: "sales", Name: "orders"}))
	if err != nil || p.Msg.GetDataProduct().GetLifecycle() != v1.Lifecycle_LIFECYCLE_DEPRECATED {
		t.Fatalf("the product after dev's decommission: %v %v", p, err)
	}
	if d := deployments(t, member, "sales", "orders"); d["dev"] != 0 || d["prod"] != 4 {
		t.Fatalf("deployments after dev's decommission = %v", d)
	}

	// Decommissioning prod, the last environment holding the product: the
	// owner and an officer approve the destroy, and the product retires.
	destroy, err = owner.Provision.Decommission(ctx, connect.NewRequest(&v1.DecommissionRequest{Domain: "sales", Product: "orders", Environment: "prod"}))
	if err != nil {
		t.Fatal(err)
	}
	prodDestroy := waitRun(t, owner, destroy.Msg.GetRun().GetId())
	if prodDestroy.GetState() != v1.RunState_RUN_STATE_PLANNED || !prodDestroy.GetDestructive() || len(prodDestroy.GetApprovers()) != 2 {
		t.Fatalf("prod decommission plan: %v", prodDestroy)
	}
	for _, c := range []apptest.Clients{owner, officer} {
		if _, err := c.Provision.ApproveRun(ctx, connect.NewRequest(&v1.ApproveRunRequest{Id: prodDestroy.GetId(), ConfirmDestructive: true})); err != nil {
			t.Fatalf("approving prod's decommission: %v", err)
		}
	}
	if r := waitRun(t, owner, prodDestroy.GetId()); r.GetState() != v1.RunState_RUN_STATE_APPLIED {
		t.Fatalf("prod decommission: %v %s", r.GetState(), r.GetError())
	}
	if got := replicas(t, prodKafka, "sales.orders.orders.v1"); got != nil {
		t.Errorf("prod still has the topic: %v", got)
	}
	p, err = owner.Catalog.GetDataProduct(ctx, connect.NewRequest(&v1.GetDataProductRequest{Domain: "sales", Name: "orders"}))
	if err != nil || p.Msg.GetDataProduct().GetLifecycle() != v1.Lifecycle_LIFECYCLE_RETIRED {
		t.Fatalf("the product after its last environment's decommission: %v %v", p, err)
	}

	// The audit log tells the promotion apart.
	ev, err := owner.Audit.ListAuditEvents(ctx, connect.NewRequest(&v1.ListAuditEventsRequest{Domain: "sales", PageSize: 200}))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range ev.Msg.GetEvents() {
		found = found || (e.GetAction() == "provision.Promote" && strings.Contains(e.GetAfter(), `"environment":"prod"`))
	}
	if !found {
		t.Error("no provision.Promote audit event names prod")
	}
}

// TestLegacyProvisioningIsAdopted: runs, deployments and workspaces from
// before environments existed belong to the default environment after an
// upgrade — its Terraform state is found, so the next plan changes nothing —
// and a default environment named otherwise is refused rather than started
// without that state.
func TestLegacyProvisioningIsAdopted(t *testing.T) {
	apptest.RequireTools(t)
	env := apptest.New(t)
	ctx := context.Background()
	env.Domain("sales")
	c := env.Clients(apptest.ProtocolConnect, env.AdminToken)
	if _, err := c.Catalog.CreateDataProduct(ctx, connect.NewRequest(&v1.CreateDataProductRequest{Domain: "sales", Name: "orders", Spec: apptest.ProductSpec()})); err != nil {
		t.Fatal(err)
	}
	f := &accessFixture{env: env, admin: c, owner: c}
	f.activate(t, "sales", "orders")
	approve(t, c, plan(t, c, "sales", "orders"), false)
	// A consumer of the domain's own plain port, granted at once, with a
	// Kafka credential.
	if _, err := c.Identity.CreatePrincipal(ctx, connect.NewRequest(&v1.CreatePrincipalRequest{
		Name: "loader", Kind: v1.PrincipalKind_PRINCIPAL_KIND_SERVICE_ACCOUNT, Domain: "sales"})); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Access.IssueKafkaCredential(ctx, connect.NewRequest(&v1.IssueKafkaCredentialRequest{Principal: "loader"})); err != nil {
		t.Fatal(err)
	}
	orders := &v1.RequestAccessRequest{Consumer: "loader", Purpose: "nightly load", DurationSeconds: 3600,
		Ports: []*v1.PortRef{{Domain: "sales", Product: "orders", Port: "orders"}}}
	f.waitGrants(t, f.request(t, c, orders).GetId(), v1.GrantState_GRANT_STATE_ACTIVE)

	// As an older meshplane left it: no environment anywhere, workspaces
	// directly under DATA_DIR/workspaces, live grants keyed without one.
	for _, q := range []string{
		"UPDATE provisioning_runs SET environment = ''",
		"UPDATE deployments SET environment = ''",
		"UPDATE grants SET environment = '', live_key = replace(live_key, '|sandbox', '')",
		"UPDATE access_requests SET environment = ''",
		"UPDATE kafka_credentials SET environment = ''",
	} {
		if _, err := env.Server.Store.DB.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	env.Server.Close()
	env.HTTP.Close()
	if err := os.Rename(filepath.Join(env.DataDir, "environments", "sandbox", "workspaces"), filepath.Join(env.DataDir, "workspaces")); err != nil {
		t.Fatal(err)
	}

	// A default environment named otherwise would lose that state: refused.
	_, err := app.New(ctx, app.Config{DataDir: env.DataDir, DatabaseURL: env.DatabaseURL, Logger: slog.New(slog.DiscardHandler), ToolsDir: apptest.ToolsDir(),
		Environments: []app.EnvironmentConfig{{Name: "dev"}}})
	if err == nil || !strings.Contains(err.Error(), `name the first environment "sandbox"`) {
		t.Fatalf("starting with a renamed default environment: %v", err)
	}

	env.Restart(apptest.Options{})
	c = env.Clients(apptest.ProtocolConnect, env.AdminToken)
	if _, err := os.Stat(filepath.Join(env.DataDir, "workspaces")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the old workspaces are still there: %v", err)
	}
	runs, err := c.Provision.ListRuns(ctx, connect.NewRequest(&v1.ListRunsRequest{Domain: "sales", Product: "orders", Environment: "sandbox"}))
	if err != nil || len(runs.Msg.GetRuns()) != 2 {
		t.Fatalf("runs in sandbox after the upgrade: %v %v", runs, err)
	}
	// The grant, its live key and the credential are sandbox's.
	gs, err := c.Access.ListGrants(ctx, connect.NewRequest(&v1.ListGrantsRequest{Consumer: "loader", Environment: "sandbox"}))
	if err != nil || len(gs.Msg.GetGrants()) != 1 || gs.Msg.GetGrants()[0].GetState() != v1.GrantState_GRANT_STATE_ACTIVE {
		t.Fatalf("grants in sandbox after the upgrade: %v %v", gs, err)
	}
	if _, err := c.Access.RequestAccess(ctx, connect.NewRequest(orders)); !strings.Contains(violationsOf(err), "a second one would change nothing") {
		t.Errorf("a second request after the upgrade: %v", err)
	}
	if _, err := c.Access.IssueKafkaCredential(ctx, connect.NewRequest(&v1.IssueKafkaCredentialRequest{Principal: "loader"})); !strings.Contains(fmt.Sprint(err), "already has a Kafka credential in sandbox") {
		t.Errorf("a second credential after the upgrade: %v", err)
	}
	if d := deployments(t, c, "sales", "orders"); d["sandbox"] != 2 {
		t.Fatalf("deployments after the upgrade = %v", d)
	}
	// The plan renders the adopted grant's ACLs, so it deletes nothing.
	if r := plan(t, c, "sales", "orders"); r.GetHasChanges() {
		t.Errorf("the state was not found again: the plan changes %v", actions(r))
	}
}

// TestConsumerAccessInEachEnvironment: a consumer holds credentials and
// grants in dev and prod at once, each enforced by its own broker; a
// request names its environment (prod, marked for access, by default), the
// access policy sees it, and revoking in one environment leaves the other.
func TestConsumerAccessInEachEnvironment(t *testing.T) {
	apptest.RequireTools(t)
	env := apptest.New(t, apptest.Options{Environments: []app.EnvironmentConfig{{Name: "dev"},
		{Name: "prod", Access: true, PromoteFrom: []string{"dev"}, Parameters: map[string]any{"protected": true}}}})
	ctx := context.Background()
	env.Domain("sales")
	env.Domain("marketing")
	ownerTok := env.User("olivia", "domain-owner", "sales")
	owner := env.Clients(apptest.ProtocolConnect, ownerTok)
	officer := env.Clients(apptest.ProtocolConnect, env.User("gary", "governance-officer", "*"))
	mOwnTok := env.User("max", "domain-owner", "marketing")
	mOwn := env.Clients(apptest.ProtocolConnect, mOwnTok)
	for _, sa := range []struct{ name, domain string }{{"reporter", "marketing"}, {"loader", "sales"}} {
		c := map[string]apptest.Clients{"marketing": mOwn, "sales": owner}[sa.domain]
		if _, err := c.Identity.CreatePrincipal(ctx, connect.NewRequest(&v1.CreatePrincipalRequest{
			Name: sa.name, Kind: v1.PrincipalKind_PRINCIPAL_KIND_SERVICE_ACCOUNT, Domain: sa.domain})); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := owner.Catalog.CreateDataProduct(ctx, connect.NewRequest(&v1.CreateDataProductRequest{Domain: "sales", Name: "orders", Spec: apptest.ProductSpec()})); err != nil {
		t.Fatal(err)
	}
	f := &accessFixture{env: env, admin: env.Clients(apptest.ProtocolConnect, env.AdminToken), owner: owner}
	f.activate(t, "sales", "orders")
	approve(t, owner, planIn(t, owner, "dev", "sales", "orders"), false)

	orders := []*v1.PortRef{{Domain: "sales", Product: "orders", Port: "orders"}}
	ask := func(c apptest.Clients, consumer, envName string) (*v1.AccessRequest, error) {
		res, err := c.Access.RequestAccess(ctx, connect.NewRequest(&v1.RequestAccessRequest{Consumer: consumer, Purpose: "weekly report",
			DurationSeconds: 3600, Ports: orders, Environment: envName}))
		if err != nil {
			return nil, err
		}
		return res.Msg.GetAccessRequest(), nil
	}
	// prod takes promoted versions only: nothing is granted there before
	// the product runs there; unknown and hostile environments are refused.
	for envName, want := range map[string]string{
		"":                  "ports[0].product: data product sales/orders is not deployed in prod, which takes promoted versions only",
		"qa":                `environment: no environment "qa": consumers may read in prod, dev`,
		`prod"; drop table`: "environment: must match ^[a-z][a-z0-9-]{1,62}$",
	} {
		if _, err := ask(mOwn, "reporter", envName); connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(violationsOf(err), want) {
			t.Errorf("request in %q: %v (%s), want %s", envName, err, violationsOf(err), want)
		}
	}
	prodRun := planIn(t, owner, "prod", "sales", "orders")
	if _, err := owner.Provision.ApproveRun(ctx, connect.NewRequest(&v1.ApproveRunRequest{Id: prodRun.GetId()})); err != nil {
		t.Fatal(err)
	}
	approve(t, officer, prodRun, false)

	// One credential per environment, each on its own cluster with its own
	// password; without an environment, prod's.
	devServers := env.Server.Sandboxes["dev"].Settings().BootstrapServers
	prodServers := env.Server.Sandboxes["prod"].Settings().BootstrapServers
	creds := map[string]*v1.IssueKafkaCredentialResponse{}
	for _, envName := range []string{"", "dev"} {
		res, err := mOwn.Access.IssueKafkaCredential(ctx, connect.NewRequest(&v1.IssueKafkaCredentialRequest{Principal: "reporter", Environment: envName}))
		if err != nil {
			t.Fatal(err)
		}
		creds[res.Msg.GetCredential().GetEnvironment()] = res.Msg
	}
	if len(creds) != 2 || strings.Join(creds["prod"].GetBootstrapServers(), ",") != strings.Join(prodServers, ",") ||
		strings.Join(creds["dev"].GetBootstrapServers(), ",") != strings.Join(devServers, ",") || creds["dev"].GetPassword() == creds["prod"].GetPassword() {
		t.Fatalf("credentials: %v", creds)
	}
	_, err := mOwn.Access.IssueKafkaCredential(ctx, connect.NewRequest(&v1.IssueKafkaCredentialRequest{Principal: "reporter", Environment: "dev"}))
	if connect.CodeOf(err) != connect.CodeFailedPrecondition || !strings.Contains(err.Error(), "already has a Kafka credential in dev") {
		t.Errorf("a second dev credential: %v", err)
	}

	const topic = "sales.orders.orders.v1"
	for _, name := range []string{"dev", "prod"} {
		cl, err := kgo.NewClient(env.Server.Sandboxes[name].ClientOptions()...)
		if err != nil {
			t.Fatal(err)
		}
		// One order in dev, two in prod.
		for i := range map[string]int{"dev": 1, "prod": 2}[name] {
			if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte("1"), Value: fmt.Appendf(nil, `{"order_id":%d}`, i+1)}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		cl.Close()
	}
	// Previews read the environment asked for, prod's by default.
	for envName, want := range map[string]struct {
		env     string
		records int
	}{"": {"prod", 2}, "dev": {"dev", 1}, "prod": {"prod", 2}} {
		pv, err := owner.Catalog.GetPortPreview(ctx, connect.NewRequest(&v1.GetPortPreviewRequest{Domain: "sales", Product: "orders", Port: "orders", Environment: envName}))
		if err != nil {
			t.Fatalf("preview in %q: %v", envName, err)
		}
		if pv.Msg.GetEnvironment() != want.env || len(pv.Msg.GetRecords()) != want.records {
			t.Errorf("preview in %q read %d records of %s, want %d of %s", envName, len(pv.Msg.GetRecords()), pv.Msg.GetEnvironment(), want.records, want.env)
		}
	}
	_, err = owner.Catalog.GetPortPreview(ctx, connect.NewRequest(&v1.GetPortPreviewRequest{Domain: "sales", Product: "orders", Port: "orders", Environment: "qa"}))
	if !strings.Contains(violationsOf(err), `environment: no environment "qa": previews read prod, dev`) {
		t.Errorf("a preview in qa: %v (%s)", err, violationsOf(err))
	}
	const group = "marketing.reporter.weekly"
	reads := func(name string) error {
		servers := map[string][]string{"dev": devServers, "prod": prodServers}[name]
		_, err := readAs(t, servers, "marketing.reporter", creds[name].GetPassword(), topic, group)
		return err
	}

	// Role definitions narrow consumer access to an environment: a trial
	// requester asks for access in dev, not in prod.
	addRules(t, officer, "\n# trial-requester: asks for dev access for its domain's service accounts.\n"+
		"p, role:trial-requester, principal, read\np, role:trial-requester, grant@dev, request\n")
	trial := env.Clients(apptest.ProtocolConnect, env.User("dana", "trial-requester", "marketing"))
	if _, err := ask(trial, "reporter", "prod"); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("a dev-only requester asking for prod: %v", err)
	}

	// Granted in dev: dev's broker lets the consumer read, prod's does not.
	devReq, err := ask(trial, "reporter", "dev")
	if err != nil {
		t.Fatal(err)
	}
	if devReq.GetEnvironment() != "dev" || devReq.GetGrants()[0].GetEnvironment() != "dev" {
		t.Fatalf("dev request: %v", devReq)
	}
	if _, err := owner.Access.ApproveAccessRequest(ctx, connect.NewRequest(&v1.ApproveAccessRequestRequest{Id: devReq.GetId()})); err != nil {
		t.Fatal(err)
	}
	devReq = f.waitGrants(t, devReq.GetId(), v1.GrantState_GRANT_STATE_ACTIVE)
	if err := reads("dev"); err != nil {
		t.Fatalf("reading dev with an active grant there: %v", err)
	}
	if err := reads("prod"); !authorizationError(err) {
		t.Fatalf("reading prod with a grant in dev alone: %v, want the broker's refusal", err)
	}
	if _, err := ask(mOwn, "reporter", "dev"); !strings.Contains(violationsOf(err), "on sales.orders.orders.v1 in dev: a second one would change nothing") {
		t.Errorf("a second dev request: %v (%s)", err, violationsOf(err))
	}

	// Granted in prod as well, by default: both read at once.
	prodReq, err := ask(mOwn, "reporter", "")
	if err != nil {
		t.Fatal(err)
	}
	if prodReq.GetEnvironment() != "prod" {
		t.Fatalf("a request naming no environment went to %q, want prod", prodReq.GetEnvironment())
	}
	if _, err := owner.Access.ApproveAccessRequest(ctx, connect.NewRequest(&v1.ApproveAccessRequestRequest{Id: prodReq.GetId()})); err != nil {
		t.Fatal(err)
	}
	f.waitGrants(t, prodReq.GetId(), v1.GrantState_GRANT_STATE_ACTIVE)
	for _, name := range []string{"dev", "prod"} {
		if err := reads(name); err != nil {
			t.Errorf("reading %s with grants in both: %v", name, err)
		}
		runs, err := owner.Provision.ListRuns(ctx, connect.NewRequest(&v1.ListRunsRequest{Domain: "sales", Product: "orders", Environment: name}))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(runs.Msg.GetRuns(), func(r *v1.Run) bool { return r.GetTrigger() == "grant" }) {
			t.Errorf("no grant run in %s", name)
		}
	}
	q := env.GraphQL(mOwnTok, `{ grants(consumer: "reporter", environment: "dev") { nodes { environment state } } }`, nil)
	if len(q.Errors) > 0 || string(q.Data) != `{"grants":{"nodes":[{"environment":"dev","state":"ACTIVE"}]}}` {
		t.Errorf("GraphQL grants in dev: %s %+v", q.Data, q.Errors)
	}

	// Revoked in dev: prod's grant and ACLs stay.
	if _, err := owner.Access.RevokeGrant(ctx, connect.NewRequest(&v1.RevokeGrantRequest{Id: devReq.GetGrants()[0].GetId(), Reason: "dev trial over"})); err != nil {
		t.Fatal(err)
	}
	f.waitGrants(t, devReq.GetId(), v1.GrantState_GRANT_STATE_REVOKED)
	if err := reads("dev"); !authorizationError(err) {
		t.Errorf("reading dev after its revocation: %v, want the broker's refusal", err)
	}
	if err := reads("prod"); err != nil {
		t.Errorf("reading prod after dev's revocation: %v", err)
	}

	// The access policy sees the environment: the domain's own plain data
	// is granted at once in dev, and reviewed by its owner in protected prod.
	pending := ""
	for envName, auto := range map[string]bool{"dev": true, "prod": false} {
		r, err := ask(owner, "loader", envName)
		if err != nil {
			t.Fatal(err)
		}
		if r.GetAutoApproved() != auto || (!auto && strings.Join(r.GetAwaiting(), ",") != "domain-owner:sales") {
			t.Errorf("own-domain request in %s: auto-approved %v, awaiting %v", envName, r.GetAutoApproved(), r.GetAwaiting())
		}
		if !auto {
			pending = r.GetId()
		}
	}
	// The impact of an access draft judges each pending request in its own
	// environment: dropping the protected rule would grant prod's at once.
	editDraft(t, officer, "access", "auto_approve if {\n\town_plain_data\n\tnot protected\n}", "auto_approve if {\n\town_plain_data\n}", "")
	imp, err := officer.Policy.GetPolicyImpact(ctx, connect.NewRequest(&v1.GetPolicyImpactRequest{Name: "access"}))
	if err != nil {
		t.Fatal(err)
	}
	if cs := imp.Msg.GetImpact().GetAccessChanges(); len(cs) != 1 || cs[0].GetRequestId() != pending || cs[0].GetBefore().GetAutoApprove() || !cs[0].GetAfter().GetAutoApprove() {
		t.Errorf("access impact: %v, want request %s in prod granted at once", cs, pending)
	}

	// A grant approved in prod while prod lags behind the product's current
	// version waits for the promotion, and says so.
	cur, err := owner.Catalog.GetDataProduct(ctx, connect.NewRequest(&v1.GetDataProductRequest{Domain: "sales", Name: "orders"}))
	if err != nil {
		t.Fatal(err)
	}
	sp := specOf(cur.Msg.GetDataProduct())
	sp.Description += " Now with a changelog."
	if _, err := owner.Catalog.UpdateDataProduct(ctx, connect.NewRequest(&v1.UpdateDataProductRequest{Domain: "sales", Name: "orders", Spec: sp,
		Lifecycle: v1.Lifecycle_LIFECYCLE_ACTIVE, Version: cur.Msg.GetDataProduct().GetVersion()})); err != nil {
		t.Fatal(err)
	}
	second := env.Clients(apptest.ProtocolConnect, env.User("oscar", "domain-owner", "sales"))
	approved, err := second.Access.ApproveAccessRequest(ctx, connect.NewRequest(&v1.ApproveAccessRequestRequest{Id: pending}))
	if err != nil {
		t.Fatal(err)
	}
	got := f.get(t, f.admin, approved.Msg.GetAccessRequest().GetId()).GetGrants()[0]
	if got.GetState() != v1.GrantState_GRANT_STATE_APPROVED || !strings.Contains(got.GetError(), "environment prod takes promoted versions only") {
		t.Errorf("a grant in prod ahead of its promotion: %v %q", got.GetState(), got.GetError())
	}

	// Reading follows the environment too: a gatekeeper of prod's access
	// reads prod's requests and grants, not dev's.
	addRules(t, officer, "p, role:prod-gatekeeper, grant@prod, govern\np, role:prod-gatekeeper, grant@prod, read\n")
	keeper := env.Clients(apptest.ProtocolConnect, env.User("kim", "prod-gatekeeper", "*"))
	for id, found := range map[string]bool{prodReq.GetId(): true, devReq.GetId(): false} {
		if _, err := keeper.Access.GetAccessRequest(ctx, connect.NewRequest(&v1.GetAccessRequestRequest{Id: id})); (err == nil) != found ||
			(!found && connect.CodeOf(err) != connect.CodeNotFound) {
			t.Errorf("the prod gatekeeper reading request %s: %v, want found %v", id, err, found)
		}
	}
	gs, err := keeper.Access.ListGrants(ctx, connect.NewRequest(&v1.ListGrantsRequest{Domain: "sales", Environment: "prod"}))
	if err != nil || len(gs.Msg.GetGrants()) == 0 || slices.ContainsFunc(gs.Msg.GetGrants(), func(g *v1.Grant) bool { return g.GetEnvironment() != "prod" }) {
		t.Errorf("the prod gatekeeper listing prod's grants: %v %v", gs, err)
	}
	if _, err := keeper.Access.ListGrants(ctx, connect.NewRequest(&v1.ListGrantsRequest{Domain: "sales"})); connect.CodeOf(err) != connect.CodeNotFound {
		t.Errorf("the prod gatekeeper listing every environment's grants: %v", err)
	}
}

// TestPolicyImpactPerEnvironment: a masking change that only prod's
// parameters trigger shows in the impact for prod alone, and publishing it
// re-plans the product in prod, not in dev.
func TestPolicyImpactPerEnvironment(t *testing.T) {
	apptest.RequireTools(t)
	env := apptest.New(t, apptest.Options{Environments: []app.EnvironmentConfig{{Name: "dev"},
		{Name: "prod", Parameters: map[string]any{"dropInternal": true}}}})
	ctx := context.Background()
	env.Domain("sales")
	owner := env.Clients(apptest.ProtocolConnect, env.User("olivia", "domain-owner", "sales"))
	gov := env.Clients(apptest.ProtocolConnect, env.User("gina", "governance-officer", "*"))
	if _, err := owner.Catalog.CreateDataProduct(ctx, connect.NewRequest(&v1.CreateDataProductRequest{Domain: "sales", Name: "orders", Spec: apptest.ProductSpec()})); err != nil {
		t.Fatal(err)
	}
	approve(t, owner, planIn(t, owner, "dev", "sales", "orders"), false)
	approve(t, owner, planIn(t, owner, "prod", "sales", "orders"), false)

	// The draft drops internal fields where the environment asks for it.
	const decisions = "decisions := ((hashed | dropped) | tagged) | for_search"
	saved := editDraft(t, gov, "masking", decisions, "decisions := (((hashed | dropped) | tagged) | for_search) | internal_dropped", `
# Environments whose parameters say dropInternal publish no internal field.
internal_dropped := {{"port": port.name, "field": field.name, "action": "drop"} |
	object.get(input, ["environment", "parameters", "dropInternal"], false) == true
	some port in input.product.ports
	some field in port.fields
	field.classification == "internal"
	field.tags == []
}
`)
	imp, err := gov.Policy.GetPolicyImpact(ctx, connect.NewRequest(&v1.GetPolicyImpactRequest{Name: "masking"}))
	if err != nil {
		t.Fatal(err)
	}
	im := imp.Msg.GetImpact()
	if len(im.GetMaskingChanges()) == 0 || len(im.GetConnectorChanges()) == 0 {
		t.Fatalf("impact: %+v", im)
	}
	for _, m := range im.GetMaskingChanges() {
		if m.GetEnvironment() != "prod" || m.GetAfter().GetAction() != "drop" {
			t.Errorf("masking change %+v, want prod's internal fields dropped only", m)
		}
	}
	for _, c := range im.GetConnectorChanges() {
		if c.GetEnvironment() != "prod" || !c.GetProvisioned() {
			t.Errorf("connector change %+v, want prod's only", c)
		}
	}
	pub, err := gov.Policy.PublishPolicy(ctx, connect.NewRequest(&v1.PublishPolicyRequest{Name: "masking", Message: "no internal fields in prod", Version: saved.GetVersion()}))
	if err != nil {
		t.Fatal(err)
	}
	if ps := pub.Msg.GetPlans(); len(ps) != 1 || ps[0].GetEnvironment() != "prod" || ps[0].GetRunId() == "" {
		t.Fatalf("publish queued %+v, want one plan in prod", ps)
	}
	r := waitRun(t, owner, pub.Msg.GetPlans()[0].GetRunId())
	if r.GetState() != v1.RunState_RUN_STATE_PLANNED || r.GetEnvironment() != "prod" || actions(r)["module.source.kafka-connect_connector.this"] != "update" {
		t.Fatalf("prod's re-plan: %v %s %v", r.GetState(), r.GetError(), actions(r))
	}
}

// editDraft saves as module's draft its published <module>.rego with old
// replaced by new and extra appended, and returns the saved module.
func editDraft(t *testing.T, c apptest.Clients, module, old, new, extra string) *v1.PolicyModule {
	t.Helper()
	ctx := context.Background()
	mod, err := c.Policy.GetPolicyModule(ctx, connect.NewRequest(&v1.GetPolicyModuleRequest{Name: module}))
	if err != nil {
		t.Fatal(err)
	}
	files := maps.Clone(mod.Msg.GetModule().GetFiles())
	file := module + ".rego"
	if !strings.Contains(files[file], old) {
		t.Fatalf("%s no longer has %q", file, old)
	}
	files[file] = strings.Replace(files[file], old, new, 1) + extra
	saved, err := c.Policy.SavePolicyDraft(ctx, connect.NewRequest(&v1.SavePolicyDraftRequest{Name: module, Files: files, Version: mod.Msg.GetModule().GetVersion()}))
	if err != nil {
		t.Fatalf("saving the %s draft: %v", module, err)
	}
	return saved.Msg.GetModule()
}

// addRules appends rules to the role definitions in force.
func addRules(t *testing.T, c apptest.Clients, rules string) {
	t.Helper()
	ctx := context.Background()
	rbac, err := c.Policy.GetRBACPolicy(ctx, connect.NewRequest(&v1.GetRBACPolicyRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Policy.UpdateRBACPolicy(ctx, connect.NewRequest(&v1.UpdateRBACPolicyRequest{Version: rbac.Msg.GetVersion(), Text: rbac.Msg.GetText() + rules})); err != nil {
		t.Fatalf("adding role rules %q: %v", rules, err)
	}
}
