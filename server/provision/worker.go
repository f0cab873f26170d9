package provision

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"entgo.io/ent/dialect"
	"github.com/riverqueue/river"

	"github.com/meshplane/meshplane/schema"
	"github.com/meshplane/meshplane/server/actor"
	"github.com/meshplane/meshplane/server/audit"
	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/ent/dataproduct"
	"github.com/meshplane/meshplane/server/ent/deployment"
	"github.com/meshplane/meshplane/server/ent/grant"
	"github.com/meshplane/meshplane/server/ent/provisioningrun"
	"github.com/meshplane/meshplane/server/ent/savedplan"
	"github.com/meshplane/meshplane/server/policy/engine"
	"github.com/meshplane/meshplane/server/provision/render"
	"github.com/meshplane/meshplane/server/provision/summary"
)

// planFile is where a run's plan is saved in the workspace.
func planFile(runID string) string { return "run-" + runID + ".tfplan" }

// Phases of a run a job works.
const (
	phasePlan  = "plan"
	phaseApply = "apply"
)

// RunArgs is the job that works one phase of a run, on whichever replica
// fetches it. The run's row says whether the phase is still to be done, so
// a job that is worked twice does nothing the second time.
type RunArgs struct {
	RunID string `json:"run_id"`
	Phase string `json:"phase"`
}

// Kind names the job.
func (RunArgs) Kind() string { return "provision.run" }

// DriftArgs is the periodic drift check of every provisioned product.
type DriftArgs struct{}

// Kind names the job.
func (DriftArgs) Kind() string { return "provision.drift" }

// SweepArgs is the periodic sweep that interrupts runs whose replica died
// and queues jobs for runs that lost theirs.
type SweepArgs struct{}

// Kind names the job.
func (SweepArgs) Kind() string { return "provision.sweep" }

// enqueue queues the job of a run's phase. A phase is queued once: queueing
// it again (the sweep does, for runs whose job was lost) does nothing.
func (s *Service) enqueue(ctx context.Context, runID, phase string) {
	err := s.cfg.Jobs.Insert(context.WithoutCancel(ctx), RunArgs{RunID: runID, Phase: phase},
		&river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}})
	if err != nil {
		// The run stays in the catalog; the sweep queues its job again.
		s.log.Warn("queueing run", "run", runID, "phase", phase, "error", err)
	}
}

func (s *Service) workRun(ctx context.Context, job *river.Job[RunArgs]) error {
	done, err := s.execute(ctx, job.Args)
	if err != nil {
		return err
	}
	if !done {
		// This replica's copy of the product's workspace is busy (a drift check).
		return river.JobSnooze(200 * time.Millisecond)
	}
	return nil
}

// workspaceKey names a product's workspace in an environment, for claim.
func workspaceKey(productID, env string) string { return productID + "@" + env }

// claim marks a product's workspace on this replica busy; false when another worker has it.
func (s *Service) claim(productID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.busy[productID] {
		return false
	}
	s.busy[productID] = true
	return true
}

func (s *Service) release(productID string) {
	s.mu.Lock()
	delete(s.busy, productID)
	s.mu.Unlock()
}

// errTakenAway reports that a run is no longer this replica's to record:
// it was cancelled, or interrupted by a replica that took this one for dead.
var errTakenAway = errors.New("the run is no longer executed here")

