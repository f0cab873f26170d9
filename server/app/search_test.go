package app_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/twmb/franz-go/pkg/kadm"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
	"github.com/meshplane/meshplane/server/app/apptest"
)

// search is a door-neutral catalog search. Enum values are spelled as in
// GraphQL ("PII", "DRIFTED"); "" leaves a criterion out.
type search struct {
	Domain         string
	Text           string
	Health         string
	Classification string
	PageSize       int32
	PageToken      string
	Facets         bool
}

// facetView is what a door answers for facets; every count is keyed by the
// GraphQL spelling of its value.
type facetView struct {
	Total           int
	Domains         map[string]int
	Lifecycles      map[string]int
	Health          map[string]int
	Classifications map[string]int
}

type searchResult struct {
	Names  []string
	Next   string
	Health map[string]string // domain/name → health
	Facets *facetView
}

// searcher is a door that searches the catalog.
type searcher interface {
	search(tok string, q search) (searchResult, outcome)
}

type connectSearcher struct{ connectDoor }

func (d connectSearcher) search(tok string, q search) (searchResult, outcome) {
	req := &v1.ListDataProductsRequest{Domain: q.Domain, Text: q.Text, PageSize: q.PageSize, PageToken: q.PageToken, IncludeFacets: q.Facets}
	if q.Health != "" {
		req.Health = v1.DataProductHealth(v1.DataProductHealth_value["DATA_PRODUCT_HEALTH_"+q.Health])
	}
	if q.Classification != "" {
		req.Classification = v1.Classification(v1.Classification_value["CLASSIFICATION_"+q.Classification])
	}
	res, err := d.env.Clients(d.p, tok).Catalog.ListDataProducts(context.Background(), connect.NewRequest(req))
	if err != nil {
		return searchResult{}, connectOutcome(err)
	}
	out := searchResult{Next: res.Msg.GetNextPageToken(), Health: map[string]string{}}
	for _, p := range res.Msg.GetDataProducts() {
		n := p.GetDomain() + "/" + p.GetName()
		out.Names = append(out.Names, n)
		out.Health[n] = strings.TrimPrefix(p.GetHealth().String(), "DATA_PRODUCT_HEALTH_")
	}
	if f := res.Msg.GetFacets(); f != nil {
		fv := &facetView{Total: int(f.GetTotalSize()), Domains: map[string]int{}, Lifecycles: map[string]int{}, Health: map[string]int{}, Classifications: map[string]int{}}
		for _, c := range f.GetDomains() {
			fv.Domains[c.GetDomain()] = int(c.GetCount())
		}
		for _, c := range f.GetLifecycles() {
			fv.Lifecycles[strings.TrimPrefix(c.GetLifecycle().String(), "LIFECYCLE_")] = int(c.GetCount())
		}
		for _, c := range f.GetHealth() {
			fv.Health[strings.TrimPrefix(c.GetHealth().String(), "DATA_PRODUCT_HEALTH_")] = int(c.GetCount())
		}
		for _, c := range f.GetClassifications() {
			fv.Classifications[strings.TrimPrefix(c.GetClassification().String(), "CLASSIFICATION_")] = int(c.GetCount())
		}
		out.Facets = fv
	}
	return out, connectOutcome(nil)
}

type graphqlSearcher struct{ graphqlDoor }

const facetsSelection = `facets { totalCount domains { domain count } lifecycles { lifecycle count } health { health count } classifications { classification count } }`

