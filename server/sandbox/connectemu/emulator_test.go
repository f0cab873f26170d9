package connectemu_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/meshplane/meshplane/server/sandbox/connectemu"
)

// worker is an emulator behind a real HTTP server.
type worker struct {
	t   *testing.T
	url string
	emu *connectemu.Emulator
}

func newWorker(t *testing.T, cfg connectemu.Config) *worker {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.WorkerID == "" {
		cfg.WorkerID = "127.0.0.1:8083"
	}
	emu, err := connectemu.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(emu.Handler())
	t.Cleanup(srv.Close)
	return &worker{t: t, url: srv.URL, emu: emu}
}

type response struct {
	code int
	body []byte
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

// errorBody decodes a worker error and checks its shape.
func (r response) errorBody(t *testing.T) (code int, message string) {
	t.Helper()
	var e map[string]any
	r.decode(t, &e)
	if len(e) != 2 {
		t.Fatalf("error body %s: want exactly error_code and message", r.body)
	}
	c, ok1 := e["error_code"].(float64)
	m, ok2 := e["message"].(string)
	if !ok1 || !ok2 {
		t.Fatalf("error body %s: want error_code number and message string", r.body)
	}
	if int(c) != r.code {
		t.Fatalf("error_code %v != HTTP status %d", c, r.code)
	}
	return int(c), m
}

func (w *worker) do(method, path string, body any, header ...string) response {
	w.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			w.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, w.url+path, rd)
	if err != nil {
		w.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		w.t.Fatal(err)
	}
	return response{code: resp.StatusCode, body: b}
}

func (w *worker) create(name string, config map[string]string) response {
	return w.do(http.MethodPost, "/connectors", map[string]any{"name": name, "config": config})
}

// Valid configurations, one per connector class, as meshplane's Terraform
// modules would render them.
func postgresConfig() map[string]string {
	return map[string]string{
		"connector.class":     "io.debezium.connector.postgresql.PostgresConnector",
		"tasks.max":           "1",
		"topic.prefix":        "sales.orders",
		"database.hostname":   "pg.internal",
		"database.port":       "5432",
		"database.user":       "debezium",
		"database.password":   "${file:/opt/secrets/sales.properties:pg_password}",
		"database.dbname":     "sales",
		"plugin.name":         "pgoutput",
		"slot.name":           "meshplane_sales_orders",
		"publication.name":    "meshplane_sales_orders",
		"snapshot.mode":       "initial",
		"table.include.list":  "public.orders,public.order_lines",
		"column.exclude.list": "public.orders.card_number",
		"column.mask.hash.SHA-256.with.salt.meshplane": "public.orders.email",
		"column.mask.with.8.chars":                     "public.orders.phone",
		"column.truncate.to.4.chars":                   "public.orders.postcode",
		"transforms":                                   "unwrap",
		"transforms.unwrap.type":                       "io.debezium.transforms.ExtractNewRecordState",
		"key.converter":                                "org.apache.kafka.connect.json.JsonConverter",
		"value.converter":                              "org.apache.kafka.connect.json.JsonConverter",
	}
}

func mysqlConfig() map[string]string {
	return map[string]string{
		"connector.class":                     "io.debezium.connector.mysql.MySqlConnector",
		"tasks.max":                           "1",
		"topic.prefix":                        "crm.customers",
		"database.hostname":                   "mysql.internal",
		"database.port":                       "3306",
		"database.user":                       "debezium",
		"database.password":                   "${env:CRM_MYSQL_PASSWORD}",
		"database.server.id":                  "184054",
		"database.include.list":               "crm",
		"table.include.list":                  "crm.customers",
		"schema.history.internal.kafka.topic": "crm.customers.schema-history",
		"schema.history.internal.kafka.bootstrap.servers": "127.0.0.1:9092",
		"snapshot.mode": "when_needed",
	}
}

func jdbcSinkConfig() map[string]string {
	return map[string]string{
		"connector.class":        "io.debezium.connector.jdbc.JdbcSinkConnector",
		"tasks.max":              "2",
		"topics":                 "sales.orders.public.orders",
		"connection.url":         "jdbc:postgresql://warehouse.internal:5432/analytics",
		"connection.username":    "writer",
		"connection.password":    "${file:/opt/secrets/warehouse.properties:password}",
		"insert.mode":            "upsert",
		"primary.key.mode":       "record_key",
		"delete.enabled":         "true",
		"schema.evolution":       "basic",
		"collection.name.format": "sales_${topic}",
	}
}

func bigQueryConfig() map[string]string {
	return map[string]string{
		"connector.class":                   "com.wepay.kafka.connect.bigquery.BigQuerySinkConnector",
		"tasks.max":                         "1",
		"topics":                            "sales.orders.public.orders",
		"project":                           "acme-analytics",
		"defaultDataset":                    "sales",
		"keySource":                         "JSON",
		"keyfile":                           "${file:/opt/secrets/gcp.properties:keyfile}",
		"autoCreateTables":                  "true",
		"sanitizeTopics":                    "true",
		"errors.tolerance":                  "all",
		"errors.deadletterqueue.topic.name": "sales.orders.dlq",
	}
}

