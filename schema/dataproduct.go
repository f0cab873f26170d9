package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/meshplane/meshplane/server/provision/summary"
	"github.com/meshplane/meshplane/server/spec"
)

// DataProduct is a domain's published data: a CDC source, output ports and sinks.
//
// The migrations add what ent cannot express, which the migration generator
// leaves alone: the "health" column, generated from provisioned_version and
// drift (not_provisioned, in_sync or drifted); the "dataproduct_facets" index
// that counts facets without reading whole rows; on SQLite the FTS5 table
// "data_product_search" kept in sync with search_text by triggers; and on
// PostgreSQL the trigram index "dataproduct_search_trgm" on search_text.
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
		// SearchText is what catalog search matches text against
		// (spec.SearchText), rewritten with the spec in the same transaction
		// by every product write. On SQLite the full-text table
		// data_product_search indexes it; on PostgreSQL a trigram index does.
		// It is left out of the entity's JSON, so audit snapshots hold the
		// product and not this derived text, and reads skip the column.
		field.Text("search_text").Default("").StructTag(`json:"-"`),
		// Classifications is the set of classifications the product's fields
		// carry, one bit each (spec.ClassificationBits), written with the spec.
		field.Int64("classifications").Default(0),
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
