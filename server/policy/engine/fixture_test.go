package engine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/meshplane/meshplane/server/policy/engine"
	"github.com/meshplane/meshplane/server/spec"
)

// approvedSet compiles the default policies with the policy's own list of
// ports approved for raw PII naming sales/orders/orders, as a published
// version would.
func approvedSet(t testing.TB) *engine.Set {
	t.Helper()
	files := engine.Defaults()
	src := files["masking.rego"]
	const none = "raw_pii_ports := set()"
	if !strings.Contains(src, none) {
		t.Fatalf("masking.rego no longer declares %q", none)
	}
	files["masking.rego"] = strings.Replace(src, none, `raw_pii_ports := {"sales/orders/orders"}`, 1)
	s, err := engine.Compile(context.Background(), "approved", files, engine.Options{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// orders is a product every default rule admits: a plain, a pii and a
// sensitive field, delivered to a warehouse and a search index.
func orders() engine.Product {
	return engine.Product{
		Domain:    "sales",
		Name:      "orders",
		Lifecycle: "draft",
		Spec: spec.Product{
			Description: "Orders placed in the web shop",
			Owner:       "team-sales@example.com",
			Labels:      map[string]string{"tier": "gold"},
			Source: spec.Source{
				Kind: spec.SourcePostgres, Host: "db.internal", Port: 5432, Database: "shop",
				Tables: []string{"public.orders"}, Username: "cdc", SecretRef: "env:SHOP_DB_PASSWORD",
			},
			Ports: []spec.OutputPort{{
				Name: "orders", Description: "One event per order", Topic: "sales.orders.orders.v1",
				MajorVersion: 1, Partitions: 3, RetentionMs: spec.DefaultRetentionMs, CleanupPolicy: spec.CleanupDelete,
				Table: "public.orders",
				Fields: []spec.Field{
					{Name: "order_id", Type: spec.TypeString, Classification: spec.ClassNone, Key: true},
					{Name: "email", Type: spec.TypeString, Classification: spec.ClassPII},
					{Name: "card_number", Type: spec.TypeString, Nullable: true, Classification: spec.ClassSensitive},
				},
			}},
			Sinks: []spec.Sink{
				{Name: "warehouse", BigQuery: &spec.BigQuerySink{Project: "shop-analytics", Dataset: "orders", CredentialsRef: "env:BQ"}},
				{Name: "search", Elasticsearch: &spec.ElasticsearchSink{URL: "https://search.internal:9200"}},
			},
		},
	}
}

// typical is a product of the usual size: three ports of about seven
// fields each and one sink.
func typical() engine.Product {
	p := orders()
	classes := []spec.Classification{spec.ClassNone, spec.ClassInternal, spec.ClassPII, spec.ClassNone, spec.ClassSensitive, spec.ClassInternal, spec.ClassNone}
	p.Spec.Ports = nil
	for i, name := range []string{"orders", "order-lines", "customers"} {
		port := spec.OutputPort{
			Name: name, Description: "port " + name, Topic: spec.TopicName("sales", "orders", name, 1),
			MajorVersion: 1, Partitions: 3, RetentionMs: spec.DefaultRetentionMs, CleanupPolicy: spec.CleanupDelete,
			Table: "public.orders",
		}
		for j := range 7 {
			port.Fields = append(port.Fields, spec.Field{
				Name: fmt.Sprintf("field_%d_%d", i, j), Type: spec.TypeString, Classification: classes[j], Key: j == 0,
			})
		}
		p.Spec.Ports = append(p.Spec.Ports, port)
	}
	p.Spec.Sinks = p.Spec.Sinks[:1]
	return p
}

// wide is one port of n fields, a fifth of them pii and a tenth sensitive.
func wide(n int) engine.Product {
	p := orders()
	port := &p.Spec.Ports[0]
	port.Fields = nil
	for i := range n {
		c := spec.ClassNone
		switch {
		case i%10 == 0:
			c = spec.ClassSensitive
		case i%5 == 0:
			c = spec.ClassPII
		case i%3 == 0:
			c = spec.ClassInternal
		}
		var tags []string
		if i%7 == 0 {
			tags = []string{"searchable"}
		}
		port.Fields = append(port.Fields, spec.Field{Name: fmt.Sprintf("column_%03d", i), Type: spec.TypeString, Classification: c, Tags: tags})
	}
	return p
}

// generous keeps slow, shared test machines from timing out evaluations
// that are not about timeouts.
var generous = engine.Options{Timeout: 10 * time.Second}

func defaults(t testing.TB) *engine.Set {
	t.Helper()
	s, err := engine.Compile(context.Background(), "defaults", engine.Defaults(), generous)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func compile(t testing.TB, files engine.Files) *engine.Set {
	t.Helper()
	s, err := engine.Compile(context.Background(), "test", files, generous)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
