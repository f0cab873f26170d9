// Package grant is consumer access: a service account asks for output
// ports, the approvers the published access policy names decide, and each
// approved port becomes a grant whose ACLs are planned into its product's
// workspace and enforced by the broker until the grant expires or is
// revoked. It also issues the SCRAM credentials consumers sign in with.
package grant

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/meshplane/meshplane/schema"
	"github.com/riverqueue/river"

	"github.com/meshplane/meshplane/server/access"
	"github.com/meshplane/meshplane/server/actor"
	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/ent/grant"
	"github.com/meshplane/meshplane/server/ent/provisioningrun"
	"github.com/meshplane/meshplane/server/errs"
	"github.com/meshplane/meshplane/server/jobs"
	"github.com/meshplane/meshplane/server/policy/engine"
	"github.com/meshplane/meshplane/server/provision"
	"github.com/meshplane/meshplane/server/spec"
	"github.com/meshplane/meshplane/server/store"
)

// Reasons of the errors access answers, machine-readable in both doors.
const (
	ReasonSelfApproval      = "SELF_APPROVAL"
	ReasonNotAnApprover     = "NOT_AN_APPROVER"
	ReasonAlreadyApproved   = "ALREADY_APPROVED"
	ReasonNotPending        = "NOT_PENDING"
	ReasonGrantEnded        = "GRANT_ENDED"
	ReasonGrantPending      = "GRANT_PENDING"
	ReasonCredentialExists  = "CREDENTIAL_EXISTS"
	ReasonNoCredential      = "NO_CREDENTIAL"
	ReasonNoDataPlane       = "NO_DATA_PLANE"
	ReasonPrincipalDisabled = "PRINCIPAL_DISABLED"
)

// Limits on what one request may carry.
const (
	MaxPorts       = 50
	MaxPurpose     = 2000
	MaxReason      = 2000
	MaxGroupPrefix = 249
)

// Decider asks the published access policy who must approve a request.
// It never fails: a policy that cannot answer fails closed.
type Decider interface {
	DecideAccess(ctx context.Context, r engine.AccessRequest) engine.AccessDecision
}

// Planner queues runs through provisioning's one entry point.
type Planner interface {
	Request(ctx context.Context, domain, name string, kind provisioningrun.Kind, t provision.Trigger) (*ent.ProvisioningRun, error)
}

// Environment is one environment consumers may be granted access in: its
// own Kafka cluster, with its own credentials and its own ACLs.
type Environment struct {
	Name string
	// Kafka manages SCRAM users on its cluster; nil when it has none.
	Kafka DataPlane
	// Parameters are what the access policy reads as
	// input.environment.parameters.
	Parameters map[string]any
	// PromotedOnly says versions reach the environment by promotion alone:
	// a product is consumed there once it was deployed there.
	PromotedOnly bool
}

// DataPlane manages SCRAM users on the Kafka cluster consumers read from.
type DataPlane interface {
	UpsertSCRAM(ctx context.Context, user, password string) error
	DeleteSCRAM(ctx context.Context, user string) error
	// Bootstrap and SecurityProtocol tell consumers where and how to connect.
	Bootstrap() []string
	SecurityProtocol() string
}

// Config configures the access service.
type Config struct {
	Store   *store.Store
	Authz   *access.Authorizer
	Logger  *slog.Logger
	Policy  Decider
	Planner Planner
	// Environments are where consumers may be granted access; the first is
	// where a request or a credential that names none goes.
	Environments []Environment
	// Jobs runs the reconciler every Interval (default 5s), once per
	// cluster; without it only Kick runs it.
	Jobs     *jobs.Queue
	Interval time.Duration
	// Now returns the time; time.Now when nil.
	Now func() time.Time
}

// Validate checks that every dependency is present.
func (c Config) Validate() error {
	var missing []string
	for name, ok := range map[string]bool{"Store": c.Store != nil, "Authz": c.Authz != nil, "Logger": c.Logger != nil,
		"Policy": c.Policy != nil, "Planner": c.Planner != nil, "Environments": len(c.Environments) > 0} {
		if !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("access config is missing %s", strings.Join(missing, ", "))
	}
	return nil
}

// Service is the one code path for consumer access behind every door.
type Service struct {
	cfg   Config
	store *store.Store
	authz *access.Authorizer
	log   *slog.Logger

	stop context.CancelFunc
	wg   sync.WaitGroup
	// kick asks the reconciler to run now (a run may have finished).
	kick chan struct{}
	// stranded holds the principal|environment credentials already logged
	// as beyond reach, so the reconciler says so once.
	stranded sync.Map
}

// New returns the access service; Start runs its reconciler.
func New(c Config) (*Service, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.Interval <= 0 {
		c.Interval = 5 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	s := &Service{cfg: c, store: c.Store, authz: c.Authz, log: c.Logger, kick: make(chan struct{}, 1)}
	if c.Jobs != nil {
		jobs.Handle(c.Jobs, func(ctx context.Context, _ *river.Job[ReconcileArgs]) error { return s.Reconcile(ctx) })
		c.Jobs.Every(c.Interval, ReconcileArgs{})
	}
	return s, nil
}

// ReconcileArgs is the periodic job that expires grants and moves them on.
type ReconcileArgs struct{}

// Kind names the job.
func (ReconcileArgs) Kind() string { return "access.reconcile" }

func (s *Service) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Microsecond) }

