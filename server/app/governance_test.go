package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/proto"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
	"github.com/meshplane/meshplane/server/app"
	"github.com/meshplane/meshplane/server/app/apptest"
)

// fieldViolations returns the BadRequest field violations of a Connect
// error, path → description (descriptions of one path joined by "\n").
func fieldViolations(err error) map[string]string {
	out := map[string]string{}
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return out
	}
	for _, d := range ce.Details() {
		v, derr := d.Value()
		if derr != nil {
			continue
		}
		if br, ok := v.(*errdetails.BadRequest); ok {
			for _, f := range br.GetFieldViolations() {
				if prev, dup := out[f.GetField()]; dup {
					out[f.GetField()] = prev + "\n" + f.GetDescription()
				} else {
					out[f.GetField()] = f.GetDescription()
				}
			}
		}
	}
	return out
}

// wantError fails t unless err has code and, when reason is set, that
// ErrorInfo reason; it returns the field violations.
func wantError(t *testing.T, step string, err error, code connect.Code, reason string) map[string]string {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: succeeded, want %v", step, code)
	}
	if got := connect.CodeOf(err); got != code {
		t.Fatalf("%s: code %v, want %v: %v", step, got, code, err)
	}
	if reason != "" && reasonOf(err) != reason {
		t.Fatalf("%s: reason %q, want %q: %v", step, reasonOf(err), reason, err)
	}
	return fieldViolations(err)
}

// wantPaths fails t unless the violations are at exactly paths.
func wantPaths(t *testing.T, step string, got map[string]string, paths ...string) {
	t.Helper()
	have := slices.Sorted(maps.Keys(got))
	want := slices.Sorted(slices.Values(paths))
	if !slices.Equal(have, want) {
		t.Fatalf("%s: violations at %v, want %v: %v", step, have, want, got)
	}
}

// newestDecision returns the newest decision of kind in a product's log.
func newestDecision(t *testing.T, c apptest.Clients, domain, product, kind string) *v1.PolicyDecision {
	t.Helper()
	res, err := c.Policy.ListPolicyDecisions(context.Background(), connect.NewRequest(&v1.ListPolicyDecisionsRequest{Domain: domain, Product: product}))
	if err != nil {
		t.Fatalf("listing decisions of %s/%s: %v", domain, product, err)
	}
	for _, d := range res.Msg.GetDecisions() {
		if d.GetKind() == kind {
			return d
		}
	}
	t.Fatalf("the decision log of %s/%s has no %s decision: %v", domain, product, kind, res.Msg.GetDecisions())
	return nil
}

// auditEvents returns the audit events the admin sees that match req.
func auditEvents(t *testing.T, env *apptest.Env, req *v1.ListAuditEventsRequest) []*v1.AuditEvent {
	t.Helper()
	req.PageSize = 500
	res, err := adminClients(env).Audit.ListAuditEvents(context.Background(), connect.NewRequest(req))
	if err != nil {
		t.Fatalf("listing audit events: %v", err)
	}
	return res.Msg.GetEvents()
}

const ninetyDaysMs = 90 * 24 * 3600 * 1000

