package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
	"github.com/meshplane/meshplane/api/gen/meshplane/v1/meshplanev1connect"
	"github.com/meshplane/meshplane/server/actor"
	"github.com/meshplane/meshplane/server/catalog"
	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/ent/dataproduct"
	"github.com/meshplane/meshplane/server/errs"
	"github.com/meshplane/meshplane/server/rpc"
	"github.com/meshplane/meshplane/server/spec"
)

// targetListP99 bounds the latency of one page of 100 products.
const targetListP99 = 15 * time.Millisecond

const pageSize = 100

// benchList fills the catalog to c.Products and measures pages of 100 over
// Connect and GraphQL, one request at a time.
func benchList(ctx context.Context, c config, e *env, rep *report, progress func(string, ...any)) error {
	have, err := e.srv.Store.Client.DataProduct.Query().Count(ctx)
	if err != nil {
		return err
	}
	progress("listing: inserting %d products across %d domains (%s)", c.Products-have, c.Domains, c.Seed)
	t0 := time.Now()
	if err := seed(ctx, e, c.Domains, c.Products-have, c.Seed); err != nil {
		return err
	}
	took := time.Since(t0)
	total, err := e.srv.Store.Client.DataProduct.Query().Count(ctx)
	if err != nil {
		return err
	}
	rep.note("2: %d products in %d domains; inserted %d in %s (%s, %s/s).", total, c.Domains+1, total-have,
		took.Round(time.Millisecond), c.Seed, thousands(float64(total-have)/took.Seconds()))

	officer, err := e.user(ctx, "bench-officer", "governance-officer", "*")
	if err != nil {
		return err
	}
	cl := meshplanev1connect.NewCatalogServiceClient(h2cClient(), e.url, bearer(officer))
	gql := &graphQLClient{hc: h2cClient(), url: e.url + "/graphql", token: officer}

	walk := func(page func(ctx context.Context, after string) (n int, next string, err error)) call {
		after, pages := "", 0
		return func(ctx context.Context, _ int) error {
			n, next, err := page(ctx, after)
			if err != nil {
				after = ""
				return err
			}
			pages++
			if next != "" && n != pageSize {
				return fmt.Errorf("page %d holds %d products, want %d", pages, n, pageSize)
			}
			after = next
			return nil
		}
	}
	connectWalk := walk(func(ctx context.Context, after string) (int, string, error) {
		res, err := cl.ListDataProducts(ctx, connect.NewRequest(&v1.ListDataProductsRequest{PageSize: pageSize, PageToken: after}))
		if err != nil {
			return 0, "", err
		}
		return len(res.Msg.GetDataProducts()), res.Msg.GetNextPageToken(), nil
	})
	gqlWalk := walk(func(ctx context.Context, after string) (int, string, error) {
		return gql.page(ctx, after, nil)
	})

	// Warm both doors (query plans, gqlgen's query cache, the auth cache).
	closedLoop(ctx, 1, 300*time.Millisecond, 50, connectWalk)
	closedLoop(ctx, 1, 300*time.Millisecond, 50, gqlWalk)

	progress("listing: Connect, walking pages of %d for %s", pageSize, c.ListFor)
	cw := closedLoop(ctx, 1, c.ListFor, c.ListMax, connectWalk)
	progress("listing: GraphQL, walking pages of %d for %s", pageSize, c.ListFor)
	gw := closedLoop(ctx, 1, c.ListFor, c.ListMax, gqlWalk)

	filters := listFilters()
	per := c.ListFor / time.Duration(len(filters))
	var cf, gf stats
	var cWorst, gWorst string
	var cWorstP99, gWorstP99 time.Duration
	progress("listing: first pages with %d filters, both doors, %s per filter and door", len(filters), per)
	for _, f := range filters {
		s := closedLoop(ctx, 1, per, c.ListMax, func(ctx context.Context, _ int) error {
			_, err := cl.ListDataProducts(ctx, connect.NewRequest(f.connect()))
			return err
		})
		if p := s.Pct(99); p >= cWorstP99 {
			cWorst, cWorstP99 = f.name, p
		}
		cf.merge(s)
		g := closedLoop(ctx, 1, per, c.ListMax, func(ctx context.Context, _ int) error {
			_, _, err := gql.page(ctx, "", f.graphQL())
			return err
		})
		if p := g.Pct(99); p >= gWorstP99 {
			gWorst, gWorstP99 = f.name, p
		}
		gf.merge(g)
		rep.note("2 filter %-28s Connect p50 %s p99 %s | GraphQL p50 %s p99 %s", f.name+":", ms(s.Pct(50)), ms(s.Pct(99)), ms(g.Pct(50)), ms(g.Pct(99)))
	}
	if err := profiled(c, "list", progress, func() { closedLoop(ctx, 1, c.ListFor, c.ListMax, connectWalk) }); err != nil {
		return err
	}
	if err := profiled(c, "graphql", progress, func() { closedLoop(ctx, 1, c.ListFor, c.ListMax, gqlWalk) }); err != nil {
		return err
	}

	target := "p99 <= " + ms(targetListP99)
	line := func(s stats) string {
		return fmt.Sprintf("%d pages  p50 %s  p99 %s  max %s", s.Requests, ms(s.Pct(50)), ms(s.Pct(99)), ms(s.Max()))
	}
	rep.add("2a", fmt.Sprintf("ListDataProducts Connect, walk %d/page of %d", pageSize, total), line(cw), target, errStatus(cw, verdict(cw.Pct(99) <= targetListP99)))
	rep.add("2b", fmt.Sprintf("ListDataProducts Connect, first pages, %d filters", len(filters)), line(cf)+"  worst "+cWorst, target, errStatus(cf, verdict(cf.Pct(99) <= targetListP99)))
	rep.add("2c", fmt.Sprintf("GraphQL dataProducts(first: %d), walk", pageSize), line(gw), target, errStatus(gw, verdict(gw.Pct(99) <= targetListP99)))
	rep.add("2d", fmt.Sprintf("GraphQL dataProducts(first: %d), %d filters", pageSize, len(filters)), line(gf)+"  worst "+gWorst, target, errStatus(gf, verdict(gf.Pct(99) <= targetListP99)))
	if s := firstErr(cw, cf, gw, gf); s != "" {
		rep.note("2: errors%s", s)
	}
	return nil
}

