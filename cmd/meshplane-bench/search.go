package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
	"github.com/meshplane/meshplane/api/gen/meshplane/v1/meshplanev1connect"
	"github.com/meshplane/meshplane/server/actor"
	"github.com/meshplane/meshplane/server/app"
	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/ent/dataproduct"
	"github.com/meshplane/meshplane/server/errs"
	"github.com/meshplane/meshplane/server/provision/summary"
	"github.com/meshplane/meshplane/server/rpc"
	"github.com/meshplane/meshplane/server/spec"
)

// targetSearchP99 bounds the first page of a text search.
const targetSearchP99 = 15 * time.Millisecond

// searchPage is the page size the portal's catalog search asks for.
const searchPage = 50

// benchSearch starts a catalog of its own — SQLite, or a database it
// creates on the PostgreSQL server -search-postgres names — fills it with
// c.Products varied products and times the first page of searches over
// Connect, each beside the unfiltered first page measured in the same run.
func benchSearch(ctx context.Context, c config, rep *report, progress func(string, ...any)) error {
	var opts []func(*app.Config)
	where := "SQLite"
	if c.SearchPostgres != "" {
		dbURL, drop, err := postgresDatabase(ctx, c.SearchPostgres)
		if err != nil {
			return err
		}
		defer drop()
		opts = append(opts, func(cfg *app.Config) { cfg.DatabaseURL = dbURL })
		where = "PostgreSQL"
	}
	e, err := start(ctx, opts...)
	if err != nil {
		return err
	}
	defer e.close()
	progress("search: inserting %d varied products across %d domains (%s)", c.Products, c.Domains, where)
	t0 := time.Now()
	if err := seedSearch(ctx, e, c.Domains, c.Products); err != nil {
		return err
	}
	rep.note("7: %d products in %d domains on %s, inserted in %s; a quarter have a field named email, half a pii field, 1 in 10 is provisioned, 1 in 50 drifted.",
		c.Products, c.Domains, where, time.Since(t0).Round(time.Millisecond))

	officer, err := e.user(ctx, "search-officer", "governance-officer", "*")
	if err != nil {
		return err
	}
	cl := meshplanev1connect.NewCatalogServiceClient(h2cClient(), e.url, bearer(officer))
	type scenario struct {
		id, name string
		req      *v1.ListDataProductsRequest
		target   bool // held to targetSearchP99
	}
	scenarios := []scenario{
		{id: "7a", name: "no filter (baseline)", req: &v1.ListDataProductsRequest{}},
		{id: "7b", name: `text "product-004" (name fragment)`, req: &v1.ListDataProductsRequest{Text: "product-004"}, target: true},
		{id: "7c", name: `text "email" (field name)`, req: &v1.ListDataProductsRequest{Text: "email"}, target: true},
		{id: "7d", name: "classification PII (facet filter)", req: &v1.ListDataProductsRequest{Classification: v1.Classification_CLASSIFICATION_PII}},
		{id: "7e", name: "no filter, with facet counts", req: &v1.ListDataProductsRequest{IncludeFacets: true}},
		{id: "7f", name: `text "email", with facet counts`, req: &v1.ListDataProductsRequest{Text: "email", IncludeFacets: true}},
	}
	// One request answers each scenario before timing: a search that finds
	// nothing would time an empty page.
	for _, s := range scenarios {
		s.req.PageSize = searchPage
		res, err := cl.ListDataProducts(ctx, connect.NewRequest(s.req))
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		if n := len(res.Msg.GetDataProducts()); n != searchPage {
			return fmt.Errorf("%s: the first page holds %d products, want %d", s.name, n, searchPage)
		}
		if f := res.Msg.GetFacets(); s.req.GetIncludeFacets() && f.GetTotalSize() == 0 {
			return fmt.Errorf("%s: no facet counts", s.name)
		}
	}
	measure := func(s scenario) stats {
		return closedLoop(ctx, 1, c.ListFor, c.ListMax, func(ctx context.Context, _ int) error {
			_, err := cl.ListDataProducts(ctx, connect.NewRequest(s.req))
			return err
		})
	}
	for _, s := range scenarios {
		closedLoop(ctx, 1, 300*time.Millisecond, 50, func(ctx context.Context, _ int) error {
			_, err := cl.ListDataProducts(ctx, connect.NewRequest(s.req))
			return err
		})
	}
	progress("search: first pages of %d, %d scenarios, %s each", searchPage, len(scenarios), c.ListFor)
	var base stats
	for i, s := range scenarios {
		st := measure(s)
		if i == 0 {
			base = st
		}
		result := fmt.Sprintf("p50 %s  p99 %s  (%.1fx / %.1fx the baseline)", ms(st.Pct(50)), ms(st.Pct(99)),
			ratio(st.Pct(50), base.Pct(50)), ratio(st.Pct(99), base.Pct(99)))
		if i == 0 {
			result = fmt.Sprintf("p50 %s  p99 %s", ms(st.Pct(50)), ms(st.Pct(99)))
		}
		target, status := "—", errStatus(st, "info")
		if s.target {
			target = "p99 <= " + ms(targetSearchP99)
			status = errStatus(st, verdict(st.Pct(99) <= targetSearchP99))
		}
		rep.add(s.id, fmt.Sprintf("ListDataProducts %s, first %d of %d (%s)", s.name, searchPage, c.Products, where), result, target, status)
		if st.Errors > 0 {
			rep.note("%s: %d errors, first: %v", s.id, st.Errors, st.FirstErr)
		}
	}
	return nil
}

