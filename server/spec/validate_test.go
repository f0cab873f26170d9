package spec_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/meshplane/meshplane/server/errs"
	"github.com/meshplane/meshplane/server/spec"
)

// baseline returns a valid product: a postgres source with two tables, two
// ports (one carrying pii) and one sink of each kind. Sinks deliver:
// bigquery all ports, s3 "orders", jdbc "customers", elasticsearch all.
func baseline() spec.Product {
	return spec.Product{
		Description: "Orders placed in the web shop,\nwith the customers who placed them.",
		Owner:       "team-orders@example.com",
		Labels:      map[string]string{"team": "orders", "cost-center": "cc-42", "example.com/tier": "gold"},
		Source: spec.Source{
			Kind:      spec.SourcePostgres,
			Host:      "orders-db.internal.example.com",
			Port:      5432,
			Database:  "shop",
			Tables:    []string{"public.orders", "public.customers"},
			Username:  "cdc_reader",
			SecretRef: "vault:secret/data/orders-db:password",
		},
		Ports: []spec.OutputPort{
			{
				Name:  "orders",
				Table: "public.orders",
				Fields: []spec.Field{
					{Name: "order_id", Type: spec.TypeInt64, Classification: spec.ClassNone},
					{Name: "customer_id", Type: spec.TypeInt64, Classification: spec.ClassInternal},
					{Name: "total", Type: spec.TypeDecimal, Classification: spec.ClassInternal, Tags: []string{"money"}},
					{Name: "created_at", Type: spec.TypeTimestamp},
				},
			},
			{
				Name:        "customers",
				Description: "One row per customer.",
				Table:       "public.customers",
				RetentionMs: -1,
				Partitions:  12,
				Fields: []spec.Field{
					{Name: "customer_id", Type: spec.TypeInt64, Classification: spec.ClassInternal},
					{Name: "email", Type: spec.TypeString, Classification: spec.ClassPII, Tags: []string{"contact", "gdpr"}},
					{Name: "full_name", Type: spec.TypeString, Nullable: true, Classification: spec.ClassPII, Description: "As entered at sign-up."},
				},
			},
		},
		Sinks: []spec.Sink{
			{Name: "warehouse", BigQuery: &spec.BigQuerySink{Project: "acme-analytics", Dataset: "orders_raw", CredentialsRef: "file:/etc/meshplane/gcp.properties:key"}},
			{Name: "archive", Ports: []string{"orders"}, S3: &spec.S3Sink{Bucket: "acme-orders-archive", Region: "eu-west-1", Prefix: "orders/raw/"}},
			{Name: "crm", Ports: []string{"customers"}, JDBC: &spec.JDBCSink{
				URL: "jdbc:postgresql://crm-db.internal:5432/crm?sslmode=require", Username: "crm_writer", SecretRef: "env:CRM_DB_PASSWORD",
				PrimaryKeyFields: []string{"customer_id"}, DeleteEnabled: true,
			}},
			{Name: "search", Elasticsearch: &spec.ElasticsearchSink{URL: "https://search.internal:9200", Username: "indexer", SecretRef: "env:ES_PASSWORD", IndexPrefix: "orders"}},
		},
	}
}

func validate(p *spec.Product) []errs.FieldViolation {
	var v errs.Violations
	p.Validate(&v, "spec")
	return v.List()
}

func paths(list []errs.FieldViolation) []string {
	out := make([]string, 0, len(list))
	for _, f := range list {
		out = append(out, f.Path)
	}
	return out
}

func TestBaselineIsValid(t *testing.T) {
	p := baseline()
	p.Normalize("sales", "orders")
	if got := validate(&p); len(got) != 0 {
		t.Fatalf("baseline has violations: %v", got)
	}
}

