package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
	"github.com/meshplane/meshplane/server/actor"
	"github.com/meshplane/meshplane/server/app"
	"github.com/meshplane/meshplane/server/app/apptest"
	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/ent/dataproduct"
	"github.com/meshplane/meshplane/server/errs"
	"github.com/meshplane/meshplane/server/rpc"
	"github.com/meshplane/meshplane/server/spec"
)

// Run with: go test ./server/app -run '^$' -bench . -benchmem
//
// Every benchmark goes through the whole stack: the apptest HTTP/2 TLS
// server, authentication, authorization, the service layer and the catalog.

// BenchmarkGetDataProductConnect reads one product over Connect as a domain
// viewer from 16 goroutines per CPU, keeping the server busy.
func BenchmarkGetDataProductConnect(b *testing.B) {
	env := apptest.New(b)
	env.Domain("shop")
	ctx := context.Background()
	admin := env.Clients(apptest.ProtocolConnect, env.AdminToken)
	if _, err := admin.Catalog.CreateDataProduct(ctx, connect.NewRequest(&v1.CreateDataProductRequest{
		Domain: "shop", Name: "orders", Spec: apptest.ProductSpecIn("shop"),
	})); err != nil {
		b.Fatal(err)
	}
	c := env.Clients(apptest.ProtocolConnect, env.User("bench-viewer", "viewer", "shop"))
	if _, err := c.Catalog.GetDataProduct(ctx, connect.NewRequest(&v1.GetDataProductRequest{Domain: "shop", Name: "orders"})); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Catalog.GetDataProduct(ctx, connect.NewRequest(&v1.GetDataProductRequest{Domain: "shop", Name: "orders"})); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

const (
	benchProducts = 10_000
	benchDomains  = 20
	benchPage     = 100
)

// BenchmarkListDataProducts100of10k lists pages of 100 out of 10,000
// products over Connect: walking every page with its cursor, and first pages
// under filters.
func BenchmarkListDataProducts100of10k(b *testing.B) {
	env, token := seededEnv(b)
	c := env.Clients(apptest.ProtocolConnect, token)
	ctx := context.Background()
	b.Run("walk", func(b *testing.B) {
		b.ReportAllocs()
		next := ""
		for b.Loop() {
			res, err := c.Catalog.ListDataProducts(ctx, connect.NewRequest(&v1.ListDataProductsRequest{PageSize: benchPage, PageToken: next}))
			if err != nil {
				b.Fatal(err)
			}
			next = res.Msg.GetNextPageToken()
			if n := len(res.Msg.GetDataProducts()); next != "" && n != benchPage {
				b.Fatalf("a page holds %d products, want %d", n, benchPage)
			}
		}
	})
	for _, f := range []struct {
		name string
		req  *v1.ListDataProductsRequest
	}{
		{"domain", &v1.ListDataProductsRequest{Domain: "d07"}},
		{"lifecycle", &v1.ListDataProductsRequest{Lifecycle: v1.Lifecycle_LIFECYCLE_ACTIVE}},
		{"label", &v1.ListDataProductsRequest{Labels: map[string]string{"tier": "gold"}}},
		{"text", &v1.ListDataProductsRequest{Text: "product-004"}},
	} {
		f.req.PageSize = benchPage
		b.Run(f.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				res, err := c.Catalog.ListDataProducts(ctx, connect.NewRequest(f.req))
				if err != nil {
					b.Fatal(err)
				}
				if len(res.Msg.GetDataProducts()) == 0 {
					b.Fatal("the filter matched nothing")
				}
			}
		})
	}
}

const benchProductsQuery = `query($after: String) {
  dataProducts(first: 100, after: $after) {
    nodes { domain name lifecycle ports { topic fields { name classification } } }
    pageInfo { endCursor hasNextPage }
  }
}`

// BenchmarkGraphQLListProducts100 walks pages of 100 out of 10,000 products
// over GraphQL.
func BenchmarkGraphQLListProducts100(b *testing.B) {
	env, token := seededEnv(b)
	var after any
	b.ReportAllocs()
	for b.Loop() {
		res := env.GraphQL(token, benchProductsQuery, map[string]any{"after": after})
		if len(res.Errors) > 0 {
			b.Fatalf("graphql errors: %+v", res.Errors)
		}
		var data struct {
			DataProducts struct {
				Nodes    []json.RawMessage `json:"nodes"`
				PageInfo struct {
					EndCursor   *string `json:"endCursor"`
					HasNextPage bool    `json:"hasNextPage"`
				} `json:"pageInfo"`
			} `json:"dataProducts"`
		}
		if err := json.Unmarshal(res.Data, &data); err != nil {
			b.Fatal(err)
		}
		dp := data.DataProducts
		after = nil
		if dp.PageInfo.HasNextPage {
			if len(dp.Nodes) != benchPage {
				b.Fatalf("a page holds %d products, want %d", len(dp.Nodes), benchPage)
			}
			after = *dp.PageInfo.EndCursor
		}
	}
}

