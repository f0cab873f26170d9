// Package identity manages principals, their API tokens and role bindings,
// and authenticates bearer tokens.
package identity

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/meshplane/meshplane/server/access"
	"github.com/meshplane/meshplane/server/actor"
	"github.com/meshplane/meshplane/server/audit"
	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/ent/predicate"
	"github.com/meshplane/meshplane/server/ent/principal"
	"github.com/meshplane/meshplane/server/ent/rolebinding"
	"github.com/meshplane/meshplane/server/ent/token"
	"github.com/meshplane/meshplane/server/errs"
	"github.com/meshplane/meshplane/server/page"
	"github.com/meshplane/meshplane/server/spec"
	"github.com/meshplane/meshplane/server/store"
)

// Token lifetimes.
const (
	DefaultTokenTTL = 90 * 24 * time.Hour
	MaxTokenTTL     = 2 * 365 * 24 * time.Hour
	AdminTokenTTL   = 365 * 24 * time.Hour
)

// authCacheTTL bounds how long a verified token is trusted without a database
// read. Revocation on this replica takes effect at once; on other replicas within this TTL.
const authCacheTTL = 10 * time.Second

// Config configures the identity service.
type Config struct {
	Store  *store.Store
	Authz  *access.Authorizer
	Logger *slog.Logger
	// Now returns the current time; tests may replace it.
	Now func() time.Time
}

// Validate checks that every required dependency is present.
func (c Config) Validate() error {
	var missing []string
	if c.Store == nil {
		missing = append(missing, "Store")
	}
	if c.Authz == nil {
		missing = append(missing, "Authz")
	}
	if c.Logger == nil {
		missing = append(missing, "Logger")
	}
	if len(missing) > 0 {
		return fmt.Errorf("identity config is missing %v", missing)
	}
	return nil
}

// Service manages principals, tokens and role bindings.
type Service struct {
	store *store.Store
	authz *access.Authorizer
	log   *slog.Logger
	now   func() time.Time
	mu    sync.Mutex
	cache map[string]cachedToken
}

type cachedToken struct {
	who      actor.Actor
	expires  time.Time // of the token itself
	verified time.Time
}

// New returns the identity service.
func New(c Config) (*Service, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Service{store: c.Store, authz: c.Authz, log: c.Logger, now: c.Now, cache: map[string]cachedToken{}}, nil
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Authenticate resolves a bearer token to its principal. Unknown, expired and
// revoked tokens, and tokens of disabled principals, are all Unauthenticated.
func (s *Service) Authenticate(ctx context.Context, secret string) (actor.Actor, error) {
	denied := errs.New(errs.KindUnauthenticated, "missing, invalid, expired or revoked token")
	if !wellFormed(secret) {
		return actor.Actor{}, denied
	}
	hash := hashSecret(secret)
	now := s.now()
	s.mu.Lock()
	c, ok := s.cache[hash]
	s.mu.Unlock()
	if ok && now.Sub(c.verified) < authCacheTTL && now.Before(c.expires) {
		return c.who, nil
	}
	t, err := s.store.Client.Token.Query().Where(token.Hash(hash)).WithPrincipal().Only(ctx)
	if ent.IsNotFound(err) {
		return actor.Actor{}, denied
	}
	if err != nil {
		return actor.Actor{}, fmt.Errorf("looking up token: %w", err)
	}
	p := t.Edges.Principal
	if t.RevokeTime != nil || !now.Before(t.ExpireTime) || p == nil || p.Disabled {
		return actor.Actor{}, denied
	}
	who := actor.Actor{ID: p.ID, Name: p.Name, Kind: actor.Kind(p.Kind), Domain: p.Domain, TokenID: t.ID}
	s.mu.Lock()
	if len(s.cache) > 100_000 {
		clear(s.cache)
	}
	s.cache[hash] = cachedToken{who: who, expires: t.ExpireTime, verified: now}
	s.mu.Unlock()
	if t.LastUsedTime == nil || now.Sub(*t.LastUsedTime) > time.Minute {
		// Best effort and off the request path: a busy catalog must not fail
		// a read because the last-used stamp could not be written.
		go func(id string, at time.Time) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := s.store.Client.Token.UpdateOneID(id).SetLastUsedTime(at).Exec(ctx); err != nil {
				s.log.Debug("recording token use", "token", id, "error", err)
			}
		}(t.ID, now.UTC().Truncate(time.Microsecond))
	}
	return who, nil
}

