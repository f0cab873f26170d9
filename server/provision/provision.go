// Package provision turns data products into infrastructure through
// Terraform: it renders a product's workspace, saves a plan for review,
// applies exactly the approved plan, checks for drift and destroys what a
// decommissioned product leaves behind. One run at a time per product; runs
// of different products go in parallel through a bounded worker pool.
package provision

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"entgo.io/ent/dialect"
	"github.com/riverqueue/river"

	"github.com/meshplane/meshplane/server/access"
	"github.com/meshplane/meshplane/server/actor"
	"github.com/meshplane/meshplane/server/audit"
	"github.com/meshplane/meshplane/server/catalog"
	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/ent/dataproduct"
	"github.com/meshplane/meshplane/server/ent/deployment"
	"github.com/meshplane/meshplane/server/ent/provisioningrun"
	"github.com/meshplane/meshplane/server/ent/savedplan"
	"github.com/meshplane/meshplane/server/errs"
	"github.com/meshplane/meshplane/server/jobs"
	"github.com/meshplane/meshplane/server/masking"
	"github.com/meshplane/meshplane/server/page"
	"github.com/meshplane/meshplane/server/policy/engine"
	"github.com/meshplane/meshplane/server/spec"
	"github.com/meshplane/meshplane/server/store"
)

// Object type and actions Casbin decides on for provisioning.
const (
	ObjProvision          = "provision"
	ActPlan               = "plan"
	ActApprove            = "approve"
	ActApproveDestructive = "approve-destructive"
	ActCancel             = "cancel"
	ActDecommission       = "decommission"
)

// Reasons of the errors provisioning answers, machine-readable in both doors.
const (
	ReasonRetired                 = "RETIRED"
	ReasonRunInProgress           = "RUN_IN_PROGRESS"
	ReasonDestructiveNotConfirmed = "DESTRUCTIVE_NOT_CONFIRMED"
	ReasonRunFinished             = "RUN_FINISHED"
	ReasonNotPlanned              = "NOT_PLANNED"
	ReasonStalePlan               = "STALE_PLAN"
	ReasonStalePolicy             = "STALE_POLICY"
)

// Config configures provisioning.
type Config struct {
	Store  *store.Store
	Authz  *access.Authorizer
	Logger *slog.Logger
	// DataDir holds one workspace per product and environment under
	// environments/<env>/workspaces/<domain>/<product>.
	DataDir string
	// Terraform is the terraform binary; PluginDir the local provider mirror.
	Terraform string
	PluginDir string
	// Environments are the data planes products are provisioned into; the
	// first is the default, where requests naming none act.
	Environments []Environment
	// Jobs is the durable queue runs execute through, shared by every
	// replica on the catalog.
	Jobs *jobs.Queue
	// HeartbeatInterval is how often a replica proves it still executes its
	// runs (default 2s); StaleAfter is how long without a heartbeat before
	// another replica interrupts them (default 15s).
	HeartbeatInterval time.Duration
	StaleAfter        time.Duration
	// CancelGrace is how long terraform has to stop after SIGINT before it is killed.
	CancelGrace time.Duration
	// DriftInterval is how often provisioned products are checked for drift; 0 disables.
	DriftInterval time.Duration
	// Governance judges a product before every plan and says how its
	// connectors mask fields; nil renders products without policy.
	Governance Governance
	// LeftoverGrace is how long a decommission waits for deletions to show
	// in the data plane (default DefaultLeftoverGrace).
	LeftoverGrace time.Duration
}

// Governance decides whether a product may be provisioned and how its
// connectors mask its fields.
type Governance interface {
	// Govern evaluates the published policy for p in env. A denial is an
	// error listing every violation, so the plan never starts.
	Govern(ctx context.Context, p *ent.DataProduct, env engine.Environment, trigger string) (masking.Governed, error)
	// Approvers says whose approvals a planned run of p in env needs.
	Approvers(ctx context.Context, p *ent.DataProduct, env engine.Environment, run engine.Run) engine.RunApprovers
	// PolicyVersion names the published policy in force; "" when none is.
	PolicyVersion() string
}

