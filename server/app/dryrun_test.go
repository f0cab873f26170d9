package app_test

import (
	"context"
	"slices"
	"testing"

	"connectrpc.com/connect"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
	"github.com/meshplane/meshplane/server/app/apptest"
)

// dryView is what a door answers for a product written or only validated.
type dryView struct {
	productView
	ID string
}

// evalView is a policy evaluation: admission, and each field's action at
// the topic keyed "port.field".
type evalView struct {
	Allowed    bool
	Violations []string
	Masking    map[string]string
}

// dryRunner is a door that writes, validates without writing, and
// evaluates specs nobody has saved.
type dryRunner interface {
	create(tok, domain, name string, s *v1.DataProductSpec, validateOnly bool) (dryView, outcome)
	update(tok, domain, name string, s *v1.DataProductSpec, lc v1.Lifecycle, version int64, validateOnly bool) (dryView, outcome)
	evaluate(tok, domain, name string, s *v1.DataProductSpec) (evalView, outcome)
}

type connectDryRunner struct{ connectDoor }

func (d connectDryRunner) create(tok, domain, name string, s *v1.DataProductSpec, validateOnly bool) (dryView, outcome) {
	res, err := d.env.Clients(d.p, tok).Catalog.CreateDataProduct(context.Background(), connect.NewRequest(&v1.CreateDataProductRequest{
		Domain: domain, Name: name, Spec: s, ValidateOnly: validateOnly}))
	if err != nil {
		return dryView{}, connectOutcome(err)
	}
	return dryView{viewPB(res.Msg.GetDataProduct()), res.Msg.GetDataProduct().GetId()}, connectOutcome(nil)
}

func (d connectDryRunner) update(tok, domain, name string, s *v1.DataProductSpec, lc v1.Lifecycle, version int64, validateOnly bool) (dryView, outcome) {
	res, err := d.env.Clients(d.p, tok).Catalog.UpdateDataProduct(context.Background(), connect.NewRequest(&v1.UpdateDataProductRequest{
		Domain: domain, Name: name, Spec: s, Lifecycle: lc, Version: version, ValidateOnly: validateOnly}))
	if err != nil {
		return dryView{}, connectOutcome(err)
	}
	return dryView{viewPB(res.Msg.GetDataProduct()), res.Msg.GetDataProduct().GetId()}, connectOutcome(nil)
}

func (d connectDryRunner) evaluate(tok, domain, name string, s *v1.DataProductSpec) (evalView, outcome) {
	res, err := d.env.Clients(d.p, tok).Policy.EvaluateDataProduct(context.Background(), connect.NewRequest(&v1.EvaluateDataProductRequest{
		Domain: domain, Name: name, Spec: s}))
	if err != nil {
		return evalView{}, connectOutcome(err)
	}
	out := evalView{Allowed: res.Msg.GetAllowed(), Masking: map[string]string{}}
	for _, v := range res.Msg.GetViolations() {
		out.Violations = append(out.Violations, v.GetPath())
	}
	for _, m := range res.Msg.GetMasking() {
		if m.GetSink() == "" {
			out.Masking[m.GetPort()+"."+m.GetField()] = m.GetAction()
		}
	}
	return out, connectOutcome(nil)
}

type graphqlDryRunner struct{ graphqlDoor }

const dryProductFields = `id ` + productFields

func (d graphqlDryRunner) create(tok, domain, name string, s *v1.DataProductSpec, validateOnly bool) (dryView, outcome) {
	r := d.env.GraphQL(tok, `mutation($in: CreateDataProductInput!) { createDataProduct(input: $in) { dataProduct { `+dryProductFields+` } } }`,
		map[string]any{"in": map[string]any{"domain": domain, "name": name, "spec": specVar(s), "validateOnly": validateOnly}})
	p := decode[struct {
		CreateDataProduct struct {
			DataProduct struct {
				gqlProduct
				ID string
			}
		}
	}](r).CreateDataProduct.DataProduct
	return dryView{p.view(), p.ID}, gqlOutcome(r)
}

