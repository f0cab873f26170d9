package contracts

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/meshplane/meshplane/server/spec"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func product() Product {
	p := spec.Product{
		Description: "Orders placed in the web shop, as they change.", Owner: "orders-team@example.com",
		Labels: map[string]string{"tier": "gold"},
		Source: spec.Source{Kind: spec.SourcePostgres, Host: "orders-db.internal", Port: 5432, Database: "orders",
			Tables: []string{"public.orders", "public.customers"}, Username: "debezium", SecretRef: "env:SALES__ORDERS_DB_PASSWORD"},
		Ports: []spec.OutputPort{
			{Name: "orders", Description: "One record per order change.", Partitions: 6, CleanupPolicy: spec.CleanupDelete, Table: "public.orders",
				Fields: []spec.Field{
					{Name: "order_id", Type: spec.TypeInt64, Classification: spec.ClassNone, Key: true},
					{Name: "total", Type: spec.TypeDecimal, Classification: spec.ClassInternal},
					{Name: "placed_at", Type: spec.TypeTimestamp, Nullable: true, Classification: spec.ClassNone, Description: "when it was placed"},
				}},
			{Name: "customers", Table: "public.customers", CleanupPolicy: spec.CleanupCompact, MajorVersion: 2,
				Retained: []spec.RetainedMajor{{Major: 1, Partitions: 3, RetentionMs: 86_400_000, CleanupPolicy: spec.CleanupCompact,
					Fields: []spec.Field{{Name: "customer_id", Type: spec.TypeInt32, Classification: spec.ClassNone, Key: true}}}}, BaseMajor: 1,
				Fields: []spec.Field{
					{Name: "customer_id", Type: spec.TypeInt64, Classification: spec.ClassNone, Key: true},
					{Name: "email", Type: spec.TypeString, Nullable: true, Classification: spec.ClassPII, Tags: []string{"contact"}},
				}},
		},
		Sinks: []spec.Sink{{Name: "warehouse", BigQuery: &spec.BigQuerySink{Project: "acme", Dataset: "orders", CredentialsRef: "file:/etc/meshplane/secrets/sales/bq.json:key"}}},
	}
	p.Normalize("sales", "orders")
	return Product{Domain: "sales", Name: "orders", Lifecycle: spec.LifecycleActive, Version: 7, Spec: p, Bootstrap: []string{"kafka-1:9092", "kafka-2:9092"}}
}

func yamlOf(t *testing.T, v any) []byte {
	t.Helper()
	b, err := yaml.MarshalWithOptions(v, yaml.IndentSequence(true))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := "testdata/" + name
	if *update {
		_ = os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s changed:\n%s", path, got)
	}
}

// TestRoundTrip: a product exported as ODPS and ODCS validates against
// the vendored schemas and imports back as the same product, with nothing
// to report.
func TestRoundTrip(t *testing.T) {
	in := product()
	docs, err := Export(in)
	if err != nil {
		t.Fatal(err)
	}
	odps := yamlOf(t, docs.Product)
	golden(t, "orders.odps.yaml", odps)
	contracts := map[string][]byte{}
	for _, c := range docs.Contracts {
		b := yamlOf(t, c)
		golden(t, c.ID+".odcs.yaml", b)
		contracts[c.ID+".odcs.yaml"] = b
	}
	if len(docs.Product.OutputPorts) != 3 || docs.Product.OutputPorts[1].ContractID != "sales.orders.customers.v1" || docs.Product.OutputPorts[2].ContractID != "sales.orders.customers.v2" {
		t.Fatalf("output ports: %+v", docs.Product.OutputPorts)
	}
	got, err := Import("orders.odps.yaml", odps, contracts)
	if err != nil {
		t.Fatal(err)
	}
	want := in.Spec
	for i := range want.Ports {
		want.Ports[i].Retained, want.Ports[i].BaseMajor = nil, 0
	}
	got.Spec.Normalize("sales", "orders")
	a, _ := json.Marshal(want)
	b, _ := json.Marshal(got.Spec)
	if !bytes.Equal(a, b) {
		t.Errorf("round trip changed the product:\n%s\n%s", a, b)
	}
	if got.Domain != "sales" || got.Name != "orders" || got.Lifecycle != spec.LifecycleActive {
		t.Errorf("imported %s/%s %s", got.Domain, got.Name, got.Lifecycle)
	}
	if len(got.Report) != 1 || !strings.Contains(got.Report[0], "output port customers v1 is an earlier version") {
		t.Errorf("report: %v", got.Report)
	}
}

