package apptest

import (
	"strings"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
)

// ProductSpec returns a valid product spec of domain sales: a postgres
// source feeding two ports, one with PII, delivered to BigQuery and S3.
func ProductSpec() *v1.DataProductSpec { return ProductSpecIn("sales") }

// EnvSecretRef names an environment variable of domain's own, the form the
// default admission policy lets its products reference: env:SALES__NAME.
func EnvSecretRef(domain, name string) string {
	return "env:" + strings.ToUpper(strings.ReplaceAll(domain, "-", "_")) + "__" + name
}

// ProductSpecIn returns ProductSpec for a product of domain: its secret
// references are the domain's own, so the default admission policy admits it.
func ProductSpecIn(domain string) *v1.DataProductSpec {
	return &v1.DataProductSpec{
		Description: "Orders placed in the web shop, as they change.",
		Owner:       "orders-team@example.com",
		Labels:      map[string]string{"tier": "gold", "app.kubernetes.io/part-of": "shop"},
		Source: &v1.Source{
			Kind: v1.SourceKind_SOURCE_KIND_POSTGRES, Host: "orders-db.internal", Port: 5432,
			Database: "orders", Tables: []string{"public.orders", "public.customers"},
			Username: "debezium", SecretRef: EnvSecretRef(domain, "ORDERS_DB_PASSWORD"),
		},
		Ports: []*v1.OutputPort{
			{
				Name: "orders", Description: "One record per order change.", Partitions: 6,
				RetentionMs: 7 * 24 * 3600 * 1000, CleanupPolicy: v1.CleanupPolicy_CLEANUP_POLICY_DELETE,
				Table: "public.orders",
				Fields: []*v1.Field{
					{Name: "order_id", Type: v1.FieldType_FIELD_TYPE_INT64, Classification: v1.Classification_CLASSIFICATION_NONE},
					{Name: "customer_id", Type: v1.FieldType_FIELD_TYPE_INT64, Classification: v1.Classification_CLASSIFICATION_INTERNAL},
					{Name: "total", Type: v1.FieldType_FIELD_TYPE_DECIMAL, Classification: v1.Classification_CLASSIFICATION_NONE},
					{Name: "placed_at", Type: v1.FieldType_FIELD_TYPE_TIMESTAMP, Classification: v1.Classification_CLASSIFICATION_NONE},
				},
			},
			{
				Name: "customers", Description: "Customer master data.", Table: "public.customers",
				CleanupPolicy: v1.CleanupPolicy_CLEANUP_POLICY_COMPACT,
				Fields: []*v1.Field{
					{Name: "customer_id", Type: v1.FieldType_FIELD_TYPE_INT64, Classification: v1.Classification_CLASSIFICATION_NONE, Key: true},
					{Name: "email", Type: v1.FieldType_FIELD_TYPE_STRING, Nullable: true, Classification: v1.Classification_CLASSIFICATION_PII, Tags: []string{"contact"}},
				},
			},
		},
		Sinks: []*v1.Sink{
			{Name: "warehouse", Kind: &v1.Sink_Bigquery{Bigquery: &v1.BigQuerySink{Project: "acme-analytics", Dataset: "orders", CredentialsRef: "file:/etc/meshplane/secrets/" + domain + "/bq.properties:key"}}},
			{Name: "lake", Ports: []string{"orders"}, Kind: &v1.Sink_S3{S3: &v1.S3Sink{Bucket: "acme-lake", Region: "eu-west-1", Prefix: "orders/"}}},
		},
	}
}