// seed creates domains d00… and n products spread across them, named so a
// listing by name interleaves domains, with varied lifecycles and labels.
func seed(ctx context.Context, e *env, domains, n int, how string) error {
	admin := actor.With(ctx, actor.Actor{Name: "admin", Kind: actor.KindUser})
	for d := range domains {
		if _, err := e.srv.Catalog.CreateDomain(admin, domainName(d), "bench domain", nil); err != nil {
			return fmt.Errorf("creating domain: %w", err)
		}
	}
	if how == "service" {
		for i := range n {
			dom, name, sp := seedProduct(i, domains)
			if _, err := e.srv.Catalog.CreateDataProduct(admin, catalog.CreateProductInput{Domain: dom, Name: name, Spec: sp}); err != nil {
				return fmt.Errorf("creating product %s/%s: %w", dom, name, err)
			}
		}
		return nil
	}
	const batch = 500 // 15 columns a row, well under SQLite's bound on variables
	lifecycles := []dataproduct.Lifecycle{dataproduct.LifecycleDraft, dataproduct.LifecycleActive, dataproduct.LifecycleActive, dataproduct.LifecycleDeprecated}
	return e.srv.Store.Tx(ctx, func(tx *ent.Tx) error {
		for lo := 0; lo < n; lo += batch {
			var bs []*ent.DataProductCreate
			for i := lo; i < min(lo+batch, n); i++ {
				dom, name, sp := seedProduct(i, domains)
				var v errs.Violations
				sp.Validate(&v, "spec")
				if err := v.Err(); err != nil {
					return fmt.Errorf("product %s/%s: %w", dom, name, err)
				}
				bs = append(bs, tx.DataProduct.Create().
					SetDomain(dom).SetName(name).SetDescription(sp.Description).SetOwner(sp.Owner).
					SetLabels(sp.Labels).SetLifecycle(lifecycles[i%len(lifecycles)]).
					SetSource(sp.Source).SetPorts(sp.Ports).SetSinks(sp.Sinks).
					SetSearchText(spec.SearchText(name, sp)).SetClassifications(spec.ClassificationBits(sp)).
					SetCreatedBy("admin").SetUpdatedBy("admin"))
			}
			if err := tx.DataProduct.CreateBulk(bs...).Exec(ctx); err != nil {
				return fmt.Errorf("inserting products: %w", err)
			}
		}
		return nil
	})
}

func domainName(d int) string { return fmt.Sprintf("d%02d", d) }

var tiers = []string{"gold", "silver", "bronze"}