func (d graphqlSearcher) search(tok string, q search) (searchResult, outcome) {
	filter := map[string]any{}
	for k, v := range map[string]string{"domain": q.Domain, "text": q.Text, "health": q.Health, "classification": q.Classification} {
		if v != "" {
			filter[k] = v
		}
	}
	vars := map[string]any{"filter": filter}
	if q.PageSize != 0 {
		vars["first"] = q.PageSize
	}
	if q.PageToken != "" {
		vars["after"] = q.PageToken
	}
	facets := ""
	if q.Facets {
		facets = facetsSelection
	}
	r := d.env.GraphQL(tok, `query($first: Int, $after: String, $filter: DataProductFilter) {
		dataProducts(first: $first, after: $after, filter: $filter) { nodes { domain name health } pageInfo { hasNextPage endCursor } `+facets+` } }`, vars)
	type count struct {
		Domain, Lifecycle, Health, Classification string
		Count                                     int
	}
	res := decode[struct {
		DataProducts struct {
			Nodes    []struct{ Domain, Name, Health string }
			PageInfo struct {
				HasNextPage bool
				EndCursor   string
			}
			Facets *struct {
				TotalCount                                   int
				Domains, Lifecycles, Health, Classifications []count
			}
		}
	}](r)
	out := searchResult{Health: map[string]string{}}
	for _, n := range res.DataProducts.Nodes {
		out.Names = append(out.Names, n.Domain+"/"+n.Name)
		out.Health[n.Domain+"/"+n.Name] = n.Health
	}
	if res.DataProducts.PageInfo.HasNextPage {
		out.Next = res.DataProducts.PageInfo.EndCursor
	}
	if f := res.DataProducts.Facets; f != nil {
		fv := &facetView{Total: f.TotalCount, Domains: map[string]int{}, Lifecycles: map[string]int{}, Health: map[string]int{}, Classifications: map[string]int{}}
		for _, c := range f.Domains {
			fv.Domains[c.Domain] = c.Count
		}
		for _, c := range f.Lifecycles {
			fv.Lifecycles[c.Lifecycle] = c.Count
		}
		for _, c := range f.Health {
			fv.Health[c.Health] = c.Count
		}
		for _, c := range f.Classifications {
			fv.Classifications[c.Classification] = c.Count
		}
		out.Facets = fv
	}
	return out, gqlOutcome(r)
}

// searchers returns every door into env that searches.
func searchers(env *apptest.Env) map[string]searcher {
	return map[string]searcher{
		"connect": connectSearcher{connectDoor{env, apptest.ProtocolConnect}},
		"graphql": graphqlSearcher{graphqlDoor{env}},
	}
}

// withPort returns the fixture spec with its customers port replaced by one
// named port holding fields (each a pii field keyed on id when pii).
func withPort(port string, fields ...*v1.Field) *v1.DataProductSpec {
	s := apptest.ProductSpec()
	s.Ports[1] = &v1.OutputPort{Name: port, Description: "The " + port + ".", Table: "public.customers",
		CleanupPolicy: v1.CleanupPolicy_CLEANUP_POLICY_COMPACT,
		Fields:        append([]*v1.Field{{Name: "id", Type: v1.FieldType_FIELD_TYPE_INT64, Classification: v1.Classification_CLASSIFICATION_NONE, Key: true}}, fields...)}
	return s
}

func field(name string, class v1.Classification, tags ...string) *v1.Field {
	return &v1.Field{Name: name, Type: v1.FieldType_FIELD_TYPE_STRING, Nullable: true, Classification: class, Tags: tags}
}

func wantNames(t *testing.T, step string, got searchResult, o outcome, want ...string) {
	t.Helper()
	wantOutcome(t, step, o, "OK")
	if want == nil {
		want = []string{}
	}
	if got.Names == nil {
		got.Names = []string{}
	}
	if !slices.Equal(got.Names, want) {
		t.Fatalf("%s: found %v, want %v", step, got.Names, want)
	}
}

// TestCatalogSearchThroughEveryDoor searches by field names, tags and
// classifications, filters and counts facets, pages through text matches,
// and follows updates and deletes, through Connect and GraphQL alike, with
// each caller seeing and counting only the domains it may read.
func TestCatalogSearchThroughEveryDoor(t *testing.T) {
	for _, name := range []string{"connect", "graphql"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			env := apptest.New(t)
			searchScenario(t, env, searchers(env)[name])
		})
	}
}