// Validate checks the configuration.
func (c Config) Validate() error {
	var missing []string
	for name, ok := range map[string]bool{"Store": c.Store != nil, "Authz": c.Authz != nil, "Logger": c.Logger != nil,
		"DataDir": c.DataDir != "", "Terraform": c.Terraform != "", "PluginDir": c.PluginDir != "", "Jobs": c.Jobs != nil} {
		if !ok {
			missing = append(missing, name)
		}
	}
	if len(c.Environments) == 0 {
		missing = append(missing, "Environments")
	}
	if n := len(slices.DeleteFunc(slices.Clone(c.Environments), func(e Environment) bool { return !e.Access })); n > 1 {
		return fmt.Errorf("%d environments are marked for consumer access: at most one may be", n)
	}
	if len(missing) > 0 {
		return fmt.Errorf("provision config is missing %s", strings.Join(missing, ", "))
	}
	seen := map[string]bool{}
	for _, e := range c.Environments {
		var v errs.Violations
		spec.CheckName(&v, "environment", e.Name)
		if err := v.Err(); err != nil {
			return fmt.Errorf("environment %q: %w", e.Name, err)
		}
		if seen[e.Name] {
			return fmt.Errorf("environment %q is configured twice", e.Name)
		}
		seen[e.Name] = true
	}
	for _, e := range c.Environments {
		for _, from := range e.PromoteFrom {
			if !seen[from] || from == e.Name {
				return fmt.Errorf("environment %q takes promotions from %q, which is not another configured environment", e.Name, from)
			}
		}
	}
	return nil
}

// Service runs provisioning. Its request API records runs in the catalog and
// queues their phases as jobs; the jobs execute on whichever replica fetches
// them (see worker.go).
type Service struct {
	cfg   Config
	store *store.Store
	authz *access.Authorizer
	log   *slog.Logger

	wg      sync.WaitGroup
	stop    context.CancelFunc
	mu      sync.Mutex
	running map[string]context.CancelFunc // run id → cancel of its terraform, on this replica
	busy    map[string]bool               // product id → a worker here is using its workspace
	feed    *feed
	// verdicts are the judgements runs were queued with here, for their plan.
	verdicts verdicts
	// settled are called whenever a run ends or waits for a review.
	settled []func()
	// unavailable explains why runs cannot execute here (no terraform); "" when they can.
	unavailable string
	// secretValues are every environment's secrets, scrubbed from what
	// belongs to no one environment (errors, run failures).
	secretValues []string
}

// sweepInterval is how often the leader looks for runs whose replica died.
const sweepInterval = 5 * time.Second

// New returns the provisioning service and registers its jobs on the
// queue; Start starts what it runs beside them.
func New(c Config) (*Service, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.CancelGrace <= 0 {
		c.CancelGrace = 10 * time.Second
	}
	if c.LeftoverGrace <= 0 {
		c.LeftoverGrace = DefaultLeftoverGrace
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = 2 * time.Second
	}
	if c.StaleAfter <= 0 {
		c.StaleAfter = 15 * time.Second
	}
	c.Environments = slices.Clone(c.Environments)
	for i := range c.Environments {
		c.Environments[i].Render.Name = c.Environments[i].Name
	}
	s := &Service{cfg: c, store: c.Store, authz: c.Authz, log: c.Logger,
		running: map[string]context.CancelFunc{}, busy: map[string]bool{}, feed: newFeed()}
	for _, e := range c.Environments {
		s.secretValues = append(s.secretValues, e.Secrets.values()...)
	}
	for _, p := range []string{c.Terraform, c.PluginDir} {
		if _, err := os.Stat(p); err != nil {
			s.unavailable = fmt.Sprintf("provisioning is unavailable: %s is missing (run scripts/tools.sh to build terraform and its providers)", p)
		}
	}
	jobs.Handle(c.Jobs, s.workRun)
	jobs.Handle(c.Jobs, func(ctx context.Context, _ *river.Job[SweepArgs]) error { return s.sweep(ctx, false) })
	c.Jobs.Every(sweepInterval, SweepArgs{})
	jobs.Handle(c.Jobs, func(ctx context.Context, _ *river.Job[DriftArgs]) error {
		s.CheckDrift(actor.With(ctx, actor.Meshplane))
		return nil
	})
	if c.DriftInterval > 0 {
		c.Jobs.Every(c.DriftInterval, DriftArgs{})
	}
	return s, nil
}

// OnRunSettled registers f to be called, without blocking, whenever a run
// ends or stops to wait for a review, so what waits for a product to be
// free can go on.
func (s *Service) OnRunSettled(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settled = append(s.settled, f)
}