// seededEnv starts a stack holding benchProducts products across
// benchDomains domains, inserted with bulk creates in one transaction, and
// returns it with the token of a governance officer, who reads every domain.
func seededEnv(b *testing.B) (*apptest.Env, string) {
	b.Helper()
	env := apptest.New(b)
	ctx := context.Background()
	admin := actor.With(ctx, actor.Actor{Name: "admin", Kind: actor.KindUser})
	for d := range benchDomains {
		if _, err := env.Server.Catalog.CreateDomain(admin, fmt.Sprintf("d%02d", d), "", nil); err != nil {
			b.Fatal(err)
		}
	}
	lifecycles := []dataproduct.Lifecycle{dataproduct.LifecycleDraft, dataproduct.LifecycleActive, dataproduct.LifecycleActive, dataproduct.LifecycleDeprecated}
	tiers := []string{"gold", "silver", "bronze"}
	const batch = 500
	err := env.Server.Store.Tx(ctx, func(tx *ent.Tx) error {
		for lo := 0; lo < benchProducts; lo += batch {
			bs := make([]*ent.DataProductCreate, 0, batch)
			for i := lo; i < min(lo+batch, benchProducts); i++ {
				dom, name := fmt.Sprintf("d%02d", i%benchDomains), fmt.Sprintf("product-%05d", i)
				sp := rpc.ProductSpec(apptest.ProductSpecIn(dom))
				sp.Labels["tier"] = tiers[i%len(tiers)]
				sp.Normalize(dom, name)
				var v errs.Violations
				sp.Validate(&v, "spec")
				if err := v.Err(); err != nil {
					return err
				}
				bs = append(bs, tx.DataProduct.Create().
					SetDomain(dom).SetName(name).SetDescription(sp.Description).SetOwner(sp.Owner).
					SetLabels(sp.Labels).SetLifecycle(lifecycles[i%len(lifecycles)]).
					SetSource(sp.Source).SetPorts(sp.Ports).SetSinks(sp.Sinks).
					SetSearchText(spec.SearchText(name, sp)).SetClassifications(spec.ClassificationBits(sp)).
					SetCreatedBy("admin").SetUpdatedBy("admin"))
			}
			if err := tx.DataProduct.CreateBulk(bs...).Exec(ctx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatalf("seeding products: %v", err)
	}
	return env, env.User("bench-officer", "governance-officer", "*")
}

// BenchmarkPlanAcrossEnvironments plans one product in one environment of a
// server with 1 and with 4 environments (each a sandbox of its own): the
// cost of a change is one workspace's plan whatever the number of
// environments. Run with -benchtime 5x; each plan runs terraform.
func BenchmarkPlanAcrossEnvironments(b *testing.B) {
	apptest.RequireTools(b)
	for _, n := range []int{1, 4} {
		b.Run(fmt.Sprintf("environments=%d", n), func(b *testing.B) {
			var envs []app.EnvironmentConfig
			for i := range n {
				envs = append(envs, app.EnvironmentConfig{Name: fmt.Sprintf("env%d", i+1)})
			}
			env := apptest.New(b, apptest.Options{Environments: envs})
			env.Domain("sales")
			ctx := context.Background()
			c := env.Clients(apptest.ProtocolConnect, env.AdminToken)
			if _, err := c.Catalog.CreateDataProduct(ctx, connect.NewRequest(&v1.CreateDataProductRequest{Domain: "sales", Name: "orders", Spec: apptest.ProductSpec()})); err != nil {
				b.Fatal(err)
			}
			target := envs[n-1].Name
			planOnce := func() {
				res, err := c.Provision.Plan(ctx, connect.NewRequest(&v1.PlanRequest{Domain: "sales", Product: "orders", Environment: target}))
				if err != nil {
					b.Fatal(err)
				}
				for {
					r, err := c.Provision.GetRun(ctx, connect.NewRequest(&v1.GetRunRequest{Id: res.Msg.GetRun().GetId()}))
					if err != nil {
						b.Fatal(err)
					}
					if st := r.Msg.GetRun().GetState(); st == v1.RunState_RUN_STATE_PLANNED {
						return
					} else if st != v1.RunState_RUN_STATE_QUEUED && st != v1.RunState_RUN_STATE_PLANNING {
						b.Fatalf("plan ended %v: %s", st, r.Msg.GetRun().GetError())
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
			planOnce() // terraform init, once per workspace
			for b.Loop() {
				planOnce()
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/plan")
		})
	}
}