// execute works one phase of a run; false when the workspace is busy here.
// An error is the catalog's: the job is tried again.
func (s *Service) execute(ctx context.Context, j RunArgs) (bool, error) {
	r, err := s.store.Client.ProvisioningRun.Get(ctx, j.RunID)
	if ent.IsNotFound(err) {
		return true, nil
	}
	if err != nil {
		return true, fmt.Errorf("loading run %s: %w", j.RunID, err)
	}
	want, next := provisioningrun.StateQueued, provisioningrun.StatePlanning
	if j.Phase == phaseApply {
		want, next = provisioningrun.StateApplying, provisioningrun.StateApplying
	}
	if r.State != want || r.Executor != "" {
		return true, nil // done, cancelled, superseded or taken by another replica
	}
	if !s.claim(workspaceKey(r.ProductID, r.Environment)) {
		return false, nil
	}
	defer s.release(workspaceKey(r.ProductID, r.Environment))
	// The catalog decides which replica executes the phase: one conditional
	// update wins.
	u := s.store.Client.ProvisioningRun.Update().Where(provisioningrun.ID(r.ID), provisioningrun.StateEQ(want), provisioningrun.Executor("")).
		SetState(next).SetExecutor(s.cfg.Jobs.ID()).SetHeartbeatTime(now()).AddVersion(1)
	if j.Phase == phasePlan {
		u.SetStartTime(now())
	}
	if n, err := u.Save(ctx); err != nil || n == 0 {
		return true, err
	}
	s.feed.publish(r.ID)
	r.State, r.Executor = next, s.cfg.Jobs.ID()

	runCtx, cancel := context.WithCancel(ctx)
	s.mu.Lock()
	s.running[r.ID] = cancel
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.running, r.ID)
		s.mu.Unlock()
		cancel()
	}()

	lw := s.newRunLog(r)
	defer lw.close()
	sys := actor.With(context.WithoutCancel(ctx), actor.Meshplane)
	var phaseErr error
	if j.Phase == phasePlan {
		phaseErr = s.planPhase(runCtx, sys, r, lw)
	} else {
		phaseErr = s.applyPhase(runCtx, sys, r, lw)
	}
	lw.sink.Flush()
	lw.flush()
	defer s.notifySettled()
	if phaseErr == nil || errors.Is(phaseErr, errTakenAway) {
		return true, nil
	}
	st, msg, action := provisioningrun.StateFailed, phaseErr.Error(), "provision.RunFinished"
	if runCtx.Err() != nil && ctx.Err() == nil {
		st, msg = provisioningrun.StateCancelled, "cancelled while "+string(next)
	} else if ctx.Err() != nil {
		st, msg, action = provisioningrun.StateInterrupted, "meshplane stopped during the run; it is planned again for review", "provision.RunInterrupted"
	}
	_, ended, err := s.finish(sys, r.ID, st, s.scrub(msg), action, s.cfg.Jobs.ID())
	if err != nil {
		s.log.Error("recording run failure", "run", r.ID, "error", err)
	} else if ended && st == provisioningrun.StateInterrupted {
		s.planAgain(sys, r)
	}
	return true, nil
}

// setState moves a run this replica executes to st; errTakenAway when the
// run is not this replica's any more.
func (s *Service) setState(ctx context.Context, id string, st provisioningrun.State, set func(*ent.ProvisioningRunUpdate)) error {
	u := s.store.Client.ProvisioningRun.Update().Where(provisioningrun.ID(id), provisioningrun.Executor(s.cfg.Jobs.ID()),
		provisioningrun.StateIn(provisioningrun.StatePlanning, provisioningrun.StateApplying)).SetState(st).AddVersion(1)
	if set != nil {
		set(u)
	}
	n, err := u.Save(ctx)
	if err != nil {
		return fmt.Errorf("recording run state: %w", err)
	}
	if n == 0 {
		return errTakenAway
	}
	s.feed.publish(id)
	return nil
}