func (s *Service) notifySettled() {
	s.mu.Lock()
	fs := slices.Clone(s.settled)
	s.mu.Unlock()
	for _, f := range fs {
		f()
	}
}

// Unavailable says why runs cannot execute on this server, or "".
func (s *Service) Unavailable() string { return s.unavailable }

// Start interrupts the runs a previous process of the embedded catalog left
// behind and starts the heartbeat of the runs this replica executes. Stop
// with Close, after the job queue stopped.
func (s *Service) Start(ctx context.Context) error {
	ctx, s.stop = context.WithCancel(context.WithoutCancel(ctx))
	if err := s.sweep(ctx, s.store.Dialect != dialect.Postgres); err != nil {
		return err
	}
	s.wg.Add(1)
	go s.heartbeat(ctx)
	return nil
}

// Close stops the heartbeat.
func (s *Service) Close() {
	if s.stop != nil {
		s.stop()
	}
	s.wg.Wait()
}

func (s *Service) workspaceDir(env, domain, product string) string {
	return filepath.Join(s.cfg.DataDir, "environments", env, "workspaces", domain, product)
}

func (s *Service) workspace(env *Environment, domain, product string, out *logSink) *workspace {
	return &workspace{dir: s.workspaceDir(env.Name, domain, product), binary: s.cfg.Terraform, pluginDir: s.cfg.PluginDir,
		secrets: env.Secrets, grace: s.cfg.CancelGrace, out: out}
}

// runEnvironment is the environment a run targets.
func (s *Service) runEnvironment(r *ent.ProvisioningRun) (*Environment, error) {
	env, err := s.environment(r.Environment)
	if err != nil {
		return nil, fmt.Errorf("run %s targets environment %q, which is not configured any more", r.ID, r.Environment)
	}
	return env, nil
}

func terminal(st provisioningrun.State) bool {
	switch st {
	case provisioningrun.StateApplied, provisioningrun.StateFailed, provisioningrun.StateCancelled, provisioningrun.StateInterrupted:
		return true
	}
	return false
}

// settled reports whether a run waits for nobody but a human (or nothing at all).
func settled(st provisioningrun.State) bool {
	return terminal(st) || st == provisioningrun.StatePlanned
}

var active = []provisioningrun.State{provisioningrun.StateQueued, provisioningrun.StatePlanning, provisioningrun.StateApplying}

// product loads a product the caller may read, hiding others as not-found.
func (s *Service) product(ctx context.Context, domain, name string) (*ent.DataProduct, error) {
	var v errs.Violations
	spec.CheckName(&v, "domain", domain)
	spec.CheckName(&v, "product", name)
	if err := v.Err(); err != nil {
		return nil, err
	}
	return catalog.ReadProduct(ctx, s.authz, s.store.Client, domain, name)
}

// Trigger says what asked for a run. Every run starts through Request (or
// Plan and Decommission, which check the caller's rights and then do the
// same), whatever asked for it.
type Trigger struct {
	Kind provisioningrun.Trigger
	// By names who asked: a user, or meshplane for what it does on its own.
	By string
	// Detail says more, e.g. "policy masking@3 published by alice".
	Detail string
	// Environment is where the run plans; "" is the default environment.
	Environment string
}

// Plan queues a plan of the product's current version in env ("" for the
// default environment). A product with a run queued or in progress there
// refuses a second one; a plan awaiting approval there is superseded, unless
// some approved it already and it is not stale.
func (s *Service) Plan(ctx context.Context, domain, name, env string) (*ent.ProvisioningRun, error) {
	e, err := s.environment(env)
	if err != nil {
		return nil, err
	}
	p, err := s.authorized(ctx, domain, name, e.Name, ActPlan)
	if err != nil {
		return nil, err
	}
	return s.queue(ctx, p, provisioningrun.KindApply, Trigger{Kind: provisioningrun.TriggerUser, By: callerName(ctx), Environment: e.Name})
}

// Request queues a run of kind for a product on behalf of t, without
// checking the caller's rights: policy publishes, grants, revocations and
// expiries are decided elsewhere. The run waits for the owners' review like
// any other, unless it changes nothing but grants' ACLs.
func (s *Service) Request(ctx context.Context, domain, name string, kind provisioningrun.Kind, t Trigger) (*ent.ProvisioningRun, error) {
	p, err := s.store.Client.DataProduct.Query().Where(dataproduct.Domain(domain), dataproduct.Name(name)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, errs.NotFound("data product", domain+"/"+name)
	}
	if err != nil {
		return nil, fmt.Errorf("reading data product: %w", err)
	}
	return s.queue(ctx, p, kind, t)
}

