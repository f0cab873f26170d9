package schema

import (
	"time"

	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/meshplane/meshplane/server/provision/summary"
)

// ProvisioningRun is one Terraform run for a product: a plan that a human
// reviews, then the apply of exactly that saved plan (or a destroy, or a
// drift check). Runs and their logs are kept after the product is retired.
type ProvisioningRun struct{ ent.Schema }

func (ProvisioningRun) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{}, TimeMixin{}, VersionMixin{}}
}

func (ProvisioningRun) Fields() []ent.Field {
	return []ent.Field{
		field.String("domain").NotEmpty().Immutable().MaxLen(63),
		field.String("product").NotEmpty().Immutable().MaxLen(63),
		field.String("product_id").NotEmpty().Immutable(),
		// Environment names the data plane the run targets; each environment
		// has its own workspace, state, runs and drift for the product.
		// Runs recorded before environments existed have "" until the server
		// adopts them into its first environment on start.
		field.String("environment").Default("").Immutable().MaxLen(63),
		// ProductVersion is the product version the plan was rendered from;
		// a plan older than the product's current version is stale.
		field.Int64("product_version").Immutable(),
		field.Enum("kind").Values("apply", "destroy").Immutable(),
		field.Enum("state").Values("queued", "planning", "planned", "applying", "applied", "failed", "cancelled", "interrupted").Default("queued"),
		field.Bool("has_changes").Default(false),
		field.Bool("destructive").Default(false),
		field.JSON("summary", summary.Summary{}).Optional(),
		// PlanDigest is the SHA-256 of the saved plan file; apply refuses a file that differs.
		field.String("plan_digest").Default(""),
		// PolicyVersion names the published policy that admitted the product
		// and configured its connectors' masking for this plan; approving
		// needs it to still be the one in force.
		field.String("policy_version").Default(""),
		field.Text("log").Default(""),
		field.Text("error").Default(""),
		field.String("created_by").Default("").Immutable(),
		field.String("approved_by").Default(""),
		// Approvers are the roles the published policy requires to approve
		// the plan in its environment, decided when the plan is saved;
		// Approvals are who approved so far. The run applies once each
		// required role has its own approver.
		field.JSON("approvers", []RunApprover{}).Optional(),
		field.JSON("approvals", []RunApproval{}).Optional(),
		field.Time("approve_time").Optional().Nillable(),
		field.Time("start_time").Optional().Nillable(),
		field.Time("finish_time").Optional().Nillable(),
		// Trigger is what asked for the run; TriggerDetail says more.
		field.Enum("trigger").Values("user", "policy", "grant", "revoke", "expiry", "recovery", "promotion").Default("user").Immutable(),
		field.String("trigger_detail").Default("").Immutable(),
		// Grants records which grants the plan adds (activate) and removes
		// (end), and the consumer ACLs it may change without a review.
		field.JSON("grants", RunGrants{}).Optional(),
		// AutoApply is set when meshplane approved the plan itself because it
		// changes nothing but grants' ACLs; AutoApplyNote says why not otherwise.
		field.Bool("auto_apply").Default(false),
		field.Text("auto_apply_note").Default(""),
		// Executor names the replica executing the run's current phase ("" when
		// none is); it proves it is alive by moving HeartbeatTime. A run whose
		// executor stopped beating is interrupted by whichever replica notices.
		field.String("executor").Default(""),
		field.Time("heartbeat_time").Optional().Nillable(),
	}
}

// RunApprover is a role whose holder must approve a run, and why.
type RunApprover struct {
	Role   string `json:"role"`
	Reason string `json:"reason,omitempty"`
}

// RunApproval is one approval of a run: who gave it, as which required
// role ("" when the run required none), and when.
type RunApproval struct {
	By   string    `json:"by"`
	Role string    `json:"role,omitempty"`
	Time time.Time `json:"time"`
}

// RunGrants is what a run does to consumer grants.
type RunGrants struct {
	// Activate are grants whose ACLs the plan adds; applied, they become active.
	Activate []string `json:"activate,omitempty"`
	// End are grants whose ACLs the plan removes; applied, they end.
	End []string `json:"end,omitempty"`
	// Create and Delete are the ACL keys those grants may add or remove.
	Create []string `json:"create,omitempty"`
	Delete []string `json:"delete,omitempty"`
}

func (ProvisioningRun) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("domain", "product", "create_time"),
		index.Fields("state"),
		// One active run per product and environment, whichever replica
		// queues it, is the partial unique index
		// provisioningrun_one_active_per_product_environment,
		// written by hand in the replicas migration: each database words
		// its predicate its own way, which ent's schema diff would take for
		// a change.
	}
}
