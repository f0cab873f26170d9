package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
	"github.com/meshplane/meshplane/server/app/apptest"
)

// waitRun polls a run until it leaves queued/planning/applying.
func waitRun(t *testing.T, c apptest.Clients, id string) *v1.Run {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		res, err := c.Provision.GetRun(context.Background(), connect.NewRequest(&v1.GetRunRequest{Id: id}))
		if err != nil {
			t.Fatalf("GetRun: %v", err)
		}
		switch r := res.Msg.GetRun(); r.GetState() {
		case v1.RunState_RUN_STATE_QUEUED, v1.RunState_RUN_STATE_PLANNING, v1.RunState_RUN_STATE_APPLYING:
			time.Sleep(100 * time.Millisecond)
		default:
			return r
		}
	}
	t.Fatalf("run %s did not settle", id)
	return nil
}

func plan(t *testing.T, c apptest.Clients, domain, product string) *v1.Run {
	t.Helper()
	res, err := c.Provision.Plan(context.Background(), connect.NewRequest(&v1.PlanRequest{Domain: domain, Product: product}))
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	r := waitRun(t, c, res.Msg.GetRun().GetId())
	if r.GetState() != v1.RunState_RUN_STATE_PLANNED {
		t.Fatalf("plan ended %v: %s", r.GetState(), r.GetError())
	}
	return r
}

// approve applies the planned run r and returns the applied run. The Kafka
// provider can lose its broker connection on a loaded machine; a user would
// plan again and approve that, and so does this, twice at most.
func approve(t *testing.T, c apptest.Clients, r *v1.Run, confirm bool) *v1.Run {
	t.Helper()
	for attempt := 1; ; attempt++ {
		if _, err := c.Provision.ApproveRun(context.Background(), connect.NewRequest(&v1.ApproveRunRequest{Id: r.GetId(), ConfirmDestructive: confirm})); err != nil {
			t.Fatalf("ApproveRun: %v", err)
		}
		out := waitRun(t, c, r.GetId())
		if out.GetState() == v1.RunState_RUN_STATE_APPLIED {
			return out
		}
		if attempt == 3 || !strings.Contains(out.GetError(), "broker not connected") {
			t.Fatalf("apply ended %v: %s", out.GetState(), out.GetError())
		}
		t.Logf("apply %d lost the broker connection; planning again", attempt)
		if r.GetKind() == v1.RunKind_RUN_KIND_DESTROY {
			r = decommissionPlan(t, c, r.GetDomain(), r.GetProduct())
		} else {
			r = plan(t, c, r.GetDomain(), r.GetProduct())
		}
	}
}

// decommissionPlan plans a product's decommission.
func decommissionPlan(t *testing.T, c apptest.Clients, domain, product string) *v1.Run {
	t.Helper()
	res, err := c.Provision.Decommission(context.Background(), connect.NewRequest(&v1.DecommissionRequest{Domain: domain, Product: product}))
	if err != nil {
		t.Fatal(err)
	}
	r := waitRun(t, c, res.Msg.GetRun().GetId())
	if r.GetState() != v1.RunState_RUN_STATE_PLANNED {
		t.Fatalf("decommission plan ended %v: %s", r.GetState(), r.GetError())
	}
	return r
}

func actions(r *v1.Run) map[string]string {
	out := map[string]string{}
	for _, rc := range r.GetSummary().GetResources() {
		out[rc.GetAddress()] = rc.GetAction()
	}
	return out
}