// PlanPublished queues a plan of a product whose connectors a policy
// publish changed, on behalf of meshplane, in each of envs it is
// provisioned in, and says for each which run it queued or why none.
func (s *Service) PlanPublished(ctx context.Context, domain, name, detail string, only []string) []engine.PlannedRun {
	p, err := s.store.Client.DataProduct.Query().Where(dataproduct.Domain(domain), dataproduct.Name(name)).Only(ctx)
	if err != nil {
		return []engine.PlannedRun{{Skipped: "reading the product: " + err.Error()}}
	}
	envs, err := s.store.Client.Deployment.Query().Where(deployment.ProductID(p.ID), deployment.ProvisionedVersionNotNil()).
		Select(deployment.FieldEnvironment).Strings(ctx)
	if err != nil {
		return []engine.PlannedRun{{Skipped: "reading where the product is provisioned: " + err.Error()}}
	}
	var out []engine.PlannedRun
	for _, e := range s.cfg.Environments {
		if !slices.Contains(envs, e.Name) || !slices.Contains(only, e.Name) {
			continue
		}
		pr := engine.PlannedRun{Environment: e.Name}
		r, err := s.Request(ctx, domain, name, provisioningrun.KindApply, Trigger{Kind: provisioningrun.TriggerPolicy, By: actor.Meshplane.Name,
			Detail: detail, Environment: e.Name})
		if err != nil {
			pr.Skipped = err.Error()
		} else {
			pr.RunID = r.ID
		}
		out = append(out, pr)
	}
	return out
}

// Decommission queues a destroy plan; approving and applying it ends every
// grant of the product and retires it — unless the data plane still holds
// something the product owns, which Terraform's state did not know: then
// the run fails naming it and the product stays, to be decommissioned again.
//
// A destroy acts in one environment (env, "" for the default); the product
// is retired once no environment has anything of it left.
func (s *Service) Decommission(ctx context.Context, domain, name, env string) (*ent.ProvisioningRun, error) {
	e, err := s.environment(env)
	if err != nil {
		return nil, err
	}
	p, err := s.authorized(ctx, domain, name, e.Name, ActDecommission)
	if err != nil {
		return nil, err
	}
	return s.queue(ctx, p, provisioningrun.KindDestroy, Trigger{Kind: provisioningrun.TriggerUser, By: callerName(ctx), Environment: e.Name})
}

// authorized reads a product the caller may act on with act in env.
func (s *Service) authorized(ctx context.Context, domain, name, env, act string) (*ent.DataProduct, error) {
	p, err := s.product(ctx, domain, name)
	if err != nil {
		return nil, err
	}
	if err := s.authz.Require(ctx, domain, envObject(env), act); err != nil {
		return nil, err
	}
	return p, nil
}

