// Package access decides, with Casbin, whether a principal may perform an
// action on a type of object in a domain. Role definitions come from the
// policy file; role bindings come from the catalog and are swapped in whole.
package access

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"

	"github.com/meshplane/meshplane/server/actor"
	"github.com/meshplane/meshplane/server/errs"
)

// AllDomains is the domain of a binding that holds in every domain, and the
// domain of objects that belong to no domain (users, global settings).
const AllDomains = "*"

// Roles every deployment knows. Global roles may only be bound in AllDomains.
const (
	RolePlatformAdmin     = "platform-admin"
	RoleGovernanceOfficer = "governance-officer"
	RoleDomainOwner       = "domain-owner"
	RoleDomainMember      = "domain-member"
	RoleViewer            = "viewer"
)

// GlobalRoles may only be bound in AllDomains.
var GlobalRoles = []string{RolePlatformAdmin, RoleGovernanceOfficer}

// Object types and actions checked by the service layer.
const (
	ObjDomain      = "domain"
	ObjProduct     = "product"
	ObjPrincipal   = "principal"
	ObjToken       = "token"
	ObjRoleBinding = "rolebinding"
	ObjAudit       = "audit"

	ActRead        = "read"
	ActCreate      = "create"
	ActUpdate      = "update"
	ActDelete      = "delete"
	ActUpdateDraft = "update-draft"
	ActDeleteDraft = "delete-draft"
	ActRevoke      = "revoke"
)

// Binding grants Principal the Role in Domain.
type Binding struct {
	Principal string
	Role      string
	Domain    string
}

// Authorizer answers authorization questions. It is safe for concurrent use;
// Load swaps the whole rule set atomically, so no check sees half a change.
type Authorizer struct {
	modelText string
	rules     [][]string
	roles     []string
	// grants enforces the model over the role definitions alone, so asking it
	// with a role as the subject says whether that role's rules match an
	// object and action. Its decision cache holds at most one entry per
	// role, object type and action.
	grants  *casbin.SyncedCachedEnforcer
	current atomic.Pointer[ruleSet]
	loadMu  sync.Mutex
}

// ruleSet is one complete set of role bindings; Load swaps it in whole.
type ruleSet struct {
	enforcer *casbin.SyncedCachedEnforcer
	// bound maps principal → domain → roles ("role:NAME") bound there.
	bound map[string]map[string][]string
	// chained is set when some binding's principal is itself a role, so role
	// links may chain; then every decision goes through the enforcer.
	chained bool
}

// New parses the model and role definitions. Every policy line must be
// "p, role:NAME, OBJECT, ACTION"; a malformed line fails the whole load.
func New(modelText, policyText string) (*Authorizer, error) {
	rules, roles, err := ParsePolicy(policyText)
	if err != nil {
		return nil, err
	}
	a := &Authorizer{modelText: modelText, rules: rules, roles: roles}
	if a.grants, err = a.newEnforcer(nil); err != nil {
		return nil, err
	}
	if err := a.Load(nil); err != nil {
		return nil, err
	}
	return a, nil
}

// ParsePolicy parses role definitions and returns the rules and role names.
func ParsePolicy(text string) (rules [][]string, roles []string, err error) {
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Split(line, ",")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		if len(parts) != 4 || parts[0] != "p" || !strings.HasPrefix(parts[1], "role:") || parts[1] == "role:" || parts[2] == "" || parts[3] == "" {
			return nil, nil, fmt.Errorf("policy line %d: want \"p, role:NAME, OBJECT, ACTION\", got %q", n+1, line)
		}
		rules = append(rules, parts[1:])
		role := strings.TrimPrefix(parts[1], "role:")
		if !slices.Contains(roles, role) {
			roles = append(roles, role)
		}
	}
	if len(rules) == 0 {
		return nil, nil, fmt.Errorf("policy defines no roles")
	}
	return rules, roles, nil
}

// Roles returns the defined role names.
func (a *Authorizer) Roles() []string { return slices.Clone(a.roles) }

// IsRole reports whether role is defined.
func (a *Authorizer) IsRole(role string) bool { return slices.Contains(a.roles, role) }

// Load replaces every role binding with bindings, building a new enforcer
// and swapping it in only when it is complete.
func (a *Authorizer) Load(bindings []Binding) error {
	a.loadMu.Lock()
	defer a.loadMu.Unlock()
	e, err := a.newEnforcer(bindings)
	if err != nil {
		return err
	}
	rs := &ruleSet{enforcer: e, bound: make(map[string]map[string][]string)}
	for _, b := range bindings {
		byDomain := rs.bound[b.Principal]
		if byDomain == nil {
			byDomain = make(map[string][]string)
			rs.bound[b.Principal] = byDomain
		}
		role := "role:" + b.Role
		if !slices.Contains(byDomain[b.Domain], role) {
			byDomain[b.Domain] = append(byDomain[b.Domain], role)
		}
		if isRoleName(b.Principal) {
			rs.chained = true
		}
	}
	a.current.Store(rs)
	return nil
}

