// Package render turns a data product into its Terraform workspace: a
// main.tf.json built from typed values (never from string templates) that
// calls the embedded modules, deterministically, so the same product and
// environment always give byte-identical files and a golden diff is a
// reviewable change.
package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/meshplane/meshplane/server/errs"
	"github.com/meshplane/meshplane/server/spec"
	"github.com/meshplane/meshplane/terraform"
)

// Provider versions the rendered workspaces pin; the plugin mirror built by
// scripts/tools.sh holds exactly these.
const (
	KafkaProviderVersion   = "0.13.1"
	ConnectProviderVersion = "0.5.0"
	TerraformConstraint    = ">= 1.5.0"
)

// SASL mechanisms the Kafka provider supports, spelled as it expects them.
const (
	SASLNone        = ""
	SASLPlain       = "plain"
	SASLScramSHA256 = "scram-sha256"
	SASLScramSHA512 = "scram-sha512"
)

// BackendKind selects where Terraform keeps a workspace's state.
type BackendKind string

const (
	// BackendLocal keeps state in a file of the workspace (the default).
	BackendLocal BackendKind = "local"
	// BackendPostgres keeps state in PostgreSQL with Terraform's pg backend,
	// one schema per product and environment; the connection string comes
	// from the PG_CONN_STR environment variable, never from a file.
	BackendPostgres BackendKind = "pg"
)

// Backend configures the workspace's Terraform backend.
type Backend struct {
	Kind BackendKind // "" means BackendLocal
	// Path is the local state file; empty means terraform.tfstate in the workspace.
	Path string
	// SchemaName overrides the pg schema derived from environment, domain and product.
	SchemaName string
}

// Environment describes the data plane a workspace targets. It holds no
// secrets: the providers read their passwords from KAFKA_SASL_PASSWORD and
// KAFKA_CONNECT_BASIC_AUTH_PASSWORD in terraform's environment, so no
// password is part of the configuration, the saved plan or its JSON.
type Environment struct {
	Name               string // e.g. "sandbox"
	KafkaBootstrap     []string
	KafkaSASLMechanism string // "", "plain", "scram-sha256", "scram-sha512"
	KafkaUsername      string
	KafkaTLS           bool
	ConnectURL         string
	ConnectUsername    string // basic auth, optional
	ReplicationFactor  int
	// ConnectKafkaBootstrap is the bootstrap the Connect workers use (mysql schema history); defaults to KafkaBootstrap.
	ConnectKafkaBootstrap []string
	Backend               Backend
}

// Input is everything a workspace is rendered from.
type Input struct {
	Domain, Product string
	// Spec is the product as stored: normalized (topics derived) and validated.
	Spec spec.Product
	Env  Environment
	// ConnectorConfig holds extra settings merged into a connector's config,
	// keyed by connector name; a later policy feature puts masking there.
	ConnectorConfig map[string]map[string]string
	// SinkMasks are per-sink field transforms, keyed by sink name: fields the sink's connector drops or masks after unwrapping the change event.
	SinkMasks map[string]FieldMasks
	// Grants are consumers' access to the product's output ports, rendered
	// as Kafka ACLs in one kafka_acl resource per consumer, named
	// ConsumerResource of its principal, with one instance per ACL keyed by
	// ACL.Key.
	Grants []Grant
}

// FieldMasks are the fields one sink's connector removes (Drop) or blanks to
// their type's empty value (Mask) in every row it writes. A field in both is
// dropped, the stricter of the two.
type FieldMasks struct{ Drop, Mask []string }

// Normalized returns the masks sorted and without repeats; a field both
// dropped and masked is only dropped, the stricter of the two.
func (fm FieldMasks) Normalized() FieldMasks {
	drop := slices.Compact(slices.Sorted(slices.Values(fm.Drop)))
	mask := slices.Compact(slices.Sorted(slices.Values(fm.Mask)))
	mask = slices.DeleteFunc(mask, func(f string) bool { return slices.Contains(drop, f) })
	return FieldMasks{Drop: drop, Mask: mask}
}

// Workspace is a rendered Terraform workspace: "main.tf.json" plus
// "modules/<kind>/*.tf" for every module kind it uses, by slash-separated path.
type Workspace struct {
	Files map[string][]byte
	// Topics and Connectors name every Kafka topic and connector the
	// workspace creates, sorted: what a product owns in the data plane,
	// whatever Terraform's state has recorded of it.
	Topics, Connectors []string
	// TopicAddresses maps each topic to the Terraform address that creates it.
	TopicAddresses map[string]string
}

