package connectemu

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// This file holds every rule the emulator enforces, as data. Each table names
// the source it was transcribed from. Where the sandbox is stricter than a real
// worker (a problem the real connector reports only when its task starts, or a
// setting the real connector silently ignores), the rule says so: nothing runs
// here, so a task-start failure would otherwise never surface.

// Worker version the emulator reports, and the connector plugin versions whose
// rules the tables below transcribe.
const (
	workerVersion        = "3.9.0"
	workerCommit         = "b6b5a4e3f1c6a3d8"
	debeziumVersion      = "3.6.1.Final"
	bigQueryVersion      = "2.5.11"
	s3Version            = "12.1.9"
	elasticsearchVersion = "15.1.3"
)

const (
	postgresClass      = "io.debezium.connector.postgresql.PostgresConnector"
	mysqlClass         = "io.debezium.connector.mysql.MySqlConnector"
	jdbcSinkClass      = "io.debezium.connector.jdbc.JdbcSinkConnector"
	bigQueryClass      = "com.wepay.kafka.connect.bigquery.BigQuerySinkConnector"
	s3Class            = "io.confluent.connect.s3.S3SinkConnector"
	elasticsearchClass = "io.confluent.connect.elasticsearch.ElasticsearchSinkConnector"
)

// --- Kafka Connect worker settings ---

// Worker groups, in ConfigDef order.
const (
	groupCommon     = "Common"
	groupTransforms = "Transforms"
	groupPredicates = "Predicates"
	groupErrors     = "Error Handling"
)

// workerSettings are the connector-level settings every connector accepts:
// org.apache.kafka.connect.runtime.ConnectorConfig.configDef() (Apache Kafka
// 3.9, connect/runtime), with "transforms"/"predicates" aliases expanded at
// validation time.
var workerSettings = []setting{
	kafka("name", typeString).req().high().in(groupCommon).with(nonEmptyStringWithoutControlChars).
		about("Globally unique name to use for this connector."),
	kafka("connector.class", typeString).req().high().in(groupCommon).
		about("Name or alias of the class for this connector. Must be a subclass of org.apache.kafka.connect.connector.Connector."),
	kafka("tasks.max", typeInt).dflt("1").high().in(groupCommon).with(atLeast(1)).
		about("Maximum number of tasks to use for this connector."),
	kafka("tasks.max.enforce", typeBoolean).dflt("true").low().in(groupCommon).
		about("(Deprecated) Whether to enforce that the tasks.max property is respected by the connector."),
	kafka("key.converter", typeClass).low().in(groupCommon).
		about("Converter class used to convert between Kafka Connect format and the serialized form that is written to Kafka."),
	kafka("value.converter", typeClass).low().in(groupCommon).
		about("Converter class used to convert between Kafka Connect format and the serialized form that is written to Kafka."),
	kafka("header.converter", typeClass).dflt("Inherited from Connect config").low().in(groupCommon).
		about("HeaderConverter class used to convert between Kafka Connect format and the serialized form that is written to Kafka."),
	kafka("transforms", typeList).dflt("").low().in(groupTransforms).
		about("Aliases for the transformations to be applied to records."),
	kafka("predicates", typeList).dflt("").low().in(groupPredicates).
		about("Aliases for the predicates used by transformations."),
	kafka("config.action.reload", typeString).dflt("restart").low().in(groupCommon).oneOf("none", "restart").
		about("The action that Connect should take on the connector when changes in external configuration providers result in a change in the connector's configuration properties."),
	kafka("errors.retry.timeout", typeLong).dflt("0").in(groupErrors).
		about("The maximum duration in milliseconds that a failed operation will be reattempted."),
	kafka("errors.retry.delay.max.ms", typeLong).dflt("60000").in(groupErrors).
		about("The maximum duration in milliseconds between consecutive retry attempts."),
	kafka("errors.tolerance", typeString).dflt("none").in(groupErrors).oneOf("none", "all").
		about("Behavior for tolerating errors during connector operation."),
	kafka("errors.log.enable", typeBoolean).dflt("false").in(groupErrors).
		about("If true, write each error and the details of the failed operation and problematic record to the Connect application log."),
	kafka("errors.log.include.messages", typeBoolean).dflt("false").in(groupErrors).
		about("Whether to include in the log the Connect record that resulted in a failure."),
}

// sinkWorkerSettings are org.apache.kafka.connect.runtime.SinkConnectorConfig's
// additions (Apache Kafka 3.9).
var sinkWorkerSettings = []setting{
	kafka("topics", typeList).dflt("").high().in(groupCommon).
		about("List of topics to consume, separated by commas"),
	kafka("topics.regex", typeString).dflt("").high().in(groupCommon).with(javaRegex).
		about("Regular expression giving topics to consume."),
	kafka("errors.deadletterqueue.topic.name", typeString).dflt("").in(groupErrors).
		about("The name of the topic to be used as the dead letter queue (DLQ) for messages that result in an error when processed by this sink connector."),
	kafka("errors.deadletterqueue.topic.replication.factor", typeShort).dflt("3").in(groupErrors).
		about("Replication factor used to create the dead letter queue topic when it doesn't already exist."),
	kafka("errors.deadletterqueue.context.headers.enable", typeBoolean).dflt("false").in(groupErrors).
		about("If true, add headers containing error context to the messages written to the dead letter queue."),
}

// sourceWorkerSettings are org.apache.kafka.connect.runtime.SourceConnectorConfig's
// additions (Apache Kafka 3.9, KIP-158 and KIP-618).
var sourceWorkerSettings = []setting{
	kafka("topic.creation.groups", typeList).dflt("").low().in("Topic Creation").
		about("Groups of configurations for topics created by source connectors"),
	kafka("exactly.once.support", typeString).dflt("requested").in("Exactly Once Support").
		with(caseInsensitiveValidString("requested", "required")).recommend("requested", "required").
		about("Permitted values are requested, required."),
	kafka("transaction.boundary", typeString).dflt("poll").in("Exactly Once Support").
		with(caseInsensitiveValidString("poll", "interval", "connector")).recommend("poll", "interval", "connector").
		about("Permitted values are: poll, interval, connector."),
	kafka("offsets.storage.topic", typeString).low().in("Offsets Topic").
		about("The name of a separate offsets topic to use for this connector."),
}

// sinkWorkerRules are SinkConnectorConfig.validate as AbstractHerder runs it
// on every sink (Apache Kafka 3.9).
var sinkWorkerRules = []rule{
	func(c view) []finding {
		hasTopics, hasRegex := !c.blank("topics"), !c.blank("topics.regex")
		switch {
		case hasTopics && hasRegex:
			return []finding{{keys: []string{"topics", "topics.regex"},
				message: "topics and topics.regex are mutually exclusive options, but both are set."}}
		case !hasTopics && !hasRegex:
			return []finding{{keys: []string{"topics", "topics.regex"},
				message: "Must configure one of topics or topics.regex"}}
		}
		return nil
	},
	func(c view) []finding {
		dlq, ok := c.str("errors.deadletterqueue.topic.name", "")
		if !ok || dlq == "" {
			return nil
		}
		if topics, ok := c.str("topics", ""); ok && topics != "" {
			list := parseList(topics)
			if slices.Contains(list, dlq) {
				return []finding{{keys: []string{"errors.deadletterqueue.topic.name"}, message: fmt.Sprintf(
					"The DLQ topic '%s' may not be included in the list of topics ('topics=[%s]') consumed by the connector",
					dlq, strings.Join(list, ", "))}}
			}
		}
		if re, ok := c.str("topics.regex", ""); ok && re != "" {
			if p, err := regexp.Compile("^(?:" + re + ")$"); err == nil && p.MatchString(dlq) {
				return []finding{{keys: []string{"errors.deadletterqueue.topic.name"}, message: fmt.Sprintf(
					"The DLQ topic '%s' may not be included in the regex matching the topics ('topics.regex=%s') consumed by the connector",
					dlq, re)}}
			}
		}
		return nil
	},
}