func searchScenario(t *testing.T, env *apptest.Env, d searcher) {
	ctx := context.Background()
	admin := env.Clients(apptest.ProtocolConnect, env.AdminToken)
	env.Domain("sales")
	env.Domain("marketing")
	member := env.User("mark", "domain-member", "sales")
	create := func(dom, name string, s *v1.DataProductSpec) *v1.DataProduct {
		t.Helper()
		res, err := admin.Catalog.CreateDataProduct(ctx, connect.NewRequest(&v1.CreateDataProductRequest{Domain: dom, Name: name, Spec: s}))
		if err != nil {
			t.Fatalf("creating %s/%s: %v", dom, name, err)
		}
		return res.Msg.GetDataProduct()
	}
	// orders: the fixture, whose customers port has a pii "email" tagged contact.
	create("sales", "orders", apptest.ProductSpec())
	create("sales", "invoices", withPort("billing", field("amount_due", v1.Classification_CLASSIFICATION_INTERNAL)))
	create("sales", "contacts", withPort("people", field("phone_number", v1.Classification_CLASSIFICATION_PII, "contact")))
	ledger := withPort("ledger", field("iban", v1.Classification_CLASSIFICATION_SENSITIVE))
	ledger.Sinks = ledger.Sinks[1:] // the warehouse would take every port
	create("sales", "ledger", ledger)
	create("marketing", "leads", apptest.ProductSpecIn("marketing")) // has "email" too, in another domain

	// Field names, tags, classifications, names and descriptions are all
	// searched, case-insensitively, every word required.
	r, o := d.search(member, search{Text: "email"})
	wantNames(t, "field name", r, o, "sales/orders")
	r, o = d.search(env.AdminToken, search{Text: "EMAIL"})
	wantNames(t, "field name, admin", r, o, "marketing/leads", "sales/orders")
	r, o = d.search(member, search{Text: "contact"})
	wantNames(t, "tag", r, o, "sales/contacts", "sales/orders")
	r, o = d.search(member, search{Text: "pii"})
	wantNames(t, "classification word", r, o, "sales/contacts", "sales/orders")
	r, o = d.search(member, search{Text: "sensitive"})
	wantNames(t, "sensitive word", r, o, "sales/ledger")
	r, o = d.search(member, search{Text: "ledger"})
	wantNames(t, "port name", r, o, "sales/ledger")
	r, o = d.search(member, search{Text: "web shop"})
	wantNames(t, "description, two words", r, o, "sales/contacts", "sales/invoices", "sales/ledger", "sales/orders")
	r, o = d.search(member, search{Text: "customer   phone"})
	wantNames(t, "two words, both needed", r, o, "sales/contacts")
	r, o = d.search(member, search{Text: "oi"})
	wantNames(t, "two-letter word", r, o, "sales/invoices")
	r, o = d.search(member, search{Text: "100%"})
	wantNames(t, "LIKE metacharacters are literal", r, o)
	r, o = d.search(member, search{Text: "mai_"})
	wantNames(t, "underscore is literal", r, o)
	r, o = d.search(member, search{Text: "l_"})
	wantNames(t, "underscore is literal in short words", r, o)

	// Facet filters.
	r, o = d.search(member, search{Classification: "PII"})
	wantNames(t, "classification facet", r, o, "sales/contacts", "sales/orders")
	r, o = d.search(member, search{Classification: "SENSITIVE"})
	wantNames(t, "sensitive facet", r, o, "sales/ledger")
	r, o = d.search(member, search{Classification: "INTERNAL", Text: "amount"})
	wantNames(t, "classification and text", r, o, "sales/invoices")
	r, o = d.search(member, search{Health: "NOT_PROVISIONED", Text: "email"})
	wantNames(t, "health facet", r, o, "sales/orders")
	r, o = d.search(member, search{Health: "DRIFTED"})
	wantNames(t, "nothing drifted", r, o)
	if r, _ = d.search(member, search{Text: "email"}); r.Health["sales/orders"] != "NOT_PROVISIONED" {
		t.Fatalf("health of a new product: %v", r.Health)
	}

	// Facet counts cover the filter, every page, and only readable domains.
	r, o = d.search(member, search{Facets: true, PageSize: 1})
	wantOutcome(t, "facets", o, "OK")
	want := &facetView{Total: 4, Domains: map[string]int{"sales": 4},
		Lifecycles:      map[string]int{"DRAFT": 4, "ACTIVE": 0, "DEPRECATED": 0, "RETIRED": 0},
		Health:          map[string]int{"NOT_PROVISIONED": 4, "IN_SYNC": 0, "DRIFTED": 0},
		Classifications: map[string]int{"NONE": 4, "INTERNAL": 4, "PII": 2, "SENSITIVE": 1}}
	if !equalFacets(r.Facets, want) || len(r.Names) != 1 {
		t.Fatalf("member's facets = %+v (%d names), want %+v", r.Facets, len(r.Names), want)
	}
	r, _ = d.search(env.AdminToken, search{Text: "email", Facets: true})
	want = &facetView{Total: 2, Domains: map[string]int{"marketing": 1, "sales": 1},
		Lifecycles:      map[string]int{"DRAFT": 2, "ACTIVE": 0, "DEPRECATED": 0, "RETIRED": 0},
		Health:          map[string]int{"NOT_PROVISIONED": 2, "IN_SYNC": 0, "DRIFTED": 0},
		Classifications: map[string]int{"NONE": 2, "INTERNAL": 2, "PII": 2, "SENSITIVE": 0}}
	if !equalFacets(r.Facets, want) {
		t.Fatalf("admin's facets for email = %+v, want %+v", r.Facets, want)
	}
	r, _ = d.search(member, search{Domain: "marketing", Facets: true})
	if len(r.Names) != 0 || r.Facets == nil || r.Facets.Total != 0 || len(r.Facets.Domains) != 0 || r.Facets.Lifecycles["DRAFT"] != 0 {
		t.Fatalf("member counts another domain: %+v %+v", r.Names, r.Facets)
	}
	if r, _ = d.search(member, search{}); r.Facets != nil {
		t.Fatalf("facets not asked for: %+v", r.Facets)
	}

	// The search text follows updates: invoices gains an email field,
	// orders loses its own.
	updateSpec(t, admin, "sales", "invoices", func(s *v1.DataProductSpec) {
		s.Ports[1].Fields = append(s.Ports[1].Fields, field("billing_email", v1.Classification_CLASSIFICATION_PII))
	})
	updateSpec(t, admin, "sales", "orders", func(s *v1.DataProductSpec) { s.Ports[1].Fields[1].Name = "mail_address" })
	r, o = d.search(member, search{Text: "email"})
	wantNames(t, "after updates", r, o, "sales/invoices")
	r, o = d.search(member, search{Classification: "PII", Text: "mail"})
	wantNames(t, "after updates, pii mail", r, o, "sales/invoices", "sales/orders")
	// ... lifecycle changes, which keep it ...
	cur, err := admin.Catalog.GetDataProduct(ctx, connect.NewRequest(&v1.GetDataProductRequest{Domain: "sales", Name: "invoices"}))
	if err != nil {
		t.Fatal(err)
	}
	p := cur.Msg.GetDataProduct()
	if _, err := admin.Catalog.UpdateDataProduct(ctx, connect.NewRequest(&v1.UpdateDataProductRequest{Domain: "sales", Name: "invoices",
		Spec:      &v1.DataProductSpec{Description: p.GetDescription(), Owner: p.GetOwner(), Labels: p.GetLabels(), Source: p.GetSource(), Ports: p.GetPorts(), Sinks: p.GetSinks()},
		Lifecycle: v1.Lifecycle_LIFECYCLE_ACTIVE, Version: p.GetVersion()})); err != nil {
		t.Fatal(err)
	}
	r, _ = d.search(member, search{Text: "billing_email", Facets: true})
	if !slices.Equal(r.Names, []string{"sales/invoices"}) || r.Facets.Lifecycles["ACTIVE"] != 1 || r.Facets.Lifecycles["DRAFT"] != 0 {
		t.Fatalf("after activation: %v %+v", r.Names, r.Facets)
	}
	// ... and deletes: a deleted product is no longer found, and a new one
	// under its name is found by its own fields only.
	if _, err := admin.Catalog.DeleteDataProduct(ctx, connect.NewRequest(&v1.DeleteDataProductRequest{Domain: "sales", Name: "contacts"})); err != nil {
		t.Fatal(err)
	}
	r, o = d.search(member, search{Text: "phone"})
	wantNames(t, "after delete", r, o)
	create("sales", "contacts", withPort("people", field("postal_code", v1.Classification_CLASSIFICATION_INTERNAL)))
	r, o = d.search(member, search{Text: "phone"})
	wantNames(t, "recreated, old field", r, o)
	r, o = d.search(member, search{Text: "postal"})
	wantNames(t, "recreated, new field", r, o, "sales/contacts")

	// Pages of a text search: every match once, in order, and the facets
	// of every page are those of the whole search.
	var wantAll []string
	for i := range 7 {
		name := fmt.Sprintf("stream-%02d", i)
		create("sales", name, withPort("events", field(fmt.Sprintf("tracking_code_%d", i), v1.Classification_CLASSIFICATION_INTERNAL)))
		wantAll = append(wantAll, "sales/"+name)
	}
	stream := withPort("events", field("tracking_code_9", v1.Classification_CLASSIFICATION_INTERNAL))
	own := apptest.ProductSpecIn("marketing")
	stream.Source.SecretRef, stream.Sinks = own.Source.SecretRef, own.Sinks
	create("marketing", "stream-99", stream)
	var all []string
	token := ""
	for range 10 {
		r, o := d.search(member, search{Text: "tracking_code", PageSize: 3, PageToken: token, Facets: true})
		wantOutcome(t, "text page", o, "OK")
		if r.Facets.Total != 7 {
			t.Fatalf("facets of a page: %+v", r.Facets)
		}
		all = append(all, r.Names...)
		if token = r.Next; token == "" {
			break
		}
	}
	if !slices.Equal(all, wantAll) {
		t.Fatalf("paged text search: %v, want %v", all, wantAll)
	}

	// Bad criteria are refused by field.
	_, o = d.search(member, search{Text: strings.Repeat("w ", 17)})
	wantOutcome(t, "too many words", o, "INVALID_ARGUMENT", "text")
	_, o = d.search(member, search{Text: strings.Repeat("x", 257)})
	wantOutcome(t, "text too long", o, "INVALID_ARGUMENT", "text")
	_, o = d.search(member, search{Text: "email", PageToken: "garbage!"})
	wantOutcome(t, "bad page token", o, "INVALID_ARGUMENT", "pageToken")
}

