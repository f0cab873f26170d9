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
	enforcer  atomic.Pointer[casbin.SyncedCachedEnforcer]
	loadMu    sync.Mutex
}

// New parses the model and role definitions. Every policy line must be
// "p, role:NAME, OBJECT, ACTION"; a malformed line fails the whole load.
func New(modelText, policyText string) (*Authorizer, error) {
	rules, roles, err := ParsePolicy(policyText)
	if err != nil {
		return nil, err
	}
	a := &Authorizer{modelText: modelText, rules: rules, roles: roles}
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
		if len(parts) != 4 || parts[0] != "p" || !strings.HasPrefix(parts[1], "role:") || parts[2] == "" || parts[3] == "" {
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
	m, err := model.NewModelFromString(a.modelText)
	if err != nil {
		return fmt.Errorf("parsing rbac model: %w", err)
	}
	e, err := casbin.NewSyncedCachedEnforcer(m)
	if err != nil {
		return fmt.Errorf("building enforcer: %w", err)
	}
	e.EnableAutoSave(false)
	if _, err := e.AddPolicies(a.rules); err != nil {
		return fmt.Errorf("loading role definitions: %w", err)
	}
	if len(bindings) > 0 {
		g := make([][]string, 0, len(bindings))
		for _, b := range bindings {
			g = append(g, []string{b.Principal, "role:" + b.Role, b.Domain})
		}
		if _, err := e.AddGroupingPolicies(g); err != nil {
			return fmt.Errorf("loading role bindings: %w", err)
		}
	}
	e.EnableCache(true)
	a.enforcer.Store(e)
	return nil
}

// Allowed reports whether principal may perform act on obj in domain. Errors
// from the enforcer deny.
func (a *Authorizer) Allowed(principal, domain, obj, act string) bool {
	ok, err := a.enforcer.Load().Enforce(principal, domain, obj, act)
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
	e := a.enforcer.Load()
	domains, err := e.GetDomainsForUser(who.Name)
	if err != nil {
		return Scope{}
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
