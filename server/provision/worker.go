package provision

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/meshplane/meshplane/server/actor"
	"github.com/meshplane/meshplane/server/audit"
	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/ent/dataproduct"
	"github.com/meshplane/meshplane/server/ent/provisioningrun"
	"github.com/meshplane/meshplane/server/provision/render"
	"github.com/meshplane/meshplane/server/provision/summary"
)

// planFile is where a run's plan is saved in the workspace.
func planFile(runID string) string { return "run-" + runID + ".tfplan" }

func (s *Service) worker(ctx context.Context) {
	defer s.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-s.jobs:
			if !s.execute(ctx, j) {
				// The product's workspace is in use (a drift check): try again shortly.
				go func() {
					select {
					case <-ctx.Done():
					case <-time.After(200 * time.Millisecond):
						s.enqueue(j)
					}
				}()
			}
		}
	}
}

// claim marks a product's workspace busy; false when another worker has it.
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

// execute runs one phase of a run; false when it must wait for the workspace.
func (s *Service) execute(ctx context.Context, j job) bool {
	r, err := s.store.Client.ProvisioningRun.Get(ctx, j.runID)
	if err != nil {
		s.log.Error("loading run", "run", j.runID, "error", err)
		return true
	}
	want := provisioningrun.StateQueued
	if j.phase == "apply" {
		want = provisioningrun.StateApplying
	}
	if r.State != want {
		return true // cancelled or superseded meanwhile
	}
	if !s.claim(r.ProductID) {
		return false
	}
	defer s.release(r.ProductID)

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
	sys := actor.With(ctx, actor.Meshplane)
	var phaseErr error
	if j.phase == "plan" {
		phaseErr = s.planPhase(runCtx, sys, r, lw)
	} else {
		phaseErr = s.applyPhase(runCtx, sys, r, lw)
	}
	lw.sink.Flush()
	lw.flush()
	defer s.notifySettled()
	if phaseErr != nil {
		st, msg := provisioningrun.StateFailed, phaseErr.Error()
		if runCtx.Err() != nil && ctx.Err() == nil {
			st, msg = provisioningrun.StateCancelled, "cancelled while "+string(want)
		} else if ctx.Err() != nil {
			st, msg = provisioningrun.StateInterrupted, "meshplane stopped during the run; the next plan shows the data plane as it is"
		}
		for _, sec := range s.cfg.Secrets.values() {
			msg = strings.ReplaceAll(msg, sec, "(sensitive)")
		}
		if _, err := s.finish(context.WithoutCancel(sys), r.ID, st, msg, "provision.RunFinished"); err != nil {
			s.log.Error("recording run failure", "run", r.ID, "error", err)
		}
	}
	return true
}

func (s *Service) setState(ctx context.Context, id string, st provisioningrun.State, set func(*ent.ProvisioningRunUpdateOne)) error {
	u := s.store.Client.ProvisioningRun.UpdateOneID(id).SetState(st).AddVersion(1)
	if set != nil {
		set(u)
	}
	if err := u.Exec(ctx); err != nil {
		return fmt.Errorf("recording run state: %w", err)
	}
	s.bus.publish(id, event{state: st})
	return nil
}