// TestAdmissionOnWrites shows the published admission policy judging every
// product write: refusals name each offending field the way the catalog's
// own validation does, write nothing, are logged with the input's digest
// and the policy version, and look the same through GraphQL.
func TestAdmissionOnWrites(t *testing.T) {
	env := apptest.New(t)
	ctx := context.Background()
	env.Domain("sales")
	ownerTok := env.User("olga", "domain-owner", "sales")
	owner := env.Clients(apptest.ProtocolConnect, ownerTok)

	cases := []struct {
		name  string
		edit  func(*v1.DataProductSpec)
		paths []string
		msg   string
	}{
		{
			name: "unclassified",
			edit: func(s *v1.DataProductSpec) {
				s.Ports[0].Fields[2].Classification = v1.Classification_CLASSIFICATION_UNSPECIFIED
			},
			paths: []string{"spec.ports[0].fields[2].classification"},
			msg:   `field "total" of port "orders" is not classified`,
		},
		{
			name:  "retained",
			edit:  func(s *v1.DataProductSpec) { s.Ports[1].RetentionMs = ninetyDaysMs },
			paths: []string{"spec.ports[1].retentionMs"},
			msg:   `port "customers" publishes personal data: keep it at most 30 days`,
		},
		{
			name: "several",
			edit: func(s *v1.DataProductSpec) {
				s.Ports[0].Fields[2].Classification = v1.Classification_CLASSIFICATION_UNSPECIFIED
				s.Ports[0].Fields[1].Name = "customerId"
				s.Ports[1].RetentionMs = ninetyDaysMs
			},
			paths: []string{"spec.ports[0].fields[1].name", "spec.ports[0].fields[2].classification", "spec.ports[1].retentionMs"},
			msg:   `field name "customerId" must be snake_case`,
		},
	}
	for _, c := range cases {
		s := apptest.ProductSpec()
		// Untagged, customers.email is plain PII, which the default masking
		// policy hashes at the topic: its port publishes personal data.
		s.Ports[1].Fields[1].Tags = nil
		c.edit(s)
		_, err := owner.Catalog.CreateDataProduct(ctx, connect.NewRequest(&v1.CreateDataProductRequest{Domain: "sales", Name: c.name, Spec: s}))
		got := wantError(t, "creating "+c.name, err, connect.CodeInvalidArgument, "POLICY_DENIED")
		wantPaths(t, "creating "+c.name, got, c.paths...)
		if !strings.Contains(strings.Join(slices.Collect(maps.Values(got)), "\n"), c.msg) {
			t.Errorf("creating %s: violations %v do not say %q", c.name, got, c.msg)
		}
		_, err = owner.Catalog.GetDataProduct(ctx, connect.NewRequest(&v1.GetDataProductRequest{Domain: "sales", Name: c.name}))
		wantError(t, "reading the refused "+c.name, err, connect.CodeNotFound, "")
		if evs := auditEvents(t, env, &v1.ListAuditEventsRequest{Resource: "sales/" + c.name}); len(evs) != 0 {
			t.Errorf("a refused write left audit events: %v", evs)
		}
	}

	// The decision log keeps the refusal: what was judged (its digest), by
	// which policy version, and why.
	d := newestDecision(t, owner, "sales", "retained", "admission")
	if d.GetAllowed() || d.GetFailedClosed() || len(d.GetInputDigest()) != 64 || !strings.Contains(d.GetPolicyVersion(), "admission@1") ||
		d.GetTrigger() != "catalog.CreateDataProduct" || d.GetActor() != "olga" || !strings.Contains(d.GetResult(), "spec.ports[1].retentionMs") {
		t.Errorf("decision for the refused product = %+v", d)
	}
	if other := newestDecision(t, owner, "sales", "unclassified", "admission"); other.GetInputDigest() == d.GetInputDigest() {
		t.Errorf("two different products have the same input digest %s", d.GetInputDigest())
	}

	// An admitted product cannot be changed into an inadmissible one.
	created, err := owner.Catalog.CreateDataProduct(ctx, connect.NewRequest(&v1.CreateDataProductRequest{Domain: "sales", Name: "orders", Spec: apptest.ProductSpec()}))
	if err != nil {
		t.Fatalf("creating an admissible product: %v", err)
	}
	if d := newestDecision(t, owner, "sales", "orders", "admission"); !d.GetAllowed() {
		t.Errorf("admitted product logged as %+v", d)
	}
	// The fixture's email is PII with an informational tag ("contact"): it is
	// hashed like any PII, so its port publishes personal data too.
	ev, err := owner.Policy.EvaluateDataProduct(ctx, connect.NewRequest(&v1.EvaluateDataProductRequest{Domain: "sales", Name: "orders"}))
	if err != nil {
		t.Fatal(err)
	}
	if e := decisionFor(ev.Msg.GetMasking(), "customers", "email", ""); e.GetAction() != "hash" || e.GetFallback() {
		t.Errorf("the default masking policy should hash pii tagged %v; email decision = %+v", apptest.ProductSpec().Ports[1].Fields[1].Tags, e)
	}
	s := apptest.ProductSpec()
	s.Ports[1].Fields[1].Tags = nil
	s.Ports[1].RetentionMs = ninetyDaysMs
	_, err = owner.Catalog.UpdateDataProduct(ctx, connect.NewRequest(&v1.UpdateDataProductRequest{Domain: "sales", Name: "orders", Spec: s, Version: created.Msg.GetDataProduct().GetVersion()}))
	wantPaths(t, "updating orders", wantError(t, "updating orders", err, connect.CodeInvalidArgument, "POLICY_DENIED"), "spec.ports[1].retentionMs")
	cur, err := owner.Catalog.GetDataProduct(ctx, connect.NewRequest(&v1.GetDataProductRequest{Domain: "sales", Name: "orders"}))
	if err != nil {
		t.Fatal(err)
	}
	if p := cur.Msg.GetDataProduct(); p.GetVersion() != created.Msg.GetDataProduct().GetVersion() || p.GetPorts()[1].GetRetentionMs() == ninetyDaysMs {
		t.Errorf("a refused update changed the product: version %d, retention %d", p.GetVersion(), p.GetPorts()[1].GetRetentionMs())
	}
	if d := newestDecision(t, owner, "sales", "orders", "admission"); d.GetAllowed() || d.GetTrigger() != "catalog.UpdateDataProduct" {
		t.Errorf("refused update logged as %+v", d)
	}

	// GraphQL refuses the same way, with the same paths.
	bad := apptest.ProductSpec()
	bad.Ports[0].Fields[2].Classification = v1.Classification_CLASSIFICATION_UNSPECIFIED
	bad.Ports[1].Fields[1].Tags = nil
	bad.Ports[1].RetentionMs = ninetyDaysMs
	r := env.GraphQL(ownerTok, `mutation($in: CreateDataProductInput!) { createDataProduct(input: $in) { dataProduct { name } } }`,
		map[string]any{"in": map[string]any{"domain": "sales", "name": "via-graphql", "spec": specVar(bad)}})
	if len(r.Errors) != 1 {
		t.Fatalf("graphql createDataProduct: errors %+v, data %s", r.Errors, r.Data)
	}
	ext := r.Errors[0].Extensions
	var gqlPaths []string
	for _, f := range ext.Fields {
		gqlPaths = append(gqlPaths, f.Path)
	}
	slices.Sort(gqlPaths)
	if ext.Code != "INVALID_ARGUMENT" || ext.Reason != "POLICY_DENIED" ||
		!slices.Equal(gqlPaths, []string{"spec.ports[0].fields[2].classification", "spec.ports[1].retentionMs"}) {
		t.Errorf("graphql refusal: code %s, reason %s, fields %v", ext.Code, ext.Reason, gqlPaths)
	}
	_, err = owner.Catalog.GetDataProduct(ctx, connect.NewRequest(&v1.GetDataProductRequest{Domain: "sales", Name: "via-graphql"}))
	wantError(t, "reading the product refused through graphql", err, connect.CodeNotFound, "")
}

// policyModule reads a module as c.
func policyModule(t *testing.T, c apptest.Clients, name string) *v1.PolicyModule {
	t.Helper()
	res, err := c.Policy.GetPolicyModule(context.Background(), connect.NewRequest(&v1.GetPolicyModuleRequest{Name: name}))
	if err != nil {
		t.Fatalf("reading policy module %s: %v", name, err)
	}
	return res.Msg.GetModule()
}

// withFile returns files plus one more.
func withFile(files map[string]string, name, src string) map[string]string {
	out := maps.Clone(files)
	out[name] = src
	return out
}

// wantJudgedByDefaults checks that products are judged by the default
// admission policy: an unclassified field is refused, a clean product admitted.
func wantJudgedByDefaults(t *testing.T, c apptest.Clients, name string) {
	t.Helper()
	ctx := context.Background()
	s := apptest.ProductSpec()
	s.Ports[0].Fields[0].Classification = v1.Classification_CLASSIFICATION_UNSPECIFIED
	_, err := c.Catalog.CreateDataProduct(ctx, connect.NewRequest(&v1.CreateDataProductRequest{Domain: "sales", Name: name + "-bad", Spec: s}))
	wantPaths(t, "an unclassified field", wantError(t, "an unclassified field", err, connect.CodeInvalidArgument, "POLICY_DENIED"),
		"spec.ports[0].fields[0].classification")
	if _, err := c.Catalog.CreateDataProduct(ctx, connect.NewRequest(&v1.CreateDataProductRequest{Domain: "sales", Name: name, Spec: apptest.ProductSpec()})); err != nil {
		t.Fatalf("a clean product is refused: %v", err)
	}
}