// MainFile is the name of the rendered root module.
const MainFile = "main.tf.json"

// Names of what a product's workspace creates. Topic names of output ports
// come from spec.TopicName.

// TopicPrefix is the source connector's topic.prefix (its logical name).
func TopicPrefix(domain, product string) string { return domain + "." + product }

// SourceConnectorName names a product's source connector.
func SourceConnectorName(domain, product string) string { return domain + "." + product + ".source" }

// SinkConnectorName names one of a product's sink connectors.
func SinkConnectorName(domain, product, sink string) string {
	return domain + "." + product + "." + sink
}

// ConnectorModule is the address of the module holding a product's
// connector in its workspace: role "source" for the source connector, a
// sink's name for that sink's.
func ConnectorModule(role string) string {
	if role == "source" {
		return "module.source"
	}
	return "module." + ident("sink", role)
}

// SlotName is the replication slot, and the publication, of a product's
// PostgreSQL source in environment env.
func SlotName(env, domain, product string) string { return slotName(env, domain, product) }

// DLQTopic names a sink's dead-letter topic.
func DLQTopic(domain, product, sink string) string {
	return domain + "." + product + "." + sink + ".dlq"
}

// HeartbeatTopicPrefix is the source connector's topic.heartbeat.prefix.
const HeartbeatTopicPrefix = "__debezium-heartbeat"

// HeartbeatTopic names the topic the source connector's heartbeats go to.
func HeartbeatTopic(domain, product string) string {
	return HeartbeatTopicPrefix + "." + TopicPrefix(domain, product)
}

// SchemaHistoryTopic names a MySQL source connector's schema history topic.
func SchemaHistoryTopic(domain, product string) string {
	return domain + "." + product + ".schema-history"
}

// Principal is the Kafka principal a connector authenticates as.
func Principal(connector string) string { return "User:" + connector }

// ConsumerGroup is the consumer group Kafka Connect gives a sink connector.
func ConsumerGroup(connector string) string { return "connect-" + connector }

// Render renders the product's workspace. It checks what rendering relies on
// (names, routes, secret references, connector names) and carries every other
// string as data.
func Render(in Input) (Workspace, error) {
	env, err := in.Env.normalize()
	if err != nil {
		return Workspace{}, fmt.Errorf("rendering %s.%s: %w", in.Domain, in.Product, err)
	}
	r := &renderer{in: in, env: env, modules: map[string]map[string]any{}, kinds: map[string]bool{}}
	r.build()
	if err := r.v.Err(); err != nil {
		return Workspace{}, fmt.Errorf("rendering %s.%s: %w", in.Domain, in.Product, err)
	}
	main, err := encode(r.document())
	if err != nil {
		return Workspace{}, fmt.Errorf("rendering %s.%s: %w", in.Domain, in.Product, err)
	}
	files := map[string][]byte{MainFile: main}
	for _, kind := range slices.Sorted(maps.Keys(r.kinds)) {
		mf, err := terraform.ModuleFiles(kind)
		if err != nil {
			return Workspace{}, fmt.Errorf("rendering %s.%s: %w", in.Domain, in.Product, err)
		}
		for name, b := range mf {
			files["modules/"+kind+"/"+name] = b
		}
	}
	return Workspace{Files: files, Topics: slices.Sorted(slices.Values(r.created)), Connectors: slices.Sorted(maps.Values(r.connectors)),
		TopicAddresses: r.topicAddrs}, nil
}

