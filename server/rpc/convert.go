package rpc

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
	"github.com/meshplane/meshplane/server/catalog"
	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/provision/summary"
	"github.com/meshplane/meshplane/server/spec"
)

// enumMap pairs proto enum numbers with the catalog's strings. A number the
// server does not know decodes to a string the validator rejects by path.
type enumMap[E ~int32] map[E]string

func (m enumMap[E]) str(e E) string {
	if s, ok := m[e]; ok {
		return s
	}
	return fmt.Sprintf("unknown enum value %d", int32(e))
}

func (m enumMap[E]) num(s string) E {
	for k, v := range m {
		if v == s {
			return k
		}
	}
	return 0
}

var (
	lifecycles = enumMap[v1.Lifecycle]{
		v1.Lifecycle_LIFECYCLE_UNSPECIFIED: "",
		v1.Lifecycle_LIFECYCLE_DRAFT:       string(spec.LifecycleDraft),
		v1.Lifecycle_LIFECYCLE_ACTIVE:      string(spec.LifecycleActive),
		v1.Lifecycle_LIFECYCLE_DEPRECATED:  string(spec.LifecycleDeprecated),
		v1.Lifecycle_LIFECYCLE_RETIRED:     string(spec.LifecycleRetired),
	}
	sourceKinds = enumMap[v1.SourceKind]{
		v1.SourceKind_SOURCE_KIND_UNSPECIFIED: "",
		v1.SourceKind_SOURCE_KIND_POSTGRES:    string(spec.SourcePostgres),
		v1.SourceKind_SOURCE_KIND_MYSQL:       string(spec.SourceMySQL),
	}
	classifications = enumMap[v1.Classification]{
		v1.Classification_CLASSIFICATION_UNSPECIFIED: string(spec.ClassUnclassified),
		v1.Classification_CLASSIFICATION_NONE:        string(spec.ClassNone),
		v1.Classification_CLASSIFICATION_INTERNAL:    string(spec.ClassInternal),
		v1.Classification_CLASSIFICATION_PII:         string(spec.ClassPII),
		v1.Classification_CLASSIFICATION_SENSITIVE:   string(spec.ClassSensitive),
	}
	fieldTypes = enumMap[v1.FieldType]{
		v1.FieldType_FIELD_TYPE_UNSPECIFIED: "",
		v1.FieldType_FIELD_TYPE_STRING:      string(spec.TypeString),
		v1.FieldType_FIELD_TYPE_INT32:       string(spec.TypeInt32),
		v1.FieldType_FIELD_TYPE_INT64:       string(spec.TypeInt64),
		v1.FieldType_FIELD_TYPE_FLOAT:       string(spec.TypeFloat),
		v1.FieldType_FIELD_TYPE_DOUBLE:      string(spec.TypeDouble),
		v1.FieldType_FIELD_TYPE_BOOLEAN:     string(spec.TypeBoolean),
		v1.FieldType_FIELD_TYPE_BYTES:       string(spec.TypeBytes),
		v1.FieldType_FIELD_TYPE_DECIMAL:     string(spec.TypeDecimal),
		v1.FieldType_FIELD_TYPE_DATE:        string(spec.TypeDate),
		v1.FieldType_FIELD_TYPE_TIMESTAMP:   string(spec.TypeTimestamp),
		v1.FieldType_FIELD_TYPE_JSON:        string(spec.TypeJSON),
	}
	cleanupPolicies = enumMap[v1.CleanupPolicy]{
		v1.CleanupPolicy_CLEANUP_POLICY_UNSPECIFIED:    "",
		v1.CleanupPolicy_CLEANUP_POLICY_DELETE:         string(spec.CleanupDelete),
		v1.CleanupPolicy_CLEANUP_POLICY_COMPACT:        string(spec.CleanupCompact),
		v1.CleanupPolicy_CLEANUP_POLICY_COMPACT_DELETE: string(spec.CleanupCompactDelete),
	}
	healths = enumMap[v1.DataProductHealth]{
		v1.DataProductHealth_DATA_PRODUCT_HEALTH_UNSPECIFIED:     "",
		v1.DataProductHealth_DATA_PRODUCT_HEALTH_NOT_PROVISIONED: string(catalog.HealthNotProvisioned),
		v1.DataProductHealth_DATA_PRODUCT_HEALTH_IN_SYNC:         string(catalog.HealthInSync),
		v1.DataProductHealth_DATA_PRODUCT_HEALTH_DRIFTED:         string(catalog.HealthDrifted),
	}
	principalKinds = enumMap[v1.PrincipalKind]{
		v1.PrincipalKind_PRINCIPAL_KIND_UNSPECIFIED:     "",
		v1.PrincipalKind_PRINCIPAL_KIND_USER:            "user",
		v1.PrincipalKind_PRINCIPAL_KIND_SERVICE_ACCOUNT: "service-account",
	}
)

