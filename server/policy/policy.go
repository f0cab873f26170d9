// Package policy is where governance lives: Rego modules that governance
// officers draft, test, measure and publish as immutable versions; the
// published policy judging every product write and every plan (admission)
// and deciding how each field is masked in the connectors; the decision
// log; and the Casbin role definitions officers may edit.
package policy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/meshplane/meshplane/server/access"
	"github.com/meshplane/meshplane/server/actor"
	"github.com/meshplane/meshplane/server/audit"
	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/ent/auditevent"
	"github.com/meshplane/meshplane/server/ent/policymodule"
	"github.com/meshplane/meshplane/server/ent/policyversion"
	"github.com/meshplane/meshplane/server/errs"
	"github.com/meshplane/meshplane/server/policy/engine"
	"github.com/meshplane/meshplane/server/store"
)

// Object type and actions Casbin decides on for policies and role definitions.
const (
	ObjPolicy  = "policy"
	ObjRBAC    = "rbac"
	ActRead    = "read"
	ActDraft   = "draft"
	ActTest    = "test"
	ActPublish = "publish"
	ActUpdate  = "update"
)

// SystemActor names meshplane itself in catalogs and audit events.
var SystemActor = actor.Meshplane.Name

// Planner queues plans of a product a publish changed, one in each of
// envs, through the one entry point every trigger of a run uses, and says
// for each environment which run it queued or why none.
type Planner interface {
	PlanPublished(ctx context.Context, domain, name, detail string, envs []string) []engine.PlannedRun
}

// Config configures the policy service.
type Config struct {
	Store  *store.Store
	Authz  *access.Authorizer
	Logger *slog.Logger
	// Governor judges with the published policy; publishing puts a new
	// version in force there.
	Governor *Governor
	// Planner plans the products a publish changes; none when nil.
	Planner Planner
	// Environments are the environments products are provisioned into,
	// with their parameters: a product is judged for each it runs in.
	Environments []engine.Environment
	// Engine options: the evaluation timeout of drafts' tests and of the
	// versions compiled here.
	Engine engine.Options
	// Defaults are the modules' files seeded as version 1 into an empty
	// catalog; engine.Defaults() when nil.
	Defaults engine.Files
}

// Validate checks that every required dependency is present.
func (c Config) Validate() error {
	if c.Store == nil || c.Authz == nil || c.Logger == nil || c.Governor == nil {
		return fmt.Errorf("policy config needs Store, Authz, Logger and Governor")
	}
	return nil
}

// Service is the one code path for policies behind every door: what
// officers draft, test, measure and publish, and the Governor's judgements.
type Service struct {
	*Governor
	cfg   Config
	authz *access.Authorizer
	// publishMu serializes publishes on this replica; the unique
	// (module, number) index serializes them across replicas.
	publishMu sync.Mutex
}

// New returns the policy service. Call Start before use: it seeds the
// default modules and compiles the published ones.
func New(c Config) (*Service, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.Defaults == nil {
		c.Defaults = engine.Defaults()
	}
	return &Service{Governor: c.Governor, cfg: c, authz: c.Authz}, nil
}

// Start seeds the default policy modules into an empty catalog, loads the
// stored role definitions and compiles the published policy.
func (s *Service) Start(ctx context.Context) error {
	if err := s.seed(ctx); err != nil {
		return err
	}
	if err := s.loadRBAC(ctx); err != nil {
		return err
	}
	set, err := s.compile(ctx, nil)
	if err != nil {
		// Start anyway, with no policy: every admission is refused and every
		// pii or sensitive field dropped until an officer publishes or rolls
		// back to a version that compiles.
		s.log.Error("the published policy does not compile: every product is refused until a version that compiles is published", "err", err)
		set = nil
	}
	s.engine.Swap(set)
	return nil
}

// Refresh picks up what another replica published or edited since: the
// policy is recompiled only when its versions changed, and stored role
// definitions are put in force when they differ from those held.
func (s *Service) Refresh(ctx context.Context) error {
	if err := s.loadRBAC(ctx); err != nil {
		return err
	}
	mods, err := s.modules(ctx)
	if err != nil {
		return err
	}
	if cur := s.engine.Current(); cur != nil && cur.Version() == label(mods, nil) {
		return nil
	}
	s.publishMu.Lock()
	defer s.publishMu.Unlock()
	set, err := s.compile(ctx, nil)
	if err != nil {
		return err
	}
	s.engine.Swap(set)
	return nil
}

// moduleNameRe is the form of module names. File names are the module's
// name, then optionally "_" and a suffix: with no "_" in module names, every
// file name belongs to exactly one module.
var moduleNameRe = regexp.MustCompile(`^[a-z][a-z0-9]{0,62}$`)

// Limits on what a module may hold.
const (
	MaxFiles     = 32
	MaxFileBytes = 256 << 10
	MaxMessage   = 2000
)

