package access_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/meshplane/meshplane/policies"
	"github.com/meshplane/meshplane/server/access"
	"github.com/meshplane/meshplane/server/actor"
	"github.com/meshplane/meshplane/server/errs"
)

const adminLine = "p, role:platform-admin, *, *\n"

var defaultRoles = []string{access.RolePlatformAdmin, access.RoleGovernanceOfficer, access.RoleDomainOwner, access.RoleDomainMember, access.RoleViewer}

func TestDefaultPolicyIsValid(t *testing.T) {
	if err := access.ValidatePolicy(policies.RBACPolicy, defaultRoles); err != nil {
		t.Fatalf("the embedded policy is invalid: %v", err)
	}
	a := newAuthorizer(t)
	if got := a.PolicyText(); got != policies.RBACPolicy {
		t.Errorf("PolicyText() on start = %q, want the embedded policy", got)
	}
	if !slices.Equal(a.Roles(), defaultRoles) {
		t.Errorf("Roles() = %v, want %v", a.Roles(), defaultRoles)
	}
}

func TestKnownActions(t *testing.T) {
	objects := []string{access.ObjDomain, access.ObjProduct, access.ObjProvision, access.ObjPrincipal, access.ObjToken, access.ObjRoleBinding, access.ObjAudit, access.ObjPolicy, access.ObjRBAC, access.ObjGrant, access.ObjCredential, access.ObjWebhook}
	if len(access.KnownActions) != len(objects) {
		t.Errorf("KnownActions has %d object types, want %d", len(access.KnownActions), len(objects))
	}
	for _, o := range objects {
		acts := access.KnownActions[o]
		if len(acts) == 0 {
			t.Errorf("KnownActions[%q] is empty", o)
		}
		if !slices.Contains(acts, access.ActRead) {
			t.Errorf("KnownActions[%q] = %v lacks read", o, acts)
		}
		if len(slices.Compact(slices.Sorted(slices.Values(acts)))) != len(acts) {
			t.Errorf("KnownActions[%q] = %v repeats an action", o, acts)
		}
		if slices.Contains(acts, "*") || slices.Contains(acts, "") {
			t.Errorf("KnownActions[%q] = %v holds a wildcard or an empty action", o, acts)
		}
	}
	for obj, acts := range map[string][]string{
		access.ObjProduct:    {access.ActReadPII, access.ActUpdateDraft, access.ActDeleteDraft},
		access.ObjProvision:  {"plan", "approve", "approve-destructive", "cancel", "decommission", "operate"},
		access.ObjToken:      {access.ActRevoke},
		access.ObjPolicy:     {access.ActDraft, access.ActTest, access.ActPublish},
		access.ObjRBAC:       {access.ActUpdate},
		access.ObjGrant:      {access.ActRequest, access.ActApprove, access.ActGovern, access.ActRevoke},
		access.ObjCredential: {access.ActIssue},
	} {
		for _, act := range acts {
			if !slices.Contains(access.KnownActions[obj], act) {
				t.Errorf("KnownActions[%q] lacks %q", obj, act)
			}
		}
	}
}

