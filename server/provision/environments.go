package provision

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"entgo.io/ent/dialect"

	"github.com/meshplane/meshplane/server/access"
	"github.com/meshplane/meshplane/server/actor"
	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/ent/deployment"
	"github.com/meshplane/meshplane/server/ent/provisioningrun"
	"github.com/meshplane/meshplane/server/errs"
	"github.com/meshplane/meshplane/server/provision/render"
	"github.com/meshplane/meshplane/server/provision/summary"
	"github.com/meshplane/meshplane/server/spec"
)

// Environment is one data plane products are provisioned into — e.g. dev,
// staging, prod — with its own Kafka and Kafka Connect, and the parameters
// its policies read as input.environment.parameters. A product has a
// workspace, Terraform state, runs and drift of its own in each.
type Environment struct {
	Name string
	// Render is what the environment's workspaces are rendered for; its
	// Name must be the environment's.
	Render  render.Environment
	Secrets Secrets
	// DataPlane answers, after a destroy, whether anything is left.
	DataPlane DataPlane
	// Connect operates connectors; nil makes those calls unavailable.
	Connect ConnectAPI
	// Parameters are the environment's policy parameters, e.g.
	// maxRetentionMs, rawPII, allowedSinkKinds, replicationFactor.
	Parameters map[string]any
	// PromoteFrom, when set, are the environments whose applied versions
	// alone may be planned here: a version reaches this environment by
	// promotion, never straight from an edit.
	PromoteFrom []string
	// Sandbox says the data plane is the in-process sandbox.
	Sandbox bool
	// Access marks the environment consumer access goes to when a request
	// or credential names none, and where masked previews read (at most
	// one; the first by default). Consumers may be granted access in every
	// environment.
	Access bool
}

// EnvironmentInfo is what callers may see of an environment: no secrets.
type EnvironmentInfo struct {
	Name              string
	Default           bool
	Access            bool
	Sandbox           bool
	KafkaBootstrap    []string
	ConnectURL        string
	ReplicationFactor int
	Parameters        map[string]any
	PromoteFrom       []string
}

// ReasonNotPromoted refuses a plan in an environment that only takes
// promoted versions; ReasonNotApplied a promotion of a version the source
// environment does not run.
const (
	ReasonNotPromoted = "NOT_PROMOTED"
	ReasonNotApplied  = "NOT_APPLIED_IN_SOURCE"
)

// ListEnvironments lists the configured environments, the default first,
// to any signed-in caller: they hold no secrets.
func (s *Service) ListEnvironments(ctx context.Context) ([]EnvironmentInfo, error) {
	if _, ok := actor.From(ctx); !ok {
		return nil, errs.New(errs.KindUnauthenticated, "sign in to list environments")
	}
	return s.Environments(), nil
}

// Environments lists the configured environments, the default first.
func (s *Service) Environments() []EnvironmentInfo {
	out := make([]EnvironmentInfo, len(s.cfg.Environments))
	for i, e := range s.cfg.Environments {
		out[i] = EnvironmentInfo{Name: e.Name, Default: i == 0, Access: s.isAccess(e.Name), Sandbox: e.Sandbox, KafkaBootstrap: slices.Clone(e.Render.KafkaBootstrap),
			ConnectURL: withoutUserinfo(e.Render.ConnectURL), ReplicationFactor: e.Render.ReplicationFactor, Parameters: maps.Clone(e.Parameters),
			PromoteFrom: slices.Clone(e.PromoteFrom)}
	}
	return out
}

// withoutUserinfo drops credentials a URL may carry.
func withoutUserinfo(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	u.User = nil
	return u.String()
}

// DefaultEnvironment names the environment requests that name none act in;
// consumer access (grants, credentials, previews) lives there too.
func (s *Service) DefaultEnvironment() string { return s.cfg.Environments[0].Name }

// environment returns the named environment, the default one for "".
func (s *Service) environment(name string) (*Environment, error) {
	return s.environmentAt("environment", name)
}

// environmentAt is environment for a name given in field path.
func (s *Service) environmentAt(path, name string) (*Environment, error) {
	if name == "" {
		return &s.cfg.Environments[0], nil
	}
	for i := range s.cfg.Environments {
		if s.cfg.Environments[i].Name == name {
			return &s.cfg.Environments[i], nil
		}
	}
	var v errs.Violations
	v.Add(path, "unknown environment %q: want one of %s", name, s.environmentNames())
	return nil, v.Err()
}

