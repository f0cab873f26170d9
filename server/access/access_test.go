package access_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"

	"github.com/meshplane/meshplane/policies"
	"github.com/meshplane/meshplane/server/access"
	"github.com/meshplane/meshplane/server/actor"
	"github.com/meshplane/meshplane/server/errs"
)

func newAuthorizer(t testing.TB, bindings ...access.Binding) *access.Authorizer {
	t.Helper()
	a, err := access.New(policies.RBACModel, policies.RBACPolicy)
	if err != nil {
		t.Fatalf("New with the embedded policy: %v", err)
	}
	if len(bindings) > 0 {
		if err := a.Load(bindings); err != nil {
			t.Fatalf("Load: %v", err)
		}
	}
	return a
}

func TestParsePolicyDefault(t *testing.T) {
	rules, roles, err := access.ParsePolicy(policies.RBACPolicy)
	if err != nil {
		t.Fatalf("ParsePolicy(embedded policy): %v", err)
	}
	wantRoles := []string{access.RolePlatformAdmin, access.RoleGovernanceOfficer, access.RoleDomainOwner, access.RoleDomainMember, access.RoleViewer}
	if !slices.Equal(roles, wantRoles) {
		t.Errorf("roles = %v, want %v", roles, wantRoles)
	}
	var lines int
	for _, l := range strings.Split(policies.RBACPolicy, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "p,") {
			lines++
		}
	}
	if len(rules) != lines {
		t.Errorf("got %d rules, the policy file has %d p lines", len(rules), lines)
	}
	for _, r := range rules {
		if len(r) != 3 || !strings.HasPrefix(r[0], "role:") || r[1] == "" || r[2] == "" {
			t.Errorf("malformed rule %q", r)
		}
	}
	if !slices.ContainsFunc(rules, func(r []string) bool { return slices.Equal(r, []string{"role:platform-admin", "*", "*"}) }) {
		t.Errorf("rules lack platform-admin's wildcard rule: %v", rules)
	}
}

func TestParsePolicyLines(t *testing.T) {
	tests := []struct {
		name      string
		policy    string
		wantErr   string // substring; empty means the policy is accepted
		wantRules [][]string
		wantRoles []string
	}{
		{name: "one rule", policy: "p, role:auditor, audit, read",
			wantRules: [][]string{{"role:auditor", "audit", "read"}}, wantRoles: []string{"auditor"}},
		{name: "no spaces", policy: "p,role:auditor,audit,read",
			wantRules: [][]string{{"role:auditor", "audit", "read"}}, wantRoles: []string{"auditor"}},
		{name: "extra spaces and tabs", policy: "  p ,\trole:auditor ,  audit ,read  ",
			wantRules: [][]string{{"role:auditor", "audit", "read"}}, wantRoles: []string{"auditor"}},
		{name: "comments and blank lines", policy: "# roles\n\np, role:a, product, read\n   # indented comment\n\r\np, role:a, domain, *\r\np, role:b, *, *\n",
			wantRules: [][]string{{"role:a", "product", "read"}, {"role:a", "domain", "*"}, {"role:b", "*", "*"}}, wantRoles: []string{"a", "b"}},
		{name: "empty", policy: "", wantErr: "no roles"},
		{name: "only comments", policy: "# nothing\n\n# here\n", wantErr: "no roles"},
		{name: "grouping line", policy: "p, role:a, product, read\ng, alice, role:a, sales", wantErr: "policy line 2"},
		{name: "subject without role prefix", policy: "p, alice, product, read", wantErr: "policy line 1"},
		{name: "role prefix with different case", policy: "p, Role:a, product, read", wantErr: "policy line 1"},
		{name: "too few fields", policy: "p, role:a, product", wantErr: "policy line 1"},
		{name: "too many fields", policy: "p, role:a, product, read, allow", wantErr: "policy line 1"},
		{name: "empty object", policy: "p, role:a, , read", wantErr: "policy line 1"},
		{name: "empty action", policy: "p, role:a, product, ", wantErr: "policy line 1"},
		{name: "empty role name", policy: "p, role:, product, read", wantErr: "policy line 1"},
		{name: "missing p", policy: "role:a, product, read, x", wantErr: "policy line 1"},
		{name: "uppercase P", policy: "P, role:a, product, read", wantErr: "policy line 1"},
		{name: "bad line after good ones", policy: "p, role:a, product, read\n\n# c\np role:a product read", wantErr: "policy line 4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules, roles, err := access.ParsePolicy(tt.policy)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParsePolicy error = %v, want one containing %q", err, tt.wantErr)
				}
				if rules != nil || roles != nil {
					t.Errorf("ParsePolicy returned rules %v and roles %v along with an error", rules, roles)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePolicy: %v", err)
			}
			if !slices.EqualFunc(rules, tt.wantRules, slices.Equal) {
				t.Errorf("rules = %q, want %q", rules, tt.wantRules)
			}
			if !slices.Equal(roles, tt.wantRoles) {
				t.Errorf("roles = %q, want %q", roles, tt.wantRoles)
			}
		})
	}
}