func TestValidate(t *testing.T) {
	long := func(n int) string { return "a" + strings.Repeat("b", n-1) }
	labels := func(n int) map[string]string {
		m := map[string]string{}
		for i := range n {
			m[fmt.Sprintf("k%02d", i)] = "v"
		}
		return m
	}
	port := func(p *spec.Product, i int) *spec.OutputPort { return &p.Ports[i] }
	field := func(p *spec.Product, i, j int) *spec.Field { return &p.Ports[i].Fields[j] }
	jdbc := func(p *spec.Product) *spec.JDBCSink { return p.Sinks[2].JDBC }

	tests := []struct {
		name string
		// before mutates the product before Normalize, mutate after it.
		before, mutate func(p *spec.Product)
		want           []string
	}{
		// Resource names (ports, sinks) and field names.
		{name: "port name with quote and sql", mutate: func(p *spec.Product) { p.Ports[0].Name = `a"; drop` },
			want: []string{"spec.ports[0].name", "spec.sinks[1].ports[0]"}},
		{name: "sink name with quote and sql", mutate: func(p *spec.Product) { p.Sinks[0].Name = `a"; drop` }, want: []string{"spec.sinks[0].name"}},
		{name: "sink name path traversal", mutate: func(p *spec.Product) { p.Sinks[0].Name = "../etc" }, want: []string{"spec.sinks[0].name"}},
		{name: "sink name with slash", mutate: func(p *spec.Product) { p.Sinks[0].Name = "a/b" }, want: []string{"spec.sinks[0].name"}},
		{name: "sink name terraform interpolation", mutate: func(p *spec.Product) { p.Sinks[0].Name = "${var.x}" }, want: []string{"spec.sinks[0].name"}},
		{name: "sink name uppercase", mutate: func(p *spec.Product) { p.Sinks[0].Name = "Warehouse" }, want: []string{"spec.sinks[0].name"}},
		{name: "sink name 64 chars", mutate: func(p *spec.Product) { p.Sinks[0].Name = long(64) }, want: []string{"spec.sinks[0].name"}},
		{name: "sink name 63 chars", mutate: func(p *spec.Product) { p.Sinks[0].Name = long(63) }},
		{name: "sink name unicode", mutate: func(p *spec.Product) { p.Sinks[0].Name = "entrepôt" }, want: []string{"spec.sinks[0].name"}},
		{name: "sink name one char", mutate: func(p *spec.Product) { p.Sinks[0].Name = "w" }, want: []string{"spec.sinks[0].name"}},
		{name: "sink name empty", mutate: func(p *spec.Product) { p.Sinks[0].Name = "" }, want: []string{"spec.sinks[0].name"}},
		{name: "sink name newline", mutate: func(p *spec.Product) { p.Sinks[0].Name = "warehouse\n" }, want: []string{"spec.sinks[0].name"}},
		{name: "port name leading digit", mutate: func(p *spec.Product) { p.Ports[1].Name = "1customers" },
			want: []string{"spec.ports[1].name", "spec.sinks[2].ports[0]", "spec.sinks[2].jdbc.primaryKeyFields[0]"}},
		{name: "field name injection", mutate: func(p *spec.Product) { field(p, 1, 0).Name = `a"; drop` },
			want: []string{"spec.ports[1].fields[0].name", "spec.sinks[2].jdbc.primaryKeyFields[0]"}},
		{name: "field name interpolation", mutate: func(p *spec.Product) { field(p, 1, 1).Name = "${var.x}" }, want: []string{"spec.ports[1].fields[1].name"}},
		{name: "field name path", mutate: func(p *spec.Product) { field(p, 1, 1).Name = "../etc" }, want: []string{"spec.ports[1].fields[1].name"}},
		{name: "field name unicode", mutate: func(p *spec.Product) { field(p, 1, 1).Name = "e_mäil" }, want: []string{"spec.ports[1].fields[1].name"}},
		{name: "field name 129 chars", mutate: func(p *spec.Product) { field(p, 1, 1).Name = long(129) }, want: []string{"spec.ports[1].fields[1].name"}},
		{name: "field name 128 chars and mixed case", mutate: func(p *spec.Product) { field(p, 1, 1).Name = "E" + long(127) }},
		{name: "field name empty", mutate: func(p *spec.Product) { field(p, 0, 3).Name = "" }, want: []string{"spec.ports[0].fields[3].name"}},

		// Duplicates.
		{name: "duplicate field name differing in case", mutate: func(p *spec.Product) { field(p, 1, 2).Name = "Customer_ID" },
			want: []string{"spec.ports[1].fields[2].name"}},
		{name: "duplicate field name", mutate: func(p *spec.Product) { field(p, 0, 3).Name = "order_id" }, want: []string{"spec.ports[0].fields[3].name"}},
		{name: "same field name in two ports", mutate: func(p *spec.Product) { field(p, 0, 3).Name = "email" }},
		{name: "duplicate port", mutate: func(p *spec.Product) { p.Ports = append(p.Ports, p.Ports[0]) }, want: []string{"spec.ports[2].name", "spec.ports[2].table"}},
		{name: "two ports from one table", mutate: func(p *spec.Product) {
			extra := p.Ports[0]
			extra.Name = "orders-again"
			p.Ports = append(p.Ports, extra)
		}, want: []string{"spec.ports[2].table"}},
		{name: "duplicate sink", mutate: func(p *spec.Product) { p.Sinks = append(p.Sinks, p.Sinks[0]) }, want: []string{"spec.sinks[4].name"}},
		{name: "duplicate table", mutate: func(p *spec.Product) { p.Source.Tables = append(p.Source.Tables, "public.orders") },
			want: []string{"spec.source.tables[2]"}},

		// Unknown enum strings.
		{name: "unknown source kind", mutate: func(p *spec.Product) { p.Source.Kind = "oracle" }, want: []string{"spec.source.kind"}},
		{name: "source kind in upper case", mutate: func(p *spec.Product) { p.Source.Kind = "POSTGRES" }, want: []string{"spec.source.kind"}},
		{name: "missing source kind", mutate: func(p *spec.Product) { p.Source.Kind = "" }, want: []string{"spec.source.kind"}},
		{name: "unknown cleanup policy", mutate: func(p *spec.Product) { port(p, 0).CleanupPolicy = "compact;delete" }, want: []string{"spec.ports[0].cleanupPolicy"}},
		{name: "cleanup policy with space", mutate: func(p *spec.Product) { port(p, 0).CleanupPolicy = "compact, delete" }, want: []string{"spec.ports[0].cleanupPolicy"}},
		{name: "compact,delete", mutate: func(p *spec.Product) { port(p, 0).CleanupPolicy = spec.CleanupCompactDelete }},
		{name: "unknown field type", mutate: func(p *spec.Product) { field(p, 0, 0).Type = "varchar" }, want: []string{"spec.ports[0].fields[0].type"}},
		{name: "missing field type", mutate: func(p *spec.Product) { field(p, 0, 0).Type = "" }, want: []string{"spec.ports[0].fields[0].type"}},
		{name: "unknown classification", mutate: func(p *spec.Product) { field(p, 1, 1).Classification = "secret" }, want: []string{"spec.ports[1].fields[1].classification"}},
		{name: "classification in upper case", mutate: func(p *spec.Product) { field(p, 1, 1).Classification = "PII" }, want: []string{"spec.ports[1].fields[1].classification"}},
		{name: "unclassified is accepted", mutate: func(p *spec.Product) { field(p, 1, 1).Classification = spec.ClassUnclassified }},
		{name: "unknown s3 format", mutate: func(p *spec.Product) { p.Sinks[1].S3.Format = "csv" }, want: []string{"spec.sinks[1].s3.format"}},
		{name: "unknown insert mode", mutate: func(p *spec.Product) { jdbc(p).InsertMode = "merge" }, want: []string{"spec.sinks[2].jdbc.insertMode"}},
		{name: "bad tag", mutate: func(p *spec.Product) { field(p, 1, 1).Tags = []string{"ok", "Not-OK"} }, want: []string{"spec.ports[1].fields[1].tags[1]"}},
		{name: "too many tags", mutate: func(p *spec.Product) { field(p, 1, 1).Tags = slices.Repeat([]string{"t"}, spec.MaxTags+1) },
			want: []string{"spec.ports[1].fields[1].tags"}},

		// Sinks: kinds and their required settings.
		{name: "bigquery without settings", mutate: func(p *spec.Product) { p.Sinks[0].BigQuery = &spec.BigQuerySink{} },
			want: []string{"spec.sinks[0].bigquery.project", "spec.sinks[0].bigquery.dataset", "spec.sinks[0].bigquery.credentialsRef"}},
		{name: "bigquery project too short", mutate: func(p *spec.Product) { p.Sinks[0].BigQuery.Project = "acme" }, want: []string{"spec.sinks[0].bigquery.project"}},
		{name: "bigquery dataset with dot", mutate: func(p *spec.Product) { p.Sinks[0].BigQuery.Dataset = "a.b" }, want: []string{"spec.sinks[0].bigquery.dataset"}},
		{name: "s3 without settings", mutate: func(p *spec.Product) { p.Sinks[1].S3 = &spec.S3Sink{} },
			want: []string{"spec.sinks[1].s3.bucket", "spec.sinks[1].s3.region", "spec.sinks[1].s3.format", "spec.sinks[1].s3.flushSize", "spec.sinks[1].s3.rotateIntervalMs"}},
		{name: "s3 without settings before defaults", before: func(p *spec.Product) { p.Sinks[1].S3 = &spec.S3Sink{} },
			want: []string{"spec.sinks[1].s3.bucket", "spec.sinks[1].s3.region"}},
		{name: "s3 bucket with dot-dot", mutate: func(p *spec.Product) { p.Sinks[1].S3.Bucket = "acme..orders" }, want: []string{"spec.sinks[1].s3.bucket"}},
		{name: "s3 bad region", mutate: func(p *spec.Product) { p.Sinks[1].S3.Region = "europe" }, want: []string{"spec.sinks[1].s3.region"}},
		{name: "s3 absolute prefix", mutate: func(p *spec.Product) { p.Sinks[1].S3.Prefix = "/orders" }, want: []string{"spec.sinks[1].s3.prefix"}},
		{name: "s3 prefix traversal", mutate: func(p *spec.Product) { p.Sinks[1].S3.Prefix = "orders/../../x" }, want: []string{"spec.sinks[1].s3.prefix"}},
		{name: "s3 prefix interpolation", mutate: func(p *spec.Product) { p.Sinks[1].S3.Prefix = "${var.x}/" }, want: []string{"spec.sinks[1].s3.prefix"}},
		{name: "s3 flush size bounds", mutate: func(p *spec.Product) { p.Sinks[1].S3.FlushSize = 1_000_001 }, want: []string{"spec.sinks[1].s3.flushSize"}},
		{name: "s3 rotate interval bounds", mutate: func(p *spec.Product) { p.Sinks[1].S3.RotateIntervalMs = 999 }, want: []string{"spec.sinks[1].s3.rotateIntervalMs"}},
		{name: "s3 credentials not a reference", mutate: func(p *spec.Product) { p.Sinks[1].S3.CredentialsRef = "AKIAIOSFODNN7EXAMPLE" }, want: []string{"spec.sinks[1].s3.credentialsRef"}},
		{name: "jdbc without settings", mutate: func(p *spec.Product) { p.Sinks[2].JDBC = &spec.JDBCSink{} },
			want: []string{"spec.sinks[2].jdbc.url", "spec.sinks[2].jdbc.username", "spec.sinks[2].jdbc.secretRef", "spec.sinks[2].jdbc.insertMode"}},
		{name: "jdbc without settings before defaults", before: func(p *spec.Product) { p.Sinks[2].JDBC = &spec.JDBCSink{} },
			want: []string{"spec.sinks[2].jdbc.url", "spec.sinks[2].jdbc.username", "spec.sinks[2].jdbc.secretRef"}},
		{name: "elasticsearch without settings", mutate: func(p *spec.Product) { p.Sinks[3].Elasticsearch = &spec.ElasticsearchSink{} },
			want: []string{"spec.sinks[3].elasticsearch.url"}},
		{name: "elasticsearch user without secret", mutate: func(p *spec.Product) { p.Sinks[3].Elasticsearch.SecretRef = "" },
			want: []string{"spec.sinks[3].elasticsearch.secretRef"}},
		{name: "elasticsearch anonymous", mutate: func(p *spec.Product) { p.Sinks[3].Elasticsearch.Username, p.Sinks[3].Elasticsearch.SecretRef = "", "" }},
		{name: "elasticsearch bad index prefix", mutate: func(p *spec.Product) { p.Sinks[3].Elasticsearch.IndexPrefix = "Orders*" },
			want: []string{"spec.sinks[3].elasticsearch.indexPrefix"}},
		{name: "elasticsearch url not http", mutate: func(p *spec.Product) { p.Sinks[3].Elasticsearch.URL = "ftp://search:21" },
			want: []string{"spec.sinks[3].elasticsearch.url"}},
		{name: "elasticsearch url with credentials", mutate: func(p *spec.Product) { p.Sinks[3].Elasticsearch.URL = "https://elastic:changeme@search:9200" },
			want: []string{"spec.sinks[3].elasticsearch.url"}},
		{name: "sink without kind", mutate: func(p *spec.Product) { p.Sinks[3].Elasticsearch = nil }, want: []string{"spec.sinks[3]"}},
		{name: "sink with two kinds", mutate: func(p *spec.Product) { p.Sinks[0].S3 = p.Sinks[1].S3 }, want: []string{"spec.sinks[0]"}},

		// JDBC URLs.
		{name: "jdbc url with user info", mutate: func(p *spec.Product) { jdbc(p).URL = "jdbc:postgresql://u:p@h/db" }, want: []string{"spec.sinks[2].jdbc.url"}},
		{name: "jdbc url with user only", mutate: func(p *spec.Product) { jdbc(p).URL = "jdbc:postgresql://u@h/db" }, want: []string{"spec.sinks[2].jdbc.url"}},
		{name: "jdbc url with password parameter", mutate: func(p *spec.Product) { jdbc(p).URL = "jdbc:postgresql://h/db?password=x" }, want: []string{"spec.sinks[2].jdbc.url"}},
		{name: "jdbc url with upper-case password parameter", mutate: func(p *spec.Product) { jdbc(p).URL = "jdbc:mysql://h:3306/db?user=u&PASSWORD=x" },
			want: []string{"spec.sinks[2].jdbc.url"}},
		{name: "jdbc url with percent-encoded password parameter", mutate: func(p *spec.Product) { jdbc(p).URL = "jdbc:mysql://h:3306/db?user=u&pass%77ord=x" },
			want: []string{"spec.sinks[2].jdbc.url"}},
		{name: "jdbc url with sqlserver password property", mutate: func(p *spec.Product) { jdbc(p).URL = "jdbc:sqlserver://h;databaseName=db;password=x" },
			want: []string{"spec.sinks[2].jdbc.url"}},
		{name: "jdbc url with pwd", mutate: func(p *spec.Product) { jdbc(p).URL = "jdbc:db2://h:50000/db:pwd=x;" }, want: []string{"spec.sinks[2].jdbc.url"}},
		{name: "jdbc url with token", mutate: func(p *spec.Product) { jdbc(p).URL = "jdbc:postgresql://h/db?token=x" }, want: []string{"spec.sinks[2].jdbc.url"}},
		{name: "jdbc url with postgres socket factory", mutate: func(p *spec.Product) {
			jdbc(p).URL = "jdbc:postgresql://h/db?socketFactory=org.springframework.context.support.ClassPathXmlApplicationContext&socketFactoryArg=http://x/a.xml"
		}, want: []string{"spec.sinks[2].jdbc.url"}},
		{name: "jdbc url with postgres hostname verifier", mutate: func(p *spec.Product) { jdbc(p).URL = "jdbc:postgresql://h/db?sslhostnameverifier=x.Y" },
			want: []string{"spec.sinks[2].jdbc.url"}},
		{name: "jdbc url with mysql local infile", mutate: func(p *spec.Product) { jdbc(p).URL = "jdbc:mysql://h:3306/db?allowLoadLocalInfile=true" },
			want: []string{"spec.sinks[2].jdbc.url"}},
		{name: "jdbc url with mysql autoDeserialize", mutate: func(p *spec.Product) {
			jdbc(p).URL = "jdbc:mysql://h:3306/db?autoDeserialize=true&queryInterceptors=x.Y"
		},
			want: []string{"spec.sinks[2].jdbc.url"}},
		{name: "jdbc url with percent-encoded driver hook", mutate: func(p *spec.Product) { jdbc(p).URL = "jdbc:mysql://h:3306/db?allowLoadLocalInf%69le=true" },
			want: []string{"spec.sinks[2].jdbc.url"}},
		{name: "jdbc url with sqlserver socket factory class", mutate: func(p *spec.Product) { jdbc(p).URL = "jdbc:sqlserver://h;socketFactoryClass=x.Y" },
			want: []string{"spec.sinks[2].jdbc.url"}},
		{name: "jdbc url with db2 jndi lookup", mutate: func(p *spec.Product) {
			jdbc(p).URL = "jdbc:db2://h:50000/db:clientRerouteServerListJNDIName=ldap://x/y;"
		},
			want: []string{"spec.sinks[2].jdbc.url"}},
		{name: "jdbc url with ordinary properties", mutate: func(p *spec.Product) {
			jdbc(p).URL = "jdbc:postgresql://crm-db:5432/crm?sslmode=verify-full&ApplicationName=meshplane&connectTimeout=10&reWriteBatchedInserts=true"
		}},
		{name: "jdbc url with user parameter", mutate: func(p *spec.Product) { jdbc(p).URL = "jdbc:mysql://h:3306/db?user=crm_writer&useSSL=true" }},
		{name: "jdbc url for an unsupported driver", mutate: func(p *spec.Product) { jdbc(p).URL = "jdbc:sqlite:/tmp/x.db" }, want: []string{"spec.sinks[2].jdbc.url"}},
		{name: "jdbc url not jdbc", mutate: func(p *spec.Product) { jdbc(p).URL = "postgresql://h/db" }, want: []string{"spec.sinks[2].jdbc.url"}},
		{name: "jdbc url without host", mutate: func(p *spec.Product) { jdbc(p).URL = "jdbc:postgresql:///db" }, want: []string{"spec.sinks[2].jdbc.url"}},
		{name: "jdbc url with quote", mutate: func(p *spec.Product) { jdbc(p).URL = `jdbc:postgresql://h/db"` }, want: []string{"spec.sinks[2].jdbc.url"}},
		{name: "jdbc url with interpolation", mutate: func(p *spec.Product) { jdbc(p).URL = "jdbc:postgresql://h/${var.db}" }, want: []string{"spec.sinks[2].jdbc.url"}},
		{name: "jdbc url with newline", mutate: func(p *spec.Product) { jdbc(p).URL = "jdbc:postgresql://h/db\nconnection.password=x" }, want: []string{"spec.sinks[2].jdbc.url"}},
		{name: "jdbc url with NUL", mutate: func(p *spec.Product) { jdbc(p).URL = "jdbc:postgresql://h/db\x00" }, want: []string{"spec.sinks[2].jdbc.url"}},
		{name: "jdbc url with line separator", mutate: func(p *spec.Product) { jdbc(p).URL = "jdbc:postgresql://h/db\u2028x" }, want: []string{"spec.sinks[2].jdbc.url"}},
		{name: "jdbc url with invalid utf-8", mutate: func(p *spec.Product) { jdbc(p).URL = "jdbc:postgresql://h/db\xff" }, want: []string{"spec.sinks[2].jdbc.url"}},
		{name: "jdbc url with malformed escape", mutate: func(p *spec.Product) { jdbc(p).URL = "jdbc:postgresql://h/db?application_name=%zz" }, want: []string{"spec.sinks[2].jdbc.url"}},
		{name: "jdbc url with escaped space", mutate: func(p *spec.Product) { jdbc(p).URL = "jdbc:postgresql://h/db?application_name=crm%20sink" }},
		{name: "jdbc url with percent-encoded user info", mutate: func(p *spec.Product) { jdbc(p).URL = "jdbc:postgresql://u%3Ap%40h/db" }, want: []string{"spec.sinks[2].jdbc.url"}},
		{name: "elasticsearch url with non-ascii host", mutate: func(p *spec.Product) { p.Sinks[3].Elasticsearch.URL = "https://sëarch:9200" },
			want: []string{"spec.sinks[3].elasticsearch.url"}},
		{name: "jdbc url too long", mutate: func(p *spec.Product) { jdbc(p).URL = "jdbc:postgresql://h/" + strings.Repeat("d", 2048) }, want: []string{"spec.sinks[2].jdbc.url"}},
		{name: "jdbc bad username", mutate: func(p *spec.Product) { jdbc(p).Username = "crm writer" }, want: []string{"spec.sinks[2].jdbc.username"}},

		// Secret references.
		{name: "secret ref is a literal password", mutate: func(p *spec.Product) { p.Source.SecretRef = "hunter2" }, want: []string{"spec.source.secretRef"}},
		{name: "secret ref missing", mutate: func(p *spec.Product) { p.Source.SecretRef = "" }, want: []string{"spec.source.secretRef"}},
		{name: "secret ref env without name", mutate: func(p *spec.Product) { p.Source.SecretRef = "env:" }, want: []string{"spec.source.secretRef"}},
		{name: "secret ref env with bad name", mutate: func(p *spec.Product) { p.Source.SecretRef = "env:1PASSWORD" }, want: []string{"spec.source.secretRef"}},
		{name: "secret ref env", mutate: func(p *spec.Product) { p.Source.SecretRef = "env:PG_PASSWORD" }},
		{name: "secret ref relative file", mutate: func(p *spec.Product) { p.Source.SecretRef = "file:relative:key" }, want: []string{"spec.source.secretRef"}},
		{name: "secret ref file without key", mutate: func(p *spec.Product) { p.Source.SecretRef = "file:/etc/secrets.properties" }, want: []string{"spec.source.secretRef"}},
		{name: "secret ref file with dot-dot", mutate: func(p *spec.Product) { p.Source.SecretRef = "file:/etc/meshplane/../shadow:root" }, want: []string{"spec.source.secretRef"}},
		{name: "secret ref file", mutate: func(p *spec.Product) { p.Source.SecretRef = "file:/etc/meshplane/pg.properties:password" }},
		{name: "secret ref vault with dot-dot", mutate: func(p *spec.Product) { p.Source.SecretRef = "vault:secret/../sys:token" }, want: []string{"spec.source.secretRef"}},
		{name: "secret ref already interpolated", mutate: func(p *spec.Product) { p.Source.SecretRef = "${file:/etc/x.properties:pw}" }, want: []string{"spec.source.secretRef"}},
		{name: "secret ref unknown provider", mutate: func(p *spec.Product) { p.Source.SecretRef = "aws:secret:pw" }, want: []string{"spec.source.secretRef"}},
		{name: "secret ref with newline", mutate: func(p *spec.Product) { p.Source.SecretRef = "env:PG\nX" }, want: []string{"spec.source.secretRef"}},
		{name: "bigquery credentials literal", mutate: func(p *spec.Product) { p.Sinks[0].BigQuery.CredentialsRef = `{"type":"service_account"}` },
			want: []string{"spec.sinks[0].bigquery.credentialsRef"}},
		{name: "jdbc secret literal", mutate: func(p *spec.Product) { jdbc(p).SecretRef = "s3cr3t!" }, want: []string{"spec.sinks[2].jdbc.secretRef"}},
		{name: "elasticsearch secret relative file", mutate: func(p *spec.Product) { p.Sinks[3].Elasticsearch.SecretRef = "file:es.properties:pw" },
			want: []string{"spec.sinks[3].elasticsearch.secretRef"}},

		// Source.
		{name: "source host with scheme", mutate: func(p *spec.Product) { p.Source.Host = "postgres://db" }, want: []string{"spec.source.host"}},
		{name: "source host with space", mutate: func(p *spec.Product) { p.Source.Host = "db host" }, want: []string{"spec.source.host"}},
		{name: "source host ipv6", mutate: func(p *spec.Product) { p.Source.Host = "fd00::5" }},
		{name: "source host ipv4", mutate: func(p *spec.Product) { p.Source.Host = "10.0.0.5" }},
		{name: "source host too long", mutate: func(p *spec.Product) { p.Source.Host = strings.Repeat("a.", 127) + "a" }, want: []string{"spec.source.host"}},
		{name: "source port zero", mutate: func(p *spec.Product) { p.Source.Port = 0 }, want: []string{"spec.source.port"}},
		{name: "source port too high", mutate: func(p *spec.Product) { p.Source.Port = 65536 }, want: []string{"spec.source.port"}},
		{name: "source database injection", mutate: func(p *spec.Product) { p.Source.Database = "shop; drop database shop" }, want: []string{"spec.source.database"}},
		{name: "source username with quote", mutate: func(p *spec.Product) { p.Source.Username = `cdc"` }, want: []string{"spec.source.username"}},
		{name: "source table injection", mutate: func(p *spec.Product) { p.Source.Tables[0] = "public.orders; drop table x" },
			want: []string{"spec.source.tables[0]", "spec.ports[0].table"}},
		{name: "source table unqualified", mutate: func(p *spec.Product) { p.Source.Tables[1] = "customers" },
			want: []string{"spec.source.tables[1]", "spec.ports[1].table"}},
		{name: "source without tables", mutate: func(p *spec.Product) { p.Source.Tables = nil },
			want: []string{"spec.source.tables", "spec.ports[0].table", "spec.ports[1].table"}},
		{name: "source with too many tables", mutate: func(p *spec.Product) {
			for i := range spec.MaxTables - 1 {
				p.Source.Tables = append(p.Source.Tables, fmt.Sprintf("s.t%d", i))
			}
		}, want: []string{"spec.source.tables"}},

		// Ports: bounds and references.
		{name: "retention below a minute", mutate: func(p *spec.Product) { port(p, 0).RetentionMs = spec.MinRetentionMs - 1 }, want: []string{"spec.ports[0].retentionMs"}},
		{name: "retention one minute", mutate: func(p *spec.Product) { port(p, 0).RetentionMs = spec.MinRetentionMs }},
		{name: "retention ten years", mutate: func(p *spec.Product) { port(p, 0).RetentionMs = spec.MaxRetentionMs }},
		{name: "retention above ten years", mutate: func(p *spec.Product) { port(p, 0).RetentionMs = spec.MaxRetentionMs + 1 }, want: []string{"spec.ports[0].retentionMs"}},
		{name: "retention forever", mutate: func(p *spec.Product) { port(p, 0).RetentionMs = -1 }},
		{name: "retention minus two", mutate: func(p *spec.Product) { port(p, 0).RetentionMs = -2 }, want: []string{"spec.ports[0].retentionMs"}},
		{name: "retention zero after defaults", mutate: func(p *spec.Product) { port(p, 0).RetentionMs = 0 }, want: []string{"spec.ports[0].retentionMs"}},
		{name: "partitions zero", mutate: func(p *spec.Product) { port(p, 0).Partitions = 0 }, want: []string{"spec.ports[0].partitions"}},
		{name: "partitions negative", mutate: func(p *spec.Product) { port(p, 0).Partitions = -3 }, want: []string{"spec.ports[0].partitions"}},
		{name: "partitions one", mutate: func(p *spec.Product) { port(p, 0).Partitions = 1 }},
		{name: "partitions max", mutate: func(p *spec.Product) { port(p, 0).Partitions = spec.MaxPartitions }},
		{name: "partitions above max", mutate: func(p *spec.Product) { port(p, 0).Partitions = spec.MaxPartitions + 1 }, want: []string{"spec.ports[0].partitions"}},
		{name: "major version 999", before: func(p *spec.Product) { port(p, 0).MajorVersion = spec.MaxMajorVersion }},
		{name: "major version 1000", before: func(p *spec.Product) { port(p, 0).MajorVersion = spec.MaxMajorVersion + 1 }, want: []string{"spec.ports[0].majorVersion"}},
		{name: "major version negative", before: func(p *spec.Product) { port(p, 0).MajorVersion = -1 }, want: []string{"spec.ports[0].majorVersion"}},
		{name: "port table not in source", mutate: func(p *spec.Product) { port(p, 0).Table = "public.refunds" }, want: []string{"spec.ports[0].table"}},
		{name: "port table missing with two source tables", before: func(p *spec.Product) { port(p, 0).Table = "" }, want: []string{"spec.ports[0].table"}},
		{name: "port table defaulted from the only source table", before: func(p *spec.Product) {
			p.Source.Tables = p.Source.Tables[:1]
			p.Ports = p.Ports[:1]
			port(p, 0).Table = ""
			p.Sinks = p.Sinks[:2]
		}},
		{name: "no ports", mutate: func(p *spec.Product) { p.Ports = nil; p.Sinks = nil }, want: []string{"spec.ports"}},
		{name: "too many ports", mutate: func(p *spec.Product) {
			p.Sinks = nil
			for i := range spec.MaxPorts - 1 {
				q := p.Ports[0]
				q.Name = fmt.Sprintf("p%d", i)
				p.Ports = append(p.Ports, q)
			}
		}, want: []string{"spec.ports"}},
		{name: "port without fields", mutate: func(p *spec.Product) { port(p, 0).Fields = nil }, want: []string{"spec.ports[0].fields"}},
		{name: "port with too many fields", mutate: func(p *spec.Product) {
			for i := range spec.MaxFields {
				port(p, 0).Fields = append(port(p, 0).Fields, spec.Field{Name: fmt.Sprintf("f%d", i), Type: spec.TypeString})
			}
		}, want: []string{"spec.ports[0].fields"}},
		{name: "sink references unknown port", mutate: func(p *spec.Product) { p.Sinks[1].Ports = []string{"orders", "returns"} }, want: []string{"spec.sinks[1].ports[1]"}},
		{name: "too many sinks", mutate: func(p *spec.Product) {
			for i := range spec.MaxSinks - 3 {
				s := p.Sinks[3]
				s.Name = fmt.Sprintf("s%d", i)
				p.Sinks = append(p.Sinks, s)
			}
		}, want: []string{"spec.sinks"}},
		{name: "jdbc primary key of an undelivered port", mutate: func(p *spec.Product) { jdbc(p).PrimaryKeyFields = []string{"customer_id", "order_id"} },
			want: []string{"spec.sinks[2].jdbc.primaryKeyFields[1]"}},
		{name: "jdbc primary key not in any port", mutate: func(p *spec.Product) { jdbc(p).PrimaryKeyFields = []string{"id"} },
			want: []string{"spec.sinks[2].jdbc.primaryKeyFields[0]"}},
		{name: "jdbc primary key differs in case", mutate: func(p *spec.Product) { jdbc(p).PrimaryKeyFields = []string{"Customer_Id"} },
			want: []string{"spec.sinks[2].jdbc.primaryKeyFields[0]"}},
		{name: "jdbc primary key from any port when all delivered", mutate: func(p *spec.Product) {
			p.Sinks[2].Ports = nil
			jdbc(p).PrimaryKeyFields = []string{"order_id", "email"}
		}},
		{name: "jdbc delete with insert mode", mutate: func(p *spec.Product) { jdbc(p).InsertMode = "insert" }, want: []string{"spec.sinks[2].jdbc.deleteEnabled"}},
		{name: "jdbc delete with update mode", mutate: func(p *spec.Product) { jdbc(p).InsertMode = "update" }},
		{name: "jdbc insert mode without delete", mutate: func(p *spec.Product) { jdbc(p).InsertMode, jdbc(p).DeleteEnabled = "insert", false }},

		// Labels.
		{name: "too many labels", mutate: func(p *spec.Product) { p.Labels = labels(spec.MaxLabels + 1) }, want: []string{"spec.labels"}},
		{name: "max labels", mutate: func(p *spec.Product) { p.Labels = labels(spec.MaxLabels) }},
		{name: "label key upper case", mutate: func(p *spec.Product) { p.Labels["Team"] = "x" }, want: []string{`spec.labels["Team"]`}},
		{name: "label key with quote", mutate: func(p *spec.Product) { p.Labels[`a"b`] = "x" }, want: []string{`spec.labels["a\"b"]`}},
		{name: "label key interpolation", mutate: func(p *spec.Product) { p.Labels["${var.x}"] = "x" }, want: []string{`spec.labels["${var.x}"]`}},
		{name: "label key too long", mutate: func(p *spec.Product) { p.Labels[long(64)] = "x" }, want: []string{`spec.labels["` + long(64) + `"]`}},
		{name: "label key empty", mutate: func(p *spec.Product) { p.Labels[""] = "x" }, want: []string{`spec.labels[""]`}},
		{name: "label value with space", mutate: func(p *spec.Product) { p.Labels["team"] = "order team" }, want: []string{`spec.labels["team"]`}},
		{name: "label value with newline", mutate: func(p *spec.Product) { p.Labels["team"] = "orders\nx=y" }, want: []string{`spec.labels["team"]`}},
		{name: "label value too long", mutate: func(p *spec.Product) { p.Labels["team"] = long(64) }, want: []string{`spec.labels["team"]`}},
		{name: "label value max length", mutate: func(p *spec.Product) { p.Labels["team"] = long(63) }},
		{name: "label value empty", mutate: func(p *spec.Product) { p.Labels["team"] = "" }},
		{name: "two bad labels", mutate: func(p *spec.Product) { p.Labels["B"] = "x"; p.Labels["a"] = "$" },
			want: []string{`spec.labels["B"]`, `spec.labels["a"]`}},

		// Descriptions and owner.
		{name: "description 4097 runes", mutate: func(p *spec.Product) { p.Description = strings.Repeat("é", spec.MaxDescription+1) }, want: []string{"spec.description"}},
		{name: "description 4096 runes", mutate: func(p *spec.Product) { p.Description = strings.Repeat("é", spec.MaxDescription) }},
		{name: "description with NUL", mutate: func(p *spec.Product) { p.Description = "a\x00b" }, want: []string{"spec.description"}},
		{name: "description with escape sequence", mutate: func(p *spec.Product) { p.Description = "\x1b[31mred" }, want: []string{"spec.description"}},
		{name: "description with C1 control", mutate: func(p *spec.Product) { p.Description = "next\u0085line" }, want: []string{"spec.description"}},
		{name: "description with bidi override", mutate: func(p *spec.Product) { p.Description = "safe \u202e}; drop" }, want: []string{"spec.description"}},
		{name: "description with line separator", mutate: func(p *spec.Product) { p.Description = "one\u2028two" }, want: []string{"spec.description"}},
		{name: "description with DEL", mutate: func(p *spec.Product) { p.Description = "a\x7f" }, want: []string{"spec.description"}},
		{name: "description invalid utf-8", mutate: func(p *spec.Product) { p.Description = "a\xc3" }, want: []string{"spec.description"}},
		{name: "description with tabs and newlines", mutate: func(p *spec.Product) { p.Description = "a\tb\r\nc ${not.interpolated} \"quoted\"" }},
		{name: "port description too long", mutate: func(p *spec.Product) { port(p, 1).Description = strings.Repeat("x", spec.MaxDescription+1) },
			want: []string{"spec.ports[1].description"}},
		{name: "field description with control", mutate: func(p *spec.Product) { field(p, 1, 2).Description = "bell\a" },
			want: []string{"spec.ports[1].fields[2].description"}},
		{name: "owner missing", mutate: func(p *spec.Product) { p.Owner = "" }, want: []string{"spec.owner"}},
		{name: "owner with space", mutate: func(p *spec.Product) { p.Owner = "team orders" }, want: []string{"spec.owner"}},
		{name: "owner with quote", mutate: func(p *spec.Product) { p.Owner = `a"b` }, want: []string{"spec.owner"}},

		// Several independent problems are all reported.
		{name: "several problems", mutate: func(p *spec.Product) {
			p.Owner = ""
			p.Source.Port = 0
			field(p, 0, 1).Type = "uuid"
			p.Sinks[3].Elasticsearch.IndexPrefix = "X"
		}, want: []string{"spec.owner", "spec.source.port", "spec.ports[0].fields[1].type", "spec.sinks[3].elasticsearch.indexPrefix"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := baseline()
			if tt.before != nil {
				tt.before(&p)
			}
			p.Normalize("sales", "orders")
			if tt.mutate != nil {
				tt.mutate(&p)
			}
			got := validate(&p)
			if !slices.Equal(paths(got), tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
				t.Errorf("violations at %q, want %q\n%v", paths(got), tt.want, got)
			}
			for _, f := range got {
				if f.Message == "" {
					t.Errorf("violation at %s has no message", f.Path)
				}
			}
		})
	}
}