func TestValidatePolicy(t *testing.T) {
	const (
		knownObjects = "audit, credential, domain, grant, policy, principal, product, provision, rbac, rolebinding, token, webhook"
		productActs  = "read, create, update, delete, update-draft, delete-draft, read-pii"
		shape        = `want "p, role:NAME, OBJECT, ACTION", got `
		nameRule     = "must be 2 to 63 lowercase letters, digits and hyphens, starting with a letter"
		notDefined   = `role "platform-admin" is not defined: it must keep "p, role:platform-admin, *, *" so someone can always administer the platform`
		lacksAll     = `role "platform-admin" lacks "p, role:platform-admin, *, *": it must keep every permission so someone can always administer the platform`
	)
	// v is a violation: its path and message.
	type v struct{ path, message string }
	tests := []struct {
		name   string
		policy string
		bound  []string
		want   []v // nil: the policy is valid
	}{
		{name: "platform-admin alone", policy: adminLine},
		{name: "every object and action", policy: adminLine + func() string {
			var b strings.Builder
			for obj, acts := range access.KnownActions {
				for _, act := range slices.Concat(acts, []string{"*"}) {
					fmt.Fprintf(&b, "p, role:all-%s, %s, %s\n", obj, obj, act)
				}
			}
			return b.String()
		}()},
		{name: "comments, blank lines, CRLF and spacing", policy: "# roles\r\n\r\n  p,role:platform-admin,*,*\r\n\t# indented\np ,\trole:a1 , product ,read-pii  \r\n"},
		{name: "wildcard object with an action some object has", policy: adminLine + "p, role:reader, *, read\np, role:planner, *, plan\n"},
		{name: "longest role name", policy: adminLine + "p, role:a" + strings.Repeat("b", 62) + ", audit, read\n"},
		{name: "bound roles defined", policy: adminLine + "p, role:viewer, product, read\n", bound: []string{"viewer", "platform-admin", "viewer"}},

		{name: "too few fields", policy: adminLine + "p, role:viewer, product\n",
			want: []v{{"policy.lines[2]", shape + `"p, role:viewer, product"`}}},
		{name: "too many fields", policy: adminLine + "p, role:viewer, product, read, allow",
			want: []v{{"policy.lines[2]", shape + `"p, role:viewer, product, read, allow"`}}},
		{name: "grouping line", policy: adminLine + "g, alice, role:viewer, sales",
			want: []v{{"policy.lines[2]", shape + `"g, alice, role:viewer, sales"`}}},
		{name: "uppercase P", policy: adminLine + "  P, role:viewer, product, read  ",
			want: []v{{"policy.lines[2]", shape + `"P, role:viewer, product, read"`}}},
		{name: "no commas", policy: adminLine + "p role:viewer product read",
			want: []v{{"policy.lines[2]", shape + `"p role:viewer product read"`}}},
		{name: "subject without role prefix", policy: adminLine + "p, alice, product, read",
			want: []v{{"policy.lines[2]", `subject "alice" must be "role:NAME"`}}},
		{name: "role prefix with different case", policy: adminLine + "p, Role:viewer, product, read",
			want: []v{{"policy.lines[2]", `subject "Role:viewer" must be "role:NAME"`}}},
		{name: "empty role name", policy: adminLine + "p, role:, product, read",
			want: []v{{"policy.lines[2]", `role name "" ` + nameRule}}},
		{name: "one-letter role name", policy: adminLine + "p, role:a, product, read",
			want: []v{{"policy.lines[2]", `role name "a" ` + nameRule}}},
		{name: "uppercase role name", policy: adminLine + "p, role:Viewer, product, read",
			want: []v{{"policy.lines[2]", `role name "Viewer" ` + nameRule}}},
		{name: "role name starting with a digit", policy: adminLine + "p, role:1viewer, product, read",
			want: []v{{"policy.lines[2]", `role name "1viewer" ` + nameRule}}},
		{name: "role name with an underscore", policy: adminLine + "p, role:data_viewer, product, read",
			want: []v{{"policy.lines[2]", `role name "data_viewer" ` + nameRule}}},
		{name: "role name with a space", policy: adminLine + "p, role:data viewer, product, read",
			want: []v{{"policy.lines[2]", `role name "data viewer" ` + nameRule}}},
		{name: "role name too long", policy: adminLine + "p, role:a" + strings.Repeat("b", 63) + ", product, read",
			want: []v{{"policy.lines[2]", `role name "a` + strings.Repeat("b", 63) + `" ` + nameRule}}},
		{name: "unknown object", policy: adminLine + "p, role:viewer, products, read",
			want: []v{{"policy.lines[2]", `unknown object type "products": want * or one of ` + knownObjects}}},
		{name: "object in another case", policy: adminLine + "p, role:viewer, Product, read",
			want: []v{{"policy.lines[2]", `unknown object type "Product": want * or one of ` + knownObjects}}},
		{name: "empty object", policy: adminLine + "p, role:viewer, , read",
			want: []v{{"policy.lines[2]", `unknown object type "": want * or one of ` + knownObjects}}},
		{name: "action of another object", policy: adminLine + "p, role:viewer, product, approve",
			want: []v{{"policy.lines[2]", `unknown action "approve" on product: want * or one of ` + productActs}}},
		{name: "action in another case", policy: adminLine + "p, role:viewer, product, READ",
			want: []v{{"policy.lines[2]", `unknown action "READ" on product: want * or one of ` + productActs}}},
		{name: "empty action", policy: adminLine + "p, role:viewer, audit, ",
			want: []v{{"policy.lines[2]", `unknown action "" on audit: want * or one of read`}}},
		{name: "wildcard object with an action no object has", policy: adminLine + "p, role:viewer, *, fly",
			want: []v{{"policy.lines[2]", `unknown action "fly": no object type has it`}}},
		{name: "duplicate line", policy: adminLine + "p, role:viewer, product, read\n# again\np,role:viewer,product,read\n",
			want: []v{{"policy.lines[4]", "duplicates line 2"}}},
		{name: "duplicate platform-admin line", policy: adminLine + adminLine,
			want: []v{{"policy.lines[2]", "duplicates line 1"}}},
		{name: "empty", policy: "",
			want: []v{{"policy", notDefined}}},
		{name: "missing platform-admin", policy: "p, role:viewer, product, read\n",
			want: []v{{"policy", notDefined}}},
		{name: "platform-admin commented out", policy: "# " + adminLine + "p, role:viewer, product, read\n",
			want: []v{{"policy", notDefined}}},
		{name: "platform-admin without every object", policy: "p, role:platform-admin, product, *\np, role:platform-admin, domain, *\n",
			want: []v{{"policy", lacksAll}}},
		{name: "platform-admin without every action", policy: "p, role:platform-admin, *, read\n",
			want: []v{{"policy", lacksAll}}},
		{name: "removing a bound role", policy: adminLine + "p, role:viewer, product, read\n", bound: []string{"viewer", "auditor", "auditor"},
			want: []v{{"policy", `role "auditor" is not defined, but role bindings use it: keep its definition or delete those bindings first`}}},
		{name: "removing bound roles", policy: adminLine, bound: []string{"viewer", "auditor"},
			want: []v{
				{"policy", `role "auditor" is not defined, but role bindings use it: keep its definition or delete those bindings first`},
				{"policy", `role "viewer" is not defined, but role bindings use it: keep its definition or delete those bindings first`},
			}},
		{name: "too many bytes", policy: adminLine + strings.Repeat("#", access.MaxPolicyBytes),
			want: []v{{"policy", fmt.Sprintf("is %d bytes, more than the limit of 65536", len(adminLine)+access.MaxPolicyBytes)}}},
		{name: "too many lines", policy: adminLine + strings.Repeat("\n", access.MaxPolicyLines),
			want: []v{{"policy", "has 2001 lines, more than the limit of 2000"}}},
		{name: "every violation", policy: "p, role:viewer, product\np, role:X, products, read\np, role:viewer, product, fly\np, role:viewer, *, *\np , role:viewer,*,*\n",
			bound: []string{"auditor"},
			want: []v{
				{"policy.lines[1]", shape + `"p, role:viewer, product"`},
				{"policy.lines[2]", `role name "X" ` + nameRule},
				{"policy.lines[2]", `unknown object type "products": want * or one of ` + knownObjects},
				{"policy.lines[3]", `unknown action "fly" on product: want * or one of ` + productActs},
				{"policy.lines[5]", "duplicates line 4"},
				{"policy", notDefined},
				{"policy", `role "auditor" is not defined, but role bindings use it: keep its definition or delete those bindings first`},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := access.ValidatePolicy(tt.policy, tt.bound)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("ValidatePolicy: %v", err)
				}
				return
			}
			if errs.KindOf(err) != errs.KindInvalidArgument {
				t.Fatalf("ValidatePolicy = %v, want invalid argument", err)
			}
			var got []v
			for _, f := range errs.As(err).Fields {
				got = append(got, v{f.Path, f.Message})
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("violations:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestValidatePolicyLineLimit(t *testing.T) {
	// The limit counts lines, not line breaks: a final newline ends the last line.
	policy := adminLine + strings.Repeat("#\n", access.MaxPolicyLines-1)
	if err := access.ValidatePolicy(policy, nil); err != nil {
		t.Errorf("%d lines: %v", access.MaxPolicyLines, err)
	}
	if err := access.ValidatePolicy(policy+"#", nil); err == nil {
		t.Errorf("%d lines accepted", access.MaxPolicyLines+1)
	}
}

func TestNewRejectsInvalidPolicy(t *testing.T) {
	_, err := access.New(policies.RBACModel, "p, role:viewer, product, read")
	if errs.KindOf(err) != errs.KindInvalidArgument || !strings.Contains(err.Error(), `role "platform-admin" is not defined`) {
		t.Errorf("New without platform-admin = %v", err)
	}
}

// decisions records every decision and scope of a for the default bindings'
// principals, so tests can tell whether anything changed.
func decisions(a *access.Authorizer) []string {
	var out []string
	for _, b := range append(slices.Clone(defaultBindings), access.Binding{Principal: "auditor"}, access.Binding{Principal: "stranger"}) {
		for _, r := range allRequests {
			for _, dom := range []string{"sales", "marketing", access.AllDomains} {
				out = append(out, fmt.Sprintf("%s %s %s %s %v", b.Principal, dom, r.obj, r.act, a.Allowed(b.Principal, dom, r.obj, r.act)))
			}
			s := a.ScopeOf(actor.With(context.Background(), actor.Actor{Name: b.Principal}), r.obj, r.act)
			out = append(out, fmt.Sprintf("%s scope %s %s %+v", b.Principal, r.obj, r.act, s))
		}
	}
	return out
}

func TestSetPolicy(t *testing.T) {
	a := newAuthorizer(t, defaultBindings...)
	policy := policies.RBACPolicy + "\n# auditor: reads the audit log.\np, role:auditor, audit, read\np, role:viewer, product, read-pii\n"
	if err := a.SetPolicy(policy, []string{access.RoleViewer}); err != nil {
		t.Fatalf("SetPolicy: %v", err)
	}
	if got := a.PolicyText(); got != policy {
		t.Errorf("PolicyText() = %q, want the policy just set", got)
	}
	if want := append(slices.Clone(defaultRoles), "auditor"); !slices.Equal(a.Roles(), want) {
		t.Errorf("Roles() = %v, want %v", a.Roles(), want)
	}
	if !a.IsRole("auditor") {
		t.Error(`IsRole("auditor") = false after SetPolicy defined it`)
	}
	if !a.Allowed("viewer", "sales", "product", "read-pii") || a.Allowed("viewer", "marketing", "product", "read-pii") {
		t.Error("viewer's new rule does not hold in exactly its domain")
	}
	// Nobody is bound to auditor yet; Load after SetPolicy binds to the new role.
	if a.Allowed("auditor", "sales", "audit", "read") {
		t.Error("an unbound principal reads the audit log")
	}
	if err := a.Load(append(slices.Clone(defaultBindings), access.Binding{Principal: "auditor", Role: "auditor", Domain: "sales"})); err != nil {
		t.Fatal(err)
	}
	if !a.Allowed("auditor", "sales", "audit", "read") || a.Allowed("auditor", "sales", "product", "read") {
		t.Error("Load after SetPolicy does not bind to the new definitions")
	}
	if a.PolicyText() != policy {
		t.Error("Load changed the role definitions")
	}

	// A role nobody is bound to may be removed; its rules go with it.
	without := strings.ReplaceAll(policies.RBACPolicy, "p, role:domain-member,", "# p, role:domain-member,") + "p, role:auditor, audit, read\n"
	if err := a.Load([]access.Binding{{Principal: "auditor", Role: "auditor", Domain: "sales"}}); err != nil {
		t.Fatal(err)
	}
	if err := a.SetPolicy(without, nil); err != nil {
		t.Fatalf("SetPolicy without an unbound role: %v", err)
	}
	if a.IsRole(access.RoleDomainMember) || slices.Contains(a.Roles(), access.RoleDomainMember) {
		t.Error("the removed role is still defined")
	}
	if a.Allowed("role:domain-member", "sales", "product", "read") {
		t.Error("the removed role's rules still match")
	}
	if !a.Allowed("auditor", "sales", "audit", "read") {
		t.Error("SetPolicy dropped the loaded bindings")
	}
}

func TestSetPolicyFailureKeepsOldPolicy(t *testing.T) {
	a := newAuthorizer(t, defaultBindings...)
	before := decisions(a)
	withoutViewer := strings.ReplaceAll(policies.RBACPolicy, "p, role:viewer,", "# p, role:viewer,")
	tests := []struct {
		name, policy string
		bound        []string
		wantPath     string
		wantMessage  string
	}{
		{"malformed line", policies.RBACPolicy + "p, role:auditor, audit", nil,
			fmt.Sprintf("policy.lines[%d]", strings.Count(policies.RBACPolicy, "\n")+1), `want "p, role:NAME, OBJECT, ACTION"`},
		{"unknown action", strings.Replace(policies.RBACPolicy, "p, role:viewer, product, read", "p, role:viewer, product, preview", 1), nil,
			"policy.lines[", `unknown action "preview" on product`},
		{"no platform-admin", strings.ReplaceAll(policies.RBACPolicy, "p, role:platform-admin, *, *", ""), nil,
			"policy", `role "platform-admin" is not defined`},
		{"removing a role the caller says is bound", withoutViewer, []string{access.RoleViewer},
			"policy", `role "viewer" is not defined, but role bindings use it`},
		// The loaded bindings bind viewer even when the caller passes no bound roles.
		{"removing a role the loaded bindings use", withoutViewer, nil,
			"policy", `role "viewer" is not defined, but role bindings use it`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := a.SetPolicy(tt.policy, tt.bound)
			if errs.KindOf(err) != errs.KindInvalidArgument {
				t.Fatalf("SetPolicy = %v, want invalid argument", err)
			}
			if !slices.ContainsFunc(errs.As(err).Fields, func(f errs.FieldViolation) bool {
				return strings.HasPrefix(f.Path, tt.wantPath) && strings.Contains(f.Message, tt.wantMessage)
			}) {
				t.Errorf("SetPolicy = %v, want a violation at %s saying %q", err, tt.wantPath, tt.wantMessage)
			}
			if a.PolicyText() != policies.RBACPolicy {
				t.Error("a failed SetPolicy changed PolicyText")
			}
			if !slices.Equal(a.Roles(), defaultRoles) {
				t.Errorf("a failed SetPolicy changed Roles to %v", a.Roles())
			}
			if after := decisions(a); !slices.Equal(after, before) {
				t.Error("a failed SetPolicy changed decisions")
			}
		})
	}
}

// TestSetPolicyIsAtomic swaps between two policies while checks run and
// requires every decision, and every scope, to be the one policy A or policy
// B gives — never a mix such as one role's new rules with another's old ones.
func TestSetPolicyIsAtomic(t *testing.T) {
	// alice's product update in sales comes from editor under A and from
	// auditor (bound in every domain) under B: a decision that read editor's
	// rules from B and auditor's from A would deny it.
	policyA := adminLine + "p, role:editor, product, update\np, role:editor, product, read\np, role:auditor, audit, read\n"
	policyB := adminLine + "p, role:editor, audit, read\np, role:auditor, product, update\np, role:auditor, product, read\np, role:auditor, audit, read\np, role:reviewer, policy, test\n"
	plain := []access.Binding{
		{Principal: "alice", Role: "editor", Domain: "sales"},
		{Principal: "alice", Role: "auditor", Domain: access.AllDomains},
		{Principal: "bob", Role: "auditor", Domain: "sales"},
		{Principal: "carol", Role: "editor", Domain: access.AllDomains},
	}
	for _, bc := range []struct {
		name     string
		bindings []access.Binding
	}{
		{"plain bindings", plain},
		{"chained bindings", append(slices.Clone(plain), access.Binding{Principal: "role:auditor", Role: "editor", Domain: "marketing"})},
	} {
		t.Run(bc.name, func(t *testing.T) {
			type ask struct{ sub, dom, obj, act string }
			var asks []ask
			for _, sub := range []string{"alice", "bob", "carol", "dave", "role:auditor"} {
				for _, dom := range []string{"sales", "marketing", access.AllDomains} {
					for _, r := range []request{{"product", "update"}, {"product", "read"}, {"audit", "read"}, {"policy", "test"}, {"domain", "read"}} {
						asks = append(asks, ask{sub, dom, r.obj, r.act})
					}
				}
			}
			answers := func(policy string) (map[ask]bool, map[ask]access.Scope) {
				a := newAuthorizer(t)
				if err := a.SetPolicy(policy, nil); err != nil {
					t.Fatal(err)
				}
				if err := a.Load(bc.bindings); err != nil {
					t.Fatal(err)
				}
				d, s := make(map[ask]bool), make(map[ask]access.Scope)
				for _, q := range asks {
					d[q] = a.Allowed(q.sub, q.dom, q.obj, q.act)
					s[q] = a.ScopeOf(actor.With(context.Background(), actor.Actor{Name: q.sub}), q.obj, q.act)
				}
				return d, s
			}
			wantA, scopeA := answers(policyA)
			wantB, scopeB := answers(policyB)
			mixable := ask{"alice", "sales", "product", "update"}
			if !wantA[mixable] || !wantB[mixable] {
				t.Fatalf("both policies must allow %v", mixable)
			}
			var differ int
			for _, q := range asks {
				if wantA[q] != wantB[q] {
					differ++
				}
			}
			if differ == 0 {
				t.Fatal("the policies decide alike: the test cannot tell them apart")
			}
			sameScope := func(x, y access.Scope) bool { return x.All == y.All && slices.Equal(x.Domains, y.Domains) }

			a := newAuthorizer(t)
			if err := a.SetPolicy(policyA, nil); err != nil {
				t.Fatal(err)
			}
			if err := a.Load(bc.bindings); err != nil {
				t.Fatal(err)
			}
			var stop atomic.Bool
			var checks atomic.Int64
			var mu sync.Mutex
			var failures []string
			fail := func(format string, args ...any) {
				mu.Lock()
				defer mu.Unlock()
				if len(failures) < 10 {
					failures = append(failures, fmt.Sprintf(format, args...))
				}
			}
			var wg sync.WaitGroup
			for w := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := w; !stop.Load(); i++ {
						q := asks[i%len(asks)]
						if got := a.Allowed(q.sub, q.dom, q.obj, q.act); got != wantA[q] && got != wantB[q] {
							fail("Allowed%v = %v: policy A says %v, policy B says %v", q, got, wantA[q], wantB[q])
						}
						if i%7 == 0 {
							s := a.ScopeOf(actor.With(context.Background(), actor.Actor{Name: q.sub}), q.obj, q.act)
							if !sameScope(s, scopeA[q]) && !sameScope(s, scopeB[q]) {
								fail("ScopeOf%v = %+v: policy A says %+v, policy B says %+v", q, s, scopeA[q], scopeB[q])
							}
						}
						if text := a.PolicyText(); text != policyA && text != policyB {
							fail("PolicyText() = %q", text)
						}
						checks.Add(1)
					}
				}()
			}
			for range 100 {
				for _, p := range []string{policyB, policyA} {
					if err := a.SetPolicy(p, nil); err != nil {
						t.Error(err)
					}
				}
			}
			stop.Store(true)
			wg.Wait()
			for _, f := range failures {
				t.Error(f)
			}
			if checks.Load() == 0 {
				t.Error("no concurrent checks ran")
			}
		})
	}
}

// TestSetPolicyAndLoadInterleave runs SetPolicy and Load concurrently: each
// builds on the other's last result, so neither undoes the other.
func TestSetPolicyAndLoadInterleave(t *testing.T) {
	a := newAuthorizer(t)
	withAuditor := policies.RBACPolicy + "p, role:auditor, audit, read\n"
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := range 50 {
			if err := a.SetPolicy([]string{policies.RBACPolicy, withAuditor}[i%2], nil); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := range 50 {
			bindings := []access.Binding{{Principal: fmt.Sprintf("u%d", i), Role: access.RoleViewer, Domain: "sales"}}
			if err := a.Load(bindings); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	wg.Wait()
	if a.PolicyText() != withAuditor {
		t.Error("the last SetPolicy was undone")
	}
	if !a.Allowed("u49", "sales", "product", "read") || a.Allowed("u48", "sales", "product", "read") {
		t.Error("the last Load was undone")
	}
}