func s3Config() map[string]string {
	return map[string]string{
		"connector.class":       "io.confluent.connect.s3.S3SinkConnector",
		"tasks.max":             "1",
		"topics.regex":          "sales\\.orders\\..*",
		"s3.bucket.name":        "acme-lake",
		"s3.region":             "eu-west-1",
		"flush.size":            "1000",
		"storage.class":         "io.confluent.connect.s3.storage.S3Storage",
		"format.class":          "io.confluent.connect.s3.format.parquet.ParquetFormat",
		"partitioner.class":     "io.confluent.connect.storage.partitioner.TimeBasedPartitioner",
		"path.format":           "'year'=YYYY/'month'=MM/'day'=dd",
		"partition.duration.ms": "3600000",
		"locale":                "en-US",
		"timezone":              "UTC",
		"timestamp.extractor":   "Record",
	}
}

func elasticsearchConfig() map[string]string {
	return map[string]string{
		"connector.class":         "io.confluent.connect.elasticsearch.ElasticsearchSinkConnector",
		"tasks.max":               "1",
		"topics":                  "sales.orders.public.orders",
		"connection.url":          "https://search.internal:9200",
		"connection.username":     "writer",
		"connection.password":     "${env:ES_PASSWORD}",
		"write.method":            "upsert",
		"behavior.on.null.values": "delete",
	}
}

// with returns a copy of base with each key set to its value, or removed
// when the value is "<delete>".
func with(base map[string]string, kv ...string) map[string]string {
	c := maps.Clone(base)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "<delete>" {
			delete(c, kv[i])
		} else {
			c[kv[i]] = kv[i+1]
		}
	}
	return c
}

// withFieldMasks adds the transforms meshplane's sink modules render for
// per-sink field decisions: drop and mask after unwrap, masking skipping
// tombstones.
func withFieldMasks(cfg map[string]string) map[string]string {
	maps.Copy(cfg, map[string]string{
		"transforms":             "unwrap,dropfields,maskfields",
		"transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
		"transforms.unwrap.delete.tombstone.handling.mode": "rewrite",
		"transforms.dropfields.type":                       "org.apache.kafka.connect.transforms.ReplaceField$Value",
		"transforms.dropfields.exclude":                    "email,national_id",
		"transforms.maskfields.type":                       "org.apache.kafka.connect.transforms.MaskField$Value",
		"transforms.maskfields.fields":                     "phone",
		"transforms.maskfields.predicate":                  "tombstone",
		"transforms.maskfields.negate":                     "true",
		"predicates":                                       "tombstone",
		"predicates.tombstone.type":                        "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
	})
	return cfg
}

func TestAcceptsValidConfigOfEachClass(t *testing.T) {
	t.Parallel()
	w := newWorker(t, connectemu.Config{})
	for name, cfg := range map[string]map[string]string{
		"pg-source":    postgresConfig(),
		"mysql-source": mysqlConfig(),
		"jdbc-sink":    jdbcSinkConfig(),
		"bq-sink":      bigQueryConfig(),
		"s3-sink":      s3Config(),
		"es-sink":      elasticsearchConfig(),
		// Field transforms, a class named by its unique simple name, and
		// ReplaceField's other settings.
		"bq-sink-masked": withFieldMasks(bigQueryConfig()),
		// The JDBC sink reads the unwrapped row, deletes arriving as
		// tombstones.
		"jdbc-sink-masked": with(withFieldMasks(jdbcSinkConfig()),
			"transforms.unwrap.delete.tombstone.handling.mode", "delete-to-tombstone"),
		"es-sink-masked": with(withFieldMasks(elasticsearchConfig()),
			"transforms", "unwrap,dropfields,maskfields,index",
			"transforms.index.type", "RegexRouter", "transforms.index.regex", "(.*)", "transforms.index.replacement", "crm-$1",
			"transforms.dropfields.renames", "postcode:zip,:blank"),
	} {
		r := w.create(name, cfg)
		if r.code != http.StatusCreated {
			t.Errorf("%s: POST /connectors = %d %s", name, r.code, r.body)
			continue
		}
		// The Terraform provider compares the stored config map exactly with
		// what it sent plus "name".
		want := maps.Clone(cfg)
		want["name"] = name
		var got map[string]string
		w.do(http.MethodGet, "/connectors/"+name+"/config", nil).decode(t, &got)
		if !maps.Equal(got, want) {
			t.Errorf("%s: stored config differs from submitted:\n got %v\nwant %v", name, got, want)
		}
	}
}