// sourceWorkerRules hold what the sandbox adds for sources. Stricter than a
// real worker: Kafka's SourceConnectorConfig does not define the dead letter
// queue settings, so a source silently ignores them and no DLQ would ever
// exist; the sandbox says so instead of accepting the setting.
var sourceWorkerRules = []rule{
	func(c view) []finding {
		if _, ok := c.value("errors.deadletterqueue.topic.name"); !ok {
			return nil
		}
		return []finding{{keys: []string{"errors.deadletterqueue.topic.name"},
			message: "errors.deadletterqueue.topic.name applies only to sink connectors; a source connector ignores it, so no dead letter queue would exist"}}
	},
}

// --- Debezium (3.x) ---

// Debezium Field groups (io.debezium.config.Field.Group).
const (
	dbzConnection            = "Connection"
	dbzConnectionSSL         = "Connection Advanced (SSL)"
	dbzConnectionAdvanced    = "Connection Advanced"
	dbzConnectionReplication = "Connection Advanced (Replication)"
	dbzConnectionPublication = "Connection Advanced (Publication)"
	dbzFilters               = "Filters"
	dbzSnapshot              = "Connector Snapshot"
	dbzConnector             = "Connector"
	dbzConnectorAdvanced     = "Connector Advanced"
	dbzHistory               = "History Storage"
)

// debeziumRelationalSettings are the settings Debezium's relational sources
// share: CommonConnectorConfig and RelationalDatabaseConnectorConfig
// (debezium-connector-common, Debezium 3.6.1.Final). Enumerations list the
// values of the Java enums the fields are declared with.
func debeziumRelationalSettings(port string) []setting {
	return []setting{
		dbz("topic.prefix", typeString).req().high().in(dbzConnection).with(dbzTopicName).
			about("Topic prefix that identifies and provides a namespace for the particular database server/cluster is capturing changes. The topic prefix should be unique across all other connectors."),
		dbz("database.hostname", typeString).req().high().in(dbzConnection).with(dbzHostname).
			about("Resolvable hostname or IP address of the database server."),
		dbz("database.port", typeInt).dflt(port).high().in(dbzConnection).with(dbzInteger).
			about("Port of the database server."),
		dbz("database.user", typeString).req().high().in(dbzConnection).
			about("Name of the database user to be used when connecting to the database."),
		dbz("database.password", typePassword).high().in(dbzConnection).
			about("Password of the database user to be used when connecting to the database."),
		dbz("table.include.list", typeList).in(dbzFilters).with(dbzListOfRegex).
			about("The tables for which changes are to be captured"),
		dbz("table.exclude.list", typeList).in(dbzFilters).with(dbzListOfRegex).
			about("A comma-separated list of regular expressions that match the fully-qualified names of tables to be excluded from monitoring"),
		dbz("column.include.list", typeList).in(dbzFilters).with(dbzListOfRegex).
			about("Regular expressions matching columns to include in change events"),
		dbz("column.exclude.list", typeList).in(dbzFilters).with(dbzListOfRegex).
			about("Regular expressions matching columns to exclude from change events"),
		dbz("decimal.handling.mode", typeString).dflt("precise").in(dbzConnector).oneOf("precise", "string", "double").
			about("Specify how DECIMAL and NUMERIC columns should be represented in change events."),
		dbz("binary.handling.mode", typeString).dflt("bytes").low().in(dbzConnector).oneOf("bytes", "base64", "base64-url-safe", "hex").
			about("Specify how binary (blob, binary, etc.) columns should be represented in change events."),
		dbz("schema.name.adjustment.mode", typeString).dflt("none").in(dbzConnectorAdvanced).oneOf("none", "avro", "avro_unicode").
			about("Specify how schema names should be adjusted for compatibility with the message converter used by the connector."),
		dbz("field.name.adjustment.mode", typeString).dflt("none").in(dbzConnectorAdvanced).oneOf("none", "avro", "avro_unicode").
			about("Specify how field names should be adjusted for compatibility with the message converter used by the connector."),
		dbz("event.processing.failure.handling.mode", typeString).dflt("fail").in(dbzConnectorAdvanced).oneOf("skip", "warn", "fail", "ignore").
			about("Specify how failures during processing of events (i.e. when encountering a corrupted event) should be handled."),
		dbz("tombstones.on.delete", typeBoolean).dflt("true").in(dbzConnectorAdvanced).with(dbzBoolean).
			about("Whether delete operations should be represented by a delete event and a subsequent tombstone event (true) or only by a delete event (false)."),
		dbz("include.schema.comments", typeBoolean).dflt("false").low().in(dbzConnectorAdvanced).with(dbzBoolean).
			about("Whether the connector parse table and column's comment to metadata object."),
		dbz("snapshot.max.threads", typeInt).dflt("1").in(dbzSnapshot).with(dbzPositiveInteger).
			about("The maximum number of threads used to perform the snapshot."),
		dbz("max.batch.size", typeInt).dflt("2048").in(dbzConnectorAdvanced).
			about("Maximum size of each batch of source records."),
		dbz("max.queue.size", typeInt).dflt("8192").in(dbzConnectorAdvanced).
			about("Maximum size of the queue for change events read from the database log but not yet recorded or forwarded."),
		dbz("poll.interval.ms", typeLong).dflt("500").in(dbzConnectorAdvanced).
			about("Time to wait for new change events to appear after receiving no events, given in milliseconds."),
		dbz("query.fetch.size", typeInt).dflt("0").in(dbzConnectorAdvanced).with(dbzNonNegativeInteger).
			about("The maximum number of records that should be loaded into memory while streaming."),
		dbz("errors.max.retries", typeInt).dflt("-1").in(dbzConnectorAdvanced).with(dbzInteger).
			about("The maximum number of retries on connection errors before failing (-1 = no limit, 0 = disabled, > 0 = num of retries)."),
		dbz("provide.transaction.metadata", typeBoolean).dflt("false").in(dbzConnector).
			about("Enables transaction metadata extraction together with event counting"),
		dbz("skipped.operations", typeList).dflt("t").low().in(dbzConnectorAdvanced).with(dbzSkippedOperations).
			about("The comma-separated list of operations to skip during streaming, defined as: 'c' for inserts/create; 'u' for updates; 'd' for deletes, 't' for truncates, and 'none' to indicate nothing skipped."),
		dbz("topic.naming.strategy", typeClass).in(dbzConnector).with(dbzClassName).
			about("The name of the TopicNamingStrategy class that should be used to determine the topic name for data change, schema change, transaction, heartbeat event etc."),
		dbz("heartbeat.interval.ms", typeInt).dflt("0").in("Advanced Heartbeat").
			about("Length of an interval in milli-seconds in in which the connector periodically sends heartbeat messages to a heartbeat topic."),
	}
}