// moduleOf returns the module a default file belongs to: its name up to the
// first "_" or ".".
func moduleOf(file string) string {
	return strings.FieldsFunc(file, func(r rune) bool { return r == '_' || r == '.' })[0]
}

// seed stores each default module the catalog does not have yet as its
// published version 1: a new catalog gets them all, an older one the
// modules added since it was created. It then proposes the defaults of
// this release where they changed (proposeDefaults).
func (s *Service) seed(ctx context.Context) error {
	mods, err := s.modules(ctx)
	if err != nil {
		return err
	}
	defaults := map[string]engine.Files{}
	for name, src := range s.cfg.Defaults {
		m := moduleOf(name)
		if defaults[m] == nil {
			defaults[m] = engine.Files{}
		}
		defaults[m][name] = src
	}
	byModule := maps.Clone(defaults)
	for _, m := range mods {
		delete(byModule, m.Name)
	}
	s.proposeDefaults(ctx, mods, defaults)
	if len(byModule) == 0 {
		return nil
	}
	err = s.store.Tx(ctx, func(tx *ent.Tx) error {
		for _, m := range slices.Sorted(maps.Keys(byModule)) {
			files := byModule[m]
			mod, err := tx.PolicyModule.Create().SetName(m).SetDescription("default " + m + " policy").
				SetDraft(files).SetDraftUpdatedBy(SystemActor).SetPublishedVersion(1).Save(ctx)
			if err != nil {
				return err
			}
			v, err := tx.PolicyVersion.Create().SetModule(m).SetNumber(1).SetFiles(files).SetDigest(digest(files)).
				SetMessage("default policy").SetPublishedBy(SystemActor).Save(ctx)
			if err != nil {
				return err
			}
			if err := audit.Record(ctx, tx, s.store.Dialect, audit.Change{
				Action: "policy.Publish", ResourceType: "policy", Resource: m, After: versionSnapshot(v), Before: moduleSnapshot(mod),
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if ent.IsConstraintError(err) {
		return nil // another replica seeded first
	}
	return err
}

// proposeDefaults stores this release's default files as the draft of each
// module still running meshplane's own earlier default (published by
// meshplane, never by a governance officer) when they differ: a governance
// officer reviews the draft's impact and publishes it, so no decision
// changes by an upgrade alone. Each release's defaults are proposed once:
// an officer who saves the draft back has turned the proposal down for
// good. A draft someone else is editing is left alone, as is a module a
// governance officer has published; a proposal this release no longer
// makes (the defaults went back to what is published) is withdrawn. A
// proposal is advice: one that cannot be stored is logged, not fatal.
func (s *Service) proposeDefaults(ctx context.Context, mods []*ent.PolicyModule, defaults map[string]engine.Files) {
	for _, m := range mods {
		files, ok := defaults[m.Name]
		if !ok || m.PublishedVersion == 0 || digest(m.Draft) == digest(files) {
			continue
		}
		if err := s.propose(ctx, m, files); err != nil {
			s.log.Warn("proposing this release's default policy", "module", m.Name, "error", err)
		}
	}
}

// propose stores files, this release's defaults, as m's draft when
// proposeDefaults says so.
func (s *Service) propose(ctx context.Context, m *ent.PolicyModule, files engine.Files) error {
	v, err := s.store.Client.PolicyVersion.Query().Where(policyversion.Module(m.Name), policyversion.Number(m.PublishedVersion)).Only(ctx)
	if err != nil {
		return fmt.Errorf("reading policy %s@%d: %w", m.Name, m.PublishedVersion, err)
	}
	ours := m.DraftUpdatedBy == SystemActor
	if v.PublishedBy != SystemActor || !(ours || digest(m.Draft) == v.Digest) {
		return nil
	}
	draft, what := files, "proposed"
	if v.Digest == digest(files) {
		if !ours {
			return nil
		}
		// Withdrawn: the release's defaults are what is published.
		draft, what = v.Files, "withdrawn"
	} else {
		proposed, err := s.store.Client.AuditEvent.Query().Where(auditevent.Action("policy.SaveDraft"), auditevent.Actor(SystemActor),
			auditevent.Resource(m.Name), auditevent.AfterContains(`"draftDigest":"`+digest(files)+`"`)).Exist(ctx)
		if err != nil || proposed {
			return err
		}
	}
	wrote := false
	err = s.store.Tx(ctx, func(tx *ent.Tx) error {
		// Neither an officer's save (version) nor publish (published
		// version) may have come in between.
		n, err := tx.PolicyModule.Update().Where(policymodule.ID(m.ID), policymodule.Version(m.Version), policymodule.PublishedVersion(m.PublishedVersion)).
			SetDraft(draft).SetDraftUpdatedBy(SystemActor).AddVersion(1).Save(ctx)
		if err != nil || n == 0 {
			return err
		}
		out, err := tx.PolicyModule.Get(ctx, m.ID)
		if err != nil {
			return err
		}
		wrote = true
		return audit.Record(actor.With(ctx, actor.Meshplane), tx, s.store.Dialect, audit.Change{Action: "policy.SaveDraft", ResourceType: "policy",
			Resource: m.Name, Before: moduleSnapshot(m), After: moduleSnapshot(out)})
	})
	if err == nil && wrote {
		s.log.Warn("the default policy changed in this release: meshplane "+what+" its rules as the module's draft, for a governance officer's review",
			"module", m.Name, "published", m.PublishedVersion)
	}
	return err
}

// override stands one module's files in for its published version, as
// module@as in the policy's label ("draft", or the number it will get).
type override struct {
	module, as string
	files      engine.Files
}

// label names the published versions of mods, with o standing in.
func label(mods []*ent.PolicyModule, o *override) string {
	var labels []string
	for _, m := range mods {
		switch {
		case o != nil && m.Name == o.module:
			labels = append(labels, m.Name+"@"+o.as)
		case m.PublishedVersion > 0:
			labels = append(labels, fmt.Sprintf("%s@%d", m.Name, m.PublishedVersion))
		}
	}
	if o != nil && !slices.ContainsFunc(mods, func(m *ent.PolicyModule) bool { return m.Name == o.module }) {
		labels = append(labels, o.module+"@"+o.as)
		slices.Sort(labels)
	}
	return strings.Join(labels, ",")
}

func (s *Service) modules(ctx context.Context) ([]*ent.PolicyModule, error) {
	mods, err := s.store.Client.PolicyModule.Query().Order(ent.Asc(policymodule.FieldName)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading policy modules: %w", err)
	}
	return mods, nil
}

// published returns the published files of every module, with o standing
// in for its module when not nil, and the label of that policy.
func (s *Service) published(ctx context.Context, o *override) (engine.Files, string, error) {
	mods, err := s.modules(ctx)
	if err != nil {
		return nil, "", err
	}
	all := engine.Files{}
	for _, m := range mods {
		if m.PublishedVersion == 0 || (o != nil && m.Name == o.module) {
			continue
		}
		v, err := s.store.Client.PolicyVersion.Query().
			Where(policyversion.Module(m.Name), policyversion.Number(m.PublishedVersion)).Only(ctx)
		if err != nil {
			return nil, "", fmt.Errorf("reading %s version %d: %w", m.Name, m.PublishedVersion, err)
		}
		maps.Copy(all, v.Files)
	}
	if o != nil {
		maps.Copy(all, o.files)
	}
	return all, label(mods, o), nil
}

// compile compiles the published policy, with o standing in when not nil.
func (s *Service) compile(ctx context.Context, o *override) (*engine.Set, error) {
	all, label, err := s.published(ctx, o)
	if err != nil {
		return nil, err
	}
	return engine.Compile(ctx, label, all, s.cfg.Engine)
}

// draft is the override of module by its draft files.
func draft(module string, files engine.Files) *override {
	return &override{module: module, as: "draft", files: files}
}

// digest is the SHA-256 of files, names and contents in name order.
func digest(files map[string]string) string {
	h := sha256.New()
	for _, name := range slices.Sorted(maps.Keys(files)) {
		fmt.Fprintf(h, "%d:%s%d:%s", len(name), name, len(files[name]), files[name])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// compileViolations turns compile problems into field violations on the
// files they concern, with file:line:col in the message.
func compileViolations(err error) error {
	var ce *engine.CompileError
	if !errors.As(err, &ce) {
		return err
	}
	var v errs.Violations
	for _, p := range ce.Problems {
		path := "files"
		if p.File != "" {
			path = fmt.Sprintf("files[%q]", p.File)
		}
		v.Add(path, "%s", p.String())
	}
	if v.Len() == 0 {
		v.Add("files", "%s", err.Error())
	}
	e := errs.As(v.Err())
	e.Message = "the policy does not compile"
	return e.WithReason("POLICY_COMPILE_ERROR")
}

// moduleSnapshot and versionSnapshot are what audit events record.
func moduleSnapshot(m *ent.PolicyModule) map[string]any {
	return map[string]any{"name": m.Name, "version": m.Version, "publishedVersion": m.PublishedVersion, "draftDigest": digest(m.Draft)}
}

func versionSnapshot(v *ent.PolicyVersion) map[string]any {
	return map[string]any{"module": v.Module, "number": v.Number, "digest": v.Digest, "message": v.Message,
		"publishedBy": v.PublishedBy, "restoredFrom": v.RestoredFrom, "files": slices.Sorted(maps.Keys(v.Files))}
}

func now() time.Time { return time.Now().UTC() }