func (s *Service) planPhase(ctx, sys context.Context, r *ent.ProvisioningRun, lw *runLog) error {
	p, err := s.store.Client.DataProduct.Get(ctx, r.ProductID)
	if err != nil {
		return fmt.Errorf("reading product: %w", err)
	}
	env, err := s.runEnvironment(r)
	if err != nil {
		return err
	}
	ws := s.workspace(env, r.Domain, r.Product, lw.sink)
	in := render.Input{Domain: r.Domain, Product: r.Product, Spec: productSpec(p), Env: env.Render}
	policyVersion := ""
	if r.Kind == provisioningrun.KindApply && s.cfg.Governance != nil {
		g, ok := s.verdicts.take(r.ID, p.Version, s.cfg.Governance.PolicyVersion())
		if !ok {
			g, err = s.cfg.Governance.Govern(ctx, p, policyEnvironment(env), "provision.plan@"+env.Name)
		}
		switch {
		case err != nil && removal(r.Trigger):
			// Only ACL deletions are planned: the policy's verdict on the
			// product cannot hold back the end of someone's access.
			lw.line("meshplane: the policy in force refuses the product; planning the grants' removal alone: " + err.Error())
		case err != nil:
			return fmt.Errorf("admission: %w", err)
		default:
			in.ConnectorConfig, in.SinkMasks = g.ConnectorConfig, g.SinkMasks
			policyVersion = g.PolicyVersion
			lw.line(fmt.Sprintf("meshplane: policy %s admits the product; its connectors mask %d fields", g.PolicyVersion, g.Masked))
		}
	}
	if in.Grants, r.Grants, err = s.attachGrants(ctx, r); err != nil {
		return err
	}
	if n := len(r.Grants.Activate) + len(r.Grants.End); n > 0 {
		lw.line(fmt.Sprintf("meshplane: %d consumer grants hold access; this plan adds %d and removes %d", len(in.Grants), len(r.Grants.Activate), len(r.Grants.End)))
	}
	w, err := render.Render(in)
	if err != nil {
		return fmt.Errorf("rendering workspace: %w", err)
	}
	if r.Kind == provisioningrun.KindApply {
		s.adoptTopics(ctx, env, &w, lw)
	}
	if err := ws.writeFiles(w.Files); err != nil {
		return fmt.Errorf("writing workspace: %w", err)
	}
	if r.Kind == provisioningrun.KindDestroy {
		// A consumer's group ACL is one Kafka ACL shared with the other
		// products it reads: destroying this product must not take it.
		if kept, err := s.sharedGroupACLs(ctx, r.ProductID, env.Name); err != nil {
			return err
		} else if err := ws.forget(ctx, kept); err != nil {
			return err
		} else if len(kept) > 0 {
			lw.line(fmt.Sprintf("meshplane: %d consumer group ACLs stay: other products' grants still need them", len(kept)))
		}
	}
	targets, whole := s.grantTargets(ctx, r, p, policyVersion)
	if len(targets) > 0 {
		lw.line(fmt.Sprintf("meshplane: the product is as last applied: planning only the %d ACLs its grants add or remove", len(targets)))
	} else if whole != "" {
		lw.line("meshplane: planning the whole workspace: " + whole)
	}
	plan, digest, err := ws.plan(ctx, planFile(r.ID), r.Kind == provisioningrun.KindDestroy, targets...)
	if err != nil {
		return err
	}
	sum := summary.FromPlan(plan, env.Secrets.values()...)
	lw.line(fmt.Sprintf("meshplane: plan saved: %d to create, %d to update, %d to replace, %d to delete", sum.Create, sum.Update, sum.Replace, sum.Delete))
	for _, reason := range sum.Reasons {
		lw.line("meshplane: destructive: " + reason)
	}
	auto, note := onlyGrantChanges(r, sum)
	if auto {
		lw.line("meshplane: the plan changes nothing but consumer grants' ACLs: meshplane approves it")
	} else if note != "" {
		lw.line("meshplane: " + note)
	}
	var required []schema.RunApprover
	if !auto && s.cfg.Governance != nil {
		a := s.cfg.Governance.Approvers(ctx, p, policyEnvironment(env), engine.Run{Kind: string(r.Kind), Trigger: string(r.Trigger),
			Destructive: sum.Destructive, Create: sum.Create, Update: sum.Update, Replace: sum.Replace, Delete: sum.Delete})
		for _, x := range a.Approvers {
			required = append(required, schema.RunApprover{Role: x.Role, Reason: x.Reason})
			lw.line(fmt.Sprintf("meshplane: environment %s needs the approval of a %s: %s", env.Name, x.Role, x.Reason))
		}
	}
	lw.flush()
	saved, err := os.ReadFile(filepath.Join(ws.dir, planFile(r.ID)))
	if err != nil {
		return fmt.Errorf("reading the saved plan: %w", err)
	}
	// The plan is kept in the catalog, so that whichever replica applies
	// the run applies exactly this file.
	err = s.store.Tx(ctx, func(tx *ent.Tx) error {
		n, err := tx.ProvisioningRun.Update().Where(provisioningrun.ID(r.ID), provisioningrun.Executor(s.cfg.Jobs.ID()),
			provisioningrun.StateEQ(provisioningrun.StatePlanning)).
			SetState(provisioningrun.StatePlanned).SetExecutor("").ClearHeartbeatTime().AddVersion(1).
			SetSummary(sum).SetHasChanges(sum.HasChanges()).SetDestructive(sum.Destructive).SetPlanDigest(digest).
			SetPolicyVersion(policyVersion).SetAutoApplyNote(note).SetApprovers(required).Save(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return errTakenAway
		}
		if err := tx.SavedPlan.Create().SetID(r.ID).SetDigest(digest).SetData(saved).Exec(ctx); err != nil {
			return err
		}
		planned, err := tx.ProvisioningRun.Get(ctx, r.ID)
		if err != nil {
			return err
		}
		return audit.Record(sys, tx, s.store.Dialect, audit.Change{Action: "provision.RunPlanned", ResourceType: "run",
			Resource: r.ID, Domain: r.Domain, Before: runSnapshot(r), After: runSnapshot(planned)})
	})
	if err != nil {
		return err
	}
	s.feed.publish(r.ID)
	if auto {
		if _, err := s.approve(sys, r.ID, actor.Meshplane.Name, true); err == nil {
			return nil
		} else {
			note = "approving it automatically failed: " + err.Error()
			lw.line("meshplane: " + note)
		}
	}
	s.awaitReview(sys, r, note)
	return nil
}