func (e Environment) normalize() (Environment, error) {
	switch {
	case !spec.ValidName(e.Name):
		return e, fmt.Errorf("environment name %q must match ^[a-z][a-z0-9-]{1,62}$", e.Name)
	case len(e.KafkaBootstrap) == 0 || slices.Contains(e.KafkaBootstrap, ""):
		return e, fmt.Errorf("environment %s: kafka bootstrap servers are required", e.Name)
	case !slices.Contains([]string{SASLNone, SASLPlain, SASLScramSHA256, SASLScramSHA512}, e.KafkaSASLMechanism):
		return e, fmt.Errorf("environment %s: unknown SASL mechanism %q (want plain, scram-sha256 or scram-sha512)", e.Name, e.KafkaSASLMechanism)
	case e.KafkaSASLMechanism != SASLNone && e.KafkaUsername == "":
		return e, fmt.Errorf("environment %s: SASL %s needs a kafka username", e.Name, e.KafkaSASLMechanism)
	case e.KafkaSASLMechanism == SASLNone && e.KafkaUsername != "":
		return e, fmt.Errorf("environment %s: a kafka username needs a SASL mechanism", e.Name)
	case !strings.HasPrefix(e.ConnectURL, "http://") && !strings.HasPrefix(e.ConnectURL, "https://"):
		return e, fmt.Errorf("environment %s: the Kafka Connect URL must be http(s), got %q", e.Name, e.ConnectURL)
	case e.ReplicationFactor < 1:
		return e, fmt.Errorf("environment %s: the replication factor must be at least 1", e.Name)
	case slices.Contains(e.ConnectKafkaBootstrap, ""):
		return e, fmt.Errorf("environment %s: empty Connect bootstrap server", e.Name)
	}
	switch e.Backend.Kind {
	case "":
		e.Backend.Kind = BackendLocal
	case BackendLocal, BackendPostgres:
	default:
		return e, fmt.Errorf("environment %s: unknown backend %q (want local or pg)", e.Name, e.Backend.Kind)
	}
	if len(e.ConnectKafkaBootstrap) == 0 {
		e.ConnectKafkaBootstrap = e.KafkaBootstrap
	}
	return e, nil
}

// renderer accumulates the root module's blocks and the input's violations.
type renderer struct {
	in        Input
	env       Environment
	v         errs.Violations
	modules   map[string]map[string]any // module blocks by identifier
	resources map[string]map[string]any // resource blocks by type and name (consumer ACLs)
	kinds     map[string]bool           // module kinds used

	topics     map[string]string // port name → topic
	topicMods  map[string]string // port name → its current topic's module
	retained   []string          // topics of earlier majors ports keep
	connectors map[string]string // role ("source" or sink name) → connector name
	created    []string          // every topic a kafka-topic module creates
	topicAddrs map[string]string // each created topic's resource address
}

// Settings of the topics a product needs besides its ports.
const (
	heartbeatRetentionMs = 24 * 3600 * 1000
	dlqPartitions        = 1
)

func (r *renderer) build() {
	d, p := r.in.Domain, r.in.Product
	spec.CheckName(&r.v, "domain", d)
	spec.CheckName(&r.v, "product", p)
	if r.v.Len() > 0 {
		return
	}
	r.topics = map[string]string{}
	r.topicMods = map[string]string{}
	r.connectors = map[string]string{"source": SourceConnectorName(d, p)}

	r.ports()
	r.source()
	for i, s := range r.in.Spec.Sinks {
		r.sink(i, s)
	}
	r.checkConnectorConfig()
	r.checkSinkMasks()
	r.grants()
	r.checkIdentifiers()
}

func (r *renderer) ports() {
	d, p := r.in.Domain, r.in.Product
	seen := map[string]bool{}
	if len(r.in.Spec.Ports) == 0 {
		r.v.Add("spec.ports", "at least one output port is required")
	}
	for i, port := range r.in.Spec.Ports {
		path := fmt.Sprintf("spec.ports[%d]", i)
		n := r.v.Len()
		spec.CheckName(&r.v, path+".name", port.Name)
		if seen[port.Name] {
			r.v.Add(path+".name", "duplicate port name %q", port.Name)
		}
		seen[port.Name] = true
		if port.MajorVersion < 1 {
			r.v.Add(path+".majorVersion", "must be at least 1 (normalize the product first)")
		}
		topic := spec.TopicName(d, p, port.Name, port.MajorVersion)
		if port.Topic != "" && port.Topic != topic {
			r.v.Add(path+".topic", "must be the derived topic %q, got %q", topic, port.Topic)
		}
		if r.v.Len() > n {
			continue
		}
		r.topics[port.Name] = topic
		r.topicMods[port.Name] = topicModule(port, port.MajorVersion)
		r.module(r.topicMods[port.Name], "kafka-topic", map[string]any{
			"name":               topic,
			"partitions":         port.Partitions,
			"replication_factor": r.env.ReplicationFactor,
			"retention_ms":       port.RetentionMs,
			"cleanup_policy":     string(port.CleanupPolicy),
		})
		// Earlier majors keep their topics, as they were, until retired.
		for j, old := range port.Retained {
			if old.Major < 1 || old.Major >= port.MajorVersion {
				r.v.Add(fmt.Sprintf("%s.retained[%d].major", path, j), "must be an earlier major than %d", port.MajorVersion)
				continue
			}
			name := spec.TopicName(d, p, port.Name, old.Major)
			r.retained = append(r.retained, name)
			r.module(topicModule(port, old.Major), "kafka-topic", map[string]any{
				"name":               name,
				"partitions":         old.Partitions,
				"replication_factor": r.env.ReplicationFactor,
				"retention_ms":       old.RetentionMs,
				"cleanup_policy":     string(old.CleanupPolicy),
			})
		}
	}
}