// queue creates a queued run of kind for p on behalf of t.
func (s *Service) queue(ctx context.Context, p *ent.DataProduct, kind provisioningrun.Kind, t Trigger) (*ent.ProvisioningRun, error) {
	domain, name := p.Domain, p.Name
	if s.unavailable != "" {
		return nil, errs.New(errs.KindUnavailable, "%s", s.unavailable)
	}
	envName := t.Environment
	if envName == "" && slices.Contains(autoTriggers, t.Kind) {
		// Grants, revocations and expiries name their environment; one
		// that does not goes where consumer access goes by default.
		envName = s.AccessEnvironment()
	}
	env, err := s.environment(envName)
	if err != nil {
		return nil, err
	}
	if p.Lifecycle == dataproduct.LifecycleRetired {
		return nil, errs.New(errs.KindFailedPrecondition, "data product %s/%s is retired: nothing to provision", domain, name).WithReason(ReasonRetired)
	}
	// Validate before any terraform runs: a product stored before a rule
	// tightened must not reach a workspace. Admission runs again before
	// every plan: a product admitted under an older policy must not be
	// provisioned under a stricter one. Neither holds back what only takes
	// access away (a revocation or an expiry plans nothing but deletions of
	// ACLs), nor a destroy.
	var verdict masking.Governed
	if !removal(t.Kind) {
		sp := productSpec(p)
		var v errs.Violations
		sp.Validate(&v, "spec")
		if err := v.Err(); err != nil {
			return nil, err
		}
		if kind == provisioningrun.KindApply {
			if err := s.promoted(ctx, env, p); err != nil {
				return nil, err
			}
		}
		if kind == provisioningrun.KindApply && s.cfg.Governance != nil {
			var err error
			if verdict, err = s.cfg.Governance.Govern(ctx, p, policyEnvironment(env), "provision.Plan@"+env.Name); err != nil {
				return nil, err
			}
		}
	}
	var run *ent.ProvisioningRun
	err = s.store.Tx(ctx, func(tx *ent.Tx) error {
		// On PostgreSQL, replicas queue for the same product at once: the
		// product's row serializes them, so one check-and-insert wins.
		if s.store.Dialect == dialect.Postgres {
			locked, err := tx.DataProduct.Query().Where(dataproduct.ID(p.ID)).ForUpdate().Only(ctx)
			if err != nil {
				return err
			}
			// A destroy elsewhere may have retired it meanwhile.
			if locked.Lifecycle == dataproduct.LifecycleRetired {
				return errs.New(errs.KindFailedPrecondition, "data product %s/%s is retired: nothing to provision", domain, name).WithReason(ReasonRetired)
			}
		}
		busy, err := tx.ProvisioningRun.Query().Where(provisioningrun.ProductID(p.ID), provisioningrun.Environment(env.Name), provisioningrun.StateIn(active...)).First(ctx)
		if err != nil && !ent.IsNotFound(err) {
			return err
		}
		if busy != nil {
			return errs.New(errs.KindFailedPrecondition, "run %s of %s/%s in %s is %s: wait for it to finish or cancel it", busy.ID, domain, name, env.Name, busy.State).WithReason(ReasonRunInProgress)
		}
		planned, err := tx.ProvisioningRun.Query().Where(provisioningrun.ProductID(p.ID), provisioningrun.Environment(env.Name), provisioningrun.StateEQ(provisioningrun.StatePlanned)).All(ctx)
		if err != nil {
			return err
		}
		// A plan someone reviews is not swept away by what meshplane does on
		// its own: a decommission is never superseded but by a person, and a
		// person's plan not by a grant (a revocation may: access must end).
		var superseded []string
		for _, pr := range planned {
			// Nor is a plan some have approved already, nor a promotion
			// (a person's) by what meshplane does on its own.
			personal := pr.Trigger == provisioningrun.TriggerUser || pr.Trigger == provisioningrun.TriggerPromotion
			// A plan that can no longer be approved (the product or the
			// policy changed since) goes whatever its approvals.
			stale := pr.ProductVersion != p.Version || (s.cfg.Governance != nil && pr.Kind == provisioningrun.KindApply &&
				!removal(pr.Trigger) && pr.PolicyVersion != s.cfg.Governance.PolicyVersion())
			if len(pr.Approvals) > 0 && !removal(t.Kind) && !stale {
				return errs.New(errs.KindFailedPrecondition, "run %s of %s/%s in %s has %d of its approvals: approve or cancel it first",
					pr.ID, domain, name, env.Name, len(pr.Approvals)).WithReason(ReasonRunInProgress)
			}
			keep := t.Kind != provisioningrun.TriggerUser && t.Kind != provisioningrun.TriggerPromotion &&
				(pr.Kind == provisioningrun.KindDestroy || (t.Kind == provisioningrun.TriggerGrant && personal) ||
					(t.Kind == provisioningrun.TriggerGrant && pr.Trigger == provisioningrun.TriggerPolicy))
			if keep {
				return errs.New(errs.KindFailedPrecondition, "run %s of %s/%s in %s waits for review: approve or cancel it first", pr.ID, domain, name, env.Name).WithReason(ReasonRunInProgress)
			}
			superseded = append(superseded, pr.ID)
		}
		if _, err := tx.ProvisioningRun.Update().Where(provisioningrun.IDIn(superseded...), provisioningrun.StateEQ(provisioningrun.StatePlanned)).
			SetState(provisioningrun.StateCancelled).SetError("superseded by a newer plan").SetFinishTime(now()).AddVersion(1).Save(ctx); err != nil {
			return err
		}
		for _, id := range superseded {
			if err := runEndedForGrants(ctx, tx, id, "superseded by a newer plan"); err != nil {
				return err
			}
		}
		run, err = tx.ProvisioningRun.Create().SetDomain(domain).SetProduct(name).SetProductID(p.ID).SetEnvironment(env.Name).
			SetProductVersion(p.Version).SetKind(kind).SetCreatedBy(t.By).SetTrigger(t.Kind).SetTriggerDetail(t.Detail).Save(ctx)
		if ent.IsConstraintError(err) {
			// Another replica queued a run of the product meanwhile: the
			// catalog keeps one active run per product.
			return errs.New(errs.KindFailedPrecondition, "another run of %s/%s in %s was queued meanwhile: wait for it to finish or cancel it", domain, name, env.Name).WithReason(ReasonRunInProgress)
		}
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, s.store.Dialect, audit.Change{
			Action:       "provision." + queuedAction(kind, t.Kind),
			ResourceType: "run", Resource: run.ID, Domain: domain, After: runSnapshot(run),
		})
	})
	if err != nil {
		return nil, err
	}
	if verdict.PolicyVersion != "" {
		s.verdicts.keep(run.ID, p.Version, verdict)
	}
	s.enqueue(ctx, run.ID, phasePlan)
	return run, nil
}