func (s *Service) applyPhase(ctx, sys context.Context, r *ent.ProvisioningRun, lw *runLog) error {
	env, err := s.runEnvironment(r)
	if err != nil {
		return err
	}
	ws := s.workspace(env, r.Domain, r.Product, lw.sink)
	if err := s.restorePlan(ctx, env, ws, r, lw); err != nil {
		return err
	}
	if err := ws.apply(ctx, planFile(r.ID), r.PlanDigest); err != nil {
		return err
	}
	_ = os.Remove(filepath.Join(ws.dir, planFile(r.ID)))
	// A destroy only knows what the state recorded: the data plane says
	// whether anything the product owns outlived it.
	unfinished := ""
	if r.Kind == provisioningrun.KindDestroy {
		unfinished = s.unfinishedDestroy(ctx, r, lw)
	}
	// The whole log is stored before the run settles: a watcher stops at
	// the settled state and must have had every line by then.
	// A product is retired only once no environment holds anything of it:
	// an applied version, a run under way or awaiting review (decided again
	// in the transaction below), or resources the data plane still has that
	// no deployment recorded (an apply that failed half-way).
	var leftElsewhere []string
	if r.Kind == provisioningrun.KindDestroy && unfinished == "" {
		leftElsewhere = s.leftElsewhere(ctx, r, env.Name, lw)
		s.explainRetirement(ctx, r, leftElsewhere, lw)
	}
	lw.sink.Flush()
	lw.flush()
	state, action := provisioningrun.StateApplied, "provision.RunApplied"
	if unfinished != "" {
		state, action = provisioningrun.StateFailed, "provision.RunFinished"
	}
	err = s.store.Tx(context.WithoutCancel(sys), func(tx *ent.Tx) error {
		if r.Kind == provisioningrun.KindDestroy && s.store.Dialect == dialect.Postgres {
			// The product's row serializes the end of its destroys and the
			// queueing of its runs, so whether anything is left elsewhere is
			// decided on what the others committed.
			if _, err := tx.DataProduct.Query().Where(dataproduct.ID(r.ProductID)).ForUpdate().Only(sys); err != nil && !ent.IsNotFound(err) {
				return err
			}
		}
		cur, err := tx.ProvisioningRun.Get(sys, r.ID)
		if err != nil {
			return err
		}
		if cur.State != provisioningrun.StateApplying || cur.Executor != s.cfg.Jobs.ID() {
			// Interrupted by a replica that took this one for dead: what
			// was applied shows in the next plan, which is already queued.
			lw.line("meshplane: the apply finished after this run was interrupted; the next plan shows the data plane as it is")
			return errTakenAway
		}
		out, err := tx.ProvisioningRun.UpdateOne(cur).SetState(state).SetError(unfinished).SetFinishTime(now()).AddVersion(1).Save(sys)
		if err != nil {
			return err
		}
		if _, err := tx.SavedPlan.Delete().Where(savedplan.ID(r.ID)).Exec(sys); err != nil {
			return err
		}
		if err := audit.Record(sys, tx, s.store.Dialect, audit.Change{Action: action, ResourceType: "run",
			Resource: r.ID, Domain: r.Domain, Before: runSnapshot(cur), After: runSnapshot(out)}); err != nil {
			return err
		}
		p, err := tx.DataProduct.Get(sys, r.ProductID)
		if ent.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := grantsApplied(sys, tx, s.store.Dialect, r); err != nil {
			return err
		}
		var ch deployed
		if !slices.Contains(autoTriggers, r.Trigger) {
			// A grant's run may have planned its ACLs alone: the drift
			// recorded elsewhere stays until the next check or full apply.
			ch.drift = &[]summary.ResourceChange{}
		}
		switch {
		case r.Kind == provisioningrun.KindDestroy:
			// What the state held in this environment is destroyed.
			ch.clear = true
		case !removal(r.Trigger):
			// A removal planned the grants' deletions alone: the product's
			// own resources are as the version applied before.
			ch.version = &r.ProductVersion
		}
		if err := s.recordDeployment(sys, tx, p, env.Name, ch); err != nil {
			return err
		}
		if r.Kind != provisioningrun.KindDestroy {
			return nil
		}
		action := "provision.Decommissioned"
		after := p
		deployed, busy, err := heldElsewhere(sys, tx.Deployment, tx.ProvisioningRun, p.ID, env.Name)
		if err != nil {
			return err
		}
		elsewhere := slices.Compact(slices.Sorted(slices.Values(slices.Concat(deployed, busy, leftElsewhere))))
		switch {
		case unfinished != "":
			// The product is not gone: it stays, unprovisioned here, until
			// a decommission finds nothing of it left.
			action = "provision.DecommissionIncomplete"
		case len(elsewhere) == 0:
			// Gone from every environment: the product is retired; its
			// history stays.
			if after, err = tx.DataProduct.UpdateOneID(p.ID).SetLifecycle(dataproduct.LifecycleRetired).AddVersion(1).
				SetUpdatedBy(actor.Meshplane.Name).Save(sys); err != nil {
				return err
			}
			// Grants asked for in environments it never reached end too.
			if err := endProductGrants(sys, tx, s.store.Dialect, "the product was retired", grant.ProductID(p.ID)); err != nil {
				return err
			}
		}
		type decommission struct {
			Environment string   `json:"environment"`
			Lifecycle   string   `json:"lifecycle"`
			StillIn     []string `json:"stillProvisionedIn,omitempty"`
		}
		return audit.Record(sys, tx, s.store.Dialect, audit.Change{Action: action, ResourceType: "product",
			Resource: r.Domain + "/" + r.Product, Domain: r.Domain,
			Before: decommission{Environment: env.Name, Lifecycle: string(p.Lifecycle)},
			After:  decommission{Environment: env.Name, Lifecycle: string(after.Lifecycle), StillIn: elsewhere}})
	})
	if err == nil {
		// Watchers hear the run settle, and their stream ends.
		s.feed.publish(r.ID)
	}
	return err
}

