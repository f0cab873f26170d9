package policy

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/meshplane/meshplane/server/access"
	"github.com/meshplane/meshplane/server/actor"
	"github.com/meshplane/meshplane/server/audit"
	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/ent/policymodule"
	"github.com/meshplane/meshplane/server/ent/policyversion"
	"github.com/meshplane/meshplane/server/errs"
	"github.com/meshplane/meshplane/server/policy/engine"
	"github.com/meshplane/meshplane/server/spec"
	"github.com/meshplane/meshplane/server/store"
)

// Module is a policy module as the doors show it.
type Module struct {
	*ent.PolicyModule
	// DraftChanged is set when the draft differs from the published version.
	DraftChanged bool
}

// ListModules returns every module, by name.
func (s *Service) ListModules(ctx context.Context) ([]Module, error) {
	if err := s.authz.Require(ctx, access.AllDomains, ObjPolicy, ActRead); err != nil {
		return nil, err
	}
	mods, err := s.store.Client.PolicyModule.Query().Order(ent.Asc(policymodule.FieldName)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing policy modules: %w", err)
	}
	out := make([]Module, 0, len(mods))
	for _, m := range mods {
		mod, err := s.describe(ctx, m)
		if err != nil {
			return nil, err
		}
		out = append(out, mod)
	}
	return out, nil
}

// GetModule returns one module with its draft.
func (s *Service) GetModule(ctx context.Context, name string) (Module, error) {
	if err := s.authz.Require(ctx, access.AllDomains, ObjPolicy, ActRead); err != nil {
		return Module{}, err
	}
	m, err := s.module(ctx, name)
	if err != nil {
		return Module{}, err
	}
	return s.describe(ctx, m)
}

func (s *Service) module(ctx context.Context, name string) (*ent.PolicyModule, error) {
	m, err := s.store.Client.PolicyModule.Query().Where(policymodule.Name(name)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, errs.NotFound("policy module", name)
	}
	if err != nil {
		return nil, fmt.Errorf("reading policy module: %w", err)
	}
	return m, nil
}

func (s *Service) describe(ctx context.Context, m *ent.PolicyModule) (Module, error) {
	if m.PublishedVersion == 0 {
		return Module{PolicyModule: m, DraftChanged: true}, nil
	}
	v, err := s.store.Client.PolicyVersion.Query().Where(policyversion.Module(m.Name), policyversion.Number(m.PublishedVersion)).Only(ctx)
	if err != nil {
		return Module{}, fmt.Errorf("reading published version: %w", err)
	}
	return Module{PolicyModule: m, DraftChanged: v.Digest != digest(m.Draft)}, nil
}

// checkFiles validates a module's files: names that start with the module's
// name (so modules never collide), sizes, and at least one policy file.
func checkFiles(v *errs.Violations, module string, files map[string]string) {
	if len(files) == 0 {
		v.Add("files", "at least one file is required")
		return
	}
	if len(files) > MaxFiles {
		v.Add("files", "must hold at most %d files, got %d", MaxFiles, len(files))
	}
	nameRe := regexp.MustCompile(`^` + regexp.QuoteMeta(module) + `(_[a-z0-9_]{1,60})?\.rego$`)
	policies := 0
	for _, name := range slices.Sorted(maps.Keys(files)) {
		path := fmt.Sprintf("files[%q]", name)
		if !nameRe.MatchString(name) {
			v.Add(path, "file names must be %s.rego or %s_<suffix>.rego, lower case", module, module)
		}
		if len(files[name]) > MaxFileBytes {
			v.Add(path, "must be at most %d bytes, got %d", MaxFileBytes, len(files[name]))
		}
		if !strings.HasSuffix(name, "_test.rego") {
			policies++
		}
	}
	if policies == 0 {
		v.Add("files", "at least one file that is not a test is required")
	}
}