func (s *Service) forgetTokens() {
	s.mu.Lock()
	clear(s.cache)
	s.mu.Unlock()
}

// ReloadBindings loads every role binding from the catalog into the authorizer.
func (s *Service) ReloadBindings(ctx context.Context) error {
	all, err := s.store.Client.RoleBinding.Query().Order(ent.Asc(rolebinding.FieldID)).All(ctx)
	if err != nil {
		return fmt.Errorf("reading role bindings: %w", err)
	}
	bindings := make([]access.Binding, len(all))
	for i, b := range all {
		bindings[i] = access.Binding{Principal: b.Principal, Role: b.Role, Domain: b.Domain}
	}
	return s.authz.Load(bindings)
}

// Bootstrap creates the initial admin principal, binds it platform-admin in
// every domain and writes a token to dataDir/admin.token (mode 0600) — only
// when the catalog has no principal yet. It returns the file's path, or "".
func (s *Service) Bootstrap(ctx context.Context, dataDir string) (string, error) {
	ctx = actor.With(ctx, actor.System)
	n, err := s.store.Client.Principal.Query().Count(ctx)
	if err != nil {
		return "", fmt.Errorf("counting principals: %w", err)
	}
	if n > 0 {
		return "", nil
	}
	secret := newSecret()
	err = s.store.Tx(ctx, func(tx *ent.Tx) error {
		p, err := tx.Principal.Create().SetName("admin").SetKind(principal.KindUser).
			SetDisplayName("Initial administrator").Save(ctx)
		if err != nil {
			return err
		}
		b, err := tx.RoleBinding.Create().SetPrincipal(p.Name).SetRole(access.RolePlatformAdmin).
			SetDomain(access.AllDomains).SetCreatedBy(actor.System.Name).Save(ctx)
		if err != nil {
			return err
		}
		t, err := tx.Token.Create().SetPrincipalID(p.ID).SetHash(hashSecret(secret)).
			SetDescription("initial admin token").SetExpireTime(s.clock().Add(AdminTokenTTL)).Save(ctx)
		if err != nil {
			return err
		}
		for _, c := range []audit.Change{
			{Action: "identity.CreatePrincipal", ResourceType: "principal", Resource: p.Name, After: p},
			{Action: "identity.CreateRoleBinding", ResourceType: "rolebinding", Resource: b.ID, After: b},
			{Action: "identity.CreateToken", ResourceType: "token", Resource: t.ID, After: t},
		} {
			if err := audit.Record(ctx, tx, s.store.Dialect, c); err != nil {
				return err
			}
		}
		// Written inside the transaction: if the file cannot be written, no
		// admin exists and the next start tries again.
		return writeSecretFile(filepath.Join(dataDir, "admin.token"), secret)
	})
	if err != nil {
		return "", fmt.Errorf("bootstrapping admin: %w", err)
	}
	return filepath.Join(dataDir, "admin.token"), s.ReloadBindings(ctx)
}

func writeSecretFile(path, secret string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(secret+"\n"), 0o600); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// principalDomain is the domain in which actions on p are authorized.
func principalDomain(p *ent.Principal) string {
	if p.Domain != "" {
		return p.Domain
	}
	return access.AllDomains
}

// WhoAmI returns the caller and its role bindings.
func (s *Service) WhoAmI(ctx context.Context) (*ent.Principal, []*ent.RoleBinding, error) {
	who, ok := actor.From(ctx)
	if !ok {
		return nil, nil, errs.New(errs.KindUnauthenticated, "not authenticated")
	}
	p, err := s.store.Client.Principal.Query().Where(principal.Name(who.Name)).Only(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("reading caller: %w", err)
	}
	bs, err := s.store.Client.RoleBinding.Query().Where(rolebinding.Principal(who.Name)).
		Order(ent.Asc(rolebinding.FieldDomain), ent.Asc(rolebinding.FieldRole)).All(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("reading caller's bindings: %w", err)
	}
	return p, bs, nil
}

// CreatePrincipalInput describes a new principal.
type CreatePrincipalInput struct {
	Name        string
	Kind        string
	DisplayName string
	Email       string
	Domain      string
}

