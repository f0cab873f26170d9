package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/field"
)

// SavedPlan is the plan file a run saved for review, kept in the catalog so
// that whichever replica applies the run applies exactly the plan that was
// approved. It is deleted once the run ends.
type SavedPlan struct{ ent.Schema }

func (SavedPlan) Fields() []ent.Field {
	return []ent.Field{
		// ID is the run's id.
		field.String("id").Immutable().NotEmpty().MaxLen(36),
		field.Time("create_time").Default(now).Immutable(),
		// Digest is the SHA-256 of Data, as the run recorded it.
		field.String("digest").Immutable(),
		field.Bytes("data").Immutable().Sensitive().MaxLen(64 << 20),
	}
}
