package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/meshplane/meshplane/server/provision/summary"
)

// Deployment is a product in one environment: which of its versions is
// applied there and what the last drift check found. The product's own
// provisioned_version, drift and drift_check_time mirror its deployment in
// the first (default) environment, which the catalog's search facets read.
type Deployment struct{ ent.Schema }

func (Deployment) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{}, TimeMixin{}}
}

func (Deployment) Fields() []ent.Field {
	return []ent.Field{
		field.String("product_id").NotEmpty().Immutable(),
		field.String("domain").NotEmpty().Immutable().MaxLen(63),
		field.String("product").NotEmpty().Immutable().MaxLen(63),
		field.String("environment").NotEmpty().Immutable().MaxLen(63),
		// ProvisionedVersion is the product version last applied in the
		// environment; nil when nothing of it is provisioned there.
		field.Int64("provisioned_version").Optional().Nillable(),
		field.JSON("drift", []summary.ResourceChange{}).Optional(),
		field.Time("drift_check_time").Optional().Nillable(),
	}
}

func (Deployment) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("product_id", "environment").Unique(),
		index.Fields("environment", "provisioned_version"),
	}
}
