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

// stricterMasking returns the published masking module with one more rule,
// first in line: PII tagged "contact" is masked with 4 characters instead of
// hashed, plus a test for it, so the draft's tests pass.
func stricterMasking(t *testing.T, files map[string]string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for k, v := range files {
		out[k] = v
	}
	const head = `topic(port, field) := {"action": "drop"`
	src := out["masking.rego"]
	if !strings.Contains(src, head) {
		t.Fatalf("masking.rego no longer starts its decision chain with %q:\n%s", head, src)
	}
	out["masking.rego"] = strings.Replace(src, head, `topic(port, field) := {"action": "mask", "params": {"chars": 4}, "reason": "contact data is masked"} if {
	field.classification == "pii"
	"contact" in field.tags
} else := {"action": "drop"`, 1)
	out["masking_contact_test.rego"] = `package meshplane.masking_contact_test

import data.meshplane.masking

test_contact_pii_is_masked if {
	product := {"domain": "d", "name": "p", "labels": {}, "sinks": [], "ports": [{"name": "people", "fields": [
		{"name": "email", "type": "string", "classification": "pii", "tags": ["contact"]},
	]}]}
	some d in masking.decisions with input as {"product": product}
	d.field == "email"
	d.action == "mask"
	d.params.chars == 4
}
`
	return out
}