// CreatePrincipal registers a user (platform-admin) or a service account
// (owned by a domain, creatable by that domain's owners).
func (s *Service) CreatePrincipal(ctx context.Context, in CreatePrincipalInput) (*ent.Principal, error) {
	var v errs.Violations
	spec.CheckName(&v, "name", in.Name)
	if actor.Reserved(in.Name) {
		v.Add("name", "%q names meshplane itself in approvals and audit events: choose another", in.Name)
	}
	switch in.Kind {
	case string(principal.KindUser):
		if in.Domain != "" {
			v.Add("domain", "users belong to no domain: bind them to domains with role bindings")
		}
	case string(principal.KindServiceAccount):
		if in.Domain != "" {
			spec.CheckName(&v, "domain", in.Domain)
		}
	case "":
		v.Add("kind", "is required (user or service-account)")
	default:
		v.Add("kind", "must be user or service-account, got %q", in.Kind)
	}
	if len(in.DisplayName) > 256 {
		v.Add("displayName", "must be at most 256 characters")
	}
	spec.CheckDescription(&v, "displayName", in.DisplayName)
	if len(in.Email) > 254 || (in.Email != "" && !validEmail(in.Email)) {
		v.Add("email", "must be an e-mail address")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	dom := access.AllDomains
	if in.Domain != "" {
		dom = in.Domain
	}
	if err := s.authz.Require(ctx, dom, access.ObjPrincipal, access.ActCreate); err != nil {
		return nil, err
	}
	var out *ent.Principal
	err := s.store.Tx(ctx, func(tx *ent.Tx) error {
		if in.Domain != "" {
			if err := store.RequireDomain(ctx, tx, in.Domain); err != nil {
				return err
			}
		}
		exists, err := tx.Principal.Query().Where(principal.Name(in.Name)).Exist(ctx)
		if err != nil {
			return err
		}
		if exists {
			return errs.New(errs.KindAlreadyExists, "principal %q already exists", in.Name)
		}
		out, err = tx.Principal.Create().SetName(in.Name).SetKind(principal.Kind(in.Kind)).
			SetDisplayName(in.DisplayName).SetEmail(in.Email).SetDomain(in.Domain).Save(ctx)
		if err != nil {
			return store.AlreadyExists(err, "principal", in.Name)
		}
		return audit.Record(ctx, tx, s.store.Dialect, audit.Change{
			Action: "identity.CreatePrincipal", ResourceType: "principal", Resource: out.Name,
			Domain: in.Domain, After: out,
		})
	})
	return out, err
}

func validEmail(s string) bool {
	at := -1
	for i, r := range s {
		if r == '@' {
			if at >= 0 {
				return false
			}
			at = i
		}
		if r <= ' ' || r == '<' || r == '>' || r == '"' || r == '\\' {
			return false
		}
	}
	return at > 0 && at < len(s)-3
}

// GetPrincipal returns a principal the caller may read; others are not found.
func (s *Service) GetPrincipal(ctx context.Context, name string) (*ent.Principal, error) {
	p, err := s.store.Client.Principal.Query().Where(principal.Name(name)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, errs.NotFound("principal", name)
	}
	if err != nil {
		return nil, fmt.Errorf("reading principal: %w", err)
	}
	if !s.mayRead(ctx, p) {
		return nil, errs.NotFound("principal", name)
	}
	return p, nil
}

// mayRead: a caller always sees itself; users are visible to anyone who may
// read principals somewhere (so owners can bind them); service accounts to
// readers in their domain.
func (s *Service) mayRead(ctx context.Context, p *ent.Principal) bool {
	if who, ok := actor.From(ctx); ok && who.Name == p.Name {
		return true
	}
	scope := s.authz.ScopeOf(ctx, access.ObjPrincipal, access.ActRead)
	if p.Domain == "" {
		return scope.All || len(scope.Domains) > 0
	}
	return scope.Contains(p.Domain)
}

// ListPrincipals pages through the principals the caller may read, by name.
func (s *Service) ListPrincipals(ctx context.Context, pageSize int, pageToken string) (page.Page[*ent.Principal], error) {
	size, cur, err := page.Start(pageSize, pageToken, "name", false)
	if err != nil {
		return page.Page[*ent.Principal]{}, err
	}
	scope := s.authz.ScopeOf(ctx, access.ObjPrincipal, access.ActRead)
	who, _ := actor.From(ctx)
	var preds []predicate.Principal
	switch {
	case scope.All:
	case len(scope.Domains) > 0:
		preds = append(preds, principal.Or(principal.Domain(""), principal.DomainIn(scope.Domains...), principal.Name(who.Name)))
	default:
		preds = append(preds, principal.Name(who.Name))
	}
	if cur != nil {
		preds = append(preds, principal.NameGT(cur.Key))
	}
	ps, err := s.store.Client.Principal.Query().Where(preds...).Order(ent.Asc(principal.FieldName)).Limit(size + 1).All(ctx)
	if err != nil {
		return page.Page[*ent.Principal]{}, fmt.Errorf("listing principals: %w", err)
	}
	return page.Of(ps, size, func(p *ent.Principal) page.Cursor { return page.Cursor{Order: "name", Key: p.Name} }), nil
}

// DisablePrincipal stops a principal from authenticating. The last enabled
// platform-admin cannot be disabled.
func (s *Service) DisablePrincipal(ctx context.Context, name string, version int64) (*ent.Principal, error) {
	p, err := s.GetPrincipal(ctx, name)
	if err != nil {
		return nil, err
	}
	if err := s.authz.Require(ctx, principalDomain(p), access.ObjPrincipal, access.ActUpdate); err != nil {
		return nil, err
	}
	var out *ent.Principal
	err = s.store.Tx(ctx, func(tx *ent.Tx) error {
		cur, err := tx.Principal.Get(ctx, p.ID)
		if err != nil {
			return err
		}
		if version != 0 && cur.Version != version {
			return errs.Conflict("principal", name, version, cur.Version)
		}
		if err := s.keepAnAdmin(ctx, tx, name, ""); err != nil {
			return err
		}
		out, err = tx.Principal.UpdateOne(cur).SetDisabled(true).AddVersion(1).Save(ctx)
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, s.store.Dialect, audit.Change{
			Action: "identity.DisablePrincipal", ResourceType: "principal", Resource: name,
			Domain: cur.Domain, Before: cur, After: out,
		})
	})
	if err == nil {
		s.forgetTokens()
	}
	return out, err
}