func TestNewRejectsMalformed(t *testing.T) {
	if _, err := access.New(policies.RBACModel, "p, role:a, product"); err == nil {
		t.Error("New accepted a malformed policy")
	}
	if _, err := access.New("[request_definition]\nr = sub, dom, obj, act\n", policies.RBACPolicy); err == nil {
		t.Error("New accepted an incomplete model")
	}
}

func TestRoles(t *testing.T) {
	a := newAuthorizer(t)
	for _, r := range []string{access.RolePlatformAdmin, access.RoleGovernanceOfficer, access.RoleDomainOwner, access.RoleDomainMember, access.RoleViewer} {
		if !a.IsRole(r) {
			t.Errorf("IsRole(%q) = false", r)
		}
	}
	for _, r := range []string{"", "role:viewer", "Viewer", "root", "*"} {
		if a.IsRole(r) {
			t.Errorf("IsRole(%q) = true", r)
		}
	}
	roles := a.Roles()
	roles[0] = "tampered"
	if a.Roles()[0] == "tampered" {
		t.Error("Roles returns the authorizer's own slice")
	}
}

// defaultBindings binds one principal per default role, each in domain
// "sales", except the global roles (and one viewer) which are bound in "*".
var defaultBindings = []access.Binding{
	{Principal: "admin", Role: access.RolePlatformAdmin, Domain: access.AllDomains},
	{Principal: "officer", Role: access.RoleGovernanceOfficer, Domain: access.AllDomains},
	{Principal: "owner", Role: access.RoleDomainOwner, Domain: "sales"},
	{Principal: "member", Role: access.RoleDomainMember, Domain: "sales"},
	{Principal: "viewer", Role: access.RoleViewer, Domain: "sales"},
	{Principal: "everywhere-viewer", Role: access.RoleViewer, Domain: access.AllDomains},
	{Principal: "everywhere-owner", Role: access.RoleDomainOwner, Domain: access.AllDomains},
}

type request struct{ obj, act string }

var allRequests = func() []request {
	var out []request
	for _, o := range []string{access.ObjDomain, access.ObjProduct, access.ObjPrincipal, access.ObjToken, access.ObjRoleBinding, access.ObjAudit, "policy", "rbac"} {
		for _, a := range []string{access.ActRead, access.ActCreate, access.ActUpdate, access.ActDelete, access.ActUpdateDraft, access.ActDeleteDraft, access.ActRevoke, access.ActReadPII} {
			out = append(out, request{o, a})
		}
	}
	return out
}()