// debeziumMaskingPatterns are the column mappers ColumnMappers.create reads
// (debezium-connector-common, Debezium 3.6.1.Final); the architecture
// compiles masking decisions into exactly these keys.
var debeziumMaskingPatterns = []patternSetting{
	{regexp.MustCompile(`^column\.truncate\.to\.\d+\.chars$`),
		dbz("column.truncate.to.(d+).chars", typeList).in(dbzConnectorAdvanced).with(dbzListOfRegex).
			about("A comma-separated list of regular expressions matching fully-qualified names of columns that should be truncated to the configured amount of characters.")},
	{regexp.MustCompile(`^column\.mask\.with\.\d+\.chars$`),
		dbz("column.mask.with.(d+).chars", typeList).in(dbzConnectorAdvanced).with(dbzListOfRegex).
			about("A comma-separated list of regular expressions matching fully-qualified names of columns that should be masked with configured amount of asterisk ('*') characters.")},
	{regexp.MustCompile(`^column\.mask\.hash\.(v2\.)?[^.]+\.with\.salt\..+$`),
		dbz("column.mask.hash.([^.]+).with.salt.(.+)", typeList).in(dbzConnectorAdvanced).with(dbzListOfRegex).
			about("A comma-separated list of regular expressions matching fully-qualified names of columns that should be masked by hashing the input, using the specified hash algorithms and salt.")},
	{regexp.MustCompile(`^column\.propagate\.source\.type$`),
		dbz("column.propagate.source.type", typeList).in(dbzConnectorAdvanced).with(dbzListOfRegex).
			about("A comma-separated list of regular expressions matching fully-qualified names of columns that adds the column's original type and original length as parameters to the corresponding field schemas in the emitted change records.")},
	{regexp.MustCompile(`^datatype\.propagate\.source\.type$`),
		dbz("datatype.propagate.source.type", typeList).in(dbzConnectorAdvanced).with(dbzListOfRegex).
			about("A comma-separated list of regular expressions matching the database-specific data type names that adds the data type's original type and original length as parameters to the corresponding field schemas in the generated change records.")},
}

// dbzSkippedOperations is CommonConnectorConfig.validateSkippedOperation.
func dbzSkippedOperations(v string) string {
	for _, op := range parseList(v) {
		switch strings.ToLower(op) {
		case "c", "u", "d", "t", "none":
		default:
			return "Invalid operation " + op
		}
	}
	return ""
}

// javaMessageDigests are the MessageDigest algorithms every Java runtime
// provides (Java Security Standard Algorithm Names), matched
// case-insensitively as MessageDigest.getInstance matches them.
var javaMessageDigests = []string{
	"MD2", "MD5", "SHA", "SHA1", "SHA-1", "SHA-224", "SHA-256", "SHA-384", "SHA-512",
	"SHA-512/224", "SHA-512/256", "SHA3-224", "SHA3-256", "SHA3-384", "SHA3-512",
}

var maskHashKey = regexp.MustCompile(`^column\.mask\.hash\.(?:v2\.)?([^.]+)\.with\.salt\..+$`)

// debeziumRelationalRules hold the cross-setting checks of
// RelationalDatabaseConnectorConfig.validateExcludeList, plus the masking
// hash algorithm check. Stricter than a real worker: Debezium resolves the
// hash algorithm only when the task builds its column mappers, so a real
// worker accepts the connector and its task fails at start with
// java.security.NoSuchAlgorithmException; the sandbox reports it up front.
func debeziumRelationalRules(pairs ...[2]string) []rule {
	var rules []rule
	for _, p := range pairs {
		include, exclude := p[0], p[1]
		rules = append(rules, func(c view) []finding {
			if c.blank(include) || c.blank(exclude) {
				return nil
			}
			return []finding{{keys: []string{exclude},
				message: fmt.Sprintf("The '%s' value is invalid: \"%s\" is already specified", exclude, include)}}
		})
	}
	rules = append(rules, func(c view) []finding {
		var out []finding
		for _, k := range sortedKeys(c) {
			m := maskHashKey.FindStringSubmatch(k)
			if m == nil {
				continue
			}
			if !slices.ContainsFunc(javaMessageDigests, func(a string) bool { return strings.EqualFold(a, m[1]) }) {
				out = append(out, finding{keys: []string{k},
					message: fmt.Sprintf("The '%s' value is invalid: %s MessageDigest not available", k, m[1])})
			}
		}
		return out
	})
	return rules
}

// debeziumRemoved are settings Debezium 2.0 removed (Debezium 2.0.0.Final
// release notes, "Removed deprecated configuration options"; the 2.x/3.x
// connector documentation lists only the replacements). Debezium 3.x ignores
// them silently, so a config still using them runs with defaults (for
// database.history.*, without its schema history topic); the sandbox reports
// them instead.
var debeziumRemoved = []removal{
	{name: "database.server.name", replacement: "topic.prefix", since: "Debezium 2.0"},
	{name: "database.history.", prefix: true, replacement: "schema.history.internal.", since: "Debezium 2.0"},
	{name: "database.history", replacement: "schema.history.internal", since: "Debezium 2.0"},
	{name: "database.whitelist", replacement: "database.include.list", since: "Debezium 2.0"},
	{name: "database.blacklist", replacement: "database.exclude.list", since: "Debezium 2.0"},
	{name: "schema.whitelist", replacement: "schema.include.list", since: "Debezium 2.0"},
	{name: "schema.blacklist", replacement: "schema.exclude.list", since: "Debezium 2.0"},
	{name: "table.whitelist", replacement: "table.include.list", since: "Debezium 2.0"},
	{name: "table.blacklist", replacement: "table.exclude.list", since: "Debezium 2.0"},
	{name: "column.whitelist", replacement: "column.include.list", since: "Debezium 2.0"},
	{name: "column.blacklist", replacement: "column.exclude.list", since: "Debezium 2.0"},
}

// postgresPlugin is io.debezium.connector.postgresql.PostgresConnector:
// PostgresConnectorConfig (debezium-connector-postgres, Debezium
// 3.6.1.Final) on top of the relational settings. Connection checks
// (reaching the server, wal_level, the slot) are not emulated.
var postgresPlugin = &plugin{
	class:      postgresClass,
	kind:       "source",
	version:    debeziumVersion,
	singleTask: true,
	groups: []string{dbzConnection, dbzConnectionSSL, dbzConnectionReplication, dbzConnectionPublication,
		dbzFilters, dbzSnapshot, dbzConnector, dbzConnectorAdvanced, "Advanced Heartbeat"},
	settings: append(debeziumRelationalSettings("5432"),
		dbz("database.dbname", typeString).req().high().in(dbzConnection).
			about("The name of the database from which the connector should capture changes"),
		dbz("database.sslmode", typeString).dflt("prefer").in(dbzConnectionSSL).
			oneOf("disable", "allow", "prefer", "require", "verify-ca", "verify-full").
			about("Whether to use an encrypted connection to Postgres."),
		dbz("plugin.name", typeString).dflt("decoderbufs").in(dbzConnectionReplication).oneOf("pgoutput", "decoderbufs").
			about("The name of the Postgres logical decoding plugin installed on the server."),
		dbz("slot.name", typeString).dflt("debezium").in(dbzConnectionReplication).with(dbzSlotName).
			about("The name of the Postgres logical decoding slot created for streaming changes from a plugin."),
		dbz("slot.drop.on.stop", typeBoolean).dflt("false").in(dbzConnectionReplication).
			about("Whether or not to drop the logical replication slot when the connector finishes orderly."),
		dbz("slot.max.retries", typeInt).dflt("6").in(dbzConnectionReplication).with(dbzInteger).
			about("How many times to retry connecting to a replication slot when an attempt fails."),
		dbz("slot.retry.delay.ms", typeLong).dflt("10000").in(dbzConnectionReplication).with(dbzInteger).
			about("Time to wait between retry attempts when the connector fails to connect to a replication slot, given in milliseconds."),
		dbz("publication.name", typeString).dflt("dbz_publication").in(dbzConnectionPublication).
			about("The name of the Postgres 10+ publication used for streaming changes from a plugin."),
		dbz("publication.autocreate.mode", typeString).dflt("all_tables").in(dbzConnectionPublication).
			oneOf("disabled", "all_tables", "filtered", "no_tables").
			about("Applies only when streaming changes using pgoutput. Determine how creation of a publication should work."),
		dbz("schema.include.list", typeList).in(dbzFilters).with(dbzListOfRegex).
			about("The schemas for which events should be captured"),
		dbz("schema.exclude.list", typeList).in(dbzFilters).with(dbzListOfRegex).
			about("The schemas for which events must not be captured"),
		dbz("snapshot.mode", typeString).dflt("initial").in(dbzSnapshot).
			oneOf("always", "initial", "no_data", "initial_only", "when_needed", "configuration_based", "custom").
			about("The criteria for running a snapshot upon startup of the connector."),
		dbz("snapshot.isolation.mode", typeString).dflt("serializable").in(dbzSnapshot).
			oneOf("serializable", "repeatable_read", "read_committed", "read_uncommitted").
			about("Controls which transaction isolation level is used."),
		dbz("snapshot.locking.mode", typeString).dflt("none").in(dbzSnapshot).oneOf("shared", "none", "custom").
			about("Controls how the connector holds locks on tables while performing the schema snapshot."),
		dbz("time.precision.mode", typeString).dflt("adaptive").in(dbzConnector).
			oneOf("adaptive", "adaptive_time_microseconds", "isostring", "connect", "microseconds", "nanoseconds").
			about("Time, date, and timestamps can be represented with different kinds of precisions."),
		dbz("hstore.handling.mode", typeString).dflt("json").in(dbzConnector).oneOf("json", "map").
			about("Specify how HSTORE columns should be represented in change events."),
		dbz("interval.handling.mode", typeString).dflt("numeric").in(dbzConnector).oneOf("numeric", "string").
			about("Specify how INTERVAL columns should be represented in change events."),
		dbz("schema.refresh.mode", typeString).dflt("columns_diff").in(dbzConnectorAdvanced).
			oneOf("columns_diff", "columns_diff_exclude_unchanged_toast").
			about("Specify the conditions that trigger a refresh of the in-memory schema for a table."),
		dbz("include.unknown.datatypes", typeBoolean).dflt("false").in(dbzConnectorAdvanced).
			about("Specify whether the fields of data type not supported by Debezium should be processed."),
		dbz("status.update.interval.ms", typeInt).dflt("10000").in(dbzConnectionReplication).with(dbzPositiveInteger).
			about("Frequency for sending replication connection status updates to the server, given in milliseconds."),
	),
	patterns:       debeziumMaskingPatterns,
	rules:          debeziumRelationalRules([2]string{"schema.include.list", "schema.exclude.list"}, [2]string{"table.include.list", "table.exclude.list"}, [2]string{"column.include.list", "column.exclude.list"}),
	removed:        debeziumRemoved,
	removalDialect: debeziumDialect,
}