// newEnforcer builds an enforcer holding the role definitions and bindings.
func (a *Authorizer) newEnforcer(bindings []Binding) (*casbin.SyncedCachedEnforcer, error) {
	m, err := model.NewModelFromString(a.modelText)
	if err != nil {
		return nil, fmt.Errorf("parsing rbac model: %w", err)
	}
	e, err := casbin.NewSyncedCachedEnforcer(m)
	if err != nil {
		return nil, fmt.Errorf("building enforcer: %w", err)
	}
	e.EnableAutoSave(false)
	if _, err := e.AddPolicies(a.rules); err != nil {
		return nil, fmt.Errorf("loading role definitions: %w", err)
	}
	if len(bindings) > 0 {
		g := make([][]string, 0, len(bindings))
		for _, b := range bindings {
			g = append(g, []string{b.Principal, "role:" + b.Role, b.Domain})
		}
		if _, err := e.AddGroupingPolicies(g); err != nil {
			return nil, fmt.Errorf("loading role bindings: %w", err)
		}
	}
	e.EnableCache(true)
	return e, nil
}

// isRoleName reports whether name is a role as policy rules name it; only
// such a name can be a rule's subject.
func isRoleName(name string) bool { return strings.HasPrefix(name, "role:") }

// Allowed reports whether principal may perform act on obj in domain. Errors
// from the enforcer deny.
//
// Enforcing the model directly evaluates the matcher once per policy rule and
// asks the role manager under a lock; that costs tens of microseconds per
// uncached check. Without chained role links the model's g(sub, role, dom)
// holds exactly when sub is bound to role in dom or sub is the role's own name
// (Casbin links every name to itself), so the decision is: some such role, in
// domain or in AllDomains, has a rule matching obj and act. Which roles are
// bound is a map lookup; whether a role's rules match is decided by the model
// itself, through the grants enforcer and its bounded cache.
func (a *Authorizer) Allowed(principal, domain, obj, act string) bool {
	rs := a.current.Load()
	if rs.chained {
		return enforce(rs.enforcer, principal, domain, obj, act)
	}
	if isRoleName(principal) && a.roleAllows(principal, obj, act) {
		return true
	}
	byDomain := rs.bound[principal]
	for _, role := range byDomain[domain] {
		if a.roleAllows(role, obj, act) {
			return true
		}
	}
	if domain != AllDomains {
		for _, role := range byDomain[AllDomains] {
			if a.roleAllows(role, obj, act) {
				return true
			}
		}
	}
	return false
}

// roleAllows reports whether a rule of role matches obj and act.
func (a *Authorizer) roleAllows(role, obj, act string) bool {
	return enforce(a.grants, role, AllDomains, obj, act)
}

func enforce(e *casbin.SyncedCachedEnforcer, principal, domain, obj, act string) bool {
	ok, err := e.Enforce(principal, domain, obj, act)
	return err == nil && ok
}

// Can reports whether the actor in ctx may perform act on obj in domain.
func (a *Authorizer) Can(ctx context.Context, domain, obj, act string) bool {
	who, ok := actor.From(ctx)
	if !ok {
		return false
	}
	return a.Allowed(who.Name, domain, obj, act)
}

// Require returns PermissionDenied unless the actor in ctx may perform act on obj in domain.
func (a *Authorizer) Require(ctx context.Context, domain, obj, act string) error {
	if a.Can(ctx, domain, obj, act) {
		return nil
	}
	who, _ := actor.From(ctx)
	where := "domain " + domain
	if domain == AllDomains {
		where = "every domain"
	}
	return errs.PermissionDenied("%s may not %s %s in %s", nameOr(who.Name), act, obj, where)
}

func nameOr(n string) string {
	if n == "" {
		return "an anonymous caller"
	}
	return n
}

// Scope is the set of domains in which a principal may perform an action.
type Scope struct {
	All     bool
	Domains []string
}

// Contains reports whether the scope covers domain.
func (s Scope) Contains(domain string) bool {
	return s.All || slices.Contains(s.Domains, domain)
}

// ScopeOf returns the domains in which the actor in ctx may perform act on obj.
func (a *Authorizer) ScopeOf(ctx context.Context, obj, act string) Scope {
	who, ok := actor.From(ctx)
	if !ok {
		return Scope{}
	}
	if a.Allowed(who.Name, AllDomains, obj, act) {
		return Scope{All: true}
	}
	rs := a.current.Load()
	var domains []string
	if rs.chained {
		// Roles may have members: let the role manager follow the links.
		var err error
		if domains, err = rs.enforcer.GetDomainsForUser(who.Name); err != nil {
			return Scope{}
		}
	} else {
		// The role manager would visit every domain; the index has the principal's own.
		for d := range rs.bound[who.Name] {
			domains = append(domains, d)
		}
	}
	var s Scope
	for _, d := range domains {
		if d != AllDomains && !slices.Contains(s.Domains, d) && a.Allowed(who.Name, d, obj, act) {
			s.Domains = append(s.Domains, d)
		}
	}
	slices.Sort(s.Domains)
	return s
}
