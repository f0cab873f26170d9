package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/meshplane/meshplane/policies"
	"github.com/meshplane/meshplane/server/access"
	"github.com/meshplane/meshplane/server/actor"
	"github.com/meshplane/meshplane/server/audit"
	"github.com/meshplane/meshplane/server/catalog"
	"github.com/meshplane/meshplane/server/errs"
	"github.com/meshplane/meshplane/server/events"
	"github.com/meshplane/meshplane/server/grant"
	"github.com/meshplane/meshplane/server/identity"
	"github.com/meshplane/meshplane/server/jobs"
	"github.com/meshplane/meshplane/server/masking"
	"github.com/meshplane/meshplane/server/policy"
	"github.com/meshplane/meshplane/server/provision"
	"github.com/meshplane/meshplane/server/store"
)

type stack struct {
	t     *testing.T
	srv   *httptest.Server
	store *store.Store
	logs  *bytes.Buffer
}

// newStack serves the GraphQL door over a fresh SQLite catalog, calling as the
// bootstrapped admin.
func newStack(t *testing.T) *stack {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, "sqlite://"+dir+"/catalog.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	authz, err := access.New(policies.RBACModel, policies.RBACPolicy)
	if err != nil {
		t.Fatal(err)
	}
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	id, err := identity.New(identity.Config{Store: st, Authz: authz, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := id.Bootstrap(ctx, dir); err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.New(catalog.Config{Store: st, Authz: authz, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	au, err := audit.NewService(st, authz)
	if err != nil {
		t.Fatal(err)
	}
	// No terraform here: provisioning answers Unavailable, which these tests do not reach.
	q, err := jobs.New(jobs.Config{Store: st, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	prov, err := provision.New(provision.Config{Store: st, Authz: authz, Logger: log, DataDir: dir, Jobs: q,
		Terraform: filepath.Join(dir, "no-terraform"), PluginDir: filepath.Join(dir, "no-plugins"),
		Environments: []provision.Environment{{Name: "sandbox"}}})
	if err != nil {
		t.Fatal(err)
	}
	salts, err := masking.NewSalts([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	gov, err := policy.NewGovernor(st, log, salts)
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.New(policy.Config{Store: st, Authz: authz, Logger: log, Governor: gov, Planner: prov})
	if err != nil {
		t.Fatal(err)
	}
	if err := pol.Start(ctx); err != nil {
		t.Fatal(err)
	}
	acc, err := grant.New(grant.Config{Store: st, Authz: authz, Logger: log, Policy: pol, Planner: prov,
		Environments: []grant.Environment{{Name: prov.AccessEnvironment()}}})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := events.New(ctx, events.Config{Store: st, Authz: authz, Logger: log, Key: []byte("events")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ev.Close)
	h, err := New(Config{Catalog: cat, Identity: id, Audit: au, Provision: prov, Policy: pol, Access: acc, Events: ev, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(actor.With(r.Context(), actor.Actor{Name: "admin"})))
	}))
	t.Cleanup(srv.Close)
	return &stack{t: t, srv: srv, store: st, logs: logs}
}

type gqlError struct {
	Message    string `json:"message"`
	Path       []any  `json:"path"`
	Extensions struct {
		Code   string                `json:"code"`
		Reason string                `json:"reason"`
		Fields []errs.FieldViolation `json:"fields"`
	} `json:"extensions"`
}

type response struct {
	Data   json.RawMessage `json:"data"`
	Errors []gqlError      `json:"errors"`
	raw    string
}

func (s *stack) do(query string, vars map[string]any) response {
	s.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	res, err := http.Post(s.srv.URL, "application/json", bytes.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(res.Body)
	var out response
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
		s.t.Fatalf("decoding %q: %v", buf.String(), err)
	}
	out.raw = buf.String()
	return out
}

// ok runs query, fails on any error and decodes data into v.
func (s *stack) ok(query string, vars map[string]any, v any) {
	s.t.Helper()
	r := s.do(query, vars)
	if len(r.Errors) > 0 {
		s.t.Fatalf("unexpected errors: %s", r.raw)
	}
	if v != nil {
		if err := json.Unmarshal(r.Data, v); err != nil {
			s.t.Fatalf("decoding data %s: %v", r.Data, err)
		}
	}
}

// failing runs query and returns its one error.
func (s *stack) failing(query string, vars map[string]any) (gqlError, response) {
	s.t.Helper()
	r := s.do(query, vars)
	if len(r.Errors) != 1 {
		s.t.Fatalf("want one error, got %s", r.raw)
	}
	return r.Errors[0], r
}

const createProduct = `mutation($in: CreateDataProductInput!) {
  createDataProduct(input: $in) { dataProduct { name version lifecycle } }
}`

func ordersSpec() map[string]any {
	return map[string]any{
		"description": "orders as they happen",
		"owner":       "orders-team",
		"labels":      []map[string]any{{"key": "tier", "value": "gold"}, {"key": "cost-center", "value": "42"}},
		"source": map[string]any{
			"kind": "POSTGRES", "host": "db.internal", "port": 5432, "database": "shop",
			"tables": []string{"public.orders"}, "username": "cdc", "secretRef": "env:SHOP_DB_PASSWORD",
		},
		"ports": []map[string]any{{
			"name":          "orders",
			"retentionMs":   315360000000, // ten years: past 32 bits
			"cleanupPolicy": "COMPACT_DELETE",
			"fields": []map[string]any{
				{"name": "id", "type": "INT64", "classification": "NONE"},
				{"name": "email", "type": "STRING", "nullable": true, "classification": "PII", "tags": []string{"contact"}},
				{"name": "note", "type": "STRING"},
			},
		}},
		"sinks": []map[string]any{
			{"name": "warehouse", "bigquery": map[string]any{"project": "shop-analytics", "dataset": "orders", "credentialsRef": "env:BQ_KEY"}},
			{"name": "lake", "ports": []string{"orders"}, "s3": map[string]any{"bucket": "shop-lake", "region": "eu-west-1"}},
			{"name": "mirror", "jdbc": map[string]any{"url": "jdbc:postgresql://replica:5432/shop", "username": "w", "secretRef": "env:W", "primaryKeyFields": []string{"id"}, "deleteEnabled": true}},
			{"name": "search", "elasticsearch": map[string]any{"url": "https://es:9200"}},
		},
	}
}

func (s *stack) createDomain(name string) {
	s.t.Helper()
	s.ok(`mutation($in: CreateDomainInput!) { createDomain(input: $in) { domain { name } } }`,
		map[string]any{"in": map[string]any{"name": name, "labels": []map[string]any{{"key": "b", "value": "2"}, {"key": "a", "value": "1"}}}}, nil)
}

func TestProductRoundTrip(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.createDomain("sales")
	s.ok(createProduct, map[string]any{"in": map[string]any{"domain": "sales", "name": "orders", "spec": ordersSpec()}}, nil)

	var got struct {
		DataProduct struct {
			Domain, Name, Lifecycle, Owner string
			Version                        int64
			Labels                         []struct{ Key, Value string }
			Source                         struct{ Kind string }
			Ports                          []struct {
				Topic         string
				MajorVersion  int
				Partitions    int
				RetentionMs   json.Number
				CleanupPolicy string
				Table         string
				Fields        []struct {
					Name, Type, Classification string
					Nullable                   bool
					Tags                       []string
				}
			}
			Sinks []struct {
				Name     string
				Kind     string
				Ports    []string
				Bigquery *struct{ Project string }
				S3       *struct {
					Format           string
					FlushSize        int
					RotateIntervalMs json.Number
				}
				Jdbc *struct {
					InsertMode       string
					PrimaryKeyFields []string
					DeleteEnabled    bool
				}
				Elasticsearch *struct{ URL string }
			}
		}
	}
	s.ok(`query { dataProduct(domain: "sales", name: "orders") {
		domain name lifecycle owner version labels { key value } source { kind }
		ports { topic majorVersion partitions retentionMs cleanupPolicy table fields { name type classification nullable tags } }
		sinks { name kind ports bigquery { project } s3 { format flushSize rotateIntervalMs } jdbc { insertMode primaryKeyFields deleteEnabled } elasticsearch { url } }
	} }`, nil, &got)

	p := got.DataProduct
	if p.Domain != "sales" || p.Name != "orders" || p.Lifecycle != "DRAFT" || p.Version != 1 || p.Source.Kind != "POSTGRES" {
		t.Errorf("product = %+v", p)
	}
	if len(p.Labels) != 2 || p.Labels[0].Key != "cost-center" || p.Labels[1].Key != "tier" {
		t.Errorf("labels not sorted by key: %+v", p.Labels)
	}
	port := p.Ports[0]
	if port.Topic != "sales.orders.orders.v1" || port.MajorVersion != 1 || port.Partitions != 3 || port.Table != "public.orders" {
		t.Errorf("port defaults = %+v", port)
	}
	if port.RetentionMs != "315360000000" || port.CleanupPolicy != "COMPACT_DELETE" {
		t.Errorf("retentionMs = %s, cleanupPolicy = %s", port.RetentionMs, port.CleanupPolicy)
	}
	classes := []string{}
	for _, f := range port.Fields {
		classes = append(classes, f.Type+"/"+f.Classification)
	}
	if want := []string{"INT64/NONE", "STRING/PII", "STRING/UNCLASSIFIED"}; !slices.Equal(classes, want) {
		t.Errorf("fields = %v, want %v", classes, want)
	}
	if !port.Fields[1].Nullable || !slices.Equal(port.Fields[1].Tags, []string{"contact"}) || port.Fields[2].Tags == nil {
		t.Errorf("field details = %+v", port.Fields)
	}
	kinds := []string{}
	for _, k := range p.Sinks {
		kinds = append(kinds, k.Kind)
	}
	if want := []string{"BIGQUERY", "S3", "JDBC", "ELASTICSEARCH"}; !slices.Equal(kinds, want) {
		t.Errorf("sink kinds = %v, want %v", kinds, want)
	}
	if p.Sinks[0].Bigquery == nil || p.Sinks[0].S3 != nil || p.Sinks[1].S3 == nil || p.Sinks[1].S3.Format != "parquet" ||
		p.Sinks[1].S3.RotateIntervalMs != "600000" || p.Sinks[2].Jdbc.InsertMode != "upsert" || !p.Sinks[2].Jdbc.DeleteEnabled ||
		p.Sinks[3].Elasticsearch.URL != "https://es:9200" {
		t.Errorf("sinks = %+v", p.Sinks)
	}

	// Lifecycle moves with the version read; a stale version conflicts.
	update := `mutation($in: UpdateDataProductInput!) { updateDataProduct(input: $in) { dataProduct { lifecycle version } } }`
	var upd struct {
		UpdateDataProduct struct{ DataProduct struct{ Lifecycle string } }
	}
	s.ok(update, map[string]any{"in": map[string]any{"domain": "sales", "name": "orders", "spec": ordersSpec(), "lifecycle": "ACTIVE", "version": 1}}, &upd)
	if upd.UpdateDataProduct.DataProduct.Lifecycle != "ACTIVE" {
		t.Errorf("lifecycle after update = %s", upd.UpdateDataProduct.DataProduct.Lifecycle)
	}
	e, r := s.failing(update, map[string]any{"in": map[string]any{"domain": "sales", "name": "orders", "spec": ordersSpec(), "version": 1}})
	if e.Extensions.Code != "CONFLICT" || e.Extensions.Reason != "VERSION_CONFLICT" || string(r.Data) != `{"updateDataProduct":null}` {
		t.Errorf("stale update = %s", r.raw)
	}
	if len(e.Path) != 1 || e.Path[0] != "updateDataProduct" {
		t.Errorf("error path = %v", e.Path)
	}
	e, _ = s.failing(`mutation { deleteDataProduct(input: {domain: "sales", name: "orders"}) { name } }`, nil)
	if e.Extensions.Code != "FAILED_PRECONDITION" || e.Extensions.Reason != "NOT_DRAFT" {
		t.Errorf("deleting an active product = %+v", e)
	}
}

func TestValidationPaths(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.createDomain("sales")

	sp := ordersSpec()
	sp["ports"].([]map[string]any)[0]["fields"].([]map[string]any)[1]["name"] = "not a name"
	sp["sinks"].([]map[string]any)[1]["s3"].(map[string]any)["region"] = "mars"
	e, _ := s.failing(createProduct, map[string]any{"in": map[string]any{"domain": "sales", "name": "orders", "spec": sp}})
	if e.Extensions.Code != "INVALID_ARGUMENT" || e.Message != "invalid request" {
		t.Fatalf("error = %+v", e)
	}
	var paths []string
	for _, f := range e.Extensions.Fields {
		paths = append(paths, f.Path)
	}
	if want := []string{"spec.ports[0].fields[1].name", "spec.sinks[1].s3.region"}; !slices.Equal(paths, want) {
		t.Errorf("paths = %v, want %v", paths, want)
	}

	sp = ordersSpec()
	sp["labels"] = []map[string]any{{"key": "tier", "value": "gold"}, {"key": "tier", "value": "silver"}}
	e, _ = s.failing(createProduct, map[string]any{"in": map[string]any{"domain": "sales", "name": "orders", "spec": sp}})
	if len(e.Extensions.Fields) != 1 || e.Extensions.Fields[0].Path != "spec.labels[1].key" {
		t.Errorf("duplicate label = %+v", e)
	}

	// Unknown enum values never reach the service.
	sp = ordersSpec()
	sp["source"].(map[string]any)["kind"] = "ORACLE"
	e, _ = s.failing(createProduct, map[string]any{"in": map[string]any{"domain": "sales", "name": "orders", "spec": sp}})
	if e.Extensions.Code != "GRAPHQL_VALIDATION_FAILED" {
		t.Errorf("unknown enum = %+v", e)
	}

	e, r := s.failing(`query { domain(name: "nowhere") { name } }`, nil)
	if e.Extensions.Code != "NOT_FOUND" || string(r.Data) != `{"domain":null}` || e.Extensions.Fields == nil {
		t.Errorf("missing domain = %s", r.raw)
	}
}

func TestConnections(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	for _, d := range []string{"delta", "alpha", "charlie", "bravo"} {
		s.createDomain(d)
	}
	type conn struct {
		Edges    []struct{ Cursor string }
		Nodes    []struct{ Name string }
		PageInfo struct {
			HasNextPage bool
			EndCursor   *string
		}
	}
	var names []string
	after := ""
	for range 3 {
		var res struct{ Domains conn }
		s.ok(`query($after: String) { domains(first: 3, after: $after) { edges { cursor } nodes { name } pageInfo { hasNextPage endCursor } } }`,
			map[string]any{"after": after}, &res)
		c := res.Domains
		for _, n := range c.Nodes {
			names = append(names, n.Name)
		}
		if len(c.Edges) > 0 && *c.PageInfo.EndCursor != c.Edges[len(c.Edges)-1].Cursor {
			t.Errorf("endCursor %q is not the last edge's cursor", *c.PageInfo.EndCursor)
		}
		if !c.PageInfo.HasNextPage {
			break
		}
		after = *c.PageInfo.EndCursor
	}
	if want := []string{"alpha", "bravo", "charlie", "delta"}; !slices.Equal(names, want) {
		t.Errorf("paged domains = %v, want %v", names, want)
	}

	// Every edge's cursor continues after that edge.
	var all struct{ Domains conn }
	s.ok(`{ domains { edges { cursor } } }`, nil, &all)
	var rest struct{ Domains conn }
	s.ok(`query($after: String) { domains(after: $after) { nodes { name } pageInfo { hasNextPage endCursor } } }`,
		map[string]any{"after": all.Domains.Edges[1].Cursor}, &rest)
	if len(rest.Domains.Nodes) != 2 || rest.Domains.Nodes[0].Name != "charlie" || rest.Domains.PageInfo.HasNextPage {
		t.Errorf("after the second edge = %+v", rest.Domains)
	}

	// The audit log pages newest first; edge cursors match the service's tokens.
	var seqs []string
	after = ""
	for {
		var res struct {
			AuditEvents struct {
				Edges []struct {
					Cursor string
					Node   struct{ Sequence json.Number }
				}
				PageInfo struct {
					HasNextPage bool
					EndCursor   *string
				}
			}
		}
		s.ok(`query($after: String) { auditEvents(first: 2, after: $after) { edges { cursor node { sequence } } pageInfo { hasNextPage endCursor } } }`,
			map[string]any{"after": after}, &res)
		for _, e := range res.AuditEvents.Edges {
			seqs = append(seqs, string(e.Node.Sequence))
		}
		if !res.AuditEvents.PageInfo.HasNextPage {
			break
		}
		// The next page continues from the middle edge as well as from the end.
		after = res.AuditEvents.Edges[len(res.AuditEvents.Edges)-1].Cursor
	}
	// Bootstrap writes three events, publishing the default policies (access, admission, masking, provision) four, then four domains.
	if want := []string{"11", "10", "9", "8", "7", "6", "5", "4", "3", "2", "1"}; !slices.Equal(seqs, want) {
		t.Errorf("audit sequences = %v, want %v", seqs, want)
	}

	// A domain's products come from the same listing.
	s.ok(createProduct, map[string]any{"in": map[string]any{"domain": "alpha", "name": "orders", "spec": ordersSpec()}}, nil)
	var nested struct {
		Domains struct {
			Nodes []struct {
				Name     string
				Labels   []struct{ Key string }
				Products struct{ Nodes []struct{ Name string } }
			}
		}
	}
	s.ok(`{ domains(first: 2) { nodes { name labels { key } products(filter: {labels: [{key: "tier", value: "gold"}]}, orderBy: {field: CREATE_TIME, direction: DESC}) { nodes { name } } } } }`, nil, &nested)
	ds := nested.Domains.Nodes
	if len(ds) != 2 || len(ds[0].Products.Nodes) != 1 || len(ds[1].Products.Nodes) != 0 || ds[1].Products.Nodes == nil || ds[0].Labels[0].Key != "a" {
		t.Errorf("nested products = %+v", ds)
	}
}

func TestIdentityAndAudit(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	var who struct {
		Viewer struct {
			Principal    struct{ Name, Kind string }
			RoleBindings []struct{ Role, Domain string }
		}
	}
	s.ok(`{ viewer { principal { name kind } roleBindings { role domain } } }`, nil, &who)
	if who.Viewer.Principal.Name != "admin" || who.Viewer.Principal.Kind != "USER" ||
		len(who.Viewer.RoleBindings) != 1 || who.Viewer.RoleBindings[0].Role != access.RolePlatformAdmin {
		t.Errorf("viewer = %+v", who.Viewer)
	}

	s.createDomain("sales")
	var sa struct {
		CreatePrincipal struct{ Principal struct{ Kind, Domain string } }
	}
	s.ok(`mutation { createPrincipal(input: {name: "loader", kind: SERVICE_ACCOUNT, domain: "sales"}) { principal { kind domain } } }`, nil, &sa)
	if sa.CreatePrincipal.Principal.Kind != "SERVICE_ACCOUNT" || sa.CreatePrincipal.Principal.Domain != "sales" {
		t.Errorf("service account = %+v", sa)
	}
	var tok struct {
		CreateToken struct {
			Token  struct{ ID, Principal string }
			Secret string
		}
	}
	s.ok(`mutation { createToken(input: {principal: "loader", ttlSeconds: "3600"}) { token { id principal } secret } }`, nil, &tok)
	if tok.CreateToken.Token.Principal != "loader" || !strings.HasPrefix(tok.CreateToken.Secret, identity.TokenPrefix) {
		t.Errorf("token = %+v", tok)
	}
	e, _ := s.failing(`mutation { createToken(input: {principal: "loader", ttlSeconds: 10}) { secret } }`, nil)
	if len(e.Extensions.Fields) != 1 || e.Extensions.Fields[0].Path != "ttlSeconds" {
		t.Errorf("short ttl = %+v", e)
	}
	e, _ = s.failing(`mutation { createToken(input: {principal: "loader", ttlSeconds: "an hour"}) { secret } }`, nil)
	if e.Extensions.Code != "GRAPHQL_VALIDATION_FAILED" {
		t.Errorf("malformed Int64 = %+v", e)
	}
	var rev struct {
		RevokeToken struct{ Token struct{ Revoked bool } }
	}
	s.ok(`mutation($id: ID!) { revokeToken(input: {id: $id}) { token { revoked } } }`, map[string]any{"id": tok.CreateToken.Token.ID}, &rev)
	if !rev.RevokeToken.Token.Revoked {
		t.Error("revoked token reads as not revoked")
	}
	var rb struct {
		CreateRoleBinding struct{ RoleBinding struct{ ID string } }
	}
	s.ok(`mutation { createRoleBinding(input: {principal: "loader", role: "viewer", domain: "sales"}) { roleBinding { id } } }`, nil, &rb)
	var bindings struct {
		RoleBindings []struct{ Principal, Role string }
	}
	s.ok(`{ roleBindings(domain: "sales") { principal role } }`, nil, &bindings)
	if len(bindings.RoleBindings) != 1 || bindings.RoleBindings[0].Principal != "loader" {
		t.Errorf("bindings = %+v", bindings)
	}
	s.ok(`mutation($id: ID!) { deleteRoleBinding(input: {id: $id}) { id } }`, map[string]any{"id": rb.CreateRoleBinding.RoleBinding.ID}, nil)

	var v struct {
		VerifyAuditLog struct {
			OK                  bool
			EventsChecked       int64
			FirstBrokenSequence *int64
		}
		AuditEvents struct {
			Nodes []struct {
				Action string
				Domain *string
				Before *string
				After  *string
			}
		}
	}
	s.ok(`{ verifyAuditLog { ok eventsChecked firstBrokenSequence } auditEvents(first: 1) { nodes { action domain before after } } }`, nil, &v)
	if !v.VerifyAuditLog.OK || v.VerifyAuditLog.EventsChecked < 8 || v.VerifyAuditLog.FirstBrokenSequence != nil {
		t.Errorf("verification = %+v", v.VerifyAuditLog)
	}
	last := v.AuditEvents.Nodes[0]
	if last.Action != "identity.DeleteRoleBinding" || last.Domain == nil || last.Before == nil || last.After != nil {
		t.Errorf("last event = %+v", last)
	}
}

func TestRequestLimitsAndInternalErrors(t *testing.T) {
	t.Parallel()
	s := newStack(t)

	e, _ := s.failing(`{ domains(first: 500) { nodes { products(first: 500) { nodes { name } } } } }`, nil)
	if e.Extensions.Code != "COMPLEXITY_LIMIT_EXCEEDED" {
		t.Errorf("fan-out query = %+v", e)
	}
	s.ok(`{ dataProducts(first: 500) { nodes { name labels { key } source { kind } ports { fields { name } } sinks { s3 { bucket } } } } }`, nil, nil)
	// A request carries a grant per port, so its grants are priced at the most it may name.
	e, _ = s.failing(`{ accessRequests(first: 500) { nodes { id grants { id } } } }`, nil)
	if e.Extensions.Code != "COMPLEXITY_LIMIT_EXCEEDED" {
		t.Errorf("requests with their grants = %+v", e)
	}
	s.ok(`{ accessRequests { nodes { id grants { id } } } grants(consumer: "admin") { nodes { id } } }`, nil, nil)

	res, err := http.Get(s.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET status = %d", res.StatusCode)
	}

	// A failing database surfaces as "internal error"; the cause goes to the log only.
	s.store.Close()
	e, r := s.failing(`{ domain(name: "sales") { name } }`, nil)
	if e.Message != "internal error" || e.Extensions.Code != "INTERNAL" || strings.Contains(r.raw, "sql") {
		t.Errorf("internal error = %s", r.raw)
	}
	if !strings.Contains(s.logs.String(), "reading domain") {
		t.Errorf("cause not logged: %s", s.logs.String())
	}
}

func TestPresenterHidesPanics(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	present := presentError(slog.New(slog.NewTextHandler(&logs, nil)))
	got := present(context.Background(), gqlerror.WrapPath(nil, recoverPanic(context.Background(), "secret detail")))
	if got.Message != "internal error" || got.Extensions["code"] != "INTERNAL" || strings.Contains(got.Error(), "secret") {
		t.Errorf("presented panic = %+v", got)
	}
	if !strings.Contains(logs.String(), "secret detail") || !strings.Contains(logs.String(), "goroutine") {
		t.Errorf("panic and stack not logged: %s", logs.String())
	}

	// Foreign errors from resolvers become internal errors before presentation.
	_, err := domainErrors(context.Background(), func(context.Context) (any, error) { return nil, errors.New("dial tcp: refused") })
	if got := present(context.Background(), err); got.Message != "internal error" {
		t.Errorf("foreign error presented as %q", got.Message)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	if _, err := New(Config{}); err == nil || !strings.Contains(err.Error(), "Catalog") {
		t.Errorf("New(Config{}) error = %v", err)
	}
}