// TestRegoRefusedAtSave shows bad policy stopped before it can judge
// anything: drafts that do not compile or call forbidden built-ins are not
// saved, drafts whose tests fail are saved but not published, stale drafts
// conflict, untested modules stay unpublished — and all along products are
// judged by the published policy.
func TestRegoRefusedAtSave(t *testing.T) {
	env := apptest.New(t)
	ctx := context.Background()
	env.Domain("sales")
	owner := env.Clients(apptest.ProtocolConnect, env.User("olga", "domain-owner", "sales"))
	gov := env.Clients(apptest.ProtocolConnect, env.User("greta", "governance-officer", "*"))

	mod := policyModule(t, gov, "admission")
	if mod.GetPublishedVersion() != 1 || mod.GetDraftChanged() {
		t.Fatalf("admission module at start = %+v", mod)
	}
	published := mod.GetFiles()

	// (a) A syntax error names the file, line and column.
	lines := strings.Split(published["admission.rego"], "\n")
	at := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "max_personal_retention_ms") })
	if at < 0 {
		t.Fatalf("admission.rego no longer defines max_personal_retention_ms:\n%s", published["admission.rego"])
	}
	broken := slices.Insert(slices.Clone(lines), at, "shortest_retention_ms := ]")
	_, err := gov.Policy.SavePolicyDraft(ctx, connect.NewRequest(&v1.SavePolicyDraftRequest{Name: "admission",
		Files: withFile(published, "admission.rego", strings.Join(broken, "\n")), Version: mod.GetVersion()}))
	got := wantError(t, "saving a syntax error", err, connect.CodeInvalidArgument, "POLICY_COMPILE_ERROR")
	wantPaths(t, "saving a syntax error", got, `files["admission.rego"]`)
	if want := fmt.Sprintf("admission.rego:%d:26:", at+1); !strings.Contains(got[`files["admission.rego"]`], want) {
		t.Errorf("the syntax error says %q, want it to point at %s", got[`files["admission.rego"]`], want)
	}

	// (b, c) Built-ins that reach the network or the host are refused by name.
	for name, rule := range map[string]string{
		"http.send":          `fetched := http.send({"method": "GET", "url": "http://127.0.0.1:9/"})`,
		"net.lookup_ip_addr": `addresses := net.lookup_ip_addr("example.com")`,
		"opa.runtime":        `runtime := opa.runtime()`,
	} {
		files := withFile(published, "admission_extra.rego", "package meshplane.admission\n\n"+rule+"\n")
		_, err := gov.Policy.SavePolicyDraft(ctx, connect.NewRequest(&v1.SavePolicyDraftRequest{Name: "admission", Files: files, Version: mod.GetVersion()}))
		got := wantError(t, "saving a call to "+name, err, connect.CodeInvalidArgument, "POLICY_COMPILE_ERROR")
		wantPaths(t, "saving a call to "+name, got, `files["admission_extra.rego"]`)
		if msg := got[`files["admission_extra.rego"]`]; !strings.Contains(msg, "admission_extra.rego:3:") || !strings.Contains(msg, name+" is not allowed") {
			t.Errorf("calling %s: %q", name, msg)
		}
	}
	if now := policyModule(t, gov, "admission"); now.GetVersion() != mod.GetVersion() || !maps.Equal(now.GetFiles(), published) || now.GetDraftChanged() {
		t.Fatalf("a refused draft was saved: %+v", now)
	}
	wantJudgedByDefaults(t, owner, "after-refusals")

	// (d) A draft whose tests fail is saved, but not published. It stops
	// refusing unclassified fields, which the module's own table test catches.
	const rule = `field.classification == ""`
	if strings.Count(published["admission.rego"], rule) != 1 {
		t.Fatalf("admission.rego no longer holds %q exactly once", rule)
	}
	lax := withFile(published, "admission.rego", strings.Replace(published["admission.rego"], rule, `field.classification == "unclassified"`, 1))
	saved, err := gov.Policy.SavePolicyDraft(ctx, connect.NewRequest(&v1.SavePolicyDraftRequest{Name: "admission", Files: lax, Version: mod.GetVersion()}))
	if err != nil {
		t.Fatalf("saving a draft whose tests fail: %v", err)
	}
	if m := saved.Msg.GetModule(); m.GetVersion() != mod.GetVersion()+1 || !m.GetDraftChanged() || m.GetPublishedVersion() != 1 || m.GetDraftUpdatedBy() != "greta" {
		t.Errorf("saved draft = %+v", m)
	}
	tests, err := gov.Policy.TestPolicyDraft(ctx, connect.NewRequest(&v1.TestPolicyDraftRequest{Name: "admission"}))
	if err != nil {
		t.Fatal(err)
	}
	failed := map[string]*v1.PolicyTestResult{}
	for _, r := range tests.Msg.GetResults() {
		if !r.GetPassed() {
			failed[r.GetName()] = r
		}
	}
	// Both tests that feed an unclassified field fail, and only they.
	if names := slices.Sorted(maps.Keys(failed)); tests.Msg.GetPassed() || !slices.Equal(names, []string{"test_deny", "test_every_entry_names_the_field"}) {
		t.Fatalf("draft tests: passed=%v, failed %v", tests.Msg.GetPassed(), names)
	}
	if d := failed["test_deny"]; d.GetFile() != "admission_test.rego" || !strings.Contains(d.GetMessage(), "unclassified field") {
		t.Errorf("test_deny result = %+v", d)
	}
	_, err = gov.Policy.PublishPolicy(ctx, connect.NewRequest(&v1.PublishPolicyRequest{Name: "admission", Message: "admit unclassified fields", Version: saved.Msg.GetModule().GetVersion()}))
	got = wantError(t, "publishing a failing draft", err, connect.CodeFailedPrecondition, "POLICY_TESTS_FAILED")
	wantPaths(t, "publishing a failing draft", got,
		`tests["meshplane.admission_test.test_deny"]`, `tests["meshplane.admission_test.test_every_entry_names_the_field"]`)
	if now := policyModule(t, gov, "admission"); now.GetPublishedVersion() != 1 {
		t.Errorf("published version after a refused publish = %d", now.GetPublishedVersion())
	}
	versions, err := gov.Policy.ListPolicyVersions(ctx, connect.NewRequest(&v1.ListPolicyVersionsRequest{Name: "admission"}))
	if err != nil || len(versions.Msg.GetVersions()) != 1 {
		t.Errorf("versions after a refused publish: %v, %v", versions.Msg.GetVersions(), err)
	}
	wantJudgedByDefaults(t, owner, "after-failed-tests")

	// (e) Saving or publishing over a draft someone else saved conflicts.
	_, err = gov.Policy.SavePolicyDraft(ctx, connect.NewRequest(&v1.SavePolicyDraftRequest{Name: "admission", Files: published, Version: mod.GetVersion()}))
	wantError(t, "saving a stale draft", err, connect.CodeAborted, "VERSION_CONFLICT")
	_, err = gov.Policy.PublishPolicy(ctx, connect.NewRequest(&v1.PublishPolicyRequest{Name: "admission", Message: "stale", Version: mod.GetVersion()}))
	wantError(t, "publishing a stale draft", err, connect.CodeAborted, "VERSION_CONFLICT")
	if now := policyModule(t, gov, "admission"); now.GetVersion() != saved.Msg.GetModule().GetVersion() || !maps.Equal(now.GetFiles(), lax) {
		t.Errorf("a stale save changed the draft: version %d", now.GetVersion())
	}

	// (f) A module without tests is never published.
	created, err := gov.Policy.CreatePolicyModule(ctx, connect.NewRequest(&v1.CreatePolicyModuleRequest{Name: "untested",
		Files: map[string]string{"untested.rego": "package meshplane.untested\n\nanswer := 42\n"}}))
	if err != nil {
		t.Fatalf("creating an untested module: %v", err)
	}
	// Testing it says up front that it cannot be published.
	tr, err := gov.Policy.TestPolicyDraft(ctx, connect.NewRequest(&v1.TestPolicyDraftRequest{Name: "untested"}))
	if err != nil {
		t.Fatalf("testing an untested module: %v", err)
	}
	if tr.Msg.GetPassed() || !strings.Contains(tr.Msg.GetProblem(), "no tests") {
		t.Errorf("testing an untested module: passed=%v problem=%q", tr.Msg.GetPassed(), tr.Msg.GetProblem())
	}
	_, err = gov.Policy.PublishPolicy(ctx, connect.NewRequest(&v1.PublishPolicyRequest{Name: "untested", Message: "no tests", Version: created.Msg.GetModule().GetVersion()}))
	got = wantError(t, "publishing an untested module", err, connect.CodeFailedPrecondition, "POLICY_TESTS_FAILED")
	if wantPaths(t, "publishing an untested module", got, "files"); !strings.Contains(got["files"], "no tests") {
		t.Errorf("publishing an untested module: %q", got["files"])
	}
	if m := policyModule(t, gov, "untested"); m.GetPublishedVersion() != 0 {
		t.Errorf("untested module published as version %d", m.GetPublishedVersion())
	}
	ev, err := owner.Policy.EvaluateDataProduct(ctx, connect.NewRequest(&v1.EvaluateDataProductRequest{Domain: "sales", Name: "after-refusals"}))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Msg.GetPolicyVersion() != "access@1,admission@1,masking@1,provision@1" || !ev.Msg.GetAllowed() {
		t.Errorf("evaluation after all refusals: %s allowed=%v", ev.Msg.GetPolicyVersion(), ev.Msg.GetAllowed())
	}
}