func updateSpec(t *testing.T, c apptest.Clients, domain, name string, edit func(*v1.DataProductSpec)) {
	t.Helper()
	ctx := context.Background()
	cur, err := c.Catalog.GetDataProduct(ctx, connect.NewRequest(&v1.GetDataProductRequest{Domain: domain, Name: name}))
	if err != nil {
		t.Fatal(err)
	}
	p := cur.Msg.GetDataProduct()
	s := &v1.DataProductSpec{Description: p.GetDescription(), Owner: p.GetOwner(), Labels: p.GetLabels(), Source: p.GetSource(), Ports: p.GetPorts(), Sinks: p.GetSinks()}
	edit(s)
	if _, err := c.Catalog.UpdateDataProduct(ctx, connect.NewRequest(&v1.UpdateDataProductRequest{Domain: domain, Name: name, Spec: s, Version: p.GetVersion()})); err != nil {
		t.Fatalf("updating %s/%s: %v", domain, name, err)
	}
}

// TestProvisioningLifecycle drives one product through its whole life on the
// sandbox: plan, review, apply, check from outside, change in place, a
// destructive change that needs confirmation, a clean re-plan, decommission.
func TestProvisioningLifecycle(t *testing.T) {
	apptest.RequireTools(t)
	logs := &syncBuffer{}
	env := apptest.New(t, apptest.Options{Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	ctx := context.Background()
	env.Domain("sales")
	ownerTok := env.User("olivia", "domain-owner", "sales")
	memberTok := env.User("mark", "domain-member", "sales")
	owner := env.Clients(apptest.ProtocolConnect, ownerTok)
	member := env.Clients(apptest.ProtocolGRPC, memberTok)
	if _, err := owner.Catalog.CreateDataProduct(ctx, connect.NewRequest(&v1.CreateDataProductRequest{Domain: "sales", Name: "orders", Spec: apptest.ProductSpec()})); err != nil {
		t.Fatal(err)
	}

	// Bad input is refused before any terraform runs, and writes nothing.
	for _, bad := range [][2]string{{"sales", "../../etc"}, {"sales", `x"}; resource "evil`}, {"Sales", "orders"}} {
		_, err := owner.Provision.Plan(ctx, connect.NewRequest(&v1.PlanRequest{Domain: bad[0], Product: bad[1]}))
		if o := connectOutcome(err); o.Code != "INVALID_ARGUMENT" || len(o.Fields) == 0 {
			t.Fatalf("planning %q/%q: %+v", bad[0], bad[1], o)
		}
	}
	if _, err := owner.Provision.Plan(ctx, connect.NewRequest(&v1.PlanRequest{Domain: "sales", Product: "missing"})); connect.CodeOf(err) != connect.CodeNotFound {
		t.Fatalf("planning a missing product: %v", err)
	}
	if _, err := os.Stat(filepath.Join(env.DataDir, "environments")); err == nil {
		t.Fatal("refused plans created a workspace")
	}

	// Plan: the summary lists the topics, ACLs and connectors, nothing is applied yet.
	r := plan(t, member, "sales", "orders")
	acts := actions(r)
	for _, addr := range []string{"module.topic__orders.kafka_topic.this", "module.topic__customers.kafka_topic.this",
		"module.source.kafka-connect_connector.this", "module.sink__warehouse.kafka-connect_connector.this", "module.sink__lake.kafka-connect_connector.this"} {
		if acts[addr] != "create" {
			t.Errorf("plan: %s = %q, want create (plan: %v)", addr, acts[addr], acts)
		}
	}
	if !slices.ContainsFunc(r.GetSummary().GetResources(), func(rc *v1.ResourceChange) bool { return rc.GetType() == "kafka_acl" }) {
		t.Error("plan has no ACLs")
	}
	adm := kadm.NewClient(mustKgo(t, env))
	if topics, _ := adm.ListTopics(ctx); topics.Has("sales.orders.orders.v1") {
		t.Fatal("planning created a topic")
	}
	// Members plan; only those allowed to approve may approve.
	if _, err := member.Provision.ApproveRun(ctx, connect.NewRequest(&v1.ApproveRunRequest{Id: r.GetId()})); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("member approves: %v", err)
	}
	approve(t, owner, r, false)

	// From outside: the topic has its partitions and configs, the ACLs exist,
	// the connectors exist with their configs.
	details, err := adm.DescribeTopicConfigs(ctx, "sales.orders.orders.v1")
	if err != nil {
		t.Fatal(err)
	}
	cfg := map[string]string{}
	for _, c := range details[0].Configs {
		if c.Value != nil {
			cfg[c.Key] = *c.Value
		}
	}
	if cfg["retention.ms"] != "604800000" || cfg["cleanup.policy"] != "delete" {
		t.Errorf("topic configs = %v", cfg)
	}
	td, err := adm.ListTopics(ctx, "sales.orders.orders.v1")
	if err != nil || len(td["sales.orders.orders.v1"].Partitions) != 6 {
		t.Errorf("partitions = %v, %v", td, err)
	}
	acls, err := adm.DescribeACLs(ctx, kadm.NewACLs().Topics("sales.orders.orders.v1").Allow("User:sales.orders.source").AllowHosts().Operations(kadm.OpWrite).ResourcePatternType(kadm.ACLPatternLiteral))
	if err != nil || len(acls) == 0 || len(acls[0].Described) == 0 {
		t.Errorf("source WRITE ACL missing: %v %v", acls, err)
	}
	conns := connectorConfigs(t, env)
	src := conns["sales.orders.source"]
	if src["connector.class"] != "io.debezium.connector.postgresql.PostgresConnector" || src["database.password"] != "${env:SALES__ORDERS_DB_PASSWORD}" ||
		src["table.include.list"] == "" {
		t.Errorf("source connector config = %v", src)
	}
	if conns["sales.orders.warehouse"]["connector.class"] != "com.wepay.kafka.connect.bigquery.BigQuerySinkConnector" {
		t.Errorf("bigquery connector = %v", conns["sales.orders.warehouse"])
	}

	// GraphQL serves the same runs and summaries.
	gql := env.GraphQL(ownerTok, `{ dataProduct(domain: "sales", name: "orders") {
		provisionedVersion drift { address } runs(first: 5) { nodes { id state kind hasChanges summary { create destructive resources { address action } } } } } }`, nil)
	if len(gql.Errors) > 0 {
		t.Fatalf("graphql runs: %+v", gql.Errors)
	}
	var view struct {
		DataProduct struct {
			ProvisionedVersion *int64
			Runs               struct {
				Nodes []struct {
					ID, State, Kind string
					Summary         struct{ Create int }
				}
			}
		}
	}
	if err := json.Unmarshal(gql.Data, &view); err != nil {
		t.Fatal(err)
	}
	if pv := view.DataProduct.ProvisionedVersion; pv == nil || *pv != 1 || len(view.DataProduct.Runs.Nodes) != 1 ||
		view.DataProduct.Runs.Nodes[0].State != "APPLIED" || view.DataProduct.Runs.Nodes[0].Summary.Create < 10 {
		t.Fatalf("graphql view of runs: %s", gql.Data)
	}

	// State lives where the catalog does: a local file with SQLite,
	// Terraform's pg backend (its own schema) with PostgreSQL.
	_, statErr := os.Stat(filepath.Join(env.DataDir, "environments", "sandbox", "workspaces", "sales", "orders", "terraform.tfstate"))
	if env.Dialect == "postgres" {
		var n int
		if err := env.Server.Store.DB.QueryRow(`SELECT count(*) FROM information_schema.tables WHERE table_schema LIKE 'meshplane_%' AND table_name = 'states'`).Scan(&n); err != nil || n != 1 || statErr == nil {
			t.Fatalf("pg backend: %d state tables, local state file present: %v (%v)", n, statErr == nil, err)
		}
	} else if statErr != nil {
		t.Fatalf("local state: %v", statErr)
	}

	// Re-planning after apply shows no changes.
	if r := plan(t, owner, "sales", "orders"); r.GetHasChanges() {
		t.Fatalf("re-plan after apply has changes: %v", actions(r))
	}

	// Longer retention and one more table: an in-place plan.
	updateSpec(t, owner, "sales", "orders", func(s *v1.DataProductSpec) {
		s.Ports[0].RetentionMs = 14 * 24 * 3600 * 1000
		s.Source.Tables = append(s.Source.Tables, "public.refunds")
		s.Ports = append(s.Ports, &v1.OutputPort{Name: "refunds", Table: "public.refunds",
			Fields: []*v1.Field{{Name: "refund_id", Type: v1.FieldType_FIELD_TYPE_INT64, Classification: v1.Classification_CLASSIFICATION_NONE}}})
	})
	r = plan(t, owner, "sales", "orders")
	acts = actions(r)
	if r.GetDestructive() || acts["module.topic__orders.kafka_topic.this"] != "update" || acts["module.source.kafka-connect_connector.this"] != "update" ||
		acts["module.topic__refunds.kafka_topic.this"] != "create" || r.GetSummary().GetDelete()+r.GetSummary().GetReplace() != 0 {
		t.Fatalf("in-place plan = %v (destructive %v)", acts, r.GetDestructive())
	}
	approve(t, owner, r, false)

	// Removing a port deletes its topic: destructive, needs confirmation.
	updateSpec(t, owner, "sales", "orders", func(s *v1.DataProductSpec) {
		s.Ports = slices.DeleteFunc(s.Ports, func(p *v1.OutputPort) bool { return p.GetName() == "refunds" })
		s.Source.Tables = slices.DeleteFunc(s.Source.Tables, func(t string) bool { return t == "public.refunds" })
	})
	r = plan(t, owner, "sales", "orders")
	if !r.GetDestructive() || actions(r)["module.topic__refunds.kafka_topic.this"] != "delete" || len(r.GetSummary().GetReasons()) == 0 {
		t.Fatalf("removing a port: destructive=%v %v", r.GetDestructive(), actions(r))
	}
	_, err = owner.Provision.ApproveRun(ctx, connect.NewRequest(&v1.ApproveRunRequest{Id: r.GetId()}))
	if connect.CodeOf(err) != connect.CodeFailedPrecondition {
		t.Fatalf("approving a destructive plan without confirmation: %v", err)
	}
	approve(t, owner, r, true)
	if topics, _ := adm.ListTopics(ctx); topics.Has("sales.orders.refunds.v1") {
		t.Fatal("removed port's topic still exists")
	}

	// A plan older than the product is stale.
	r = plan(t, owner, "sales", "orders")
	updateSpec(t, owner, "sales", "orders", func(s *v1.DataProductSpec) { s.Description = "changed after planning" })
	_, err = owner.Provision.ApproveRun(ctx, connect.NewRequest(&v1.ApproveRunRequest{Id: r.GetId()}))
	if o := connectOutcome(err); o.Code != "FAILED_PRECONDITION" || !strings.Contains(err.Error(), "plan again") {
		t.Fatalf("approving a stale plan: %v", err)
	}

	// Decommission: a destroy plan, approved with confirmation, retires the product.
	res, err := owner.Provision.Decommission(ctx, connect.NewRequest(&v1.DecommissionRequest{Domain: "sales", Product: "orders"}))
	if err != nil {
		t.Fatal(err)
	}
	r = waitRun(t, owner, res.Msg.GetRun().GetId())
	if r.GetKind() != v1.RunKind_RUN_KIND_DESTROY || !r.GetDestructive() {
		t.Fatalf("decommission plan: %v", r)
	}
	destroyed := approve(t, owner, r, true)
	// The source database keeps Debezium's replication slot: the run says
	// so, and how its owner drops it.
	if log := destroyed.GetLog(); !strings.Contains(log, "the source database orders-db.internal:5432/orders keeps replication slot ") ||
		!strings.Contains(log, "SELECT pg_drop_replication_slot('") {
		t.Errorf("the decommission's log does not mention the source's replication slot:\n%s", log[max(0, len(log)-800):])
	}
	topics, _ := adm.ListTopics(ctx)
	for _, tp := range topics.Names() {
		if strings.HasPrefix(tp, "sales.orders.") {
			t.Errorf("topic %s survived decommission", tp)
		}
	}
	if left := connectorConfigs(t, env); len(left) != 0 {
		t.Errorf("connectors survived decommission: %v", left)
	}
	p, err := owner.Catalog.GetDataProduct(ctx, connect.NewRequest(&v1.GetDataProductRequest{Domain: "sales", Name: "orders"}))
	if err != nil || p.Msg.GetDataProduct().GetLifecycle() != v1.Lifecycle_LIFECYCLE_RETIRED {
		t.Fatalf("after decommission: %v %v", p, err)
	}
	runs, err := owner.Provision.ListRuns(ctx, connect.NewRequest(&v1.ListRunsRequest{Domain: "sales", Product: "orders"}))
	if err != nil || len(runs.Msg.GetRuns()) != 6 {
		t.Fatalf("runs kept after decommission: %d %v", len(runs.Msg.GetRuns()), err)
	}
	if _, err := owner.Provision.Plan(ctx, connect.NewRequest(&v1.PlanRequest{Domain: "sales", Product: "orders"})); connect.CodeOf(err) != connect.CodeFailedPrecondition {
		t.Fatalf("planning a retired product: %v", err)
	}

	// The sandbox's admin password appears in no artefact: workspaces, the
	// catalog, run logs and summaries.
	secret := env.Server.Sandbox.AdminPassword()
	assertNoSecret(t, env, secret)
	if strings.Contains(logs.String(), secret) {
		t.Error("the sandbox password reached the server log")
	}
	if !strings.Contains(logs.String(), "sandbox") {
		t.Error("the log capture saw nothing; the check above proves nothing")
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func assertNoSecret(t *testing.T, env *apptest.Env, secret string) {
	t.Helper()
	if len(secret) < 8 {
		t.Fatalf("implausible secret %q", secret)
	}
	err := filepath.WalkDir(env.DataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.Contains(path, string(filepath.Separator)+"sandbox"+string(filepath.Separator)) ||
			strings.Contains(path, string(filepath.Separator)+".terraform"+string(filepath.Separator)) {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.Contains(string(b), secret) {
			t.Errorf("the sandbox password is in %s", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c := env.Clients(apptest.ProtocolConnect, env.AdminToken)
	runs, err := c.Provision.ListRuns(ctx, connect.NewRequest(&v1.ListRunsRequest{Domain: "sales", Product: "orders"}))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs.Msg.GetRuns() {
		full, err := c.Provision.GetRun(ctx, connect.NewRequest(&v1.GetRunRequest{Id: r.GetId()}))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(full.Msg.String(), secret) {
			t.Errorf("run %s exposes the password", r.GetId())
		}
	}
}

func mustKgo(t *testing.T, env *apptest.Env) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(env.Server.Sandbox.ClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// connectorConfigs reads every connector's config from the Connect REST API.
func connectorConfigs(t *testing.T, env *apptest.Env) map[string]map[string]string {
	t.Helper()
	st := env.Server.Sandbox.Settings()
	get := func(path string, v any) {
		getJSON(t, st.ConnectURL+path, st.ConnectUsername, env.Server.Sandbox.AdminPassword(), v)
	}
	var names []string
	get("/connectors", &names)
	out := map[string]map[string]string{}
	for _, n := range names {
		var cfg map[string]string
		get("/connectors/"+url.PathEscape(n)+"/config", &cfg)
		out[n] = cfg
	}
	return out
}

func getJSON(t *testing.T, u, user, pass string, v any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", u, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// TestWatchRunStreams follows a run over both streaming protocols: the
// terraform output arrives line by line, then the state it settles in.
func TestWatchRunStreams(t *testing.T) {
	apptest.RequireTools(t)
	env := apptest.New(t)
	ctx := context.Background()
	env.Domain("sales")
	admin := env.Clients(apptest.ProtocolConnect, env.AdminToken)
	if _, err := admin.Catalog.CreateDataProduct(ctx, connect.NewRequest(&v1.CreateDataProductRequest{Domain: "sales", Name: "orders", Spec: apptest.ProductSpec()})); err != nil {
		t.Fatal(err)
	}
	res, err := admin.Provision.Plan(ctx, connect.NewRequest(&v1.PlanRequest{Domain: "sales", Product: "orders"}))
	if err != nil {
		t.Fatal(err)
	}
	id := res.Msg.GetRun().GetId()
	for _, p := range apptest.Protocols {
		c := env.Clients(p, env.AdminToken)
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		stream, err := c.Provision.WatchRun(wctx, connect.NewRequest(&v1.WatchRunRequest{Id: id}))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		var lines []string
		var last v1.RunState
		for stream.Receive() {
			if l := stream.Msg().GetLine(); l != "" {
				lines = append(lines, l)
			}
			if st := stream.Msg().GetState(); st != v1.RunState_RUN_STATE_UNSPECIFIED {
				last = st
			}
		}
		cancel()
		if err := stream.Err(); err != nil {
			t.Fatalf("%s: stream: %v", p, err)
		}
		if last != v1.RunState_RUN_STATE_PLANNED || !slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, "meshplane: plan saved") }) {
			t.Fatalf("%s: watch ended in %v with %d lines: %v", p, last, len(lines), lines)
		}
	}
	// Approved, the same watch follows the apply until the run is applied.
	if _, err := admin.Provision.ApproveRun(ctx, connect.NewRequest(&v1.ApproveRunRequest{Id: id})); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	stream, err := admin.Provision.WatchRun(wctx, connect.NewRequest(&v1.WatchRunRequest{Id: id}))
	if err != nil {
		t.Fatal(err)
	}
	var states []v1.RunState
	for stream.Receive() {
		if st := stream.Msg().GetState(); st != v1.RunState_RUN_STATE_UNSPECIFIED {
			states = append(states, st)
		}
	}
	if err := stream.Err(); err != nil || len(states) == 0 || states[len(states)-1] != v1.RunState_RUN_STATE_APPLIED {
		t.Fatalf("watching the apply: states %v, err %v", states, err)
	}

	// Another domain's run cannot be watched, and is not said to exist.
	env.Domain("marketing")
	other := env.Clients(apptest.ProtocolGRPC, env.User("otto", "domain-owner", "marketing"))
	stream, err = other.Provision.WatchRun(ctx, connect.NewRequest(&v1.WatchRunRequest{Id: id}))
	if err == nil {
		for stream.Receive() {
			t.Fatal("an outsider received run output")
		}
		err = stream.Err()
	}
	if connect.CodeOf(err) != connect.CodeNotFound {
		t.Fatalf("outsider watching: %v", err)
	}
}

// TestDriftIsRecordedNeverApplied changes a provisioned topic behind
// meshplane's back: the drift check records the difference on the product
// and leaves the data plane as it found it.
func TestDriftIsRecordedNeverApplied(t *testing.T) {
	apptest.RequireTools(t)
	env := apptest.New(t)
	ctx := context.Background()
	env.Domain("sales")
	admin := env.Clients(apptest.ProtocolConnect, env.AdminToken)
	if _, err := admin.Catalog.CreateDataProduct(ctx, connect.NewRequest(&v1.CreateDataProductRequest{Domain: "sales", Name: "orders", Spec: apptest.ProductSpec()})); err != nil {
		t.Fatal(err)
	}
	approve(t, admin, plan(t, admin, "sales", "orders"), false)
	env.Server.Provision.CheckDrift(ctx)
	p, err := admin.Catalog.GetDataProduct(ctx, connect.NewRequest(&v1.GetDataProductRequest{Domain: "sales", Name: "orders"}))
	if err != nil {
		t.Fatal(err)
	}
	if dp := p.Msg.GetDataProduct(); len(dp.GetDrift()) != 0 || dp.GetDriftCheckTime() == nil || dp.GetProvisionedVersion() != 1 {
		t.Fatalf("in sync: drift %v, checked %v, provisioned %d", dp.GetDrift(), dp.GetDriftCheckTime(), dp.GetProvisionedVersion())
	}

	adm := kadm.NewClient(mustKgo(t, env))
	one := "3600000"
	if _, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: &one}}, "sales.orders.orders.v1"); err != nil {
		t.Fatal(err)
	}
	env.Server.Provision.CheckDrift(ctx)
	p, err = admin.Catalog.GetDataProduct(ctx, connect.NewRequest(&v1.GetDataProductRequest{Domain: "sales", Name: "orders"}))
	if err != nil {
		t.Fatal(err)
	}
	drift := p.Msg.GetDataProduct().GetDrift()
	if !slices.ContainsFunc(drift, func(rc *v1.ResourceChange) bool {
		return rc.GetAddress() == "module.topic__orders.kafka_topic.this" && slices.ContainsFunc(rc.GetAttributes(), func(a *v1.AttributeChange) bool {
			return a.GetPath() == `config["retention.ms"]` && a.GetAfter() == `"3600000"`
		})
	}) {
		t.Fatalf("drift = %v", drift)
	}
	details, err := adm.DescribeTopicConfigs(ctx, "sales.orders.orders.v1")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range details[0].Configs {
		if c.Key == "retention.ms" && (c.Value == nil || *c.Value != one) {
			t.Fatalf("the drift check changed the topic back: %v", c.Value)
		}
	}
	// Drift found is a change of the product, audited (and so published)
	// once: a check that finds the same drift again records nothing.
	env.Server.Provision.CheckDrift(ctx)
	found := func() []*v1.AuditEvent {
		res, err := admin.Audit.ListAuditEvents(ctx, connect.NewRequest(&v1.ListAuditEventsRequest{Domain: "sales", Resource: "sales/orders"}))
		if err != nil {
			t.Fatal(err)
		}
		var out []*v1.AuditEvent
		for _, e := range res.Msg.GetEvents() {
			if strings.HasPrefix(e.GetAction(), "provision.Drift") {
				out = append(out, e)
			}
		}
		return out
	}()
	if len(found) != 1 || found[0].GetAction() != "provision.DriftDetected" || found[0].GetActor() != "meshplane" ||
		!strings.Contains(found[0].GetAfter(), "retention.ms") || !strings.Contains(found[0].GetBefore(), `"drift":`) {
		t.Fatalf("drift audit events: %v", found)
	}
	// GraphQL shows the same drift.
	gql := env.GraphQL(env.AdminToken, `{ dataProduct(domain: "sales", name: "orders") { drift { address attributes { path after } } driftCheckTime } }`, nil)
	if len(gql.Errors) > 0 || !strings.Contains(string(gql.Data), "retention.ms") {
		t.Fatalf("graphql drift: %s %+v", gql.Data, gql.Errors)
	}
}

// TestLifecycleMoveStaysInSync publishes and deprecates a provisioned
// product: a move that changes nothing provisioning renders leaves the
// product in sync, while a real change still awaits a plan.
func TestLifecycleMoveStaysInSync(t *testing.T) {
	apptest.RequireTools(t)
	env := apptest.New(t)
	ctx := context.Background()
	env.Domain("sales")
	c := env.Clients(apptest.ProtocolConnect, env.AdminToken)
	if _, err := c.Catalog.CreateDataProduct(ctx, connect.NewRequest(&v1.CreateDataProductRequest{Domain: "sales", Name: "orders", Spec: apptest.ProductSpec()})); err != nil {
		t.Fatal(err)
	}
	if r := approve(t, c, plan(t, c, "sales", "orders"), false); r.GetState() != v1.RunState_RUN_STATE_APPLIED {
		t.Fatalf("apply ended %v: %s", r.GetState(), r.GetError())
	}
	get := func() *v1.DataProduct {
		res, err := c.Catalog.GetDataProduct(ctx, connect.NewRequest(&v1.GetDataProductRequest{Domain: "sales", Name: "orders"}))
		if err != nil {
			t.Fatal(err)
		}
		return res.Msg.GetDataProduct()
	}
	move := func(p *v1.DataProduct, to v1.Lifecycle, spec *v1.DataProductSpec) *v1.DataProduct {
		res, err := c.Catalog.UpdateDataProduct(ctx, connect.NewRequest(&v1.UpdateDataProductRequest{Domain: "sales", Name: "orders",
			Spec: spec, Lifecycle: to, Version: p.GetVersion()}))
		if err != nil {
			t.Fatal(err)
		}
		return res.Msg.GetDataProduct()
	}
	for _, to := range []v1.Lifecycle{v1.Lifecycle_LIFECYCLE_ACTIVE, v1.Lifecycle_LIFECYCLE_DEPRECATED, v1.Lifecycle_LIFECYCLE_ACTIVE} {
		p := move(get(), to, specOf(get()))
		if p.GetProvisionedVersion() != p.GetVersion() || p.GetHealth() != v1.DataProductHealth_DATA_PRODUCT_HEALTH_IN_SYNC {
			t.Fatalf("moved to %v: version %d, provisioned %d, health %v", to, p.GetVersion(), p.GetProvisionedVersion(), p.GetHealth())
		}
	}
	changed := specOf(get())
	changed.Description = "Orders, now with a new description."
	p := move(get(), v1.Lifecycle_LIFECYCLE_UNSPECIFIED, changed)
	if p.GetProvisionedVersion() != p.GetVersion()-1 {
		t.Fatalf("a changed product must await a plan: version %d, provisioned %d", p.GetVersion(), p.GetProvisionedVersion())
	}
}

// TestAPlanJudgesTheProductOnce checks that a plan asks the policy about the
// product once: the judgement its request was queued with is what the plan
// renders from, and the decision log holds one admission and one masking
// decision for it.
func TestAPlanJudgesTheProductOnce(t *testing.T) {
	apptest.RequireTools(t)
	env := apptest.New(t)
	ctx := context.Background()
	env.Domain("sales")
	owner := env.Clients(apptest.ProtocolConnect, env.User("olivia", "domain-owner", "sales"))
	if _, err := owner.Catalog.CreateDataProduct(ctx, connect.NewRequest(&v1.CreateDataProductRequest{Domain: "sales", Name: "orders", Spec: apptest.ProductSpec()})); err != nil {
		t.Fatal(err)
	}
	triggers := func() map[string]int {
		res, err := adminClients(env).Policy.ListPolicyDecisions(ctx, connect.NewRequest(&v1.ListPolicyDecisionsRequest{Domain: "sales", Product: "orders", PageSize: 500}))
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for _, d := range res.Msg.GetDecisions() {
			out[d.GetTrigger()+" "+d.GetKind()]++
		}
		return out
	}
	before := triggers()
	r := plan(t, owner, "sales", "orders")
	if !strings.Contains(r.GetLog(), "admits the product") {
		t.Fatalf("the plan does not say the policy admitted the product:\n%s", r.GetLog())
	}
	after := triggers()
	added := map[string]int{}
	for k, n := range after {
		if n != before[k] {
			added[k] = n - before[k]
		}
	}
	if want := map[string]int{"provision.Plan@sandbox admission": 1, "provision.Plan@sandbox masking": 1}; !maps.Equal(added, want) {
		t.Fatalf("one plan logged %v, want %v", added, want)
	}
}