// grants lists, per role, exactly the requests the default policy allows.
// Requests not listed must be denied.
var grants = map[string][]request{
	access.RolePlatformAdmin: allRequests,
	access.RoleGovernanceOfficer: append([]request{
		{"domain", "read"}, {"product", "read"}, {"product", "read-pii"}, {"principal", "read"}, {"rolebinding", "read"}, {"audit", "read"},
	}, func() []request {
		var out []request
		for _, r := range allRequests {
			if r.obj == "policy" || r.obj == "rbac" {
				out = append(out, r)
			}
		}
		return out
	}()...),
	access.RoleDomainOwner: append([]request{
		{"domain", "read"}, {"domain", "update"},
		{"principal", "read"}, {"principal", "create"}, {"principal", "update"},
		{"rolebinding", "read"}, {"rolebinding", "create"}, {"rolebinding", "delete"},
		{"audit", "read"},
	}, func() []request {
		var out []request
		for _, r := range allRequests {
			if r.obj == "product" || r.obj == "token" {
				out = append(out, r)
			}
		}
		return out
	}()...),
	access.RoleDomainMember: {
		{"domain", "read"}, {"product", "read"}, {"product", "create"}, {"product", "update-draft"},
		{"product", "delete-draft"}, {"principal", "read"}, {"rolebinding", "read"},
	},
	access.RoleViewer: {{"domain", "read"}, {"product", "read"}},
}

func TestAllowedDefaultRoles(t *testing.T) {
	a := newAuthorizer(t, defaultBindings...)
	for _, b := range defaultBindings {
		granted := grants[b.Role]
		if len(granted) == 0 {
			t.Fatalf("no expectations for role %q", b.Role)
		}
		for _, req := range allRequests {
			want := slices.Contains(granted, req)
			// Own domain: the binding's domain, or any domain for a "*" binding.
			for _, dom := range []string{"sales", "marketing", access.AllDomains} {
				wantHere := want && (b.Domain == access.AllDomains || dom == b.Domain)
				if got := a.Allowed(b.Principal, dom, req.obj, req.act); got != wantHere {
					t.Errorf("Allowed(%s [%s in %s], dom=%s, %s, %s) = %v, want %v",
						b.Principal, b.Role, b.Domain, dom, req.obj, req.act, got, wantHere)
				}
			}
		}
	}
}

func TestAllowedDenies(t *testing.T) {
	a := newAuthorizer(t, defaultBindings...)
	tests := []struct{ sub, dom, obj, act string }{
		{"stranger", "sales", "product", "read"},
		{"", "sales", "product", "read"},
		{"owner", "", "product", "read"},
		{"owner", "Sales", "product", "read"},
		{"viewer", "sales", "Product", "read"},
		{"viewer", "sales", "product", "READ"},
		{"owner", "sales", "", ""},
		{"viewer", "sales", "product", "update"},
		{"member", "sales", "product", "update"},
		{"member", "sales", "product", "delete"},
		{"member", "sales", "token", "create"},
		{"officer", "sales", "product", "update"},
		// A role name is not a principal with that role.
		{"platform-admin", "sales", "product", "read"},
		// Objects and actions are matched literally, not as patterns.
		{"viewer", "sales", "*", "read"},
		{"viewer", "sales", "product", "*"},
	}
	for _, tt := range tests {
		if a.Allowed(tt.sub, tt.dom, tt.obj, tt.act) {
			t.Errorf("Allowed(%q, %q, %q, %q) = true, want false", tt.sub, tt.dom, tt.obj, tt.act)
		}
	}
}

func TestLoadReplacesBindings(t *testing.T) {
	a := newAuthorizer(t, access.Binding{Principal: "alice", Role: access.RoleDomainOwner, Domain: "sales"})
	if !a.Allowed("alice", "sales", "product", "delete") {
		t.Fatal("alice is not owner of sales")
	}
	if err := a.Load([]access.Binding{{Principal: "alice", Role: access.RoleViewer, Domain: "sales"}}); err != nil {
		t.Fatal(err)
	}
	// The cached decision from before the swap must not survive it.
	if a.Allowed("alice", "sales", "product", "delete") {
		t.Error("alice kept a role the reload removed")
	}
	if !a.Allowed("alice", "sales", "product", "read") {
		t.Error("alice lacks the viewer role the reload added")
	}
	if err := a.Load(nil); err != nil {
		t.Fatal(err)
	}
	if a.Allowed("alice", "sales", "product", "read") {
		t.Error("alice kept a role after every binding was removed")
	}
}

