package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/field"
)

// Setting is a value every replica sharing the catalog must agree on, such
// as the fingerprint of the masking key.
type Setting struct{ ent.Schema }

func (Setting) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").Immutable().NotEmpty().MaxLen(63),
		field.String("value").MaxLen(1024),
		field.Time("create_time").Default(now).Immutable(),
	}
}