// keepAnAdmin refuses a change that would leave no enabled platform-admin:
// disabling principal losing, or deleting binding dropBinding.
func (s *Service) keepAnAdmin(ctx context.Context, tx *ent.Tx, losing, dropBinding string) error {
	admins, err := tx.RoleBinding.Query().Where(rolebinding.Role(access.RolePlatformAdmin), rolebinding.Domain(access.AllDomains)).All(ctx)
	if err != nil {
		return err
	}
	var names []string
	for _, b := range admins {
		if b.ID != dropBinding && b.Principal != losing {
			names = append(names, b.Principal)
		}
	}
	if len(names) == len(admins) {
		return nil // the change touches no admin
	}
	n, err := tx.Principal.Query().Where(principal.NameIn(names...), principal.Disabled(false)).Count(ctx)
	if err != nil {
		return err
	}
	if n == 0 {
		return errs.New(errs.KindFailedPrecondition, "this would leave no enabled platform-admin: grant platform-admin to someone else first").WithReason("LAST_PLATFORM_ADMIN")
	}
	return nil
}

// CreateToken issues a token for a principal: for oneself, or for a service
// account of a domain in which the caller may create tokens. The secret is
// returned once; only its hash is stored.
func (s *Service) CreateToken(ctx context.Context, principalName, description string, ttl time.Duration) (*ent.Token, string, error) {
	var v errs.Violations
	spec.CheckName(&v, "principal", principalName)
	spec.CheckDescription(&v, "description", description)
	if len(description) > 256 {
		v.Add("description", "must be at most 256 characters")
	}
	switch {
	case ttl < 0:
		v.Add("ttlSeconds", "must not be negative")
	case ttl > MaxTokenTTL:
		v.Add("ttlSeconds", "must be at most %d (two years)", int64(MaxTokenTTL/time.Second))
	case ttl == 0:
		ttl = DefaultTokenTTL
	case ttl < time.Minute:
		v.Add("ttlSeconds", "must be at least 60")
	}
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	p, err := s.tokenTarget(ctx, principalName, access.ActCreate)
	if err != nil {
		return nil, "", err
	}
	if p.Disabled {
		return nil, "", errs.New(errs.KindFailedPrecondition, "principal %q is disabled", p.Name)
	}
	out, secret, err := s.issueToken(ctx, p.ID, p.Domain, description, s.clock().Add(ttl), "identity.CreateToken")
	if err != nil {
		return nil, "", err
	}
	out.Edges.Principal = p
	return out, secret, nil
}