func TestValidatePathPrefix(t *testing.T) {
	p := baseline()
	p.Normalize("sales", "orders")
	p.Ports[1].Fields[0].Name = ""
	var v errs.Violations
	p.Validate(&v, "dataProduct.spec")
	if got := paths(v.List()); !slices.Equal(got, []string{"dataProduct.spec.ports[1].fields[0].name", "dataProduct.spec.sinks[2].jdbc.primaryKeyFields[0]"}) {
		t.Errorf("paths %q", got)
	}
	err := v.Err()
	if errs.KindOf(err) != errs.KindInvalidArgument || len(errs.As(err).Fields) != 2 {
		t.Errorf("Err() = %v", err)
	}
}

func TestCheckName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"orders", true},
		{"ab", true},
		{"a1", true},
		{"a-", true},
		{"web-shop-2", true},
		{"a" + strings.Repeat("0", 62), true},
		{"", false},
		{"a", false},
		{"a" + strings.Repeat("0", 63), false},
		{"Orders", false},
		{"1orders", false},
		{"-orders", false},
		{"or_ders", false},
		{"or.ders", false},
		{"or ders", false},
		{"orders\n", false},
		{`a"; drop`, false},
		{"../etc", false},
		{"a/b", false},
		{`a\b`, false},
		{"${var.x}", false},
		{"%{x}", false},
		{"ordérs", false},
		{"οrders", false}, // Greek omicron
		{"orders\x00", false},
	}
	for _, tt := range tests {
		var v errs.Violations
		spec.CheckName(&v, "name", tt.name)
		if got := v.Len() == 0; got != tt.ok || spec.ValidName(tt.name) != tt.ok {
			t.Errorf("CheckName(%q) ok = %v, ValidName = %v, want %v", tt.name, got, spec.ValidName(tt.name), tt.ok)
		}
		if !tt.ok && (v.Len() != 1 || v.List()[0].Path != "name") {
			t.Errorf("CheckName(%q) violations %v, want one at name", tt.name, v.List())
		}
	}
	var v errs.Violations
	spec.CheckName(&v, "x", "")
	if v.Len() != 1 || !strings.Contains(v.List()[0].Message, "required") {
		t.Errorf("empty name: %v", v.List())
	}
}