func (d graphqlDryRunner) update(tok, domain, name string, s *v1.DataProductSpec, lc v1.Lifecycle, version int64, validateOnly bool) (dryView, outcome) {
	in := map[string]any{"domain": domain, "name": name, "spec": specVar(s), "version": version, "validateOnly": validateOnly}
	if lc != v1.Lifecycle_LIFECYCLE_UNSPECIFIED {
		in["lifecycle"] = enumName(lc.String(), "LIFECYCLE_")
	}
	r := d.env.GraphQL(tok, `mutation($in: UpdateDataProductInput!) { updateDataProduct(input: $in) { dataProduct { `+dryProductFields+` } } }`,
		map[string]any{"in": in})
	p := decode[struct {
		UpdateDataProduct struct {
			DataProduct struct {
				gqlProduct
				ID string
			}
		}
	}](r).UpdateDataProduct.DataProduct
	return dryView{p.view(), p.ID}, gqlOutcome(r)
}

func (d graphqlDryRunner) evaluate(tok, domain, name string, s *v1.DataProductSpec) (evalView, outcome) {
	vars := map[string]any{"d": domain, "n": name}
	if s != nil {
		vars["s"] = specVar(s)
	}
	r := d.env.GraphQL(tok, `query($d: String!, $n: String!, $s: DataProductSpecInput) {
		productEvaluation(domain: $d, name: $n, spec: $s) { allowed violations { path } masking { port field sink action } } }`, vars)
	e := decode[struct {
		ProductEvaluation struct {
			Allowed    bool
			Violations []struct{ Path string }
			Masking    []struct {
				Port, Field, Action string
				Sink                *string
			}
		}
	}](r).ProductEvaluation
	out := evalView{Allowed: e.Allowed, Masking: map[string]string{}}
	for _, v := range e.Violations {
		out.Violations = append(out.Violations, v.Path)
	}
	for _, m := range e.Masking {
		if m.Sink == nil {
			out.Masking[m.Port+"."+m.Field] = m.Action
		}
	}
	return out, gqlOutcome(r)
}

func dryRunners(env *apptest.Env) map[string]dryRunner {
	return map[string]dryRunner{
		"connect": connectDryRunner{connectDoor{env, apptest.ProtocolConnect}},
		"grpc":    connectDryRunner{connectDoor{env, apptest.ProtocolGRPC}},
		"graphql": graphqlDryRunner{graphqlDoor{env}},
	}
}

// sameOutcome fails t unless a call that only validated answered exactly
// what the real call did, and that is a refusal.
func sameOutcome(t *testing.T, step string, dry, real outcome) {
	t.Helper()
	if dry.ok() || dry.Code != real.Code || !slices.Equal(dry.Fields, real.Fields) {
		t.Fatalf("%s: validate only answered %s %v, the real call %s %v", step, dry.Code, dry.Fields, real.Code, real.Fields)
	}
}

// storedState is what a write leaves behind: every audit event and the
// decision log of the products named.
func storedState(t *testing.T, env *apptest.Env, products ...string) (events []int64, decisions int) {
	t.Helper()
	for _, e := range auditEvents(t, env, &v1.ListAuditEventsRequest{}) {
		events = append(events, e.GetSequence())
	}
	for _, p := range products {
		res, err := adminClients(env).Policy.ListPolicyDecisions(context.Background(), connect.NewRequest(&v1.ListPolicyDecisionsRequest{Domain: "sales", Product: p, PageSize: 500}))
		if err != nil {
			t.Fatalf("listing decisions of %s: %v", p, err)
		}
		decisions += len(res.Msg.GetDecisions())
	}
	return events, decisions
}

