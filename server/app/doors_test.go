package app_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
	"github.com/meshplane/meshplane/server/app/apptest"
)

// outcome is a door-neutral result: "OK" or the error kind, plus field paths.
type outcome struct {
	Code   string
	Fields []string
}

func (o outcome) ok() bool { return o.Code == "OK" }

type productView struct {
	Domain, Name, Lifecycle string
	Version                 int64
	Topics                  []string
	Owner                   string
}

type listFilter struct {
	Domain    string
	Lifecycle v1.Lifecycle
	Labels    map[string]string
	Text      string
	PageSize  int32
	PageToken string
}

// door is one way into meshplane. Every scenario runs through each of them
// and must see the same outcomes.
type door interface {
	createDomain(tok, name, desc string) outcome
	createProduct(tok, domain, name string, spec *v1.DataProductSpec) (productView, outcome)
	getProduct(tok, domain, name string) (productView, outcome)
	updateProduct(tok, domain, name string, spec *v1.DataProductSpec, lc v1.Lifecycle, version int64) (productView, outcome)
	deleteProduct(tok, domain, name string, version int64) outcome
	listProducts(tok string, f listFilter) ([]string, string, outcome)
}

// connectDoor speaks the Connect or gRPC protocol.
type connectDoor struct {
	env *apptest.Env
	p   apptest.Protocol
}

var connectKinds = map[connect.Code]string{
	connect.CodeInvalidArgument:    "INVALID_ARGUMENT",
	connect.CodeNotFound:           "NOT_FOUND",
	connect.CodeAlreadyExists:      "ALREADY_EXISTS",
	connect.CodeAborted:            "CONFLICT",
	connect.CodeFailedPrecondition: "FAILED_PRECONDITION",
	connect.CodePermissionDenied:   "PERMISSION_DENIED",
	connect.CodeUnauthenticated:    "UNAUTHENTICATED",
	connect.CodeResourceExhausted:  "RESOURCE_EXHAUSTED",
	connect.CodeInternal:           "INTERNAL",
}

func connectOutcome(err error) outcome {
	if err == nil {
		return outcome{Code: "OK"}
	}
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return outcome{Code: "TRANSPORT: " + err.Error()}
	}
	o := outcome{Code: connectKinds[ce.Code()]}
	if o.Code == "" {
		o.Code = ce.Code().String()
	}
	for _, d := range ce.Details() {
		m, err := d.Value()
		if err != nil {
			continue
		}
		if br, ok := m.(*errdetails.BadRequest); ok {
			for _, f := range br.GetFieldViolations() {
				o.Fields = append(o.Fields, f.GetField())
			}
		}
	}
	return o
}

func viewPB(p *v1.DataProduct) productView {
	if p == nil {
		return productView{}
	}
	v := productView{Domain: p.GetDomain(), Name: p.GetName(), Version: p.GetVersion(), Owner: p.GetOwner()}
	v.Lifecycle = map[v1.Lifecycle]string{v1.Lifecycle_LIFECYCLE_DRAFT: "draft", v1.Lifecycle_LIFECYCLE_ACTIVE: "active",
		v1.Lifecycle_LIFECYCLE_DEPRECATED: "deprecated", v1.Lifecycle_LIFECYCLE_RETIRED: "retired"}[p.GetLifecycle()]
	for _, port := range p.GetPorts() {
		v.Topics = append(v.Topics, port.GetTopic())
	}
	return v
}

func (d connectDoor) createDomain(tok, name, desc string) outcome {
	_, err := d.env.Clients(d.p, tok).Catalog.CreateDomain(context.Background(), connect.NewRequest(&v1.CreateDomainRequest{Name: name, Description: desc}))
	return connectOutcome(err)
}

func (d connectDoor) createProduct(tok, domain, name string, s *v1.DataProductSpec) (productView, outcome) {
	res, err := d.env.Clients(d.p, tok).Catalog.CreateDataProduct(context.Background(), connect.NewRequest(&v1.CreateDataProductRequest{Domain: domain, Name: name, Spec: s}))
	if err != nil {
		return productView{}, connectOutcome(err)
	}
	return viewPB(res.Msg.GetDataProduct()), connectOutcome(nil)
}

