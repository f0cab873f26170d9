package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"connectrpc.com/connect"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
	"github.com/meshplane/meshplane/api/gen/meshplane/v1/meshplanev1connect"
	"github.com/meshplane/meshplane/server/app"
	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/ent/grant"
	"github.com/meshplane/meshplane/server/policy/engine"
)

// Targets of the consumer-access phase.
const (
	targetApprovalToRead = 5 * time.Second
	targetGrantPlanRatio = 1.3
	accessReadRepeats    = 3
)

// accessBench is what the consumer-access phase shares.
type accessBench struct {
	e                   *env
	admin, owner        accessClients
	progress            func(string, ...any)
	bootstrap           []string
	productID, topic    string
	consumers, accepted int
}

type accessClients struct {
	cat  meshplanev1connect.CatalogServiceClient
	id   meshplanev1connect.IdentityServiceClient
	prov meshplanev1connect.ProvisioningServiceClient
	acc  meshplanev1connect.AccessServiceClient
}

func clientsFor(e *env, token string) accessClients {
	hc := h2cClient()
	return accessClients{
		cat:  meshplanev1connect.NewCatalogServiceClient(hc, e.url, bearer(token)),
		id:   meshplanev1connect.NewIdentityServiceClient(hc, e.url, bearer(token)),
		prov: meshplanev1connect.NewProvisioningServiceClient(hc, e.url, bearer(token)),
		acc:  meshplanev1connect.NewAccessServiceClient(hc, e.url, bearer(token)),
	}
}

// benchAccess measures consumer access on the sandbox: approval to the
// consumer's first record, the grant plan beside 1,000 existing grants, and
// the access policy's decision.
func benchAccess(ctx context.Context, c config, rep *report, progress func(string, ...any)) error {
	if err := benchAccessPolicy(ctx, c, rep); err != nil {
		return err
	}
	tools, err := filepath.Abs(c.Tools)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(tools, "bin", "terraform")); err != nil {
		return fmt.Errorf("%s/bin/terraform is missing (run scripts/tools.sh)", tools)
	}
	progress("access: starting meshplane with a sandbox data plane")
	e, err := start(ctx, func(ac *app.Config) { ac.ToolsDir = tools; ac.Workers = 2; ac.GrantInterval = 200 * time.Millisecond })
	if err != nil {
		return err
	}
	defer e.close()
	b := &accessBench{e: e, admin: clientsFor(e, e.adminToken), progress: progress, topic: "sales.orders.orders.v1"}
	if err := b.setup(ctx); err != nil {
		return err
	}
	if err := b.approvalToRead(ctx, rep); err != nil {
		return err
	}
	return b.grantScaling(ctx, rep)
}

// benchAccessPolicy times the access policy's decision for a bundle of two
// ports, every input new, then repeated.
func benchAccessPolicy(ctx context.Context, c config, rep *report) error {
	set, err := engine.Compile(ctx, "defaults", engine.Defaults(), engine.Options{})
	if err != nil {
		return err
	}
	req := func(i int) engine.AccessRequest {
		port := func(dom string) engine.AccessPort {
			return engine.AccessPort{Domain: dom, Product: "orders", Port: "customers", Topic: dom + ".orders.customers.v1", Lifecycle: "active",
				Fields: []engine.AccessField{{Name: "id", Classification: "none"}, {Name: "email", Classification: "pii"}, {Name: "segment", Classification: "internal"}}}
		}
		return engine.AccessRequest{Consumer: engine.AccessPrincipal{Name: fmt.Sprintf("c%06d", i), Kind: "service-account", Domain: "marketing"},
			Requester: engine.AccessPrincipal{Name: "mia", Kind: "user"}, Purpose: "bench", DurationSeconds: 3600,
			GroupPrefix: fmt.Sprintf("marketing.c%06d.", i), Ports: []engine.AccessPort{port("sales"), port("hr")}}
	}
	i := 0
	fresh := timeEach(c.PolicyEvals, 100, func() error {
		i++
		d, err := set.Access(ctx, req(i))
		if err == nil && d.FailedClosed {
			err = errors.New(d.Error)
		}
		return err
	})
	same := req(0)
	repeated := timeEach(c.PolicyEvals, 100, func() error { _, err := set.Access(ctx, same); return err })
	rep.add("6c", "access policy: approvers for a 2-port bundle, every input new", fmt.Sprintf("p50 %s p99 %s", us(fresh.Pct(50)), us(fresh.Pct(99))), "report", errStatus(fresh, "—"))
	rep.add("6d", "  the same input repeated (decision cache)", fmt.Sprintf("p50 %s p99 %s", us(repeated.Pct(50)), us(repeated.Pct(99))), "report", errStatus(repeated, "—"))
	return nil
}

