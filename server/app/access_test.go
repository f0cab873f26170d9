package app_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
	"github.com/meshplane/meshplane/server/app/apptest"
)

// accessFixture is a sandbox with a provisioned sales/orders, a consumer
// service account in marketing and the people who file and decide requests.
type accessFixture struct {
	env *apptest.Env
	// logs holds everything the server logged, at debug level.
	logs                             *syncBuffer
	admin, owner, officer, mkt, mOwn apptest.Clients
	ownerTok, officerTok             string
}

func newAccessFixture(t *testing.T) *accessFixture {
	t.Helper()
	f := newCatalogFixture(t)
	provisionProduct(t, f.owner, "sales", "orders")
	return f
}

// provisionProduct plans and applies a product.
func provisionProduct(t *testing.T, c apptest.Clients, domain, name string) {
	t.Helper()
	approve(t, c, plan(t, c, domain, name), false)
}

// decommissionProduct plans and applies a product's decommission.
func decommissionProduct(t *testing.T, c apptest.Clients, domain, name string) {
	t.Helper()
	approve(t, c, decommissionPlan(t, c, domain, name), true)
}

// newCatalogFixture is newAccessFixture without provisioning sales/orders.
func newCatalogFixture(t *testing.T) *accessFixture {
	t.Helper()
	apptest.RequireTools(t)
	logs := &syncBuffer{}
	env := apptest.New(t, apptest.Options{Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	f := &accessFixture{env: env, logs: logs}
	ctx := context.Background()
	env.Domain("sales")
	env.Domain("marketing")
	f.ownerTok = env.User("olivia", "domain-owner", "sales")
	f.officerTok = env.User("gina", "governance-officer", "*")
	f.admin = env.Clients(apptest.ProtocolConnect, env.AdminToken)
	f.owner = env.Clients(apptest.ProtocolConnect, f.ownerTok)
	f.officer = env.Clients(apptest.ProtocolGRPC, f.officerTok)
	f.mkt = env.Clients(apptest.ProtocolGRPCWeb, env.User("mia", "domain-member", "marketing"))
	f.mOwn = env.Clients(apptest.ProtocolConnect, env.User("max", "domain-owner", "marketing"))
	if _, err := f.mOwn.Identity.CreatePrincipal(ctx, connect.NewRequest(&v1.CreatePrincipalRequest{
		Name: "reporter", Kind: v1.PrincipalKind_PRINCIPAL_KIND_SERVICE_ACCOUNT, Domain: "marketing"})); err != nil {
		t.Fatal(err)
	}
	if _, err := f.owner.Catalog.CreateDataProduct(ctx, connect.NewRequest(&v1.CreateDataProductRequest{Domain: "sales", Name: "orders", Spec: apptest.ProductSpec()})); err != nil {
		t.Fatal(err)
	}
	f.activate(t, "sales", "orders")
	return f
}

func (f *accessFixture) activate(t *testing.T, domain, name string) {
	t.Helper()
	ctx := context.Background()
	cur, err := f.owner.Catalog.GetDataProduct(ctx, connect.NewRequest(&v1.GetDataProductRequest{Domain: domain, Name: name}))
	if err != nil {
		t.Fatal(err)
	}
	p := cur.Msg.GetDataProduct()
	if _, err := f.owner.Catalog.UpdateDataProduct(ctx, connect.NewRequest(&v1.UpdateDataProductRequest{Domain: domain, Name: name,
		Spec: specOf(p), Lifecycle: v1.Lifecycle_LIFECYCLE_ACTIVE, Version: p.GetVersion()})); err != nil {
		t.Fatalf("activating %s/%s: %v", domain, name, err)
	}
}

func (f *accessFixture) request(t *testing.T, c apptest.Clients, in *v1.RequestAccessRequest) *v1.AccessRequest {
	t.Helper()
	res, err := c.Access.RequestAccess(context.Background(), connect.NewRequest(in))
	if err != nil {
		t.Fatalf("RequestAccess: %v", err)
	}
	return res.Msg.GetAccessRequest()
}

func (f *accessFixture) get(t *testing.T, c apptest.Clients, id string) *v1.AccessRequest {
	t.Helper()
	res, err := c.Access.GetAccessRequest(context.Background(), connect.NewRequest(&v1.GetAccessRequestRequest{Id: id}))
	if err != nil {
		t.Fatalf("GetAccessRequest: %v", err)
	}
	return res.Msg.GetAccessRequest()
}

// waitGrants polls a request until every grant is in state want.
func (f *accessFixture) waitGrants(t *testing.T, id string, want v1.GrantState) *v1.AccessRequest {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		r := f.get(t, f.admin, id)
		done := len(r.GetGrants()) > 0
		for _, g := range r.GetGrants() {
			done = done && g.GetState() == want
		}
		if done {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("grants of %s did not become %v: %v", id, want, r.GetGrants())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// consumer signs in to the sandbox as a service account with its SCRAM credential.
func consumer(t *testing.T, bootstrap []string, user, password string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(bootstrap...),
		kgo.SASL(scram.Auth{User: user, Pass: password}.AsSha512Mechanism()),
		kgo.RetryTimeout(2 * time.Second), kgo.RequestRetries(1)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// readAs checks at the wire what the broker lets a consumer do: list the
// topic's offsets and fetch the group's, then consume the topic from the
// start in the group. It returns the first record, or the first refusal.
func readAs(t *testing.T, bootstrap []string, user, password, topic, group string) (*kgo.Record, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	adm := kadm.NewClient(consumer(t, bootstrap, user, password))
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, err
	}
	// A group nobody used yet has no offsets; an unauthorized one is refused.
	if _, err := adm.FetchOffsets(ctx, group); err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
		return nil, err
	}
	cl := consumer(t, bootstrap, user, password, kgo.ConsumeTopics(topic), kgo.ConsumerGroup(group),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	for ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		for _, e := range fs.Errors() {
			if !errors.Is(e.Err, context.DeadlineExceeded) {
				return nil, e.Err
			}
		}
		if recs := fs.Records(); len(recs) > 0 {
			return recs[0], nil
		}
	}
	return nil, ctx.Err()
}

// authorizationError reports whether err is the broker refusing access.
func authorizationError(err error) bool {
	return errors.Is(err, kerr.TopicAuthorizationFailed) || errors.Is(err, kerr.GroupAuthorizationFailed)
}

// TestConsumerAccessEndToEnd is a consumer team's whole path: a request the
// policy routes to the owner and a governance officer, a credential issued
// once, ACLs planned and applied without a review, a real Kafka client
// reading with them, and revocation taking the access away at the broker.
func TestConsumerAccessEndToEnd(t *testing.T) {
	f := newAccessFixture(t)
	env, ctx := f.env, context.Background()
	const topic = "sales.orders.customers.v1"

	// Something to read, produced by the product's side.
	admin := mustKgo(t, env)
	if err := admin.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte("1"), Value: []byte(`{"customer_id":1}`)}).FirstErr(); err != nil {
		t.Fatal(err)
	}

	// The consumer's credential: issued once by its domain's owner.
	cred, err := f.mOwn.Access.IssueKafkaCredential(ctx, connect.NewRequest(&v1.IssueKafkaCredentialRequest{Principal: "reporter"}))
	if err != nil {
		t.Fatal(err)
	}
	password, bootstrap := cred.Msg.GetPassword(), cred.Msg.GetBootstrapServers()
	if cred.Msg.GetCredential().GetUsername() != "marketing.reporter" || len(password) < 32 || len(bootstrap) == 0 ||
		cred.Msg.GetCredential().GetKafkaPrincipal() != "User:marketing.reporter" || cred.Msg.GetCredential().GetMechanism() != "SCRAM-SHA-512" {
		t.Fatalf("credential: %+v", cred.Msg)
	}
	if _, err := f.mOwn.Access.IssueKafkaCredential(ctx, connect.NewRequest(&v1.IssueKafkaCredentialRequest{Principal: "reporter"})); reasonOf(err) != "CREDENTIAL_EXISTS" {
		t.Fatalf("issuing twice: %v", err)
	}
	if _, err := f.mkt.Access.IssueKafkaCredential(ctx, connect.NewRequest(&v1.IssueKafkaCredentialRequest{Principal: "reporter"})); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("a member issuing: %v", err)
	}
	const group = "marketing.reporter.churn"
	if _, err := readAs(t, bootstrap, "marketing.reporter", password, topic, group); !authorizationError(err) {
		t.Fatalf("before any grant the broker must refuse: %v", err)
	}

	// The request: the policy routes a PII port to the owner and an officer.
	req := f.request(t, f.mkt, &v1.RequestAccessRequest{Consumer: "reporter", Purpose: "weekly churn report",
		DurationSeconds: 3600, Ports: []*v1.PortRef{{Domain: "sales", Product: "orders", Port: "customers"}}})
	if req.GetState() != v1.AccessRequestState_ACCESS_REQUEST_STATE_PENDING || strings.Join(req.GetAwaiting(), ",") != "domain-owner:sales,governance-officer" ||
		len(req.GetGrants()) != 1 || req.GetGrants()[0].GetTopic() != topic || req.GetGroupPrefix() != "marketing.reporter." || req.GetRequestedBy() != "mia" {
		t.Fatalf("request: %+v", req)
	}

	// Four eyes: the requester cannot approve; the owner approves once.
	if _, err := f.mkt.Access.ApproveAccessRequest(ctx, connect.NewRequest(&v1.ApproveAccessRequestRequest{Id: req.GetId()})); reasonOf(err) != "SELF_APPROVAL" {
		t.Fatalf("self-approval: %v", err)
	}
	res, err := f.owner.Access.ApproveAccessRequest(ctx, connect.NewRequest(&v1.ApproveAccessRequestRequest{Id: req.GetId(), Reason: "fine for churn"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Msg.GetAccessRequest(); got.GetState() != v1.AccessRequestState_ACCESS_REQUEST_STATE_PENDING || strings.Join(got.GetAwaiting(), ",") != "governance-officer" {
		t.Fatalf("after the owner: %+v", got)
	}
	if _, err := f.owner.Access.ApproveAccessRequest(ctx, connect.NewRequest(&v1.ApproveAccessRequestRequest{Id: req.GetId()})); reasonOf(err) != "ALREADY_APPROVED" {
		t.Fatalf("the owner approving twice: %v", err)
	}
	// The inbox: the officer sees it waiting; the owner no longer does.
	inbox, err := f.officer.Access.ListAccessRequests(ctx, connect.NewRequest(&v1.ListAccessRequestsRequest{AwaitingMe: true}))
	if err != nil || len(inbox.Msg.GetAccessRequests()) != 1 {
		t.Fatalf("officer inbox: %v %v", inbox, err)
	}
	if inbox, err := f.owner.Access.ListAccessRequests(ctx, connect.NewRequest(&v1.ListAccessRequestsRequest{AwaitingMe: true})); err != nil || len(inbox.Msg.GetAccessRequests()) != 0 {
		t.Fatalf("owner inbox: %v %v", inbox, err)
	}
	approved := time.Now()
	if _, err := f.officer.Access.ApproveAccessRequest(ctx, connect.NewRequest(&v1.ApproveAccessRequestRequest{Id: req.GetId()})); err != nil {
		t.Fatal(err)
	}
	active := f.waitGrants(t, req.GetId(), v1.GrantState_GRANT_STATE_ACTIVE)
	rec, err := readAs(t, bootstrap, "marketing.reporter", password, topic, group)
	if err != nil {
		t.Fatalf("reading with an active grant: %v", err)
	}
	t.Logf("approval to first record read: %s", time.Since(approved).Round(time.Millisecond))
	if string(rec.Key) != "1" {
		t.Fatalf("read %q", rec.Key)
	}
	g := active.GetGrants()[0]
	if g.GetExpireTime() == nil || g.GetActivateTime() == nil || g.GetRunId() == "" || g.GetError() != "" {
		t.Fatalf("active grant: %+v", g)
	}
	run, err := f.admin.Provision.GetRun(ctx, connect.NewRequest(&v1.GetRunRequest{Id: g.GetRunId()}))
	if err != nil {
		t.Fatal(err)
	}
	if r := run.Msg.GetRun(); !r.GetAutoApply() || r.GetApprovedBy() != "meshplane" || r.GetTrigger() != "grant" || r.GetSummary().GetCreate() != 3 || r.GetSummary().GetUpdate()+r.GetSummary().GetDelete()+r.GetSummary().GetReplace() != 0 {
		t.Fatalf("grant run: auto=%v by=%q trigger=%q summary=%+v", r.GetAutoApply(), r.GetApprovedBy(), r.GetTrigger(), r.GetSummary())
	}
	// The product is as last applied, so only the grant's ACLs are planned.
	if log := run.Msg.GetRun().GetLog(); !strings.Contains(log, "planning only the 3 ACLs its grants add or remove") {
		t.Fatalf("the grant run planned more than its ACLs:\n%s", log)
	}
	// Outside the prefix, the group is refused even with an active grant.
	if _, err := readAs(t, bootstrap, "marketing.reporter", password, topic, "sales.orders.someone-else"); !authorizationError(err) {
		t.Fatalf("a group outside the prefix: %v", err)
	}

	// The product's consumers: who can read, why, until when.
	list, err := f.owner.Access.ListGrants(ctx, connect.NewRequest(&v1.ListGrantsRequest{Domain: "sales", Product: "orders"}))
	if err != nil || len(list.Msg.GetGrants()) != 1 || list.Msg.GetGrants()[0].GetPurpose() != "weekly churn report" {
		t.Fatalf("consumers: %v %v", list, err)
	}

	// A duplicate of the active grant is refused and writes nothing.
	_, err = f.mkt.Access.RequestAccess(ctx, connect.NewRequest(&v1.RequestAccessRequest{Consumer: "reporter", Purpose: "again",
		Ports: []*v1.PortRef{{Domain: "sales", Product: "orders", Port: "customers"}}}))
	if o := connectOutcome(err); o.Code != "INVALID_ARGUMENT" || strings.Join(o.Fields, ",") != "ports[0]" {
		t.Fatalf("duplicate: %+v", o)
	}

	// Revocation takes the access away at the broker, then from state.
	if _, err := f.owner.Access.RevokeGrant(ctx, connect.NewRequest(&v1.RevokeGrantRequest{Id: g.GetId(), Reason: "project ended"})); err != nil {
		t.Fatal(err)
	}
	revoked := f.waitGrants(t, req.GetId(), v1.GrantState_GRANT_STATE_REVOKED)
	if got := revoked.GetGrants()[0]; got.GetEndReason() != "project ended" || got.GetEndedBy() != "olivia" {
		t.Fatalf("revoked grant: %+v", got)
	}
	if _, err := readAs(t, bootstrap, "marketing.reporter", password, topic, group); !authorizationError(err) {
		t.Fatalf("after revocation the broker must refuse: %v", err)
	}
	assertNoACLs(t, env, "User:marketing.reporter")

	// Rotation: the old password stops working.
	rot, err := f.mOwn.Access.RotateKafkaCredential(ctx, connect.NewRequest(&v1.RotateKafkaCredentialRequest{Principal: "reporter"}))
	if err != nil || rot.Msg.GetPassword() == password || rot.Msg.GetCredential().GetRotateTime() == nil {
		t.Fatalf("rotate: %v %v", rot, err)
	}
	old := consumer(t, bootstrap, "marketing.reporter", password)
	if err := old.Ping(ctx); err == nil {
		t.Fatal("the rotated password still signs in")
	}

	// Neither password is anywhere but in the two answers that returned them.
	for _, secret := range []string{password, rot.Msg.GetPassword()} {
		assertNoSecret(t, env, secret)
		events, err := f.admin.Audit.ListAuditEvents(ctx, connect.NewRequest(&v1.ListAuditEventsRequest{PageSize: 500}))
		if err != nil || strings.Contains(events.Msg.String(), secret) {
			t.Fatalf("audit log: %v (or it holds the password)", err)
		}
		if r := f.get(t, f.admin, req.GetId()); strings.Contains(r.String(), secret) {
			t.Fatal("the request holds the password")
		}
		if logged := f.logs.String(); !strings.Contains(logged, "sandbox data plane started") || strings.Contains(logged, secret) {
			t.Fatal("the server logged the password (or its log was not captured)")
		}
	}
}

// assertNoACLs checks that neither the broker nor the workspace's state
// holds an ACL naming principal.
func assertNoACLs(t *testing.T, env *apptest.Env, principal string) {
	t.Helper()
	adm := kadm.NewClient(mustKgo(t, env))
	acls, err := adm.DescribeACLs(context.Background(), kadm.NewACLs().AnyResource().Allow(principal).AllowHosts().Operations(kadm.OpAny).ResourcePatternType(kadm.ACLPatternAny))
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range acls {
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		if len(res.Described) > 0 {
			t.Fatalf("the broker still holds ACLs of %s: %+v", principal, res.Described)
		}
	}
	if env.Dialect != "sqlite" {
		return // state is in PostgreSQL; the broker is the truth checked above
	}
	state, err := os.ReadFile(filepath.Join(env.DataDir, "environments", "sandbox", "workspaces", "sales", "orders", "terraform.tfstate"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(state), principal) {
		t.Fatalf("the terraform state still holds ACLs of %s", principal)
	}
}

// specOf is the spec a product was written with.
func specOf(p *v1.DataProduct) *v1.DataProductSpec {
	return &v1.DataProductSpec{Description: p.GetDescription(), Owner: p.GetOwner(), Labels: p.GetLabels(), Source: p.GetSource(), Ports: p.GetPorts(), Sinks: p.GetSinks()}
}

// TestGrantExpiresAndStopsReading: a short grant ends by itself, its ACLs
// are removed without a review, and the broker refuses the consumer.
func TestGrantExpiresAndStopsReading(t *testing.T) {
	f := newAccessFixture(t)
	ctx := context.Background()
	cred, err := f.mOwn.Access.IssueKafkaCredential(ctx, connect.NewRequest(&v1.IssueKafkaCredentialRequest{Principal: "reporter"}))
	if err != nil {
		t.Fatal(err)
	}
	const topic, group = "sales.orders.orders.v1", "marketing.reporter.totals"
	if err := mustKgo(t, f.env).ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(`{"order_id":1}`)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	// No personal data, but another domain's product: the owner approves alone.
	req := f.request(t, f.mkt, &v1.RequestAccessRequest{Consumer: "reporter", Purpose: "daily totals", DurationSeconds: 10,
		GroupPrefix: "marketing.reporter.totals", Ports: []*v1.PortRef{{Domain: "sales", Product: "orders", Port: "orders"}}})
	if strings.Join(req.GetAwaiting(), ",") != "domain-owner:sales" || req.GetAutoApproved() {
		t.Fatalf("request: %+v", req)
	}
	if _, err := f.owner.Access.ApproveAccessRequest(ctx, connect.NewRequest(&v1.ApproveAccessRequestRequest{Id: req.GetId(), Version: req.GetVersion()})); err != nil {
		t.Fatal(err)
	}
	f.waitGrants(t, req.GetId(), v1.GrantState_GRANT_STATE_ACTIVE)
	if _, err := readAs(t, cred.Msg.GetBootstrapServers(), "marketing.reporter", cred.Msg.GetPassword(), topic, group); err != nil {
		t.Fatalf("reading while active: %v", err)
	}
	expired := f.waitGrants(t, req.GetId(), v1.GrantState_GRANT_STATE_EXPIRED)
	g := expired.GetGrants()[0]
	if g.GetEndedBy() != "meshplane" || !strings.HasPrefix(g.GetEndReason(), "expired at") {
		t.Fatalf("expired grant: %+v", g)
	}
	run, err := f.admin.Provision.GetRun(ctx, connect.NewRequest(&v1.GetRunRequest{Id: g.GetRunId()}))
	if err != nil {
		t.Fatal(err)
	}
	if r := run.Msg.GetRun(); r.GetTrigger() != "expiry" || !r.GetAutoApply() || r.GetSummary().GetDelete() != 3 || r.GetSummary().GetCreate() != 0 {
		t.Fatalf("expiry run: trigger=%q auto=%v summary=%+v", r.GetTrigger(), r.GetAutoApply(), r.GetSummary())
	}
	if _, err := readAs(t, cred.Msg.GetBootstrapServers(), "marketing.reporter", cred.Msg.GetPassword(), topic, group); !authorizationError(err) {
		t.Fatalf("after expiry the broker must refuse: %v", err)
	}
	assertNoACLs(t, f.env, "User:marketing.reporter")
}

// TestGrantPlanWithOtherChangesWaitsForTheOwner: an approval is no review of
// a product change nobody has planned, so that plan is not applied alone.
func TestGrantPlanWithOtherChangesWaitsForTheOwner(t *testing.T) {
	f := newAccessFixture(t)
	ctx := context.Background()
	updateSpec(t, f.owner, "sales", "orders", func(s *v1.DataProductSpec) { s.Ports[0].Partitions = 8 })
	req := f.request(t, f.mkt, &v1.RequestAccessRequest{Consumer: "reporter", Purpose: "daily totals",
		Ports: []*v1.PortRef{{Domain: "sales", Product: "orders", Port: "orders"}}})
	if _, err := f.owner.Access.ApproveAccessRequest(ctx, connect.NewRequest(&v1.ApproveAccessRequestRequest{Id: req.GetId()})); err != nil {
		t.Fatal(err)
	}
	var g *v1.Grant
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		g = f.get(t, f.mkt, req.GetId()).GetGrants()[0]
		if g.GetState() == v1.GrantState_GRANT_STATE_PROVISIONING && strings.Contains(g.GetError(), "waits for an owner") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("grant: %+v", g)
		}
	}
	if !strings.Contains(g.GetError(), "update module.topic__orders.kafka_topic.this") {
		t.Fatalf("the requester is not told why: %q", g.GetError())
	}
	run, err := f.owner.Provision.GetRun(ctx, connect.NewRequest(&v1.GetRunRequest{Id: g.GetRunId()}))
	if err != nil {
		t.Fatal(err)
	}
	r := run.Msg.GetRun()
	if r.GetState() != v1.RunState_RUN_STATE_PLANNED || r.GetAutoApply() || r.GetAutoApplyNote() == "" ||
		!strings.Contains(r.GetLog(), "planning the whole workspace: version") {
		t.Fatalf("run: %v auto=%v note=%q\n%s", r.GetState(), r.GetAutoApply(), r.GetAutoApplyNote(), r.GetLog())
	}
	// The owner reviews and approves it: the partitions change and the grant goes live.
	approve(t, f.owner, r, false)
	f.waitGrants(t, req.GetId(), v1.GrantState_GRANT_STATE_ACTIVE)
}

// TestAccessRequestsRefuseBadInput: every bad request gets a field-level
// error and leaves nothing behind; a bundle is one request with a grant per
// port; a decline's reason reaches the requester.
func TestAccessRequestsRefuseBadInput(t *testing.T) {
	f := newCatalogFixture(t)
	ctx := context.Background()
	// A second product in another domain, and a retired one.
	f.env.Domain("hr")
	hrOwner := f.env.Clients(apptest.ProtocolConnect, f.env.User("harry", "domain-owner", "hr"))
	for _, name := range []string{"people", "old"} {
		if _, err := hrOwner.Catalog.CreateDataProduct(ctx, connect.NewRequest(&v1.CreateDataProductRequest{Domain: "hr", Name: name, Spec: apptest.ProductSpecIn("hr")})); err != nil {
			t.Fatal(err)
		}
	}
	move := func(name string, lc v1.Lifecycle) {
		cur, err := hrOwner.Catalog.GetDataProduct(ctx, connect.NewRequest(&v1.GetDataProductRequest{Domain: "hr", Name: name}))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := hrOwner.Catalog.UpdateDataProduct(ctx, connect.NewRequest(&v1.UpdateDataProductRequest{Domain: "hr", Name: name,
			Spec: specOf(cur.Msg.GetDataProduct()), Lifecycle: lc, Version: cur.Msg.GetDataProduct().GetVersion()})); err != nil {
			t.Fatalf("moving hr/%s to %v: %v", name, lc, err)
		}
	}
	move("people", v1.Lifecycle_LIFECYCLE_ACTIVE)
	move("old", v1.Lifecycle_LIFECYCLE_ACTIVE)
	move("old", v1.Lifecycle_LIFECYCLE_DEPRECATED)
	move("old", v1.Lifecycle_LIFECYCLE_RETIRED)
	port := func(d, p, n string) *v1.PortRef { return &v1.PortRef{Domain: d, Product: p, Port: n} }
	for name, tc := range map[string]struct {
		in     *v1.RequestAccessRequest
		fields string
	}{
		"unknown port":      {&v1.RequestAccessRequest{Consumer: "reporter", Purpose: "x", Ports: []*v1.PortRef{port("sales", "orders", "nope")}}, "ports[0].port"},
		"unknown product":   {&v1.RequestAccessRequest{Consumer: "reporter", Purpose: "x", Ports: []*v1.PortRef{port("sales", "nope", "orders")}}, "ports[0].product"},
		"retired product":   {&v1.RequestAccessRequest{Consumer: "reporter", Purpose: "x", Ports: []*v1.PortRef{port("hr", "old", "orders")}}, "ports[0].product"},
		"hostile name":      {&v1.RequestAccessRequest{Consumer: "reporter", Purpose: "x", Ports: []*v1.PortRef{port("sales", `x"; drop`, "orders")}}, "ports[0].product"},
		"no purpose":        {&v1.RequestAccessRequest{Consumer: "reporter", Ports: []*v1.PortRef{port("sales", "orders", "orders")}}, "purpose"},
		"no ports":          {&v1.RequestAccessRequest{Consumer: "reporter", Purpose: "x"}, "ports"},
		"repeated port":     {&v1.RequestAccessRequest{Consumer: "reporter", Purpose: "x", Ports: []*v1.PortRef{port("sales", "orders", "orders"), port("sales", "orders", "orders")}}, "ports[1]"},
		"too long":          {&v1.RequestAccessRequest{Consumer: "reporter", Purpose: "x", DurationSeconds: 31 * 24 * 3600, Ports: []*v1.PortRef{port("sales", "orders", "customers")}}, "durationSeconds"},
		"absurdly long":     {&v1.RequestAccessRequest{Consumer: "reporter", Purpose: "x", DurationSeconds: 1 << 62, Ports: []*v1.PortRef{port("sales", "orders", "orders")}}, "durationSeconds"},
		"negative duration": {&v1.RequestAccessRequest{Consumer: "reporter", Purpose: "x", DurationSeconds: -1, Ports: []*v1.PortRef{port("sales", "orders", "orders")}}, "durationSeconds"},
		"foreign group":     {&v1.RequestAccessRequest{Consumer: "reporter", Purpose: "x", GroupPrefix: "connect-", Ports: []*v1.PortRef{port("sales", "orders", "orders")}}, "groupPrefix"},
	} {
		_, err := f.mOwn.Access.RequestAccess(ctx, connect.NewRequest(tc.in))
		if o := connectOutcome(err); o.Code != "INVALID_ARGUMENT" || strings.Join(o.Fields, ",") != tc.fields {
			t.Errorf("%s: %+v, want INVALID_ARGUMENT on %s", name, o, tc.fields)
		}
	}
	list, err := f.admin.Access.ListAccessRequests(ctx, connect.NewRequest(&v1.ListAccessRequestsRequest{}))
	if err != nil || len(list.Msg.GetAccessRequests()) != 0 {
		t.Fatalf("refused requests left something behind: %v %v", list, err)
	}
	if _, err := f.admin.Access.RequestAccess(ctx, connect.NewRequest(&v1.RequestAccessRequest{Consumer: "mia", Purpose: "x",
		Ports: []*v1.PortRef{port("sales", "orders", "orders")}})); strings.Join(connectOutcome(err).Fields, ",") != "consumer" {
		t.Fatalf("a user as the consumer: %+v", connectOutcome(err))
	}
	if _, err := f.mOwn.Access.RequestAccess(ctx, connect.NewRequest(&v1.RequestAccessRequest{Consumer: "ghost", Purpose: "x",
		Ports: []*v1.PortRef{port("sales", "orders", "orders")}})); connect.CodeOf(err) != connect.CodeNotFound {
		t.Fatalf("unknown consumer: %v", err)
	}

	// A bundle: one request, a grant per port, an owner per domain.
	bundle := f.request(t, f.mkt, &v1.RequestAccessRequest{Consumer: "reporter", Purpose: "joined report",
		Ports: []*v1.PortRef{port("sales", "orders", "orders"), port("hr", "people", "orders")}})
	if len(bundle.GetGrants()) != 2 || strings.Join(bundle.GetAwaiting(), ",") != "domain-owner:hr,domain-owner:sales" {
		t.Fatalf("bundle: %+v", bundle)
	}
	// A stale version is a conflict and changes nothing.
	if _, err := f.owner.Access.ApproveAccessRequest(ctx, connect.NewRequest(&v1.ApproveAccessRequestRequest{Id: bundle.GetId(), Version: bundle.GetVersion() + 1})); connect.CodeOf(err) != connect.CodeAborted {
		t.Fatalf("stale approval: %v", err)
	}
	if _, err := f.owner.Access.DeclineAccessRequest(ctx, connect.NewRequest(&v1.DeclineAccessRequestRequest{Id: bundle.GetId()})); connectOutcome(err).Code != "INVALID_ARGUMENT" {
		t.Fatalf("a decline without a reason: %v", err)
	}
	if _, err := f.owner.Access.DeclineAccessRequest(ctx, connect.NewRequest(&v1.DeclineAccessRequestRequest{Id: bundle.GetId(), Reason: "use the aggregated port"})); err != nil {
		t.Fatal(err)
	}
	seen := f.get(t, f.mkt, bundle.GetId())
	if seen.GetState() != v1.AccessRequestState_ACCESS_REQUEST_STATE_DECLINED || seen.GetDeclineReason() != "use the aggregated port" || seen.GetDeclinedBy() != "olivia" {
		t.Fatalf("declined request as the requester sees it: %+v", seen)
	}
	for _, g := range seen.GetGrants() {
		if g.GetState() != v1.GrantState_GRANT_STATE_DECLINED {
			t.Fatalf("grant of a declined request: %+v", g)
		}
	}
	// Declined grants hold nothing: the same ports can be asked for again.
	again := f.request(t, f.mkt, &v1.RequestAccessRequest{Consumer: "reporter", Purpose: "joined report, aggregated",
		Ports: []*v1.PortRef{port("hr", "people", "orders")}})
	if _, err := f.mkt.Access.CancelAccessRequest(ctx, connect.NewRequest(&v1.CancelAccessRequestRequest{Id: again.GetId()})); err != nil {
		t.Fatal(err)
	}
	if _, err := hrOwner.Access.ApproveAccessRequest(ctx, connect.NewRequest(&v1.ApproveAccessRequestRequest{Id: again.GetId()})); reasonOf(err) != "NOT_PENDING" {
		t.Fatalf("approving a cancelled request: %v", err)
	}
}

// TestDisablingAConsumerRevokesItsGrantsThenItsCredential: ACLs go first,
// then the SCRAM user.
func TestDisablingAConsumerRevokesItsGrantsThenItsCredential(t *testing.T) {
	f := newAccessFixture(t)
	ctx := context.Background()
	cred, err := f.mOwn.Access.IssueKafkaCredential(ctx, connect.NewRequest(&v1.IssueKafkaCredentialRequest{Principal: "reporter"}))
	if err != nil {
		t.Fatal(err)
	}
	req := f.request(t, f.mkt, &v1.RequestAccessRequest{Consumer: "reporter", Purpose: "daily totals",
		Ports: []*v1.PortRef{{Domain: "sales", Product: "orders", Port: "orders"}}})
	if _, err := f.owner.Access.ApproveAccessRequest(ctx, connect.NewRequest(&v1.ApproveAccessRequestRequest{Id: req.GetId()})); err != nil {
		t.Fatal(err)
	}
	f.waitGrants(t, req.GetId(), v1.GrantState_GRANT_STATE_ACTIVE)
	sa, err := f.admin.Identity.GetPrincipal(ctx, connect.NewRequest(&v1.GetPrincipalRequest{Name: "reporter"}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.mOwn.Identity.DisablePrincipal(ctx, connect.NewRequest(&v1.DisablePrincipalRequest{Name: "reporter", Version: sa.Msg.GetPrincipal().GetVersion()})); err != nil {
		t.Fatal(err)
	}
	revoked := f.waitGrants(t, req.GetId(), v1.GrantState_GRANT_STATE_REVOKED)
	if !strings.Contains(revoked.GetGrants()[0].GetEndReason(), "disabled") {
		t.Fatalf("revoked grant: %+v", revoked.GetGrants()[0])
	}
	assertNoACLs(t, f.env, "User:marketing.reporter")
	adm := kadm.NewClient(mustKgo(t, f.env))
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		users, err := adm.DescribeUserSCRAMs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := users["marketing.reporter"]; !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the disabled consumer's SCRAM user is still there")
		}
	}
	if err := consumer(t, cred.Msg.GetBootstrapServers(), "marketing.reporter", cred.Msg.GetPassword()).Ping(ctx); err == nil {
		t.Fatal("the disabled consumer still signs in")
	}
}

// TestAccessPolicyImpactAndPublish: an officer drafts a stricter access
// policy, the impact dry-run names the pending request whose decision
// changes, and once published new requests follow it.
func TestAccessPolicyImpactAndPublish(t *testing.T) {
	f := newCatalogFixture(t)
	ctx := context.Background()
	pending := f.request(t, f.mkt, &v1.RequestAccessRequest{Consumer: "reporter", Purpose: "daily totals",
		Ports: []*v1.PortRef{{Domain: "sales", Product: "orders", Port: "orders"}}})
	if pending.GetMaxDurationSeconds() != 90*86400 || strings.Join(pending.GetAwaiting(), ",") != "domain-owner:sales" {
		t.Fatalf("request under the default policy: %+v", pending)
	}
	mod, err := f.officer.Policy.GetPolicyModule(ctx, connect.NewRequest(&v1.GetPolicyModuleRequest{Name: "access"}))
	if err != nil {
		t.Fatal(err)
	}
	files := mod.Msg.GetModule().GetFiles()
	// Stricter: every request needs a governance officer, for at most 7 days.
	files["access.rego"] = strings.Replace(files["access.rego"], "max_personal_days := 30", "max_personal_days := 7", 1) + `
officer_needed contains "every request is reviewed by governance" if true
`
	// The default tests describe the default policy; the stricter one has its own.
	files["access_test.rego"] = `package meshplane.access_test

import data.meshplane.access

test_every_request_needs_an_officer_for_a_week if {
	d := access.decision with input as {"request": {
		"consumer": {"name": "reporter", "domain": "marketing", "kind": "service-account"},
		"requester": {"name": "mia", "kind": "user", "domain": ""},
		"purpose": "x", "durationSeconds": 60, "groupPrefix": "marketing.reporter.",
		"ports": [{"domain": "sales", "product": "orders", "port": "orders", "topic": "sales.orders.orders.v1",
			"lifecycle": "active", "owner": "", "labels": {}, "classifications": ["none"],
			"fields": [{"name": "id", "classification": "none", "tags": []}]}],
	}}
	d.approvers[1].role == "governance-officer"
	d.maxDurationSeconds == 7 * 86400
}
`
	saved, err := f.officer.Policy.SavePolicyDraft(ctx, connect.NewRequest(&v1.SavePolicyDraftRequest{Name: "access", Files: files, Version: mod.Msg.GetModule().GetVersion()}))
	if err != nil {
		t.Fatalf("saving the draft: %v", err)
	}
	im, err := f.officer.Policy.GetPolicyImpact(ctx, connect.NewRequest(&v1.GetPolicyImpactRequest{Name: "access"}))
	if err != nil {
		t.Fatal(err)
	}
	i := im.Msg.GetImpact()
	if i.GetAccessRequestsEvaluated() != 1 || len(i.GetAccessChanges()) != 1 {
		t.Fatalf("impact: %+v", i)
	}
	c := i.GetAccessChanges()[0]
	if c.GetRequestId() != pending.GetId() || strings.Join(c.GetBefore().GetApprovers(), ",") != "domain-owner:sales" ||
		strings.Join(c.GetAfter().GetApprovers(), ",") != "domain-owner:sales,governance-officer" || c.GetAfter().GetMaxDurationSeconds() != 7*86400 {
		t.Fatalf("access change: %+v", c)
	}
	if _, err := f.officer.Policy.PublishPolicy(ctx, connect.NewRequest(&v1.PublishPolicyRequest{Name: "access", Message: "governance reviews all access", Version: saved.Msg.GetModule().GetVersion()})); err != nil {
		t.Fatalf("publishing: %v", err)
	}
	next := f.request(t, f.mkt, &v1.RequestAccessRequest{Consumer: "reporter", Purpose: "daily totals, hr",
		Ports: []*v1.PortRef{{Domain: "sales", Product: "orders", Port: "customers"}}})
	if next.GetMaxDurationSeconds() != 7*86400 || !strings.Contains(next.GetPolicyVersion(), "access@2") {
		t.Fatalf("request under the published policy: %+v", next)
	}
}

// TestDecommissionEndsGrants: destroying a product's infrastructure ends the
// grants on it with their ACLs; a pending request for it can no longer
// become a grant.
func TestDecommissionEndsGrants(t *testing.T) {
	f := newAccessFixture(t)
	ctx := context.Background()
	req := f.request(t, f.mkt, &v1.RequestAccessRequest{Consumer: "reporter", Purpose: "daily totals",
		Ports: []*v1.PortRef{{Domain: "sales", Product: "orders", Port: "orders"}}})
	if _, err := f.owner.Access.ApproveAccessRequest(ctx, connect.NewRequest(&v1.ApproveAccessRequestRequest{Id: req.GetId()})); err != nil {
		t.Fatal(err)
	}
	f.waitGrants(t, req.GetId(), v1.GrantState_GRANT_STATE_ACTIVE)
	pending := f.request(t, f.mkt, &v1.RequestAccessRequest{Consumer: "reporter", Purpose: "contact data",
		Ports: []*v1.PortRef{{Domain: "sales", Product: "orders", Port: "customers"}}})
	decommissionProduct(t, f.owner, "sales", "orders")
	ended := f.get(t, f.admin, req.GetId()).GetGrants()[0]
	if ended.GetState() != v1.GrantState_GRANT_STATE_REVOKED || ended.GetEndReason() != "the product was decommissioned" {
		t.Fatalf("grant after decommission: %+v", ended)
	}
	if p := f.get(t, f.admin, pending.GetId()); p.GetState() != v1.AccessRequestState_ACCESS_REQUEST_STATE_CANCELLED ||
		p.GetGrants()[0].GetState() != v1.GrantState_GRANT_STATE_CANCELLED {
		t.Fatalf("pending request after decommission: %+v", p)
	}
	assertNoACLs(t, f.env, "User:marketing.reporter")
}

// TestRevokingOneProductKeepsTheOthers: a consumer's group ACL is one Kafka
// ACL however many products grant it; revoking its grant on one product must
// not cut it off from another.
func TestRevokingOneProductKeepsTheOthers(t *testing.T) {
	f := newAccessFixture(t)
	ctx := context.Background()
	if _, err := f.owner.Catalog.CreateDataProduct(ctx, connect.NewRequest(&v1.CreateDataProductRequest{Domain: "sales", Name: "leads", Spec: apptest.ProductSpec()})); err != nil {
		t.Fatal(err)
	}
	f.activate(t, "sales", "leads")
	provisionProduct(t, f.owner, "sales", "leads")
	cred, err := f.mOwn.Access.IssueKafkaCredential(ctx, connect.NewRequest(&v1.IssueKafkaCredentialRequest{Principal: "reporter"}))
	if err != nil {
		t.Fatal(err)
	}
	admin := mustKgo(t, f.env)
	for _, topic := range []string{"sales.orders.orders.v1", "sales.leads.orders.v1"} {
		if err := admin.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(`{"order_id":1}`)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	bundle := f.request(t, f.mkt, &v1.RequestAccessRequest{Consumer: "reporter", Purpose: "orders and leads",
		Ports: []*v1.PortRef{{Domain: "sales", Product: "orders", Port: "orders"}, {Domain: "sales", Product: "leads", Port: "orders"}}})
	if _, err := f.owner.Access.ApproveAccessRequest(ctx, connect.NewRequest(&v1.ApproveAccessRequestRequest{Id: bundle.GetId()})); err != nil {
		t.Fatal(err)
	}
	active := f.waitGrants(t, bundle.GetId(), v1.GrantState_GRANT_STATE_ACTIVE)
	var onOrders *v1.Grant
	for _, g := range active.GetGrants() {
		if g.GetProduct() == "orders" {
			onOrders = g
		}
	}
	if _, err := f.owner.Access.RevokeGrant(ctx, connect.NewRequest(&v1.RevokeGrantRequest{Id: onOrders.GetId()})); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		g := f.get(t, f.admin, bundle.GetId())
		if slices.ContainsFunc(g.GetGrants(), func(g *v1.Grant) bool { return g.GetState() == v1.GrantState_GRANT_STATE_REVOKED }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("grant on orders not revoked: %+v", g.GetGrants())
		}
	}
	bootstrap, user, pw := cred.Msg.GetBootstrapServers(), "marketing.reporter", cred.Msg.GetPassword()
	if _, err := readAs(t, bootstrap, user, pw, "sales.leads.orders.v1", "marketing.reporter.both"); err != nil {
		adm := kadm.NewClient(mustKgo(t, f.env))
		acls, _ := adm.DescribeACLs(ctx, kadm.NewACLs().AnyResource().Allow("User:marketing.reporter").AllowHosts().Operations(kadm.OpAny).ResourcePatternType(kadm.ACLPatternAny))
		for _, r := range acls {
			for _, d := range r.Described {
				t.Logf("acl %+v", d)
			}
		}
		for _, g := range f.get(t, f.admin, bundle.GetId()).GetGrants() {
			run, _ := f.admin.Provision.GetRun(ctx, connect.NewRequest(&v1.GetRunRequest{Id: g.GetRunId()}))
			t.Logf("grant %s %v run %s\n%s", g.GetProduct(), g.GetState(), g.GetRunId(), run.Msg.GetRun().GetLog())
		}
		t.Fatalf("revoking the orders grant cut off the leads grant: %v", err)
	}
	if _, err := readAs(t, bootstrap, user, pw, "sales.orders.orders.v1", "marketing.reporter.both"); !authorizationError(err) {
		t.Fatalf("the revoked orders grant still reads: %v", err)
	}
	// Decommissioning orders destroys its workspace, but not the group ACL
	// the leads grant still needs.
	res, err := f.owner.Provision.Decommission(ctx, connect.NewRequest(&v1.DecommissionRequest{Domain: "sales", Product: "orders"}))
	if err != nil {
		t.Fatal(err)
	}
	r := waitRun(t, f.owner, res.Msg.GetRun().GetId())
	if r.GetState() != v1.RunState_RUN_STATE_PLANNED {
		t.Fatalf("decommission plan ended %v: %s", r.GetState(), r.GetError())
	}
	for _, rc := range r.GetSummary().GetResources() {
		if strings.Contains(rc.GetAddress(), "|Group|") {
			t.Fatalf("decommissioning orders deletes the shared group ACL: %s", rc.GetAddress())
		}
	}
	approve(t, f.owner, r, true)
	// A new group: the earlier clients are still members of the first one.
	if _, err := readAs(t, bootstrap, user, pw, "sales.leads.orders.v1", "marketing.reporter.after"); err != nil {
		t.Fatalf("decommissioning orders cut off the leads grant: %v", err)
	}
}