// kafkaSchemaHistory is the default schema.history.internal implementation;
// its settings are required only while it is the one in use
// (KafkaSchemaHistory.forKafka).
const kafkaSchemaHistory = "io.debezium.storage.kafka.history.KafkaSchemaHistory"

func usesKafkaSchemaHistory(c view) bool {
	v, ok := c.str("schema.history.internal", kafkaSchemaHistory)
	return !ok || v == kafkaSchemaHistory
}

// mysqlPlugin is io.debezium.connector.mysql.MySqlConnector:
// BinlogConnectorConfig and MySqlConnectorConfig (Debezium 3.6.1.Final) with
// KafkaSchemaHistory (debezium-storage-kafka) on top of the relational
// settings. Connection checks (binlog format, GTID mode) are not emulated.
var mysqlPlugin = &plugin{
	class:      mysqlClass,
	kind:       "source",
	version:    debeziumVersion,
	singleTask: true,
	groups:     []string{dbzConnection, dbzConnectionSSL, dbzConnectionAdvanced, dbzFilters, dbzSnapshot, dbzConnector, dbzConnectorAdvanced, dbzHistory, "Advanced Heartbeat"},
	settings: append(debeziumRelationalSettings("3306"),
		dbz("database.server.id", typeLong).req().high().in(dbzConnection).with(dbzPositiveLong).
			about("A numeric ID of this database client, which must be unique across all currently-running database processes in the cluster."),
		dbz("database.server.id.offset", typeLong).dflt("10000").high().in(dbzConnectionAdvanced).
			about("Only relevant if parallel snapshotting is configured."),
		dbz("database.ssl.mode", typeString).dflt("preferred").in(dbzConnectionSSL).
			oneOf("disabled", "preferred", "required", "verify_ca", "verify_identity").
			about("Whether to use an encrypted connection to the database."),
		dbz("connect.timeout.ms", typeInt).dflt("30000").in(dbzConnectionAdvanced).with(dbzPositiveInteger).
			about("Maximum time to wait after trying to connect to the database before timing out, given in milliseconds."),
		dbz("database.include.list", typeList).in(dbzFilters).with(dbzListOfRegex).
			about("The databases for which changes are to be captured"),
		dbz("database.exclude.list", typeList).in(dbzFilters).with(dbzListOfRegex).
			about("A comma-separated list of regular expressions that match database names to be excluded from monitoring"),
		dbz("snapshot.mode", typeString).dflt("initial").in(dbzSnapshot).
			oneOf("always", "when_needed", "initial", "no_data", "recovery", "initial_only", "configuration_based", "custom").
			about("The criteria for running a snapshot upon startup of the connector."),
		dbz("snapshot.locking.mode", typeString).dflt("minimal").in(dbzSnapshot).
			oneOf("extended", "minimal", "minimal_percona", "minimal_percona_no_table_locks", "none", "custom").
			about("Controls how long the connector holds onto the global read lock while it is performing a snapshot."),
		dbz("time.precision.mode", typeString).dflt("adaptive_time_microseconds").in(dbzConnector).
			oneOf("adaptive", "adaptive_time_microseconds", "isostring", "connect", "microseconds", "nanoseconds").
			with(func(v string) string {
				// BinlogConnectorConfig.validateTimePrecisionMode.
				if strings.TrimSpace(v) == "adaptive" {
					return "The 'adaptive' time.precision.mode is no longer supported"
				}
				return ""
			}).
			about("Time, date and timestamps can be represented with different kinds of precisions."),
		dbz("bigint.unsigned.handling.mode", typeString).dflt("long").in(dbzConnector).oneOf("precise", "long").
			about("Specify how BIGINT UNSIGNED columns should be represented in change events."),
		dbz("inconsistent.schema.handling.mode", typeString).dflt("fail").in(dbzConnectorAdvanced).oneOf("skip", "warn", "fail", "ignore").
			about("Specify how binlog events that belong to a table missing from internal schema representation should be handled."),
		dbz("include.schema.changes", typeBoolean).dflt("true").in(dbzConnector).
			about("Whether the connector should publish changes in the database schema to a Kafka topic with the same name as the database server ID."),
		dbz("include.query", typeBoolean).dflt("false").in(dbzConnector).
			about("Whether the connector should include the original SQL query that generated the change event."),
		dbz("schema.history.internal", typeClass).dflt(kafkaSchemaHistory).low().in(dbzHistory).
			about("The name of the SchemaHistory class that should be used to store and recover database schema changes."),
		dbz("schema.history.internal.kafka.topic", typeString).reqIf(usesKafkaSchemaHistory).high().in(dbzHistory).
			about("The name of the topic for the database schema history"),
		dbz("schema.history.internal.kafka.bootstrap.servers", typeString).reqIf(usesKafkaSchemaHistory).high().in(dbzHistory).
			about("A list of host/port pairs that the connector will use for establishing the initial connection to the Kafka cluster for retrieving database schema history previously stored by the connector."),
		dbz("schema.history.internal.store.only.captured.tables.ddl", typeBoolean).dflt("false").low().in(dbzHistory).
			about("Controls what DDL will Debezium store in database schema history."),
		dbz("schema.history.internal.skip.unparseable.ddl", typeBoolean).dflt("false").low().in(dbzHistory).
			about("Controls the action Debezium will take when it meets a DDL statement in binlog, that it cannot parse."),
	),
	patterns:       debeziumMaskingPatterns,
	rules:          debeziumRelationalRules([2]string{"database.include.list", "database.exclude.list"}, [2]string{"table.include.list", "table.exclude.list"}, [2]string{"column.include.list", "column.exclude.list"}),
	removed:        debeziumRemoved,
	removalDialect: debeziumDialect,
}