// ProductSpec decodes a wire product spec into the catalog's values. It never
// fails: what is malformed surfaces as validation errors with field paths.
func ProductSpec(in *v1.DataProductSpec) spec.Product {
	if in == nil {
		return spec.Product{}
	}
	p := spec.Product{
		Description: in.GetDescription(),
		Owner:       in.GetOwner(),
		Labels:      in.GetLabels(),
	}
	if src := in.GetSource(); src != nil {
		p.Source = spec.Source{
			Kind:      spec.SourceKind(sourceKinds.str(src.GetKind())),
			Host:      src.GetHost(),
			Port:      int(src.GetPort()),
			Database:  src.GetDatabase(),
			Tables:    src.GetTables(),
			Username:  src.GetUsername(),
			SecretRef: src.GetSecretRef(),
		}
	}
	for _, port := range in.GetPorts() {
		op := spec.OutputPort{
			Name:          port.GetName(),
			Description:   port.GetDescription(),
			MajorVersion:  int(port.GetMajorVersion()),
			Partitions:    int(port.GetPartitions()),
			RetentionMs:   port.GetRetentionMs(),
			CleanupPolicy: spec.CleanupPolicy(cleanupPolicies.str(port.GetCleanupPolicy())),
			Table:         port.GetTable(),
		}
		op.Fields = fieldsOf(port.GetFields())
		p.Ports = append(p.Ports, op)
	}
	for _, s := range in.GetSinks() {
		out := spec.Sink{Name: s.GetName(), Ports: s.GetPorts()}
		switch k := s.GetKind().(type) {
		case *v1.Sink_Bigquery:
			out.BigQuery = &spec.BigQuerySink{Project: k.Bigquery.GetProject(), Dataset: k.Bigquery.GetDataset(), CredentialsRef: k.Bigquery.GetCredentialsRef()}
		case *v1.Sink_S3:
			out.S3 = &spec.S3Sink{Bucket: k.S3.GetBucket(), Region: k.S3.GetRegion(), Prefix: k.S3.GetPrefix(), Format: k.S3.GetFormat(),
				FlushSize: int(k.S3.GetFlushSize()), RotateIntervalMs: k.S3.GetRotateIntervalMs(), CredentialsRef: k.S3.GetCredentialsRef()}
		case *v1.Sink_Jdbc:
			out.JDBC = &spec.JDBCSink{URL: k.Jdbc.GetUrl(), Username: k.Jdbc.GetUsername(), SecretRef: k.Jdbc.GetSecretRef(),
				InsertMode: k.Jdbc.GetInsertMode(), PrimaryKeyFields: k.Jdbc.GetPrimaryKeyFields(), DeleteEnabled: k.Jdbc.GetDeleteEnabled()}
		case *v1.Sink_Elasticsearch:
			out.Elasticsearch = &spec.ElasticsearchSink{URL: k.Elasticsearch.GetUrl(), Username: k.Elasticsearch.GetUsername(),
				SecretRef: k.Elasticsearch.GetSecretRef(), IndexPrefix: k.Elasticsearch.GetIndexPrefix()}
		}
		p.Sinks = append(p.Sinks, out)
	}
	return p
}