// queuedAction names the audit action of a queued run.
func queuedAction(kind provisioningrun.Kind, t provisioningrun.Trigger) string {
	switch {
	case kind == provisioningrun.KindDestroy:
		return "Decommission"
	case t == provisioningrun.TriggerPromotion:
		return "Promote"
	}
	return "Plan"
}

// PolicyEnvironments are the environments as policies see them.
func (s *Service) PolicyEnvironments() []engine.Environment {
	out := make([]engine.Environment, len(s.cfg.Environments))
	for i := range s.cfg.Environments {
		out[i] = policyEnvironment(&s.cfg.Environments[i])
	}
	return out
}

// policyEnvironment is what policies see of env.
func policyEnvironment(env *Environment) engine.Environment {
	return engine.Environment{Name: env.Name, Parameters: env.Parameters}
}

// GetRun returns a run of a product the caller may read.
func (s *Service) GetRun(ctx context.Context, id string) (*ent.ProvisioningRun, error) {
	r, err := s.store.Client.ProvisioningRun.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, errs.NotFound("run", id)
	}
	if err != nil {
		return nil, fmt.Errorf("reading run: %w", err)
	}
	if !s.canReadRuns(ctx, r.Domain, envObject(r.Environment)) {
		return nil, errs.NotFound("run", id)
	}
	return r, nil
}

// canReadRuns reports whether the caller may read a domain's products and
// their runs of obj: provision, or provision in one environment.
func (s *Service) canReadRuns(ctx context.Context, domain, obj string) bool {
	return s.authz.Can(ctx, domain, access.ObjProduct, access.ActRead) && s.authz.Can(ctx, domain, obj, access.ActRead)
}

// ListRuns pages through a product's runs, newest first: in env, or in
// every environment when env is "".
func (s *Service) ListRuns(ctx context.Context, domain, name, env string, pageSize int, token string) (page.Page[*ent.ProvisioningRun], error) {
	var none page.Page[*ent.ProvisioningRun]
	var v errs.Violations
	spec.CheckName(&v, "domain", domain)
	spec.CheckName(&v, "product", name)
	if err := v.Err(); err != nil {
		return none, err
	}
	obj := ObjProvision
	if env != "" {
		e, err := s.environment(env)
		if err != nil {
			return none, err
		}
		obj = envObject(e.Name)
	}
	// Runs outlive their product, so only the caller's rights are checked.
	if !s.canReadRuns(ctx, domain, obj) {
		return none, errs.NotFound("data product", domain+"/"+name)
	}
	size, cur, err := page.Start(pageSize, token, page.Newest, true)
	if err != nil {
		return none, err
	}
	q := s.store.Client.ProvisioningRun.Query().Where(provisioningrun.Domain(domain), provisioningrun.Product(name))
	if env != "" {
		q = q.Where(provisioningrun.Environment(env))
	}
	if cur != nil {
		t, err := cur.Time()
		if err != nil {
			return none, err
		}
		q = q.Where(provisioningrun.Or(provisioningrun.CreateTimeLT(t), provisioningrun.And(provisioningrun.CreateTimeEQ(t), provisioningrun.IDLT(cur.ID))))
	}
	runs, err := q.Order(ent.Desc(provisioningrun.FieldCreateTime), ent.Desc(provisioningrun.FieldID)).Limit(size + 1).All(ctx)
	if err != nil {
		return none, fmt.Errorf("listing runs: %w", err)
	}
	return page.Of(runs, size, func(r *ent.ProvisioningRun) page.Cursor {
		return page.NewestCursor(r.CreateTime, r.ID)
	}), nil
}