// TestValidateOnlyThroughEveryDoor shows creates and updates that only
// validate: they answer the product as it would be stored and refuse what
// the real call refuses, with the same fields, and leave nothing behind —
// no product, no change, no audit event, no policy decision, nothing a
// search finds.
func TestValidateOnlyThroughEveryDoor(t *testing.T) {
	for _, name := range []string{"connect", "grpc", "graphql"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			env := apptest.New(t)
			validateOnlyScenario(t, env, dryRunners(env)[name], doors(env)[name])
		})
	}
}

func validateOnlyScenario(t *testing.T, env *apptest.Env, d dryRunner, door door) {
	env.Domain("sales")
	env.Domain("marketing")
	member := env.User("mark", "domain-member", "sales")
	owner := env.User("olivia", "domain-owner", "sales")
	officer := env.User("gina", "governance-officer", "*")
	outsider := env.User("otto", "domain-owner", "marketing")
	events, decisions := storedState(t, env, "orders")

	// A valid create answers the product as it would be stored, without an id.
	p, o := d.create(member, "sales", "orders", apptest.ProductSpec(), true)
	wantOutcome(t, "validate a create", o, "OK")
	if p.ID != "" || p.Lifecycle != "draft" || p.Version != 1 || p.Owner != "orders-team@example.com" ||
		!slices.Equal(p.Topics, []string{"sales.orders.orders.v1", "sales.orders.customers.v1"}) {
		t.Fatalf("validated create answered %+v", p)
	}
	_, o = door.getProduct(env.AdminToken, "sales", "orders")
	wantOutcome(t, "nothing created", o, "NOT_FOUND")
	if names, _, _ := door.listProducts(env.AdminToken, listFilter{Text: "email"}); len(names) != 0 {
		t.Fatalf("search finds a product never created: %v", names)
	}
	if e, n := storedState(t, env, "orders"); !slices.Equal(e, events) || n != decisions {
		t.Fatalf("validating a create left audit events %v (had %v) or %d decisions (had %d)", e, events, n, decisions)
	}

	// Refusals are those of the real call, field for field.
	invalid := apptest.ProductSpec()
	invalid.Ports[0].Fields[1].Name = "customer id"
	invalid.Source.Tables = nil
	denied := apptest.ProductSpec()
	denied.Ports[0].Fields[2].Classification = v1.Classification_CLASSIFICATION_UNSPECIFIED
	for _, c := range []struct {
		step, tok, domain string
		spec              *v1.DataProductSpec
	}{
		{"invalid spec", member, "sales", invalid},
		{"admission denies", member, "sales", denied},
		{"outsider", outsider, "sales", apptest.ProductSpec()},
		{"unknown domain", env.AdminToken, "nowhere", apptest.ProductSpec()},
		{"reader may not create", officer, "sales", apptest.ProductSpec()},
		{"bad name", member, "sales", apptest.ProductSpec()},
	} {
		name := "refused"
		if c.step == "bad name" {
			name = "Not A Name"
		}
		_, dry := d.create(c.tok, c.domain, name, c.spec, true)
		_, real := d.create(c.tok, c.domain, name, c.spec, false)
		sameOutcome(t, "create: "+c.step, dry, real)
	}

	// Once created for real, a validated duplicate is refused as the real one is.
	created, o := d.create(member, "sales", "orders", apptest.ProductSpec(), false)
	wantOutcome(t, "create", o, "OK")
	if created.ID == "" {
		t.Fatal("a real create answered no id")
	}
	_, dry := d.create(member, "sales", "orders", apptest.ProductSpec(), true)
	_, real := d.create(member, "sales", "orders", apptest.ProductSpec(), false)
	sameOutcome(t, "duplicate", dry, real)
	events, decisions = storedState(t, env, "orders")

	// A valid update answers the product as it would be stored and changes nothing.
	s := apptest.ProductSpec()
	s.Owner = "mark"
	p, o = d.update(member, "sales", "orders", s, 0, 1, true)
	wantOutcome(t, "validate an update", o, "OK")
	if p.ID != created.ID || p.Version != 2 || p.Owner != "mark" || p.Lifecycle != "draft" {
		t.Fatalf("validated update answered %+v", p)
	}
	p, o = d.update(owner, "sales", "orders", s, v1.Lifecycle_LIFECYCLE_ACTIVE, 1, true)
	wantOutcome(t, "validate an activation", o, "OK")
	if p.Lifecycle != "active" || p.Version != 2 {
		t.Fatalf("validated activation answered %+v", p)
	}
	if cur, _ := door.getProduct(env.AdminToken, "sales", "orders"); cur.Version != 1 || cur.Owner != "orders-team@example.com" || cur.Lifecycle != "draft" {
		t.Fatalf("validating updates changed the product: %+v", cur)
	}
	for _, c := range []struct {
		step, tok string
		spec      *v1.DataProductSpec
		lc        v1.Lifecycle
		version   int64
	}{
		{"stale version", member, s, 0, 7},
		{"missing version", member, s, 0, 0},
		{"member activates", member, s, v1.Lifecycle_LIFECYCLE_ACTIVE, 1},
		{"illegal move", owner, s, v1.Lifecycle_LIFECYCLE_RETIRED, 1},
		{"admission denies", member, denied, 0, 1},
		{"invalid spec", member, invalid, 0, 1},
		{"outsider", outsider, s, 0, 1},
	} {
		_, dry := d.update(c.tok, "sales", "orders", c.spec, c.lc, c.version, true)
		_, real := d.update(c.tok, "sales", "orders", c.spec, c.lc, c.version, false)
		sameOutcome(t, "update: "+c.step, dry, real)
	}
	// The refused real updates logged their admission decisions; a validated
	// update logs none and records no event.
	events, decisions = storedState(t, env, "orders")
	if _, o := d.update(member, "sales", "orders", s, 0, 1, true); !o.ok() {
		t.Fatalf("validate an update again: %+v", o)
	}
	if e, n := storedState(t, env, "orders"); !slices.Equal(e, events) || n != decisions {
		t.Fatalf("validating an update left audit events %v (had %v) or %d decisions (had %d)", e, events, n, decisions)
	}
}