// topicModule is the module of a port's topic of major: the port's own
// address for its base major — the one it was provisioned with before any
// bump — and one of its own for every other, so publishing a new major adds
// a topic instead of replacing the one consumers read.
func topicModule(port spec.OutputPort, major int) string {
	base := port.BaseMajor
	if base == 0 {
		base = port.MajorVersion
	}
	if major == base {
		return ident("topic", port.Name)
	}
	return ident("topic", port.Name, fmt.Sprintf("v%d", major))
}

// source renders the source connector, the topics only it uses, and its ACLs.
func (r *renderer) source() {
	d, p := r.in.Domain, r.in.Product
	src := r.in.Spec.Source
	name := r.connectors["source"]
	principal := Principal(name)

	// Each port is fed by one table; a table can be routed to one topic only.
	tables := map[string]bool{}
	for _, t := range src.Tables {
		tables[t] = true
	}
	routes := map[string]string{}
	routedBy := map[string]string{}
	for i, port := range r.in.Spec.Ports {
		path := fmt.Sprintf("spec.ports[%d].table", i)
		table := port.Table
		if table == "" && len(src.Tables) == 1 {
			table = src.Tables[0]
		}
		switch {
		case table == "":
			r.v.Add(path, "is required when the source has more than one table")
		case !tables[table]:
			r.v.Add(path, "must be one of the source's tables, got %q", table)
		case routedBy[table] != "":
			r.v.Add(path, "table %q already feeds port %q: a table's changes can be routed to one topic only", table, routedBy[table])
		default:
			routedBy[table] = port.Name
			if topic, ok := r.topics[port.Name]; ok {
				routes[table] = topic
			}
		}
	}
	// Routers run one after another, so a port topic named like another
	// table's change topic would be routed twice.
	for table, topic := range routes {
		for other := range routes {
			if other != table && topic == TopicPrefix(d, p)+"."+other {
				r.v.Add("spec.ports", "port topic %q is also the change topic of table %q: rename the port", topic, other)
			}
		}
	}

	var kind string
	args := map[string]any{
		"name":                   name,
		"database_hostname":      src.Host,
		"database_port":          src.Port,
		"database_user":          src.Username,
		"database_password":      r.secret("spec.source.secretRef", src.SecretRef, true),
		"topic_prefix":           TopicPrefix(d, p),
		"routes":                 routes,
		"heartbeat_topic_prefix": HeartbeatTopicPrefix,
	}
	deps := []string{ident("topic_heartbeat"), ident("acl_source_heartbeat")}
	switch src.Kind {
	case spec.SourcePostgres:
		kind = "debezium-postgres"
		slot := slotName(r.env.Name, d, p)
		args["database_dbname"] = src.Database
		args["slot_name"] = slot
		args["publication_name"] = slot
	case spec.SourceMySQL:
		kind = "debezium-mysql"
		var dbs []string
		for table := range routes {
			db, _, _ := strings.Cut(table, ".")
			if !slices.Contains(dbs, db) {
				dbs = append(dbs, db)
			}
		}
		slices.Sort(dbs)
		args["database_server_id"] = serverID(r.env.Name, d, p)
		args["database_include_list"] = dbs
		args["schema_history_topic"] = SchemaHistoryTopic(d, p)
		args["schema_history_bootstrap_servers"] = r.env.ConnectKafkaBootstrap
		history := SchemaHistoryTopic(d, p)
		r.module(ident("topic_schema_history"), "kafka-topic", map[string]any{
			"name":               history,
			"partitions":         1,
			"replication_factor": r.env.ReplicationFactor,
			"retention_ms":       -1,
			"cleanup_policy":     string(spec.CleanupDelete),
			// Debezium expects the history kept whole: unlimited by time and size.
			"extra_config": map[string]string{"retention.bytes": "-1"},
		})
		r.acl(ident("acl_source_schema_history"), principal, "Topic", history, "Read", "Write", "Describe", "DescribeConfigs")
		deps = append(deps, ident("topic_schema_history"), ident("acl_source_schema_history"))
	default:
		r.v.Add("spec.source.kind", "must be postgres or mysql, got %q", src.Kind)
		return
	}

	heartbeat := HeartbeatTopic(d, p)
	r.module(ident("topic_heartbeat"), "kafka-topic", map[string]any{
		"name":               heartbeat,
		"partitions":         1,
		"replication_factor": r.env.ReplicationFactor,
		"retention_ms":       heartbeatRetentionMs,
		"cleanup_policy":     string(spec.CleanupDelete),
	})
	r.acl(ident("acl_source_heartbeat"), principal, "Topic", heartbeat, "Write", "Describe")
	for port, topic := range r.topics {
		r.acl(ident("acl_source_topic", port), principal, "Topic", topic, "Write", "Describe")
		deps = append(deps, r.topicMods[port], ident("acl_source_topic", port))
	}
	if extra := r.in.ConnectorConfig[name]; len(extra) > 0 {
		args["extra_config"] = extra
	}
	args["depends_on"] = dependsOn(deps)
	r.module("source", kind, args)
}