func TestRejectsInvalidConfigs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		config map[string]string
		want   []string // every expected error, in order
	}{
		{"missing required debezium setting",
			with(postgresConfig(), "topic.prefix", "<delete>"),
			[]string{"The 'topic.prefix' value is invalid: A value is required"}},
		{"missing dbname and blank user",
			with(postgresConfig(), "database.dbname", "<delete>", "database.user", " "),
			[]string{"The 'database.user' value is invalid: A value is required", "The 'database.dbname' value is invalid: A value is required"}},
		{"wrong type for mysql server id",
			with(mysqlConfig(), "database.server.id", "primary"),
			[]string{"The 'database.server.id' value is invalid: A positive, non-zero long value is expected"}},
		{"missing mysql server id and schema history",
			with(mysqlConfig(), "database.server.id", "<delete>", "schema.history.internal.kafka.topic", "<delete>"),
			[]string{"The 'database.server.id' value is invalid: A value is required", "The 'schema.history.internal.kafka.topic' value is invalid: A value is required"}},
		{"wrong type for worker int",
			with(postgresConfig(), "tasks.max", "many"),
			[]string{"Invalid value many for configuration tasks.max: Not a number of type INT"}},
		{"tasks.max below one",
			with(jdbcSinkConfig(), "tasks.max", "0"),
			[]string{"Invalid value 0 for configuration tasks.max: Value must be at least 1"}},
		{"errors.tolerance outside its values",
			with(bigQueryConfig(), "errors.tolerance", "some"),
			[]string{"Invalid value some for configuration errors.tolerance: String must be one of: none, all"}},
		{"removed legacy setting database.server.name",
			with(postgresConfig(), "database.server.name", "sales"),
			[]string{"The 'database.server.name' value is invalid: 'database.server.name' was removed in Debezium 2.0 and is ignored by this connector version; use 'topic.prefix' instead"}},
		{"removed legacy database.history.* settings",
			with(mysqlConfig(), "database.history.kafka.topic", "old", "table.whitelist", "crm.customers"),
			[]string{
				"The 'database.history.kafka.topic' value is invalid: 'database.history.kafka.topic' was removed in Debezium 2.0 and is ignored by this connector version; use 'schema.history.internal.kafka.topic' instead",
				"The 'table.whitelist' value is invalid: 'table.whitelist' was removed in Debezium 2.0 and is ignored by this connector version; use 'table.include.list' instead",
			}},
		{"snapshot mode removed in Debezium 3",
			with(postgresConfig(), "snapshot.mode", "never"),
			[]string{"The 'snapshot.mode' value is invalid: Value must be one of always, initial, no_data, initial_only, when_needed, configuration_based, custom"}},
		{"wal2json decoder removed",
			with(postgresConfig(), "plugin.name", "wal2json"),
			[]string{"The 'plugin.name' value is invalid: Value must be one of pgoutput, decoderbufs"}},
		{"include and exclude list together",
			with(postgresConfig(), "table.exclude.list", "public.audit"),
			[]string{"The 'table.exclude.list' value is invalid: \"table.include.list\" is already specified"}},
		{"unknown hash algorithm for masking",
			with(postgresConfig(), "column.mask.hash.SHA-999.with.salt.x", "public.orders.email"),
			[]string{"The 'column.mask.hash.SHA-999.with.salt.x' value is invalid: SHA-999 MessageDigest not available"}},
		{"sink with both topics and topics.regex",
			with(jdbcSinkConfig(), "topics.regex", "sales\\..*"),
			[]string{"topics and topics.regex are mutually exclusive options, but both are set.", "topics and topics.regex are mutually exclusive options, but both are set."}},
		{"sink with neither topics nor topics.regex",
			with(elasticsearchConfig(), "topics", "<delete>"),
			[]string{"Must configure one of topics or topics.regex", "Must configure one of topics or topics.regex"}},
		{"dead letter queue among consumed topics",
			with(bigQueryConfig(), "errors.deadletterqueue.topic.name", "sales.orders.public.orders"),
			[]string{"The DLQ topic 'sales.orders.public.orders' may not be included in the list of topics ('topics=[sales.orders.public.orders]') consumed by the connector"}},
		{"dead letter queue on a source",
			with(postgresConfig(), "errors.deadletterqueue.topic.name", "sales.dlq"),
			[]string{"errors.deadletterqueue.topic.name applies only to sink connectors; a source connector ignores it, so no dead letter queue would exist"}},
		{"delete.enabled without record_key",
			with(jdbcSinkConfig(), "primary.key.mode", "record_value"),
			[]string{
				"When 'delete.enabled' is set to 'true', the 'primary.key.mode' option must be set to 'record_key'.",
				"When 'delete.enabled' is set to 'true', the 'primary.key.mode' option must be set to 'record_key'.",
			}},
		{"jdbc insert mode and schema evolution values",
			with(jdbcSinkConfig(), "insert.mode", "merge", "schema.evolution", "advanced"),
			[]string{"The 'insert.mode' value is invalid: Value must be one of insert, upsert, update", "The 'schema.evolution' value is invalid: Value must be one of none, basic"}},
		{"jdbc sink without connection url",
			with(jdbcSinkConfig(), "connection.url", "<delete>"),
			[]string{"The 'connection.url' value is invalid: A value is required"}},
		{"bigquery without project",
			with(bigQueryConfig(), "project", "<delete>"),
			[]string{"Missing required configuration \"project\" which has no default value."}},
		{"bigquery key source",
			with(bigQueryConfig(), "keySource", "VAULT"),
			[]string{"Invalid value VAULT for configuration keySource: String must be one of: FILE, JSON, APPLICATION_DEFAULT"}},
		{"bigquery upsert without key field",
			with(bigQueryConfig(), "upsertEnabled", "true"),
			[]string{"kafkaKeyFieldName must be specified when upsertEnabled is set to true"}},
		{"s3 flush size not an int",
			with(s3Config(), "flush.size", "lots"),
			[]string{"Invalid value lots for configuration flush.size: Not a number of type INT"}},
		{"s3 flush size zero",
			with(s3Config(), "flush.size", "0"),
			[]string{"Invalid value 0 for configuration flush.size: Value must be at least 1"}},
		{"s3 without bucket and storage class",
			with(s3Config(), "s3.bucket.name", "<delete>", "storage.class", "<delete>"),
			[]string{"Missing required configuration \"s3.bucket.name\" which has no default value.", "Missing required configuration \"storage.class\" which has no default value."}},
		{"s3 unknown format class",
			with(s3Config(), "format.class", "io.confluent.connect.s3.format.csv.CsvFormat"),
			[]string{"Invalid value io.confluent.connect.s3.format.csv.CsvFormat for configuration format.class: Class io.confluent.connect.s3.format.csv.CsvFormat could not be found."}},
		{"s3 time based partitioner incomplete",
			with(s3Config(), "path.format", "<delete>", "partition.duration.ms", "<delete>", "locale", "<delete>", "timezone", "Mars/Olympus"),
			[]string{
				"Invalid value -1 for configuration partition.duration.ms: Partition duration needs to be a positive.",
				"Invalid value  for configuration path.format: Path format cannot be empty.",
				"Invalid value  for configuration locale: Locale cannot be empty.",
				"Invalid value Mars/Olympus for configuration timezone: The datetime zone id 'Mars/Olympus' is not recognised",
			}},
		{"s3 gzip with parquet",
			with(s3Config(), "s3.compression.type", "gzip"),
			[]string{
				"Compression Type gzip not valid for data format class: ( io.confluent.connect.s3.format.parquet.ParquetFormat ).",
				"Compression Type gzip not valid for data format class: ( io.confluent.connect.s3.format.parquet.ParquetFormat ).",
			}},
		{"elasticsearch write method and half credentials",
			with(elasticsearchConfig(), "write.method", "merge", "connection.password", "<delete>"),
			[]string{
				"Both 'connection.username' and 'connection.password' must be set.",
				"Both 'connection.username' and 'connection.password' must be set.",
				"Invalid value merge for configuration write.method: Value must be one of: [insert, upsert]",
			}},
		{"transform alias without type",
			with(postgresConfig(), "transforms", "unwrap,route", "transforms.unwrap.type", "<delete>"),
			[]string{
				"Missing required configuration \"transforms.unwrap.type\" which has no default value.",
				"Missing required configuration \"transforms.route.type\" which has no default value.",
			}},
		{"duplicate transform alias",
			with(postgresConfig(), "transforms", "unwrap, unwrap"),
			[]string{"Invalid value [unwrap, unwrap] for configuration transforms: Duplicate alias provided."}},
		{"unknown transformation class",
			with(bigQueryConfig(), "transforms", "unwrap", "transforms.unwrap.type", "io.debezium.transforms.ExtractNewRecordStates"),
			[]string{"Invalid value io.debezium.transforms.ExtractNewRecordStates for configuration transforms.unwrap.type: Class io.debezium.transforms.ExtractNewRecordStates could not be found."}},
		{"abstract transformation",
			with(withFieldMasks(elasticsearchConfig()), "transforms.maskfields.type", "org.apache.kafka.connect.transforms.MaskField"),
			[]string{"Invalid value class org.apache.kafka.connect.transforms.MaskField for configuration transforms.maskfields.type: " +
				"Transformation is abstract and cannot be created. Did you mean org.apache.kafka.connect.transforms.MaskField$Key, org.apache.kafka.connect.transforms.MaskField$Value?"}},
		{"predicate as transformation and transformation as predicate",
			with(withFieldMasks(bigQueryConfig()),
				"transforms.dropfields.type", "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
				"predicates.tombstone.type", "org.apache.kafka.connect.transforms.Filter"),
			[]string{
				"Invalid value class org.apache.kafka.connect.transforms.predicates.RecordIsTombstone for configuration transforms.dropfields.type: Not a Transformation",
				"Invalid value class org.apache.kafka.connect.transforms.Filter for configuration predicates.tombstone.type: Not a Predicate",
			}},
		{"unknown predicate class",
			with(withFieldMasks(bigQueryConfig()), "predicates.tombstone.type", "org.apache.kafka.connect.transforms.predicates.IsTombstone"),
			[]string{"Invalid value org.apache.kafka.connect.transforms.predicates.IsTombstone for configuration predicates.tombstone.type: Class org.apache.kafka.connect.transforms.predicates.IsTombstone could not be found."}},
		{"mask without fields",
			with(withFieldMasks(s3Config()), "transforms.maskfields.fields", "<delete>"),
			[]string{"Missing required configuration \"transforms.maskfields.fields\" which has no default value."}},
		{"mask with an empty list of fields",
			with(withFieldMasks(s3Config()), "transforms.maskfields.fields", " "),
			[]string{"Invalid value [] for configuration fields: Empty list"}},
		{"mask with a blank replacement",
			with(withFieldMasks(s3Config()), "transforms.maskfields.replacement", " "),
			[]string{"Invalid value  for configuration replacement: String must be non-empty"}},
		{"drop with the settings Kafka 4.0 removed",
			with(withFieldMasks(elasticsearchConfig()), "transforms.dropfields.exclude", "<delete>",
				"transforms.dropfields.blacklist", "email", "transforms.dropfields.whitelist", "id,name"),
			[]string{
				"'transforms.dropfields.blacklist' was removed in Apache Kafka 4.0, whose workers ignore it; use 'transforms.dropfields.exclude' instead",
				"'transforms.dropfields.whitelist' was removed in Apache Kafka 4.0, whose workers ignore it; use 'transforms.dropfields.include' instead",
			}},
		{"drop with an invalid rename",
			with(withFieldMasks(elasticsearchConfig()), "transforms.dropfields.renames", "postcode:zip, phone"),
			[]string{"Invalid value [postcode:zip, phone] for configuration renames: Invalid rename mapping: phone"}},
		{"mask with a predicate nobody defined",
			with(withFieldMasks(bigQueryConfig()), "predicates", "<delete>", "predicates.tombstone.type", "<delete>"),
			[]string{"Config 'transforms.maskfields.predicate' names the predicate 'tombstone', which 'predicates' does not list; the connector's tasks would fail to start"}},
		{"negate not a boolean",
			with(withFieldMasks(bigQueryConfig()), "transforms.maskfields.negate", "yes"),
			[]string{"Invalid value yes for configuration transforms.maskfields.negate: Expected value to be either true or false"}},
	}
	w := newWorker(t, connectemu.Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := w.create("bad", tt.config)
			if r.code != http.StatusBadRequest {
				t.Fatalf("POST /connectors = %d %s, want 400", r.code, r.body)
			}
			_, msg := r.errorBody(t)
			want := "Connector configuration is invalid and contains the following " + strconv.Itoa(len(tt.want)) + " error(s):\n" +
				strings.Join(tt.want, "\n") +
				"\nYou can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`"
			if msg != want {
				t.Errorf("message:\n got %q\nwant %q", msg, want)
			}
			// The rejected connector was not stored.
			if r := w.do(http.MethodGet, "/connectors/bad", nil); r.code != http.StatusNotFound {
				t.Errorf("GET after rejected create = %d", r.code)
			}
		})
	}
}