// jdbcSinkPlugin is io.debezium.connector.jdbc.JdbcSinkConnector:
// JdbcSinkConnectorConfig (debezium-connector-jdbc) and the shared
// io.debezium.sink.SinkConnectorConfig (debezium-sink), Debezium 3.6.1.Final.
// Stricter than a real worker: the JDBC sink's ConfigDef carries none of these
// checks, so a real worker accepts the connector and its task fails at start
// ("Error configuring an instance of JdbcSinkConnectorConfig; check the logs
// for details", with the messages below in the log); the sandbox reports them
// up front. Connecting to the database is not emulated.
var jdbcSinkPlugin = &plugin{
	class:   jdbcSinkClass,
	kind:    "sink",
	version: debeziumVersion,
	groups:  []string{dbzConnection, dbzConnectorAdvanced, dbzConnector, dbzFilters},
	settings: []setting{
		dbz("connection.url", typeString).req().high().in(dbzConnection).
			about("Valid JDBC URL"),
		dbz("connection.username", typeString).req().high().in(dbzConnection).
			about("Name of the database user to be used when connecting to the connection."),
		dbz("connection.password", typePassword).high().in(dbzConnection).
			about("Password of the database user to be used when connecting to the connection."),
		dbz("connection.pool.min_size", typeInt).dflt("5").low().in(dbzConnectorAdvanced).
			about("Minimum number of connection in the connection pool"),
		dbz("connection.pool.max_size", typeInt).dflt("32").low().in(dbzConnectorAdvanced).
			about("Maximum number of connection in the connection pool"),
		dbz("connection.pool.timeout", typeLong).dflt("1800").low().in(dbzConnectorAdvanced).
			about("Connection pool timeout"),
		dbz("insert.mode", typeString).dflt("insert").high().in(dbzConnector).oneOf("insert", "upsert", "update").
			about("Insert mode to use when writing to the database."),
		dbz("delete.enabled", typeBoolean).dflt("false").low().in(dbzConnector).with(dbzBoolean).
			about("Whether to treat `null` record values as deletes. Requires primary.key.mode to be `record.key`."),
		dbz("truncate.enabled", typeBoolean).dflt("false").low().in(dbzConnector).with(dbzBoolean).
			about("Whether to process debezium event `t` as truncate statement."),
		dbz("primary.key.mode", typeString).dflt("none").high().in(dbzConnector).
			oneOf("none", "kafka", "record_key", "record_value", "record_header").
			about("The primary key mode."),
		dbz("primary.key.fields", typeList).in(dbzConnector).
			about("A list of field names that the connector will use to build the primary key of the destination table."),
		dbz("schema.evolution", typeString).dflt("none").in(dbzConnector).oneOf("none", "basic").
			about("Controls how schema evolution is handled by the sink connector"),
		dbz("quote.identifiers", typeBoolean).dflt("false").in(dbzConnector).
			about("When enabled, table, column, and other identifiers are quoted based on the database dialect."),
		dbz("batch.size", typeInt).dflt("500").in(dbzConnectorAdvanced).with(dbzPositiveInteger).
			about("Specifies how many records to attempt to batch together into the destination table, when possible."),
		dbz("collection.name.format", typeString).dflt("${topic}").in(dbzConnector).
			about("A format string for the table, which may contain '${topic}' as a placeholder for the original topic name."),
		dbz("use.time.zone", typeString).dflt("UTC").in(dbzConnector).
			about("Specifies the timezone used when inserting JDBC temporal values."),
		dbz("field.include.list", typeList).in(dbzFilters).
			about("A comma-separated list of fields to include"),
		dbz("field.exclude.list", typeList).in(dbzFilters).
			about("A comma-separated list of fields to exclude"),
		dbz("flush.max.retries", typeInt).dflt("5").low().in(dbzConnectorAdvanced).
			about("Maximum number of retries for a flush operation."),
		dbz("flush.retry.delay.ms", typeLong).dflt("1000").low().in(dbzConnectorAdvanced).
			about("Number of milliseconds to wait between retries for a flush operation."),
		dbz("use.reduction.buffer", typeBoolean).dflt("false").low().in(dbzConnectorAdvanced).
			about("Specifies whether to use the reduction buffer."),
	},
	rules: []rule{
		// JdbcSinkConnectorConfig.validateDeleteEnabled.
		func(c view) []finding {
			del, ok := c.boolean("delete.enabled", false)
			mode, modeOK := c.str("primary.key.mode", "none")
			if !ok || !modeOK || !del || strings.EqualFold(mode, "record_key") {
				return nil
			}
			return []finding{{keys: []string{"delete.enabled", "primary.key.mode"},
				message: "When 'delete.enabled' is set to 'true', the 'primary.key.mode' option must be set to 'record_key'."}}
		},
		// JdbcSinkConnectorConfig.validateInsertMode.
		func(c view) []finding {
			mode, ok := c.str("insert.mode", "insert")
			if !ok || !strings.EqualFold(mode, "upsert") {
				return nil
			}
			_, hasMode := c.value("primary.key.mode")
			_, hasFields := c.value("primary.key.fields")
			switch {
			case !hasMode && !hasFields:
				return []finding{{keys: []string{"insert.mode"},
					message: "When using UPSERT, please define 'primary.key.mode' and 'primary.key.fields'."}}
			case !hasMode:
				return []finding{{keys: []string{"insert.mode"},
					message: "When using UPSERT, please define 'primary.key.mode'."}}
			}
			return nil
		},
	},
}