// sink renders one sink connector, its dead-letter topic and its ACLs.
func (r *renderer) sink(i int, s spec.Sink) {
	d, p := r.in.Domain, r.in.Product
	path := fmt.Sprintf("spec.sinks[%d]", i)
	n := r.v.Len()
	spec.CheckName(&r.v, path+".name", s.Name)
	if s.Name == "source" {
		r.v.Add(path+".name", "is reserved for the source connector")
	}
	if _, dup := r.connectors[s.Name]; dup && s.Name != "source" {
		r.v.Add(path+".name", "duplicate sink name %q", s.Name)
	}
	ports := s.Ports
	if len(ports) == 0 {
		for _, port := range r.in.Spec.Ports {
			ports = append(ports, port.Name)
		}
	}
	var topics []string
	for j, port := range ports {
		topic, ok := r.topics[port]
		if !ok {
			r.v.Add(fmt.Sprintf("%s.ports[%d]", path, j), "unknown output port %q", port)
			continue
		}
		if !slices.Contains(topics, topic) {
			topics = append(topics, topic)
		}
	}
	slices.Sort(topics)
	if r.v.Len() > n {
		return
	}

	name := SinkConnectorName(d, p, s.Name)
	r.connectors[s.Name] = name
	principal := Principal(name)
	dlq := DLQTopic(d, p, s.Name)
	args := map[string]any{
		"name":                   name,
		"topics":                 topics,
		"dlq_topic":              dlq,
		"dlq_replication_factor": r.env.ReplicationFactor,
	}
	var kind string
	switch s.Kind() {
	case spec.SinkBigQuery:
		kind = "sink-bigquery"
		b := s.BigQuery
		args["project"] = b.Project
		args["default_dataset"] = b.Dataset
		args["key_source"] = "JSON"
		args["keyfile"] = r.secret(path+".bigquery.credentialsRef", b.CredentialsRef, true)
	case spec.SinkS3:
		kind = "sink-s3"
		b := s.S3
		args["bucket"] = b.Bucket
		args["region"] = b.Region
		if dir := strings.TrimRight(b.Prefix, "/"); dir != "" {
			args["topics_dir"] = dir
		}
		args["format"] = b.Format
		args["flush_size"] = b.FlushSize
		args["rotate_interval_ms"] = b.RotateIntervalMs
		if b.CredentialsRef != "" {
			secret := r.secret(path+".s3.credentialsRef", b.CredentialsRef, false)
			if secret != "" {
				args["aws_access_key_id"] = providerRef(accessKeyIDRef(b.CredentialsRef))
				args["aws_secret_access_key"] = secret
			}
		}
	case spec.SinkJDBC:
		kind = "sink-jdbc"
		b := s.JDBC
		args["connection_url"] = b.URL
		args["connection_username"] = b.Username
		args["connection_password"] = r.secret(path+".jdbc.secretRef", b.SecretRef, true)
		args["insert_mode"] = b.InsertMode
		args["primary_key_fields"] = nonNil(b.PrimaryKeyFields)
		args["delete_enabled"] = b.DeleteEnabled
	case spec.SinkElasticsearch:
		kind = "sink-elasticsearch"
		b := s.Elasticsearch
		args["connection_url"] = b.URL
		if b.Username != "" {
			args["connection_username"] = b.Username
			args["connection_password"] = r.secret(path+".elasticsearch.secretRef", b.SecretRef, true)
		}
		if b.IndexPrefix != "" {
			args["index_prefix"] = b.IndexPrefix
		}
	default:
		r.v.Add(path, "exactly one sink kind must be set: bigquery, s3, jdbc or elasticsearch")
		return
	}

	r.module(ident("topic_dlq", s.Name), "kafka-topic", map[string]any{
		"name":               dlq,
		"partitions":         dlqPartitions,
		"replication_factor": r.env.ReplicationFactor,
		"retention_ms":       int64(spec.DefaultRetentionMs),
		"cleanup_policy":     string(spec.CleanupDelete),
	})
	deps := []string{ident("topic_dlq", s.Name), ident("acl_sink_dlq", s.Name), ident("acl_sink_group", s.Name)}
	r.acl(ident("acl_sink_dlq", s.Name), principal, "Topic", dlq, "Write")
	r.acl(ident("acl_sink_group", s.Name), principal, "Group", ConsumerGroup(name), "Read")
	for _, port := range ports {
		if id := ident("acl_sink_topic", s.Name, port); r.modules[id] == nil {
			r.acl(id, principal, "Topic", r.topics[port], "Read", "Describe")
			deps = append(deps, r.topicMods[port], id)
		}
	}
	if extra := r.in.ConnectorConfig[name]; len(extra) > 0 {
		args["extra_config"] = extra
	}
	r.sinkMasks(s, ports, args)
	args["depends_on"] = dependsOn(deps)
	r.module(ident("sink", s.Name), kind, args)
}