func TestRejectsUnknownOrMissingClass(t *testing.T) {
	t.Parallel()
	w := newWorker(t, connectemu.Config{})
	cfg := postgresConfig()
	cfg["connector.class"] = "io.debezium.connector.oracle.OracleConnector"
	r := w.create("ora", cfg)
	if r.code != http.StatusBadRequest {
		t.Fatalf("unknown class: %d %s", r.code, r.body)
	}
	if _, msg := r.errorBody(t); !strings.HasPrefix(msg, "Failed to find any class that implements Connector and which name matches io.debezium.connector.oracle.OracleConnector, available connectors are: ") {
		t.Errorf("unknown class message: %q", msg)
	}
	delete(cfg, "connector.class")
	r = w.create("none", cfg)
	if _, msg := r.errorBody(t); r.code != http.StatusBadRequest || !strings.Contains(msg, "contains no connector type") {
		t.Errorf("missing class: %d %q", r.code, msg)
	}
	// The message never echoes secrets from the config.
	if strings.Contains(string(r.body), "secrets") {
		t.Errorf("error echoes the config: %s", r.body)
	}
}

func TestConfigProviderReferencesAreAccepted(t *testing.T) {
	t.Parallel()
	w := newWorker(t, connectemu.Config{})
	cfg := mysqlConfig()
	cfg["database.port"] = "${env:CRM_MYSQL_PORT}"
	cfg["database.server.id"] = "${file:/opt/secrets/crm.properties:server_id}"
	cfg["tasks.max"] = "${env:TASKS}"
	cfg["snapshot.mode"] = "${env:SNAPSHOT_MODE}"
	if r := w.create("refs", cfg); r.code != http.StatusCreated {
		t.Fatalf("POST with config-provider references = %d %s", r.code, r.body)
	}
}