// Start runs the reconciler on Kick (and, without a job queue, every
// Interval): it expires grants, revokes the grants of disabled principals,
// plans what grants need and removes the credentials of disabled principals
// once their ACLs are gone. Stop with Close.
func (s *Service) Start(ctx context.Context) {
	ctx, s.stop = context.WithCancel(context.WithoutCancel(ctx))
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		var tick <-chan time.Time
		if s.cfg.Jobs == nil {
			t := time.NewTicker(s.cfg.Interval)
			defer t.Stop()
			tick = t.C
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick:
			case <-s.kick:
			}
			if err := s.Reconcile(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("reconciling grants", "error", err)
			}
		}
	}()
}

// Kick asks the reconciler to run soon.
func (s *Service) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Close stops the reconciler.
func (s *Service) Close() {
	if s.stop != nil {
		s.stop()
	}
	s.wg.Wait()
}

// system is ctx acting as meshplane itself.
func system(ctx context.Context) context.Context { return actor.With(ctx, actor.Meshplane) }

func caller(ctx context.Context) actor.Actor {
	a, _ := actor.From(ctx)
	return a
}

// requireCaller refuses calls without a principal.
func requireCaller(ctx context.Context) (actor.Actor, error) {
	a, ok := actor.From(ctx)
	if !ok || a.Name == "" {
		return a, errs.New(errs.KindUnauthenticated, "authentication required")
	}
	return a, nil
}

// plan queues a plan of a product in t's environment; a product busy with
// another run there is left to the reconciler, which plans it once that run
// ends. A plan that cannot be queued (say, the version is not promoted to
// the environment yet) is retried by the reconciler too, and the grants
// waiting for it say why.
func (s *Service) plan(ctx context.Context, domain, product string, t provision.Trigger) {
	_, err := s.cfg.Planner.Request(system(ctx), domain, product, provisioningrun.KindApply, t)
	if err == nil {
		return
	}
	e := errs.As(err)
	if e.Reason == provision.ReasonRunInProgress {
		s.log.Info("grant plan waits for a run in progress", "product", domain+"/"+product, "environment", t.Environment)
		return
	}
	why := "no plan could be queued: " + e.Message
	n, uerr := s.store.Client.Grant.Update().Where(grant.Domain(domain), grant.Product(product), grant.Environment(t.Environment),
		grant.StateIn(grant.StateApproved, grant.StateRevoking, grant.StateExpiring), grant.ErrorNEQ(why)).SetError(why).Save(ctx)
	if uerr != nil || n > 0 {
		// Once per reason, not at every reconciliation.
		s.log.Warn("planning grants", "product", domain+"/"+product, "environment", t.Environment, "error", err)
	}
}

// grantObject is what a check on grants in env asks about: grants in env,
// which rules on "grant" and on "grant@env" allow, or, for env "", grants
// across environments, which only rules on "grant" allow.
func grantObject(env string) string {
	if env == "" {
		return access.ObjGrant
	}
	return access.Scoped(access.ObjGrant, env)
}

// environment resolves the environment a caller names ("" for the first);
// an unknown one is a violation at path.
func (s *Service) environment(v *errs.Violations, path, name string) (Environment, bool) {
	if name == "" {
		return s.cfg.Environments[0], true
	}
	n := v.Len()
	spec.CheckName(v, path, name)
	if v.Len() > n {
		return Environment{}, false
	}
	if e, ok := s.lookup(name); ok {
		return e, true
	}
	names := make([]string, len(s.cfg.Environments))
	for i, e := range s.cfg.Environments {
		names[i] = e.Name
	}
	v.Add(path, "no environment %q: consumers may read in %s", name, strings.Join(names, ", "))
	return Environment{}, false
}

// lookup returns the configured environment named name.
func (s *Service) lookup(name string) (Environment, bool) {
	i := slices.IndexFunc(s.cfg.Environments, func(e Environment) bool { return e.Name == name })
	if i < 0 {
		return Environment{}, false
	}
	return s.cfg.Environments[i], true
}

// checkText validates free text: required, bounded, printable.
func checkText(v *errs.Violations, path, text string, max int, required bool) {
	if strings.TrimSpace(text) == "" {
		if required {
			v.Add(path, "is required")
		}
		return
	}
	n := v.Len()
	spec.CheckDescription(v, path, text)
	if v.Len() == n && len([]rune(text)) > max {
		v.Add(path, "must be at most %d characters", max)
	}
}

// snapshotRequest is what the audit log keeps of a request.
func snapshotRequest(r *ent.AccessRequest) map[string]any {
	return map[string]any{"id": r.ID, "consumer": r.Consumer, "consumerDomain": r.ConsumerDomain, "environment": r.Environment, "requestedBy": r.RequestedBy,
		"purpose": r.Purpose, "durationSeconds": r.DurationSeconds, "groupPrefix": r.GroupPrefix, "state": r.State,
		"approvals": r.Approvals, "policyVersion": r.PolicyVersion, "autoApproved": r.AutoApproved, "declineReason": r.DeclineReason}
}

// outstanding lists the approvals a request still waits for, as
// "domain-owner:sales" or "governance-officer".
func outstanding(r *ent.AccessRequest) []string {
	var out []string
	if r.State != "pending" {
		return out
	}
	for _, a := range r.Approvals {
		if a.ApprovedBy == "" {
			out = append(out, approvalName(a))
		}
	}
	return out
}

func approvalName(a schema.Approval) string {
	if a.Domain != "" {
		return a.Role + ":" + a.Domain
	}
	return a.Role
}
