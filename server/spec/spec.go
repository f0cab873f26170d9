// Package spec defines the values a data product is made of — source, output
// ports with their field-level schema, sinks — and the rules they must obey.
// The catalog stores them as they are; doors translate them to their wire forms.
package spec

import (
	"fmt"
	"strings"
)

// Lifecycle is a product's stage: draft → active → deprecated → retired.
type Lifecycle string

const (
	LifecycleDraft      Lifecycle = "draft"
	LifecycleActive     Lifecycle = "active"
	LifecycleDeprecated Lifecycle = "deprecated"
	LifecycleRetired    Lifecycle = "retired"
)

// Lifecycles lists every lifecycle in order.
var Lifecycles = []Lifecycle{LifecycleDraft, LifecycleActive, LifecycleDeprecated, LifecycleRetired}

// legalTransitions lists the lifecycle moves a product may make. Retired is
// terminal; a deprecated product may be reactivated while consumers remain.
var legalTransitions = map[Lifecycle][]Lifecycle{
	LifecycleDraft:      {LifecycleActive},
	LifecycleActive:     {LifecycleDeprecated},
	LifecycleDeprecated: {LifecycleActive, LifecycleRetired},
}

// CanTransition reports whether a product may move from one lifecycle to another.
func CanTransition(from, to Lifecycle) bool {
	for _, l := range legalTransitions[from] {
		if l == to {
			return true
		}
	}
	return false
}

// SourceKind is the kind of database a product captures changes from.
type SourceKind string

const (
	SourcePostgres SourceKind = "postgres"
	SourceMySQL    SourceKind = "mysql"
)

// Classification says how sensitive a field's values are. The empty value
// means unclassified, which admission policies may refuse.
type Classification string

const (
	ClassUnclassified Classification = ""
	ClassNone         Classification = "none"
	ClassInternal     Classification = "internal"
	ClassPII          Classification = "pii"
	ClassSensitive    Classification = "sensitive"
)

// FieldType is a field's logical type.
type FieldType string

const (
	TypeString    FieldType = "string"
	TypeInt32     FieldType = "int32"
	TypeInt64     FieldType = "int64"
	TypeFloat     FieldType = "float"
	TypeDouble    FieldType = "double"
	TypeBoolean   FieldType = "boolean"
	TypeBytes     FieldType = "bytes"
	TypeDecimal   FieldType = "decimal"
	TypeDate      FieldType = "date"
	TypeTimestamp FieldType = "timestamp"
	TypeJSON      FieldType = "json"
)

// FieldTypes lists every field type.
var FieldTypes = []FieldType{TypeString, TypeInt32, TypeInt64, TypeFloat, TypeDouble, TypeBoolean, TypeBytes, TypeDecimal, TypeDate, TypeTimestamp, TypeJSON}

// CleanupPolicy is the Kafka topic's cleanup.policy.
type CleanupPolicy string

const (
	CleanupDelete        CleanupPolicy = "delete"
	CleanupCompact       CleanupPolicy = "compact"
	CleanupCompactDelete CleanupPolicy = "compact,delete"
)

// SinkKind names a sink's target system.
type SinkKind string

const (
	SinkBigQuery      SinkKind = "bigquery"
	SinkS3            SinkKind = "s3"
	SinkJDBC          SinkKind = "jdbc"
	SinkElasticsearch SinkKind = "elasticsearch"
)

// Source is the operational database whose changes the product captures.
type Source struct {
	Kind      SourceKind `json:"kind"`
	Host      string     `json:"host"`
	Port      int        `json:"port"`
	Database  string     `json:"database"`
	Tables    []string   `json:"tables"`
	Username  string     `json:"username"`
	SecretRef string     `json:"secretRef"`
}

// Field is one column of an output port's schema.
type Field struct {
	Name           string         `json:"name"`
	Type           FieldType      `json:"type"`
	Nullable       bool           `json:"nullable"`
	Description    string         `json:"description,omitempty"`
	Classification Classification `json:"classification"`
	Tags           []string       `json:"tags,omitempty"`
	// Key marks the fields that make up the port's record key. When set,
	// meshplane sets the connector's record key to exactly these columns
	// instead of the table's primary key, which Debezium writes unmasked.
	Key bool `json:"key,omitempty"`
}

// OutputPort is a Kafka topic the product publishes.
type OutputPort struct {
	Name          string        `json:"name"`
	Description   string        `json:"description,omitempty"`
	Topic         string        `json:"topic"`
	MajorVersion  int           `json:"majorVersion"`
	Partitions    int           `json:"partitions"`
	RetentionMs   int64         `json:"retentionMs"`
	CleanupPolicy CleanupPolicy `json:"cleanupPolicy"`
	Table         string        `json:"table"`
	Fields        []Field       `json:"fields"`
	// Retained are earlier majors whose topics stay, with their grants,
	// beside this one until retired. meshplane keeps them: a bump of an
	// active port's major retains the major before, RetirePortMajor ends it.
	Retained []RetainedMajor `json:"retained,omitempty"`
	// BaseMajor is the major whose topic the port's workspace holds at the
	// port's own address (0: the current one), so a bump adds a topic
	// instead of replacing it. meshplane keeps it.
	BaseMajor int `json:"baseMajor,omitempty"`
}