func TestConnectorLifecycle(t *testing.T) {
	t.Parallel()
	w := newWorker(t, connectemu.Config{KafkaClusterID: "cluster-1"})

	var info map[string]any
	r := w.do(http.MethodGet, "/", nil)
	r.decode(t, &info)
	if r.code != http.StatusOK || info["version"] != "3.9.0" || info["kafka_cluster_id"] != "cluster-1" || info["commit"] == "" {
		t.Errorf("GET / = %d %s", r.code, r.body)
	}

	r = w.create("orders", postgresConfig())
	if r.code != http.StatusCreated {
		t.Fatalf("create: %d %s", r.code, r.body)
	}
	var created struct {
		Name   string            `json:"name"`
		Config map[string]string `json:"config"`
		Tasks  []map[string]any  `json:"tasks"`
		Type   string            `json:"type"`
	}
	r.decode(t, &created)
	if created.Name != "orders" || created.Type != "source" || created.Config["name"] != "orders" || len(created.Tasks) != 1 {
		t.Errorf("create body: %s", r.body)
	}

	r = w.create("orders", postgresConfig())
	if code, msg := r.errorBody(t); code != http.StatusConflict || msg != "Connector orders already exists" {
		t.Errorf("duplicate create: %d %q", code, msg)
	}

	r = w.do(http.MethodGet, "/connectors/missing", nil)
	if code, msg := r.errorBody(t); code != http.StatusNotFound || msg != "Connector missing not found" {
		t.Errorf("GET missing: %d %q", code, msg)
	}

	// PUT config updates (200); the name in the body must match the URL.
	cfg := postgresConfig()
	cfg["snapshot.mode"] = "no_data"
	if r := w.do(http.MethodPut, "/connectors/orders/config", cfg); r.code != http.StatusOK {
		t.Errorf("PUT existing = %d %s", r.code, r.body)
	}
	cfg["name"] = "other"
	r = w.do(http.MethodPut, "/connectors/orders/config", cfg)
	if code, msg := r.errorBody(t); code != http.StatusBadRequest || msg != "Connector name configuration (other) doesn't match connector name in the URL (orders)" {
		t.Errorf("PUT name mismatch: %d %q", code, msg)
	}
	// PUT config creates (201).
	if r := w.do(http.MethodPut, "/connectors/lake/config", s3Config()); r.code != http.StatusCreated {
		t.Errorf("PUT new = %d %s", r.code, r.body)
	}

	var status struct {
		Name      string `json:"name"`
		Connector struct {
			State    string `json:"state"`
			WorkerID string `json:"worker_id"`
			Trace    string `json:"trace"`
		} `json:"connector"`
		Tasks []struct {
			ID    int    `json:"id"`
			State string `json:"state"`
			Trace string `json:"trace"`
		} `json:"tasks"`
		Type string `json:"type"`
	}
	w.do(http.MethodGet, "/connectors/orders/status", nil).decode(t, &status)
	if status.Connector.State != "RUNNING" || status.Connector.WorkerID != "127.0.0.1:8083" || status.Type != "source" ||
		len(status.Tasks) != 1 || status.Tasks[0].State != "RUNNING" {
		t.Errorf("status: %+v", status)
	}
	for _, trace := range []string{status.Connector.Trace, status.Tasks[0].Trace} {
		if !strings.Contains(trace, "emulated") || !strings.Contains(trace, "moves no data") {
			t.Errorf("status trace does not say plainly that no data moves: %q", trace)
		}
	}

	var names []string
	w.do(http.MethodGet, "/connectors", nil).decode(t, &names)
	if !slices.Equal(names, []string{"lake", "orders"}) {
		t.Errorf("GET /connectors = %v", names)
	}
	var expanded map[string]map[string]json.RawMessage
	w.do(http.MethodGet, "/connectors?expand=status&expand=info", nil).decode(t, &expanded)
	if len(expanded) != 2 || expanded["lake"]["status"] == nil || expanded["lake"]["info"] == nil {
		t.Errorf("GET /connectors?expand=status&expand=info = %v", expanded)
	}

	if r := w.do(http.MethodPut, "/connectors/orders/pause", nil); r.code != http.StatusAccepted {
		t.Errorf("pause = %d", r.code)
	}
	w.do(http.MethodGet, "/connectors/orders/status", nil).decode(t, &status)
	if status.Connector.State != "PAUSED" {
		t.Errorf("state after pause = %s", status.Connector.State)
	}

	if r := w.do(http.MethodDelete, "/connectors/orders", nil); r.code != http.StatusNoContent {
		t.Errorf("DELETE = %d %s", r.code, r.body)
	}
	if r := w.do(http.MethodGet, "/connectors/orders", nil); r.code != http.StatusNotFound {
		t.Errorf("GET after DELETE = %d", r.code)
	}
	if r := w.do(http.MethodDelete, "/connectors/orders", nil); r.code != http.StatusNotFound {
		t.Errorf("second DELETE = %d", r.code)
	}
	r = w.do(http.MethodPost, "/connectors/lake", nil)
	if code, _ := r.errorBody(t); code != http.StatusMethodNotAllowed {
		t.Errorf("POST /connectors/lake = %d", code)
	}
}