// check validates and compiles a draft together with the other modules'
// published files; compile problems come back per file with line:col.
func (s *Service) check(ctx context.Context, module string, files map[string]string) error {
	all, _, err := s.published(ctx, draft(module, files))
	if err != nil {
		return err
	}
	if err := engine.Check(all); err != nil {
		return compileViolations(err)
	}
	return nil
}

// CreateModule creates a module whose draft holds files. Nothing evaluates
// it until it is published.
func (s *Service) CreateModule(ctx context.Context, name, description string, files map[string]string) (Module, error) {
	var v errs.Violations
	if !moduleNameRe.MatchString(name) {
		v.Add("name", "must be lower case letters and digits, starting with a letter, at most 63 characters")
	}
	spec.CheckDescription(&v, "description", description)
	if v.Len() == 0 {
		checkFiles(&v, name, files)
	}
	if err := v.Err(); err != nil {
		return Module{}, err
	}
	if err := s.authz.Require(ctx, access.AllDomains, ObjPolicy, ActDraft); err != nil {
		return Module{}, err
	}
	if err := s.check(ctx, name, files); err != nil {
		return Module{}, err
	}
	who, _ := actor.From(ctx)
	var out *ent.PolicyModule
	err := s.store.Tx(ctx, func(tx *ent.Tx) error {
		exists, err := tx.PolicyModule.Query().Where(policymodule.Name(name)).Exist(ctx)
		if err != nil {
			return err
		}
		if exists {
			return errs.New(errs.KindAlreadyExists, "policy module %q already exists", name)
		}
		out, err = tx.PolicyModule.Create().SetName(name).SetDescription(description).SetDraft(files).SetDraftUpdatedBy(who.Name).Save(ctx)
		if err != nil {
			return store.AlreadyExists(err, "policy module", name)
		}
		return audit.Record(ctx, tx, s.store.Dialect, audit.Change{
			Action: "policy.CreateModule", ResourceType: "policy", Resource: name, After: moduleSnapshot(out),
		})
	})
	if err != nil {
		return Module{}, err
	}
	return Module{PolicyModule: out, DraftChanged: true}, nil
}

// SaveDraft replaces a module's draft, guarded by the draft's version. The
// draft must compile; drafts never affect evaluation.
func (s *Service) SaveDraft(ctx context.Context, name string, files map[string]string, version int64) (Module, error) {
	var v errs.Violations
	checkFiles(&v, name, files)
	if version < 1 {
		v.Add("version", "is required: the draft version you read (optimistic concurrency)")
	}
	if err := v.Err(); err != nil {
		return Module{}, err
	}
	if err := s.authz.Require(ctx, access.AllDomains, ObjPolicy, ActDraft); err != nil {
		return Module{}, err
	}
	cur, err := s.module(ctx, name)
	if err != nil {
		return Module{}, err
	}
	if err := s.check(ctx, name, files); err != nil {
		return Module{}, err
	}
	who, _ := actor.From(ctx)
	var out *ent.PolicyModule
	err = s.store.Tx(ctx, func(tx *ent.Tx) error {
		n, err := tx.PolicyModule.Update().Where(policymodule.ID(cur.ID), policymodule.Version(version)).
			SetDraft(files).SetDraftUpdatedBy(who.Name).AddVersion(1).Save(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			now, err := tx.PolicyModule.Get(ctx, cur.ID)
			if err != nil {
				return err
			}
			return errs.Conflict("policy module", name, version, now.Version)
		}
		if out, err = tx.PolicyModule.Get(ctx, cur.ID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, s.store.Dialect, audit.Change{
			Action: "policy.SaveDraft", ResourceType: "policy", Resource: name, Before: moduleSnapshot(cur), After: moduleSnapshot(out),
		})
	})
	if err != nil {
		return Module{}, err
	}
	return s.describe(ctx, out)
}

// TestRun is the outcome of a draft's tests.
type TestRun struct {
	Results []engine.TestResult
	// Passed says whether the draft may be published as far as tests go:
	// it has tests of its own and none fails.
	Passed bool
	// Problem says why not, when Passed is false.
	Problem string
}