func dataProductPB(p *ent.DataProduct) *v1.DataProduct {
	out := &v1.DataProduct{
		Id:          p.ID,
		Domain:      p.Domain,
		Name:        p.Name,
		Description: p.Description,
		Owner:       p.Owner,
		Labels:      p.Labels,
		Lifecycle:   lifecycles.num(string(p.Lifecycle)),
		Source: &v1.Source{
			Kind:      sourceKinds.num(string(p.Source.Kind)),
			Host:      p.Source.Host,
			Port:      int32(p.Source.Port),
			Database:  p.Source.Database,
			Tables:    p.Source.Tables,
			Username:  p.Source.Username,
			SecretRef: p.Source.SecretRef,
		},
		Version:    p.Version,
		CreateTime: timestamppb.New(p.CreateTime),
		UpdateTime: timestamppb.New(p.UpdateTime),
		CreatedBy:  p.CreatedBy,
		UpdatedBy:  p.UpdatedBy,
		Health:     healths.num(string(catalog.HealthOf(p))),
	}
	if p.ProvisionedVersion != nil {
		out.ProvisionedVersion = *p.ProvisionedVersion
	}
	if p.DriftCheckTime != nil {
		out.DriftCheckTime = timestamppb.New(*p.DriftCheckTime)
	}
	out.Drift = summaryPB(summary.Summary{Resources: p.Drift}).GetResources()
	sp := SpecPB(spec.Product{Ports: p.Ports, Sinks: p.Sinks})
	out.Ports, out.Sinks = sp.Ports, sp.Sinks
	for i, port := range p.Ports {
		for _, r := range port.Retained {
			rm := &v1.RetainedMajor{Major: int32(r.Major), Topic: spec.TopicName(p.Domain, p.Name, port.Name, r.Major),
				Partitions: int32(r.Partitions), RetentionMs: r.RetentionMs, CleanupPolicy: cleanupPolicies.num(string(r.CleanupPolicy))}
			rm.Fields = fieldsPB(r.Fields)
			out.Ports[i].Retained = append(out.Ports[i].Retained, rm)
		}
	}
	return out
}

// SpecPB encodes a product spec for the wire: ProductSpec's inverse.
func SpecPB(p spec.Product) *v1.DataProductSpec {
	out := &v1.DataProductSpec{Description: p.Description, Owner: p.Owner, Labels: p.Labels,
		Source: &v1.Source{Kind: sourceKinds.num(string(p.Source.Kind)), Host: p.Source.Host, Port: int32(p.Source.Port),
			Database: p.Source.Database, Tables: p.Source.Tables, Username: p.Source.Username, SecretRef: p.Source.SecretRef}}
	for _, port := range p.Ports {
		op := &v1.OutputPort{
			Name:          port.Name,
			Description:   port.Description,
			Topic:         port.Topic,
			MajorVersion:  int32(port.MajorVersion),
			Partitions:    int32(port.Partitions),
			RetentionMs:   port.RetentionMs,
			CleanupPolicy: cleanupPolicies.num(string(port.CleanupPolicy)),
			Table:         port.Table,
		}
		op.Fields = fieldsPB(port.Fields)
		out.Ports = append(out.Ports, op)
	}
	for _, s := range p.Sinks {
		ps := &v1.Sink{Name: s.Name, Ports: s.Ports}
		switch {
		case s.BigQuery != nil:
			ps.Kind = &v1.Sink_Bigquery{Bigquery: &v1.BigQuerySink{Project: s.BigQuery.Project, Dataset: s.BigQuery.Dataset, CredentialsRef: s.BigQuery.CredentialsRef}}
		case s.S3 != nil:
			ps.Kind = &v1.Sink_S3{S3: &v1.S3Sink{Bucket: s.S3.Bucket, Region: s.S3.Region, Prefix: s.S3.Prefix, Format: s.S3.Format,
				FlushSize: int32(s.S3.FlushSize), RotateIntervalMs: s.S3.RotateIntervalMs, CredentialsRef: s.S3.CredentialsRef}}
		case s.JDBC != nil:
			ps.Kind = &v1.Sink_Jdbc{Jdbc: &v1.JdbcSink{Url: s.JDBC.URL, Username: s.JDBC.Username, SecretRef: s.JDBC.SecretRef,
				InsertMode: s.JDBC.InsertMode, PrimaryKeyFields: s.JDBC.PrimaryKeyFields, DeleteEnabled: s.JDBC.DeleteEnabled}}
		case s.Elasticsearch != nil:
			ps.Kind = &v1.Sink_Elasticsearch{Elasticsearch: &v1.ElasticsearchSink{Url: s.Elasticsearch.URL, Username: s.Elasticsearch.Username,
				SecretRef: s.Elasticsearch.SecretRef, IndexPrefix: s.Elasticsearch.IndexPrefix}}
		}
		out.Sinks = append(out.Sinks, ps)
	}
	return out
}

