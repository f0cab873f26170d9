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
	"github.com/meshplane/meshplane/server/audit"
	"github.com/meshplane/meshplane/server/ent"
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
const SystemActor = "meshplane"

// Planner queues plans for products a policy change affects.
type Planner interface {
	PlanForPolicy(ctx context.Context, domain, name, by string) (*ent.ProvisioningRun, error)
}

// Config configures the policy service.
type Config struct {
	Store  *store.Store
	Authz  *access.Authorizer
	Logger *slog.Logger
	// Salts derives masking salts; its key never leaves the server.
	Salts Salts
	// Engine options: the evaluation timeout.
	Engine engine.Options
	// Defaults are the modules' files seeded as version 1 into an empty
	// catalog; engine.Defaults() when nil.
	Defaults engine.Files
}

// Validate checks that every required dependency is present.
func (c Config) Validate() error {
	if c.Store == nil || c.Authz == nil || c.Logger == nil || len(c.Salts.key) == 0 {
		return fmt.Errorf("policy config needs Store, Authz, Logger and Salts")
	}
	return nil
}

// Service is the one code path for policies behind every door.
type Service struct {
	cfg    Config
	store  *store.Store
	authz  *access.Authorizer
	log    *slog.Logger
	engine *engine.Engine
	// publishMu serializes publishes on this replica; the unique
	// (module, number) index serializes them across replicas.
	publishMu sync.Mutex
	planner   Planner
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
	return &Service{cfg: c, store: c.Store, authz: c.Authz, log: c.Logger}, nil
}

// SetPlanner sets who queues plans after a publish; provisioning depends on
// policy, so it is wired after both exist.
func (s *Service) SetPlanner(p Planner) { s.planner = p }

// Start seeds the default policy modules into an empty catalog, loads the
// stored role definitions and compiles the published policy.
func (s *Service) Start(ctx context.Context) error {
	if err := s.seed(ctx); err != nil {
		return err
	}
	if err := s.loadRBAC(ctx); err != nil {
		return err
	}
	set, err := s.compilePublished(ctx, "", nil)
	if err != nil {
		// Start anyway, with no policy: every admission is refused and every
		// pii or sensitive field dropped until an officer publishes or rolls
		// back to a version that compiles.
		s.log.Error("the published policy does not compile: every product is refused until a version that compiles is published", "err", err)
		set = nil
	}
	s.engine = engine.NewEngine(set)
	return nil
}

// Refresh picks up what another replica published or edited since: the
// policy is recompiled only when its versions changed, and stored role
// definitions are put in force when they differ from those held.
func (s *Service) Refresh(ctx context.Context) error {
	if err := s.loadRBAC(ctx); err != nil {
		return err
	}
	label, _, err := s.publishedLabel(ctx)
	if err != nil {
		return err
	}
	if cur := s.engine.Current(); cur != nil && cur.Version() == label {
		return nil
	}
	s.publishMu.Lock()
	defer s.publishMu.Unlock()
	set, err := s.compilePublished(ctx, "", nil)
	if err != nil {
		return err
	}
	s.engine.Swap(set)
	return nil
}

// Current returns the policy evaluation uses now.
func (s *Service) Current() *engine.Set { return s.engine.Current() }

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

// seed stores the default modules as published version 1 when the catalog
// has no modules yet.
func (s *Service) seed(ctx context.Context) error {
	n, err := s.store.Client.PolicyModule.Query().Count(ctx)
	if err != nil || n > 0 {
		return err
	}
	byModule := map[string]engine.Files{}
	for name, src := range s.cfg.Defaults {
		m := moduleOf(name)
		if byModule[m] == nil {
			byModule[m] = engine.Files{}
		}
		byModule[m][name] = src
	}
	err = s.store.Tx(ctx, func(tx *ent.Tx) error {
		for _, m := range slices.Sorted(maps.Keys(byModule)) {
			files := map[string]string(byModule[m])
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

// published returns the published files of every module, replacing module
// `replace` by files when replace is not empty; the label names it as draft.
func (s *Service) published(ctx context.Context, replace string, files engine.Files) (engine.Files, string, error) {
	return s.publishedAs(ctx, replace, files, "draft")
}

// publishedAs is published with the replaced module labelled module@as.
func (s *Service) publishedAs(ctx context.Context, replace string, files engine.Files, as string) (engine.Files, string, error) {
	mods, err := s.store.Client.PolicyModule.Query().Order(ent.Asc(policymodule.FieldName)).All(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("reading policy modules: %w", err)
	}
	all := engine.Files{}
	var labels []string
	for _, m := range mods {
		if m.Name == replace {
			maps.Copy(all, files)
			labels = append(labels, m.Name+"@"+as)
			continue
		}
		if m.PublishedVersion == 0 {
			continue
		}
		v, err := s.store.Client.PolicyVersion.Query().
			Where(policyversion.Module(m.Name), policyversion.Number(m.PublishedVersion)).Only(ctx)
		if err != nil {
			return nil, "", fmt.Errorf("reading %s version %d: %w", m.Name, m.PublishedVersion, err)
		}
		maps.Copy(all, v.Files)
		labels = append(labels, fmt.Sprintf("%s@%d", m.Name, m.PublishedVersion))
	}
	if replace != "" && !slices.ContainsFunc(mods, func(m *ent.PolicyModule) bool { return m.Name == replace }) {
		maps.Copy(all, files)
		labels = append(labels, replace+"@"+as)
		slices.Sort(labels)
	}
	return all, strings.Join(labels, ","), nil
}

// publishedLabel returns the label of the published policy, e.g. "admission@2,masking@1".
func (s *Service) publishedLabel(ctx context.Context) (string, []*ent.PolicyModule, error) {
	mods, err := s.store.Client.PolicyModule.Query().Order(ent.Asc(policymodule.FieldName)).All(ctx)
	if err != nil {
		return "", nil, err
	}
	var labels []string
	for _, m := range mods {
		if m.PublishedVersion > 0 {
			labels = append(labels, fmt.Sprintf("%s@%d", m.Name, m.PublishedVersion))
		}
	}
	return strings.Join(labels, ","), mods, nil
}

// compilePublished compiles the published policy, with module replace's
// files swapped for files when replace is set.
func (s *Service) compilePublished(ctx context.Context, replace string, files engine.Files) (*engine.Set, error) {
	return s.compileAs(ctx, replace, files, "draft")
}

// compileAs is compilePublished with the replaced module labelled module@as.
func (s *Service) compileAs(ctx context.Context, replace string, files engine.Files, as string) (*engine.Set, error) {
	all, label, err := s.publishedAs(ctx, replace, files, as)
	if err != nil {
		return nil, err
	}
	return engine.Compile(ctx, label, all, s.cfg.Engine)
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