func (s *Service) planPhase(ctx, sys context.Context, r *ent.ProvisioningRun, lw *runLog) error {
	if err := s.setState(ctx, r.ID, provisioningrun.StatePlanning, func(u *ent.ProvisioningRunUpdateOne) { u.SetStartTime(now()) }); err != nil {
		return err
	}
	p, err := s.store.Client.DataProduct.Get(ctx, r.ProductID)
	if err != nil {
		return fmt.Errorf("reading product: %w", err)
	}
	ws := s.workspace(r.Domain, r.Product, lw.sink)
	in := render.Input{Domain: r.Domain, Product: r.Product, Spec: productSpec(p), Env: s.cfg.Env}
	policyVersion := ""
	if r.Kind == provisioningrun.KindApply && s.cfg.Governance != nil {
		g, err := s.cfg.Governance.Govern(ctx, p, "provision.plan")
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
		s.adoptTopics(ctx, &w, lw)
	}
	if err := ws.writeFiles(w.Files); err != nil {
		return fmt.Errorf("writing workspace: %w", err)
	}
	if r.Kind == provisioningrun.KindDestroy {
		// A consumer's group ACL is one Kafka ACL shared with the other
		// products it reads: destroying this product must not take it.
		if kept, err := s.sharedGroupACLs(ctx, r.ProductID); err != nil {
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
	sum := summary.FromPlan(plan, s.cfg.Secrets.values()...)
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
	lw.flush()
	if err := s.setState(ctx, r.ID, provisioningrun.StatePlanned, func(u *ent.ProvisioningRunUpdateOne) {
		u.SetSummary(sum).SetHasChanges(sum.HasChanges()).SetDestructive(sum.Destructive).SetPlanDigest(digest).
			SetPolicyVersion(policyVersion).SetAutoApplyNote(note)
	}); err != nil {
		return err
	}
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
	ws := s.workspace(r.Domain, r.Product, lw.sink)
	if err := ws.apply(ctx, planFile(r.ID), r.PlanDigest); err != nil {
		return err
	}
	_ = os.Remove(filepath.Join(ws.dir, planFile(r.ID)))
	// A destroy only knows what the state recorded: the data plane says
	// whether anything the product owns outlived it.
	unfinished := ""
	if r.Kind == provisioningrun.KindDestroy {
		unfinished = s.unfinishedDestroy(ctx, r, lw)
		lw.flush()
	}
	state, action := provisioningrun.StateApplied, "provision.RunApplied"
	if unfinished != "" {
		state, action = provisioningrun.StateFailed, "provision.RunFinished"
	}
	err := s.store.Tx(context.WithoutCancel(sys), func(tx *ent.Tx) error {
		cur, err := tx.ProvisioningRun.Get(sys, r.ID)
		if err != nil {
			return err
		}
		out, err := tx.ProvisioningRun.UpdateOne(cur).SetState(state).SetError(unfinished).SetFinishTime(now()).AddVersion(1).Save(sys)
		if err != nil {
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
		u := tx.DataProduct.UpdateOne(p)
		if !slices.Contains(autoTriggers, r.Trigger) {
			// A grant's run may have planned its ACLs alone: the drift
			// recorded elsewhere stays until the next check or full apply.
			u = u.ClearDrift()
		}
		switch {
		case r.Kind == provisioningrun.KindDestroy && unfinished != "":
			// What the state held is destroyed, grants' ACLs with it, but
			// the product is not gone: it stays, unprovisioned, until a
			// decommission finds nothing of it left.
			u = u.ClearProvisionedVersion()
		case r.Kind == provisioningrun.KindDestroy:
			// Decommissioned: the product is retired; its history stays.
			u = u.ClearProvisionedVersion().SetLifecycle(dataproduct.LifecycleRetired).AddVersion(1).SetUpdatedBy(actor.Meshplane.Name)
		case !removal(r.Trigger):
			// A removal planned the grants' deletions alone: the product's
			// own resources are as the version applied before.
			u = u.SetProvisionedVersion(r.ProductVersion)
		}
		after, err := u.Save(sys)
		if err != nil {
			return err
		}
		if r.Kind == provisioningrun.KindDestroy {
			action := "provision.Decommissioned"
			if unfinished != "" {
				action = "provision.DecommissionIncomplete"
			}
			return audit.Record(sys, tx, s.store.Dialect, audit.Change{Action: action, ResourceType: "product",
				Resource: r.Domain + "/" + r.Product, Domain: r.Domain, Before: p, After: after})
		}
		return nil
	})
	if err == nil {
		// Watchers hear the run settle, and their stream ends.
		s.bus.publish(r.ID, event{state: state})
	}
	return err
}

// runLog gathers a run's lines, publishes them to watchers at once and
// appends them to the catalog in batches.
type runLog struct {
	s       *Service
	runID   string
	sink    *logSink
	mu      sync.Mutex
	pending []string
	done    chan struct{}
}

func (s *Service) newRunLog(r *ent.ProvisioningRun) *runLog {
	l := &runLog{s: s, runID: r.ID, done: make(chan struct{})}
	l.sink = &logSink{secrets: s.cfg.Secrets.values(), line: l.line}
	go func() {
		t := time.NewTicker(500 * time.Millisecond)
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
	l.s.bus.publish(l.runID, event{line: text})
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
	}
}

func (l *runLog) close() { close(l.done) }

// recover marks runs a dead process left planning or applying as
// interrupted, releases their stale state locks, and requeues queued runs.
func (s *Service) recover(ctx context.Context) error {
	sys := actor.With(ctx, actor.Meshplane)
	stuck, err := s.store.Client.ProvisioningRun.Query().
		Where(provisioningrun.StateIn(provisioningrun.StatePlanning, provisioningrun.StateApplying)).All(ctx)
	if err != nil {
		return fmt.Errorf("finding interrupted runs: %w", err)
	}
	for _, r := range stuck {
		released, err := releaseStaleLock(s.workspaceDir(r.Domain, r.Product), s.cfg.Terraform)
		if err != nil {
			return fmt.Errorf("releasing state lock of %s/%s: %w", r.Domain, r.Product, err)
		}
		msg := fmt.Sprintf("meshplane stopped while this run was %s; the next plan shows the data plane as it is", r.State)
		if released {
			msg += " (a stale state lock was released)"
		}
		if _, err := s.finish(sys, r.ID, provisioningrun.StateInterrupted, msg, "provision.RunInterrupted"); err != nil {
			return err
		}
		s.log.Warn("run interrupted by a restart", "run", r.ID, "product", r.Domain+"/"+r.Product, "was", r.State, "stale_lock_released", released)
	}
	queued, err := s.store.Client.ProvisioningRun.Query().Where(provisioningrun.StateEQ(provisioningrun.StateQueued)).
		Order(ent.Asc(provisioningrun.FieldCreateTime)).All(ctx)
	if err != nil {
		return err
	}
	for _, r := range queued {
		s.enqueue(job{runID: r.ID, phase: "plan"})
	}
	return nil
}

// driftLoop checks provisioned products for drift, one at a time.
func (s *Service) driftLoop(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.DriftInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.CheckDrift(ctx)
		}
	}
}

// CheckDrift runs a refresh-only plan for every provisioned product whose
// workspace is idle and records what differs. It never applies anything.
func (s *Service) CheckDrift(ctx context.Context) {
	ps, err := s.store.Client.DataProduct.Query().Where(dataproduct.ProvisionedVersionNotNil()).All(ctx)
	if err != nil {
		s.log.Warn("listing provisioned products", "error", err)
		return
	}
	for _, p := range ps {
		if ctx.Err() != nil {
			return
		}
		if err := s.checkDrift(ctx, p); err != nil && !errors.Is(err, errBusy) {
			s.log.Warn("checking drift", "product", p.Domain+"/"+p.Name, "error", err)
		}
	}
}

var errBusy = errors.New("workspace busy")

func (s *Service) checkDrift(ctx context.Context, p *ent.DataProduct) error {
	if !s.claim(p.ID) {
		return errBusy
	}
	defer s.release(p.ID)
	activeRun, err := s.store.Client.ProvisioningRun.Query().Where(provisioningrun.ProductID(p.ID), provisioningrun.StateIn(active...)).Exist(ctx)
	if err != nil || activeRun {
		return err
	}
	var out strings.Builder
	sink := &logSink{secrets: s.cfg.Secrets.values(), line: func(l string) { out.WriteString(l + "\n") }}
	ws := s.workspace(p.Domain, p.Name, sink)
	// A drift check refreshes what the state holds; adopting is for plans.
	if err := os.Remove(filepath.Join(ws.dir, adoptFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	plan, err := ws.refreshPlan(ctx, "drift.tfplan")
	if err != nil {
		return fmt.Errorf("%w: %s", err, lastLines(out.String(), 5))
	}
	drift := summary.Drift(plan, s.cfg.Secrets.values()...)
	if drift == nil {
		drift = []summary.ResourceChange{}
	}
	if len(drift) > 0 {
		s.log.Warn("drift detected", "product", p.Domain+"/"+p.Name, "resources", len(drift))
	}
	return s.store.Client.DataProduct.UpdateOneID(p.ID).SetDrift(drift).SetDriftCheckTime(now()).Exec(ctx)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