func (d connectDoor) getProduct(tok, domain, name string) (productView, outcome) {
	res, err := d.env.Clients(d.p, tok).Catalog.GetDataProduct(context.Background(), connect.NewRequest(&v1.GetDataProductRequest{Domain: domain, Name: name}))
	if err != nil {
		return productView{}, connectOutcome(err)
	}
	return viewPB(res.Msg.GetDataProduct()), connectOutcome(nil)
}

func (d connectDoor) updateProduct(tok, domain, name string, s *v1.DataProductSpec, lc v1.Lifecycle, version int64) (productView, outcome) {
	res, err := d.env.Clients(d.p, tok).Catalog.UpdateDataProduct(context.Background(), connect.NewRequest(&v1.UpdateDataProductRequest{
		Domain: domain, Name: name, Spec: s, Lifecycle: lc, Version: version}))
	if err != nil {
		return productView{}, connectOutcome(err)
	}
	return viewPB(res.Msg.GetDataProduct()), connectOutcome(nil)
}

func (d connectDoor) deleteProduct(tok, domain, name string, version int64) outcome {
	_, err := d.env.Clients(d.p, tok).Catalog.DeleteDataProduct(context.Background(), connect.NewRequest(&v1.DeleteDataProductRequest{Domain: domain, Name: name, Version: version}))
	return connectOutcome(err)
}

func (d connectDoor) listProducts(tok string, f listFilter) ([]string, string, outcome) {
	res, err := d.env.Clients(d.p, tok).Catalog.ListDataProducts(context.Background(), connect.NewRequest(&v1.ListDataProductsRequest{
		Domain: f.Domain, Lifecycle: f.Lifecycle, Labels: f.Labels, Text: f.Text, PageSize: f.PageSize, PageToken: f.PageToken}))
	if err != nil {
		return nil, "", connectOutcome(err)
	}
	var names []string
	for _, p := range res.Msg.GetDataProducts() {
		names = append(names, p.GetDomain()+"/"+p.GetName())
	}
	return names, res.Msg.GetNextPageToken(), connectOutcome(nil)
}

// doors returns every door into env.
func doors(env *apptest.Env) map[string]door {
	return map[string]door{
		"connect": connectDoor{env, apptest.ProtocolConnect},
		"grpc":    connectDoor{env, apptest.ProtocolGRPC},
		"graphql": graphqlDoor{env},
	}
}

func wantOutcome(t *testing.T, step string, got outcome, code string, fields ...string) {
	t.Helper()
	if got.Code != code {
		t.Fatalf("%s: got %s %v, want %s", step, got.Code, got.Fields, code)
	}
	for _, f := range fields {
		if !slices.Contains(got.Fields, f) {
			t.Fatalf("%s: field %q not reported; got %v", step, f, got.Fields)
		}
	}
}

// TestCatalogThroughEveryDoor runs the catalog scenarios through Connect,
// gRPC and GraphQL, each on a fresh stack, and requires identical outcomes.
func TestCatalogThroughEveryDoor(t *testing.T) {
	for _, name := range []string{"connect", "grpc", "graphql"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			env := apptest.New(t)
			catalogScenario(t, env, doors(env)[name])
		})
	}
}