func TestValidateEndpoint(t *testing.T) {
	t.Parallel()
	w := newWorker(t, connectemu.Config{})
	cfg := postgresConfig()
	cfg["name"] = "orders"
	cfg["database.password"] = "s3cr3t-value"
	delete(cfg, "database.hostname")
	r := w.do(http.MethodPut, "/connector-plugins/PostgresConnector/config/validate", cfg)
	if r.code != http.StatusOK {
		t.Fatalf("validate = %d %s", r.code, r.body)
	}
	if strings.Contains(string(r.body), "s3cr3t-value") {
		t.Errorf("validate response reveals a password: %s", r.body)
	}
	var infos struct {
		Name       string   `json:"name"`
		ErrorCount int      `json:"error_count"`
		Groups     []string `json:"groups"`
		Configs    []struct {
			Definition *struct {
				Name         string  `json:"name"`
				Type         string  `json:"type"`
				Required     bool    `json:"required"`
				DefaultValue *string `json:"default_value"`
				Importance   string  `json:"importance"`
				Group        *string `json:"group"`
				Order        int     `json:"order"`
			} `json:"definition"`
			Value struct {
				Name              string   `json:"name"`
				Value             *string  `json:"value"`
				RecommendedValues []string `json:"recommended_values"`
				Errors            []string `json:"errors"`
				Visible           bool     `json:"visible"`
			} `json:"value"`
		} `json:"configs"`
	}
	r.decode(t, &infos)
	if infos.Name != "io.debezium.connector.postgresql.PostgresConnector" || infos.ErrorCount != 1 {
		t.Errorf("name %q error_count %d", infos.Name, infos.ErrorCount)
	}
	for _, g := range []string{"Common", "Transforms", "Error Handling", "Connection", "Transforms: unwrap"} {
		if !slices.Contains(infos.Groups, g) {
			t.Errorf("groups %v lack %q", infos.Groups, g)
		}
	}
	byName := map[string]int{}
	for i, c := range infos.Configs {
		byName[c.Value.Name] = i
		if c.Value.Errors == nil || c.Value.RecommendedValues == nil || !c.Value.Visible {
			t.Errorf("%s: value must carry errors and recommended_values lists and be visible", c.Value.Name)
		}
	}
	host := infos.Configs[byName["database.hostname"]]
	if !slices.Equal(host.Value.Errors, []string{"The 'database.hostname' value is invalid: A value is required"}) ||
		host.Definition == nil || host.Definition.Type != "STRING" || !host.Definition.Required || host.Value.Value != nil {
		t.Errorf("database.hostname entry: %+v", host)
	}
	if pw := infos.Configs[byName["database.password"]]; pw.Value.Value == nil || *pw.Value.Value != "[hidden]" || pw.Definition.Type != "PASSWORD" {
		t.Errorf("database.password entry: %+v", pw)
	}
	mode := infos.Configs[byName["snapshot.mode"]]
	if !slices.Contains(mode.Value.RecommendedValues, "no_data") || mode.Definition.DefaultValue == nil || *mode.Definition.DefaultValue != "initial" {
		t.Errorf("snapshot.mode entry: %+v", mode)
	}
	if tasks := infos.Configs[byName["tasks.max"]]; tasks.Definition.Group == nil || *tasks.Definition.Group != "Common" || tasks.Definition.Importance != "HIGH" {
		t.Errorf("tasks.max entry: %+v", tasks)
	}

	// The class in the body must match the one in the path.
	r = w.do(http.MethodPut, "/connector-plugins/MySqlConnector/config/validate", cfg)
	if code, msg := r.errorBody(t); code != http.StatusBadRequest || !strings.HasPrefix(msg, "Included connector type io.debezium.connector.postgresql.PostgresConnector does not match request type MySqlConnector") {
		t.Errorf("mismatched class: %d %q", code, msg)
	}

	// A valid config validates with no errors; the class may come from the path.
	good := s3Config()
	good["name"] = "lake"
	delete(good, "connector.class")
	r = w.do(http.MethodPut, "/connector-plugins/io.confluent.connect.s3.S3SinkConnector/config/validate", good)
	r.decode(t, &infos)
	if r.code != http.StatusOK || infos.ErrorCount != 0 {
		t.Errorf("valid s3 config: %d %s", r.code, r.body)
	}
	// Like a worker, the validate endpoint reports a missing connector name.
	delete(good, "name")
	w.do(http.MethodPut, "/connector-plugins/S3Sink/config/validate", good).decode(t, &infos)
	if infos.ErrorCount != 1 || !slices.Equal(infos.Configs[0].Value.Errors, []string{`Missing required configuration "name" which has no default value.`}) {
		t.Errorf("validate without name: %+v", infos.Configs[0])
	}

	var plugins []map[string]string
	w.do(http.MethodGet, "/connector-plugins", nil).decode(t, &plugins)
	if len(plugins) != 6 {
		t.Errorf("GET /connector-plugins = %v", plugins)
	}
}