func equalFacets(a, b *facetView) bool {
	return a != nil && b != nil && a.Total == b.Total && maps.Equal(a.Domains, b.Domains) && maps.Equal(a.Lifecycles, b.Lifecycles) &&
		maps.Equal(a.Health, b.Health) && maps.Equal(a.Classifications, b.Classifications)
}

// TestSearchRefusesBadFacetValues checks what each door's type system lets
// through: an enum number Connect does not know, and GraphQL's UNCLASSIFIED,
// which is a classification but no facet.
func TestSearchRefusesBadFacetValues(t *testing.T) {
	env := apptest.New(t)
	ctx := context.Background()
	env.Domain("sales")
	c := env.Clients(apptest.ProtocolConnect, env.AdminToken)
	for _, req := range []*v1.ListDataProductsRequest{
		{Health: v1.DataProductHealth(99)},
		{Classification: v1.Classification(99)},
		{Classification: v1.Classification_CLASSIFICATION_PII, Health: v1.DataProductHealth(7)},
	} {
		_, err := c.Catalog.ListDataProducts(ctx, connect.NewRequest(req))
		o := connectOutcome(err)
		path := "health"
		if req.GetHealth() == 0 {
			path = "classification"
		}
		wantOutcome(t, fmt.Sprintf("connect %v", req), o, "INVALID_ARGUMENT", path)
	}
	_, o := graphqlSearcher{graphqlDoor{env}}.search(env.AdminToken, search{Classification: "UNCLASSIFIED"})
	wantOutcome(t, "graphql UNCLASSIFIED", o, "INVALID_ARGUMENT", "classification")
}