// ApproveRun approves a planned run, which then applies exactly its saved
// plan. A plan older than the product's current version is stale; a
// destructive plan needs confirmDestructive and the approve-destructive right.
func (s *Service) ApproveRun(ctx context.Context, id string, confirmDestructive bool) (*ent.ProvisioningRun, error) {
	r, err := s.GetRun(ctx, id)
	if err != nil {
		return nil, err
	}
	// Casbin decides who may approve in the run's environment; whoever
	// holds a role the environment's policy requires of this run may
	// approve it as that role too.
	designated := s.designated(r, callerName(ctx))
	if err := s.authz.Require(ctx, r.Domain, envObject(r.Environment), ActApprove); err != nil && !designated {
		return nil, err
	}
	if r.Destructive {
		if !confirmDestructive {
			return nil, errs.New(errs.KindFailedPrecondition, "run %s destroys data (%s): approve it with confirm_destructive", id, strings.Join(r.Summary.Reasons, "; ")).WithReason(ReasonDestructiveNotConfirmed)
		}
		// A designated approver without approve-destructive may add their
		// approval; the run applies only once someone allowed to approve
		// destruction approved it too (see approval).
		if err := s.authz.Require(ctx, r.Domain, envObject(r.Environment), ActApproveDestructive); err != nil && !designated {
			return nil, err
		}
	}
	return s.approve(ctx, id, callerName(ctx), false)
}

// approve moves a planned run to applying, approved by who (automatically
// when auto is set), audited, and queues its apply.
func (s *Service) approve(ctx context.Context, id, who string, auto bool) (*ent.ProvisioningRun, error) {
	var out *ent.ProvisioningRun
	waiting := false
	err := s.store.Tx(ctx, func(tx *ent.Tx) error {
		cur, err := tx.ProvisioningRun.Get(ctx, id)
		if err != nil {
			return err
		}
		if cur.State != provisioningrun.StatePlanned {
			return errs.New(errs.KindFailedPrecondition, "run %s is %s: only planned runs can be approved", id, cur.State).WithReason(ReasonNotPlanned)
		}
		p, err := tx.DataProduct.Get(ctx, cur.ProductID)
		if err != nil && !ent.IsNotFound(err) {
			return err
		}
		if p == nil || p.Version != cur.ProductVersion {
			return errs.New(errs.KindFailedPrecondition, "run %s planned version %d of %s/%s, which has changed since: plan again", id, cur.ProductVersion, cur.Domain, cur.Product).WithReason(ReasonStalePlan)
		}
		// A plan made under another policy may mask less than the policy in
		// force now requires (or be refused by it): it must be made again.
		if g := s.cfg.Governance; g != nil && cur.Kind == provisioningrun.KindApply && !removal(cur.Trigger) && cur.PolicyVersion != g.PolicyVersion() {
			return errs.New(errs.KindFailedPrecondition, "run %s was planned under policy %q and %q is in force now: plan again", id, cur.PolicyVersion, g.PolicyVersion()).WithReason(ReasonStalePolicy)
		}
		approvals, complete, err := s.approval(cur, who, auto)
		if err != nil {
			return err
		}
		u := tx.ProvisioningRun.Update().Where(provisioningrun.ID(id), provisioningrun.Version(cur.Version)).SetApprovals(approvals).AddVersion(1)
		if complete {
			u.SetState(provisioningrun.StateApplying).SetApprovedBy(approvers(approvals)).SetApproveTime(now()).SetAutoApply(auto)
		}
		n, err := u.Save(ctx)
		if err != nil {
			return err
		}
		waiting = !complete
		if n == 0 {
			return errs.Conflict("run", id, cur.Version, cur.Version+1)
		}
		if out, err = tx.ProvisioningRun.Get(ctx, id); err != nil {
			return err
		}
		return audit.Record(ctx, tx, s.store.Dialect, audit.Change{Action: "provision.ApproveRun", ResourceType: "run",
			Resource: id, Domain: cur.Domain, Before: runSnapshot(cur), After: runSnapshot(out)})
	})
	if err != nil {
		return nil, err
	}
	s.feed.publish(id)
	if !waiting {
		s.enqueue(ctx, id, phaseApply)
	}
	return out, nil
}

