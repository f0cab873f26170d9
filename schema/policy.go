package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// PolicyModule is one Rego module that governance officers edit: its draft
// (never evaluated) and which of its immutable versions is published.
type PolicyModule struct{ ent.Schema }

func (PolicyModule) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{}, TimeMixin{}, VersionMixin{}}
}

func (PolicyModule) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().Immutable().Unique().MaxLen(63),
		field.String("description").Default("").MaxLen(1024),
		// Draft holds the draft's files, file name → Rego source.
		field.JSON("draft", map[string]string{}),
		field.String("draft_updated_by").Default(""),
		// PublishedVersion is the version evaluation uses; 0 before the first publish.
		field.Int("published_version").Default(0).NonNegative(),
	}
}

// PolicyVersion is one published, immutable version of a module's files.
type PolicyVersion struct{ ent.Schema }

func (PolicyVersion) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{}}
}

func (PolicyVersion) Fields() []ent.Field {
	return []ent.Field{
		field.String("module").NotEmpty().Immutable().MaxLen(63),
		field.Int("number").Positive().Immutable(),
		field.JSON("files", map[string]string{}).Immutable(),
		// Digest is the SHA-256 of the files, name and content, in name order.
		field.String("digest").Immutable(),
		field.Text("message").Immutable(),
		field.String("published_by").Immutable(),
		field.Time("publish_time").Default(now).Immutable(),
		// RestoredFrom is the version a rollback published again; 0 otherwise.
		field.Int("restored_from").Default(0).Immutable(),
	}
}

func (PolicyVersion) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("module", "number").Unique(),
	}
}

// PolicyDecision records one admission or masking evaluation of a product:
// which policy versions decided, on what input, with what result and how fast.
type PolicyDecision struct{ ent.Schema }

func (PolicyDecision) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{}}
}

func (PolicyDecision) Fields() []ent.Field {
	return []ent.Field{
		field.Time("time").Default(now).Immutable(),
		field.Enum("kind").Values("admission", "masking").Immutable(),
		field.String("domain").Immutable().MaxLen(63),
		field.String("product").Immutable().MaxLen(63),
		// Trigger names what asked: a catalog write, a plan, a publish.
		field.String("trigger").Immutable(),
		field.String("actor").Default("").Immutable(),
		field.String("policy_version").Immutable(),
		field.String("input_digest").Immutable(),
		field.Bool("allowed").Immutable(),
		// FailedClosed is set when the policy could not decide and meshplane denied or dropped.
		field.Bool("failed_closed").Default(false).Immutable(),
		// Result is the decision as JSON: violations, or masking actions per field.
		field.Text("result").Immutable(),
		field.Text("error").Default("").Immutable(),
		field.Int64("duration_us").Immutable(),
	}
}

func (PolicyDecision) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("domain", "product", "time"),
	}
}

// RBACPolicy holds the Casbin role definitions governance officers edit; the
// single row replaces the embedded defaults once saved.
type RBACPolicy struct{ ent.Schema }

func (RBACPolicy) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{}, TimeMixin{}, VersionMixin{}}
}

func (RBACPolicy) Fields() []ent.Field {
	return []ent.Field{
		field.Text("text"),
		field.String("updated_by").Default(""),
	}
}