// bigQueryPlugin is com.wepay.kafka.connect.bigquery.BigQuerySinkConnector:
// BigQuerySinkConfig and its MultiPropertyValidators (confluentinc
// kafka-connect-bigquery v2.5.11). Like the connector, cross-setting problems
// are reported only once every single setting is valid. Building GCP clients
// from the credentials (and checking that buckets exist) is not emulated.
var bigQueryPlugin = &plugin{
	class:                  bigQueryClass,
	kind:                   "sink",
	version:                bigQueryVersion,
	rulesNeedCleanSettings: true,
	settings: []setting{
		kafka("project", typeString).req().high().about("The BigQuery project to write to"),
		kafka("defaultDataset", typeString).req().high().about("The default dataset to be used"),
		kafka("keyfile", typePassword).about("The file containing a JSON key with BigQuery service account credentials"),
		kafka("keySource", typeString).dflt("FILE").oneOf("FILE", "JSON", "APPLICATION_DEFAULT").
			about("Determines whether the keyfile config is the path to the credentials json file or the raw json of the key itself."),
		kafka("enableBatchLoad", typeList).dflt("").low().about("Beta Feature; use with caution: The sublist of topics to be batch loaded through GCS"),
		kafka("batchLoadIntervalSec", typeInt).dflt("120").low().about("The interval, in seconds, in which to attempt to run GCS to BQ load jobs."),
		kafka("gcsBucketName", typeString).dflt("").high().about("The name of the bucket in which gcs blobs used to batch load to BigQuery should be located."),
		kafka("gcsFolderName", typeString).dflt("").about("The name of the folder under the bucket in which gcs blobs used to batch load to BigQuery should be located."),
		kafka("autoCreateTables", typeBoolean).dflt("true").high().about("Automatically create BigQuery tables if they don't already exist"),
		kafka("autoCreateBucket", typeBoolean).dflt("true").about("Whether to automatically create the given bucket, if it does not exist."),
		kafka("sanitizeTopics", typeBoolean).dflt("false").about("Whether to automatically sanitize topic names before using them as table names."),
		kafka("sanitizeFieldNames", typeBoolean).dflt("false").about("Whether to automatically sanitize field names before using them as field names in big query."),
		kafka("allowNewBigQueryFields", typeBoolean).dflt("false").about("If true, new fields can be added to BigQuery tables during subsequent schema updates"),
		kafka("allowBigQueryRequiredFieldRelaxation", typeBoolean).dflt("false").about("If true, fields in BigQuery Schema can be changed from REQUIRED to NULLABLE"),
		kafka("allowSchemaUnionization", typeBoolean).dflt("false").about("If true, the existing table schema (if one is present) will be unionized with new record schemas during schema updates"),
		kafka("allBQFieldsNullable", typeBoolean).dflt("false").low().about("If true, no fields in any produced BigQuery schema will be REQUIRED."),
		kafka("upsertEnabled", typeBoolean).dflt("false").low().about("Enable upsert functionality on the connector through the use of record keys, intermediate tables, and periodic merge flushes."),
		kafka("deleteEnabled", typeBoolean).dflt("false").low().about("Enable delete functionality on the connector through the use of record keys, intermediate tables, and periodic merge flushes."),
		kafka("kafkaKeyFieldName", typeString).low().with(nonEmptyString).about("The name of the field of Kafka key. Default to be null, which means Kafka Key Field will not be included."),
		kafka("kafkaDataFieldName", typeString).low().with(nonEmptyString).about("The name of the field of Kafka Data. Default to be null, which means Kafka Data Field will not be included."),
		kafka("intermediateTableSuffix", typeString).dflt("tmp").low().with(nonEmptyString).about("A suffix that will be appended to the names of destination tables to create the names for the corresponding intermediate tables."),
		kafka("mergeIntervalMs", typeLong).dflt("60000").low().with(mergeThreshold).about("How often (in milliseconds) to perform a merge flush, if upsert/delete is enabled."),
		kafka("mergeRecordsThreshold", typeLong).dflt("-1").low().with(mergeThreshold).about("How many records to write to an intermediate table before performing a merge flush, if upsert/delete is enabled."),
		kafka("threadPoolSize", typeInt).dflt("10").with(atLeast(1)).about("The size of the BigQuery write thread pool."),
		kafka("queueSize", typeLong).dflt("-1").high().with(atLeast(-1)).about("The maximum size (or -1 for no maximum size) of the worker queue for bigQuery write requests before all topics are paused."),
		kafka("bigQueryRetry", typeInt).dflt("0").with(atLeast(0)).about("The number of retry attempts that will be made per BigQuery request that fails with a backend error or a quota exceeded error"),
		kafka("bigQueryRetryWait", typeLong).dflt("1000").with(atLeast(0)).about("The minimum amount of time, in milliseconds, to wait between BigQuery backend or quota exceeded error retry attempts."),
		kafka("bigQueryPartitionDecorator", typeBoolean).dflt("true").high().about("Whether or not to append partition decorator to BigQuery table name when inserting records."),
		kafka("timestampPartitionFieldName", typeString).low().with(nonEmptyString).about("The name of the field in the value that contains the timestamp to partition by in BigQuery and enable timestamp partitioning for each table."),
		kafka("timePartitioningType", typeString).dflt("DAY").low().with(lowercasedValidString("DAY", "HOUR", "MONTH", "YEAR", "NONE")).
			recommend("DAY", "HOUR", "MONTH", "YEAR", "NONE").
			about("The time partitioning type to use when creating tables, or 'NONE' to create non-partitioned tables."),
		kafka("schemaRetriever", typeClass).dflt("com.wepay.kafka.connect.bigquery.retrieve.IdentitySchemaRetriever").
			about("A class that can be used for automatically creating tables and/or updating schemas"),
	},
	rules: []rule{
		// CredentialsValidator.
		func(c view) []finding {
			src, ok := c.str("keySource", "FILE")
			if !ok || src != "APPLICATION_DEFAULT" || c.blank("keyfile") {
				return nil
			}
			return []finding{{keys: []string{"keyfile"},
				message: "keyfile should not be provided if keySource is APPLICATION_DEFAULT"}}
		},
		// GcsBucketValidator.
		func(c view) []finding {
			batch, ok := c.str("enableBatchLoad", "")
			if !ok || len(parseList(batch)) == 0 || c.ref("gcsBucketName") || !c.blank("gcsBucketName") {
				return nil
			}
			return []finding{{keys: []string{"enableBatchLoad"},
				message: "When GCS batch loading is enabled, a bucket must be provided"}}
		},
		// PartitioningModeValidator.
		func(c view) []finding {
			if deco, ok := c.boolean("bigQueryPartitionDecorator", true); !ok || !deco || c.blank("timestampPartitionFieldName") {
				return nil
			}
			return []finding{{keys: []string{"bigQueryPartitionDecorator"},
				message: "Only one partitioning mode may be specified for the connector. Use either bigQueryPartitionDecorator OR timestampPartitionFieldName."}}
		},
		// PartitioningTypeValidator.
		func(c view) []finding {
			deco, ok1 := c.boolean("bigQueryPartitionDecorator", true)
			create, ok2 := c.boolean("autoCreateTables", true)
			typ, ok3 := c.str("timePartitioningType", "DAY")
			if !ok1 || !ok2 || !ok3 || !deco || !create || strings.EqualFold(typ, "DAY") {
				return nil
			}
			return []finding{{keys: []string{"bigQueryPartitionDecorator"},
				message: "Tables must be partitioned by DAY when using partition decorator syntax. Either configure the connector with the DAY time partitioning type, disable automatic table creation, or disable partition decorator syntax."}}
		},
		// UpsertDeleteValidator.UpsertValidator and .DeleteValidator.
		func(c view) []finding {
			var out []finding
			for _, mode := range []string{"upsertEnabled", "deleteEnabled"} {
				on, ok := c.boolean(mode, false)
				if !ok || !on {
					continue
				}
				interval, ok1 := c.integer("mergeIntervalMs", 60000)
				records, ok2 := c.integer("mergeRecordsThreshold", -1)
				if ok1 && ok2 && interval == -1 && records == -1 {
					out = append(out, finding{keys: []string{mode}, message: "mergeIntervalMs and mergeRecordsThreshold cannot both be -1"})
					continue
				}
				if !c.ref("kafkaKeyFieldName") && c.blank("kafkaKeyFieldName") {
					out = append(out, finding{keys: []string{mode}, message: "kafkaKeyFieldName must be specified when " + mode + " is set to true"})
				}
			}
			return out
		},
	},
}

// S3 sink classes the connector plugin ships (kafka-connect-s3 and
// kafka-connect-storage-common's partitioner module).
var (
	s3FormatClasses = []string{
		"io.confluent.connect.s3.format.avro.AvroFormat",
		"io.confluent.connect.s3.format.json.JsonFormat",
		"io.confluent.connect.s3.format.bytearray.ByteArrayFormat",
		"io.confluent.connect.s3.format.parquet.ParquetFormat",
	}
	s3StorageClasses = []string{"io.confluent.connect.s3.storage.S3Storage"}
	partitionerClass = "io.confluent.connect.storage.partitioner."
	s3Partitioners   = []string{
		partitionerClass + "DefaultPartitioner",
		partitionerClass + "FieldPartitioner",
		partitionerClass + "TimeBasedPartitioner",
		partitionerClass + "DailyPartitioner",
		partitionerClass + "HourlyPartitioner",
	}
)

