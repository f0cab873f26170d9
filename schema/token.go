package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Token is an API bearer token. Only its SHA-256 hash is stored.
type Token struct{ ent.Schema }

func (Token) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{}}
}

func (Token) Fields() []ent.Field {
	return []ent.Field{
		field.String("principal_id").Immutable(),
		field.String("hash").Unique().Immutable().Sensitive().NotEmpty(),
		field.String("description").Default("").MaxLen(256),
		field.Time("create_time").Default(now).Immutable(),
		field.Time("expire_time").Immutable(),
		field.Time("last_used_time").Optional().Nillable(),
		field.Time("revoke_time").Optional().Nillable(),
	}
}

func (Token) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("principal", Principal.Type).Ref("tokens").Field("principal_id").Unique().Required().Immutable(),
	}
}

func (Token) Indexes() []ent.Index {
	return []ent.Index{index.Fields("principal_id")}
}