func TestBasicAuth(t *testing.T) {
	t.Parallel()
	w := newWorker(t, connectemu.Config{Username: "admin", Password: "pw"})
	r := w.do(http.MethodGet, "/connectors", nil)
	if code, _ := r.errorBody(t); code != http.StatusUnauthorized {
		t.Errorf("no credentials = %d", code)
	}
	if r := w.do(http.MethodGet, "/connectors", nil, "Authorization", "Basic YWRtaW46d3Jvbmc="); r.code != http.StatusUnauthorized {
		t.Errorf("wrong password = %d", r.code)
	}
	if r := w.do(http.MethodGet, "/connectors", nil, "Authorization", "Basic YWRtaW46cHc="); r.code != http.StatusOK {
		t.Errorf("right credentials = %d %s", r.code, r.body)
	}
}

func TestPersistsConnectors(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "connectors.json")
	w := newWorker(t, connectemu.Config{StatePath: path})
	if r := w.create("orders", postgresConfig()); r.code != http.StatusCreated {
		t.Fatalf("create: %d %s", r.code, r.body)
	}
	if r := w.do(http.MethodPut, "/connectors/orders/stop", nil); r.code != http.StatusNoContent {
		t.Fatalf("stop: %d", r.code)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("connectors file mode %v, want 0600", fi.Mode().Perm())
	}

	again := newWorker(t, connectemu.Config{StatePath: path})
	var got map[string]string
	r := again.do(http.MethodGet, "/connectors/orders/config", nil)
	r.decode(t, &got)
	want := postgresConfig()
	want["name"] = "orders"
	if r.code != http.StatusOK || !maps.Equal(got, want) {
		t.Errorf("after reload: %d %v", r.code, got)
	}
	var status struct {
		Connector struct{ State string } `json:"connector"`
		Tasks     []any                  `json:"tasks"`
	}
	again.do(http.MethodGet, "/connectors/orders/status", nil).decode(t, &status)
	if status.Connector.State != "STOPPED" || len(status.Tasks) != 0 {
		t.Errorf("stopped state not kept: %+v", status)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	if err := (connectemu.Config{}).Validate(); err == nil {
		t.Error("missing logger accepted")
	}
	cfg := connectemu.Config{Logger: slog.New(slog.DiscardHandler), Username: "admin"}
	if err := cfg.Validate(); err == nil {
		t.Error("username without password accepted")
	}
}