// s3Plugin is io.confluent.connect.s3.S3SinkConnector: S3SinkConnectorConfig
// and S3SinkConnectorValidator (confluentinc kafka-connect-storage-cloud
// 12.1.x) composed with StorageCommonConfig, StorageSinkConnectorConfig and
// PartitionerConfig (kafka-connect-storage-common). Reaching the bucket is not
// emulated.
var s3Plugin = &plugin{
	class:   s3Class,
	kind:    "sink",
	version: s3Version,
	groups:  []string{"S3", "Storage", "Connector", "Partitioner"},
	settings: []setting{
		kafka("s3.bucket.name", typeString).req().high().in("S3").about("The S3 Bucket."),
		kafka("s3.region", typeString).dflt("us-west-2").in("S3").with(func(v string) string {
			// RegionValidator -> software.amazon.awssdk.regions.Region.of.
			if strings.TrimSpace(v) == "" {
				return "region must not be blank or empty."
			}
			return ""
		}).about("The AWS region to be used the connector."),
		kafka("s3.part.size", typeInt).dflt("26214400").high().in("S3").with(func(v string) string {
			if n, ok := parseNumber(v); ok && n < 5*1024*1024 {
				return "Part size must be at least: 5242880 bytes (5MB)"
			}
			return ""
		}).about("The Part Size in S3 Multi-part Uploads."),
		kafka("s3.compression.type", typeString).dflt("none").in("S3").with(func(v string) string {
			if t := strings.TrimSpace(v); t == "none" || t == "gzip" {
				return ""
			}
			return "Value must be one of: [none, gzip]"
		}).recommend("none", "gzip").about("Compression type for files written to S3. Applied when using JsonFormat or ByteArrayFormat."),
		kafka("s3.ssea.name", typeString).dflt("").low().in("S3").oneOf("", "AES256", "aws:kms", "aws:kms:dsse").about("The S3 Server Side Encryption Algorithm."),
		kafka("s3.sse.kms.key.id", typeString).dflt("").low().in("S3").about("The name of the AWS Key Management Service (AWS-KMS) key to be used for server side encryption of the S3 objects."),
		kafka("aws.access.key.id", typeString).dflt("").high().in("S3").about("The AWS access key ID used to authenticate personal AWS credentials such as IAM credentials."),
		kafka("aws.secret.access.key", typePassword).dflt("").high().in("S3").about("The secret access key used to authenticate personal AWS credentials such as IAM credentials."),
		kafka("behavior.on.null.values", typeString).dflt("fail").low().in("S3").with(lowercasedValidString("ignore", "fail", "write")).
			recommend("ignore", "fail", "write").about("How to handle records with a null value (i.e. Kafka tombstone records)."),
		kafka("store.kafka.keys", typeBoolean).dflt("false").low().in("S3").about("Enable or disable writing keys to storage."),
		kafka("store.kafka.headers", typeBoolean).dflt("false").low().in("S3").about("Enable or disable writing headers to storage."),
		kafka("keys.format.class", typeClass).dflt("io.confluent.connect.s3.format.avro.AvroFormat").low().in("S3").with(knownClass(s3FormatClasses...)).
			about("The format class to use when writing keys to the store."),
		kafka("headers.format.class", typeClass).dflt("io.confluent.connect.s3.format.avro.AvroFormat").low().in("S3").with(knownClass(s3FormatClasses...)).
			about("The format class to use when writing headers to the store."),
		kafka("storage.class", typeClass).req().high().in("Storage").with(knownClass(s3StorageClasses...)).recommend(s3StorageClasses...).
			about("The underlying storage layer."),
		kafka("topics.dir", typeString).dflt("topics").high().in("Storage").about("Top level directory to store the data ingested from Kafka."),
		kafka("directory.delim", typeString).dflt("/").in("Storage").about("Directory delimiter pattern"),
		kafka("file.delim", typeString).dflt("+").in("Storage").about("File delimiter pattern"),
		kafka("format.class", typeClass).req().high().in("Connector").with(knownClass(s3FormatClasses...)).recommend(s3FormatClasses...).
			about("The format class to use when writing data to the store."),
		kafka("flush.size", typeInt).req().high().in("Connector").with(flushSizeAtLeastOne).
			about("Number of records written to store before invoking file commits."),
		kafka("rotate.interval.ms", typeLong).dflt("-1").high().in("Connector").about("The time interval in milliseconds to invoke file commits."),
		kafka("rotate.schedule.interval.ms", typeLong).dflt("-1").in("Connector").about("The time interval in milliseconds to periodically invoke file commits."),
		kafka("schema.compatibility", typeString).dflt("NONE").high().in("Schema").
			with(func(v string) string { return validString("NONE", "BACKWARD", "FORWARD", "FULL")(strings.ToUpper(v)) }).
			recommend("NONE", "BACKWARD", "FORWARD", "FULL").about("The schema compatibility rule to use when the connector is observing schema changes."),
		kafka("partitioner.class", typeClass).dflt(partitionerClass + "DefaultPartitioner").high().in("Partitioner").
			with(knownClass(s3Partitioners...)).recommend(s3Partitioners...).
			about("The partitioner to use when writing data to the store."),
		kafka("partition.field.name", typeList).dflt("").in("Partitioner").about("The name of the partitioning field when FieldPartitioner is used."),
		kafka("partition.duration.ms", typeLong).dflt("-1").in("Partitioner").about("The duration of a partition milliseconds used by ``TimeBasedPartitioner``."),
		kafka("path.format", typeString).dflt("").in("Partitioner").about("This configuration is used to set the format of the data directories when partitioning with ``TimeBasedPartitioner``."),
		kafka("locale", typeString).dflt("").in("Partitioner").about("The locale to use when partitioning with ``TimeBasedPartitioner``."),
		kafka("timezone", typeString).dflt("").in("Partitioner").with(jodaTimezone).about("The timezone to use when partitioning with ``TimeBasedPartitioner``."),
		kafka("timestamp.extractor", typeString).dflt("Wallclock").in("Partitioner").about("The extractor that gets the timestamp for records when partitioning with ``TimeBasedPartitioner``."),
		kafka("timestamp.field", typeString).dflt("timestamp").in("Partitioner").about("The record field to be used as timestamp by the timestamp extractor."),
	},
	rules: []rule{
		timeBasedPartitionerRule,
		// S3SinkConnectorValidator.validateCompression.
		func(c view) []finding {
			comp, ok1 := c.str("s3.compression.type", "none")
			format, ok2 := c.str("format.class", "")
			if !ok1 || !ok2 || comp != "gzip" || format == "" || slices.Contains(gzipFormats, format) {
				return nil
			}
			return []finding{{keys: []string{"format.class", "s3.compression.type"},
				message: fmt.Sprintf("Compression Type gzip not valid for data format class: ( %s ).", format)}}
		},
		// S3SinkConnectorValidator.validateTombstoneWriter.
		func(c view) []finding {
			behavior, ok1 := c.str("behavior.on.null.values", "fail")
			keys, ok2 := c.boolean("store.kafka.keys", false)
			if !ok1 || !ok2 || !strings.EqualFold(behavior, "write") || keys {
				return nil
			}
			return []finding{{keys: []string{"store.kafka.keys", "behavior.on.null.values"},
				message: "Writing Kafka record keys to storage is mandatory when tombstone writing is enabled."}}
		},
	},
}

// gzipFormats are S3SinkConnectorValidator.COMPRESSION_SUPPORTED_FORMATS.
var gzipFormats = []string{
	"io.confluent.connect.s3.format.json.JsonFormat",
	"io.confluent.connect.s3.format.bytearray.ByteArrayFormat",
}

// flushSizeAtLeastOne is stricter than a real worker: the storage sink
// ConfigDef accepts any int, and with flush.size below 1 TopicPartitionWriter
// commits a file for every record, which no data product wants; the sandbox
// rejects it.
var flushSizeAtLeastOne = atLeast(1)

// jodaTimezone approximates PartitionerConfig.TimezoneValidator
// (org.joda.time.DateTimeZone.forID) with the host's zone database.
func jodaTimezone(v string) string {
	t := strings.TrimSpace(v)
	if t == "" || t == "UTC" || validTimezone(t) {
		return ""
	}
	return fmt.Sprintf("The datetime zone id '%s' is not recognised", t)
}