// TestDraft runs the draft's tests against the other modules' published
// policies.
func (s *Service) TestDraft(ctx context.Context, name string) (TestRun, error) {
	if err := s.authz.Require(ctx, access.AllDomains, ObjPolicy, ActTest); err != nil {
		return TestRun{}, err
	}
	m, err := s.module(ctx, name)
	if err != nil {
		return TestRun{}, err
	}
	res, err := s.runTests(ctx, name, m.Draft)
	if err != nil {
		return TestRun{}, err
	}
	out := TestRun{Results: res, Passed: true}
	if err := testsPassed(name, m.Draft, res); err != nil {
		out.Passed, out.Problem = false, err.Error()
	}
	return out, nil
}

// runTests runs module's tests in files, with the other modules' published
// policy files (not their tests) beside them.
func (s *Service) runTests(ctx context.Context, module string, files map[string]string) ([]engine.TestResult, error) {
	all, _, err := s.published(ctx, draft(module, files))
	if err != nil {
		return nil, err
	}
	for name := range all {
		if _, own := files[name]; !own && strings.HasSuffix(name, "_test.rego") {
			delete(all, name)
		}
	}
	res, err := engine.RunTests(ctx, all, s.cfg.Engine)
	if err != nil {
		return nil, compileViolations(err)
	}
	return res, nil
}

// Published is the outcome of a publish or a rollback.
type Published struct {
	Version *ent.PolicyVersion
	Plans   []QueuedPlan
}

// QueuedPlan is a plan queued for a product a publish affects, in one
// environment it is provisioned in.
type QueuedPlan struct {
	Domain, Product string
	Environment     string
	RunID           string
	Skipped         string
}

// Publish makes the module's draft a new immutable version when it
// compiles and its tests pass, switches evaluation to it and queues a plan
// for every provisioned product whose connectors change.
func (s *Service) Publish(ctx context.Context, name, message string, version int64) (Published, error) {
	var v errs.Violations
	if version < 1 {
		v.Add("version", "is required: the draft version you reviewed (optimistic concurrency)")
	}
	return s.publishing(ctx, name, message, &v, func(m *ent.PolicyModule) (Published, error) {
		if m.Version != version {
			return Published{}, errs.Conflict("policy module", name, version, m.Version)
		}
		return s.publish(ctx, m, m.Draft, message, 0)
	})
}

// Rollback publishes an earlier version of a module again, the same way as
// a draft: it must still compile and pass its tests beside the other
// modules. The draft is left as it is, so work in progress is not lost.
func (s *Service) Rollback(ctx context.Context, name string, to int, message string) (Published, error) {
	var v errs.Violations
	if to < 1 {
		v.Add("toVersion", "must be a published version number")
	}
	return s.publishing(ctx, name, message, &v, func(m *ent.PolicyModule) (Published, error) {
		old, err := s.store.Client.PolicyVersion.Query().Where(policyversion.Module(name), policyversion.Number(to)).Only(ctx)
		if ent.IsNotFound(err) {
			return Published{}, errs.NotFound("policy version", fmt.Sprintf("%s@%d", name, to))
		}
		if err != nil {
			return Published{}, err
		}
		if to == m.PublishedVersion {
			return Published{}, errs.New(errs.KindFailedPrecondition, "%s version %d is already published", name, to).WithReason("ALREADY_PUBLISHED")
		}
		return s.publish(ctx, m, old.Files, message, to)
	})
}

