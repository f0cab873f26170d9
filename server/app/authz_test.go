package app_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/reflect/protoreflect"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
	"github.com/meshplane/meshplane/server/app"
	"github.com/meshplane/meshplane/server/app/apptest"
)

// allow says whether a role may call a procedure in its own domain and in another.
type allow struct{ own, other bool }

var (
	everyone  = allow{true, true}
	nobody    = allow{false, false}
	ownDomain = allow{true, false}
)

// matrixRoles are the callers: each bound in the own domain, global roles in "*".
var matrixRoles = []string{"platform-admin", "governance-officer", "domain-owner", "domain-member", "viewer", "none"}

// authzCase prepares what a call needs (as the admin), then makes the call
// as the caller. For lists, seen reports whether the domain's item was listed.
type authzCase struct {
	want  map[string]allow
	setup func(t *testing.T, env *apptest.Env, dom, key string) any
	call  func(ctx context.Context, c apptest.Clients, dom, key string, fixture any) (seen bool, err error)
}

func roles(admin, gov, owner, member, viewer, none allow) map[string]allow {
	return map[string]allow{"platform-admin": admin, "governance-officer": gov, "domain-owner": owner,
		"domain-member": member, "viewer": viewer, "none": none}
}

func adminClients(env *apptest.Env) apptest.Clients {
	return env.Clients(apptest.ProtocolConnect, env.AdminToken)
}

// mustOK unwraps a setup call's response; a failing setup panics, which fails the test.
func mustOK[T any](res *connect.Response[T], err error) *T {
	if err != nil {
		panic(fmt.Sprintf("setup: %v", err))
	}
	return res.Msg
}

func setupProduct(t *testing.T, env *apptest.Env, dom, key string) any {
	return mustOK(adminClients(env).Catalog.CreateDataProduct(context.Background(), connect.NewRequest(&v1.CreateDataProductRequest{
		Domain: dom, Name: "p-" + key, Spec: apptest.ProductSpecIn(dom)}))).GetDataProduct()
}

// deployedProduct is the product setupDeployed applies in a domain.
const deployedProduct = "deployed"

// deployed remembers the environments and domains setupDeployed applied
// deployedProduct in.
var deployed sync.Map

// setupDeployed applies deployedProduct in dom once per test environment,
// so connector operations have connectors to act on.
func setupDeployed(t *testing.T, env *apptest.Env, dom, _ string) any {
	key := env.DataDir + " " + dom
	if _, done := deployed.Load(key); done {
		return nil
	}
	c := adminClients(env)
	mustOK(c.Catalog.CreateDataProduct(context.Background(), connect.NewRequest(&v1.CreateDataProductRequest{
		Domain: dom, Name: deployedProduct, Spec: apptest.ProductSpecIn(dom)})))
	approve(t, c, plan(t, c, dom, deployedProduct), false)
	deployed.Store(key, true)
	return nil
}

func setupServiceAccount(t *testing.T, env *apptest.Env, dom, key string) any {
	return mustOK(adminClients(env).Identity.CreatePrincipal(context.Background(), connect.NewRequest(&v1.CreatePrincipalRequest{
		Name: "sa-" + key, Kind: v1.PrincipalKind_PRINCIPAL_KIND_SERVICE_ACCOUNT, Domain: dom}))).GetPrincipal()
}

// setupRun creates a product and plans it as the admin, returning the run
// id; planned waits until the plan is saved, so the run can be approved.
func setupRun(planned bool) func(t *testing.T, env *apptest.Env, dom, key string) any {
	return func(t *testing.T, env *apptest.Env, dom, key string) any {
		setupProduct(t, env, dom, key)
		c := adminClients(env)
		r := mustOK(c.Provision.Plan(context.Background(), connect.NewRequest(&v1.PlanRequest{Domain: dom, Product: "p-" + key}))).GetRun()
		if planned {
			if st := waitRun(t, c, r.GetId()).GetState(); st != v1.RunState_RUN_STATE_PLANNED {
				full := mustOK(c.Provision.GetRun(context.Background(), connect.NewRequest(&v1.GetRunRequest{Id: r.GetId()}))).GetRun()
				t.Fatalf("setup plan ended %v: %s\n%s", st, full.GetError(), full.GetLog())
			}
		}
		return r.GetId()
	}
}

// setupConsumable creates service account sa-<key> and an active product
// p-<key> in dom, whose customers port carries PII.
func setupConsumable(t *testing.T, env *apptest.Env, dom, key string) any {
	setupServiceAccount(t, env, dom, key)
	p := setupProduct(t, env, dom, key).(*v1.DataProduct)
	mustOK(adminClients(env).Catalog.UpdateDataProduct(context.Background(), connect.NewRequest(&v1.UpdateDataProductRequest{
		Domain: dom, Name: p.GetName(), Spec: specOf(p), Lifecycle: v1.Lifecycle_LIFECYCLE_ACTIVE, Version: p.GetVersion()})))
	return nil
}

// setupRetainedMajor makes p-<key> active and publishes major 2 of its
// orders port, which keeps major 1.
func setupRetainedMajor(t *testing.T, env *apptest.Env, dom, key string) any {
	setupConsumable(t, env, dom, key)
	c := adminClients(env)
	p := mustOK(c.Catalog.GetDataProduct(context.Background(), connect.NewRequest(&v1.GetDataProductRequest{Domain: dom, Name: "p-" + key}))).GetDataProduct()
	sp := specOf(p)
	sp.Ports[0].MajorVersion = 2
	return mustOK(c.Catalog.UpdateDataProduct(context.Background(), connect.NewRequest(&v1.UpdateDataProductRequest{
		Domain: dom, Name: p.GetName(), Spec: sp, Version: p.GetVersion()}))).GetDataProduct()
}

// setupAccessRequest files a request of sa-<key> for p-<key>'s PII port, as
// the service account itself, so the admin is not its requester; it returns
// the request id. The policy asks dom's owner and a governance officer.
func setupAccessRequest(t *testing.T, env *apptest.Env, dom, key string) any {
	return requestAsConsumer(t, env, dom, key, "customers").GetId()
}

// setupGrant files a request of sa-<key> for p-<key>'s orders port, which
// holds no personal data: in the consumer's own domain the policy approves it
// at once. It returns the grant's id.
func setupGrant(t *testing.T, env *apptest.Env, dom, key string) any {
	req := requestAsConsumer(t, env, dom, key, "orders")
	if !req.GetAutoApproved() {
		t.Fatalf("setup request was not approved at once: %+v", req)
	}
	return req.GetGrants()[0].GetId()
}