// chaosTests are the chaos module's tests: an ordinary product is admitted
// and masked as usual. Both chaos versions pass them.
const chaosTests = `package meshplane.chaos_test

import data.meshplane.admission
import data.meshplane.masking

ordinary := {
	"domain": "sales",
	"name": "orders",
	"lifecycle": "draft",
	"description": "Orders",
	"owner": "team@example.com",
	"labels": {},
	"ports": [{
		"name": "customers",
		"description": "Customers",
		"retentionMs": 604800000,
		"fields": [
			{"name": "customer_id", "type": "int64", "classification": "none", "tags": [], "key": true},
			{"name": "email", "type": "string", "classification": "pii", "tags": []},
		],
	}],
	"sinks": [],
}

test_ordinary_product_is_admitted if {
	doc := {"product": ordinary, "masking": {"customers": {
		"customer_id": {"action": "allow", "sinks": {}},
		"email": {"action": "hash", "sinks": {}},
	}}}
	count(admission.deny) == 0 with input as doc
}

test_ordinary_product_is_masked if {
	decisions := masking.decisions with input as {"product": ordinary}
	every d in decisions {
		d.action in {"allow", "hash", "mask", "truncate", "drop"}
	}
	some d in decisions
	d.field == "email"
	d.action == "hash"
}
`

// chaosCalm is the chaos module's first version: it judges nothing.
var chaosCalm = map[string]string{
	"chaos.rego":      "package meshplane.admission\n\n# chaos_loaded marks the module as loaded; it denies nothing.\nchaos_loaded := true\n",
	"chaos_test.rego": chaosTests,
}

// chaosWild is the chaos module's second version: it passes its tests but
// fails at run time for "boom" and runs far past the evaluation budget for
// "slow".
var chaosWild = map[string]string{
	"chaos.rego": `package meshplane.admission

chaos_loaded := true

deny contains {"path": "spec", "msg": "boom"} if {
	input.product.name == "boom"
	zero := count(input.product.ports) - count(input.product.ports)
	1 / zero > 0
}

# 200^4 = 1.6 billion combinations, none of which matches.
deny contains {"path": "spec", "msg": "slow"} if {
	input.product.name == "slow"
	digits := split(sprintf("%0200d", [0]), "")
	some a in digits
	some b in digits
	some c in digits
	some d in digits
	concat("", [a, b, c, d]) == "never"
}
`,
	"chaos_test.rego": chaosTests,
}

// glitchedMasking returns the masking module's files with one more source
// of decisions: every pii field of a product named "glitch" also gets a
// decision whose action does not exist. The module's own tests still pass.
func glitchedMasking(t *testing.T, files map[string]string) map[string]string {
	t.Helper()
	head := regexp.MustCompile(`(?m)^decisions\b`)
	src := files["masking.rego"]
	if !head.MatchString(src) {
		t.Fatalf("masking.rego no longer defines decisions at the start of a line:\n%s", src)
	}
	return withFile(files, "masking.rego", head.ReplaceAllString(src, "usual_decisions")+`
decisions := usual_decisions | glitched

glitched contains {"port": port.name, "field": field.name, "action": "obliterate"} if {
	input.product.name == "glitch"
	some port in input.product.ports
	some field in port.fields
	field.classification == "pii"
}
`)
}