// TestSearchHealthFacet provisions products on the sandbox and drifts one
// behind meshplane's back: the health facet and each product's health
// follow what the apply and the drift check recorded, through both doors.
func TestSearchHealthFacet(t *testing.T) {
	apptest.RequireTools(t)
	env := apptest.New(t)
	ctx := context.Background()
	env.Domain("sales")
	admin := env.Clients(apptest.ProtocolConnect, env.AdminToken)
	for _, n := range []string{"orders", "returns", "refunds"} {
		if _, err := admin.Catalog.CreateDataProduct(ctx, connect.NewRequest(&v1.CreateDataProductRequest{Domain: "sales", Name: n, Spec: apptest.ProductSpec()})); err != nil {
			t.Fatal(err)
		}
	}
	approve(t, admin, plan(t, admin, "sales", "orders"), false)
	approve(t, admin, plan(t, admin, "sales", "returns"), false)
	env.Server.Provision.CheckDrift(ctx)
	adm := kadm.NewClient(mustKgo(t, env))
	one := "3600000"
	if _, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: &one}}, "sales.returns.orders.v1"); err != nil {
		t.Fatal(err)
	}
	env.Server.Provision.CheckDrift(ctx)

	member := env.User("mark", "domain-member", "sales")
	for name, d := range searchers(env) {
		r, o := d.search(member, search{Facets: true})
		wantOutcome(t, name+" facets", o, "OK")
		if h := r.Facets.Health; h["NOT_PROVISIONED"] != 1 || h["IN_SYNC"] != 1 || h["DRIFTED"] != 1 {
			t.Fatalf("%s: health facet %v", name, h)
		}
		want := map[string]string{"sales/orders": "IN_SYNC", "sales/returns": "DRIFTED", "sales/refunds": "NOT_PROVISIONED"}
		if !maps.Equal(r.Health, want) {
			t.Fatalf("%s: health %v, want %v", name, r.Health, want)
		}
		for health, product := range map[string]string{"IN_SYNC": "sales/orders", "DRIFTED": "sales/returns", "NOT_PROVISIONED": "sales/refunds"} {
			r, o := d.search(member, search{Health: health, Text: "orders"})
			wantNames(t, name+" "+health, r, o, product)
		}
	}
}
