package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/meshplane/meshplane/server/provision/summary"
	"github.com/meshplane/meshplane/server/spec"
)

// DataProduct is a domain's published data: a CDC source, output ports and sinks.
type DataProduct struct{ ent.Schema }

func (DataProduct) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{}, TimeMixin{}, VersionMixin{}}
}

func (DataProduct) Fields() []ent.Field {
	return []ent.Field{
		field.String("domain").NotEmpty().Immutable().MaxLen(63),
		field.String("name").NotEmpty().Immutable().MaxLen(63),
		field.Text("description").Default(""),
		field.String("owner").Default("").MaxLen(254),
		field.JSON("labels", map[string]string{}).Optional(),
		field.Enum("lifecycle").Values("draft", "active", "deprecated", "retired").Default("draft"),
		field.JSON("source", spec.Source{}),
		field.JSON("ports", []spec.OutputPort{}),
		field.JSON("sinks", []spec.Sink{}).Optional(),
		field.String("created_by").Default("").Immutable(),
		field.String("updated_by").Default(""),
		// ProvisionedVersion is the product version last applied to the data plane.
		field.Int64("provisioned_version").Optional().Nillable(),
		// Drift lists what differs between the data plane and the last apply,
		// as the latest refresh-only plan saw it; empty when in sync.
		field.JSON("drift", []summary.ResourceChange{}).Optional(),
		field.Time("drift_check_time").Optional().Nillable(),
	}
}

func (DataProduct) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("domain", "name").Unique(),
		index.Fields("name", "domain"),
		// Serves lifecycle-filtered listings in name order without sorting every match.
		index.Fields("lifecycle", "name", "domain"),
		index.Fields("create_time", "id"),
		index.Fields("update_time", "id"),
	}
}