func TestCanAndRequire(t *testing.T) {
	a := newAuthorizer(t, defaultBindings...)
	ctx := actor.With(context.Background(), actor.Actor{Name: "member"})
	if !a.Can(ctx, "sales", "product", "create") {
		t.Error("member may not create products in sales")
	}
	if err := a.Require(ctx, "sales", "product", "create"); err != nil {
		t.Errorf("Require: %v", err)
	}
	err := a.Require(ctx, "sales", "product", "delete")
	if errs.KindOf(err) != errs.KindPermissionDenied {
		t.Fatalf("Require(delete) = %v, want permission denied", err)
	}
	if !strings.Contains(err.Error(), "member may not delete product in domain sales") {
		t.Errorf("message %q", err)
	}
	err = a.Require(ctx, access.AllDomains, "product", "create")
	if err == nil || !strings.Contains(err.Error(), "in every domain") {
		t.Errorf("Require in every domain = %v", err)
	}
	// Without an actor nothing is allowed, not even what a binding for "" would grant.
	if a.Can(context.Background(), "sales", "product", "read") {
		t.Error("Can without an actor = true")
	}
	err = a.Require(context.Background(), "sales", "product", "read")
	if err == nil || !strings.Contains(err.Error(), "an anonymous caller may not") {
		t.Errorf("Require without an actor = %v", err)
	}
}

func TestScopeOf(t *testing.T) {
	a := newAuthorizer(t, append(slices.Clone(defaultBindings),
		access.Binding{Principal: "multi", Role: access.RoleDomainOwner, Domain: "sales"},
		access.Binding{Principal: "multi", Role: access.RoleViewer, Domain: "marketing"},
		access.Binding{Principal: "multi", Role: access.RoleDomainMember, Domain: "finance"},
		access.Binding{Principal: "multi", Role: access.RoleViewer, Domain: "finance"},
	)...)
	tests := []struct {
		who, obj, act string
		want          access.Scope
	}{
		{"admin", "product", "delete", access.Scope{All: true}},
		{"officer", "product", "read", access.Scope{All: true}},
		{"officer", "product", "update", access.Scope{}},
		{"everywhere-viewer", "product", "read", access.Scope{All: true}},
		{"owner", "product", "delete", access.Scope{Domains: []string{"sales"}}},
		{"owner", "policy", "update", access.Scope{}},
		{"viewer", "product", "read", access.Scope{Domains: []string{"sales"}}},
		{"viewer", "product", "create", access.Scope{}},
		{"multi", "product", "read", access.Scope{Domains: []string{"finance", "marketing", "sales"}}},
		{"multi", "product", "create", access.Scope{Domains: []string{"finance", "sales"}}},
		{"multi", "product", "delete", access.Scope{Domains: []string{"sales"}}},
		{"stranger", "product", "read", access.Scope{}},
	}
	for _, tt := range tests {
		ctx := actor.With(context.Background(), actor.Actor{Name: tt.who})
		got := a.ScopeOf(ctx, tt.obj, tt.act)
		if got.All != tt.want.All || !slices.Equal(got.Domains, tt.want.Domains) {
			t.Errorf("ScopeOf(%s, %s, %s) = %+v, want %+v", tt.who, tt.obj, tt.act, got, tt.want)
		}
	}
	if got := a.ScopeOf(context.Background(), "product", "read"); got.All || len(got.Domains) != 0 {
		t.Errorf("ScopeOf without an actor = %+v", got)
	}
}

func TestScopeContains(t *testing.T) {
	if !(access.Scope{All: true}).Contains("anything") {
		t.Error("All scope does not contain a domain")
	}
	s := access.Scope{Domains: []string{"finance", "sales"}}
	if !s.Contains("sales") || s.Contains("marketing") || s.Contains("") {
		t.Errorf("%+v.Contains is wrong", s)
	}
	if (access.Scope{}).Contains("sales") {
		t.Error("empty scope contains a domain")
	}
}