func facetsPB(f *catalog.Facets) *v1.DataProductFacets {
	if f == nil {
		return nil
	}
	out := &v1.DataProductFacets{TotalSize: int32(f.Total)}
	for _, d := range f.Domains {
		out.Domains = append(out.Domains, &v1.DomainFacet{Domain: d.Domain, Count: int32(d.Count)})
	}
	for _, l := range f.Lifecycles {
		out.Lifecycles = append(out.Lifecycles, &v1.LifecycleFacet{Lifecycle: lifecycles.num(string(l.Lifecycle)), Count: int32(l.Count)})
	}
	for _, h := range f.Health {
		out.Health = append(out.Health, &v1.HealthFacet{Health: healths.num(string(h.Health)), Count: int32(h.Count)})
	}
	for _, c := range f.Classifications {
		out.Classifications = append(out.Classifications, &v1.ClassificationFacet{Classification: classifications.num(string(c.Classification)), Count: int32(c.Count)})
	}
	return out
}

func domainPB(d *ent.Domain) *v1.Domain {
	return &v1.Domain{
		Id: d.ID, Name: d.Name, Description: d.Description, Labels: d.Labels, Version: d.Version,
		CreateTime: timestamppb.New(d.CreateTime), UpdateTime: timestamppb.New(d.UpdateTime),
	}
}

func principalPB(p *ent.Principal) *v1.Principal {
	return &v1.Principal{
		Id: p.ID, Name: p.Name, Kind: principalKinds.num(string(p.Kind)), DisplayName: p.DisplayName,
		Email: p.Email, Domain: p.Domain, Disabled: p.Disabled, Version: p.Version,
		CreateTime: timestamppb.New(p.CreateTime),
	}
}

func tokenPB(t *ent.Token) *v1.Token {
	out := &v1.Token{
		Id: t.ID, Description: t.Description,
		ExpireTime: timestamppb.New(t.ExpireTime), CreateTime: timestamppb.New(t.CreateTime),
		Revoked: t.RevokeTime != nil,
	}
	if t.Edges.Principal != nil {
		out.Principal = t.Edges.Principal.Name
	}
	if t.LastUsedTime != nil {
		out.LastUsedTime = timestamppb.New(*t.LastUsedTime)
	}
	if t.RevokeTime != nil {
		out.RevokeTime = timestamppb.New(*t.RevokeTime)
	}
	return out
}