// setup provisions sales/orders and makes a record to read.
func (b *accessBench) setup(ctx context.Context) error {
	b.progress("access: provisioning sales/orders")
	for _, d := range []string{"sales", "marketing"} {
		if _, err := b.admin.cat.CreateDomain(ctx, connect.NewRequest(&v1.CreateDomainRequest{Name: d})); err != nil {
			return err
		}
	}
	tok, err := b.e.user(ctx, "olivia", "domain-owner", "sales")
	if err != nil {
		return err
	}
	b.owner = clientsFor(b.e, tok)
	res, err := b.admin.cat.CreateDataProduct(ctx, connect.NewRequest(&v1.CreateDataProductRequest{Domain: "sales", Name: "orders", Spec: productSpec("sales")}))
	if err != nil {
		return err
	}
	p := res.Msg.GetDataProduct()
	b.productID = p.GetId()
	if _, err := b.admin.cat.UpdateDataProduct(ctx, connect.NewRequest(&v1.UpdateDataProductRequest{Domain: "sales", Name: "orders", Lifecycle: v1.Lifecycle_LIFECYCLE_ACTIVE,
		Version: p.GetVersion(), Spec: &v1.DataProductSpec{Description: p.GetDescription(), Owner: p.GetOwner(), Labels: p.GetLabels(), Source: p.GetSource(), Ports: p.GetPorts(), Sinks: p.GetSinks()}})); err != nil {
		return err
	}
	run, err := b.admin.prov.Plan(ctx, connect.NewRequest(&v1.PlanRequest{Domain: "sales", Product: "orders"}))
	if err != nil {
		return err
	}
	r, err := b.wait(ctx, run.Msg.GetRun().GetId(), v1.RunState_RUN_STATE_PLANNED)
	if err != nil {
		return err
	}
	if _, err := b.admin.prov.ApproveRun(ctx, connect.NewRequest(&v1.ApproveRunRequest{Id: r.GetId()})); err != nil {
		return err
	}
	if _, err := b.wait(ctx, r.GetId(), v1.RunState_RUN_STATE_APPLIED); err != nil {
		return err
	}
	b.bootstrap = b.e.srv.Sandbox.Settings().BootstrapServers
	cl, err := kgo.NewClient(b.e.srv.Sandbox.ClientOptions()...)
	if err != nil {
		return err
	}
	defer cl.Close()
	return cl.ProduceSync(ctx, &kgo.Record{Topic: b.topic, Value: []byte(`{"order_id":1}`)}).FirstErr()
}

func (b *accessBench) wait(ctx context.Context, id string, want v1.RunState) (*v1.Run, error) {
	for deadline := time.Now().Add(runTimeout); time.Now().Before(deadline); {
		res, err := b.admin.prov.GetRun(ctx, connect.NewRequest(&v1.GetRunRequest{Id: id}))
		if err != nil {
			return nil, err
		}
		switch r := res.Msg.GetRun(); r.GetState() {
		case want:
			return r, nil
		case v1.RunState_RUN_STATE_QUEUED, v1.RunState_RUN_STATE_PLANNING, v1.RunState_RUN_STATE_PLANNED, v1.RunState_RUN_STATE_APPLYING:
		default:
			return nil, fmt.Errorf("run %s ended %v: %s", id, r.GetState(), r.GetError())
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(pollEvery):
		}
	}
	return nil, fmt.Errorf("run %s did not reach %v in %s", id, want, runTimeout)
}

// consumer creates a service account with a credential and files a request
// for the orders port as the admin; it returns the request and the password.
func (b *accessBench) consumer(ctx context.Context) (*v1.AccessRequest, string, string, error) {
	b.consumers++
	name := fmt.Sprintf("reader%02d", b.consumers)
	if _, err := b.admin.id.CreatePrincipal(ctx, connect.NewRequest(&v1.CreatePrincipalRequest{Name: name, Kind: v1.PrincipalKind_PRINCIPAL_KIND_SERVICE_ACCOUNT, Domain: "marketing"})); err != nil {
		return nil, "", "", err
	}
	cred, err := b.admin.acc.IssueKafkaCredential(ctx, connect.NewRequest(&v1.IssueKafkaCredentialRequest{Principal: name}))
	if err != nil {
		return nil, "", "", err
	}
	req, err := b.admin.acc.RequestAccess(ctx, connect.NewRequest(&v1.RequestAccessRequest{Consumer: name, Purpose: "bench",
		Ports: []*v1.PortRef{{Domain: "sales", Product: "orders", Port: "orders"}}}))
	if err != nil {
		return nil, "", "", err
	}
	return req.Msg.GetAccessRequest(), cred.Msg.GetCredential().GetUsername(), cred.Msg.GetPassword(), nil
}