// seedProduct returns the i-th product: the fixture spec, normalized for its
// domain and name, with a tier label.
func seedProduct(i, domains int) (dom, name string, sp spec.Product) {
	dom, name = domainName(i%domains), fmt.Sprintf("product-%05d", i)
	sp = rpc.ProductSpec(productSpec(dom))
	sp.Labels["tier"] = tiers[i%len(tiers)]
	sp.Normalize(dom, name)
	return dom, name, sp
}

type listFilter struct {
	name       string
	domain     string
	lifecycle  v1.Lifecycle
	labels     map[string]string
	text       string
	createDesc bool
}

func listFilters() []listFilter {
	return []listFilter{
		{name: "domain=d07", domain: "d07"},
		{name: "lifecycle=ACTIVE", lifecycle: v1.Lifecycle_LIFECYCLE_ACTIVE},
		{name: "label tier=gold", labels: map[string]string{"tier": "gold"}},
		{name: "text=product-004", text: "product-004"},
		{name: "domain=d03,lifecycle=DEPRECATED", domain: "d03", lifecycle: v1.Lifecycle_LIFECYCLE_DEPRECATED},
		{name: "order by create_time desc", createDesc: true},
	}
}

func (f listFilter) connect() *v1.ListDataProductsRequest {
	r := &v1.ListDataProductsRequest{PageSize: pageSize, Domain: f.domain, Lifecycle: f.lifecycle, Labels: f.labels, Text: f.text}
	if f.createDesc {
		r.OrderBy, r.Descending = v1.DataProductOrderField_DATA_PRODUCT_ORDER_FIELD_CREATE_TIME, true
	}
	return r
}

// graphQL returns the variables filter and orderBy.
func (f listFilter) graphQL() map[string]any {
	filter := map[string]any{}
	if f.domain != "" {
		filter["domain"] = f.domain
	}
	if f.lifecycle != v1.Lifecycle_LIFECYCLE_UNSPECIFIED {
		filter["lifecycle"] = map[v1.Lifecycle]string{v1.Lifecycle_LIFECYCLE_ACTIVE: "ACTIVE", v1.Lifecycle_LIFECYCLE_DEPRECATED: "DEPRECATED", v1.Lifecycle_LIFECYCLE_DRAFT: "DRAFT"}[f.lifecycle]
	}
	var labels []map[string]string
	for k, v := range f.labels {
		labels = append(labels, map[string]string{"key": k, "value": v})
	}
	if labels != nil {
		filter["labels"] = labels
	}
	if f.text != "" {
		filter["text"] = f.text
	}
	vars := map[string]any{"filter": filter}
	if f.createDesc {
		vars["orderBy"] = map[string]any{"field": "CREATE_TIME", "direction": "DESC"}
	}
	return vars
}

const productsQuery = `query Products($first: Int, $after: String, $filter: DataProductFilter, $orderBy: DataProductOrder) {
  dataProducts(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
    nodes { domain name lifecycle ports { topic fields { name classification } } }
    pageInfo { endCursor hasNextPage }
  }
}`

type graphQLClient struct {
	hc    *http.Client
	url   string
	token string
}

// page fetches one page of dataProducts after the cursor with extra
// variables, returning how many products it holds and the next cursor.
func (g *graphQLClient) page(ctx context.Context, after string, vars map[string]any) (int, string, error) {
	v := map[string]any{"first": pageSize}
	for k, x := range vars {
		v[k] = x
	}
	if after != "" {
		v["after"] = after
	}
	body, err := json.Marshal(map[string]any{"query": productsQuery, "variables": v})
	if err != nil {
		return 0, "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.url, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+g.token)
	res, err := g.hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, "", err
	}
	var out struct {
		Data struct {
			DataProducts struct {
				Nodes []struct {
					Name string `json:"name"`
				} `json:"nodes"`
				PageInfo struct {
					EndCursor   *string `json:"endCursor"`
					HasNextPage bool    `json:"hasNextPage"`
				} `json:"pageInfo"`
			} `json:"dataProducts"`
		} `json:"data"`
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return 0, "", fmt.Errorf("graphql status %d: %w", res.StatusCode, err)
	}
	if res.StatusCode != http.StatusOK || len(out.Errors) > 0 {
		return 0, "", fmt.Errorf("graphql status %d: %s", res.StatusCode, raw[:min(len(raw), 300)])
	}
	dp := out.Data.DataProducts
	next := ""
	if dp.PageInfo.HasNextPage && dp.PageInfo.EndCursor != nil {
		next = *dp.PageInfo.EndCursor
	}
	return len(dp.Nodes), next, nil
}
