package app_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"connectrpc.com/connect"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
	"github.com/meshplane/meshplane/server/app/apptest"
)

// connectorsByRole lists a product's connectors over Connect, by role.
func connectorsByRole(t *testing.T, c apptest.Clients, domain, product string) map[string]*v1.Connector {
	t.Helper()
	res, err := c.Provision.ListConnectors(context.Background(), connect.NewRequest(&v1.ListConnectorsRequest{Domain: domain, Product: product}))
	if err != nil {
		t.Fatalf("ListConnectors: %v", err)
	}
	out := map[string]*v1.Connector{}
	for _, c := range res.Msg.GetConnectors() {
		out[c.GetRole()] = c
	}
	return out
}

const graphQLConnectors = `query($d: String!, $p: String!) { dataProduct(domain: $d, name: $p) { connectors { name role state trace lastRunId tasks { id state } } } }`

type gqlConnector struct {
	Name, Role, State, Trace string
	LastRunID                *string
	Tasks                    []struct {
		ID    int
		State string
	}
}

// TestConnectorOperations: a product's connectors are listed with the
// state Kafka Connect reports and the applied run that last changed them,
// and are paused, resumed and restarted through both doors, each
// operation authorized, audited and checked against the product.
func TestConnectorOperations(t *testing.T) {
	apptest.RequireTools(t)
	env := apptest.New(t)
	ctx := context.Background()
	env.Domain("sales")
	ownerTok := env.User("olivia", "domain-owner", "sales")
	memberTok := env.User("mark", "domain-member", "sales")
	viewerTok := env.User("vera", "viewer", "sales")
	owner := env.Clients(apptest.ProtocolConnect, ownerTok)
	member := env.Clients(apptest.ProtocolGRPC, memberTok)
	viewer := env.Clients(apptest.ProtocolConnect, viewerTok)
	if _, err := owner.Catalog.CreateDataProduct(ctx, connect.NewRequest(&v1.CreateDataProductRequest{Domain: "sales", Name: "orders", Spec: apptest.ProductSpec()})); err != nil {
		t.Fatal(err)
	}

	// Before any apply the product's connectors are named but not deployed,
	// and operating one says so without touching anything.
	before := connectorsByRole(t, viewer, "sales", "orders")
	if len(before) != 3 || before["source"].GetName() != "sales.orders.source" || before["warehouse"].GetName() != "sales.orders.warehouse" || before["lake"] == nil {
		t.Fatalf("connectors before apply = %v", before)
	}
	for role, c := range before {
		if c.GetState() != v1.ConnectorState_CONNECTOR_STATE_NOT_DEPLOYED || c.GetLastRunId() != "" {
			t.Errorf("%s before apply = %v, want NOT_DEPLOYED without a run", role, c)
		}
	}
	_, err := owner.Provision.PauseConnector(ctx, connect.NewRequest(&v1.PauseConnectorRequest{Domain: "sales", Product: "orders", Role: "lake"}))
	if connect.CodeOf(err) != connect.CodeFailedPrecondition || reasonOf(err) != "CONNECTOR_NOT_DEPLOYED" {
		t.Fatalf("pausing an undeployed connector: %v (reason %q)", err, reasonOf(err))
	}

	applied := approve(t, owner, plan(t, owner, "sales", "orders"), false)
	after := connectorsByRole(t, viewer, "sales", "orders")
	for role, c := range after {
		if c.GetState() == v1.ConnectorState_CONNECTOR_STATE_NOT_DEPLOYED || c.GetLastRunId() != applied.GetId() {
			t.Errorf("%s after apply = %v, want deployed and changed by run %s", role, c, applied.GetId())
		}
	}
	// The source's task fails, as Kafka Connect reports it, saying why; the
	// emulated sinks say they move no data.
	if src := after["source"]; len(src.GetTasks()) != 1 || src.GetTasks()[0].GetState() != v1.ConnectorState_CONNECTOR_STATE_FAILED ||
		!strings.Contains(src.GetTasks()[0].GetTrace(), "SALES__ORDERS_DB_PASSWORD is not set") {
		t.Errorf("source after apply = %v, want its task failed for the missing password variable", src)
	}
	if wh := after["warehouse"]; wh.GetState() != v1.ConnectorState_CONNECTOR_STATE_RUNNING || !strings.Contains(wh.GetTrace(), "moves no data") {
		t.Errorf("warehouse after apply = %v", wh)
	}

	// Bad requests name the field and change nothing.
	for _, bad := range []struct {
		req   *v1.RestartConnectorRequest
		field string
	}{
		{&v1.RestartConnectorRequest{Domain: "sales", Product: "orders", Role: "nope"}, "role"},
		{&v1.RestartConnectorRequest{Domain: "sales", Product: "orders", Role: ""}, "role"},
		{&v1.RestartConnectorRequest{Domain: "sales", Product: "orders", Role: "lake", Task: proto32(7)}, "task"},
		{&v1.RestartConnectorRequest{Domain: "sales", Product: "orders", Role: "lake", Task: proto32(-1)}, "task"},
		{&v1.RestartConnectorRequest{Domain: "sales", Product: "../orders", Role: "lake"}, "product"},
	} {
		_, err := owner.Provision.RestartConnector(ctx, connect.NewRequest(bad.req))
		if o := connectOutcome(err); o.Code != "INVALID_ARGUMENT" || len(o.Fields) == 0 || o.Fields[0] != bad.field {
			t.Errorf("restart %v: %+v, want a violation of %s", bad.req, o, bad.field)
		}
	}

	// Members and viewers read, but do not operate.
	if _, err := member.Provision.PauseConnector(ctx, connect.NewRequest(&v1.PauseConnectorRequest{Domain: "sales", Product: "orders", Role: "lake"})); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("member pauses: %v", err)
	}
	if r := env.GraphQL(viewerTok, `mutation { resumeConnector(input: {domain: "sales", product: "orders", role: "lake"}) { connector { state } } }`, nil); len(r.Errors) != 1 || r.Errors[0].Extensions.Code != "PERMISSION_DENIED" {
		t.Fatalf("viewer resumes over GraphQL: %+v", r.Errors)
	}

	// Pause over Connect; GraphQL reads the same state from Kafka Connect.
	res, err := owner.Provision.PauseConnector(ctx, connect.NewRequest(&v1.PauseConnectorRequest{Domain: "sales", Product: "orders", Role: "lake"}))
	if err != nil || res.Msg.GetConnector().GetState() != v1.ConnectorState_CONNECTOR_STATE_PAUSED {
		t.Fatalf("pause: %v %v", res, err)
	}
	gql := graphQLConnectorsOf(t, env, viewerTok, "sales", "orders")
	if gql["lake"].State != "PAUSED" || gql["warehouse"].State == "PAUSED" || gql["lake"].LastRunID == nil || *gql["lake"].LastRunID != applied.GetId() {
		t.Fatalf("GraphQL after pause = %+v", gql)
	}

	// Resume over GraphQL.
	r := env.GraphQL(ownerTok, `mutation { resumeConnector(input: {domain: "sales", product: "orders", role: "lake"}) { connector { name state } } }`, nil)
	if len(r.Errors) != 0 || !strings.Contains(string(r.Data), `"state":"RUNNING"`) {
		t.Fatalf("resume over GraphQL: %s %+v", r.Data, r.Errors)
	}
	if got := connectorsByRole(t, viewer, "sales", "orders")["lake"].GetState(); got != v1.ConnectorState_CONNECTOR_STATE_RUNNING {
		t.Fatalf("after resume: %v", got)
	}

	// Restart a task over GraphQL, the whole connector over Connect.
	r = env.GraphQL(ownerTok, `mutation { restartConnector(input: {domain: "sales", product: "orders", role: "warehouse", task: 0}) { connector { name state } } }`, nil)
	if len(r.Errors) != 0 {
		t.Fatalf("restart a task over GraphQL: %+v", r.Errors)
	}
	r = env.GraphQL(ownerTok, `mutation { restartConnector(input: {domain: "sales", product: "orders", role: "warehouse", task: 9}) { connector { name } } }`, nil)
	if len(r.Errors) != 1 || r.Errors[0].Extensions.Code != "INVALID_ARGUMENT" || len(r.Errors[0].Extensions.Fields) == 0 || r.Errors[0].Extensions.Fields[0].Path != "task" {
		t.Fatalf("restart a missing task over GraphQL: %+v", r.Errors)
	}
	if _, err := owner.Provision.RestartConnector(ctx, connect.NewRequest(&v1.RestartConnectorRequest{Domain: "sales", Product: "orders", Role: "source"})); err != nil {
		t.Fatalf("restart the source: %v", err)
	}

	// Every accepted operation is in the audit log, by whom and on what.
	evs, err := owner.Audit.ListAuditEvents(ctx, connect.NewRequest(&v1.ListAuditEventsRequest{Resource: "sales/orders"}))
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, e := range evs.Msg.GetEvents() {
		if strings.HasSuffix(e.GetAction(), "Connector") {
			if e.GetActor() != "olivia" {
				t.Errorf("%s by %q", e.GetAction(), e.GetActor())
			}
			ops = append(ops, e.GetAction()+" "+connectorOf(t, e.GetAfter()))
		}
	}
	want := []string{"provision.RestartConnector sales.orders.source", "provision.RestartConnector sales.orders.warehouse",
		"provision.ResumeConnector sales.orders.lake", "provision.PauseConnector sales.orders.lake"}
	if strings.Join(ops, "|") != strings.Join(want, "|") {
		t.Errorf("audited operations = %v, want %v (newest first)", ops, want)
	}
}

func proto32(n int32) *int32 { return &n }

func connectorOf(t *testing.T, after string) string {
	t.Helper()
	var a struct{ Connector string }
	if err := json.Unmarshal([]byte(after), &a); err != nil {
		t.Fatalf("%v: %s", err, after)
	}
	return a.Connector
}

func graphQLConnectorsOf(t *testing.T, env *apptest.Env, tok, domain, product string) map[string]gqlConnector {
	t.Helper()
	r := env.GraphQL(tok, graphQLConnectors, map[string]any{"d": domain, "p": product})
	if len(r.Errors) != 0 {
		t.Fatalf("connectors over GraphQL: %+v", r.Errors)
	}
	var data struct {
		DataProduct struct{ Connectors []gqlConnector }
	}
	if err := json.Unmarshal(r.Data, &data); err != nil {
		t.Fatal(err)
	}
	out := map[string]gqlConnector{}
	for _, c := range data.DataProduct.Connectors {
		out[c.Role] = c
	}
	return out
}