// TestImportReports: what a contract holds that meshplane does not model
// is reported, never dropped silently; an unknown classification is
// imported as the strictest; an invalid document is refused.
func TestImportReports(t *testing.T) {
	odps := []byte(`apiVersion: v1.0.0
kind: DataProduct
id: sales.leads
name: leads
status: proposed
domain: sales
tags: [crm]
team:
  members:
    - username: leads-team@example.com
      role: owner
outputPorts:
  - name: leads
    version: "1.0.0"
    contractId: leads-contract
    sbom:
      - url: https://example.com/sbom
`)
	contract := []byte(`apiVersion: v3.1.0
kind: DataContract
id: leads-contract
version: 1.0.0
status: active
price:
  priceAmount: 10
  priceCurrency: EUR
schema:
  - name: leads
    physicalType: table
    quality:
      - type: library
        metric: rowCount
        mustBeGreaterThan: 0
    properties:
      - name: lead_id
        logicalType: integer
        required: true
        primaryKey: true
      - name: phone
        logicalType: string
        classification: confidential
        customProperties:
          - property: owner
            value: crm
`)
	got, err := Import("leads.odps.yaml", odps, map[string][]byte{"leads.odcs.yaml": contract})
	if err != nil {
		t.Fatal(err)
	}
	report := strings.Join(got.Report, "\n")
	for _, want := range []string{
		"leads.odps.yaml: tags is not modelled",
		"leads.odps.yaml: outputPorts[0].sbom is not modelled",
		`leads.odps.yaml: status "proposed" is not a meshplane lifecycle: imported as draft`,
		"no meshplaneSource custom property",
		"leads.odcs.yaml: price is not modelled",
		"leads.odcs.yaml: schema[0].quality is not modelled",
		"leads.odcs.yaml: schema[0].properties[1].customProperties[0] (owner) is not modelled",
		`classification "confidential" is not none, internal, pii or sensitive: imported as sensitive`,
		"logical type integer",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	f := got.Spec.Ports[0].Fields
	if got.Spec.Owner != "leads-team@example.com" || got.Lifecycle != spec.LifecycleDraft || f[0].Type != spec.TypeInt64 || !f[0].Key || f[0].Nullable ||
		f[1].Classification != spec.ClassSensitive || !f[1].Nullable {
		t.Errorf("imported: %+v", got)
	}
	if _, err := Import("bad.odps.yaml", []byte("apiVersion: v1.0.0\nkind: DataProduct\nname: x\n"), nil); err == nil || !strings.Contains(err.Error(), "does not validate") {
		t.Errorf("a document missing id and status: %v", err)
	}
}

// TestImportRefusesReferences: documents received from others are read
// without expanding anchors or aliases, so a small file cannot blow up.
func TestImportRefusesReferences(t *testing.T) {
	bomb := "apiVersion: v1.0.0\nkind: DataProduct\nid: x\nstatus: active\na: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
	if _, err := Import("bomb.odps.yaml", []byte(bomb), nil); err == nil || !strings.Contains(err.Error(), "anchors (&name) are not allowed") {
		t.Fatalf("an alias bomb: %v", err)
	}
	many := map[string][]byte{}
	for i := range MaxContracts + 1 {
		many[fmt.Sprint(i)] = nil
	}
	if _, err := Import("x.odps.yaml", []byte("{}"), many); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Fatalf("too many contracts: %v", err)
	}
}