func (s *Service) environmentNames() string {
	names := make([]string, len(s.cfg.Environments))
	for i, e := range s.cfg.Environments {
		names[i] = e.Name
	}
	return strings.Join(names, ", ")
}

// envObject is the object Casbin decides provisioning actions on in an
// environment: a rule on "provision" holds in every environment, one on
// "provision@prod" in prod alone.
func envObject(env string) string { return access.Scoped(ObjProvision, env) }

// isDefault reports whether env is the default environment.
func (s *Service) isDefault(env string) bool { return env == s.cfg.Environments[0].Name }

// AccessEnvironment names the environment consumer access goes to when a
// request names none (and where masked previews read): the one marked
// Access, or the default one.
func (s *Service) AccessEnvironment() string {
	for _, e := range s.cfg.Environments {
		if e.Access {
			return e.Name
		}
	}
	return s.DefaultEnvironment()
}

// isAccess reports whether env is the access environment.
func (s *Service) isAccess(env string) bool { return env == s.AccessEnvironment() }

// Deployment is a product in one environment.
type Deployment struct {
	Environment        string
	ProvisionedVersion *int64
	Drift              []summary.ResourceChange
	DriftCheckTime     *time.Time
}

// Deployments returns where the product is provisioned, one entry per
// configured environment, in configuration order.
func (s *Service) Deployments(ctx context.Context, domain, name string) ([]Deployment, error) {
	p, err := s.product(ctx, domain, name)
	if err != nil {
		return nil, err
	}
	ds, err := s.store.Client.Deployment.Query().Where(deployment.ProductID(p.ID)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading deployments: %w", err)
	}
	out := make([]Deployment, len(s.cfg.Environments))
	for i, e := range s.cfg.Environments {
		out[i].Environment = e.Name
		if j := slices.IndexFunc(ds, func(d *ent.Deployment) bool { return d.Environment == e.Name }); j >= 0 {
			out[i].ProvisionedVersion, out[i].Drift, out[i].DriftCheckTime = ds[j].ProvisionedVersion, ds[j].Drift, ds[j].DriftCheckTime
		}
	}
	return out, nil
}