func catalogScenario(t *testing.T, env *apptest.Env, d door) {
	admin := env.AdminToken
	wantOutcome(t, "create domain", d.createDomain(admin, "sales", "Sales"), "OK")
	wantOutcome(t, "duplicate domain", d.createDomain(admin, "sales", ""), "ALREADY_EXISTS")
	wantOutcome(t, "hostile domain name", d.createDomain(admin, `sales"; DROP TABLE x; --`, ""), "INVALID_ARGUMENT", "name")
	wantOutcome(t, "unauthenticated", d.createDomain("", "other", ""), "UNAUTHENTICATED")
	wantOutcome(t, "bad token", d.createDomain("mpt_not-a-real-token", "other", ""), "UNAUTHENTICATED")
	env.Domain("marketing")

	owner := env.User("olivia", "domain-owner", "sales")
	member := env.User("mark", "domain-member", "sales")
	outsider := env.User("otto", "domain-owner", "marketing")

	// A valid product is created as a draft with derived topics.
	p, o := d.createProduct(member, "sales", "orders", apptest.ProductSpec())
	wantOutcome(t, "create product", o, "OK")
	if p.Lifecycle != "draft" || p.Version != 1 || !slices.Equal(p.Topics, []string{"sales.orders.orders.v1", "sales.orders.customers.v1"}) {
		t.Fatalf("created product = %+v", p)
	}
	_, o = d.createProduct(member, "sales", "orders", apptest.ProductSpec())
	wantOutcome(t, "duplicate product", o, "ALREADY_EXISTS")

	// Invalid input: every problem reported by path, nothing written.
	bad := apptest.ProductSpec()
	bad.Ports[0].Fields[1].Name = "ORDER_ID"
	bad.Ports[1].Name = "../../etc"
	bad.Source.Tables = nil
	bad.Sinks[0].Kind = &v1.Sink_Jdbc{Jdbc: &v1.JdbcSink{Url: "jdbc:postgresql://u:secret@db/x"}}
	_, o = d.createProduct(member, "sales", "refunds", bad)
	wantOutcome(t, "invalid product", o, "INVALID_ARGUMENT",
		"spec.ports[0].fields[1].name", "spec.ports[1].name", "spec.source.tables",
		"spec.sinks[0].jdbc.url", "spec.sinks[0].jdbc.username", "spec.sinks[0].jdbc.secretRef")
	_, o = d.getProduct(admin, "sales", "refunds")
	wantOutcome(t, "invalid product not written", o, "NOT_FOUND")
	_, o = d.createProduct(member, "nowhere", "orders", apptest.ProductSpec())
	wantOutcome(t, "product in unknown domain", o, "NOT_FOUND")

	// Other domains' products are invisible, not forbidden.
	_, o = d.getProduct(outsider, "sales", "orders")
	wantOutcome(t, "outsider reads", o, "NOT_FOUND")
	_, o = d.updateProduct(outsider, "sales", "orders", apptest.ProductSpec(), 0, 1)
	wantOutcome(t, "outsider writes", o, "NOT_FOUND")
	_, o = d.createProduct(outsider, "sales", "sneaky", apptest.ProductSpec())
	wantOutcome(t, "outsider creates", o, "NOT_FOUND")

	// Optimistic concurrency.
	s := apptest.ProductSpec()
	s.Owner = "mark"
	p, o = d.updateProduct(member, "sales", "orders", s, 0, 1)
	wantOutcome(t, "member edits draft", o, "OK")
	if p.Version != 2 || p.Owner != "mark" {
		t.Fatalf("after update: %+v", p)
	}
	_, o = d.updateProduct(member, "sales", "orders", apptest.ProductSpec(), 0, 1)
	wantOutcome(t, "stale version", o, "CONFLICT")
	if p, _ = d.getProduct(member, "sales", "orders"); p.Owner != "mark" || p.Version != 2 {
		t.Fatalf("stale update changed the product: %+v", p)
	}
	_, o = d.updateProduct(member, "sales", "orders", apptest.ProductSpec(), 0, 0)
	wantOutcome(t, "missing version", o, "INVALID_ARGUMENT", "version")

	// Lifecycle: members cannot publish; illegal moves are refused by field.
	_, o = d.updateProduct(member, "sales", "orders", s, v1.Lifecycle_LIFECYCLE_ACTIVE, 2)
	wantOutcome(t, "member activates", o, "PERMISSION_DENIED")
	_, o = d.updateProduct(owner, "sales", "orders", s, v1.Lifecycle_LIFECYCLE_RETIRED, 2)
	wantOutcome(t, "draft to retired", o, "INVALID_ARGUMENT", "lifecycle")
	p, o = d.updateProduct(owner, "sales", "orders", s, v1.Lifecycle_LIFECYCLE_ACTIVE, 2)
	wantOutcome(t, "owner activates", o, "OK")
	if p.Lifecycle != "active" || p.Version != 3 {
		t.Fatalf("after activation: %+v", p)
	}
	_, o = d.updateProduct(member, "sales", "orders", s, 0, 3)
	wantOutcome(t, "member edits active", o, "PERMISSION_DENIED")
	wantOutcome(t, "delete active", d.deleteProduct(owner, "sales", "orders", 3), "FAILED_PRECONDITION")
	for _, step := range []v1.Lifecycle{v1.Lifecycle_LIFECYCLE_DEPRECATED, v1.Lifecycle_LIFECYCLE_RETIRED} {
		p, o = d.updateProduct(owner, "sales", "orders", s, step, p.Version)
		wantOutcome(t, "owner moves to "+step.String(), o, "OK")
	}
	_, o = d.updateProduct(owner, "sales", "orders", s, 0, p.Version)
	wantOutcome(t, "retired is read-only", o, "FAILED_PRECONDITION")

	// Drafts can be deleted, guarded by version.
	_, o = d.createProduct(member, "sales", "returns", apptest.ProductSpec())
	wantOutcome(t, "create returns", o, "OK")
	wantOutcome(t, "delete stale", d.deleteProduct(member, "sales", "returns", 7), "CONFLICT")
	wantOutcome(t, "delete draft", d.deleteProduct(member, "sales", "returns", 1), "OK")
	_, o = d.getProduct(member, "sales", "returns")
	wantOutcome(t, "deleted", o, "NOT_FOUND")

	// Lists: filtered to what the caller may see, with filters and pages.
	for i, n := range []string{"alpha", "beta", "gamma", "delta", "epsilon"} {
		s := apptest.ProductSpec()
		s.Labels = map[string]string{"team": []string{"red", "blue"}[i%2]}
		s.Description = "Product " + n + " 100%_real"
		_, o := d.createProduct(owner, "sales", n, s)
		wantOutcome(t, "create "+n, o, "OK")
	}
	_, o = d.createProduct(outsider, "marketing", "leads", apptest.ProductSpecIn("marketing"))
	wantOutcome(t, "create leads", o, "OK")

	names, _, o := d.listProducts(member, listFilter{})
	wantOutcome(t, "member lists", o, "OK")
	if !slices.Equal(names, []string{"sales/alpha", "sales/beta", "sales/delta", "sales/epsilon", "sales/gamma", "sales/orders"}) {
		t.Fatalf("member sees %v", names)
	}
	names, _, _ = d.listProducts(admin, listFilter{})
	if len(names) != 7 || !slices.Contains(names, "marketing/leads") {
		t.Fatalf("admin sees %v", names)
	}
	names, _, _ = d.listProducts(outsider, listFilter{Domain: "sales"})
	if len(names) != 0 {
		t.Fatalf("outsider sees other domain: %v", names)
	}
	names, _, _ = d.listProducts(member, listFilter{Labels: map[string]string{"team": "blue"}})
	if !slices.Equal(names, []string{"sales/beta", "sales/delta"}) {
		t.Fatalf("label filter: %v", names)
	}
	names, _, _ = d.listProducts(member, listFilter{Labels: map[string]string{"app.kubernetes.io/part-of": "shop"}})
	if !slices.Equal(names, []string{"sales/orders"}) {
		t.Fatalf("dotted label filter: %v", names)
	}
	names, _, _ = d.listProducts(member, listFilter{Text: "EPSIL"})
	if !slices.Equal(names, []string{"sales/epsilon"}) {
		t.Fatalf("text filter: %v", names)
	}
	names, _, _ = d.listProducts(member, listFilter{Text: "%"})
	if len(names) != 5 {
		t.Fatalf("text filter with LIKE metacharacters: %v", names)
	}
	names, _, _ = d.listProducts(member, listFilter{Lifecycle: v1.Lifecycle_LIFECYCLE_RETIRED})
	if !slices.Equal(names, []string{"sales/orders"}) {
		t.Fatalf("lifecycle filter: %v", names)
	}
	var all []string
	token := ""
	for range 10 {
		page, next, o := d.listProducts(member, listFilter{PageSize: 2, PageToken: token})
		wantOutcome(t, "page", o, "OK")
		all = append(all, page...)
		if token = next; token == "" {
			break
		}
	}
	if !slices.Equal(all, []string{"sales/alpha", "sales/beta", "sales/delta", "sales/epsilon", "sales/gamma", "sales/orders"}) {
		t.Fatalf("paged: %v", all)
	}
	_, _, o = d.listProducts(member, listFilter{PageToken: "garbage!"})
	wantOutcome(t, "bad page token", o, "INVALID_ARGUMENT", "pageToken")
}
