package schema

import (
	"time"

	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Approval is one approval the access policy requires of a request, and
// who gave it.
type Approval struct {
	// Role is "domain-owner" (of Domain) or "governance-officer".
	Role   string `json:"role"`
	Domain string `json:"domain,omitempty"`
	// Reason is why the policy requires it.
	Reason      string     `json:"reason,omitempty"`
	ApprovedBy  string     `json:"approvedBy,omitempty"`
	ApproveTime *time.Time `json:"approveTime,omitempty"`
}

// AccessDecision is one approver's approve or decline of a request.
type AccessDecision struct {
	By       string    `json:"by"`
	Decision string    `json:"decision"` // approve | decline
	As       string    `json:"as,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Time     time.Time `json:"time"`
}

// AccessRequest is a consumer's request to read one or more output ports.
// The approvals it needs are decided by the published access policy when it
// is filed; its grants carry the access from approval to expiry.
type AccessRequest struct{ ent.Schema }

func (AccessRequest) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{}, TimeMixin{}, VersionMixin{}}
}

func (AccessRequest) Fields() []ent.Field {
	return []ent.Field{
		// Consumer is the service account that will read.
		field.String("consumer").NotEmpty().Immutable().MaxLen(63),
		field.String("consumer_domain").NotEmpty().Immutable().MaxLen(63),
		field.String("requested_by").NotEmpty().Immutable().MaxLen(63),
		field.Text("purpose").NotEmpty().Immutable(),
		field.Int64("duration_seconds").Positive().Immutable(),
		field.String("group_prefix").NotEmpty().Immutable().MaxLen(249),
		// Environment is where the consumer will read: its grants' ACLs are
		// planned into that environment's workspaces.
		field.String("environment").Default("").Immutable().MaxLen(63),
		field.Enum("state").Values("pending", "approved", "declined", "cancelled").Default("pending"),
		field.JSON("approvals", []Approval{}).Optional(),
		field.JSON("decisions", []AccessDecision{}).Optional(),
		field.Bool("auto_approved").Default(false),
		field.Int64("max_duration_seconds").Default(0),
		field.String("policy_version").Default(""),
		// PolicyError explains a policy failure meshplane failed closed on.
		field.Text("policy_error").Default(""),
		field.Text("decline_reason").Default(""),
		field.String("declined_by").Default(""),
		// Domains lists the domains of the requested ports, "|sales|hr|", so
		// a domain's requests are found without decoding every row.
		field.String("domains").Default("").Immutable(),
		field.Time("finish_time").Optional().Nillable(),
	}
}

func (AccessRequest) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("consumer", "create_time"),
		index.Fields("state", "create_time"),
	}
}

// Grant is one consumer's access to one output port, from request to end.
// While it is live it renders ACLs into its product's Terraform workspace.
type Grant struct{ ent.Schema }

func (Grant) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{}, TimeMixin{}, VersionMixin{}}
}

func (Grant) Fields() []ent.Field {
	return []ent.Field{
		field.String("request_id").NotEmpty().Immutable(),
		field.String("consumer").NotEmpty().Immutable().MaxLen(63),
		field.String("consumer_domain").NotEmpty().Immutable().MaxLen(63),
		field.String("domain").NotEmpty().Immutable().MaxLen(63),
		field.String("product").NotEmpty().Immutable().MaxLen(63),
		field.String("product_id").NotEmpty().Immutable(),
		field.String("port").NotEmpty().Immutable().MaxLen(63),
		field.String("topic").NotEmpty().Immutable().MaxLen(249),
		// Environment is the data plane whose broker enforces the grant.
		field.String("environment").Default("").Immutable().MaxLen(63),
		field.String("group_prefix").NotEmpty().Immutable().MaxLen(249),
		field.Text("purpose").NotEmpty().Immutable(),
		field.Int64("duration_seconds").Positive().Immutable(),
		field.Enum("state").Values("pending", "approved", "provisioning", "active", "revoking", "expiring",
			"expired", "revoked", "declined", "cancelled").Default("pending"),
		// LiveKey is consumer|topic|environment while the grant is pending
		// or holds access, and null once it ended: the unique index refuses a
		// second live grant of one topic in one environment to one consumer,
		// whoever writes first.
		field.String("live_key").Optional().Nillable().Unique(),
		// RunID is the provisioning run adding or removing the grant's ACLs.
		field.String("run_id").Default(""),
		// Error says why provisioning waits or failed.
		field.Text("error").Default(""),
		field.String("ended_by").Default(""),
		field.Text("end_reason").Default(""),
		field.Time("approve_time").Optional().Nillable(),
		field.Time("activate_time").Optional().Nillable(),
		field.Time("expire_time").Optional().Nillable(),
		field.Time("end_time").Optional().Nillable(),
	}
}

func (Grant) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("product_id", "environment", "state"),
		index.Fields("domain", "product", "create_time"),
		index.Fields("consumer", "create_time"),
		index.Fields("request_id"),
		index.Fields("state", "expire_time"),
	}
}

// KafkaCredential records that a service account has a SCRAM user on one
// environment's data plane. It holds nothing that could recreate the
// password.
type KafkaCredential struct{ ent.Schema }

func (KafkaCredential) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{}, TimeMixin{}, VersionMixin{}}
}

func (KafkaCredential) Fields() []ent.Field {
	return []ent.Field{
		field.String("principal").NotEmpty().Immutable().MaxLen(63),
		field.String("environment").Default("").Immutable().MaxLen(63),
		field.String("username").NotEmpty().Immutable().MaxLen(127),
		field.String("mechanism").NotEmpty().MaxLen(32),
		field.String("issued_by").NotEmpty(),
		field.Time("rotate_time").Optional().Nillable(),
		// DeleteTime is set once the SCRAM user was removed (its principal disabled).
		field.Time("delete_time").Optional().Nillable(),
	}
}

func (KafkaCredential) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("principal", "environment").Unique(),
	}
}