func TestNormalize(t *testing.T) {
	p := spec.Product{
		Source: spec.Source{Tables: []string{"public.orders"}},
		Ports: []spec.OutputPort{
			{Name: "orders", Topic: "user.supplied.topic"},
			{Name: "orders-v2", MajorVersion: 2, Partitions: 6, RetentionMs: -1, CleanupPolicy: spec.CleanupCompact, Table: "public.other"},
		},
		Sinks: []spec.Sink{
			{Name: "s3", S3: &spec.S3Sink{}},
			{Name: "s3-explicit", S3: &spec.S3Sink{Format: "avro", FlushSize: 5, RotateIntervalMs: 2000}},
			{Name: "jdbc", JDBC: &spec.JDBCSink{}},
			{Name: "jdbc-explicit", JDBC: &spec.JDBCSink{InsertMode: "insert"}},
			{Name: "bq", BigQuery: &spec.BigQuerySink{}},
		},
	}
	p.Normalize("sales", "orders")

	want := []spec.OutputPort{
		{Name: "orders", Topic: "sales.orders.orders.v1", MajorVersion: 1, Partitions: spec.DefaultPartitions,
			RetentionMs: spec.DefaultRetentionMs, CleanupPolicy: spec.CleanupDelete, Table: "public.orders"},
		{Name: "orders-v2", Topic: "sales.orders.orders-v2.v2", MajorVersion: 2, Partitions: 6,
			RetentionMs: -1, CleanupPolicy: spec.CleanupCompact, Table: "public.other"},
	}
	for i := range want {
		if got := p.Ports[i]; fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want[i]) {
			t.Errorf("port %d = %+v, want %+v", i, got, want[i])
		}
	}
	if spec.DefaultRetentionMs != 604_800_000 || spec.DefaultPartitions != 3 {
		t.Errorf("defaults changed: retention %d, partitions %d", spec.DefaultRetentionMs, spec.DefaultPartitions)
	}
	if got := *p.Sinks[0].S3; got != (spec.S3Sink{Format: "parquet", FlushSize: 1000, RotateIntervalMs: 600_000}) {
		t.Errorf("s3 defaults = %+v", got)
	}
	if got := *p.Sinks[1].S3; got != (spec.S3Sink{Format: "avro", FlushSize: 5, RotateIntervalMs: 2000}) {
		t.Errorf("explicit s3 settings changed: %+v", got)
	}
	if p.Sinks[2].JDBC.InsertMode != "upsert" || p.Sinks[3].JDBC.InsertMode != "insert" {
		t.Errorf("jdbc insert modes = %q, %q", p.Sinks[2].JDBC.InsertMode, p.Sinks[3].JDBC.InsertMode)
	}
	if *p.Sinks[4].BigQuery != (spec.BigQuerySink{}) {
		t.Errorf("bigquery settings changed: %+v", *p.Sinks[4].BigQuery)
	}

	// Normalize is idempotent, and renaming recomputes the topic.
	again := p
	again.Ports = slices.Clone(p.Ports)
	again.Normalize("sales", "orders")
	if fmt.Sprintf("%+v", again.Ports) != fmt.Sprintf("%+v", p.Ports) {
		t.Errorf("second Normalize changed ports: %+v", again.Ports)
	}
	again.Normalize("marketing", "leads")
	if again.Ports[0].Topic != "marketing.leads.orders.v1" || again.Ports[1].Topic != "marketing.leads.orders-v2.v2" {
		t.Errorf("topics after renaming: %q, %q", again.Ports[0].Topic, again.Ports[1].Topic)
	}
}

