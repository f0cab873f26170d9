package app_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/twmb/franz-go/pkg/kadm"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
	"github.com/meshplane/meshplane/server/app/apptest"
)

// TestDecommissionLeavesNothingBehind decommissions a product whose topic
// exists in Kafka although Terraform's state never recorded it, as an apply
// killed mid-way leaves it: the destroy cannot see the topic, so the run
// fails naming it and the product stays; once the topic is gone, the next
// decommission retires the product.
func TestDecommissionLeavesNothingBehind(t *testing.T) {
	apptest.RequireTools(t)
	env := apptest.New(t)
	ctx := context.Background()
	env.Domain("sales")
	owner := env.Clients(apptest.ProtocolConnect, env.User("olivia", "domain-owner", "sales"))
	if _, err := owner.Catalog.CreateDataProduct(ctx, connect.NewRequest(&v1.CreateDataProductRequest{Domain: "sales", Name: "orders", Spec: apptest.ProductSpec()})); err != nil {
		t.Fatal(err)
	}
	const topic = "sales.orders.orders.v1"
	adm := kadm.NewClient(mustKgo(t, env))
	if res, err := adm.CreateTopic(ctx, 1, 1, nil, topic); err != nil || res.Err != nil {
		t.Fatalf("creating %s behind meshplane's back: %v %v", topic, err, res.Err)
	}

	decommission := func() *v1.Run {
		t.Helper()
		res, err := owner.Provision.Decommission(ctx, connect.NewRequest(&v1.DecommissionRequest{Domain: "sales", Product: "orders"}))
		if err != nil {
			t.Fatal(err)
		}
		r := waitRun(t, owner, res.Msg.GetRun().GetId())
		if r.GetState() != v1.RunState_RUN_STATE_PLANNED || r.GetKind() != v1.RunKind_RUN_KIND_DESTROY {
			t.Fatalf("decommission plan: %v %s", r.GetState(), r.GetError())
		}
		if _, err := owner.Provision.ApproveRun(ctx, connect.NewRequest(&v1.ApproveRunRequest{Id: r.GetId(), ConfirmDestructive: true})); err != nil {
			t.Fatal(err)
		}
		return waitRun(t, owner, r.GetId())
	}
	product := func() *v1.DataProduct {
		t.Helper()
		res, err := owner.Catalog.GetDataProduct(ctx, connect.NewRequest(&v1.GetDataProductRequest{Domain: "sales", Name: "orders"}))
		if err != nil {
			t.Fatal(err)
		}
		return res.Msg.GetDataProduct()
	}

	// The destroy plan knows nothing of the topic; applied, it leaves it.
	r := decommission()
	if r.GetState() != v1.RunState_RUN_STATE_FAILED || !strings.Contains(r.GetError(), topic) || !strings.Contains(r.GetError(), "decommission again") {
		t.Fatalf("decommission with a leftover topic: %v %q", r.GetState(), r.GetError())
	}
	full, err := owner.Provision.GetRun(ctx, connect.NewRequest(&v1.GetRunRequest{Id: r.GetId()}))
	if err != nil || !strings.Contains(full.Msg.GetRun().GetLog(), "the destroy left topic "+topic) {
		t.Errorf("the run log does not name the leftover: %v\n%s", err, full.Msg.GetRun().GetLog())
	}
	p := product()
	if p.GetLifecycle() == v1.Lifecycle_LIFECYCLE_RETIRED || p.GetProvisionedVersion() != 0 {
		t.Fatalf("after an incomplete decommission the product is %v, provisioned version %d", p.GetLifecycle(), p.GetProvisionedVersion())
	}
	if evs := auditEvents(t, env, &v1.ListAuditEventsRequest{Resource: "sales/orders"}); !containsAction(evs, "provision.DecommissionIncomplete") || containsAction(evs, "provision.Decommissioned") {
		t.Errorf("audit of the incomplete decommission: %v", evs)
	}
	if topics, err := adm.ListTopics(ctx, topic); err != nil || !topics.Has(topic) {
		t.Fatalf("meshplane touched the topic it did not create: %v %v", topics, err)
	}

	// An operator removes it; the next decommission finds nothing left.
	if res, err := adm.DeleteTopic(ctx, topic); err != nil || res.Err != nil {
		t.Fatalf("deleting %s: %v %v", topic, err, res.Err)
	}
	if r = decommission(); r.GetState() != v1.RunState_RUN_STATE_APPLIED || r.GetError() != "" {
		t.Fatalf("decommission with nothing left: %v %q", r.GetState(), r.GetError())
	}
	if p := product(); p.GetLifecycle() != v1.Lifecycle_LIFECYCLE_RETIRED {
		t.Fatalf("after decommission the product is %v", p.GetLifecycle())
	}
}

func containsAction(evs []*v1.AuditEvent, action string) bool {
	for _, e := range evs {
		if e.GetAction() == action {
			return true
		}
	}
	return false
}

// TestOrphanTopicIsAdopted plans a product one of whose topics already
// exists, as an apply killed between creating it and recording it leaves
// it: the plan imports the topic instead of failing on "already exists",
// the apply succeeds and the next plan has nothing to do.
func TestOrphanTopicIsAdopted(t *testing.T) {
	apptest.RequireTools(t)
	env := apptest.New(t)
	ctx := context.Background()
	env.Domain("sales")
	owner := env.Clients(apptest.ProtocolConnect, env.User("olivia", "domain-owner", "sales"))
	if _, err := owner.Catalog.CreateDataProduct(ctx, connect.NewRequest(&v1.CreateDataProductRequest{Domain: "sales", Name: "orders", Spec: apptest.ProductSpec()})); err != nil {
		t.Fatal(err)
	}
	const topic = "sales.orders.orders.v1"
	adm := kadm.NewClient(mustKgo(t, env))
	if res, err := adm.CreateTopic(ctx, 6, 1, nil, topic); err != nil || res.Err != nil {
		t.Fatalf("creating %s behind meshplane's back: %v %v", topic, err, res.Err)
	}
	r := plan(t, owner, "sales", "orders")
	var adopted []string
	for _, rc := range r.GetSummary().GetResources() {
		if rc.GetAction() == "import" {
			adopted = append(adopted, rc.GetAddress())
		}
	}
	if len(adopted) == 0 && !slices.ContainsFunc(r.GetSummary().GetResources(), func(rc *v1.ResourceChange) bool {
		return rc.GetAddress() == "module.topic__orders.kafka_topic.this" && rc.GetAction() == "update"
	}) {
		t.Fatalf("the existing topic is neither imported nor updated in place: %+v", r.GetSummary().GetResources())
	}
	if slices.ContainsFunc(r.GetSummary().GetResources(), func(rc *v1.ResourceChange) bool {
		return rc.GetAddress() == "module.topic__orders.kafka_topic.this" && rc.GetAction() == "create"
	}) {
		t.Fatal("the plan creates a topic that exists")
	}
	// Adopted, the topic is brought to the product's settings: lowering the
	// retention of what someone created by hand is destructive, and says so.
	if !r.GetDestructive() {
		t.Fatalf("adopting a topic with unlimited retention must be marked destructive: %+v", r.GetSummary())
	}
	if applied := approve(t, owner, r, true); applied.GetState() != v1.RunState_RUN_STATE_APPLIED {
		t.Fatalf("apply with an adopted topic: %v %s", applied.GetState(), applied.GetError())
	}
	if again := plan(t, owner, "sales", "orders"); again.GetHasChanges() {
		t.Fatalf("after adopting, a plan still changes: %+v", again.GetSummary().GetResources())
	}
}