// requestAsConsumer makes sa-<key> and an active p-<key> in dom, and files
// sa-<key>'s request for one of p-<key>'s ports as the service account.
func requestAsConsumer(t *testing.T, env *apptest.Env, dom, key, port string) *v1.AccessRequest {
	setupConsumable(t, env, dom, key)
	tok := mustOK(adminClients(env).Identity.CreateToken(context.Background(), connect.NewRequest(&v1.CreateTokenRequest{Principal: "sa-" + key}))).GetSecret()
	return mustOK(env.Clients(apptest.ProtocolConnect, tok).Access.RequestAccess(context.Background(), connect.NewRequest(&v1.RequestAccessRequest{
		Consumer: "sa-" + key, Purpose: "matrix", Ports: []*v1.PortRef{{Domain: dom, Product: "p-" + key, Port: port}}}))).GetAccessRequest()
}

// governance is who may work on policies and role definitions, which
// belong to no domain.
var governance = roles(everyone, everyone, nobody, nobody, nobody, nobody)

// matrixModule is a small policy module with one passing test; key makes
// each version's content distinct.
func matrixModule(name, key string) map[string]string {
	return map[string]string{
		name + ".rego":      "package matrix." + name + "\n\nkey := \"" + key + "\"\n",
		name + "_test.rego": "package matrix." + name + "_test\n\nimport data.matrix." + name + "\n\ntest_key if " + name + ".key == \"" + key + "\"\n",
	}
}

// setupModule creates module "m<key>" as the admin and publishes it the
// given number of times, each time with new content.
func setupModule(publishes int) func(t *testing.T, env *apptest.Env, dom, key string) any {
	return func(t *testing.T, env *apptest.Env, _, key string) any {
		c := adminClients(env).Policy
		ctx := context.Background()
		name := "m" + key
		m := mustOK(c.CreatePolicyModule(ctx, connect.NewRequest(&v1.CreatePolicyModuleRequest{Name: name, Files: matrixModule(name, key)}))).GetModule()
		for i := range publishes {
			if i > 0 {
				m = mustOK(c.SavePolicyDraft(ctx, connect.NewRequest(&v1.SavePolicyDraftRequest{Name: name, Files: matrixModule(name, fmt.Sprint(key, i)), Version: m.GetVersion()}))).GetModule()
			}
			mustOK(c.PublishPolicy(ctx, connect.NewRequest(&v1.PublishPolicyRequest{Name: name, Message: "setup", Version: m.GetVersion()})))
		}
		return nil
	}
}

// reasonOf returns the ErrorInfo reason of a Connect error, "" when none.
func reasonOf(err error) string {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return ""
	}
	for _, d := range ce.Details() {
		if v, derr := d.Value(); derr == nil {
			if info, ok := v.(*errdetails.ErrorInfo); ok {
				return info.GetReason()
			}
		}
	}
	return ""
}

