// Package access decides, with Casbin, whether a principal may perform an
// action on a type of object in a domain. Role definitions come from the
// policy file and may be replaced at run time; role bindings come from the
// catalog. Either change swaps in a whole new rule set.
package access

import (
	"context"
	"fmt"
	"maps"
	"regexp"
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

// Object types and actions checked by the service layer. The provisioning
// actions are declared by package provision.
const (
	ObjDomain      = "domain"
	ObjProduct     = "product"
	ObjProvision   = "provision"
	ObjPrincipal   = "principal"
	ObjToken       = "token"
	ObjRoleBinding = "rolebinding"
	ObjAudit       = "audit"
	ObjPolicy      = "policy"
	ObjRBAC        = "rbac"
	// ObjGrant is consumer access: requests, approvals and grants of a
	// domain's ports (or, for request, of the domain's service accounts).
	ObjGrant = "grant"
	// ObjCredential is a service account's Kafka credential.
	ObjCredential = "credential"
	// ObjWebhook is an endpoint the domain's events are delivered to.
	ObjWebhook = "webhook"

	ActRead        = "read"
	ActCreate      = "create"
	ActUpdate      = "update"
	ActDelete      = "delete"
	ActUpdateDraft = "update-draft"
	ActDeleteDraft = "delete-draft"
	ActRevoke      = "revoke"
	// ActReadPII lets a caller see raw PII in product previews instead of masked values.
	ActReadPII = "read-pii"
	ActDraft   = "draft"
	ActTest    = "test"
	ActPublish = "publish"
	// ActRequest files access requests for the domain's service accounts.
	ActRequest = "request"
	// ActApprove approves requests for the domain's ports as its owner.
	ActApprove = "approve"
	// ActGovern approves requests as a governance officer (bound in every domain).
	ActGovern = "govern"
	// ActIssue issues and rotates Kafka credentials of the domain's service accounts.
	ActIssue = "issue"
)

// KnownActions maps every object type a policy rule may name to the actions
// a rule may grant on it. A rule naming anything else would grant nothing, so
// ValidatePolicy rejects it as a typo. Provisioning actions are spelled out
// because package provision, which declares them, imports this one.
var KnownActions = map[string][]string{
	ObjDomain:      {ActRead, ActCreate, ActUpdate, ActDelete},
	ObjProduct:     {ActRead, ActCreate, ActUpdate, ActDelete, ActUpdateDraft, ActDeleteDraft, ActReadPII},
	ObjProvision:   {ActRead, "plan", "approve", "approve-destructive", "cancel", "decommission", "operate"},
	ObjPrincipal:   {ActRead, ActCreate, ActUpdate, ActDelete},
	ObjToken:       {ActRead, ActCreate, ActRevoke},
	ObjRoleBinding: {ActRead, ActCreate, ActDelete},
	ObjAudit:       {ActRead},
	ObjPolicy:      {ActRead, ActDraft, ActTest, ActPublish},
	ObjRBAC:        {ActRead, ActUpdate},
	ObjGrant:       {ActRead, ActRequest, ActApprove, ActGovern, ActRevoke},
	ObjCredential:  {ActRead, ActIssue},
	ObjWebhook:     {ActRead, ActCreate, ActUpdate, ActDelete},
}

// EnvScoped are the object types a rule may narrow to one environment by
// naming the object OBJECT@ENV: "p, role:domain-member, provision@dev,
// approve" holds in dev alone, while a rule on "provision" holds in every
// environment. Checks in an environment ask for Scoped(obj, env): every
// provisioning action, and every check on an access request, a grant or a
// credential of one environment; a listing across environments asks for the
// unscoped object, which only rules on it allow.
var EnvScoped = []string{ObjProvision, ObjGrant, ObjCredential}

// Scoped is the object a check of obj in environment env asks about.
func Scoped(obj, env string) string { return obj + "@" + env }

// Limits on the role definitions text, so a replacement stays reviewable and
// cheap to validate.
const (
	MaxPolicyBytes = 64 << 10
	MaxPolicyLines = 2000
)

// roleNamePattern is what a role name may look like; it keeps names safe to
// show, to bind and to write back into the policy text.
var roleNamePattern = regexp.MustCompile(`^[a-z][a-z0-9-]{1,62}$`)

// adminRule is the rule platform-admin must keep so that someone can always
// administer the platform, role definitions included.
var adminRule = []string{"role:" + RolePlatformAdmin, "*", "*"}

// Binding grants Principal the Role in Domain.
type Binding struct {
	Principal string
	Role      string
	Domain    string
}

// Authorizer answers authorization questions. It is safe for concurrent use;
// Load and SetPolicy swap the whole rule set atomically, so no check sees
// half a change — nor new role definitions with old grants.
type Authorizer struct {
	modelText string
	current   atomic.Pointer[ruleSet]
	// mu serializes Load and SetPolicy: each builds on the other's last result.
	mu sync.Mutex
}

// definitions is one parsed set of role definitions.
type definitions struct {
	text  string
	rules [][]string
	roles []string
	// grants enforces the model over the role definitions alone, so asking it
	// with a role as the subject says whether that role's rules match an
	// object and action. Its decision cache holds at most one entry per
	// role, object type and action.
	grants *casbin.SyncedCachedEnforcer
}

// ruleSet is one complete set of role definitions and role bindings; Load
// and SetPolicy swap it in whole.
type ruleSet struct {
	defs *definitions
	// bindings are kept so that new role definitions can be applied to them.
	bindings []Binding
	// enforcer holds the role definitions and the bindings.
	enforcer *casbin.SyncedCachedEnforcer
	// bound maps principal → domain → roles ("role:NAME") bound there.
	bound map[string]map[string][]string
	// chained is set when some binding's principal is itself a role, so role
	// links may chain; then every decision goes through the enforcer.
	chained bool
}

// New parses the model and role definitions, which must pass ValidatePolicy.
func New(modelText, policyText string) (*Authorizer, error) {
	if err := ValidatePolicy(policyText, nil); err != nil {
		return nil, fmt.Errorf("checking role definitions: %w", err)
	}
	a := &Authorizer{modelText: modelText}
	defs, err := a.newDefinitions(policyText)
	if err != nil {
		return nil, err
	}
	rs, err := a.newRuleSet(defs, nil)
	if err != nil {
		return nil, err
	}
	a.current.Store(rs)
	return a, nil
}

// ParsePolicy parses role definitions and returns the rules and role names.
// It checks only each line's shape; ValidatePolicy checks a policy fully.
func ParsePolicy(text string) (rules [][]string, roles []string, err error) {
	for n, line := range strings.Split(text, "\n") {
		parts, ok := policyFields(line)
		if !ok {
			continue
		}
		if len(parts) != 4 || parts[0] != "p" || !strings.HasPrefix(parts[1], "role:") || parts[1] == "role:" || parts[2] == "" || parts[3] == "" {
			return nil, nil, fmt.Errorf("policy line %d: want \"p, role:NAME, OBJECT, ACTION\", got %q", n+1, strings.TrimSpace(line))
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

// policyFields splits a policy line into trimmed fields; ok is false for
// blank lines and comments.
func policyFields(line string) (fields []string, ok bool) {
	line = strings.TrimSpace(line)
	if line == "" || strings.HasPrefix(line, "#") {
		return nil, false
	}
	fields = strings.Split(line, ",")
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	return fields, true
}

// ValidatePolicy checks role definitions before they replace the current
// ones and reports every violation, each at its 1-based line
// ("policy.lines[12]") or, for the policy as a whole, at "policy".
// boundRoles are the roles that role bindings use; each must stay defined.
// Text over MaxPolicyBytes or MaxPolicyLines is rejected without reading it.
func ValidatePolicy(text string, boundRoles []string) error {
	var v errs.Violations
	if len(text) > MaxPolicyBytes {
		v.Add("policy", "is %d bytes, more than the limit of %d", len(text), MaxPolicyBytes)
		return v.Err()
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) > MaxPolicyLines {
		v.Add("policy", "has %d lines, more than the limit of %d", len(lines), MaxPolicyLines)
		return v.Err()
	}

	objects := slices.Sorted(maps.Keys(KnownActions))
	defined := make(map[string]bool)
	seen := make(map[[3]string]int)
	adminAll := false
	for i, line := range lines {
		parts, ok := policyFields(line)
		if !ok {
			continue
		}
		path := fmt.Sprintf("policy.lines[%d]", i+1)
		if len(parts) != 4 || parts[0] != "p" {
			v.Add(path, "want \"p, role:NAME, OBJECT, ACTION\", got %q", strings.TrimSpace(line))
			continue
		}
		sub, obj, act := parts[1], parts[2], parts[3]
		if name, ok := strings.CutPrefix(sub, "role:"); !ok {
			v.Add(path, "subject %q must be \"role:NAME\"", sub)
		} else if !roleNamePattern.MatchString(name) {
			v.Add(path, "role name %q must be 2 to 63 lowercase letters, digits and hyphens, starting with a letter", name)
		} else {
			defined[name] = true
		}
		base, env, scoped := strings.Cut(obj, "@")
		known, objOK := KnownActions[base]
		switch {
		case scoped && !slices.Contains(EnvScoped, base):
			v.Add(path, "object type %q cannot be narrowed to an environment: only %s can", base, strings.Join(EnvScoped, ", "))
		case scoped && !roleNamePattern.MatchString(env):
			v.Add(path, "environment %q in %q must be 2 to 63 lowercase letters, digits and hyphens, starting with a letter", env, obj)
		case obj == "*":
		case !objOK:
			v.Add(path, "unknown object type %q: want * or one of %s", obj, strings.Join(objects, ", "))
		}
		switch {
		case act == "*":
		case obj == "*":
			if !slices.ContainsFunc(objects, func(o string) bool { return slices.Contains(KnownActions[o], act) }) {
				v.Add(path, "unknown action %q: no object type has it", act)
			}
		case objOK && !slices.Contains(known, act):
			v.Add(path, "unknown action %q on %s: want * or one of %s", act, base, strings.Join(known, ", "))
		}
		key := [3]string{sub, obj, act}
		if first, dup := seen[key]; dup {
			v.Add(path, "duplicates line %d", first)
		} else {
			seen[key] = i + 1
		}
		if slices.Equal(parts[1:], adminRule) {
			adminAll = true
		}
	}

	switch {
	case !defined[RolePlatformAdmin]:
		v.Add("policy", "role %q is not defined: it must keep \"p, role:%s, *, *\" so someone can always administer the platform", RolePlatformAdmin, RolePlatformAdmin)
	case !adminAll:
		v.Add("policy", "role %q lacks \"p, role:%s, *, *\": it must keep every permission so someone can always administer the platform", RolePlatformAdmin, RolePlatformAdmin)
	}
	for _, role := range slices.Compact(slices.Sorted(slices.Values(boundRoles))) {
		if !defined[role] {
			v.Add("policy", "role %q is not defined, but role bindings use it: keep its definition or delete those bindings first", role)
		}
	}
	return v.Err()
}

// Roles returns the defined role names.
func (a *Authorizer) Roles() []string { return slices.Clone(a.current.Load().defs.roles) }

// IsRole reports whether role is defined.
func (a *Authorizer) IsRole(role string) bool { return a.current.Load().defs.isRole(role) }

func (d *definitions) isRole(role string) bool { return slices.Contains(d.roles, role) }

// PolicyText returns the role definitions in force, as they were set.
func (a *Authorizer) PolicyText() string { return a.current.Load().defs.text }

// SetPolicy replaces the role definitions with text, which must pass
// ValidatePolicy. Besides boundRoles, every role the loaded bindings use that
// is defined now must stay defined. The new definitions and the loaded
// bindings are built into a new rule set and swapped in at once; on error the
// old definitions stay in force.
func (a *Authorizer) SetPolicy(text string, boundRoles []string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	old := a.current.Load()
	bound := slices.Clone(boundRoles)
	for _, b := range old.bindings {
		if old.defs.isRole(b.Role) {
			bound = append(bound, b.Role)
		}
	}
	if err := ValidatePolicy(text, bound); err != nil {
		return err
	}
	defs, err := a.newDefinitions(text)
	if err != nil {
		return err
	}
	rs, err := a.newRuleSet(defs, old.bindings)
	if err != nil {
		return err
	}
	a.current.Store(rs)
	return nil
}

// Load replaces every role binding with bindings, building a new rule set
// over the current role definitions and swapping it in only when it is complete.
func (a *Authorizer) Load(bindings []Binding) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	rs, err := a.newRuleSet(a.current.Load().defs, slices.Clone(bindings))
	if err != nil {
		return err
	}
	a.current.Store(rs)
	return nil
}

// newDefinitions parses valid role definitions and builds their grants enforcer.
func (a *Authorizer) newDefinitions(text string) (*definitions, error) {
	rules, roles, err := ParsePolicy(text)
	if err != nil {
		return nil, err
	}
	grants, err := a.newEnforcer(rules, nil)
	if err != nil {
		return nil, err
	}
	return &definitions{text: text, rules: rules, roles: roles, grants: grants}, nil
}

// newRuleSet builds the rule set of defs and bindings, which it keeps.
func (a *Authorizer) newRuleSet(defs *definitions, bindings []Binding) (*ruleSet, error) {
	e, err := a.newEnforcer(defs.rules, bindings)
	if err != nil {
		return nil, err
	}
	rs := &ruleSet{defs: defs, bindings: bindings, enforcer: e, bound: make(map[string]map[string][]string)}
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
	return rs, nil
}

// newEnforcer builds an enforcer holding rules and bindings.
func (a *Authorizer) newEnforcer(rules [][]string, bindings []Binding) (*casbin.SyncedCachedEnforcer, error) {
	m, err := model.NewModelFromString(a.modelText)
	if err != nil {
		return nil, fmt.Errorf("parsing rbac model: %w", err)
	}
	e, err := casbin.NewSyncedCachedEnforcer(m)
	if err != nil {
		return nil, fmt.Errorf("building enforcer: %w", err)
	}
	e.EnableAutoSave(false)
	if _, err := e.AddPolicies(rules); err != nil {
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
func (a *Authorizer) Allowed(principal, domain, obj, act string) bool {
	return a.current.Load().allowed(principal, domain, obj, act)
}

// allowed decides from this rule set alone, so one decision never mixes two.
//
// Enforcing the model directly evaluates the matcher once per policy rule and
// asks the role manager under a lock; that costs tens of microseconds per
// uncached check. Without chained role links the model's g(sub, role, dom)
// holds exactly when sub is bound to role in dom or sub is the role's own name
// (Casbin links every name to itself), so the decision is: some such role, in
// domain or in AllDomains, has a rule matching obj and act. Which roles are
// bound is a map lookup; whether a role's rules match is decided by the model
// itself, through the grants enforcer and its bounded cache.
func (rs *ruleSet) allowed(principal, domain, obj, act string) bool {
	if rs.chained {
		return enforce(rs.enforcer, principal, domain, obj, act)
	}
	grants := rs.defs.grants
	if isRoleName(principal) && enforce(grants, principal, AllDomains, obj, act) {
		return true
	}
	byDomain := rs.bound[principal]
	for _, role := range byDomain[domain] {
		if enforce(grants, role, AllDomains, obj, act) {
			return true
		}
	}
	if domain != AllDomains {
		for _, role := range byDomain[AllDomains] {
			if enforce(grants, role, AllDomains, obj, act) {
				return true
			}
		}
	}
	return false
}

func enforce(e *casbin.SyncedCachedEnforcer, principal, domain, obj, act string) bool {
	ok, err := e.Enforce(principal, domain, obj, act)
	return err == nil && ok
}

// HasRole reports whether principal is bound to role in domain, or in
// every domain; a platform admin holds every role.
func (a *Authorizer) HasRole(principal, domain, role string) bool {
	rs := a.current.Load()
	holds := func(r string) bool {
		if rs.chained {
			for _, d := range []string{domain, AllDomains} {
				if ok, err := rs.enforcer.HasRoleForUser(principal, "role:"+r, d); err == nil && ok {
					return true
				}
			}
			return false
		}
		return slices.Contains(rs.bound[principal][domain], "role:"+r) || slices.Contains(rs.bound[principal][AllDomains], "role:"+r)
	}
	return holds(role) || holds(RolePlatformAdmin)
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

// ScopeOf returns the domains in which the actor in ctx may perform act on
// obj, all decided by one rule set.
func (a *Authorizer) ScopeOf(ctx context.Context, obj, act string) Scope {
	who, ok := actor.From(ctx)
	if !ok {
		return Scope{}
	}
	rs := a.current.Load()
	if rs.allowed(who.Name, AllDomains, obj, act) {
		return Scope{All: true}
	}
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
		if d != AllDomains && !slices.Contains(s.Domains, d) && rs.allowed(who.Name, d, obj, act) {
			s.Domains = append(s.Domains, d)
		}
	}
	slices.Sort(s.Domains)
	return s
}
