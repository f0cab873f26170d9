// Package enginetest holds the data products policy tests and benchmarks
// evaluate, so the engine's benchmarks and the bench command measure the
// same inputs.
package enginetest

import (
	"fmt"

	"github.com/meshplane/meshplane/server/policy/engine"
	"github.com/meshplane/meshplane/server/spec"
)

// Orders is a product every default rule admits: a plain, a pii and a
// sensitive field, delivered to a warehouse and a search index.
func Orders() engine.Product {
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
				Tables: []string{"public.orders"}, Username: "cdc", SecretRef: "env:SALES__SHOP_DB_PASSWORD",
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
				{Name: "warehouse", BigQuery: &spec.BigQuerySink{Project: "shop-analytics", Dataset: "orders", CredentialsRef: "env:SALES__BQ_KEYFILE"}},
				{Name: "search", Elasticsearch: &spec.ElasticsearchSink{URL: "https://search.internal:9200"}},
			},
		},
	}
}

// Typical is a product of the usual size: three ports of about seven
// fields each and one sink.
func Typical() engine.Product {
	p := Orders()
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

// Wide is one port of n string fields: a tenth sensitive, a tenth pii,
// about a quarter internal, every seventh tagged.
func Wide(n int) engine.Product {
	p := Orders()
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