// TestLoadIsAtomic checks that concurrent decisions during reloads see either
// the old or the new rule set, never one without a binding both share.
func TestLoadIsAtomic(t *testing.T) {
	stable := []access.Binding{
		{Principal: "alice", Role: access.RoleDomainOwner, Domain: "sales"},
		{Principal: "bob", Role: access.RoleViewer, Domain: access.AllDomains},
	}
	a := newAuthorizer(t, stable...)

	var stop atomic.Bool
	var checks, failures atomic.Int64
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				// Vary requests so the per-enforcer cache does not answer every check.
				dom := fmt.Sprintf("d%d", (i+w)%50)
				ok := a.Allowed("alice", "sales", "product", "delete") &&
					a.Allowed("bob", dom, "product", "read") &&
					!a.Allowed("bob", dom, "product", "update")
				checks.Add(1)
				if !ok {
					failures.Add(1)
				}
			}
		}()
	}
	for round := range 200 {
		bindings := slices.Clone(stable)
		for j := range round % 40 {
			bindings = append(bindings, access.Binding{
				Principal: fmt.Sprintf("p%d", j), Role: access.RoleDomainMember, Domain: fmt.Sprintf("d%d", (round+j)%50),
			})
		}
		if err := a.Load(bindings); err != nil {
			t.Error(err)
			break
		}
	}
	stop.Store(true)
	wg.Wait()
	if failures.Load() > 0 {
		t.Errorf("%d of %d concurrent checks saw a rule set missing an unchanged binding", failures.Load(), checks.Load())
	}
	if checks.Load() == 0 {
		t.Error("no concurrent checks ran")
	}
}

