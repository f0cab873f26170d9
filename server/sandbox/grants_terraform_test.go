package sandbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	tfjson "github.com/hashicorp/terraform-json"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/meshplane/meshplane/server/provision/render"
	"github.com/meshplane/meshplane/server/provision/summary"
	"github.com/meshplane/meshplane/server/sandbox"
	"github.com/meshplane/meshplane/server/spec"
	"github.com/meshplane/meshplane/terraform/tftest"
)

// grantProduct is the product consumers are granted: sales.orders with one
// output port, sales.orders.orders.v1.
func grantProduct() spec.Product {
	p := spec.Product{
		Description: "Orders as placed in the web shop.",
		Owner:       "sales-team@example.com",
		Source: spec.Source{
			Kind: spec.SourcePostgres, Host: "orders-db.internal", Port: 5432, Database: "shop",
			Tables: []string{"public.orders"}, Username: "debezium", SecretRef: "env:ORDERS_DB_PASSWORD",
		},
		Ports: []spec.OutputPort{{
			Name: "orders", Partitions: 3, CleanupPolicy: spec.CleanupDelete,
			Fields: []spec.Field{{Name: "id", Type: spec.TypeInt64, Classification: spec.ClassNone}},
		}},
	}
	p.Normalize("sales", "orders")
	return p
}

const grantTopic = "sales.orders.orders.v1"

func consumerGrant(consumer string) render.Grant {
	return render.Grant{ID: "grant-" + consumer, Principal: "User:" + consumer, Topic: grantTopic, GroupPrefix: consumer + "."}
}

// grantWorkspace is a rendered product workspace applied with the real
// terraform and providers to one sandbox.
type grantWorkspace struct {
	tools tftest.Tools
	sb    *sandbox.Sandbox
	dir   string
	env   []string
}

func newGrantWorkspace(tb testing.TB, sb *sandbox.Sandbox) *grantWorkspace {
	tb.Helper()
	tools := tftest.Find(tb)
	return &grantWorkspace{tools: tools, sb: sb, dir: tb.TempDir(), env: tools.Env(tb, "KAFKA_SASL_PASSWORD="+sb.AdminPassword())}
}

// render writes the product's workspace with the grants and initializes
// it, as the server does before each plan.
func (w *grantWorkspace) render(tb testing.TB, grants []render.Grant) {
	tb.Helper()
	st := w.sb.Settings()
	ws, err := render.Render(render.Input{
		Domain: "sales", Product: "orders", Spec: grantProduct(), Grants: grants,
		Env: render.Environment{
			Name:               "sandbox",
			KafkaBootstrap:     st.BootstrapServers,
			KafkaSASLMechanism: render.SASLScramSHA512,
			KafkaUsername:      st.AdminUsername,
			ConnectURL:         st.ConnectURL,
			ReplicationFactor:  1,
		},
	})
	if err != nil {
		tb.Fatal(err)
	}
	// Like the server, replace the configuration whole: files the last
	// rendering wrote and this one does not must not linger.
	if err := os.RemoveAll(filepath.Join(w.dir, "modules")); err != nil {
		tb.Fatal(err)
	}
	tftest.WriteFiles(tb, w.dir, ws.Files)
	w.tools.Init(tb, w.dir, w.env)
}

func (w *grantWorkspace) run(tb testing.TB, args ...string) string {
	tb.Helper()
	return w.tools.Run(tb, w.dir, w.env, args...)
}

func (w *grantWorkspace) apply(tb testing.TB, extra ...string) {
	tb.Helper()
	w.run(tb, append([]string{"apply", "-input=false", "-no-color", "-auto-approve"}, extra...)...)
}