// timeBasedPartitionerRule is TimeBasedPartitioner.configure and
// newTimestampExtractor (kafka-connect-storage-common). Stricter than a real
// worker: the partitioner is configured when the task starts, so a real worker
// accepts the connector and its task fails; the sandbox reports the
// ConfigException up front. Daily and Hourly partitioners set their own
// duration and path format but still need locale and timezone.
func timeBasedPartitionerRule(c view) []finding {
	class, ok := c.str("partitioner.class", "")
	if !ok {
		return nil
	}
	timeBased := class == partitionerClass+"TimeBasedPartitioner"
	if !timeBased && class != partitionerClass+"DailyPartitioner" && class != partitionerClass+"HourlyPartitioner" {
		return nil
	}
	var out []finding
	invalid := func(key, value, problem string) {
		out = append(out, finding{keys: []string{key}, message: kafkaDialect.invalidMessage(key, value, problem)})
	}
	if timeBased {
		if d, ok := c.integer("partition.duration.ms", -1); ok && d < 0 {
			invalid("partition.duration.ms", fmt.Sprint(d), "Partition duration needs to be a positive.")
		}
		delim, _ := c.str("directory.delim", "/")
		if p, ok := c.str("path.format", ""); ok && (p == "" || p == delim) {
			invalid("path.format", p, "Path format cannot be empty.")
		}
	}
	if l, ok := c.str("locale", ""); ok && l == "" {
		invalid("locale", l, "Locale cannot be empty.")
	}
	if tz, ok := c.str("timezone", ""); ok && tz == "" {
		invalid("timezone", tz, "Timezone cannot be empty.")
	}
	if ex, ok := c.str("timestamp.extractor", "Wallclock"); ok {
		switch ex {
		case "Wallclock", "Record", "RecordField":
		default:
			if !isJavaClassName(ex) {
				out = append(out, finding{keys: []string{"timestamp.extractor"}, message: "Invalid timestamp extractor: " + ex})
			}
		}
	}
	return out
}

// elasticsearchPlugin is io.confluent.connect.elasticsearch.ElasticsearchSinkConnector:
// ElasticsearchSinkConnectorConfig and Validator (confluentinc
// kafka-connect-elasticsearch v15.1.3). Reaching the cluster and checking its
// version is not emulated.
var elasticsearchPlugin = &plugin{
	class:   elasticsearchClass,
	kind:    "sink",
	version: elasticsearchVersion,
	groups:  []string{"Connector", "Data Conversion", "Security"},
	settings: []setting{
		kafka("connection.url", typeList).req().high().in("Connector").with(urlList).
			about("List of Elasticsearch HTTP connection URLs e.g. ``http://eshost1:9200,http://eshost2:9200``."),
		kafka("connection.username", typeString).in("Connector").
			about("The username used to authenticate with Elasticsearch."),
		kafka("connection.password", typePassword).in("Connector").
			about("The password used to authenticate with Elasticsearch."),
		kafka("batch.size", typeInt).dflt("2000").in("Connector").with(between(1, 1000000)).
			about("The number of records to process as a batch when writing to Elasticsearch."),
		kafka("max.in.flight.requests", typeInt).dflt("5").in("Connector").with(between(1, 1000)).
			about("The maximum number of indexing requests that can be in-flight to Elasticsearch before blocking further requests."),
		kafka("max.buffered.records", typeInt).dflt("20000").low().in("Connector").with(between(1, 2147483647)).
			about("The maximum number of records each task will buffer before blocking acceptance of more records."),
		kafka("linger.ms", typeLong).dflt("1").low().in("Connector").with(between(0, 604800000)).
			about("Linger time in milliseconds for batching."),
		kafka("flush.timeout.ms", typeLong).dflt("180000").low().in("Connector").with(between(1000, 604800000)).
			about("The timeout in milliseconds to use for periodic flushing, and when waiting for buffer space to be made available by completed requests as records are added."),
		kafka("max.retries", typeInt).dflt("5").low().in("Connector").with(atLeast(0)).
			about("The maximum number of retries that are allowed for failed indexing requests."),
		kafka("retry.backoff.ms", typeLong).dflt("100").low().in("Connector").with(between(0, 86400000)).
			about("How long to wait in milliseconds before attempting the first retry of a failed indexing request."),
		kafka("key.ignore", typeBoolean).dflt("false").high().in("Data Conversion").
			about("Whether to ignore the record key for the purpose of forming the Elasticsearch document ID."),
		kafka("schema.ignore", typeBoolean).dflt("false").low().in("Data Conversion").
			about("Whether to ignore schemas during indexing."),
		kafka("topic.key.ignore", typeList).dflt("").low().in("Data Conversion").
			about("List of topics for which ``key.ignore`` should be ``true``."),
		kafka("topic.schema.ignore", typeList).dflt("").low().in("Data Conversion").
			about("List of topics for which ``schema.ignore`` should be ``true``."),
		kafka("drop.invalid.message", typeBoolean).dflt("false").low().in("Data Conversion").
			about("Whether to drop kafka message when it cannot be converted to output message."),
		kafka("behavior.on.null.values", typeString).dflt("FAIL").low().in("Data Conversion").with(lowerEnumList("IGNORE", "DELETE", "FAIL")).
			recommend("ignore", "delete", "fail").about("How to handle records with a non-null key and a null value (i.e. Kafka tombstone records)."),
		kafka("behavior.on.malformed.documents", typeString).dflt("FAIL").low().in("Data Conversion").with(lowerEnumList("IGNORE", "WARN", "FAIL")).
			recommend("ignore", "warn", "fail").about("How to handle records that Elasticsearch rejects due to some malformation of the document itself."),
		kafka("write.method", typeString).dflt("INSERT").low().in("Data Conversion").with(lowerEnumList("INSERT", "UPSERT")).
			recommend("insert", "upsert").about("Method used for writing data to Elasticsearch, and one of INSERT or UPSERT."),
		kafka("elastic.security.protocol", typeString).dflt("PLAINTEXT").in("Security").with(lowerEnumList("PLAINTEXT", "SSL")).
			recommend("plaintext", "ssl").about("The security protocol to use when connecting to Elasticsearch."),
	},
	rules: []rule{
		// Validator.validateCredentials.
		func(c view) []finding {
			if c.blank("connection.username") == c.blank("connection.password") {
				return nil
			}
			return []finding{{keys: []string{"connection.username", "connection.password"},
				message: "Both 'connection.username' and 'connection.password' must be set."}}
		},
		// Validator.validateIgnoreConfigs.
		func(c view) []finding {
			var out []finding
			for _, p := range [][2]string{{"key.ignore", "topic.key.ignore"}, {"schema.ignore", "topic.schema.ignore"}} {
				on, ok := c.boolean(p[0], false)
				if ok && on && !c.blank(p[1]) {
					out = append(out, finding{keys: []string{p[0], p[1]},
						message: fmt.Sprintf("'%s' can not be set if '%s' is true.", p[1], p[0])})
				}
			}
			return out
		},
	},
}

// plugins is every connector class the emulator accepts, in the order
// GET /connector-plugins lists them.
var plugins = []*plugin{
	bigQueryPlugin,
	s3Plugin,
	elasticsearchPlugin,
	jdbcSinkPlugin,
	mysqlPlugin,
	postgresPlugin,
}

// lookupPlugin resolves a class name or alias as Kafka's Plugins.pluginClass
// does: the full class name, the simple name, or the simple name without its
// "Connector" suffix.
func lookupPlugin(name string) *plugin {
	name = strings.TrimSpace(name)
	for _, p := range plugins {
		simple := p.class[strings.LastIndex(p.class, ".")+1:]
		if name == p.class || name == simple || name+"Connector" == simple {
			return p
		}
	}
	return nil
}