// approvalToRead times ApproveAccessRequest to the consumer's first record,
// read with its own SCRAM credential in a group under its prefix.
func (b *accessBench) approvalToRead(ctx context.Context, rep *report) error {
	b.progress("access: approval → the consumer reads a record, %d times", accessReadRepeats)
	var allowed, read []time.Duration
	for range accessReadRepeats {
		req, user, password, err := b.consumer(ctx)
		if err != nil {
			return err
		}
		t0 := time.Now()
		if _, err := b.owner.acc.ApproveAccessRequest(ctx, connect.NewRequest(&v1.ApproveAccessRequestRequest{Id: req.GetId()})); err != nil {
			return err
		}
		at, err := readWhenAllowed(ctx, b.bootstrap, user, password, b.topic, user+".bench")
		if err != nil {
			return err
		}
		allowed, read = append(allowed, at.Sub(t0)), append(read, time.Since(t0))
	}
	slices.Sort(allowed)
	slices.Sort(read)
	rep.add("6a", "approval → the broker lets the consumer read (SCRAM, sandbox)", fmt.Sprintf("median %s, max %s of %d", secs(allowed[len(allowed)/2]), secs(allowed[len(allowed)-1]), len(allowed)),
		"<= "+secs(targetApprovalToRead), verdict(allowed[len(allowed)-1] <= targetApprovalToRead))
	rep.add("6a'", "  approval → first record consumed in a new group", fmt.Sprintf("median %s, max %s", secs(read[len(read)/2]), secs(read[len(read)-1])), "info", "—")
	rep.note("6a: the approval queues a plan of the product's workspace that holds nothing but the grant's 3 ACLs; meshplane approves and applies it itself. The consumer polls ListEndOffsets every 20ms until the broker lets it (6a), then joins a new group and consumes (6a').")
	return nil
}