// CancelRun cancels a run: queued or planned ones at once; a planning or
// applying one by interrupting terraform (SIGINT, then a kill after the grace period).
func (s *Service) CancelRun(ctx context.Context, id string) (*ent.ProvisioningRun, error) {
	r, err := s.GetRun(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.authz.Require(ctx, r.Domain, envObject(r.Environment), ActCancel); err != nil {
		return nil, err
	}
	if r.State == provisioningrun.StateApplying {
		// Stopping an apply half-way leaves the data plane half-changed:
		// it takes who may approve one there.
		if err := s.authz.Require(ctx, r.Domain, envObject(r.Environment), ActApprove); err != nil {
			return nil, err
		}
	}
	if terminal(r.State) {
		return nil, errs.New(errs.KindFailedPrecondition, "run %s is already %s", id, r.State).WithReason(ReasonRunFinished)
	}
	out, _, err := s.finish(ctx, id, provisioningrun.StateCancelled, "cancelled by "+callerName(ctx), "provision.CancelRun", "")
	if err != nil {
		return nil, err
	}
	// Terraform stops at once here, within a heartbeat on another replica.
	s.stopLocal(id)
	return out, nil
}

func callerName(ctx context.Context) string {
	who, _ := actor.From(ctx)
	return who.Name
}

func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// runSnapshot is what the audit log keeps of a run: no log, no summary detail.
func runSnapshot(r *ent.ProvisioningRun) map[string]any {
	return map[string]any{"id": r.ID, "domain": r.Domain, "product": r.Product, "environment": r.Environment, "kind": r.Kind, "state": r.State,
		"productVersion": r.ProductVersion, "destructive": r.Destructive, "planDigest": r.PlanDigest, "approvedBy": r.ApprovedBy,
		"trigger": r.Trigger, "triggerDetail": r.TriggerDetail, "autoApply": r.AutoApply, "approvers": r.Approvers, "approvals": r.Approvals}
}

// finish moves a non-terminal run to a terminal state, audited, and drops
// its saved plan. With executor set, only a run that replica still
// executes is finished. ended reports whether this call ended the run.
func (s *Service) finish(ctx context.Context, id string, st provisioningrun.State, msg, action, executor string) (out *ent.ProvisioningRun, ended bool, err error) {
	err = s.store.Tx(ctx, func(tx *ent.Tx) error {
		cur, err := tx.ProvisioningRun.Get(ctx, id)
		if err != nil {
			return err
		}
		if terminal(cur.State) || (executor != "" && cur.Executor != executor) {
			out = cur
			return nil
		}
		if out, err = tx.ProvisioningRun.UpdateOne(cur).Where(provisioningrun.Version(cur.Version)).
			SetState(st).SetError(msg).SetFinishTime(now()).AddVersion(1).Save(ctx); err != nil {
			if ent.IsNotFound(err) {
				return errs.Conflict("run", id, cur.Version, cur.Version+1)
			}
			return err
		}
		ended = true
		if _, err := tx.SavedPlan.Delete().Where(savedplan.ID(id)).Exec(ctx); err != nil {
			return err
		}
		if err := runEndedForGrants(ctx, tx, id, fmt.Sprintf("run %s %s: %s", id, st, msg)); err != nil {
			return err
		}
		return audit.Record(ctx, tx, s.store.Dialect, audit.Change{Action: action, ResourceType: "run", Resource: id,
			Domain: cur.Domain, Before: runSnapshot(cur), After: runSnapshot(out)})
	})
	if err == nil && ended {
		s.feed.publish(id)
		s.notifySettled()
	}
	return out, ended, err
}

// productSpec reassembles the stored spec of a product.
func productSpec(p *ent.DataProduct) spec.Product {
	return spec.Product{Description: p.Description, Owner: p.Owner, Labels: p.Labels, Source: p.Source, Ports: p.Ports, Sinks: p.Sinks}
}
