package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
)

// Principal is someone or something that calls meshplane: a user or a service account.
type Principal struct{ ent.Schema }

func (Principal) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{}, TimeMixin{}, VersionMixin{}}
}

func (Principal) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").Unique().Immutable().NotEmpty().MaxLen(63),
		field.Enum("kind").Values("user", "service-account").Immutable(),
		field.String("display_name").Default("").MaxLen(256),
		field.String("email").Default("").MaxLen(254),
		// Domain owns a service account; empty for users.
		field.String("domain").Default("").Immutable().MaxLen(63),
		field.Bool("disabled").Default(false),
	}
}

func (Principal) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("tokens", Token.Type),
	}
}