// plan saves a plan, with any extra arguments, and returns it as
// terraform's JSON.
func (w *grantWorkspace) plan(tb testing.TB, extra ...string) *tfjson.Plan {
	tb.Helper()
	w.run(tb, append([]string{"plan", "-input=false", "-no-color", "-out=grants.tfplan"}, extra...)...)
	var plan tfjson.Plan
	if err := json.Unmarshal([]byte(w.run(tb, "show", "-json", "-no-color", "grants.tfplan")), &plan); err != nil {
		tb.Fatalf("decoding the plan: %v", err)
	}
	return &plan
}

func grantCtx(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(tb.Context(), 30*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

func startGrantSandbox(tb testing.TB) *sandbox.Sandbox {
	tb.Helper()
	sb, err := sandbox.Start(grantCtx(tb), sandbox.Config{
		DataDir: tb.TempDir(), Logger: slog.New(slog.DiscardHandler),
		KafkaAddr: "127.0.0.1:0", ConnectAddr: "127.0.0.1:0",
	})
	if err != nil {
		tb.Fatalf("starting the sandbox: %v", err)
	}
	tb.Cleanup(func() { sb.Close() })
	return sb
}

func grantAdmin(tb testing.TB, sb *sandbox.Sandbox) *kadm.Client {
	tb.Helper()
	cl, err := kgo.NewClient(sb.ClientOptions()...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

// consumerACLs returns the broker's ACLs of principals that are not the
// product's connectors, by render.ACL key.
func consumerACLs(tb testing.TB, adm *kadm.Client) map[string]render.ACL {
	tb.Helper()
	results, err := adm.DescribeACLs(grantCtx(tb), kadm.NewACLs().AnyResource().Allow().AllowHosts().
		ResourcePatternType(kadm.ACLPatternAny).Operations(kadm.OpAny))
	if err != nil {
		tb.Fatalf("describing ACLs: %v", err)
	}
	out := map[string]render.ACL{}
	for _, r := range results {
		if r.Err != nil {
			tb.Fatalf("describing ACLs: %v", r.Err)
		}
		for _, d := range r.Described {
			if strings.HasPrefix(d.Principal, "User:sales.orders.") {
				continue // the connectors' own
			}
			if d.Host != "*" || d.Permission != kmsg.ACLPermissionTypeAllow {
				tb.Errorf("ACL %+v is not allowed from any host", d)
			}
			a := render.ACL{
				Principal:    d.Principal,
				ResourceType: map[kmsg.ACLResourceType]string{kmsg.ACLResourceTypeTopic: "Topic", kmsg.ACLResourceTypeGroup: "Group"}[d.Type],
				ResourceName: d.Name,
				PatternType:  map[kadm.ACLPattern]string{kadm.ACLPatternLiteral: "Literal", kadm.ACLPatternPrefixed: "Prefixed"}[d.Pattern],
				Operation:    map[kadm.ACLOperation]string{kadm.OpRead: "Read", kadm.OpDescribe: "Describe"}[d.Operation],
			}
			if a.ResourceType == "" || a.PatternType == "" || a.Operation == "" {
				tb.Errorf("unexpected ACL %+v", d)
				continue
			}
			out[a.Key()] = a
		}
	}
	return out
}

// consumeOnce reads one record of the topic as user, through group when it is
// not empty, and returns the first error the client reports instead.
func consumeOnce(tb testing.TB, sb *sandbox.Sandbox, user, pass, topic, group string) error {
	tb.Helper()
	opts := []kgo.Opt{
		kgo.SeedBrokers(sb.Settings().BootstrapServers...),
		kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha512Mechanism()),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.RequestRetries(1),
	}
	if group != "" {
		opts = append(opts, kgo.ConsumerGroup(group), kgo.DisableAutoCommit())
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		tb.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(tb.Context(), 20*time.Second)
	defer cancel()
	for {
		fetches := cl.PollFetches(ctx)
		if errs := fetches.Errors(); len(errs) > 0 {
			return errs[0].Err
		}
		if fetches.NumRecords() > 0 {
			return nil
		}
	}
}

func isACLDenial(err error) bool {
	return errors.Is(err, kerr.TopicAuthorizationFailed) || errors.Is(err, kerr.GroupAuthorizationFailed)
}

// TestGrantsAgainstSandbox applies a product's consumer grants with the real
// terraform and providers to the sandbox, whose broker enforces ACLs:
// exactly the grants' ACLs exist, each consumer reads the topic through its
// own groups only, and removing one consumer's grant plans the deletion of
// that consumer's three ACLs and nothing else.
func TestGrantsAgainstSandbox(t *testing.T) {
	t.Parallel()
	sb := startGrantSandbox(t)
	w := newGrantWorkspace(t, sb)
	adm := grantAdmin(t, sb)
	const reporter, ledger = "marketing.reporter", "finance.ledger"
	for _, user := range []string{reporter, ledger} {
		resp, err := adm.AlterUserSCRAMs(grantCtx(t), nil, []kadm.UpsertSCRAM{{User: user, Mechanism: kadm.ScramSha512, Iterations: 4096, Password: user + "-pass"}})
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			t.Fatalf("creating user %s: %v", user, err)
		}
	}

	grants := []render.Grant{consumerGrant(reporter), consumerGrant(ledger)}
	w.render(t, grants)
	w.apply(t)
	if got, want := consumerACLs(t, adm), render.GrantACLs(grants); !maps.Equal(got, want) {
		t.Fatalf("ACLs after apply:\n%s\nwant:\n%s", aclKeyList(got), aclKeyList(want))
	}
	if s := summary.FromPlan(w.plan(t)); s.HasChanges() {
		t.Fatalf("plan after apply changes %+v", s.Resources)
	}

	// Records to read; the admin is a superuser.
	admin, err := kgo.NewClient(sb.ClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.ProduceSync(grantCtx(t), &kgo.Record{Topic: grantTopic, Value: []byte(`{"id":1}`)}).FirstErr(); err != nil {
		t.Fatalf("producing: %v", err)
	}
	for _, user := range []string{reporter, ledger} {
		if err := consumeOnce(t, sb, user, user+"-pass", grantTopic, user+".app"); err != nil {
			t.Errorf("%s consuming with its own group: %v", user, err)
		}
	}
	if err := consumeOnce(t, sb, reporter, reporter+"-pass", grantTopic, ledger+".app"); !errors.Is(err, kerr.GroupAuthorizationFailed) {
		t.Errorf("%s consuming with %s's group: got %v, want GROUP_AUTHORIZATION_FAILED", reporter, ledger, err)
	}
	if err := consumeOnce(t, sb, reporter, reporter+"-pass", grantTopic, "connect-sales.orders.warehouse"); !errors.Is(err, kerr.GroupAuthorizationFailed) {
		t.Errorf("%s consuming with a Connect group: got %v, want GROUP_AUTHORIZATION_FAILED", reporter, err)
	}

	// Removing the reporter's grant deletes its three ACLs, and only those.
	w.render(t, grants[1:])
	checkPlanOnly(t, w.plan(t), summary.ActionDelete, grants[:1])
	w.run(t, "apply", "-input=false", "-no-color", "grants.tfplan")
	if got, want := consumerACLs(t, adm), render.GrantACLs(grants[1:]); !maps.Equal(got, want) {
		t.Fatalf("ACLs after removing a grant:\n%s\nwant:\n%s", aclKeyList(got), aclKeyList(want))
	}

	if err := consumeOnce(t, sb, reporter, reporter+"-pass", grantTopic, reporter+".app"); !isACLDenial(err) {
		t.Errorf("%s consuming after its grant was removed: got %v, want an authorization failure", reporter, err)
	}
	if err := consumeOnce(t, sb, reporter, reporter+"-pass", grantTopic, ""); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Errorf("%s reading the topic after its grant was removed: got %v, want TOPIC_AUTHORIZATION_FAILED", reporter, err)
	}
	if err := consumeOnce(t, sb, ledger, ledger+"-pass", grantTopic, ledger+".app"); err != nil {
		t.Errorf("%s consuming after another consumer's grant was removed: %v", ledger, err)
	}

	// Granting the reporter again creates its three ACLs, in a resource
	// block new to the workspace, and changes nothing else.
	w.render(t, grants)
	checkPlanOnly(t, w.plan(t), summary.ActionCreate, grants[:1])
	w.run(t, "apply", "-input=false", "-no-color", "grants.tfplan")
	if got, want := consumerACLs(t, adm), render.GrantACLs(grants); !maps.Equal(got, want) {
		t.Fatalf("ACLs after granting again:\n%s\nwant:\n%s", aclKeyList(got), aclKeyList(want))
	}
	if err := consumeOnce(t, sb, reporter, reporter+"-pass", grantTopic, reporter+".app"); err != nil {
		t.Errorf("%s consuming after its grant was given again: %v", reporter, err)
	}
}

// checkPlanOnly fails unless the plan takes action on exactly the ACLs of
// the grants, at the addresses ConsumerACLAddress gives, and on nothing else.
func checkPlanOnly(tb testing.TB, plan *tfjson.Plan, action string, grants []render.Grant) {
	tb.Helper()
	s := summary.FromPlan(plan)
	var got []string
	for _, rc := range s.Resources {
		if rc.Action != action {
			tb.Errorf("%s: %s, want only %s", rc.Address, rc.Action, action)
		}
		got = append(got, rc.Address)
	}
	slices.Sort(got)
	var want []string
	for key := range render.GrantACLs(grants) {
		want = append(want, render.ConsumerACLAddress(key))
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		tb.Fatalf("the plan changes\n%s\nwant %s of\n%s", strings.Join(got, "\n"), action, strings.Join(want, "\n"))
	}
}

func aclKeyList(m map[string]render.ACL) string {
	return strings.Join(slices.Sorted(maps.Keys(m)), "\n")
}

// benchGrants is how many grants the large workspace of BenchmarkGrantPlan
// has applied.
const benchGrants = 1000

func benchConsumer(i int) string { return fmt.Sprintf("c%04d.reader", i) }

// adoptGrants brings the grants' ACLs under the workspace's management
// quickly: it creates them in the broker in one request and applies the
// workspace with an import block for each. Applying thousands of new ACLs
// through the provider is slow (each creation waits until a listing of all
// ACLs shows it), and the result is the same state.
func adoptGrants(tb testing.TB, w *grantWorkspace, grants []render.Grant) {
	tb.Helper()
	cl, err := kgo.NewClient(w.sb.ClientOptions()...)
	if err != nil {
		tb.Fatal(err)
	}
	defer cl.Close()
	acls := render.GrantACLs(grants)
	req := kmsg.NewPtrCreateACLsRequest()
	var imports []map[string]string
	for _, key := range slices.Sorted(maps.Keys(acls)) {
		a := acls[key]
		c := kmsg.NewCreateACLsRequestCreation()
		c.Principal, c.Host, c.ResourceName = a.Principal, "*", a.ResourceName
		c.PermissionType = kmsg.ACLPermissionTypeAllow
		c.ResourceType = map[string]kmsg.ACLResourceType{"Topic": kmsg.ACLResourceTypeTopic, "Group": kmsg.ACLResourceTypeGroup}[a.ResourceType]
		c.ResourcePatternType = map[string]kmsg.ACLResourcePatternType{"Literal": kmsg.ACLResourcePatternTypeLiteral, "Prefixed": kmsg.ACLResourcePatternTypePrefixed}[a.PatternType]
		c.Operation = map[string]kmsg.ACLOperation{"Read": kmsg.ACLOperationRead, "Describe": kmsg.ACLOperationDescribe}[a.Operation]
		req.Creations = append(req.Creations, c)
		// The provider's import id: principal|host|operation|permission|type|name|pattern.
		id := strings.Join([]string{a.Principal, "*", a.Operation, "Allow", a.ResourceType, a.ResourceName, a.PatternType}, "|")
		imports = append(imports, map[string]string{"to": render.ConsumerACLAddress(key), "id": id})
	}
	resp, err := req.RequestWith(grantCtx(tb), cl)
	if err != nil {
		tb.Fatalf("creating ACLs: %v", err)
	}
	for _, r := range resp.Results {
		if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
			tb.Fatalf("creating ACLs: %v", err)
		}
	}
	b, err := json.Marshal(map[string]any{"import": imports})
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(w.dir, "grant_imports.tf.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		tb.Fatal(err)
	}
	w.apply(tb)
	if err := os.Remove(path); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkGrantPlan times terraform plan of the product's workspace after
// one new grant, once with one grant applied and once with benchGrants
// applied, each workspace against its own sandbox broker, and reports both
// and their ratio. "refresh" plans as the server does; "no-refresh"
// separates what refreshing the applied ACLs costs from what terraform
// spends on the instances themselves; "target" plans the new grant's ACLs
// only.
func BenchmarkGrantPlan(b *testing.B) {
	type workspace struct {
		w      *grantWorkspace
		grants int
	}
	var spaces []workspace
	for _, n := range []int{1, benchGrants} {
		sb := startGrantSandbox(b)
		w := newGrantWorkspace(b, sb)
		grants := make([]render.Grant, n)
		for i := range grants {
			grants[i] = consumerGrant(benchConsumer(i))
		}
		w.render(b, grants)
		start := time.Now()
		adoptGrants(b, w, grants)
		b.Logf("applied %d grants (%d ACLs) in %s", n, len(render.GrantACLs(grants)), time.Since(start).Round(time.Millisecond))
		if out, err := w.tools.Try(b, w.dir, w.env, "plan", "-input=false", "-no-color", "-detailed-exitcode"); err != nil {
			b.Fatalf("plan after applying %d grants is not empty: %v\n%s", n, err, out)
		}
		start = time.Now()
		w.render(b, append(grants, consumerGrant("new.reader")))
		b.Logf("rendered and initialized %d+1 grants in %s", n, time.Since(start).Round(time.Millisecond))
		spaces = append(spaces, workspace{w, n})
	}
	// Planning only the new grant's ACLs by their addresses is how a grant
	// could be planned without touching the others.
	var targets []string
	for key := range render.GrantACLs([]render.Grant{consumerGrant("new.reader")}) {
		targets = append(targets, "-target="+render.ConsumerACLAddress(key))
	}
	slices.Sort(targets)
	// A target matching nothing plans nothing, quickly: check that the
	// targets are the new grant's ACLs before timing them.
	for _, s := range spaces {
		checkPlanOnly(b, s.w.plan(b, targets...), summary.ActionCreate, []render.Grant{consumerGrant("new.reader")})
	}
	for _, mode := range []struct {
		name string
		args []string
	}{
		{"refresh", nil},
		{"no-refresh", []string{"-refresh=false"}},
		{"target", targets},
	} {
		b.Run(mode.name, func(b *testing.B) {
			took := make([]time.Duration, len(spaces))
			runs := 0
			for b.Loop() {
				runs++
				for i, s := range spaces {
					start := time.Now()
					s.w.run(b, append([]string{"plan", "-input=false", "-no-color", "-out=bench.tfplan"}, mode.args...)...)
					took[i] += time.Since(start)
				}
			}
			small := took[0].Seconds() / float64(runs)
			large := took[1].Seconds() / float64(runs)
			b.ReportMetric(small, fmt.Sprintf("s/plan-%d", spaces[0].grants))
			b.ReportMetric(large, fmt.Sprintf("s/plan-%d", spaces[1].grants))
			b.ReportMetric(large/small, "ratio")
		})
	}
}