func roleBindingPB(b *ent.RoleBinding) *v1.RoleBinding {
	return &v1.RoleBinding{Id: b.ID, Principal: b.Principal, Role: b.Role, Domain: b.Domain,
		CreateTime: timestamppb.New(b.CreateTime), CreatedBy: b.CreatedBy}
}

func auditEventPB(e *ent.AuditEvent) *v1.AuditEvent {
	return &v1.AuditEvent{
		Sequence: e.ID, Time: timestamppb.New(e.Time), Actor: e.Actor, Action: e.Action,
		ResourceType: e.ResourceType, Resource: e.Resource, Domain: e.Domain,
		Before: e.Before, After: e.After, RequestId: e.RequestID, PreviousHash: e.PrevHash, Hash: e.Hash,
	}
}

func previewPB(p catalog.PortPreview) *v1.GetPortPreviewResponse {
	out := &v1.GetPortPreviewResponse{Environment: p.Environment, Topic: p.Topic, RawPii: p.RawPII, Incomplete: p.Incomplete}
	for _, r := range p.Records {
		rec := &v1.PreviewRecord{Partition: r.Partition, Offset: r.Offset, Timestamp: timestamppb.New(r.Timestamp),
			Key: jsonText(r.Key), Value: jsonText(r.Value), MaskedFields: r.Masked, Note: r.Note}
		out.Records = append(out.Records, rec)
	}
	return out
}

func jsonText(b []byte) string {
	if len(b) == 0 {
		return "null"
	}
	return string(b)
}

// tsOrNil converts an optional time; nil stays unset.
func tsOrNil(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return timestamppb.New(*t)
}

// ProductOf decodes a stored product from the wire: its lifecycle and
// spec, with what meshplane derives and keeps (topics, earlier majors).
func ProductOf(p *v1.DataProduct) (spec.Lifecycle, spec.Product) {
	ps := ProductSpec(&v1.DataProductSpec{Description: p.GetDescription(),
		Owner: p.GetOwner(), Labels: p.GetLabels(), Source: p.GetSource(), Ports: p.GetPorts(), Sinks: p.GetSinks()})
	for i, port := range p.GetPorts() {
		ps.Ports[i].Topic = port.GetTopic()
		for _, r := range port.GetRetained() {
			ps.Ports[i].Retained = append(ps.Ports[i].Retained, spec.RetainedMajor{Major: int(r.GetMajor()), Partitions: int(r.GetPartitions()),
				RetentionMs: r.GetRetentionMs(), CleanupPolicy: spec.CleanupPolicy(cleanupPolicies.str(r.GetCleanupPolicy())),
				Fields: fieldsOf(r.GetFields())})
		}
	}
	return spec.Lifecycle(lifecycles.str(p.GetLifecycle())), ps
}

// LifecyclePB encodes a lifecycle for the wire; "" is unspecified.
func LifecyclePB(l spec.Lifecycle) v1.Lifecycle { return lifecycles.num(string(l)) }

// fieldsOf decodes a port's fields from the wire.
func fieldsOf(in []*v1.Field) []spec.Field {
	var out []spec.Field
	for _, f := range in {
		out = append(out, spec.Field{
			Name:           f.GetName(),
			Type:           spec.FieldType(fieldTypes.str(f.GetType())),
			Nullable:       f.GetNullable(),
			Description:    f.GetDescription(),
			Classification: spec.Classification(classifications.str(f.GetClassification())),
			Tags:           f.GetTags(),
			Key:            f.GetKey(),
		})
	}
	return out
}

// fieldsPB encodes a port's fields for the wire.
func fieldsPB(in []spec.Field) []*v1.Field {
	var out []*v1.Field
	for _, f := range in {
		out = append(out, &v1.Field{
			Name:           f.Name,
			Type:           fieldTypes.num(string(f.Type)),
			Nullable:       f.Nullable,
			Description:    f.Description,
			Classification: classifications.num(string(f.Classification)),
			Tags:           f.Tags,
			Key:            f.Key,
		})
	}
	return out
}