// heldElsewhere names the environments other than env where a product has
// an applied version (deployed) or a run under way or awaiting review
// (busy), through the catalog's clients or a transaction's.
func heldElsewhere(ctx context.Context, deps *ent.DeploymentClient, runs *ent.ProvisioningRunClient, productID, env string) (deployed, busy []string, err error) {
	deployed, err = deps.Query().Where(deployment.ProductID(productID), deployment.EnvironmentNEQ(env), deployment.ProvisionedVersionNotNil()).
		Select(deployment.FieldEnvironment).Strings(ctx)
	if err != nil {
		return nil, nil, err
	}
	busy, err = runs.Query().Where(provisioningrun.ProductID(productID), provisioningrun.EnvironmentNEQ(env),
		provisioningrun.StateIn(append(slices.Clone(active), provisioningrun.StatePlanned)...)).Select(provisioningrun.FieldEnvironment).Strings(ctx)
	return deployed, busy, err
}

// explainRetirement says in a destroy's log whether its product retires,
// and if not, what another environment still holds of it.
func (s *Service) explainRetirement(ctx context.Context, r *ent.ProvisioningRun, left []string, lw *runLog) {
	deployed, busy, err := heldElsewhere(ctx, s.store.Client.Deployment, s.store.Client.ProvisioningRun, r.ProductID, r.Environment)
	if err != nil {
		lw.line("meshplane: could not tell whether another environment still holds the product: " + err.Error())
		return
	}
	var why []string
	for _, w := range []struct {
		what string
		envs []string
	}{{"provisioned in", deployed}, {"with a run under way or awaiting review in", busy}, {"with resources left in", left}} {
		if len(w.envs) > 0 {
			why = append(why, w.what+" "+strings.Join(slices.Compact(slices.Sorted(slices.Values(w.envs))), ", "))
		}
	}
	if len(why) == 0 {
		lw.line("meshplane: nothing of the product is left in any environment: it is retired")
		return
	}
	lw.line("meshplane: the product stays (not retired): it is still " + strings.Join(why, "; ") + "; decommission it there too")
}