// issueToken stores a new token of a principal, audited as action in the
// same transaction, and returns it with its secret.
func (s *Service) issueToken(ctx context.Context, principalID, domain, description string, expires time.Time, action string) (*ent.Token, string, error) {
	secret := newSecret()
	var out *ent.Token
	err := s.store.Tx(ctx, func(tx *ent.Tx) error {
		var err error
		out, err = tx.Token.Create().SetPrincipalID(principalID).SetHash(hashSecret(secret)).
			SetDescription(description).SetExpireTime(expires).Save(ctx)
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, s.store.Dialect, audit.Change{
			Action: action, ResourceType: "token", Resource: out.ID, Domain: domain, After: out,
		})
	})
	if err != nil {
		return nil, "", err
	}
	return out, secret, nil
}

// tokenTarget returns the principal whose tokens the caller wants to act on,
// if the caller may: its own, or those of principals it administers.
func (s *Service) tokenTarget(ctx context.Context, name, act string) (*ent.Principal, error) {
	who, _ := actor.From(ctx)
	p, err := s.GetPrincipal(ctx, name)
	if err != nil {
		return nil, err
	}
	if who.Name == name {
		return p, nil
	}
	if err := s.authz.Require(ctx, principalDomain(p), access.ObjToken, act); err != nil {
		return nil, err
	}
	return p, nil
}

// ListTokens lists a principal's tokens (never their secrets).
func (s *Service) ListTokens(ctx context.Context, principalName string) ([]*ent.Token, error) {
	if principalName == "" {
		who, _ := actor.From(ctx)
		principalName = who.Name
	}
	p, err := s.tokenTarget(ctx, principalName, access.ActRead)
	if err != nil {
		return nil, err
	}
	ts, err := s.store.Client.Token.Query().Where(token.PrincipalID(p.ID)).Order(ent.Asc(token.FieldCreateTime)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing tokens: %w", err)
	}
	for _, t := range ts {
		t.Edges.Principal = p
	}
	return ts, nil
}

// RevokeToken revokes a token at once on this replica.
func (s *Service) RevokeToken(ctx context.Context, id string) (*ent.Token, error) {
	t, err := s.store.Client.Token.Query().Where(token.ID(id)).WithPrincipal().Only(ctx)
	if ent.IsNotFound(err) {
		return nil, errs.NotFound("token", id)
	}
	if err != nil {
		return nil, fmt.Errorf("reading token: %w", err)
	}
	if _, err := s.tokenTarget(ctx, t.Edges.Principal.Name, access.ActRevoke); err != nil {
		if errs.KindOf(err) == errs.KindPermissionDenied {
			return nil, errs.NotFound("token", id)
		}
		return nil, err
	}
	out, err := s.revokeToken(ctx, t, t.Edges.Principal.Domain, "identity.RevokeToken")
	if err != nil {
		return nil, err
	}
	out.Edges.Principal = t.Edges.Principal
	return out, nil
}

// revokeToken revokes t at once on this replica, audited as action in the
// same transaction; a revoked token is returned as it is.
func (s *Service) revokeToken(ctx context.Context, t *ent.Token, domain, action string) (*ent.Token, error) {
	if t.RevokeTime != nil {
		return t, nil
	}
	var out *ent.Token
	err := s.store.Tx(ctx, func(tx *ent.Tx) error {
		var err error
		out, err = tx.Token.UpdateOneID(t.ID).SetRevokeTime(s.clock()).Save(ctx)
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, s.store.Dialect, audit.Change{
			Action: action, ResourceType: "token", Resource: t.ID, Domain: domain, Before: t, After: out,
		})
	})
	if err != nil {
		return nil, err
	}
	s.forgetTokens()
	return out, nil
}