// publishing checks what every publish needs — the request's violations
// plus the message, the right to publish — then runs fn on the module with
// publishes serialized.
func (s *Service) publishing(ctx context.Context, name, message string, v *errs.Violations, fn func(*ent.PolicyModule) (Published, error)) (Published, error) {
	checkMessage(v, message)
	if err := v.Err(); err != nil {
		return Published{}, err
	}
	if err := s.authz.Require(ctx, access.AllDomains, ObjPolicy, ActPublish); err != nil {
		return Published{}, err
	}
	s.publishMu.Lock()
	defer s.publishMu.Unlock()
	m, err := s.module(ctx, name)
	if err != nil {
		return Published{}, err
	}
	return fn(m)
}

func checkMessage(v *errs.Violations, message string) {
	switch {
	case strings.TrimSpace(message) == "":
		v.Add("message", "is required: say what changes and why")
	case len(message) > MaxMessage:
		v.Add("message", "must be at most %d characters, got %d", MaxMessage, len(message))
	}
}

// publish checks files, records the version, swaps evaluation and queues
// plans. The caller holds publishMu.
func (s *Service) publish(ctx context.Context, m *ent.PolicyModule, files map[string]string, message string, restoredFrom int) (Published, error) {
	if m.PublishedVersion > 0 && restoredFrom == 0 {
		cur, err := s.store.Client.PolicyVersion.Query().Where(policyversion.Module(m.Name), policyversion.Number(m.PublishedVersion)).Only(ctx)
		if err != nil {
			return Published{}, err
		}
		if cur.Digest == digest(files) {
			return Published{}, errs.New(errs.KindFailedPrecondition, "the draft of %s is version %d as published: nothing to publish", m.Name, m.PublishedVersion).WithReason("NOTHING_TO_PUBLISH")
		}
	}
	last, err := s.store.Client.PolicyVersion.Query().Where(policyversion.Module(m.Name)).Order(ent.Desc(policyversion.FieldNumber)).First(ctx)
	if err != nil && !ent.IsNotFound(err) {
		return Published{}, err
	}
	next := 1
	if last != nil {
		next = last.Number + 1
	}
	// The set compiled here, labelled with the version about to be stored,
	// is the one swapped in after the commit: nothing can fail between the
	// commit and the swap.
	candidate, err := s.compile(ctx, &override{module: m.Name, as: fmt.Sprint(next), files: files})
	if err != nil {
		return Published{}, compileViolations(err)
	}
	results, err := s.runTests(ctx, m.Name, files)
	if err != nil {
		return Published{}, err
	}
	if err := testsPassed(m.Name, files, results); err != nil {
		return Published{}, err
	}
	impact, err := s.evaluateImpact(ctx, m.Name, s.engine.Current(), candidate)
	if err != nil {
		return Published{}, err
	}

	who, _ := actor.From(ctx)
	var ver *ent.PolicyVersion
	err = s.store.Tx(ctx, func(tx *ent.Tx) error {
		ver, err = tx.PolicyVersion.Create().SetModule(m.Name).SetNumber(next).SetFiles(files).SetDigest(digest(files)).
			SetMessage(message).SetPublishedBy(who.Name).SetRestoredFrom(restoredFrom).Save(ctx)
		if err != nil {
			if ent.IsConstraintError(err) {
				return errs.New(errs.KindConflict, "another publish of %s happened at the same time: review and try again", m.Name)
			}
			return err
		}
		n, err := tx.PolicyModule.Update().Where(policymodule.ID(m.ID), policymodule.Version(m.Version)).SetPublishedVersion(next).Save(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			now, err := tx.PolicyModule.Get(ctx, m.ID)
			if err != nil {
				return err
			}
			return errs.Conflict("policy module", m.Name, m.Version, now.Version)
		}
		action := "policy.Publish"
		if restoredFrom > 0 {
			action = "policy.Rollback"
		}
		return audit.Record(ctx, tx, s.store.Dialect, audit.Change{
			Action: action, ResourceType: "policy", Resource: m.Name, Before: moduleSnapshot(m), After: versionSnapshot(ver),
		})
	})
	if err != nil {
		return Published{}, err
	}
	s.engine.Swap(candidate)
	s.log.Info("policy published", "module", m.Name, "version", ver.Number, "policy", candidate.Version(), "by", who.Name)
	// The publish is done: queueing plans must not stop half-way because
	// the caller went away.
	ctx = context.WithoutCancel(ctx)
	return Published{Version: ver, Plans: s.queuePlans(ctx, impact, fmt.Sprintf("policy %s@%d published by %s", m.Name, ver.Number, who.Name))}, nil
}

