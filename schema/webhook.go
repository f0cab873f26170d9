package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Webhook is an endpoint that receives meshplane's events as CloudEvents.
// Its signing secret is derived from the server's key and never stored.
type Webhook struct{ ent.Schema }

func (Webhook) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{}, TimeMixin{}, VersionMixin{}}
}

func (Webhook) Fields() []ent.Field {
	return []ent.Field{
		// Domain is the domain whose events the webhook receives; "*" for every
		// domain and the global resources.
		field.String("domain").Immutable().NotEmpty().MaxLen(63),
		field.String("name").Immutable().NotEmpty().MaxLen(63),
		field.String("url").NotEmpty().MaxLen(2048),
		// Types are the event types delivered, each exact or a prefix ending
		// in ".*"; empty for every type.
		field.Strings("types").Optional(),
		field.Bool("active").Default(true),
		// Cursor is the last audit sequence number looked at for deliveries.
		field.Int64("cursor").Default(0),
		// SecretGeneration is bumped by every rotation of the signing secret.
		field.Int("secret_generation").Default(1),
		field.String("created_by").Default(""),
	}
}

func (Webhook) Indexes() []ent.Index {
	return []ent.Index{index.Fields("domain", "name").Unique()}
}

// WebhookDelivery is one event owed to one webhook, and how its delivery went.
type WebhookDelivery struct{ ent.Schema }

func (WebhookDelivery) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{}, TimeMixin{}}
}

func (WebhookDelivery) Fields() []ent.Field {
	return []ent.Field{
		field.String("webhook_id").Immutable().NotEmpty(),
		// Sequence is the audit event's sequence number: the event delivered.
		field.Int64("sequence").Immutable(),
		field.String("type").Immutable(),
		field.Enum("state").Values("pending", "delivered", "failed").Default("pending"),
		field.Int("attempts").Default(0),
		field.Time("next_attempt_time"),
		field.Time("last_attempt_time").Optional().Nillable(),
		// ResponseStatus is the receiver's HTTP status on the last attempt; 0 when none came.
		field.Int("response_status").Default(0),
		field.String("last_error").Default("").MaxLen(512),
		field.Time("deliver_time").Optional().Nillable(),
	}
}

func (WebhookDelivery) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("webhook_id", "sequence").Unique(),
		index.Fields("state", "next_attempt_time"),
	}
}