// deploymentIn reads the product's deployment in env; nil when it has none.
func deploymentIn(ctx context.Context, c *ent.DeploymentClient, productID, env string) (*ent.Deployment, error) {
	d, err := c.Query().Where(deployment.ProductID(productID), deployment.Environment(env)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	return d, err
}

// deployed is what a change does to a product's deployment in an environment.
type deployed struct {
	// version is the applied version; clear says nothing is provisioned.
	version *int64
	clear   bool
	// drift, when set, replaces the recorded drift (an empty slice clears
	// it); checked records when drift was checked.
	drift   *[]summary.ResourceChange
	checked *time.Time
}

// recordDeployment writes ch to p's deployment in env, creating it, and,
// in the default environment, to the product's mirror of it.
func (s *Service) recordDeployment(ctx context.Context, tx *ent.Tx, p *ent.DataProduct, env string, ch deployed) error {
	d, err := deploymentIn(ctx, tx.Deployment, p.ID, env)
	if err != nil {
		return err
	}
	if d == nil {
		if d, err = tx.Deployment.Create().SetProductID(p.ID).SetDomain(p.Domain).SetProduct(p.Name).SetEnvironment(env).Save(ctx); err != nil {
			return err
		}
	}
	du := tx.Deployment.UpdateOne(d)
	pu := tx.DataProduct.UpdateOneID(p.ID)
	switch {
	case ch.clear:
		du.ClearProvisionedVersion()
		pu.ClearProvisionedVersion()
	case ch.version != nil:
		du.SetProvisionedVersion(*ch.version)
		pu.SetProvisionedVersion(*ch.version)
	}
	if ch.drift != nil {
		if len(*ch.drift) == 0 {
			du.ClearDrift()
			pu.ClearDrift()
		} else {
			du.SetDrift(*ch.drift)
			pu.SetDrift(*ch.drift)
		}
	}
	if ch.checked != nil {
		du.SetDriftCheckTime(*ch.checked)
		pu.SetDriftCheckTime(*ch.checked)
	}
	if err := du.Exec(ctx); err != nil {
		return err
	}
	if s.isDefault(env) {
		return pu.Exec(ctx)
	}
	return nil
}

// Promote plans the product in environment to at the version applied in
// environment from. The plan is reviewed and approved in to like any
// other, by whoever the policy requires there.
func (s *Service) Promote(ctx context.Context, domain, name, from, to string) (*ent.ProvisioningRun, error) {
	var v errs.Violations
	spec.CheckName(&v, "domain", domain)
	spec.CheckName(&v, "product", name)
	if from == "" {
		v.Add("from", "must name the environment the version is applied in")
	}
	if to == "" {
		v.Add("to", "must name the environment to promote to")
	} else if to == from {
		v.Add("to", "must differ from from (%q)", from)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	src, err := s.environmentAt("from", from)
	if err != nil {
		return nil, err
	}
	dst, err := s.environmentAt("to", to)
	if err != nil {
		return nil, err
	}
	if len(dst.PromoteFrom) > 0 && !slices.Contains(dst.PromoteFrom, src.Name) {
		v.Add("from", "environment %s takes promotions from %v only", dst.Name, dst.PromoteFrom)
		return nil, v.Err()
	}
	p, err := s.authorized(ctx, domain, name, dst.Name, ActPlan)
	if err != nil {
		return nil, err
	}
	if err := s.authz.Require(ctx, domain, envObject(src.Name), access.ActRead); err != nil {
		return nil, err
	}
	d, err := deploymentIn(ctx, s.store.Client.Deployment, p.ID, src.Name)
	if err != nil {
		return nil, fmt.Errorf("reading the deployment in %s: %w", src.Name, err)
	}
	switch {
	case d == nil || d.ProvisionedVersion == nil:
		return nil, errs.New(errs.KindFailedPrecondition, "%s/%s is not provisioned in %s: apply it there first", domain, name, src.Name).WithReason(ReasonNotApplied)
	case *d.ProvisionedVersion != p.Version:
		return nil, errs.New(errs.KindFailedPrecondition, "%s runs version %d of %s/%s and the product is at version %d: apply version %d in %s first, then promote it",
			src.Name, *d.ProvisionedVersion, domain, name, p.Version, p.Version, src.Name).WithReason(ReasonNotApplied)
	case len(d.Drift) > 0:
		return nil, errs.New(errs.KindFailedPrecondition, "the last drift check in %s found %d resources of %s/%s changed outside meshplane: what runs there is not what was applied",
			src.Name, len(d.Drift), domain, name).WithReason(ReasonNotApplied)
	}
	return s.queue(ctx, p, provisioningrun.KindApply, Trigger{Kind: provisioningrun.TriggerPromotion, By: callerName(ctx),
		Environment: dst.Name, Detail: fmt.Sprintf("version %d promoted from %s", p.Version, src.Name)})
}

// promoted checks that the version a run in env would plan ran in one of
// the environments env takes promotions from (or runs in env already).
func (s *Service) promoted(ctx context.Context, env *Environment, p *ent.DataProduct) error {
	if len(env.PromoteFrom) == 0 {
		return nil
	}
	ds, err := s.store.Client.Deployment.Query().Where(deployment.ProductID(p.ID),
		deployment.EnvironmentIn(append([]string{env.Name}, env.PromoteFrom...)...), deployment.ProvisionedVersion(p.Version)).All(ctx)
	if err != nil {
		return fmt.Errorf("reading deployments: %w", err)
	}
	for _, d := range ds {
		// Running here already, or running unchanged in a source.
		if d.Environment == env.Name || len(d.Drift) == 0 {
			return nil
		}
	}
	return errs.New(errs.KindFailedPrecondition, "version %d of %s/%s has not been applied in %v: environment %s takes promoted versions only",
		p.Version, p.Domain, p.Name, env.PromoteFrom, env.Name).WithReason(ReasonNotPromoted)
}

// Adopt moves what was provisioned before environments existed — runs and
// deployments recorded without an environment, and the workspaces under
// DATA_DIR/workspaces — into the default environment. It runs before the
// job queue starts, so no run sees half of it. The default environment
// must then be named as the one data plane was ("sandbox", or "production"
// for a configured cluster): Terraform's pg state schemas and Debezium's
// replication slots carry that name.
func (s *Service) Adopt(ctx context.Context) error {
	env := s.cfg.Environments[0]
	// What would be lost under another name: an applied version, a run
	// under way or awaiting review, a workspace with its state.
	var live int
	for _, q := range []string{
		"SELECT COUNT(*) FROM deployments WHERE environment = '' AND provisioned_version IS NOT NULL",
		"SELECT COUNT(*) FROM provisioning_runs WHERE environment = '' AND state IN ('queued', 'planning', 'planned', 'applying')",
	} {
		var n int
		if err := s.store.DB.QueryRowContext(ctx, q).Scan(&n); err != nil {
			return fmt.Errorf("adopting what was provisioned before environments: %w", err)
		}
		live += n
	}
	if _, err := os.Stat(filepath.Join(s.cfg.DataDir, "workspaces")); err == nil {
		live++
	}
	legacy := LegacyProduction
	if env.Sandbox {
		legacy = LegacySandbox
	}
	if live > 0 && env.Name != legacy {
		return fmt.Errorf("the catalog holds products provisioned before environments existed: name the first environment %q, as its data plane "+
			"(%s) was named then, so that their Terraform state and replication slots are found again", legacy, map[bool]string{true: "the embedded sandbox", false: "a configured cluster"}[env.Sandbox])
	}
	// The environment is immutable to everything else, so this is SQL.
	// Numbered, so that one argument serves a statement naming it twice.
	arg := "?1"
	if s.store.Dialect == dialect.Postgres {
		arg = "$1"
	}
	for _, table := range []string{"provisioning_runs", "deployments"} {
		res, err := s.store.DB.ExecContext(ctx, "UPDATE "+table+" SET environment = "+arg+" WHERE environment = ''", env.Name)
		if err != nil {
			return fmt.Errorf("adopting %s into environment %s: %w", table, env.Name, err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			s.log.Info("rows from before environments adopted", "table", table, "environment", env.Name, "rows", n)
		}
	}
	if err := s.adoptWorkspaces(env.Name); err != nil {
		return fmt.Errorf("adopting the workspaces from before environments: %w", err)
	}
	return s.adoptAccess(ctx, arg)
}

// adoptAccess moves consumer access recorded before grants had an
// environment — requests, grants and Kafka credentials — into the access
// environment, where it then lived; a live grant's key gains the
// environment, as liveKey spells it. One transaction, and each row changed
// by one statement that also clears what selects it: replicas adopting at
// once, or a start cut short, never append the environment twice.
func (s *Service) adoptAccess(ctx context.Context, arg string) error {
	env := s.AccessEnvironment()
	tx, err := s.store.DB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, table := range []string{"grants", "access_requests", "kafka_credentials"} {
		// One type for the parameter wherever it stands (PostgreSQL infers one).
		name := "CAST(" + arg + " AS TEXT)"
		set := "environment = " + name
		if table == "grants" {
			set += ", live_key = CASE WHEN live_key IS NULL THEN NULL ELSE live_key || '|' || " + name + " END"
		}
		res, err := tx.ExecContext(ctx, "UPDATE "+table+" SET "+set+" WHERE environment = ''", env)
		if err != nil {
			return fmt.Errorf("adopting %s into environment %s: %w", table, env, err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			s.log.Info("consumer access from before environments adopted", "table", table, "environment", env, "rows", n)
		}
	}
	return tx.Commit()
}

// Names the one data plane had before environments existed.
const (
	LegacySandbox    = "sandbox"
	LegacyProduction = "production"
)

// adoptWorkspaces moves each DATA_DIR/workspaces/<domain>/<product> — local
// Terraform state included — to the default environment's workspaces. A
// product with a workspace in both places is refused, never overwritten.
func (s *Service) adoptWorkspaces(env string) error {
	old := filepath.Join(s.cfg.DataDir, "workspaces")
	domains, err := os.ReadDir(old)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, d := range domains {
		if !d.IsDir() {
			s.log.Warn("left alone: not a workspace directory", "path", filepath.Join(old, d.Name()))
			continue
		}
		products, err := os.ReadDir(filepath.Join(old, d.Name()))
		if err != nil {
			return err
		}
		for _, p := range products {
			if !p.IsDir() {
				s.log.Warn("left alone: not a workspace directory", "path", filepath.Join(old, d.Name(), p.Name()))
				continue
			}
			from, to := filepath.Join(old, d.Name(), p.Name()), s.workspaceDir(env, d.Name(), p.Name())
			if _, err := os.Stat(to); err == nil {
				return fmt.Errorf("the workspace of %s/%s is both in %s and in %s: keep the one whose terraform.tfstate is current and remove the other", d.Name(), p.Name(), from, to)
			}
			if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
				return err
			}
			if err := os.Rename(from, to); err != nil {
				return err
			}
		}
		// Empty now, unless something was left alone.
		_ = os.Remove(filepath.Join(old, d.Name()))
	}
	s.log.Info("workspaces from before environments moved", "environment", env, "from", old)
	_ = os.Remove(old)
	return nil
}