// restorePlan puts the approved plan file into this replica's workspace,
// from the catalog, when the replica that planned the run is another one
// (or this one lost its copy). The workspace's files are rendered again for
// terraform init; terraform applies the configuration the plan file itself
// carries, so what is applied is exactly what was reviewed.
func (s *Service) restorePlan(ctx context.Context, env *Environment, ws *workspace, r *ent.ProvisioningRun, lw *runLog) error {
	path := filepath.Join(ws.dir, planFile(r.ID))
	if got, err := fileDigest(path); err == nil && got == r.PlanDigest {
		return nil
	}
	sp, err := s.store.Client.SavedPlan.Get(ctx, r.ID)
	if ent.IsNotFound(err) {
		return errors.New("the approved plan is not in the catalog any more; plan again")
	}
	if err != nil {
		return fmt.Errorf("reading the approved plan: %w", err)
	}
	p, err := s.store.Client.DataProduct.Get(ctx, r.ProductID)
	if err != nil {
		return fmt.Errorf("reading product: %w", err)
	}
	if err := s.ensureRendered(ctx, env, ws, p); err != nil {
		return err
	}
	if err := os.WriteFile(path, sp.Data, 0o600); err != nil {
		return fmt.Errorf("writing the approved plan: %w", err)
	}
	lw.line("meshplane: applying the approved plan from the catalog (planned on another replica)")
	return nil
}

// ensureRendered renders and initializes a product's workspace on this
// replica when another replica did the work before: state lives in the
// shared backend, the files are derived from the catalog.
func (s *Service) ensureRendered(ctx context.Context, env *Environment, ws *workspace, p *ent.DataProduct) error {
	if _, err := os.Stat(filepath.Join(ws.dir, ".terraform")); err == nil {
		return nil
	}
	if _, err := os.Stat(filepath.Join(ws.dir, "main.tf.json")); err != nil {
		w, err := render.Render(render.Input{Domain: p.Domain, Product: p.Name, Spec: productSpec(p), Env: env.Render})
		if err != nil {
			return fmt.Errorf("rendering workspace: %w", err)
		}
		if err := ws.writeFiles(w.Files); err != nil {
			return fmt.Errorf("writing workspace: %w", err)
		}
	}
	return ws.init(ctx)
}

// runLog gathers a run's lines and appends them to the catalog in small
// batches; watchers on any replica read them from there.
type runLog struct {
	s       *Service
	runID   string
	sink    *logSink
	mu      sync.Mutex
	pending []string
	done    chan struct{}
}

// logFlushInterval is how often a running run's new lines reach the catalog.
const logFlushInterval = 250 * time.Millisecond

func (s *Service) newRunLog(r *ent.ProvisioningRun) *runLog {
	l := &runLog{s: s, runID: r.ID, done: make(chan struct{})}
	l.sink = &logSink{secrets: s.secretValues, line: l.line}
	go func() {
		t := time.NewTicker(logFlushInterval)
		defer t.Stop()
		for {
			select {
			case <-l.done:
				return
			case <-t.C:
				l.flush()
			}
		}
	}()
	return l
}

func (l *runLog) line(text string) {
	l.mu.Lock()
	l.pending = append(l.pending, text)
	l.mu.Unlock()
}

// flush appends pending lines to the run's stored log.
func (l *runLog) flush() {
	l.mu.Lock()
	lines := l.pending
	l.pending = nil
	l.mu.Unlock()
	if len(lines) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := l.s.store.Tx(ctx, func(tx *ent.Tx) error {
		r, err := tx.ProvisioningRun.Get(ctx, l.runID)
		if err != nil {
			return err
		}
		return tx.ProvisioningRun.UpdateOne(r).SetLog(r.Log + strings.Join(lines, "\n") + "\n").Exec(ctx)
	})
	if err != nil {
		l.s.log.Warn("saving run log", "run", l.runID, "error", err)
		return
	}
	l.s.feed.publish(l.runID)
}

func (l *runLog) close() { close(l.done) }