// readWhenAllowed polls until the broker lets user list the topic's
// offsets, then consumes one record in group; it returns when access began.
func readWhenAllowed(ctx context.Context, bootstrap []string, user, password, topic, group string) (time.Time, error) {
	// A refused topic is remembered for MetadataMinAge (5s by default):
	// ask the broker again at every poll instead.
	opts := []kgo.Opt{kgo.SeedBrokers(bootstrap...), kgo.SASL(scram.Auth{User: user, Pass: password}.AsSha512Mechanism()),
		kgo.MetadataMinAge(10 * time.Millisecond)}
	var allowed time.Time
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return allowed, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		ends, err := adm.ListEndOffsets(ctx, topic)
		if err == nil {
			err = ends.Error()
		}
		if err == nil {
			allowed = time.Now()
			break
		}
		if !errors.Is(err, kerr.TopicAuthorizationFailed) {
			return allowed, fmt.Errorf("listing offsets as %s: %w", user, err)
		}
		select {
		case <-ctx.Done():
			return allowed, fmt.Errorf("%s never got access: %w", user, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	cons, err := kgo.NewClient(append(opts, kgo.ConsumeTopics(topic), kgo.ConsumerGroup(group), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	if err != nil {
		return allowed, err
	}
	defer cons.Close()
	for ctx.Err() == nil {
		fs := cons.PollFetches(ctx)
		if err := fs.Err0(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return allowed, fmt.Errorf("consuming as %s: %w", user, err)
		}
		if len(fs.Records()) > 0 {
			return allowed, nil
		}
	}
	return allowed, ctx.Err()
}

// grantScaling compares the plan of one more grant's ACLs on a product with
// one grant and on the same product with 1,000.
func (b *accessBench) grantScaling(ctx context.Context, rep *report) error {
	b.progress("access: the plan for one more consumer beside 1 and beside 1,000 active grants")
	small, err := b.oneMore(ctx)
	if err != nil {
		return err
	}
	// 1,000 grants: the rest are written straight into the catalog as
	// approved (their consumers need no credential to hold ACLs), and
	// meshplane plans and applies their ACLs like any approved grant.
	active, err := b.e.srv.Store.Client.Grant.Query().Where(grant.ProductID(b.productID), grant.StateEQ(grant.StateActive)).Count(ctx)
	if err != nil {
		return err
	}
	add := 1000 - active
	now := time.Now().UTC()
	env := b.e.srv.Provision.AccessEnvironment()
	builders := make([]*ent.GrantCreate, 0, add)
	for i := range add {
		name := fmt.Sprintf("bulk%04d", i)
		builders = append(builders, b.e.srv.Store.Client.Grant.Create().SetRequestID("bench").SetConsumer(name).SetConsumerDomain("marketing").
			SetDomain("sales").SetProduct("orders").SetProductID(b.productID).SetPort("orders").SetTopic(b.topic).SetEnvironment(env).
			SetGroupPrefix("marketing."+name+".").SetPurpose("bench").SetDurationSeconds(86400).SetState(grant.StateApproved).
			SetApproveTime(now).SetLiveKey(name+"|"+b.topic+"|"+env))
	}
	for chunk := range slices.Chunk(builders, 200) {
		if err := b.e.srv.Store.Client.Grant.CreateBulk(chunk...).Exec(ctx); err != nil {
			return err
		}
	}
	t0 := time.Now()
	for {
		n, err := b.e.srv.Store.Client.Grant.Query().Where(grant.ProductID(b.productID), grant.StateEQ(grant.StateActive)).Count(ctx)
		if err != nil {
			return err
		}
		if n >= 1000 {
			break
		}
		if time.Since(t0) > 15*time.Minute {
			return fmt.Errorf("only %d of 1000 grants became active in %s", n, time.Since(t0).Round(time.Second))
		}
		time.Sleep(500 * time.Millisecond)
	}
	grow := time.Since(t0)
	large, err := b.oneMore(ctx)
	if err != nil {
		return err
	}
	ratio := ratioOf(large.plan, small.plan)
	rep.add("6b", "plan for one more consumer: beside 1,000 grants / beside 1", fmt.Sprintf("%.2f× (%s / %s)", ratio, secs(large.plan), secs(small.plan)),
		fmt.Sprintf("<= %.1f×", targetGrantPlanRatio), verdict(ratio <= targetGrantPlanRatio))
	rep.add("6b'", "  whole grant run, request approved → applied: beside 1,000 / beside 1", fmt.Sprintf("%s / %s", secs(large.total), secs(small.total)), "info", "—")
	rep.note("6b: plan = the run's start → its automatic approval (server timestamps): render, terraform init, plan -out, show -json. Creating the 999 grants' 2,997 ACLs in one run took %s. "+
		"Each plan changes exactly 3 resources (%d and %d to create); ACLs are keyed by their identity, so no other consumer's ACL is replaced.", secs(grow), small.creates, large.creates)
	return nil
}

type grantRun struct {
	plan, total time.Duration
	creates     int32
}

// oneMore approves one more consumer and returns its grant run's timings.
func (b *accessBench) oneMore(ctx context.Context) (grantRun, error) {
	req, _, _, err := b.consumer(ctx)
	if err != nil {
		return grantRun{}, err
	}
	t0 := time.Now()
	if _, err := b.owner.acc.ApproveAccessRequest(ctx, connect.NewRequest(&v1.ApproveAccessRequestRequest{Id: req.GetId()})); err != nil {
		return grantRun{}, err
	}
	var g *v1.Grant
	for g == nil || g.GetState() != v1.GrantState_GRANT_STATE_ACTIVE {
		if time.Since(t0) > runTimeout {
			return grantRun{}, fmt.Errorf("grant of %s not active after %s: %+v", req.GetConsumer(), runTimeout, g)
		}
		time.Sleep(pollEvery)
		res, err := b.admin.acc.GetAccessRequest(ctx, connect.NewRequest(&v1.GetAccessRequestRequest{Id: req.GetId()}))
		if err != nil {
			return grantRun{}, err
		}
		g = res.Msg.GetAccessRequest().GetGrants()[0]
	}
	total := time.Since(t0)
	res, err := b.admin.prov.GetRun(ctx, connect.NewRequest(&v1.GetRunRequest{Id: g.GetRunId()}))
	if err != nil {
		return grantRun{}, err
	}
	r := res.Msg.GetRun()
	if !r.GetAutoApply() || r.GetApproveTime() == nil || r.GetStartTime() == nil {
		return grantRun{}, fmt.Errorf("grant run %s was not applied automatically: %s", r.GetId(), r.GetAutoApplyNote())
	}
	return grantRun{plan: r.GetApproveTime().AsTime().Sub(r.GetStartTime().AsTime()), total: total, creates: r.GetSummary().GetCreate()}, nil
}