// maskFieldRe is what a field name must look like to be listed in a field
// transform: the list is comma separated, so a name holding a comma would
// name other fields.
var maskFieldRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// sinkMasks passes a sink's field transforms to its module: sorted, without
// duplicates, and a field both dropped and masked only dropped.
func (r *renderer) sinkMasks(s spec.Sink, ports []string, args map[string]any) {
	fm := r.in.SinkMasks[s.Name]
	if len(fm.Drop) == 0 && len(fm.Mask) == 0 {
		return
	}
	// Every field of the ports the sink consumes, with the types it has.
	types := map[string][]spec.FieldType{}
	for _, name := range ports {
		for _, port := range r.in.Spec.Ports {
			if port.Name != name {
				continue
			}
			for _, f := range port.Fields {
				types[f.Name] = append(types[f.Name], f.Type)
			}
		}
	}
	path := fmt.Sprintf("sinkMasks[%q]", s.Name)
	check := func(list string, fields []string) []string {
		var out []string
		for j, f := range fields {
			p := fmt.Sprintf("%s.%s[%d]", path, list, j)
			switch {
			case !maskFieldRe.MatchString(f):
				r.v.Add(p, "%q is not a field name", f)
			case types[f] == nil:
				r.v.Add(p, "%q is not a field of the sink's ports (%s)", f, strings.Join(ports, ", "))
			default:
				out = append(out, f)
			}
		}
		return out
	}
	checked := FieldMasks{Drop: check("drop", fm.Drop), Mask: check("mask", fm.Mask)}.Normalized()
	drop, mask := checked.Drop, checked.Mask
	for _, f := range mask {
		// MaskField knows empty values for strings, numbers, booleans and
		// dates only: a bytes value fails the record.
		if slices.Contains(types[f], spec.TypeBytes) {
			r.v.Add(fmt.Sprintf("%s.mask[%d]", path, slices.Index(fm.Mask, f)), "%q is a bytes field, which a sink cannot mask: drop it instead", f)
		}
	}
	if len(drop) > 0 {
		args["drop_fields"] = drop
	}
	if len(mask) > 0 {
		args["mask_fields"] = mask
	}
}