// testsPassed refuses a module without tests or with a failing test.
func testsPassed(module string, files map[string]string, results []engine.TestResult) error {
	var v errs.Violations
	ran := 0
	for _, r := range results {
		if _, own := files[r.File]; !own {
			continue
		}
		ran++
		if !r.Pass && !r.Skipped {
			v.Add(fmt.Sprintf("tests[%q]", r.Package+"."+r.Name), "failed: %s", strings.TrimSpace(r.Message))
		}
	}
	if ran == 0 {
		v.Add("files", "module %s has no tests: add a %s_test.rego with at least one test", module, module)
	}
	if err := v.Err(); err != nil {
		e := errs.As(err)
		e.Kind, e.Message = errs.KindFailedPrecondition, "the policy's tests do not pass: nothing was published"
		return e.WithReason("POLICY_TESTS_FAILED")
	}
	return nil
}

// queuePlans queues a plan for every provisioned product whose connector
// configuration the publish changed. Plans wait for their owners' review.
func (s *Service) queuePlans(ctx context.Context, impact *Impact, by string) []QueuedPlan {
	// One plan per product and environment whose connectors change.
	type product struct{ domain, name string }
	var order []product
	envs := map[product][]string{}
	for _, c := range impact.Connectors {
		k := product{c.Domain, c.Product}
		if !c.Provisioned || slices.Contains(envs[k], c.Environment) {
			continue
		}
		if envs[k] == nil {
			order = append(order, k)
		}
		envs[k] = append(envs[k], c.Environment)
	}
	var out []QueuedPlan
	for _, k := range order {
		if s.cfg.Planner == nil {
			out = append(out, QueuedPlan{Domain: k.domain, Product: k.name, Skipped: "provisioning is not configured"})
			continue
		}
		for _, r := range s.cfg.Planner.PlanPublished(ctx, k.domain, k.name, by, envs[k]) {
			out = append(out, QueuedPlan{Domain: k.domain, Product: k.name, Environment: r.Environment, RunID: r.RunID, Skipped: r.Skipped})
		}
	}
	return out
}

// ListVersions returns a module's versions, newest first, without files.
func (s *Service) ListVersions(ctx context.Context, name string) ([]*ent.PolicyVersion, error) {
	if err := s.authz.Require(ctx, access.AllDomains, ObjPolicy, ActRead); err != nil {
		return nil, err
	}
	if _, err := s.module(ctx, name); err != nil {
		return nil, err
	}
	vs, err := s.store.Client.PolicyVersion.Query().Where(policyversion.Module(name)).Order(ent.Desc(policyversion.FieldNumber)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing policy versions: %w", err)
	}
	return vs, nil
}

// GetVersion returns one version with its files.
func (s *Service) GetVersion(ctx context.Context, name string, number int) (*ent.PolicyVersion, error) {
	if number < 1 {
		var v errs.Violations
		v.Add("number", "must be a version number, 1 or more, got %d", number)
		return nil, v.Err()
	}
	if err := s.authz.Require(ctx, access.AllDomains, ObjPolicy, ActRead); err != nil {
		return nil, err
	}
	if _, err := s.module(ctx, name); err != nil {
		return nil, err
	}
	v, err := s.store.Client.PolicyVersion.Query().Where(policyversion.Module(name), policyversion.Number(number)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, errs.NotFound("policy version", fmt.Sprintf("%s@%d", name, number))
	}
	if err != nil {
		return nil, fmt.Errorf("reading policy version: %w", err)
	}
	return v, nil
}