// TestPolicyPublishReachesConnectors is the governance promise end to end:
// a stricter masking policy is drafted and tested, its impact names exactly
// the products it changes, publishing queues plans for the provisioned ones
// (nothing is applied without review), and once the owner approves, the
// source connector in Kafka Connect masks the field. Rollback does the same
// the other way.
func TestPolicyPublishReachesConnectors(t *testing.T) {
	apptest.RequireTools(t)
	env := apptest.New(t)
	ctx := context.Background()
	env.Domain("sales")
	ownerTok := env.User("olga", "domain-owner", "sales")
	govTok := env.User("greta", "governance-officer", "*")
	owner := env.Clients(apptest.ProtocolConnect, ownerTok)
	gov := env.Clients(apptest.ProtocolConnect, govTok)

	// Three products: provisioned with a contact PII field; registered only;
	// and one whose PII carries no contact tag.
	for _, name := range []string{"orders", "leads", "billing"} {
		s := apptest.ProductSpec()
		if name == "billing" {
			s.Ports[1].Fields[1].Tags = nil
		}
		if _, err := owner.Catalog.CreateDataProduct(ctx, connect.NewRequest(&v1.CreateDataProductRequest{Domain: "sales", Name: name, Spec: s})); err != nil {
			t.Fatalf("creating %s: %v", name, err)
		}
	}
	approve(t, owner, plan(t, owner, "sales", "orders"), false)
	src := connectorConfigs(t, env)["sales.orders.source"]
	var hashKey string
	for k, v := range src {
		if strings.HasPrefix(k, "column.mask.hash.v2.SHA-256.with.salt.") && v == `public\.customers\.email` {
			hashKey = k
		}
	}
	if hashKey == "" {
		t.Fatalf("the default policy should hash customers.email at the source; source config = %v", src)
	}
	// Only declared columns are captured, and the record key is the declared
	// key, not a primary key Debezium would write unmasked.
	if src["message.key.columns"] != `public\.customers:customer_id` ||
		!strings.Contains(src["column.include.list"], `public\.customers\.email`) || !strings.Contains(src["column.include.list"], `public\.orders\.total`) {
		t.Errorf("source key and columns: message.key.columns=%q column.include.list=%q", src["message.key.columns"], src["column.include.list"])
	}

	// The officer drafts a stricter policy; drafts change nothing.
	mod, err := gov.Policy.GetPolicyModule(ctx, connect.NewRequest(&v1.GetPolicyModuleRequest{Name: "masking"}))
	if err != nil {
		t.Fatal(err)
	}
	draft := stricterMasking(t, mod.Msg.GetModule().GetFiles())
	saved, err := gov.Policy.SavePolicyDraft(ctx, connect.NewRequest(&v1.SavePolicyDraftRequest{Name: "masking", Files: draft, Version: mod.Msg.GetModule().GetVersion()}))
	if err != nil {
		t.Fatalf("saving the draft: %v", err)
	}
	if !saved.Msg.GetModule().GetDraftChanged() || saved.Msg.GetModule().GetPublishedVersion() != 1 {
		t.Errorf("saved module = %+v", saved.Msg.GetModule())
	}
	ev, err := owner.Policy.EvaluateDataProduct(ctx, connect.NewRequest(&v1.EvaluateDataProductRequest{Domain: "sales", Name: "orders"}))
	if err != nil {
		t.Fatal(err)
	}
	if a := decisionFor(ev.Msg.GetMasking(), "customers", "email", ""); a.GetAction() != "hash" {
		t.Errorf("a saved draft changed evaluation: email is %v", a)
	}

	tests, err := gov.Policy.TestPolicyDraft(ctx, connect.NewRequest(&v1.TestPolicyDraftRequest{Name: "masking"}))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range tests.Msg.GetResults() {
		found = found || (r.GetName() == "test_contact_pii_is_masked" && r.GetPassed())
	}
	if !tests.Msg.GetPassed() || !found {
		t.Fatalf("draft tests: %+v", tests.Msg.GetResults())
	}

	// Impact: orders and leads change (only orders is provisioned); billing does not.
	imp, err := gov.Policy.GetPolicyImpact(ctx, connect.NewRequest(&v1.GetPolicyImpactRequest{Name: "masking"}))
	if err != nil {
		t.Fatal(err)
	}
	im := imp.Msg.GetImpact()
	if im.GetProductsEvaluated() != 3 || len(im.GetAdmissionChanges()) != 0 {
		t.Errorf("impact evaluated %d products, admission changes %+v", im.GetProductsEvaluated(), im.GetAdmissionChanges())
	}
	changed := map[string]bool{}
	for _, m := range im.GetMaskingChanges() {
		changed[m.GetProduct()] = true
		if m.GetBefore().GetAction() != "hash" || m.GetAfter().GetAction() != "mask" || m.GetAfter().GetChars() != 4 || m.GetAfter().GetField() != "email" {
			t.Errorf("masking change = %+v", m)
		}
	}
	if !changed["orders"] || !changed["leads"] || changed["billing"] {
		t.Errorf("masking changes name %v, want orders and leads", changed)
	}
	provisioned := map[string]bool{}
	for _, c := range im.GetConnectorChanges() {
		if c.GetConnector() != "sales."+c.GetProduct()+".source" {
			t.Errorf("connector change = %+v", c)
		}
		provisioned[c.GetProduct()] = c.GetProvisioned()
		if !containsString(c.GetKeys(), "column.mask.with.4.chars") {
			t.Errorf("connector change keys = %v", c.GetKeys())
		}
	}
	if len(provisioned) != 2 || !provisioned["orders"] || provisioned["leads"] {
		t.Errorf("connector changes provisioned = %v", provisioned)
	}

	// GraphQL gives the same impact.
	gql := env.GraphQL(govTok, `{ policyImpact(module: "masking") { productsEvaluated
		maskingChanges { product before { action } after { field action chars } }
		connectorChanges { product connector provisioned keys } } }`, nil)
	if len(gql.Errors) > 0 {
		t.Fatalf("graphql impact: %+v", gql.Errors)
	}
	var gi struct {
		PolicyImpact struct {
			ProductsEvaluated int
			MaskingChanges    []struct {
				Product string
				Before  struct{ Action string }
				After   struct {
					Field, Action string
					Chars         int
				}
			}
			ConnectorChanges []struct {
				Product, Connector string
				Provisioned        bool
				Keys               []string
			}
		}
	}
	if err := json.Unmarshal(gql.Data, &gi); err != nil {
		t.Fatal(err)
	}
	if gi.PolicyImpact.ProductsEvaluated != 3 || len(gi.PolicyImpact.MaskingChanges) != len(im.GetMaskingChanges()) ||
		len(gi.PolicyImpact.ConnectorChanges) != len(im.GetConnectorChanges()) {
		t.Errorf("graphql impact differs from Connect's: %+v", gi.PolicyImpact)
	}
	for i, c := range gi.PolicyImpact.ConnectorChanges {
		want := im.GetConnectorChanges()[i]
		if c.Product != want.GetProduct() || c.Connector != want.GetConnector() || c.Provisioned != want.GetProvisioned() || !slices.Equal(c.Keys, want.GetKeys()) {
			t.Errorf("graphql connector change %d = %+v, Connect says %+v", i, c, want)
		}
	}

	// A plan of another product waits for review under the current policy.
	stale := plan(t, owner, "sales", "leads")
	if stale.GetPolicyVersion() != "access@1,admission@1,masking@1,provision@1" {
		t.Errorf("plan made under policy %q", stale.GetPolicyVersion())
	}

	// Publish: a new version, and one plan queued for the provisioned product.
	pub, err := gov.Policy.PublishPolicy(ctx, connect.NewRequest(&v1.PublishPolicyRequest{Name: "masking", Message: "mask contact data", Version: saved.Msg.GetModule().GetVersion()}))
	if err != nil {
		t.Fatalf("publishing: %v", err)
	}
	if pub.Msg.GetVersion().GetNumber() != 2 || len(pub.Msg.GetPlans()) != 1 || pub.Msg.GetPlans()[0].GetProduct() != "orders" || pub.Msg.GetPlans()[0].GetRunId() == "" {
		t.Fatalf("publish = %+v", pub.Msg)
	}
	run := waitRun(t, owner, pub.Msg.GetPlans()[0].GetRunId())
	if run.GetState() != v1.RunState_RUN_STATE_PLANNED || run.GetCreatedBy() != "meshplane" || run.GetTrigger() != "policy" || !strings.Contains(run.GetTriggerDetail(), "masking@2") {
		t.Fatalf("queued plan = %v by %q: %s", run.GetState(), run.GetCreatedBy(), run.GetError())
	}
	if a := actions(run); a["module.source.kafka-connect_connector.this"] != "update" || len(a) != 1 {
		t.Errorf("the plan should update the source connector in place only: %v", a)
	}
	// The plan made under the old policy can no longer be approved.
	if _, err := owner.Provision.ApproveRun(ctx, connect.NewRequest(&v1.ApproveRunRequest{Id: stale.GetId()})); reasonOf(err) != "STALE_POLICY" {
		t.Errorf("approving a plan made under the old policy: %v, want STALE_POLICY", err)
	}
	if run.GetPolicyVersion() != "access@1,admission@1,masking@2,provision@1" {
		t.Errorf("the queued plan was made under policy %q", run.GetPolicyVersion())
	}
	// Nothing is applied before the owner approves.
	if cfg := connectorConfigs(t, env)["sales.orders.source"]; cfg[hashKey] == "" {
		t.Errorf("the connector changed before review: %v", cfg)
	}
	approve(t, owner, run, false)
	src = connectorConfigs(t, env)["sales.orders.source"]
	if src["column.mask.with.4.chars"] != `public\.customers\.email` || src[hashKey] != "" {
		t.Errorf("after approval the source should mask email with 4 chars and no longer hash it: %v", src)
	}

	// The decision log names the version that decided.
	dl, err := owner.Policy.ListPolicyDecisions(ctx, connect.NewRequest(&v1.ListPolicyDecisionsRequest{Domain: "sales", Product: "orders"}))
	if err != nil {
		t.Fatal(err)
	}
	if ds := dl.Msg.GetDecisions(); len(ds) == 0 || !strings.Contains(ds[0].GetPolicyVersion(), "masking@2") || ds[0].GetInputDigest() == "" {
		t.Errorf("newest decision = %+v", ds)
	}

	// The product's GraphQL view shows its evaluation and its decision log.
	pv := env.GraphQL(ownerTok, `{ dataProduct(domain: "sales", name: "orders") {
		evaluation { allowed policyVersion masking { port field sink action chars } }
		policyDecisions(first: 2) { nodes { kind policyVersion allowed } } } }`, nil)
	if len(pv.Errors) > 0 {
		t.Fatalf("graphql product evaluation: %+v", pv.Errors)
	}
	var view struct {
		DataProduct struct {
			Evaluation struct {
				Allowed       bool
				PolicyVersion string
				Masking       []struct {
					Port, Field, Action string
					Sink                *string
					Chars               int
				}
			}
			PolicyDecisions struct {
				Nodes []struct {
					Kind, PolicyVersion string
					Allowed             bool
				}
			}
		}
	}
	if err := json.Unmarshal(pv.Data, &view); err != nil {
		t.Fatal(err)
	}
	ev2 := view.DataProduct.Evaluation
	masked := false
	for _, m := range ev2.Masking {
		masked = masked || (m.Field == "email" && m.Sink == nil && m.Action == "mask" && m.Chars == 4)
	}
	if !ev2.Allowed || !strings.Contains(ev2.PolicyVersion, "masking@2") || !masked {
		t.Errorf("graphql evaluation = %+v", ev2)
	}
	if nodes := view.DataProduct.PolicyDecisions.Nodes; len(nodes) != 2 || !strings.Contains(nodes[0].PolicyVersion, "masking@2") {
		t.Errorf("graphql decisions = %+v", nodes)
	}

	// Rollback publishes version 1 again as version 3, and plans again.
	rb, err := gov.Policy.RollbackPolicy(ctx, connect.NewRequest(&v1.RollbackPolicyRequest{Name: "masking", ToVersion: 1, Message: "back to hashing"}))
	if err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if rb.Msg.GetVersion().GetNumber() != 3 || rb.Msg.GetVersion().GetRestoredFrom() != 1 || len(rb.Msg.GetPlans()) != 1 {
		t.Fatalf("rollback = %+v", rb.Msg)
	}
	approve(t, owner, waitRun(t, owner, rb.Msg.GetPlans()[0].GetRunId()), false)
	if src := connectorConfigs(t, env)["sales.orders.source"]; src[hashKey] != `public\.customers\.email` || src["column.mask.with.4.chars"] != "" {
		t.Errorf("after rollback the source should hash email again: %v", src)
	}

	// Every step is in the audit log.
	events, err := gov.Audit.ListAuditEvents(ctx, connect.NewRequest(&v1.ListAuditEventsRequest{PageSize: 500}))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range events.Msg.GetEvents() {
		seen[e.GetAction()] = true
	}
	for _, a := range []string{"policy.SaveDraft", "policy.Publish", "policy.Rollback"} {
		if !seen[a] {
			t.Errorf("audit log has no %s event", a)
		}
	}
}

func decisionFor(ds []*v1.MaskingDecision, port, field, sink string) *v1.MaskingDecision {
	for _, d := range ds {
		if d.GetPort() == port && d.GetField() == field && d.GetSink() == sink {
			return d
		}
	}
	return nil
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