// TestFailClosedAtEvaluation publishes a module that passes its own tests
// but misbehaves for some products, and shows meshplane refusing those
// products (or masking strictest) instead of letting them through, while
// other products are judged as usual and the server keeps answering.
func TestFailClosedAtEvaluation(t *testing.T) {
	env := apptest.New(t)
	ctx := context.Background()
	env.Domain("sales")
	owner := env.Clients(apptest.ProtocolConnect, env.User("olga", "domain-owner", "sales"))
	gov := env.Clients(apptest.ProtocolConnect, env.User("greta", "governance-officer", "*"))
	create := func(ctx context.Context, name string) error {
		_, err := owner.Catalog.CreateDataProduct(ctx, connect.NewRequest(&v1.CreateDataProductRequest{Domain: "sales", Name: name, Spec: apptest.ProductSpec()}))
		return err
	}

	calm, err := gov.Policy.CreatePolicyModule(ctx, connect.NewRequest(&v1.CreatePolicyModuleRequest{Name: "chaos", Files: chaosCalm}))
	if err != nil {
		t.Fatalf("creating the chaos module: %v", err)
	}
	if _, err := gov.Policy.PublishPolicy(ctx, connect.NewRequest(&v1.PublishPolicyRequest{Name: "chaos", Message: "calm", Version: calm.Msg.GetModule().GetVersion()})); err != nil {
		t.Fatalf("publishing calm chaos: %v %v", err, fieldViolations(err))
	}
	if err := create(ctx, "orders"); err != nil {
		t.Fatal(err)
	}
	wild, err := gov.Policy.SavePolicyDraft(ctx, connect.NewRequest(&v1.SavePolicyDraftRequest{Name: "chaos", Files: chaosWild, Version: calm.Msg.GetModule().GetVersion()}))
	if err != nil {
		t.Fatalf("saving wild chaos: %v %v", err, fieldViolations(err))
	}
	tests, err := gov.Policy.TestPolicyDraft(ctx, connect.NewRequest(&v1.TestPolicyDraftRequest{Name: "chaos"}))
	if err != nil || !tests.Msg.GetPassed() || len(tests.Msg.GetResults()) != 2 {
		t.Fatalf("wild chaos tests: %v %+v", err, tests.Msg.GetResults())
	}
	pub, err := gov.Policy.PublishPolicy(ctx, connect.NewRequest(&v1.PublishPolicyRequest{Name: "chaos", Message: "wild", Version: wild.Msg.GetModule().GetVersion()}))
	if err != nil {
		t.Fatalf("publishing wild chaos: %v", err)
	}
	if pub.Msg.GetVersion().GetNumber() != 2 {
		t.Fatalf("wild chaos published as %+v", pub.Msg.GetVersion())
	}

	// (a) A run-time error refuses the product it happens for, saying so.
	got := wantError(t, "creating boom", create(ctx, "boom"), connect.CodeInvalidArgument, "POLICY_DENIED")
	if wantPaths(t, "creating boom", got, "spec"); !strings.Contains(got["spec"], "could not be evaluated, so the change is refused") {
		t.Errorf("boom refused with %q", got["spec"])
	}
	d := newestDecision(t, owner, "sales", "boom", "admission")
	if d.GetAllowed() || !d.GetFailedClosed() || !strings.Contains(d.GetError(), "divide by zero") || !strings.Contains(d.GetPolicyVersion(), "chaos@2") {
		t.Errorf("boom's decision = %+v", d)
	}
	if err := create(ctx, "fine"); err != nil {
		t.Errorf("a product the chaos does not touch is refused: %v", err)
	}

	// (b) A rule that would run for hours is cut off at the evaluation
	// budget and refuses the product, while other requests are answered.
	slow := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		slow <- create(ctx, "slow")
	}()
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := owner.Catalog.GetDataProduct(ctx, connect.NewRequest(&v1.GetDataProductRequest{Domain: "sales", Name: "orders"})); err != nil {
				t.Errorf("reading a product beside the slow evaluation: %v", err)
			}
		}()
	}
	wg.Wait()
	got = wantError(t, "creating slow", <-slow, connect.CodeInvalidArgument, "POLICY_DENIED")
	if !strings.Contains(got["spec"], "could not be evaluated") || !strings.Contains(got["spec"], "timed out") {
		t.Errorf("slow refused with %q", got["spec"])
	}
	if d := newestDecision(t, owner, "sales", "slow", "admission"); d.GetAllowed() || !d.GetFailedClosed() {
		t.Errorf("slow's decision = %+v", d)
	}
	if err := create(ctx, "after-slow"); err != nil {
		t.Errorf("creating a product after the slow one: %v", err)
	}

	// (c) An invalid masking decision drops the field it names, and only it.
	masking := policyModule(t, gov, "masking")
	glitched, err := gov.Policy.SavePolicyDraft(ctx, connect.NewRequest(&v1.SavePolicyDraftRequest{Name: "masking",
		Files: glitchedMasking(t, masking.GetFiles()), Version: masking.GetVersion()}))
	if err != nil {
		t.Fatalf("saving glitched masking: %v %v", err, fieldViolations(err))
	}
	if _, err := gov.Policy.PublishPolicy(ctx, connect.NewRequest(&v1.PublishPolicyRequest{Name: "masking", Message: "glitch",
		Version: glitched.Msg.GetModule().GetVersion()})); err != nil {
		t.Fatalf("publishing glitched masking: %v %v", err, fieldViolations(err))
	}
	if err := create(ctx, "glitch"); err != nil {
		t.Fatalf("creating glitch: %v", err)
	}
	ev, err := owner.Policy.EvaluateDataProduct(ctx, connect.NewRequest(&v1.EvaluateDataProductRequest{Domain: "sales", Name: "glitch"}))
	if err != nil {
		t.Fatal(err)
	}
	email := decisionFor(ev.Msg.GetMasking(), "customers", "email", "")
	if email.GetAction() != "drop" || !email.GetFallback() || !strings.Contains(email.GetReason(), "obliterate") {
		t.Errorf("glitch's email decision = %+v", email)
	}
	// The product's other fields are decided as for an untouched product.
	usual, err := owner.Policy.EvaluateDataProduct(ctx, connect.NewRequest(&v1.EvaluateDataProductRequest{Domain: "sales", Name: "orders"}))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range usual.Msg.GetMasking() {
		got := decisionFor(ev.Msg.GetMasking(), want.GetPort(), want.GetField(), want.GetSink())
		if want.GetField() != "email" && !proto.Equal(got, want) {
			t.Errorf("glitch's %s.%s decision = %+v, for orders it is %+v", want.GetPort(), want.GetField(), got, want)
		}
	}
	usualEmail := decisionFor(usual.Msg.GetMasking(), "customers", "email", "")
	if usualEmail == nil || strings.Contains(usualEmail.GetReason(), "obliterate") {
		t.Errorf("orders' email decision = %+v", usualEmail)
	}
	if d := newestDecision(t, owner, "sales", "glitch", "masking"); !d.GetFailedClosed() || !strings.Contains(d.GetError(), "obliterate") {
		t.Errorf("glitch's masking decision = %+v", d)
	}

	// Rolling back both modules admits and masks those products as usual.
	for _, name := range []string{"chaos", "masking"} {
		rb, err := gov.Policy.RollbackPolicy(ctx, connect.NewRequest(&v1.RollbackPolicyRequest{Name: name, ToVersion: 1, Message: "calm down"}))
		if err != nil {
			t.Fatalf("rolling back %s: %v", name, err)
		}
		if v := rb.Msg.GetVersion(); v.GetNumber() != 3 || v.GetRestoredFrom() != 1 {
			t.Errorf("rollback of %s = %+v", name, v)
		}
	}
	for _, name := range []string{"boom", "slow"} {
		if err := create(ctx, name); err != nil {
			t.Errorf("creating %s after the rollback: %v", name, err)
		}
	}
	ev, err = owner.Policy.EvaluateDataProduct(ctx, connect.NewRequest(&v1.EvaluateDataProductRequest{Domain: "sales", Name: "glitch"}))
	if err != nil {
		t.Fatal(err)
	}
	if email := decisionFor(ev.Msg.GetMasking(), "customers", "email", ""); !proto.Equal(email, usualEmail) {
		t.Errorf("glitch's email decision after the rollback = %+v, want it as for orders: %+v", email, usualEmail)
	}
	if v := ev.Msg.GetPolicyVersion(); !strings.Contains(v, "chaos@3") || !strings.Contains(v, "masking@3") {
		t.Errorf("evaluated by %s after the rollback", ev.Msg.GetPolicyVersion())
	}
}