// authzMatrix is the expected allow/deny of every procedure for every role.
var authzMatrix = map[string]authzCase{
	"/meshplane.v1.CatalogService/CreateDomain": {
		want: roles(everyone, nobody, nobody, nobody, nobody, nobody),
		call: func(ctx context.Context, c apptest.Clients, dom, key string, _ any) (bool, error) {
			_, err := c.Catalog.CreateDomain(ctx, connect.NewRequest(&v1.CreateDomainRequest{Name: "d-" + key}))
			return true, err
		},
	},
	"/meshplane.v1.CatalogService/GetDomain": {
		want: roles(everyone, everyone, ownDomain, ownDomain, ownDomain, nobody),
		call: func(ctx context.Context, c apptest.Clients, dom, _ string, _ any) (bool, error) {
			_, err := c.Catalog.GetDomain(ctx, connect.NewRequest(&v1.GetDomainRequest{Name: dom}))
			return true, err
		},
	},
	"/meshplane.v1.CatalogService/ListDomains": {
		want: roles(everyone, everyone, ownDomain, ownDomain, ownDomain, nobody),
		call: func(ctx context.Context, c apptest.Clients, dom, _ string, _ any) (bool, error) {
			res, err := c.Catalog.ListDomains(ctx, connect.NewRequest(&v1.ListDomainsRequest{PageSize: 500}))
			if err != nil {
				return false, err
			}
			return slices.ContainsFunc(res.Msg.GetDomains(), func(d *v1.Domain) bool { return d.GetName() == dom }), nil
		},
	},
	"/meshplane.v1.CatalogService/UpdateDomain": {
		want: roles(everyone, nobody, ownDomain, nobody, nobody, nobody),
		call: func(ctx context.Context, c apptest.Clients, dom, _ string, _ any) (bool, error) {
			d, err := c.Catalog.GetDomain(ctx, connect.NewRequest(&v1.GetDomainRequest{Name: dom}))
			version := int64(1)
			if err == nil {
				version = d.Msg.GetDomain().GetVersion()
			}
			_, err = c.Catalog.UpdateDomain(ctx, connect.NewRequest(&v1.UpdateDomainRequest{Name: dom, Description: "updated", Version: version}))
			return true, err
		},
	},
	"/meshplane.v1.CatalogService/CreateDataProduct": {
		want: roles(everyone, nobody, ownDomain, ownDomain, nobody, nobody),
		call: func(ctx context.Context, c apptest.Clients, dom, key string, _ any) (bool, error) {
			_, err := c.Catalog.CreateDataProduct(ctx, connect.NewRequest(&v1.CreateDataProductRequest{Domain: dom, Name: "p-" + key, Spec: apptest.ProductSpecIn(dom)}))
			return true, err
		},
	},
	"/meshplane.v1.CatalogService/GetDataProduct": {
		want:  roles(everyone, everyone, ownDomain, ownDomain, ownDomain, nobody),
		setup: setupProduct,
		call: func(ctx context.Context, c apptest.Clients, dom, key string, _ any) (bool, error) {
			_, err := c.Catalog.GetDataProduct(ctx, connect.NewRequest(&v1.GetDataProductRequest{Domain: dom, Name: "p-" + key}))
			return true, err
		},
	},
	"/meshplane.v1.CatalogService/UpdateDataProduct": {
		want:  roles(everyone, nobody, ownDomain, ownDomain, nobody, nobody),
		setup: setupProduct,
		call: func(ctx context.Context, c apptest.Clients, dom, key string, _ any) (bool, error) {
			_, err := c.Catalog.UpdateDataProduct(ctx, connect.NewRequest(&v1.UpdateDataProductRequest{Domain: dom, Name: "p-" + key, Spec: apptest.ProductSpecIn(dom), Version: 1}))
			return true, err
		},
	},
	"/meshplane.v1.CatalogService/ListDataProducts": {
		want:  roles(everyone, everyone, ownDomain, ownDomain, ownDomain, nobody),
		setup: setupProduct,
		call: func(ctx context.Context, c apptest.Clients, dom, key string, _ any) (bool, error) {
			res, err := c.Catalog.ListDataProducts(ctx, connect.NewRequest(&v1.ListDataProductsRequest{PageSize: 500}))
			if err != nil {
				return false, err
			}
			return slices.ContainsFunc(res.Msg.GetDataProducts(), func(p *v1.DataProduct) bool { return p.GetName() == "p-"+key }), nil
		},
	},
	"/meshplane.v1.CatalogService/DeleteDataProduct": {
		want:  roles(everyone, nobody, ownDomain, ownDomain, nobody, nobody),
		setup: setupProduct,
		call: func(ctx context.Context, c apptest.Clients, dom, key string, _ any) (bool, error) {
			_, err := c.Catalog.DeleteDataProduct(ctx, connect.NewRequest(&v1.DeleteDataProductRequest{Domain: dom, Name: "p-" + key, Version: 1}))
			return true, err
		},
	},
	"/meshplane.v1.CatalogService/GetPortSchema": {
		want:  roles(everyone, everyone, ownDomain, ownDomain, ownDomain, nobody),
		setup: setupProduct,
		call: func(ctx context.Context, c apptest.Clients, dom, key string, _ any) (bool, error) {
			_, err := c.Catalog.GetPortSchema(ctx, connect.NewRequest(&v1.GetPortSchemaRequest{Domain: dom, Name: "p-" + key, Port: "orders"}))
			return true, err
		},
	},
	"/meshplane.v1.CatalogService/RetirePortMajor": {
		want:  roles(everyone, nobody, ownDomain, nobody, nobody, nobody),
		setup: setupRetainedMajor,
		call: func(ctx context.Context, c apptest.Clients, dom, key string, p any) (bool, error) {
			_, err := c.Catalog.RetirePortMajor(ctx, connect.NewRequest(&v1.RetirePortMajorRequest{Domain: dom, Name: "p-" + key,
				Port: "orders", Major: 1, Version: p.(*v1.DataProduct).GetVersion()}))
			return true, err
		},
	},
	"/meshplane.v1.IdentityService/WhoAmI": {
		want: roles(everyone, everyone, everyone, everyone, everyone, everyone),
		call: func(ctx context.Context, c apptest.Clients, _, _ string, _ any) (bool, error) {
			_, err := c.Identity.WhoAmI(ctx, connect.NewRequest(&v1.WhoAmIRequest{}))
			return true, err
		},
	},
	"/meshplane.v1.IdentityService/CreatePrincipal": {
		want: roles(everyone, nobody, ownDomain, nobody, nobody, nobody),
		call: func(ctx context.Context, c apptest.Clients, dom, key string, _ any) (bool, error) {
			_, err := c.Identity.CreatePrincipal(ctx, connect.NewRequest(&v1.CreatePrincipalRequest{Name: "sa-" + key, Kind: v1.PrincipalKind_PRINCIPAL_KIND_SERVICE_ACCOUNT, Domain: dom}))
			return true, err
		},
	},
	"/meshplane.v1.IdentityService/GetPrincipal": {
		want:  roles(everyone, everyone, ownDomain, ownDomain, nobody, nobody),
		setup: setupServiceAccount,
		call: func(ctx context.Context, c apptest.Clients, _, key string, _ any) (bool, error) {
			_, err := c.Identity.GetPrincipal(ctx, connect.NewRequest(&v1.GetPrincipalRequest{Name: "sa-" + key}))
			return true, err
		},
	},
	"/meshplane.v1.IdentityService/ListPrincipals": {
		want:  roles(everyone, everyone, ownDomain, ownDomain, nobody, nobody),
		setup: setupServiceAccount,
		call: func(ctx context.Context, c apptest.Clients, _, key string, _ any) (bool, error) {
			res, err := c.Identity.ListPrincipals(ctx, connect.NewRequest(&v1.ListPrincipalsRequest{PageSize: 500}))
			if err != nil {
				return false, err
			}
			return slices.ContainsFunc(res.Msg.GetPrincipals(), func(p *v1.Principal) bool { return p.GetName() == "sa-"+key }), nil
		},
	},
	"/meshplane.v1.IdentityService/DisablePrincipal": {
		want:  roles(everyone, nobody, ownDomain, nobody, nobody, nobody),
		setup: setupServiceAccount,
		call: func(ctx context.Context, c apptest.Clients, _, key string, _ any) (bool, error) {
			_, err := c.Identity.DisablePrincipal(ctx, connect.NewRequest(&v1.DisablePrincipalRequest{Name: "sa-" + key, Version: 1}))
			return true, err
		},
	},
	"/meshplane.v1.IdentityService/CreateToken": {
		want:  roles(everyone, nobody, ownDomain, nobody, nobody, nobody),
		setup: setupServiceAccount,
		call: func(ctx context.Context, c apptest.Clients, _, key string, _ any) (bool, error) {
			_, err := c.Identity.CreateToken(ctx, connect.NewRequest(&v1.CreateTokenRequest{Principal: "sa-" + key}))
			return true, err
		},
	},
	"/meshplane.v1.IdentityService/ListTokens": {
		want:  roles(everyone, nobody, ownDomain, nobody, nobody, nobody),
		setup: setupServiceAccount,
		call: func(ctx context.Context, c apptest.Clients, _, key string, _ any) (bool, error) {
			_, err := c.Identity.ListTokens(ctx, connect.NewRequest(&v1.ListTokensRequest{Principal: "sa-" + key}))
			return true, err
		},
	},
	"/meshplane.v1.IdentityService/RevokeToken": {
		want: roles(everyone, nobody, ownDomain, nobody, nobody, nobody),
		setup: func(t *testing.T, env *apptest.Env, dom, key string) any {
			setupServiceAccount(t, env, dom, key)
			return mustOK(adminClients(env).Identity.CreateToken(context.Background(), connect.NewRequest(&v1.CreateTokenRequest{Principal: "sa-" + key}))).GetToken().GetId()
		},
		call: func(ctx context.Context, c apptest.Clients, _, _ string, id any) (bool, error) {
			_, err := c.Identity.RevokeToken(ctx, connect.NewRequest(&v1.RevokeTokenRequest{Id: id.(string)}))
			return true, err
		},
	},
	"/meshplane.v1.IdentityService/CreateRoleBinding": {
		want:  roles(everyone, nobody, ownDomain, nobody, nobody, nobody),
		setup: setupServiceAccount,
		call: func(ctx context.Context, c apptest.Clients, dom, key string, _ any) (bool, error) {
			_, err := c.Identity.CreateRoleBinding(ctx, connect.NewRequest(&v1.CreateRoleBindingRequest{Principal: "sa-" + key, Role: "viewer", Domain: dom}))
			return true, err
		},
	},
	"/meshplane.v1.IdentityService/ListRoleBindings": {
		want: roles(everyone, everyone, ownDomain, ownDomain, nobody, nobody),
		setup: func(t *testing.T, env *apptest.Env, dom, key string) any {
			setupServiceAccount(t, env, dom, key)
			return mustOK(adminClients(env).Identity.CreateRoleBinding(context.Background(), connect.NewRequest(&v1.CreateRoleBindingRequest{Principal: "sa-" + key, Role: "viewer", Domain: dom}))).GetRoleBinding().GetId()
		},
		call: func(ctx context.Context, c apptest.Clients, _, _ string, id any) (bool, error) {
			res, err := c.Identity.ListRoleBindings(ctx, connect.NewRequest(&v1.ListRoleBindingsRequest{}))
			if err != nil {
				return false, err
			}
			return slices.ContainsFunc(res.Msg.GetRoleBindings(), func(b *v1.RoleBinding) bool { return b.GetId() == id.(string) }), nil
		},
	},
	"/meshplane.v1.IdentityService/DeleteRoleBinding": {
		want: roles(everyone, nobody, ownDomain, nobody, nobody, nobody),
		setup: func(t *testing.T, env *apptest.Env, dom, key string) any {
			setupServiceAccount(t, env, dom, key)
			return mustOK(adminClients(env).Identity.CreateRoleBinding(context.Background(), connect.NewRequest(&v1.CreateRoleBindingRequest{Principal: "sa-" + key, Role: "viewer", Domain: dom}))).GetRoleBinding().GetId()
		},
		call: func(ctx context.Context, c apptest.Clients, _, _ string, id any) (bool, error) {
			_, err := c.Identity.DeleteRoleBinding(ctx, connect.NewRequest(&v1.DeleteRoleBindingRequest{Id: id.(string)}))
			return true, err
		},
	},
	"/meshplane.v1.AuditService/ListAuditEvents": {
		want:  roles(everyone, everyone, ownDomain, nobody, nobody, nobody),
		setup: setupProduct,
		call: func(ctx context.Context, c apptest.Clients, dom, key string, _ any) (bool, error) {
			res, err := c.Audit.ListAuditEvents(ctx, connect.NewRequest(&v1.ListAuditEventsRequest{Resource: dom + "/p-" + key}))
			if err != nil {
				return false, err
			}
			return len(res.Msg.GetEvents()) > 0, nil
		},
	},
	"/meshplane.v1.ProvisioningService/Plan": {
		want:  roles(everyone, nobody, ownDomain, ownDomain, nobody, nobody),
		setup: setupProduct,
		call: func(ctx context.Context, c apptest.Clients, dom, key string, _ any) (bool, error) {
			_, err := c.Provision.Plan(ctx, connect.NewRequest(&v1.PlanRequest{Domain: dom, Product: "p-" + key}))
			return true, err
		},
	},
	"/meshplane.v1.ProvisioningService/GetRun": {
		want:  roles(everyone, everyone, ownDomain, ownDomain, ownDomain, nobody),
		setup: setupRun(false),
		call: func(ctx context.Context, c apptest.Clients, _, _ string, id any) (bool, error) {
			_, err := c.Provision.GetRun(ctx, connect.NewRequest(&v1.GetRunRequest{Id: id.(string)}))
			return true, err
		},
	},
	"/meshplane.v1.ProvisioningService/ListRuns": {
		want:  roles(everyone, everyone, ownDomain, ownDomain, ownDomain, nobody),
		setup: setupRun(false),
		call: func(ctx context.Context, c apptest.Clients, dom, key string, _ any) (bool, error) {
			res, err := c.Provision.ListRuns(ctx, connect.NewRequest(&v1.ListRunsRequest{Domain: dom, Product: "p-" + key}))
			return err == nil && len(res.Msg.GetRuns()) > 0, err
		},
	},
	"/meshplane.v1.ProvisioningService/WatchRun": {
		want:  roles(everyone, everyone, ownDomain, ownDomain, ownDomain, nobody),
		setup: setupRun(false),
		call: func(ctx context.Context, c apptest.Clients, _, _ string, id any) (bool, error) {
			ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			stream, err := c.Provision.WatchRun(ctx, connect.NewRequest(&v1.WatchRunRequest{Id: id.(string)}))
			if err != nil {
				return false, err
			}
			defer stream.Close()
			got := stream.Receive()
			return got, stream.Err()
		},
	},
	// The matrix's default environment is dev, where the default role
	// definitions let members approve (provision@dev); prod's refusal of
	// them is TestPromotionAcrossEnvironments'.
	"/meshplane.v1.ProvisioningService/ApproveRun": {
		want:  roles(everyone, nobody, ownDomain, ownDomain, nobody, nobody),
		setup: setupRun(true),
		call: func(ctx context.Context, c apptest.Clients, _, _ string, id any) (bool, error) {
			_, err := c.Provision.ApproveRun(ctx, connect.NewRequest(&v1.ApproveRunRequest{Id: id.(string)}))
			return true, err
		},
	},
	"/meshplane.v1.ProvisioningService/CancelRun": {
		want:  roles(everyone, nobody, ownDomain, ownDomain, nobody, nobody),
		setup: setupRun(true),
		call: func(ctx context.Context, c apptest.Clients, _, _ string, id any) (bool, error) {
			_, err := c.Provision.CancelRun(ctx, connect.NewRequest(&v1.CancelRunRequest{Id: id.(string)}))
			return true, err
		},
	},
	"/meshplane.v1.ProvisioningService/Decommission": {
		want:  roles(everyone, nobody, ownDomain, nobody, nobody, nobody),
		setup: setupProduct,
		call: func(ctx context.Context, c apptest.Clients, dom, key string, _ any) (bool, error) {
			_, err := c.Provision.Decommission(ctx, connect.NewRequest(&v1.DecommissionRequest{Domain: dom, Product: "p-" + key}))
			return true, err
		},
	},
	"/meshplane.v1.ProvisioningService/ListConnectors": {
		want:  roles(everyone, everyone, ownDomain, ownDomain, ownDomain, nobody),
		setup: setupProduct,
		call: func(ctx context.Context, c apptest.Clients, dom, key string, _ any) (bool, error) {
			res, err := c.Provision.ListConnectors(ctx, connect.NewRequest(&v1.ListConnectorsRequest{Domain: dom, Product: "p-" + key}))
			return err == nil && len(res.Msg.GetConnectors()) > 0, err
		},
	},
	"/meshplane.v1.ProvisioningService/RestartConnector": {
		want:  roles(everyone, nobody, ownDomain, nobody, nobody, nobody),
		setup: setupDeployed,
		call: func(ctx context.Context, c apptest.Clients, dom, _ string, _ any) (bool, error) {
			_, err := c.Provision.RestartConnector(ctx, connect.NewRequest(&v1.RestartConnectorRequest{Domain: dom, Product: deployedProduct, Role: "lake"}))
			return true, err
		},
	},
	"/meshplane.v1.ProvisioningService/PauseConnector": {
		want:  roles(everyone, nobody, ownDomain, nobody, nobody, nobody),
		setup: setupDeployed,
		call: func(ctx context.Context, c apptest.Clients, dom, _ string, _ any) (bool, error) {
			_, err := c.Provision.PauseConnector(ctx, connect.NewRequest(&v1.PauseConnectorRequest{Domain: dom, Product: deployedProduct, Role: "lake"}))
			return true, err
		},
	},
	"/meshplane.v1.ProvisioningService/ResumeConnector": {
		want:  roles(everyone, nobody, ownDomain, nobody, nobody, nobody),
		setup: setupDeployed,
		call: func(ctx context.Context, c apptest.Clients, dom, _ string, _ any) (bool, error) {
			_, err := c.Provision.ResumeConnector(ctx, connect.NewRequest(&v1.ResumeConnectorRequest{Domain: dom, Product: deployedProduct, Role: "lake"}))
			return true, err
		},
	},
	"/meshplane.v1.ProvisioningService/ListEnvironments": {
		want: roles(everyone, everyone, everyone, everyone, everyone, everyone),
		call: func(ctx context.Context, c apptest.Clients, _, _ string, _ any) (bool, error) {
			res, err := c.Provision.ListEnvironments(ctx, connect.NewRequest(&v1.ListEnvironmentsRequest{}))
			return err == nil && len(res.Msg.GetEnvironments()) == 2, err
		},
	},
	"/meshplane.v1.ProvisioningService/ListDeployments": {
		want:  roles(everyone, everyone, ownDomain, ownDomain, ownDomain, nobody),
		setup: setupProduct,
		call: func(ctx context.Context, c apptest.Clients, dom, key string, _ any) (bool, error) {
			res, err := c.Provision.ListDeployments(ctx, connect.NewRequest(&v1.ListDeploymentsRequest{Domain: dom, Product: "p-" + key}))
			return err == nil && len(res.Msg.GetDeployments()) == 2, err
		},
	},
	"/meshplane.v1.ProvisioningService/Promote": {
		want:  roles(everyone, nobody, ownDomain, ownDomain, nobody, nobody),
		setup: setupDeployed,
		call: func(ctx context.Context, c apptest.Clients, dom, _ string, _ any) (bool, error) {
			res, err := c.Provision.Promote(ctx, connect.NewRequest(&v1.PromoteRequest{Domain: dom, Product: deployedProduct, From: "dev", To: "prod"}))
			if err != nil {
				return false, err
			}
			// The next caller's promotion supersedes this plan once it is saved.
			for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
				r, err := c.Provision.GetRun(ctx, connect.NewRequest(&v1.GetRunRequest{Id: res.Msg.GetRun().GetId()}))
				if err != nil {
					return false, err
				}
				if st := r.Msg.GetRun().GetState(); st != v1.RunState_RUN_STATE_QUEUED && st != v1.RunState_RUN_STATE_PLANNING {
					return st == v1.RunState_RUN_STATE_PLANNED, nil
				}
			}
			return false, errors.New("the promotion's plan did not settle")
		},
	},
	"/meshplane.v1.CatalogService/GetPortPreview": {
		want:  roles(everyone, everyone, ownDomain, ownDomain, ownDomain, nobody),
		setup: setupProduct,
		call: func(ctx context.Context, c apptest.Clients, dom, key string, _ any) (bool, error) {
			_, err := c.Catalog.GetPortPreview(ctx, connect.NewRequest(&v1.GetPortPreviewRequest{Domain: dom, Product: "p-" + key, Port: "orders"}))
			// The product is not provisioned: a caller who may read it learns
			// that its topic does not exist yet.
			if reasonOf(err) == "TOPIC_NOT_FOUND" {
				return true, nil
			}
			return true, err
		},
	},
	"/meshplane.v1.PolicyService/ListPolicyModules": {
		want: governance,
		call: func(ctx context.Context, c apptest.Clients, _, _ string, _ any) (bool, error) {
			_, err := c.Policy.ListPolicyModules(ctx, connect.NewRequest(&v1.ListPolicyModulesRequest{}))
			return true, err
		},
	},
	"/meshplane.v1.PolicyService/GetPolicyModule": {
		want: governance,
		call: func(ctx context.Context, c apptest.Clients, _, _ string, _ any) (bool, error) {
			_, err := c.Policy.GetPolicyModule(ctx, connect.NewRequest(&v1.GetPolicyModuleRequest{Name: "admission"}))
			return true, err
		},
	},
	"/meshplane.v1.PolicyService/CreatePolicyModule": {
		want: governance,
		call: func(ctx context.Context, c apptest.Clients, _, key string, _ any) (bool, error) {
			name := "m" + key
			_, err := c.Policy.CreatePolicyModule(ctx, connect.NewRequest(&v1.CreatePolicyModuleRequest{Name: name, Files: matrixModule(name, key)}))
			return true, err
		},
	},
	"/meshplane.v1.PolicyService/SavePolicyDraft": {
		want:  governance,
		setup: setupModule(0),
		call: func(ctx context.Context, c apptest.Clients, _, key string, _ any) (bool, error) {
			name := "m" + key
			_, err := c.Policy.SavePolicyDraft(ctx, connect.NewRequest(&v1.SavePolicyDraftRequest{Name: name, Files: matrixModule(name, key+"0"), Version: 1}))
			return true, err
		},
	},
	"/meshplane.v1.PolicyService/TestPolicyDraft": {
		want:  governance,
		setup: setupModule(0),
		call: func(ctx context.Context, c apptest.Clients, _, key string, _ any) (bool, error) {
			_, err := c.Policy.TestPolicyDraft(ctx, connect.NewRequest(&v1.TestPolicyDraftRequest{Name: "m" + key}))
			return true, err
		},
	},
	"/meshplane.v1.PolicyService/GetPolicyImpact": {
		want:  governance,
		setup: setupModule(0),
		call: func(ctx context.Context, c apptest.Clients, _, key string, _ any) (bool, error) {
			_, err := c.Policy.GetPolicyImpact(ctx, connect.NewRequest(&v1.GetPolicyImpactRequest{Name: "m" + key}))
			return true, err
		},
	},
	"/meshplane.v1.PolicyService/PublishPolicy": {
		want:  governance,
		setup: setupModule(0),
		call: func(ctx context.Context, c apptest.Clients, _, key string, _ any) (bool, error) {
			_, err := c.Policy.PublishPolicy(ctx, connect.NewRequest(&v1.PublishPolicyRequest{Name: "m" + key, Message: "matrix", Version: 1}))
			return true, err
		},
	},
	"/meshplane.v1.PolicyService/RollbackPolicy": {
		want:  governance,
		setup: setupModule(2),
		call: func(ctx context.Context, c apptest.Clients, _, key string, _ any) (bool, error) {
			_, err := c.Policy.RollbackPolicy(ctx, connect.NewRequest(&v1.RollbackPolicyRequest{Name: "m" + key, ToVersion: 1, Message: "matrix"}))
			return true, err
		},
	},
	"/meshplane.v1.PolicyService/ListPolicyVersions": {
		want: governance,
		call: func(ctx context.Context, c apptest.Clients, _, _ string, _ any) (bool, error) {
			_, err := c.Policy.ListPolicyVersions(ctx, connect.NewRequest(&v1.ListPolicyVersionsRequest{Name: "masking"}))
			return true, err
		},
	},
	"/meshplane.v1.PolicyService/GetPolicyVersion": {
		want: governance,
		call: func(ctx context.Context, c apptest.Clients, _, _ string, _ any) (bool, error) {
			_, err := c.Policy.GetPolicyVersion(ctx, connect.NewRequest(&v1.GetPolicyVersionRequest{Name: "masking", Number: 1}))
			return true, err
		},
	},
	"/meshplane.v1.PolicyService/EvaluateDataProduct": {
		want:  roles(everyone, everyone, ownDomain, ownDomain, ownDomain, nobody),
		setup: setupProduct,
		call: func(ctx context.Context, c apptest.Clients, dom, key string, _ any) (bool, error) {
			_, err := c.Policy.EvaluateDataProduct(ctx, connect.NewRequest(&v1.EvaluateDataProductRequest{Domain: dom, Name: "p-" + key}))
			return true, err
		},
	},
	"/meshplane.v1.PolicyService/ListPolicyDecisions": {
		want:  roles(everyone, everyone, ownDomain, ownDomain, ownDomain, nobody),
		setup: setupProduct,
		call: func(ctx context.Context, c apptest.Clients, dom, key string, _ any) (bool, error) {
			res, err := c.Policy.ListPolicyDecisions(ctx, connect.NewRequest(&v1.ListPolicyDecisionsRequest{Domain: dom, Product: "p-" + key}))
			return err == nil && len(res.Msg.GetDecisions()) > 0, err
		},
	},
	"/meshplane.v1.PolicyService/GetRBACPolicy": {
		want: governance,
		call: func(ctx context.Context, c apptest.Clients, _, _ string, _ any) (bool, error) {
			_, err := c.Policy.GetRBACPolicy(ctx, connect.NewRequest(&v1.GetRBACPolicyRequest{}))
			return true, err
		},
	},
	"/meshplane.v1.PolicyService/UpdateRBACPolicy": {
		want: governance,
		setup: func(t *testing.T, env *apptest.Env, _, _ string) any {
			return mustOK(adminClients(env).Policy.GetRBACPolicy(context.Background(), connect.NewRequest(&v1.GetRBACPolicyRequest{})))
		},
		call: func(ctx context.Context, c apptest.Clients, _, key string, cur any) (bool, error) {
			rb := cur.(*v1.GetRBACPolicyResponse)
			_, err := c.Policy.UpdateRBACPolicy(ctx, connect.NewRequest(&v1.UpdateRBACPolicyRequest{
				Text: rb.GetText() + "\n# matrix " + key + "\n", Version: rb.GetVersion()}))
			return true, err
		},
	},
	"/meshplane.v1.AccessService/RequestAccess": {
		want:  roles(everyone, nobody, ownDomain, ownDomain, nobody, nobody),
		setup: setupConsumable,
		call: func(ctx context.Context, c apptest.Clients, dom, key string, _ any) (bool, error) {
			_, err := c.Access.RequestAccess(ctx, connect.NewRequest(&v1.RequestAccessRequest{Consumer: "sa-" + key, Purpose: "matrix",
				Ports: []*v1.PortRef{{Domain: dom, Product: "p-" + key, Port: "customers"}}}))
			return true, err
		},
	},
	"/meshplane.v1.AccessService/GetAccessRequest": {
		want:  roles(everyone, everyone, ownDomain, ownDomain, ownDomain, nobody),
		setup: setupAccessRequest,
		call: func(ctx context.Context, c apptest.Clients, _, _ string, id any) (bool, error) {
			_, err := c.Access.GetAccessRequest(ctx, connect.NewRequest(&v1.GetAccessRequestRequest{Id: id.(string)}))
			return true, err
		},
	},
	"/meshplane.v1.AccessService/ListAccessRequests": {
		want:  roles(everyone, everyone, ownDomain, ownDomain, ownDomain, nobody),
		setup: setupAccessRequest,
		call: func(ctx context.Context, c apptest.Clients, _, _ string, id any) (bool, error) {
			res, err := c.Access.ListAccessRequests(ctx, connect.NewRequest(&v1.ListAccessRequestsRequest{PageSize: 500}))
			if err != nil {
				return false, err
			}
			return slices.ContainsFunc(res.Msg.GetAccessRequests(), func(r *v1.AccessRequest) bool { return r.GetId() == id.(string) }), nil
		},
	},
	"/meshplane.v1.AccessService/ApproveAccessRequest": {
		want:  roles(everyone, everyone, ownDomain, nobody, nobody, nobody),
		setup: setupAccessRequest,
		call: func(ctx context.Context, c apptest.Clients, _, _ string, id any) (bool, error) {
			_, err := c.Access.ApproveAccessRequest(ctx, connect.NewRequest(&v1.ApproveAccessRequestRequest{Id: id.(string)}))
			return true, err
		},
	},
	"/meshplane.v1.AccessService/DeclineAccessRequest": {
		want:  roles(everyone, everyone, ownDomain, nobody, nobody, nobody),
		setup: setupAccessRequest,
		call: func(ctx context.Context, c apptest.Clients, _, _ string, id any) (bool, error) {
			_, err := c.Access.DeclineAccessRequest(ctx, connect.NewRequest(&v1.DeclineAccessRequestRequest{Id: id.(string), Reason: "matrix"}))
			return true, err
		},
	},
	"/meshplane.v1.AccessService/CancelAccessRequest": {
		want:  roles(everyone, nobody, ownDomain, ownDomain, nobody, nobody),
		setup: setupAccessRequest,
		call: func(ctx context.Context, c apptest.Clients, _, _ string, id any) (bool, error) {
			_, err := c.Access.CancelAccessRequest(ctx, connect.NewRequest(&v1.CancelAccessRequestRequest{Id: id.(string)}))
			return true, err
		},
	},
	"/meshplane.v1.AccessService/ListGrants": {
		want:  roles(everyone, everyone, ownDomain, ownDomain, ownDomain, nobody),
		setup: setupAccessRequest,
		call: func(ctx context.Context, c apptest.Clients, dom, key string, _ any) (bool, error) {
			res, err := c.Access.ListGrants(ctx, connect.NewRequest(&v1.ListGrantsRequest{Domain: dom, Product: "p-" + key}))
			if err != nil {
				return false, err
			}
			return len(res.Msg.GetGrants()) == 1, nil
		},
	},
	"/meshplane.v1.AccessService/RevokeGrant": {
		want:  roles(everyone, everyone, ownDomain, nobody, nobody, nobody),
		setup: setupGrant,
		call: func(ctx context.Context, c apptest.Clients, _, _ string, id any) (bool, error) {
			_, err := c.Access.RevokeGrant(ctx, connect.NewRequest(&v1.RevokeGrantRequest{Id: id.(string), Reason: "matrix"}))
			return true, err
		},
	},
	"/meshplane.v1.AccessService/IssueKafkaCredential": {
		want:  roles(everyone, nobody, ownDomain, nobody, nobody, nobody),
		setup: setupServiceAccount,
		call: func(ctx context.Context, c apptest.Clients, _, key string, _ any) (bool, error) {
			_, err := c.Access.IssueKafkaCredential(ctx, connect.NewRequest(&v1.IssueKafkaCredentialRequest{Principal: "sa-" + key}))
			return true, err
		},
	},
	"/meshplane.v1.AccessService/RotateKafkaCredential": {
		want: roles(everyone, nobody, ownDomain, nobody, nobody, nobody),
		setup: func(t *testing.T, env *apptest.Env, dom, key string) any {
			setupServiceAccount(t, env, dom, key)
			return mustOK(adminClients(env).Access.IssueKafkaCredential(context.Background(), connect.NewRequest(&v1.IssueKafkaCredentialRequest{Principal: "sa-" + key})))
		},
		call: func(ctx context.Context, c apptest.Clients, _, key string, _ any) (bool, error) {
			_, err := c.Access.RotateKafkaCredential(ctx, connect.NewRequest(&v1.RotateKafkaCredentialRequest{Principal: "sa-" + key}))
			return true, err
		},
	},
	"/meshplane.v1.EventsService/CreateWebhook": {
		want: roles(everyone, nobody, ownDomain, nobody, nobody, nobody),
		call: func(ctx context.Context, c apptest.Clients, dom, key string, _ any) (bool, error) {
			_, err := c.Events.CreateWebhook(ctx, connect.NewRequest(&v1.CreateWebhookRequest{Domain: dom, Name: "w-" + key, Url: "https://example.com/" + key}))
			return true, err
		},
	},
	"/meshplane.v1.EventsService/GetWebhook": {
		want:  webhookReaders,
		setup: setupWebhook,
		call: func(ctx context.Context, c apptest.Clients, _, _ string, w any) (bool, error) {
			_, err := c.Events.GetWebhook(ctx, connect.NewRequest(&v1.GetWebhookRequest{Id: w.(*v1.Webhook).GetId()}))
			return true, err
		},
	},
	"/meshplane.v1.EventsService/ListWebhooks": {
		want:  webhookReaders,
		setup: setupWebhook,
		call: func(ctx context.Context, c apptest.Clients, dom, _ string, w any) (bool, error) {
			res, err := c.Events.ListWebhooks(ctx, connect.NewRequest(&v1.ListWebhooksRequest{Domain: dom}))
			if err != nil {
				return false, err
			}
			return slices.ContainsFunc(res.Msg.GetWebhooks(), func(x *v1.Webhook) bool { return x.GetId() == w.(*v1.Webhook).GetId() }), nil
		},
	},
	"/meshplane.v1.EventsService/UpdateWebhook": {
		want:  webhookManagers,
		setup: setupWebhook,
		call: func(ctx context.Context, c apptest.Clients, _, _ string, w any) (bool, error) {
			off := false
			_, err := c.Events.UpdateWebhook(ctx, connect.NewRequest(&v1.UpdateWebhookRequest{Id: w.(*v1.Webhook).GetId(), Version: w.(*v1.Webhook).GetVersion(), Active: &off}))
			return true, err
		},
	},
	"/meshplane.v1.EventsService/RotateWebhookSecret": {
		want:  webhookManagers,
		setup: setupWebhook,
		call: func(ctx context.Context, c apptest.Clients, _, _ string, w any) (bool, error) {
			_, err := c.Events.RotateWebhookSecret(ctx, connect.NewRequest(&v1.RotateWebhookSecretRequest{Id: w.(*v1.Webhook).GetId()}))
			return true, err
		},
	},
	"/meshplane.v1.EventsService/DeleteWebhook": {
		want:  webhookManagers,
		setup: setupWebhook,
		call: func(ctx context.Context, c apptest.Clients, _, _ string, w any) (bool, error) {
			_, err := c.Events.DeleteWebhook(ctx, connect.NewRequest(&v1.DeleteWebhookRequest{Id: w.(*v1.Webhook).GetId()}))
			return true, err
		},
	},
	"/meshplane.v1.EventsService/ListWebhookDeliveries": {
		want:  webhookReaders,
		setup: setupDelivered,
		call: func(ctx context.Context, c apptest.Clients, _, _ string, d any) (bool, error) {
			res, err := c.Events.ListWebhookDeliveries(ctx, connect.NewRequest(&v1.ListWebhookDeliveriesRequest{WebhookId: d.(*v1.WebhookDelivery).GetWebhookId()}))
			if err != nil {
				return false, err
			}
			return len(res.Msg.GetDeliveries()) > 0, nil
		},
	},
	"/meshplane.v1.EventsService/ReplayWebhookDelivery": {
		want:  webhookManagers,
		setup: setupDelivered,
		call: func(ctx context.Context, c apptest.Clients, _, _ string, d any) (bool, error) {
			_, err := c.Events.ReplayWebhookDelivery(ctx, connect.NewRequest(&v1.ReplayWebhookDeliveryRequest{Id: d.(*v1.WebhookDelivery).GetId()}))
			return true, err
		},
	},
	"/meshplane.v1.EventsService/WatchEvents": {
		want:  roles(everyone, everyone, ownDomain, nobody, nobody, nobody),
		setup: setupProduct,
		call: func(ctx context.Context, c apptest.Clients, dom, _ string, _ any) (bool, error) {
			ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			// From the start of the log: the domain's creation comes at once.
			stream, err := c.Events.WatchEvents(ctx, connect.NewRequest(&v1.WatchEventsRequest{Domain: dom, AfterSequence: 1}))
			if err != nil {
				return false, err
			}
			defer stream.Close()
			for stream.Receive() {
				if e := stream.Msg().GetEvent(); e != nil {
					return e.GetDomain() == dom, nil
				}
			}
			return false, stream.Err()
		},
	},
	"/meshplane.v1.AuditService/VerifyAuditLog": {
		want: roles(everyone, everyone, nobody, nobody, nobody, nobody),
		call: func(ctx context.Context, c apptest.Clients, _, _ string, _ any) (bool, error) {
			_, err := c.Audit.VerifyAuditLog(ctx, connect.NewRequest(&v1.VerifyAuditLogRequest{}))
			return true, err
		},
	},
}