// checkSinkMasks reports field transforms for sinks the product does not have.
func (r *renderer) checkSinkMasks() {
	for _, name := range slices.Sorted(maps.Keys(r.in.SinkMasks)) {
		if !slices.ContainsFunc(r.in.Spec.Sinks, func(s spec.Sink) bool { return s.Name == name }) {
			r.v.Add(fmt.Sprintf("sinkMasks[%q]", name), "no sink of this product is named %q", name)
		}
	}
}

func (r *renderer) acl(id, principal, resourceType, resourceName string, operations ...string) {
	r.module(id, "kafka-acl", map[string]any{
		"principal":     principal,
		"resource_type": resourceType,
		"resource_name": resourceName,
		"pattern_type":  "Literal",
		"operations":    operations,
		"host":          "*",
	})
}

func (r *renderer) resource(typ, name string, block map[string]any) {
	if r.resources == nil {
		r.resources = map[string]map[string]any{}
	}
	if r.resources[typ] == nil {
		r.resources[typ] = map[string]any{}
	}
	if _, dup := r.resources[typ][name]; dup || !validIdent(name) {
		r.v.Add("spec", "internal: resource %s.%s is rendered twice or is not a valid identifier", typ, name)
		return
	}
	r.resources[typ][name] = block
}

func (r *renderer) module(id, kind string, args map[string]any) {
	if _, dup := r.modules[id]; dup {
		r.v.Add("spec", "two resources render to the Terraform module %q", id)
		return
	}
	block := map[string]any{"source": static{"./modules/" + kind}}
	maps.Copy(block, args)
	r.modules[id] = block
	r.kinds[kind] = true
	if kind == "kafka-topic" {
		r.created = append(r.created, args["name"].(string))
		if r.topicAddrs == nil {
			r.topicAddrs = map[string]string{}
		}
		r.topicAddrs[args["name"].(string)] = "module." + id + ".kafka_topic.this"
	}
}

// secret turns a spec secret reference (env:NAME, file:/path:key or
// vault:path:key) into the Kafka Connect config-provider reference the
// workers resolve (${env:NAME}, …); the secret itself never passes through.
func (r *renderer) secret(path, ref string, required bool) string {
	n := r.v.Len()
	spec.CheckSecretRef(&r.v, path, ref, required)
	if r.v.Len() > n || ref == "" {
		return ""
	}
	return providerRef(ref)
}

func providerRef(ref string) string { return "${" + ref + "}" }

// accessKeyIDRef locates an S3 sink's access key id beside the secret access
// key its credentials reference names: the same provider and path, with the
// key (or environment variable) suffixed _id (_ID for environment variables).
func accessKeyIDRef(secretRef string) string {
	if strings.HasPrefix(secretRef, "env:") {
		return secretRef + "_ID"
	}
	return secretRef + "_id"
}

func (r *renderer) checkConnectorConfig() {
	for _, name := range slices.Sorted(maps.Keys(r.in.ConnectorConfig)) {
		path := fmt.Sprintf("connectorConfig[%q]", name)
		if !slices.Contains(slices.Collect(maps.Values(r.connectors)), name) {
			r.v.Add(path, "no connector of this product is named %q", name)
			continue
		}
		for key := range r.in.ConnectorConfig[name] {
			if strings.TrimSpace(key) == "" {
				r.v.Add(path, "setting names must not be empty")
				break
			}
		}
	}
}

// checkIdentifiers guards the encoding: every module name must be a valid
// Terraform identifier whatever the names it was built from.
func (r *renderer) checkIdentifiers() {
	for id := range r.modules {
		if !validIdent(id) {
			r.v.Add("spec", "internal: %q is not a valid Terraform identifier", id)
		}
	}
}