// RetainedMajor is an earlier major of a port and its topic's settings,
// kept as they were when the port moved on.
type RetainedMajor struct {
	Major         int           `json:"major"`
	Partitions    int           `json:"partitions"`
	RetentionMs   int64         `json:"retentionMs"`
	CleanupPolicy CleanupPolicy `json:"cleanupPolicy"`
	// Fields are the major's schema, as its consumers read it.
	Fields []Field `json:"fields,omitempty"`
}

// TopicOf is the topic of the port's major m, beside its current topic.
func (p OutputPort) TopicOf(m int) string {
	return strings.TrimSuffix(p.Topic, fmt.Sprintf(".v%d", p.MajorVersion)) + fmt.Sprintf(".v%d", m)
}

// BigQuerySink delivers to a BigQuery dataset.
type BigQuerySink struct {
	Project        string `json:"project"`
	Dataset        string `json:"dataset"`
	CredentialsRef string `json:"credentialsRef"`
}

// S3Sink writes objects to an S3 bucket.
type S3Sink struct {
	Bucket           string `json:"bucket"`
	Region           string `json:"region"`
	Prefix           string `json:"prefix,omitempty"`
	Format           string `json:"format"`
	FlushSize        int    `json:"flushSize"`
	RotateIntervalMs int64  `json:"rotateIntervalMs"`
	CredentialsRef   string `json:"credentialsRef,omitempty"`
}

// JDBCSink writes rows to a relational database.
type JDBCSink struct {
	URL              string   `json:"url"`
	Username         string   `json:"username"`
	SecretRef        string   `json:"secretRef"`
	InsertMode       string   `json:"insertMode"`
	PrimaryKeyFields []string `json:"primaryKeyFields,omitempty"`
	DeleteEnabled    bool     `json:"deleteEnabled"`
}

// ElasticsearchSink indexes documents into Elasticsearch.
type ElasticsearchSink struct {
	URL         string `json:"url"`
	Username    string `json:"username,omitempty"`
	SecretRef   string `json:"secretRef,omitempty"`
	IndexPrefix string `json:"indexPrefix,omitempty"`
}

// Sink delivers some or all output ports to one target; exactly one of the
// typed settings is set.
type Sink struct {
	Name          string             `json:"name"`
	Ports         []string           `json:"ports,omitempty"`
	BigQuery      *BigQuerySink      `json:"bigquery,omitempty"`
	S3            *S3Sink            `json:"s3,omitempty"`
	JDBC          *JDBCSink          `json:"jdbc,omitempty"`
	Elasticsearch *ElasticsearchSink `json:"elasticsearch,omitempty"`
}

// Kind returns the sink's kind, or "" when none or several settings are set.
func (s Sink) Kind() SinkKind {
	var kind SinkKind
	n := 0
	if s.BigQuery != nil {
		kind, n = SinkBigQuery, n+1
	}
	if s.S3 != nil {
		kind, n = SinkS3, n+1
	}
	if s.JDBC != nil {
		kind, n = SinkJDBC, n+1
	}
	if s.Elasticsearch != nil {
		kind, n = SinkElasticsearch, n+1
	}
	if n != 1 {
		return ""
	}
	return kind
}

// Product is the part of a data product a domain team writes.
type Product struct {
	Description string            `json:"description"`
	Owner       string            `json:"owner"`
	Labels      map[string]string `json:"labels,omitempty"`
	Source      Source            `json:"source"`
	Ports       []OutputPort      `json:"ports"`
	Sinks       []Sink            `json:"sinks,omitempty"`
}

// SecretRef is one of a product's secret references and the field holding it.
type SecretRef struct {
	// Path is the field in the catalog's path format, e.g. "spec.sinks[1].jdbc.secretRef".
	Path string
	// Ref is the reference itself (env:NAME, file:/path:key or vault:path:key).
	Ref string
}

// SecretRefs lists the product's secret references in spec order — the
// source's, then each sink's — with paths under path (usually "spec").
// Empty references are left out. Admission policies judge every one of
// them, so a reference field added to the spec must be listed here.
func (p Product) SecretRefs(path string) []SecretRef {
	var out []SecretRef
	add := func(field, ref string) {
		if ref != "" {
			out = append(out, SecretRef{Path: path + "." + field, Ref: ref})
		}
	}
	add("source.secretRef", p.Source.SecretRef)
	for i, s := range p.Sinks {
		sink := fmt.Sprintf("sinks[%d]", i)
		if s.BigQuery != nil {
			add(sink+".bigquery.credentialsRef", s.BigQuery.CredentialsRef)
		}
		if s.S3 != nil {
			add(sink+".s3.credentialsRef", s.S3.CredentialsRef)
		}
		if s.JDBC != nil {
			add(sink+".jdbc.secretRef", s.JDBC.SecretRef)
		}
		if s.Elasticsearch != nil {
			add(sink+".elasticsearch.secretRef", s.Elasticsearch.SecretRef)
		}
	}
	return out
}

// TopicName derives an output port's Kafka topic; topic names are never typed by users.
func TopicName(domain, product, port string, major int) string {
	return fmt.Sprintf("%s.%s.%s.v%d", domain, product, port, major)
}
