package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// AuditEvent records one change. Events form a hash chain: each hash covers
// the event's content and the previous event's hash, so edits are detectable.
type AuditEvent struct{ ent.Schema }

func (AuditEvent) Fields() []ent.Field {
	return []ent.Field{
		// The id is the event's sequence number in the chain, assigned by
		// meshplane under the chain lock (not by the database) so it has no gaps.
		field.Int64("id").Immutable().Positive(),
		field.Time("time").Immutable(),
		field.String("actor").Immutable(),
		field.String("action").Immutable(),
		field.String("resource_type").Immutable(),
		field.String("resource").Immutable(),
		field.String("domain").Default("").Immutable(),
		field.Text("before").Default("").Immutable(),
		field.Text("after").Default("").Immutable(),
		field.String("request_id").Default("").Immutable(),
		field.String("prev_hash").Immutable(),
		field.String("hash").Immutable(),
	}
}

func (AuditEvent) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("domain", "id"),
		index.Fields("resource_type", "resource"),
		index.Fields("actor"),
	}
}
