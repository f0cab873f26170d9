package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/field"
)

// Domain is a team's area of ownership; products live in exactly one domain.
type Domain struct{ ent.Schema }

func (Domain) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{}, TimeMixin{}, VersionMixin{}}
}

func (Domain) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").Unique().Immutable().NotEmpty().MaxLen(63),
		field.Text("description").Default(""),
		field.JSON("labels", map[string]string{}).Optional(),
	}
}