// referenceEnforcer enforces the embedded model and policy with plain Casbin,
// the definition Authorizer's decisions must agree with.
func referenceEnforcer(t *testing.T, policy string, bindings []access.Binding) *casbin.Enforcer {
	t.Helper()
	m, err := model.NewModelFromString(policies.RBACModel)
	if err != nil {
		t.Fatal(err)
	}
	e, err := casbin.NewEnforcer(m)
	if err != nil {
		t.Fatal(err)
	}
	rules, _, err := access.ParsePolicy(policy)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.AddPolicies(rules); err != nil {
		t.Fatal(err)
	}
	for _, b := range bindings {
		if _, err := e.AddGroupingPolicy(b.Principal, "role:"+b.Role, b.Domain); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// altPolicy redefines every default role differently and adds one, for
// checks that decisions follow role definitions replaced at run time.
const altPolicy = `# Every default role, redefined, and one more.
p, role:platform-admin, *, *
p, role:governance-officer, *, read
p, role:domain-owner, product, *
p, role:domain-owner, domain, update
p, role:domain-member, product, update-draft
p, role:domain-member, *, read
p, role:viewer, product, read
p, role:auditor, audit, read
p, role:auditor, rolebinding, read
`

// TestAllowedMatchesCasbin compares every decision, and every scope, with
// plain Casbin enforcing the same model, policy and bindings — including
// bindings whose principal is a role, which make role links chain, and role
// definitions replaced before or after the bindings were loaded.
func TestAllowedMatchesCasbin(t *testing.T) {
	cases := []struct {
		name   string
		policy string
		seeds  uint64
		setup  func(t *testing.T, bindings []access.Binding) *access.Authorizer
	}{
		{"default policy", policies.RBACPolicy, 12, func(t *testing.T, bindings []access.Binding) *access.Authorizer {
			return newAuthorizer(t, bindings...)
		}},
		{"policy replaced, then bindings loaded", altPolicy, 6, func(t *testing.T, bindings []access.Binding) *access.Authorizer {
			a := newAuthorizer(t)
			if err := a.SetPolicy(altPolicy, nil); err != nil {
				t.Fatal(err)
			}
			if err := a.Load(bindings); err != nil {
				t.Fatal(err)
			}
			return a
		}},
		{"bindings loaded, then policy replaced", altPolicy, 6, func(t *testing.T, bindings []access.Binding) *access.Authorizer {
			a := newAuthorizer(t, bindings...)
			if err := a.SetPolicy(altPolicy, nil); err != nil {
				t.Fatal(err)
			}
			return a
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			matchCasbin(t, c.policy, c.seeds, c.setup)
		})
	}
}

func matchCasbin(t *testing.T, policy string, seeds uint64, setup func(*testing.T, []access.Binding) *access.Authorizer) {
	principals := []string{"alice", "bob", "carol", "", "role:viewer", "role:domain-member", "role:platform-admin"}
	roles := []string{access.RolePlatformAdmin, access.RoleGovernanceOfficer, access.RoleDomainOwner, access.RoleDomainMember, access.RoleViewer, "auditor", "undefined"}
	domains := []string{"sales", "marketing", access.AllDomains, ""}
	askPrincipals := append(slices.Clone(principals), "stranger", "role:governance-officer", "role:auditor", "role:")
	askDomains := append(slices.Clone(domains), "finance")
	requests := append(slices.Clone(allRequests), request{"*", "*"}, request{"product", "*"}, request{"", ""})

	for seed := range seeds {
		rng := rand.New(rand.NewPCG(seed, 1))
		// Even seeds use only plain principals; odd ones may chain through roles.
		pool := principals[:4]
		if seed%2 == 1 {
			pool = principals
		}
		var bindings []access.Binding
		for range rng.IntN(12) {
			bindings = append(bindings, access.Binding{
				Principal: pool[rng.IntN(len(pool))],
				Role:      roles[rng.IntN(len(roles))],
				Domain:    domains[rng.IntN(len(domains))],
			})
		}
		a := setup(t, bindings)
		ref := referenceEnforcer(t, policy, bindings)
		var allowed, denied int
		for _, sub := range askPrincipals {
			for _, dom := range askDomains {
				for _, r := range requests {
					want, err := ref.Enforce(sub, dom, r.obj, r.act)
					if err != nil {
						t.Fatal(err)
					}
					if want {
						allowed++
					} else {
						denied++
					}
					// Ask twice: the second answer may come from a cache.
					for range 2 {
						if got := a.Allowed(sub, dom, r.obj, r.act); got != want {
							t.Fatalf("seed %d, bindings %v: Allowed(%q, %q, %q, %q) = %v, Casbin says %v",
								seed, bindings, sub, dom, r.obj, r.act, got, want)
						}
					}
				}
			}
			for _, r := range requests {
				want := referenceScope(t, ref, sub, r.obj, r.act)
				got := a.ScopeOf(actor.With(context.Background(), actor.Actor{Name: sub}), r.obj, r.act)
				if got.All != want.All || !slices.Equal(got.Domains, want.Domains) {
					t.Fatalf("seed %d, bindings %v: ScopeOf(%q, %q, %q) = %+v, Casbin says %+v",
						seed, bindings, sub, r.obj, r.act, got, want)
				}
			}
		}
		if seed > 4 && (allowed == 0 || denied == 0) {
			t.Fatalf("seed %d: %d allowed, %d denied: the comparison is one-sided", seed, allowed, denied)
		}
	}
}

func referenceScope(t *testing.T, e *casbin.Enforcer, sub, obj, act string) access.Scope {
	t.Helper()
	if ok, _ := e.Enforce(sub, access.AllDomains, obj, act); ok {
		return access.Scope{All: true}
	}
	domains, err := e.GetDomainsForUser(sub)
	if err != nil {
		t.Fatal(err)
	}
	var s access.Scope
	for _, d := range domains {
		if ok, _ := e.Enforce(sub, d, obj, act); ok && d != access.AllDomains && !slices.Contains(s.Domains, d) {
			s.Domains = append(s.Domains, d)
		}
	}
	slices.Sort(s.Domains)
	return s
}

// bench10k returns 10,000 bindings spread over 1,000 principals and 1,000
// domains: each principal holds 10 domain roles, and a few hold global roles.
func bench10k() []access.Binding {
	roles := []string{access.RoleDomainOwner, access.RoleDomainMember, access.RoleViewer}
	out := make([]access.Binding, 0, 10_000)
	for p := range 1000 {
		for k := range 10 {
			b := access.Binding{
				Principal: fmt.Sprintf("u%04d", p),
				Role:      roles[(p+k)%len(roles)],
				Domain:    fmt.Sprintf("d%04d", (p*7+k*101)%1000),
			}
			if k == 9 && p%100 == 0 {
				b.Role, b.Domain = access.RoleViewer, access.AllDomains
			}
			out = append(out, b)
		}
	}
	return out
}

var benchObjActs = []request{
	{"product", "read"}, {"product", "update-draft"}, {"product", "delete"}, {"domain", "read"},
	{"token", "create"}, {"rolebinding", "create"}, {"audit", "read"}, {"principal", "update"},
}

type benchReq struct{ sub, dom, obj, act string }

// benchRequests returns n distinct requests (n <= 160,000), alternating between
// a domain the principal is bound in and one it is not bound in.
func benchRequests(n int) []benchReq {
	out := make([]benchReq, n)
	for i := range out {
		m := i / 2
		p := m % 1000
		var k, oa int
		if i%2 == 0 {
			k, oa = (m/1000)%10, (m/10_000+m)%len(benchObjActs)
		} else {
			k, oa = 10+(m/1000)%990, (m/990_000+m)%len(benchObjActs)
		}
		// k -> domain is a bijection on [0, 1000) because 101 is coprime to 1000;
		// k < 10 are exactly the principal's bound domains.
		d := (p*7 + k*101) % 1000
		out[i] = benchReq{fmt.Sprintf("u%04d", p), fmt.Sprintf("d%04d", d), benchObjActs[oa].obj, benchObjActs[oa].act}
	}
	return out
}

const maxDistinct = 160_000

func BenchmarkAllowed10kBindings(b *testing.B) {
	bindings := bench10k()
	a := newAuthorizer(b, bindings...)
	// Sanity: the bindings are loaded and decisions are not uniformly false.
	if !a.Allowed("u0000", "d0000", "product", "read") || a.Allowed("u0001", "d0000", "product", "read") {
		b.Fatal("bindings not loaded as expected")
	}
	reqs := benchRequests(maxDistinct)
	if n := len(slices.CompactFunc(slices.SortedFunc(slices.Values(reqs), func(x, y benchReq) int {
		return strings.Compare(x.sub+" "+x.dom+" "+x.obj+" "+x.act, y.sub+" "+y.dom+" "+y.obj+" "+y.act)
	}), func(x, y benchReq) bool { return x == y })); n != len(reqs) {
		b.Fatalf("only %d of %d benchmark requests are distinct", n, len(reqs))
	}
	var allowed int
	for _, r := range reqs[:2000] {
		if a.Allowed(r.sub, r.dom, r.obj, r.act) {
			allowed++
		}
	}
	if allowed < 200 || allowed > 1200 {
		b.Fatalf("%d of 2000 requests allowed: the mix is not a mix", allowed)
	}

	// A working set of 512 requests, answered from the decision cache after the first round.
	working := reqs[:512]

	b.Run("cached", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			r := working[i%len(working)]
			a.Allowed(r.sub, r.dom, r.obj, r.act)
		}
	})

	b.Run("cached-parallel", func(b *testing.B) {
		b.ReportAllocs()
		var next atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			i := int(next.Add(100))
			for pb.Next() {
				r := working[i%len(working)]
				a.Allowed(r.sub, r.dom, r.obj, r.act)
				i++
			}
		})
	})

	b.Run("uncached", func(b *testing.B) {
		// Every request is new to the authorizer deciding it: each is decided
		// from scratch. After maxDistinct requests a fresh authorizer takes over.
		b.ReportAllocs()
		var fresh *access.Authorizer
		for i := 0; i < b.N; i++ {
			j := i % maxDistinct
			if j == 0 {
				b.StopTimer()
				fresh = newAuthorizer(b, bindings...)
				b.StartTimer()
			}
			r := reqs[j]
			fresh.Allowed(r.sub, r.dom, r.obj, r.act)
		}
	})
}