// TestValidateEmbedsTransformSettings checks that a transformation's own
// settings are reported under its alias, as ConnectorConfig.enrich embeds
// them, and that a class not transcribed adds only the implicit ones.
func TestValidateEmbedsTransformSettings(t *testing.T) {
	t.Parallel()
	w := newWorker(t, connectemu.Config{})
	cfg := withFieldMasks(bigQueryConfig())
	cfg["name"] = "warehouse"
	var infos connectemu.ConfigInfos
	r := w.do(http.MethodPut, "/connector-plugins/BigQuerySinkConnector/config/validate", cfg)
	r.decode(t, &infos)
	if r.code != http.StatusOK || infos.ErrorCount != 0 {
		t.Fatalf("validate = %d %s", r.code, r.body)
	}
	defs := map[string]*connectemu.ConfigKeyInfo{}
	for _, c := range infos.Configs {
		if c.Definition != nil {
			defs[c.Definition.Name] = c.Definition
		}
	}
	for name, want := range map[string]struct {
		typ, group string
		required   bool
	}{
		"transforms.maskfields.fields":      {"LIST", "Transforms: maskfields", true},
		"transforms.maskfields.replacement": {"STRING", "Transforms: maskfields", false},
		"transforms.maskfields.negate":      {"BOOLEAN", "Transforms: maskfields", false},
		"transforms.dropfields.exclude":     {"LIST", "Transforms: dropfields", false},
		"transforms.dropfields.renames":     {"LIST", "Transforms: dropfields", false},
		"transforms.unwrap.predicate":       {"STRING", "Transforms: unwrap", false},
		"predicates.tombstone.type":         {"CLASS", "Predicates: tombstone", true},
	} {
		d := defs[name]
		if d == nil || d.Type != want.typ || d.Group == nil || *d.Group != want.group || d.Required != want.required {
			t.Errorf("%s: definition %+v, want %s in %q, required %v", name, d, want.typ, want.group, want.required)
		}
	}
	for _, removed := range []string{"transforms.dropfields.blacklist", "transforms.dropfields.whitelist", "predicates.tombstone.negate"} {
		if defs[removed] != nil {
			t.Errorf("%s is defined", removed)
		}
	}
}