func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// searchVariant is the second port of the i-th search product: which fields
// it exposes decides what searches and facets find it.
func searchVariant(i int) *v1.OutputPort {
	key := &v1.Field{Name: "customer_id", Type: v1.FieldType_FIELD_TYPE_INT64, Classification: v1.Classification_CLASSIFICATION_NONE, Key: true}
	port := func(name, table string, fields ...*v1.Field) *v1.OutputPort {
		return &v1.OutputPort{Name: name, Description: "The " + name + " of the shop.", Table: table,
			CleanupPolicy: v1.CleanupPolicy_CLEANUP_POLICY_COMPACT, Fields: append([]*v1.Field{key}, fields...)}
	}
	switch (i / 7) % 4 {
	case 0:
		return port("customers", "public.customers",
			&v1.Field{Name: "email", Type: v1.FieldType_FIELD_TYPE_STRING, Classification: v1.Classification_CLASSIFICATION_PII, Tags: []string{"contact"}})
	case 1:
		return port("contacts", "public.customers",
			&v1.Field{Name: "phone", Type: v1.FieldType_FIELD_TYPE_STRING, Classification: v1.Classification_CLASSIFICATION_PII, Tags: []string{"contact"}})
	case 2:
		return port("loyalty", "public.customers",
			&v1.Field{Name: "points", Type: v1.FieldType_FIELD_TYPE_INT64, Classification: v1.Classification_CLASSIFICATION_NONE},
			&v1.Field{Name: "tier", Type: v1.FieldType_FIELD_TYPE_STRING, Classification: v1.Classification_CLASSIFICATION_INTERNAL})
	default:
		return port("segments", "public.customers",
			&v1.Field{Name: "segment", Type: v1.FieldType_FIELD_TYPE_STRING, Classification: v1.Classification_CLASSIFICATION_INTERNAL})
	}
}

// seedSearch creates domains d00… and n products across them with bulk
// creates, each with its search text as the catalog derives it, varied
// lifecycles, second ports (searchVariant) and provisioning states.
func seedSearch(ctx context.Context, e *env, domains, n int) error {
	admin := actor.With(ctx, actor.Actor{Name: "admin", Kind: actor.KindUser})
	for d := range domains {
		if _, err := e.srv.Catalog.CreateDomain(admin, domainName(d), "bench domain", nil); err != nil {
			return fmt.Errorf("creating domain: %w", err)
		}
	}
	const batch = 500
	lifecycles := []dataproduct.Lifecycle{dataproduct.LifecycleDraft, dataproduct.LifecycleActive, dataproduct.LifecycleActive, dataproduct.LifecycleDeprecated}
	drift := []summary.ResourceChange{{Address: "module.topic__orders.kafka_topic.this", Action: "update"}}
	return e.srv.Store.Tx(ctx, func(tx *ent.Tx) error {
		for lo := 0; lo < n; lo += batch {
			var bs []*ent.DataProductCreate
			for i := lo; i < min(lo+batch, n); i++ {
				dom, name := domainName(i%domains), fmt.Sprintf("product-%05d", i)
				wire := productSpec(dom)
				wire.Ports[1] = searchVariant(i)
				wire.Sinks = wire.Sinks[1:] // the lake takes the orders port, present in every variant
				sp := rpc.ProductSpec(wire)
				sp.Labels["tier"] = tiers[i%len(tiers)]
				sp.Normalize(dom, name)
				var v errs.Violations
				sp.Validate(&v, "spec")
				if err := v.Err(); err != nil {
					return fmt.Errorf("product %s/%s: %w", dom, name, err)
				}
				b := tx.DataProduct.Create().
					SetDomain(dom).SetName(name).SetDescription(sp.Description).SetOwner(sp.Owner).
					SetLabels(sp.Labels).SetLifecycle(lifecycles[i%len(lifecycles)]).
					SetSource(sp.Source).SetPorts(sp.Ports).SetSinks(sp.Sinks).
					SetSearchText(spec.SearchText(name, sp)).SetClassifications(spec.ClassificationBits(sp)).
					SetCreatedBy("admin").SetUpdatedBy("admin")
				if i%10 == 0 {
					b.SetProvisionedVersion(1)
				}
				if i%50 == 0 {
					b.SetDrift(drift)
				}
				bs = append(bs, b)
			}
			if err := tx.DataProduct.CreateBulk(bs...).Exec(ctx); err != nil {
				return fmt.Errorf("inserting products: %w", err)
			}
		}
		return nil
	})
}

// postgresDatabase creates a database on the server at base and returns its
// URL and a function that drops it.
func postgresDatabase(ctx context.Context, base string) (string, func(), error) {
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, fmt.Errorf("opening postgres: %w", err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "meshplane_bench_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("creating the bench database: %w", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		admin.Close()
		return "", nil, err
	}
	u.Path = "/" + name
	return u.String(), func() {
		_, _ = admin.ExecContext(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		admin.Close()
	}, nil
}
