package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// RoleBinding grants a principal a role in a domain ("*" for every domain).
type RoleBinding struct{ ent.Schema }

func (RoleBinding) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{}}
}

func (RoleBinding) Fields() []ent.Field {
	return []ent.Field{
		field.String("principal").NotEmpty().Immutable().MaxLen(63),
		field.String("role").NotEmpty().Immutable().MaxLen(63),
		field.String("domain").NotEmpty().Immutable().MaxLen(63),
		field.Time("create_time").Default(now).Immutable(),
		field.String("created_by").Default("").Immutable(),
	}
}

func (RoleBinding) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("principal", "role", "domain").Unique(),
		index.Fields("domain"),
	}
}