// rbacLines returns text without the lines equal to any of drop.
func rbacLines(text string, drop ...string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if !slices.Contains(drop, strings.TrimSpace(l)) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestRBACRoleDefinitionsEditable shows governance officers editing the
// Casbin role definitions: a new role can be bound and grants exactly its
// rules; malformed or dangerous definitions are refused whole; stale
// versions conflict; domain owners cannot touch them; changes are audited.
func TestRBACRoleDefinitionsEditable(t *testing.T) {
	env := apptest.New(t)
	ctx := context.Background()
	env.Domain("sales")
	admin := adminClients(env)
	gov := env.Clients(apptest.ProtocolConnect, env.User("greta", "governance-officer", "*"))
	owner := env.Clients(apptest.ProtocolConnect, env.User("olga", "domain-owner", "sales"))
	viewer := env.Clients(apptest.ProtocolConnect, env.User("vera", "viewer", "sales"))
	adaTok := env.User("ada", "", "")
	ada := env.Clients(apptest.ProtocolConnect, adaTok)
	if _, err := owner.Catalog.CreateDataProduct(ctx, connect.NewRequest(&v1.CreateDataProductRequest{Domain: "sales", Name: "orders", Spec: apptest.ProductSpec()})); err != nil {
		t.Fatal(err)
	}
	readAudit := func(c apptest.Clients) []*v1.AuditEvent {
		t.Helper()
		res, err := c.Audit.ListAuditEvents(ctx, connect.NewRequest(&v1.ListAuditEventsRequest{PageSize: 500}))
		if err != nil {
			t.Fatalf("listing audit events: %v", err)
		}
		return res.Msg.GetEvents()
	}

	start, err := gov.Policy.GetRBACPolicy(ctx, connect.NewRequest(&v1.GetRBACPolicyRequest{}))
	if err != nil {
		t.Fatalf("reading role definitions: %v", err)
	}
	if !strings.Contains(start.Msg.GetText(), "p, role:platform-admin, *, *") || start.Msg.GetVersion() < 1 ||
		!slices.Contains(start.Msg.GetRoles(), "viewer") || slices.Contains(start.Msg.GetRoles(), "auditor") {
		t.Fatalf("role definitions at start: version %d, roles %v", start.Msg.GetVersion(), start.Msg.GetRoles())
	}
	_, err = admin.Identity.CreateRoleBinding(ctx, connect.NewRequest(&v1.CreateRoleBindingRequest{Principal: "ada", Role: "auditor", Domain: "*"}))
	wantPaths(t, "binding an undefined role", wantError(t, "binding an undefined role", err, connect.CodeInvalidArgument, ""), "role")
	if evs := readAudit(ada); len(evs) != 0 {
		t.Fatalf("ada sees %d audit events before holding any role", len(evs))
	}

	// Domain owners may neither read nor change role definitions.
	_, err = owner.Policy.GetRBACPolicy(ctx, connect.NewRequest(&v1.GetRBACPolicyRequest{}))
	wantError(t, "an owner reading role definitions", err, connect.CodePermissionDenied, "")
	_, err = owner.Policy.UpdateRBACPolicy(ctx, connect.NewRequest(&v1.UpdateRBACPolicyRequest{
		Text: start.Msg.GetText() + "\np, role:domain-owner, rbac, *\n", Version: start.Msg.GetVersion()}))
	wantError(t, "an owner updating role definitions", err, connect.CodePermissionDenied, "")

	// An auditor role that reads the audit log, and nothing else.
	withAuditor := start.Msg.GetText() + "\n# auditor: reads the audit log.\np, role:auditor, audit, read\n"
	upd, err := gov.Policy.UpdateRBACPolicy(ctx, connect.NewRequest(&v1.UpdateRBACPolicyRequest{Text: withAuditor, Version: start.Msg.GetVersion()}))
	if err != nil {
		t.Fatalf("adding the auditor role: %v", err)
	}
	if upd.Msg.GetVersion() != start.Msg.GetVersion()+1 || upd.Msg.GetText() != withAuditor || !slices.Contains(upd.Msg.GetRoles(), "auditor") {
		t.Fatalf("after adding auditor: version %d, roles %v", upd.Msg.GetVersion(), upd.Msg.GetRoles())
	}
	if _, err := admin.Identity.CreateRoleBinding(ctx, connect.NewRequest(&v1.CreateRoleBindingRequest{Principal: "ada", Role: "auditor", Domain: "*"})); err != nil {
		t.Fatalf("binding ada to auditor: %v", err)
	}
	seen := map[string]bool{}
	for _, e := range readAudit(ada) {
		seen[e.GetAction()] = true
	}
	if !seen["policy.UpdateRBAC"] || !seen["catalog.CreateDataProduct"] || !seen["identity.CreateRoleBinding"] {
		t.Errorf("the auditor should see global and domain events; sees %v", slices.Sorted(maps.Keys(seen)))
	}
	_, err = ada.Catalog.GetDataProduct(ctx, connect.NewRequest(&v1.GetDataProductRequest{Domain: "sales", Name: "orders"}))
	wantError(t, "the auditor reading a product", err, connect.CodeNotFound, "")
	_, err = ada.Policy.GetRBACPolicy(ctx, connect.NewRequest(&v1.GetRBACPolicyRequest{}))
	wantError(t, "the auditor reading role definitions", err, connect.CodePermissionDenied, "")

	// Refused changes change nothing: not the text, not the version, not a
	// single decision — though each would have taken the viewer's read right.
	noViewerRead := rbacLines(withAuditor, "p, role:viewer, product, read")
	malformed := noViewerRead + "p, role:auditor, audit\n"
	badLine := len(strings.Split(strings.TrimSuffix(malformed, "\n"), "\n"))
	refusals := []struct {
		step, text string
		path, says string
	}{
		{"a malformed line", malformed, fmt.Sprintf("policy.lines[%d]", badLine), `want "p, role:NAME, OBJECT, ACTION"`},
		{"an unknown action", noViewerRead + "p, role:auditor, audit, erase\n", fmt.Sprintf("policy.lines[%d]", badLine), `unknown action "erase"`},
		{"dropping platform-admin's rule", rbacLines(noViewerRead, "p, role:platform-admin, *, *"), "policy", "platform-admin"},
		{"dropping a bound role", rbacLines(noViewerRead, "p, role:auditor, audit, read"), "policy", `role "auditor" is not defined, but role bindings use it`},
	}
	for _, r := range refusals {
		_, err := gov.Policy.UpdateRBACPolicy(ctx, connect.NewRequest(&v1.UpdateRBACPolicyRequest{Text: r.text, Version: upd.Msg.GetVersion()}))
		got := wantError(t, r.step, err, connect.CodeInvalidArgument, "")
		if wantPaths(t, r.step, got, r.path); !strings.Contains(got[r.path], r.says) {
			t.Errorf("%s: %s says %q, want %q", r.step, r.path, got[r.path], r.says)
		}
	}
	_, err = gov.Policy.UpdateRBACPolicy(ctx, connect.NewRequest(&v1.UpdateRBACPolicyRequest{Text: noViewerRead, Version: start.Msg.GetVersion()}))
	wantError(t, "updating a stale version", err, connect.CodeAborted, "VERSION_CONFLICT")

	now, err := gov.Policy.GetRBACPolicy(ctx, connect.NewRequest(&v1.GetRBACPolicyRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	if now.Msg.GetVersion() != upd.Msg.GetVersion() || now.Msg.GetText() != withAuditor || !slices.Equal(now.Msg.GetRoles(), upd.Msg.GetRoles()) {
		t.Errorf("refused changes changed the role definitions: version %d, roles %v", now.Msg.GetVersion(), now.Msg.GetRoles())
	}
	if _, err := viewer.Catalog.GetDataProduct(ctx, connect.NewRequest(&v1.GetDataProductRequest{Domain: "sales", Name: "orders"})); err != nil {
		t.Errorf("the viewer lost product read to a refused change: %v", err)
	}
	if evs := readAudit(ada); len(evs) == 0 {
		t.Error("the auditor lost audit read to a refused change")
	}

	// Through GraphQL a malformed line is refused at the same path.
	r := env.GraphQL(env.AdminToken, `mutation($in: UpdateRbacPolicyInput!) { updateRbacPolicy(input: $in) { rbacPolicy { version } } }`,
		map[string]any{"in": map[string]any{"text": malformed, "version": upd.Msg.GetVersion()}})
	if len(r.Errors) != 1 || r.Errors[0].Extensions.Code != "INVALID_ARGUMENT" || len(r.Errors[0].Extensions.Fields) != 1 ||
		r.Errors[0].Extensions.Fields[0].Path != fmt.Sprintf("policy.lines[%d]", badLine) {
		t.Errorf("graphql updateRbacPolicy with a malformed line: %+v", r.Errors)
	}

	// Only the one accepted change is in the audit log.
	var changes []*v1.AuditEvent
	for _, e := range auditEvents(t, env, &v1.ListAuditEventsRequest{ResourceType: "rbac"}) {
		if e.GetAction() == "policy.UpdateRBAC" {
			changes = append(changes, e)
		}
	}
	if len(changes) != 1 || changes[0].GetActor() != "greta" || !strings.Contains(changes[0].GetAfter(), "role:auditor") ||
		strings.Contains(changes[0].GetBefore(), "role:auditor") {
		t.Errorf("policy.UpdateRBAC events = %v", changes)
	}

	// The definitions are stored: a restarted server puts them in force again.
	restarted := restart(t, env)
	back, err := restarted.Clients(apptest.ProtocolConnect, restarted.AdminToken).Policy.GetRBACPolicy(ctx, connect.NewRequest(&v1.GetRBACPolicyRequest{}))
	if err != nil || back.Msg.GetText() != withAuditor || back.Msg.GetVersion() != upd.Msg.GetVersion() || !slices.Contains(back.Msg.GetRoles(), "auditor") {
		t.Fatalf("role definitions after a restart: %v, %v", back, err)
	}
	if evs := readAudit(restarted.Clients(apptest.ProtocolConnect, adaTok)); len(evs) == 0 {
		t.Error("the auditor cannot read the audit log after a restart")
	}
}

// restart closes env's server and starts another on the same data
// directory and database.
func restart(t *testing.T, env *apptest.Env) *apptest.Env {
	t.Helper()
	env.Server.Close()
	srv, err := app.New(context.Background(), app.Config{DataDir: env.DataDir, DatabaseURL: env.DatabaseURL,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), AutoMigrate: true, ToolsDir: apptest.ToolsDir(), Workers: 1})
	if err != nil {
		t.Fatalf("restarting meshplane: %v", err)
	}
	t.Cleanup(srv.Close)
	hs := httptest.NewUnstartedServer(srv.Handler)
	hs.EnableHTTP2 = true
	hs.StartTLS()
	t.Cleanup(hs.Close)
	return &apptest.Env{T: t, Server: srv, HTTP: hs, AdminToken: env.AdminToken, Dialect: env.Dialect, DataDir: env.DataDir, DatabaseURL: env.DatabaseURL}
}

// previewRecords are what the customers topic holds, oldest first: filler
// customers, then alice twice (once with a field the port does not
// declare) and bob in a Debezium envelope.
func previewRecords(topic string) []*kgo.Record {
	var recs []*kgo.Record
	add := func(key, value string) {
		recs = append(recs, &kgo.Record{Topic: topic, Key: []byte(key), Value: []byte(value)})
	}
	for i := range 9 {
		add(fmt.Sprintf(`{"customer_id":%d}`, 100+i), fmt.Sprintf(`{"customer_id":%d,"email":"filler%d@example.com"}`, 100+i, i))
	}
	add(`{"customer_id":1}`, `{"customer_id":1,"email":"alice@example.com","secret_note":"vip-alice"}`)
	add(`{"customer_id":2}`, `{"customer_id":2,"email":"alice@example.com"}`)
	add(`{"customer_id":3}`, `{"before":null,"after":{"customer_id":3,"email":"bob@example.com","secret_note":"vip-bob"},"source":{"db":"orders","table":"customers"},"op":"c","ts_ms":1700000000000}`)
	return recs
}

// rawEmails are every email the topic holds.
func rawEmails() []string {
	out := []string{"alice@example.com", "bob@example.com"}
	for i := range 9 {
		out = append(out, fmt.Sprintf("filler%d@example.com", i))
	}
	return out
}

// previewValue returns the decoded value of the record whose key has id.
func previewValue(t *testing.T, recs []*v1.PreviewRecord, id int) (map[string]any, *v1.PreviewRecord) {
	t.Helper()
	for _, r := range recs {
		if r.GetKey() == fmt.Sprintf(`{"customer_id":%d}`, id) {
			var v map[string]any
			if err := json.Unmarshal([]byte(r.GetValue()), &v); err != nil {
				t.Fatalf("record %d value %q: %v", id, r.GetValue(), err)
			}
			return v, r
		}
	}
	t.Fatalf("no record with customer_id %d among %d", id, len(recs))
	return nil, nil
}

// TestPortPreviewMasksForViewer reads a port's topic on the sandbox through
// GetPortPreview: viewers see PII as stable pseudonyms and undeclared fields
// not at all, owners see raw values and are audited for it, and other
// domains see nothing.
func TestPortPreviewMasksForViewer(t *testing.T) {
	env := apptest.New(t)
	ctx := context.Background()
	env.Domain("sales")
	env.Domain("hr")
	ownerTok := env.User("olga", "domain-owner", "sales")
	viewerTok := env.User("vera", "viewer", "sales")
	owner := env.Clients(apptest.ProtocolConnect, ownerTok)
	viewer := env.Clients(apptest.ProtocolConnect, viewerTok)
	stranger := env.Clients(apptest.ProtocolConnect, env.User("hank", "viewer", "hr"))
	if _, err := owner.Catalog.CreateDataProduct(ctx, connect.NewRequest(&v1.CreateDataProductRequest{Domain: "sales", Name: "orders", Spec: apptest.ProductSpec()})); err != nil {
		t.Fatal(err)
	}

	const topic = "sales.orders.customers.v1"
	cl := mustKgo(t, env)
	created, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, topic)
	if err == nil {
		err = created.Err
	}
	if err != nil {
		t.Fatalf("creating %s: %v", topic, err)
	}
	if err := cl.ProduceSync(ctx, previewRecords(topic)...).FirstErr(); err != nil {
		t.Fatalf("producing to %s: %v", topic, err)
	}
	preview := func(c apptest.Clients, limit int32) (*v1.GetPortPreviewResponse, error) {
		res, err := c.Catalog.GetPortPreview(ctx, connect.NewRequest(&v1.GetPortPreviewRequest{Domain: "sales", Product: "orders", Port: "customers", Limit: limit}))
		if err != nil {
			return nil, err
		}
		return res.Msg, nil
	}

	// A viewer: ten records by default, pii pseudonymised, undeclared fields gone.
	vp, err := preview(viewer, 0)
	if err != nil {
		t.Fatalf("viewer preview: %v", err)
	}
	if vp.GetRawPii() || vp.GetTopic() != topic || len(vp.GetRecords()) != 10 {
		t.Fatalf("viewer preview: raw_pii=%v topic=%s records=%d", vp.GetRawPii(), vp.GetTopic(), len(vp.GetRecords()))
	}
	if first := vp.GetRecords()[0].GetOffset(); first != 2 {
		t.Errorf("the default preview starts at offset %d, want the newest ten (from 2)", first)
	}
	alice1, rec := previewValue(t, vp.GetRecords(), 1)
	pseudonym, _ := alice1["email"].(string)
	if !strings.HasPrefix(pseudonym, "hmac-sha256:") || alice1["customer_id"] != float64(1) {
		t.Errorf("alice's first record for a viewer = %v", alice1)
	}
	if _, ok := alice1["secret_note"]; ok {
		t.Errorf("the undeclared secret_note reached a viewer: %v", alice1)
	}
	if m := rec.GetMaskedFields(); !slices.Contains(m, "email") || !slices.Contains(m, "secret_note") {
		t.Errorf("masked fields = %v", m)
	}
	alice2, _ := previewValue(t, vp.GetRecords(), 2)
	if alice2["email"] != pseudonym {
		t.Errorf("the same email got two pseudonyms: %v and %v", pseudonym, alice2["email"])
	}
	bob, _ := previewValue(t, vp.GetRecords(), 3)
	after, _ := bob["after"].(map[string]any)
	if bob["op"] != "c" || after == nil || after["customer_id"] != float64(3) {
		t.Fatalf("bob's envelope for a viewer = %v", bob)
	}
	if e, _ := after["email"].(string); !strings.HasPrefix(e, "hmac-sha256:") || e == pseudonym {
		t.Errorf("bob's email for a viewer = %q (alice's is %q)", e, pseudonym)
	}
	if _, ok := after["secret_note"]; ok {
		t.Errorf("the undeclared secret_note inside an envelope reached a viewer: %v", after)
	}

	// No raw email anywhere in what the viewer receives.
	body, _ := json.Marshal(map[string]any{"domain": "sales", "product": "orders", "port": "customers", "limit": 100})
	req, _ := http.NewRequest(http.MethodPost, env.HTTP.URL+"/meshplane.v1.CatalogService/GetPortPreview", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+viewerTok)
	resp, err := env.HTTP.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	wire, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(wire, []byte("hmac-sha256:")) {
		t.Fatalf("viewer preview over JSON: %d %s", resp.StatusCode, wire)
	}
	for _, e := range append(rawEmails(), "vip-alice", "vip-bob") {
		if bytes.Contains(wire, []byte(e)) {
			t.Errorf("the viewer's response holds %q", e)
		}
	}
	if n := len(auditEvents(t, env, &v1.ListAuditEventsRequest{ResourceType: "port"})); n != 0 {
		t.Errorf("masked previews were audited as raw reads: %d events", n)
	}

	// The same through GraphQL.
	g := env.GraphQL(viewerTok, `query($d: String!, $p: String!, $port: String!) {
		portPreview(domain: $d, product: $p, port: $port) { topic rawPii records { offset key value maskedFields } } }`,
		map[string]any{"d": "sales", "p": "orders", "port": "customers"})
	if len(g.Errors) != 0 {
		t.Fatalf("graphql portPreview: %+v", g.Errors)
	}
	gp := decode[struct {
		PortPreview struct {
			Topic   string
			RawPii  bool
			Records []struct {
				Offset       int64
				Key, Value   string
				MaskedFields []string
			}
		}
	}](g).PortPreview
	if gp.Topic != topic || gp.RawPii || len(gp.Records) != 10 {
		t.Fatalf("graphql preview: topic %s, rawPii %v, %d records", gp.Topic, gp.RawPii, len(gp.Records))
	}
	for _, r := range gp.Records {
		if r.Key == `{"customer_id":1}` && (!strings.Contains(r.Value, `"email":"`+pseudonym+`"`) || !slices.Contains(r.MaskedFields, "secret_note")) {
			t.Errorf("graphql: alice's record = %s masked %v", r.Value, r.MaskedFields)
		}
	}
	for _, e := range append(rawEmails(), "vip-alice", "vip-bob") {
		if bytes.Contains(g.Data, []byte(e)) {
			t.Errorf("the viewer's graphql response holds %q", e)
		}
	}

	// The owner may read PII raw, and that read is audited.
	op, err := preview(owner, 3)
	if err != nil {
		t.Fatalf("owner preview: %v", err)
	}
	if !op.GetRawPii() || len(op.GetRecords()) != 3 {
		t.Fatalf("owner preview: raw_pii=%v, %d records", op.GetRawPii(), len(op.GetRecords()))
	}
	raw, _ := previewValue(t, op.GetRecords(), 1)
	if raw["email"] != "alice@example.com" || raw["secret_note"] != "vip-alice" {
		t.Errorf("alice's record for the owner = %v", raw)
	}
	evs := auditEvents(t, env, &v1.ListAuditEventsRequest{ResourceType: "port"})
	if len(evs) != 1 || evs[0].GetAction() != "catalog.PreviewRawPII" || evs[0].GetActor() != "olga" ||
		evs[0].GetResource() != "sales/orders/customers" || evs[0].GetDomain() != "sales" {
		t.Errorf("raw preview audit events = %v", evs)
	}

	// Other domains see nothing; limits are checked; ports without a topic say so.
	_, err = preview(stranger, 0)
	wantError(t, "a viewer of another domain", err, connect.CodeNotFound, "")
	_, err = preview(viewer, 101)
	wantPaths(t, "limit 101", wantError(t, "limit 101", err, connect.CodeInvalidArgument, ""), "limit")
	_, err = viewer.Catalog.GetPortPreview(ctx, connect.NewRequest(&v1.GetPortPreviewRequest{Domain: "sales", Product: "orders", Port: "orders"}))
	wantError(t, "a port without a topic", err, connect.CodeFailedPrecondition, "TOPIC_NOT_FOUND")
}