// TestEvaluateDraftThroughEveryDoor evaluates specs nobody saved: a new
// product's fields and an edited product's new field get the masking they
// would get once saved, inadmissible drafts say why as a write would, and
// only callers who may save the spec may ask.
func TestEvaluateDraftThroughEveryDoor(t *testing.T) {
	for _, name := range []string{"connect", "graphql"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			env := apptest.New(t)
			evaluateDraftScenario(t, env, dryRunners(env)[name])
		})
	}
}

func evaluateDraftScenario(t *testing.T, env *apptest.Env, d dryRunner) {
	env.Domain("sales")
	env.Domain("marketing")
	member := env.User("mark", "domain-member", "sales")
	owner := env.User("olivia", "domain-owner", "sales")
	officer := env.User("gina", "governance-officer", "*")
	outsider := env.User("otto", "domain-owner", "marketing")

	// A product nobody has created: each unsaved field's masking.
	staff := withPort("staff",
		&v1.Field{Name: "ssn", Type: v1.FieldType_FIELD_TYPE_STRING, Classification: v1.Classification_CLASSIFICATION_PII},
		&v1.Field{Name: "salary", Type: v1.FieldType_FIELD_TYPE_DECIMAL, Classification: v1.Classification_CLASSIFICATION_SENSITIVE})
	e, o := d.evaluate(member, "sales", "people", staff)
	wantOutcome(t, "evaluate a new product", o, "OK")
	if e.Masking["staff.ssn"] != "hash" || e.Masking["staff.salary"] != "drop" {
		t.Fatalf("masking of unsaved fields: %v", e.Masking)
	}
	// Its admission is what creating it answers.
	_, created := d.create(member, "sales", "people", staff, true)
	if e.Allowed != created.ok() {
		t.Fatalf("evaluation allowed=%v, validating the create answered %+v", e.Allowed, created)
	}
	denied := apptest.ProductSpec()
	denied.Ports[0].Fields[2].Classification = v1.Classification_CLASSIFICATION_UNSPECIFIED
	e, o = d.evaluate(member, "sales", "people", denied)
	wantOutcome(t, "evaluate an inadmissible draft", o, "OK")
	_, refused := d.create(member, "sales", "people", denied, false)
	if e.Allowed || !slices.Equal(e.Violations, refused.Fields) {
		t.Fatalf("evaluation allowed=%v violations %v; the create was refused at %v", e.Allowed, e.Violations, refused.Fields)
	}
	// An invalid draft is refused by field, as saving it would be.
	invalid := apptest.ProductSpec()
	invalid.Ports[1].Fields[1].Name = "e-mail"
	_, o = d.evaluate(member, "sales", "people", invalid)
	_, real := d.create(member, "sales", "people", invalid, false)
	sameOutcome(t, "invalid draft", o, real)

	// A stored product being edited: the new field's masking, beside the stored one.
	if _, o := d.create(member, "sales", "orders", apptest.ProductSpec(), false); !o.ok() {
		t.Fatalf("create: %+v", o)
	}
	edited := apptest.ProductSpec()
	edited.Ports[1].Fields = append(edited.Ports[1].Fields,
		&v1.Field{Name: "phone", Type: v1.FieldType_FIELD_TYPE_STRING, Classification: v1.Classification_CLASSIFICATION_PII})
	e, o = d.evaluate(member, "sales", "orders", edited)
	wantOutcome(t, "evaluate an edit", o, "OK")
	if e.Masking["customers.phone"] != "hash" || e.Masking["customers.email"] != "hash" {
		t.Fatalf("masking of an edit: %v", e.Masking)
	}
	stored, o := d.evaluate(member, "sales", "orders", nil)
	wantOutcome(t, "evaluate the stored product", o, "OK")
	if _, ok := stored.Masking["customers.phone"]; ok || stored.Masking["customers.email"] != "hash" {
		t.Fatalf("masking of the stored product: %v", stored.Masking)
	}

	// Asking about a draft needs the right to save it.
	_, o = d.evaluate(officer, "sales", "orders", nil)
	wantOutcome(t, "a reader evaluates the stored product", o, "OK")
	_, o = d.evaluate(officer, "sales", "orders", edited)
	wantOutcome(t, "a reader evaluates a draft", o, "PERMISSION_DENIED")
	_, o = d.evaluate(officer, "sales", "people", staff)
	wantOutcome(t, "a reader evaluates a new product", o, "PERMISSION_DENIED")
	_, o = d.evaluate(outsider, "sales", "orders", edited)
	wantOutcome(t, "an outsider evaluates a draft", o, "NOT_FOUND")
	_, o = d.evaluate(member, "nowhere", "orders", edited)
	wantOutcome(t, "a draft in no domain", o, "NOT_FOUND")
	// Past draft, editing needs update, which members lack and owners have.
	if _, o := d.update(owner, "sales", "orders", apptest.ProductSpec(), v1.Lifecycle_LIFECYCLE_ACTIVE, 1, false); !o.ok() {
		t.Fatalf("activate: %+v", o)
	}
	_, o = d.evaluate(member, "sales", "orders", edited)
	wantOutcome(t, "a member evaluates an edit of an active product", o, "PERMISSION_DENIED")
	_, o = d.evaluate(owner, "sales", "orders", edited)
	wantOutcome(t, "an owner evaluates an edit of an active product", o, "OK")

	// Evaluating leaves no decision in the log and records no event.
	events, decisions := storedState(t, env, "people", "orders")
	d.evaluate(owner, "sales", "orders", edited)
	d.evaluate(member, "sales", "people", staff)
	d.evaluate(member, "sales", "people", denied)
	if e, n := storedState(t, env, "people", "orders"); !slices.Equal(e, events) || n != decisions {
		t.Fatalf("evaluating drafts left audit events %v (had %v) or %d decisions (had %d)", e, events, n, decisions)
	}
}