func (r *renderer) document() map[string]any {
	env := r.env
	backend := map[string]any{}
	switch env.Backend.Kind {
	case BackendLocal:
		local := map[string]any{}
		if env.Backend.Path != "" {
			local["path"] = env.Backend.Path
		}
		backend["local"] = local
	case BackendPostgres:
		schema := env.Backend.SchemaName
		if schema == "" {
			schema = StateSchemaName(env.Name, r.in.Domain, r.in.Product)
		}
		// conn_str is left out on purpose: the pg backend reads PG_CONN_STR.
		backend["pg"] = map[string]any{"schema_name": schema}
	}

	kafka := map[string]any{
		"bootstrap_servers": env.KafkaBootstrap,
		// The provider enables TLS unless told otherwise.
		"tls_enabled": env.KafkaTLS,
	}
	if env.KafkaSASLMechanism != SASLNone {
		kafka["sasl_mechanism"] = env.KafkaSASLMechanism
		kafka["sasl_username"] = env.KafkaUsername
	}
	connect := map[string]any{"url": env.ConnectURL}
	if env.ConnectUsername != "" {
		connect["basic_auth_username"] = env.ConnectUsername
	}

	topics := map[string]any{}
	for port := range r.topics {
		topics[port] = expr("${module." + r.topicMods[port] + ".name}")
	}
	dlqs := map[string]any{}
	connectors := map[string]any{"source": expr("${module.source.name}")}
	for role := range r.connectors {
		if role != "source" {
			dlqs[role] = expr("${module." + ident("topic_dlq", role) + ".name}")
			connectors[role] = expr("${module." + ident("sink", role) + ".name}")
		}
	}

	modules := map[string]any{}
	for id, block := range r.modules {
		modules[id] = block
	}
	doc := map[string]any{
		"terraform": static{map[string]any{
			"required_version": TerraformConstraint,
			"required_providers": map[string]any{
				"kafka":         map[string]any{"source": "mongey/kafka", "version": KafkaProviderVersion},
				"kafka-connect": map[string]any{"source": "mongey/kafka-connect", "version": ConnectProviderVersion},
			},
			"backend": backend,
		}},
		"provider": map[string]any{
			"kafka":         kafka,
			"kafka-connect": connect,
		},
		"module": modules,
		"output": map[string]any{
			"topic_names":     map[string]any{"description": static{"Output topics by port."}, "value": topics},
			"dlq_topic_names": map[string]any{"description": static{"Dead-letter topics by sink."}, "value": dlqs},
			"connector_names": map[string]any{"description": static{"Connector names: the source and each sink."}, "value": connectors},
		},
	}
	if len(r.resources) > 0 {
		resources := map[string]any{}
		for typ, blocks := range r.resources {
			resources[typ] = blocks
		}
		doc["resource"] = resources
	}
	return doc
}

// expr is a Terraform template meant to be evaluated, such as a reference
// "${var.kafka_password}". Every other string in an evaluated position is
// data and is escaped.
type expr string

// static marks a part of the document Terraform reads without evaluating it
// (the terraform block, variable blocks, a module's source, descriptions):
// its strings are taken literally, so escaping them would change them.
type static struct{ v any }

// dependsOn lists module addresses for a depends_on argument, sorted.
func dependsOn(ids []string) []expr {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	out := make([]expr, 0, len(ids))
	for _, id := range slices.Compact(ids) {
		out = append(out, expr("module."+id))
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// escapeTemplate makes s a Terraform template that evaluates to s itself. The
// JSON syntax evaluates every string in an expression (object keys too) as a
// template, in which "${" starts an interpolation and "%{" a directive;
// "$${" and "%%{" are their literal forms. Config-provider references such as
// ${env:NAME} must reach Kafka Connect literally, so they are escaped like
// everything else.
func escapeTemplate(s string) string {
	s = strings.ReplaceAll(s, "${", "$${")
	return strings.ReplaceAll(s, "%{", "%%{")
}

// literal converts a document into plain JSON values. Strings are escaped
// unless they are exprs or inside a static part (escape false).
func literal(v any, escape bool) (any, error) {
	str := func(s string) string {
		if escape {
			return escapeTemplate(s)
		}
		return s
	}
	switch v := v.(type) {
	case nil, bool, int, int64, float64:
		return v, nil
	case string:
		return str(v), nil
	case expr:
		return string(v), nil
	case static:
		return literal(v.v, false)
	case []string:
		out := make([]any, len(v))
		for i, s := range v {
			out[i] = str(s)
		}
		return out, nil
	case []expr:
		out := make([]any, len(v))
		for i, s := range v {
			out[i] = string(s)
		}
		return out, nil
	case map[string]string:
		out := make(map[string]any, len(v))
		for k, s := range v {
			out[str(k)] = str(s)
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			lx, err := literal(x, escape)
			if err != nil {
				return nil, err
			}
			out[str(k)] = lx
		}
		return out, nil
	default:
		return nil, fmt.Errorf("internal: cannot render a %T", v)
	}
}

// encode writes the document as JSON with sorted keys, two-space indentation
// and a trailing newline.
func encode(doc map[string]any) ([]byte, error) {
	lit, err := literal(doc, true)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(lit); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