func TestNormalizeLeavesTableWithSeveralSourceTables(t *testing.T) {
	p := spec.Product{
		Source: spec.Source{Tables: []string{"public.a", "public.b"}},
		Ports:  []spec.OutputPort{{Name: "a"}},
	}
	p.Normalize("d1", "p1")
	if p.Ports[0].Table != "" {
		t.Errorf("table = %q, want it left empty for the validator to ask for", p.Ports[0].Table)
	}
	if got := spec.TopicName("d1", "p1", "a", 1); p.Ports[0].Topic != got || got != "d1.p1.a.v1" {
		t.Errorf("topic = %q, TopicName = %q", p.Ports[0].Topic, got)
	}
}

func TestCanTransition(t *testing.T) {
	d, a, dep, r := spec.LifecycleDraft, spec.LifecycleActive, spec.LifecycleDeprecated, spec.LifecycleRetired
	tests := []struct {
		from, to spec.Lifecycle
		ok       bool
	}{
		{d, d, false}, {d, a, true}, {d, dep, false}, {d, r, false},
		{a, d, false}, {a, a, false}, {a, dep, true}, {a, r, false},
		{dep, d, false}, {dep, a, true}, {dep, dep, false}, {dep, r, true},
		{r, d, false}, {r, a, false}, {r, dep, false}, {r, r, false},
	}
	seen := map[[2]spec.Lifecycle]bool{}
	for _, tt := range tests {
		seen[[2]spec.Lifecycle{tt.from, tt.to}] = true
		if got := spec.CanTransition(tt.from, tt.to); got != tt.ok {
			t.Errorf("CanTransition(%s, %s) = %v, want %v", tt.from, tt.to, got, tt.ok)
		}
	}
	// The table covers every pair of the declared lifecycles.
	for _, from := range spec.Lifecycles {
		for _, to := range spec.Lifecycles {
			if !seen[[2]spec.Lifecycle{from, to}] {
				t.Errorf("pair %s → %s not in the table", from, to)
			}
		}
	}
	if len(spec.Lifecycles) != 4 || len(seen) != 16 {
		t.Errorf("%d lifecycles, %d pairs", len(spec.Lifecycles), len(seen))
	}
	for _, l := range []spec.Lifecycle{"", "archived", "Active"} {
		for _, other := range spec.Lifecycles {
			if spec.CanTransition(l, other) || spec.CanTransition(other, l) {
				t.Errorf("transition between %q and %q allowed", l, other)
			}
		}
	}
}

