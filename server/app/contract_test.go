package app_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/twmb/franz-go/pkg/kadm"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
)

// TestBreakingChangeNeedsANewMajor: on an active product, a change that
// breaks a port's consumers is refused, naming each break; published as
// the port's next major it is accepted, the plan adds the v2 topic while
// v1 stays with its grant, the consumers of v1 are named in the event
// trail, and v1 is retired only once nobody is granted it.
func TestBreakingChangeNeedsANewMajor(t *testing.T) {
	f := newAccessFixture(t)
	env, ctx := f.env, context.Background()
	const v1Topic, v2Topic = "sales.orders.customers.v1", "sales.orders.customers.v2"
	req := f.request(t, f.mkt, &v1.RequestAccessRequest{Consumer: "reporter", Purpose: "churn", DurationSeconds: 3600,
		Ports: []*v1.PortRef{{Domain: "sales", Product: "orders", Port: "customers"}}})
	if _, err := f.owner.Access.ApproveAccessRequest(ctx, connect.NewRequest(&v1.ApproveAccessRequestRequest{Id: req.GetId(), Reason: "ok"})); err != nil {
		t.Fatal(err)
	}
	if _, err := f.officer.Access.ApproveAccessRequest(ctx, connect.NewRequest(&v1.ApproveAccessRequestRequest{Id: req.GetId(), Reason: "ok"})); err != nil {
		t.Fatal(err)
	}
	granted := f.waitGrants(t, req.GetId(), v1.GrantState_GRANT_STATE_ACTIVE).GetGrants()[0]

	get := func() *v1.DataProduct {
		t.Helper()
		res, err := f.owner.Catalog.GetDataProduct(ctx, connect.NewRequest(&v1.GetDataProductRequest{Domain: "sales", Name: "orders"}))
		if err != nil {
			t.Fatal(err)
		}
		return res.Msg.GetDataProduct()
	}
	p := get()
	sp := specOf(p)
	customers := sp.Ports[1]
	if customers.GetName() != "customers" {
		t.Fatalf("port 1 is %s", customers.GetName())
	}
	// Breaking: the email field becomes a number, and a required field is added.
	customers.Fields[1].Type = v1.FieldType_FIELD_TYPE_INT64
	customers.Fields = append(customers.Fields, &v1.Field{Name: "tier", Type: v1.FieldType_FIELD_TYPE_STRING, Classification: v1.Classification_CLASSIFICATION_NONE})
	_, err := f.owner.Catalog.UpdateDataProduct(ctx, connect.NewRequest(&v1.UpdateDataProductRequest{Domain: "sales", Name: "orders", Spec: sp, Version: p.GetVersion()}))
	fields := wantError(t, "a breaking change at the same major", err, connect.CodeFailedPrecondition, "BREAKING_CHANGE")
	if !strings.Contains(fields["spec.ports[1].fields[1].type"], "from string to int64") || !strings.Contains(fields["spec.ports[1].fields[2].nullable"], "added as required") || len(fields) != 2 {
		t.Fatalf("breaks: %v", fields)
	}
	if get().GetVersion() != p.GetVersion() {
		t.Fatal("a refused change was written")
	}
	// A major that jumps is refused too.
	customers.MajorVersion = 3
	_, err = f.owner.Catalog.UpdateDataProduct(ctx, connect.NewRequest(&v1.UpdateDataProductRequest{Domain: "sales", Name: "orders", Spec: sp, Version: p.GetVersion()}))
	if fields := wantError(t, "a major that jumps", err, connect.CodeInvalidArgument, ""); fields["spec.ports[1].majorVersion"] == "" {
		t.Fatalf("violations: %v", fields)
	}
	// As the next major it is accepted; v1 is retained.
	customers.MajorVersion = 2
	res, err := f.owner.Catalog.UpdateDataProduct(ctx, connect.NewRequest(&v1.UpdateDataProductRequest{Domain: "sales", Name: "orders", Spec: sp, Version: p.GetVersion()}))
	if err != nil {
		t.Fatal(err)
	}
	port := res.Msg.GetDataProduct().GetPorts()[1]
	if port.GetTopic() != v2Topic || len(port.GetRetained()) != 1 || port.GetRetained()[0].GetTopic() != v1Topic || port.GetRetained()[0].GetMajor() != 1 {
		t.Fatalf("after the new major: %v", port)
	}
	// GraphQL shows the same.
	gql := env.GraphQL(env.AdminToken, `{ dataProduct(domain: "sales", name: "orders") { ports { name topic retained { major topic partitions } } } }`, nil)
	if len(gql.Errors) > 0 || !strings.Contains(string(gql.Data), `"name":"customers","topic":"sales.orders.customers.v2","retained":[{"major":1,"topic":"sales.orders.customers.v1","partitions":3}]`) {
		t.Fatalf("graphql: %s %+v", gql.Data, gql.Errors)
	}
	// Each major's schema is served, masking applied: v2 has the new field,
	// and its email, now a number the policy cannot hash, is dropped; in v1
	// the email arrives hashed, as a string.
	for major, want := range map[int32]bool{0: true, 2: true, 1: false} {
		res, err := f.owner.Catalog.GetPortSchema(ctx, connect.NewRequest(&v1.GetPortSchemaRequest{Domain: "sales", Name: "orders", Port: "customers", Major: major}))
		if err != nil {
			t.Fatalf("schema of major %d: %v", major, err)
		}
		text := res.Msg.GetSchema()
		if strings.Contains(text, `"tier"`) != want || strings.Contains(text, `"email"`) == want || strings.Contains(text, "hash by the masking policy") == want ||
			res.Msg.GetContentType() != "application/schema+json" || res.Msg.GetPolicyVersion() == "" {
			t.Errorf("schema of major %d (%s): %s", major, res.Msg.GetTopic(), text)
		}
	}
	avro, err := f.owner.Catalog.GetPortSchema(ctx, connect.NewRequest(&v1.GetPortSchemaRequest{Domain: "sales", Name: "orders", Port: "customers", Format: v1.SchemaFormat_SCHEMA_FORMAT_AVRO}))
	if err != nil || !strings.Contains(avro.Msg.GetSchema(), `"name": "CustomersV2"`) || !strings.Contains(avro.Msg.GetSchema(), `"namespace": "sales.orders"`) {
		t.Fatalf("avro: %v %v", avro, err)
	}
	_, err = f.owner.Catalog.GetPortSchema(ctx, connect.NewRequest(&v1.GetPortSchemaRequest{Domain: "sales", Name: "orders", Port: "customers", Major: 7}))
	wantError(t, "a major the port never had", err, connect.CodeNotFound, "")
	gql = env.GraphQL(f.ownerTok, `{ portSchema(domain: "sales", name: "orders", port: "customers", major: 1, format: AVRO) { major topic format schema } }`, nil)
	if len(gql.Errors) > 0 || !strings.Contains(string(gql.Data), `"major":1,"topic":"sales.orders.customers.v1","format":"AVRO"`) {
		t.Fatalf("graphql portSchema: %s %+v", gql.Data, gql.Errors)
	}
	// The event trail names the consumers of v1.
	al, err := f.admin.Audit.ListAuditEvents(ctx, connect.NewRequest(&v1.ListAuditEventsRequest{Domain: "sales", Resource: "sales/orders/customers"}))
	if err != nil || len(al.Msg.GetEvents()) != 1 || al.Msg.GetEvents()[0].GetAction() != "catalog.PublishPortMajor" {
		t.Fatalf("the new major's audit: %v %v", al, err)
	}
	var published struct {
		PreviousTopic string
		Consumers     []string
	}
	if err := json.Unmarshal([]byte(al.Msg.GetEvents()[0].GetAfter()), &published); err != nil || published.PreviousTopic != v1Topic ||
		!slices.Equal(published.Consumers, []string{"marketing.reporter"}) {
		t.Fatalf("published: %+v %v", published, err)
	}

	// The plan adds v2 and deletes nothing; applied, both topics exist.
	r := plan(t, f.owner, "sales", "orders")
	acts := actions(r)
	if r.GetDestructive() || acts["module.topic__customers__v2.kafka_topic.this"] != "create" || acts["module.topic__customers.kafka_topic.this"] != "" {
		t.Fatalf("plan of the new major: destructive %v, %v", r.GetDestructive(), acts)
	}
	approve(t, f.owner, r, false)
	topics, err := kadm.NewClient(mustKgo(t, env)).ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !topics.Has(v1Topic) || !topics.Has(v2Topic) {
		t.Fatalf("topics after apply: %v", topics.Names())
	}

	// v1 is retired only once nobody is granted it; then the plan deletes it.
	_, err = f.owner.Catalog.RetirePortMajor(ctx, connect.NewRequest(&v1.RetirePortMajorRequest{Domain: "sales", Name: "orders", Port: "customers", Major: 1, Version: get().GetVersion()}))
	if wantError(t, "retiring a granted major", err, connect.CodeFailedPrecondition, "MAJOR_IN_USE"); !strings.Contains(err.Error(), "marketing.reporter") {
		t.Fatalf("the refusal names no consumer: %v", err)
	}
	if _, err := f.owner.Access.RevokeGrant(ctx, connect.NewRequest(&v1.RevokeGrantRequest{Id: granted.GetId(), Reason: "moved to v2"})); err != nil {
		t.Fatal(err)
	}
	f.waitGrants(t, req.GetId(), v1.GrantState_GRANT_STATE_REVOKED)
	retired, err := f.owner.Catalog.RetirePortMajor(ctx, connect.NewRequest(&v1.RetirePortMajorRequest{Domain: "sales", Name: "orders", Port: "customers", Major: 1, Version: get().GetVersion()}))
	if err != nil || len(retired.Msg.GetDataProduct().GetPorts()[1].GetRetained()) != 0 {
		t.Fatalf("retiring v1: %v %v", retired, err)
	}
	r = plan(t, f.owner, "sales", "orders")
	if acts := actions(r); !r.GetDestructive() || acts["module.topic__customers.kafka_topic.this"] != "delete" || acts["module.topic__customers__v2.kafka_topic.this"] != "" {
		t.Fatalf("plan of the retirement: destructive %v, %v", r.GetDestructive(), acts)
	}
	approve(t, f.owner, r, true)
	topics, err = kadm.NewClient(mustKgo(t, env)).ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if topics.Has(v1Topic) || !topics.Has(v2Topic) {
		t.Fatalf("topics after retiring v1: %v", topics.Names())
	}
}