// heartbeat proves, every HeartbeatInterval, that this replica still
// executes its runs, and stops terraform for a run cancelled (or taken for
// dead) meanwhile on another replica.
func (s *Service) heartbeat(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.mu.Lock()
		ids := slices.Collect(maps.Keys(s.running))
		s.mu.Unlock()
		if len(ids) == 0 {
			continue
		}
		if err := s.store.Client.ProvisioningRun.Update().Where(provisioningrun.IDIn(ids...), provisioningrun.Executor(s.cfg.Jobs.ID()),
			provisioningrun.StateIn(provisioningrun.StatePlanning, provisioningrun.StateApplying)).SetHeartbeatTime(now()).Exec(ctx); err != nil {
			s.log.Warn("recording heartbeat", "error", err)
			continue
		}
		mine, err := s.store.Client.ProvisioningRun.Query().Where(provisioningrun.IDIn(ids...), provisioningrun.Executor(s.cfg.Jobs.ID()),
			provisioningrun.StateIn(provisioningrun.StatePlanning, provisioningrun.StateApplying)).IDs(ctx)
		if err != nil {
			continue
		}
		for _, id := range ids {
			if !slices.Contains(mine, id) {
				s.stopLocal(id)
			}
		}
	}
}

// stopLocal interrupts terraform for a run executing on this replica.
func (s *Service) stopLocal(id string) {
	s.mu.Lock()
	cancel := s.running[id]
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// sweep interrupts runs whose executor stopped beating — its replica died —
// and plans them again for review, and queues the jobs of runs that lost
// theirs (a replica that died between recording a run and queueing it).
// everyoneElse says that no other replica can be alive: the embedded SQLite
// catalog serves one process, so at start what another executor left is
// abandoned at once.
func (s *Service) sweep(ctx context.Context, everyoneElse bool) error {
	sys := actor.With(ctx, actor.Meshplane)
	stale := provisioningrun.Or(provisioningrun.HeartbeatTimeIsNil(), provisioningrun.HeartbeatTimeLT(now().Add(-s.cfg.StaleAfter)))
	if everyoneElse {
		stale = provisioningrun.ExecutorNEQ(s.cfg.Jobs.ID())
	}
	stuck, err := s.store.Client.ProvisioningRun.Query().Where(provisioningrun.StateIn(provisioningrun.StatePlanning, provisioningrun.StateApplying),
		provisioningrun.ExecutorNEQ(""), stale).All(ctx)
	if err != nil {
		return fmt.Errorf("finding interrupted runs: %w", err)
	}
	for _, r := range stuck {
		released, err := releaseStaleLock(s.workspaceDir(r.Environment, r.Domain, r.Product), s.cfg.Terraform)
		if err != nil {
			s.log.Warn("releasing a stale state lock", "product", r.Domain+"/"+r.Product, "error", err)
		}
		msg := fmt.Sprintf("meshplane stopped while this run was %s (replica %s); it is planned again for review", r.State, r.Executor)
		if released {
			msg += " (a stale state lock was released)"
		}
		_, ended, err := s.finish(sys, r.ID, provisioningrun.StateInterrupted, msg, "provision.RunInterrupted", r.Executor)
		if err != nil {
			return err
		}
		if ended {
			s.log.Warn("run interrupted: its replica stopped", "run", r.ID, "product", r.Domain+"/"+r.Product, "was", r.State, "replica", r.Executor, "stale_lock_released", released)
			s.planAgain(sys, r)
		}
	}
	lost := now().Add(-2 * time.Second)
	queued, err := s.store.Client.ProvisioningRun.Query().Where(provisioningrun.StateEQ(provisioningrun.StateQueued), provisioningrun.CreateTimeLT(lost)).IDs(ctx)
	if err != nil {
		return err
	}
	for _, id := range queued {
		s.enqueue(ctx, id, phasePlan)
	}
	approved, err := s.store.Client.ProvisioningRun.Query().Where(provisioningrun.StateEQ(provisioningrun.StateApplying), provisioningrun.Executor(""),
		provisioningrun.ApproveTimeLT(lost)).IDs(ctx)
	if err != nil {
		return err
	}
	for _, id := range approved {
		s.enqueue(ctx, id, phaseApply)
	}
	return nil
}

// planAgain queues a new plan of an interrupted run's product for review:
// an approved plan is never applied again blindly.
func (s *Service) planAgain(ctx context.Context, r *ent.ProvisioningRun) {
	if _, err := s.Request(ctx, r.Domain, r.Product, r.Kind, Trigger{Kind: provisioningrun.TriggerRecovery, By: actor.Meshplane.Name,
		Detail: fmt.Sprintf("run %s was interrupted while %s", r.ID, r.State), Environment: r.Environment}); err != nil {
		s.log.Warn("planning an interrupted run again", "run", r.ID, "product", r.Domain+"/"+r.Product, "error", err)
	}
}

// CheckDrift runs a refresh-only plan for every provisioned product whose
// workspace is idle and records what differs. It never applies anything.
func (s *Service) CheckDrift(ctx context.Context) {
	for i := range s.cfg.Environments {
		env := &s.cfg.Environments[i]
		ids, err := s.store.Client.Deployment.Query().Where(deployment.Environment(env.Name), deployment.ProvisionedVersionNotNil()).
			Select(deployment.FieldProductID).Strings(ctx)
		if err != nil {
			s.log.Warn("listing provisioned products", "environment", env.Name, "error", err)
			continue
		}
		for _, id := range ids {
			if ctx.Err() != nil {
				return
			}
			p, err := s.store.Client.DataProduct.Get(ctx, id)
			if ent.IsNotFound(err) {
				continue
			}
			if err == nil {
				err = s.checkDrift(ctx, env, p)
			}
			if err != nil && !errors.Is(err, errBusy) {
				s.log.Warn("checking drift", "product", id, "environment", env.Name, "error", err)
			}
		}
	}
}

var errBusy = errors.New("workspace busy")

func (s *Service) checkDrift(ctx context.Context, env *Environment, p *ent.DataProduct) error {
	key := workspaceKey(p.ID, env.Name)
	if !s.claim(key) {
		return errBusy
	}
	defer s.release(key)
	activeRun, err := s.store.Client.ProvisioningRun.Query().Where(provisioningrun.ProductID(p.ID), provisioningrun.Environment(env.Name),
		provisioningrun.StateIn(active...)).Exist(ctx)
	if err != nil || activeRun {
		return err
	}
	d, err := deploymentIn(ctx, s.store.Client.Deployment, p.ID, env.Name)
	if err != nil || d == nil {
		return err
	}
	var out strings.Builder
	sink := &logSink{secrets: s.secretValues, line: func(l string) { out.WriteString(l + "\n") }}
	ws := s.workspace(env, p.Domain, p.Name, sink)
	// A drift check refreshes what the state holds; adopting is for plans.
	if err := os.Remove(filepath.Join(ws.dir, adoptFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := s.ensureRendered(ctx, env, ws, p); err != nil {
		return err
	}
	plan, err := ws.refreshPlan(ctx, "drift.tfplan")
	if err != nil {
		return fmt.Errorf("%w: %s", err, lastLines(out.String(), 5))
	}
	drift := summary.Drift(plan, env.Secrets.values()...)
	if drift == nil {
		drift = []summary.ResourceChange{}
	}
	if len(drift) > 0 {
		s.log.Warn("drift detected", "product", p.Domain+"/"+p.Name, "environment", env.Name, "resources", len(drift))
	}
	checked := now()
	if reflect.DeepEqual(drift, d.Drift) || (len(drift) == 0 && len(d.Drift) == 0) {
		return s.store.Tx(ctx, func(tx *ent.Tx) error { return s.recordDeployment(ctx, tx, p, env.Name, deployed{checked: &checked}) })
	}
	// Drift found, changed or gone is a change to the product, recorded as one.
	action := "provision.DriftDetected"
	if len(drift) == 0 {
		action = "provision.DriftResolved"
	}
	sys := actor.With(ctx, actor.Meshplane)
	return s.store.Tx(ctx, func(tx *ent.Tx) error {
		if err := s.recordDeployment(ctx, tx, p, env.Name, deployed{drift: &drift, checked: &checked}); err != nil {
			return err
		}
		type driftChange struct {
			Environment string                   `json:"environment"`
			Drift       []summary.ResourceChange `json:"drift"`
		}
		return audit.Record(sys, tx, s.store.Dialect, audit.Change{Action: action, ResourceType: "product",
			Resource: p.Domain + "/" + p.Name, Domain: p.Domain, Before: driftChange{env.Name, d.Drift}, After: driftChange{env.Name, drift}})
	})
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