// Webhooks are read by admins, officers and the domain's owners, and
// managed by admins and the domain's owners.
var (
	webhookReaders  = roles(everyone, everyone, ownDomain, nobody, nobody, nobody)
	webhookManagers = roles(everyone, nobody, ownDomain, nobody, nobody, nobody)
)

func setupWebhook(t *testing.T, env *apptest.Env, dom, key string) any {
	return mustOK(adminClients(env).Events.CreateWebhook(context.Background(), connect.NewRequest(&v1.CreateWebhookRequest{
		Domain: dom, Name: "w-" + key, Url: matrixReceiver(t).URL}))).GetWebhook()
}

var (
	receiverOnce sync.Once
	receiverURL  *httptest.Server
)

// matrixReceiver is a webhook endpoint that takes every delivery.
func matrixReceiver(t *testing.T) *httptest.Server {
	receiverOnce.Do(func() {
		receiverURL = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	})
	return receiverURL
}

// setupDelivered creates a webhook and waits until its first event, its
// own creation, is delivered; it returns that delivery.
func setupDelivered(t *testing.T, env *apptest.Env, dom, key string) any {
	w := setupWebhook(t, env, dom, key).(*v1.Webhook)
	c := adminClients(env)
	deadline := time.Now().Add(time.Minute)
	for {
		res := mustOK(c.Events.ListWebhookDeliveries(context.Background(), connect.NewRequest(&v1.ListWebhookDeliveriesRequest{
			WebhookId: w.GetId(), State: v1.DeliveryState_DELIVERY_STATE_DELIVERED})))
		if len(res.GetDeliveries()) > 0 {
			return res.GetDeliveries()[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhook %s: nothing delivered", w.GetName())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// apiProcedures lists every procedure of meshplane's API from the descriptors,
// so a new procedure without a matrix row fails the test.
func apiProcedures() []string {
	var out []string
	for _, f := range []protoreflect.FileDescriptor{v1.File_meshplane_v1_catalog_proto, v1.File_meshplane_v1_identity_proto,
		v1.File_meshplane_v1_audit_proto, v1.File_meshplane_v1_provisioning_proto, v1.File_meshplane_v1_policy_proto, v1.File_meshplane_v1_access_proto,
		v1.File_meshplane_v1_events_proto} {
		for i := range f.Services().Len() {
			s := f.Services().Get(i)
			for j := range s.Methods().Len() {
				out = append(out, fmt.Sprintf("/%s/%s", s.FullName(), s.Methods().Get(j).Name()))
			}
		}
	}
	return out
}

func TestAuthorizationMatrix(t *testing.T) {
	apptest.RequireTools(t)
	env := apptest.New(t, apptest.Options{Environments: []app.EnvironmentConfig{{Name: "dev"}, {Name: "prod", PromoteFrom: []string{"dev"}}}})
	env.Domain("own")
	env.Domain("other")
	tokens := map[string]string{}
	for _, role := range matrixRoles {
		switch role {
		case "none":
			tokens[role] = env.User("u-none", "", "")
		case "platform-admin", "governance-officer":
			tokens[role] = env.User("u-"+role, role, "*")
		default:
			tokens[role] = env.User("u-"+role, role, "own")
		}
	}
	procs := apiProcedures()
	for _, proc := range procs {
		if _, ok := authzMatrix[proc]; !ok {
			t.Errorf("procedure %s has no row in the authorization matrix", proc)
		}
	}
	for proc := range authzMatrix {
		if !slices.Contains(procs, proc) {
			t.Errorf("matrix row %s names no procedure", proc)
		}
	}
	n := 0
	for _, proc := range procs {
		c, ok := authzMatrix[proc]
		if !ok {
			continue
		}
		for _, role := range matrixRoles {
			for _, dom := range []string{"own", "other"} {
				n++
				key := fmt.Sprintf("%d", n)
				want := c.want[role].own
				if dom == "other" {
					want = c.want[role].other
				}
				var fixture any
				if c.setup != nil {
					fixture = c.setup(t, env, dom, key)
				}
				seen, err := c.call(context.Background(), env.Clients(apptest.ProtocolConnect, tokens[role]), dom, key, fixture)
				code := connect.CodeOf(err)
				got := err == nil && seen
				if err != nil && code != connect.CodePermissionDenied && code != connect.CodeNotFound {
					t.Errorf("%s as %s in %s domain: unexpected error %v", proc, role, dom, err)
					continue
				}
				if got != want {
					t.Errorf("%s as %s in %s domain: allowed=%v, want %v (err=%v)", proc, role, dom, got, want, err)
				}
			}
		}
	}
}