func BenchmarkScopeOf10kBindings(b *testing.B) {
	a := newAuthorizer(b, bench10k()...)
	ctxs := make([]context.Context, 1000)
	for p := range ctxs {
		ctxs[p] = actor.With(context.Background(), actor.Actor{Name: fmt.Sprintf("u%04d", p)})
	}
	if s := a.ScopeOf(ctxs[1], "product", "read"); s.All || len(s.Domains) != 10 {
		b.Fatalf("ScopeOf(u0001) = %+v, want 10 domains", s)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		a.ScopeOf(ctxs[i%len(ctxs)], "product", "read")
	}
}

// TestEnvironmentScopedRules: a rule on provision@dev holds in dev alone; a
// rule on provision holds in every environment; only provision may be
// narrowed, to a well-formed environment name.
func TestEnvironmentScopedRules(t *testing.T) {
	a := newAuthorizer(t,
		access.Binding{Principal: "mark", Role: access.RoleDomainMember, Domain: "sales"},
		access.Binding{Principal: "olivia", Role: access.RoleDomainOwner, Domain: "sales"},
		access.Binding{Principal: "root", Role: access.RolePlatformAdmin, Domain: access.AllDomains})
	dev, prod := access.Scoped(access.ObjProvision, "dev"), access.Scoped(access.ObjProvision, "prod")
	for _, c := range []struct {
		who, domain, obj, act string
		want                  bool
	}{
		{"mark", "sales", dev, "approve", true},
		{"mark", "sales", prod, "approve", false},
		{"mark", "sales", access.ObjProvision, "approve", false},
		{"mark", "marketing", dev, "approve", false},
		{"mark", "sales", prod, "plan", true},
		{"mark", "sales", dev, "decommission", false},
		{"olivia", "sales", prod, "approve", true},
		{"olivia", "sales", prod, "approve-destructive", true},
		{"olivia", "marketing", prod, "approve", false},
		{"root", "marketing", prod, "approve", true},
	} {
		if got := a.Allowed(c.who, c.domain, c.obj, c.act); got != c.want {
			t.Errorf("Allowed(%s, %s, %s, %s) = %v, want %v", c.who, c.domain, c.obj, c.act, got, c.want)
		}
	}
	if !a.HasRole("mark", "sales", access.RoleDomainMember) || a.HasRole("mark", "marketing", access.RoleDomainMember) ||
		a.HasRole("mark", "sales", access.RoleGovernanceOfficer) || !a.HasRole("root", "sales", access.RoleGovernanceOfficer) {
		t.Error("HasRole: members hold their role in their domain alone; a platform admin holds every role")
	}
	for policy, want := range map[string]string{
		"p, role:xx, provision@prod, approve\n": "",
		"p, role:xx, provision@prod, *\n":       "",
		"p, role:xx, product@dev, read\n":       `object type "product" cannot be narrowed to an environment: only provision, grant, credential can`,
		"p, role:xx, grant@dev, request\n":      "",
		"p, role:xx, credential@dev, issue\n":   "",
		"p, role:xx, grant@dev, publish\n":      `unknown action "publish" on grant`,
		"p, role:xx, provision@Prod, approve\n": `environment "Prod" in "provision@Prod" must be 2 to 63 lowercase letters`,
		"p, role:xx, provision@prod, publish\n": `unknown action "publish" on provision`,
	} {
		err := access.ValidatePolicy(adminLine+policy, nil)
		if (want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("ValidatePolicy(%q) = %v, want %q", policy, err, want)
		}
	}
}