// CreateRoleBinding grants a role. Global roles bind only in every domain
// ("*"); granting in "*" needs rolebinding create in every domain.
func (s *Service) CreateRoleBinding(ctx context.Context, principalName, role, domain string) (*ent.RoleBinding, error) {
	var v errs.Violations
	spec.CheckName(&v, "principal", principalName)
	switch {
	case role == "":
		v.Add("role", "is required")
	case !s.authz.IsRole(role):
		v.Add("role", "unknown role %q: one of %v", role, s.authz.Roles())
	}
	switch {
	case domain == "":
		v.Add("domain", "is required: a domain name, or * for every domain")
	case domain != access.AllDomains:
		spec.CheckName(&v, "domain", domain)
		if slices.Contains(access.GlobalRoles, role) {
			v.Add("domain", "%s is a global role: bind it in domain *", role)
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := s.authz.Require(ctx, domain, access.ObjRoleBinding, access.ActCreate); err != nil {
		return nil, err
	}
	who, _ := actor.From(ctx)
	var out *ent.RoleBinding
	err := s.store.Tx(ctx, func(tx *ent.Tx) error {
		if domain != access.AllDomains {
			if err := store.RequireDomain(ctx, tx, domain); err != nil {
				return err
			}
		}
		ok, err := tx.Principal.Query().Where(principal.Name(principalName)).Exist(ctx)
		if err != nil {
			return err
		}
		if !ok {
			return errs.NotFound("principal", principalName)
		}
		dup, err := tx.RoleBinding.Query().Where(rolebinding.Principal(principalName), rolebinding.Role(role), rolebinding.Domain(domain)).Exist(ctx)
		if err != nil {
			return err
		}
		if dup {
			return errs.New(errs.KindAlreadyExists, "%s already has role %s in %s", principalName, role, domain)
		}
		out, err = tx.RoleBinding.Create().SetPrincipal(principalName).SetRole(role).SetDomain(domain).SetCreatedBy(who.Name).Save(ctx)
		if err != nil {
			return store.AlreadyExists(err, "role binding", principalName+"/"+role+"/"+domain)
		}
		return audit.Record(ctx, tx, s.store.Dialect, audit.Change{
			Action: "identity.CreateRoleBinding", ResourceType: "rolebinding", Resource: out.ID,
			Domain: auditDomain(domain), After: out,
		})
	})
	if err != nil {
		return nil, err
	}
	return out, s.ReloadBindings(ctx)
}

func auditDomain(d string) string {
	if d == access.AllDomains {
		return ""
	}
	return d
}

// ListRoleBindings lists bindings, filtered to domains whose bindings the caller may read.
func (s *Service) ListRoleBindings(ctx context.Context, principalName, domain string) ([]*ent.RoleBinding, error) {
	scope := s.authz.ScopeOf(ctx, access.ObjRoleBinding, access.ActRead)
	who, _ := actor.From(ctx)
	var preds []predicate.RoleBinding
	if principalName != "" {
		preds = append(preds, rolebinding.Principal(principalName))
	}
	if domain != "" {
		preds = append(preds, rolebinding.Domain(domain))
	}
	if !scope.All {
		// Everyone sees their own bindings; readers see their domains'.
		preds = append(preds, rolebinding.Or(rolebinding.Principal(who.Name), rolebinding.DomainIn(scope.Domains...)))
	}
	bs, err := s.store.Client.RoleBinding.Query().Where(preds...).
		Order(ent.Asc(rolebinding.FieldDomain), ent.Asc(rolebinding.FieldPrincipal), ent.Asc(rolebinding.FieldRole)).
		Limit(10_000).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing role bindings: %w", err)
	}
	return bs, nil
}

// DeleteRoleBinding removes a binding; the last platform-admin binding stays.
func (s *Service) DeleteRoleBinding(ctx context.Context, id string) error {
	b, err := s.store.Client.RoleBinding.Get(ctx, id)
	if ent.IsNotFound(err) {
		return errs.NotFound("role binding", id)
	}
	if err != nil {
		return fmt.Errorf("reading role binding: %w", err)
	}
	if !s.authz.Can(ctx, b.Domain, access.ObjRoleBinding, access.ActRead) {
		return errs.NotFound("role binding", id)
	}
	if err := s.authz.Require(ctx, b.Domain, access.ObjRoleBinding, access.ActDelete); err != nil {
		return err
	}
	err = s.store.Tx(ctx, func(tx *ent.Tx) error {
		if err := s.keepAnAdmin(ctx, tx, "", id); err != nil {
			return err
		}
		n, err := tx.RoleBinding.Delete().Where(rolebinding.ID(id)).Exec(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return errs.NotFound("role binding", id)
		}
		return audit.Record(ctx, tx, s.store.Dialect, audit.Change{
			Action: "identity.DeleteRoleBinding", ResourceType: "rolebinding", Resource: id,
			Domain: auditDomain(b.Domain), Before: b,
		})
	})
	if err != nil {
		return err
	}
	return s.ReloadBindings(ctx)
}

// ParseTTL converts seconds from the API into a duration.
// Out-of-range values map to durations that fail validation instead of overflowing.
func ParseTTL(seconds int64) time.Duration {
	switch {
	case seconds < 0:
		return -1
	case seconds > int64(MaxTokenTTL/time.Second):
		return MaxTokenTTL + time.Second
	}
	return time.Duration(seconds) * time.Second
}