func TestSinkKind(t *testing.T) {
	tests := []struct {
		s    spec.Sink
		want spec.SinkKind
	}{
		{spec.Sink{}, ""},
		{spec.Sink{BigQuery: &spec.BigQuerySink{}}, spec.SinkBigQuery},
		{spec.Sink{S3: &spec.S3Sink{}}, spec.SinkS3},
		{spec.Sink{JDBC: &spec.JDBCSink{}}, spec.SinkJDBC},
		{spec.Sink{Elasticsearch: &spec.ElasticsearchSink{}}, spec.SinkElasticsearch},
		{spec.Sink{S3: &spec.S3Sink{}, JDBC: &spec.JDBCSink{}}, ""},
	}
	for i, tt := range tests {
		if got := tt.s.Kind(); got != tt.want {
			t.Errorf("%d: Kind() = %q, want %q", i, got, tt.want)
		}
	}
}

// SecretRefs lists exactly the fields validation checks as secret
// references, so admission policies see every one of them.
func TestSecretRefs(t *testing.T) {
	p := baseline()
	got := p.SecretRefs("spec")
	want := []spec.SecretRef{
		{Path: "spec.source.secretRef", Ref: "vault:secret/data/orders-db:password"},
		{Path: "spec.sinks[0].bigquery.credentialsRef", Ref: "file:/etc/meshplane/gcp.properties:key"},
		{Path: "spec.sinks[2].jdbc.secretRef", Ref: "env:CRM_DB_PASSWORD"},
		{Path: "spec.sinks[3].elasticsearch.secretRef", Ref: "env:ES_PASSWORD"},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("SecretRefs = %+v, want %+v", got, want)
	}
	// Every reference made malformed: validation complains exactly where
	// SecretRefs points.
	p.Source.SecretRef = "not a reference"
	p.Sinks[0].BigQuery.CredentialsRef = "not a reference"
	p.Sinks[1].S3.CredentialsRef = "not a reference"
	p.Sinks[2].JDBC.SecretRef = "not a reference"
	p.Sinks[3].Elasticsearch.SecretRef = "not a reference"
	var paths []string
	for _, ref := range p.SecretRefs("spec") {
		paths = append(paths, ref.Path)
	}
	var refused []string
	for _, v := range validate(&p) {
		if strings.HasSuffix(v.Path, "secretRef") || strings.HasSuffix(v.Path, "credentialsRef") {
			refused = append(refused, v.Path)
		}
	}
	slices.Sort(paths)
	slices.Sort(refused)
	if len(paths) != 5 || !slices.Equal(paths, refused) {
		t.Fatalf("SecretRefs paths %v, validation refuses %v", paths, refused)
	}
}
