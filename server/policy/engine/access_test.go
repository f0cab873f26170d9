package engine_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/meshplane/meshplane/server/policy/engine"
)

const day = 24 * time.Hour

// accessPort is a port of domain/product/name with one string field per
// classification.
func accessPort(domain, product, name string, classes ...string) engine.AccessPort {
	p := engine.AccessPort{
		Domain: domain, Product: product, Port: name,
		Topic:     fmt.Sprintf("%s.%s.%s.v1", domain, product, name),
		Lifecycle: "active", Owner: "team-" + domain + "@example.com",
		Labels: map[string]string{"tier": "gold"},
	}
	for i, c := range classes {
		p.Fields = append(p.Fields, engine.AccessField{Name: fmt.Sprintf("field_%d", i), Classification: c})
	}
	return p
}

// accessRequest asks, for marketing's reporter, for the given ports.
func accessRequest(ports ...engine.AccessPort) engine.AccessRequest {
	return engine.AccessRequest{
		Consumer:        engine.AccessPrincipal{Name: "reporter", Domain: "marketing", Kind: "service-account"},
		Requester:       engine.AccessPrincipal{Name: "alice", Kind: "user"},
		Purpose:         "weekly churn report",
		DurationSeconds: int64(30 * day / time.Second),
		GroupPrefix:     "marketing.reporter.",
		Ports:           ports,
	}
}

// approverKeys writes approvers as "role/domain", in order.
func approverKeys(as []engine.Approver) []string {
	keys := make([]string, len(as))
	for i, a := range as {
		keys[i] = a.Role + "/" + a.Domain
	}
	return keys
}

const (
	owner   = engine.ApproverDomainOwner
	officer = engine.ApproverGovernanceOfficer
)

// TestDefaultAccess runs each rule of the default access policy through
// the engine.
func TestDefaultAccess(t *testing.T) {
	plain := accessPort("sales", "orders", "orders", "none", "internal")
	tests := []struct {
		name      string
		consumer  string // the consumer's domain; marketing when empty
		ports     []engine.AccessPort
		approved  bool // sales/orders/orders may publish raw pii
		approvers []string
		maxDays   int
		auto      bool
	}{
		{name: "plain port of another domain", ports: []engine.AccessPort{plain}, approvers: []string{owner + "/sales"}, maxDays: 90},
		{name: "pii port", ports: []engine.AccessPort{accessPort("sales", "orders", "customers", "none", "pii")},
			approvers: []string{owner + "/sales", officer + "/"}, maxDays: 30},
		{name: "sensitive port", ports: []engine.AccessPort{accessPort("sales", "orders", "payments", "sensitive")},
			approvers: []string{owner + "/sales", officer + "/"}, maxDays: 30},
		{name: "unclassified field", ports: []engine.AccessPort{accessPort("sales", "orders", "notes", "none", "")},
			approvers: []string{owner + "/sales", officer + "/"}, maxDays: 30},
		{name: "port approved for raw pii", ports: []engine.AccessPort{plain}, approved: true,
			approvers: []string{owner + "/sales", officer + "/"}, maxDays: 30},
		{name: "raw pii approved for another port", ports: []engine.AccessPort{accessPort("sales", "orders", "lines", "none")}, approved: true,
			approvers: []string{owner + "/sales"}, maxDays: 90},
		{name: "bundle of two products in two domains",
			ports:     []engine.AccessPort{plain, accessPort("crm", "customers", "customers", "none", "pii")},
			approvers: []string{owner + "/crm", owner + "/sales", officer + "/"}, maxDays: 30},
		{name: "two ports of one domain", ports: []engine.AccessPort{plain, accessPort("sales", "orders", "lines", "none")},
			approvers: []string{owner + "/sales"}, maxDays: 90},
		{name: "same domain, plain ports", consumer: "sales",
			ports:     []engine.AccessPort{plain, accessPort("sales", "returns", "returns", "internal")},
			approvers: []string{owner + "/sales"}, maxDays: 90, auto: true},
		{name: "same domain, pii port", consumer: "sales", ports: []engine.AccessPort{accessPort("sales", "orders", "customers", "pii")},
			approvers: []string{owner + "/sales", officer + "/"}, maxDays: 30},
		{name: "same domain, unclassified field", consumer: "sales", ports: []engine.AccessPort{accessPort("sales", "orders", "notes", "")},
			approvers: []string{owner + "/sales", officer + "/"}, maxDays: 30},
		{name: "same domain, port approved for raw pii", consumer: "sales", ports: []engine.AccessPort{plain}, approved: true,
			approvers: []string{owner + "/sales", officer + "/"}, maxDays: 30},
		{name: "plain ports, one in another domain", consumer: "sales",
			ports:     []engine.AccessPort{plain, accessPort("crm", "customers", "regions", "none")},
			approvers: []string{owner + "/crm", owner + "/sales"}, maxDays: 90},
	}
	defaultEngine, approvedEngine := engine.NewEngine(defaults(t)), engine.NewEngine(approvedSet(t))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := accessRequest(tt.ports...)
			if tt.consumer != "" {
				r.Consumer.Domain = tt.consumer
			}
			e, version := defaultEngine, "defaults"
			if tt.approved {
				e, version = approvedEngine, "approved"
			}
			d := e.Access(context.Background(), r)
			if d.FailedClosed || d.Error != "" {
				t.Fatalf("failed closed: %s", d.Error)
			}
			if got := approverKeys(d.Approvers); !slices.Equal(got, tt.approvers) {
				t.Errorf("approvers = %q, want %q", got, tt.approvers)
			}
			if d.MaxDuration != time.Duration(tt.maxDays)*day {
				t.Errorf("MaxDuration = %v, want %d days", d.MaxDuration, tt.maxDays)
			}
			if d.AutoApprove != tt.auto {
				t.Errorf("AutoApprove = %v, want %v", d.AutoApprove, tt.auto)
			}
			for _, a := range d.Approvers {
				if a.Reason == "" {
					t.Errorf("approver %s/%s has no reason", a.Role, a.Domain)
				}
			}
			if d.PolicyVersion != version || len(d.InputDigest) != 64 || d.Duration <= 0 || d.Cached {
				t.Errorf("PolicyVersion %q, InputDigest %q, Duration %v, Cached %v", d.PolicyVersion, d.InputDigest, d.Duration, d.Cached)
			}
		})
	}
}

func TestDefaultAccessReasons(t *testing.T) {
	r := accessRequest(
		accessPort("sales", "orders", "orders", "none", "pii"),
		accessPort("sales", "orders", "lines", "none"),
		accessPort("crm", "customers", "notes", ""),
	)
	d, err := defaults(t).Access(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	want := []engine.Approver{
		{Role: owner, Domain: "crm", Reason: "owner of crm/customers/notes"},
		{Role: owner, Domain: "sales", Reason: "owner of sales/orders/lines, sales/orders/orders"},
		{Role: officer, Reason: "crm/customers/notes has unclassified fields; sales/orders/orders carries pii"},
	}
	if !slices.Equal(d.Approvers, want) {
		t.Errorf("approvers\n %+v\nwant\n %+v", d.Approvers, want)
	}
	if len(d.Reasons) == 0 || !slices.IsSorted(d.Reasons) {
		t.Errorf("reasons = %q, want the policy's notes, sorted", d.Reasons)
	}
}

const validAccess = `package meshplane.access

decision := {
	"approvers": [{"role": "domain-owner", "domain": "sales", "reason": "owner"}],
	"maxDurationSeconds": 86400,
	"autoApprove": false,
}
`

// TestAccessFailsClosed injects broken access policies: each must be
// replaced by meshplane's decision, every owner and a governance officer
// for at most a week, with the reason in Error.
func TestAccessFailsClosed(t *testing.T) {
	decision := func(approvers, maxSeconds, auto string) string {
		return "package meshplane.access\n\ndecision := {\"approvers\": " + approvers + ", \"maxDurationSeconds\": " + maxSeconds + ", \"autoApprove\": " + auto + "}\n"
	}
	salesOwner := `[{"role": "domain-owner", "domain": "sales"}]`
	tests := []struct {
		name, src string
		timeout   time.Duration
		want      error  // wrapped by the error, when not nil
		message   string // in Error
	}{
		{name: "timeout", src: slowModule("meshplane.access", `decision := {"approvers": [], "maxDurationSeconds": 1, "autoApprove": true}`),
			timeout: 50 * time.Millisecond, want: engine.ErrTimeout, message: "timed out"},
		{name: "division by zero", src: decision(salesOwner, "1 / (count(input.request.ports) - count(input.request.ports))", "false"),
			message: "divide by zero"},
		{name: "conflicting outputs", src: "package meshplane.access\n\ndecision := {} if input.request.purpose != \"\"\n\ndecision := {\"a\": 1} if input.request.groupPrefix != \"\"\n",
			message: `produced conflicting values: {} at policy.rego:3 {"a": 1} at policy.rego:5`},
		{name: "package missing", src: validMasking, want: engine.ErrUndefined, message: "does not define data.meshplane.access.decision"},
		{name: "decision missing", src: "package meshplane.access\n\nallow := true\n", want: engine.ErrUndefined, message: "does not define"},
		{name: "decision not an object", src: "package meshplane.access\n\ndecision := [\"domain-owner\"]\n", want: engine.ErrMalformed, message: "decision is array, not an object"},
		{name: "unknown key", src: strings.Replace(validAccess, `"autoApprove"`, `"autoApproved": true, "autoApprove"`, 1), want: engine.ErrMalformed, message: "unknown key"},
		{name: "bad role", src: decision(`[{"role": "manager", "domain": "sales"}]`, "86400", "false"), want: engine.ErrMalformed, message: `role "manager"`},
		{name: "role missing", src: decision(`[{"domain": "sales"}]`, "86400", "false"), want: engine.ErrMalformed, message: `role ""`},
		{name: "owner of a domain not requested", src: decision(`[{"role": "domain-owner", "domain": "hr"}]`, "86400", "false"),
			want: engine.ErrMalformed, message: `domain "hr", which holds none of the requested ports`},
		{name: "owner without a domain", src: decision(`[{"role": "domain-owner"}]`, "86400", "false"), want: engine.ErrMalformed, message: "without a domain"},
		{name: "officer with a domain", src: decision(`[{"role": "governance-officer", "domain": "sales"}]`, "86400", "false"),
			want: engine.ErrMalformed, message: "governance officer with a domain"},
		{name: "approver not an object", src: decision(`["domain-owner"]`, "86400", "false"), want: engine.ErrMalformed, message: "not an object"},
		{name: "reason not a string", src: decision(`[{"role": "governance-officer", "reason": 3}]`, "86400", "false"), want: engine.ErrMalformed, message: "not a string"},
		{name: "approvers not an array", src: decision(`{"role": "governance-officer"}`, "86400", "false"), want: engine.ErrMalformed, message: "approvers is object"},
		{name: "approvers missing", src: "package meshplane.access\n\ndecision := {\"maxDurationSeconds\": 60, \"autoApprove\": true}\n", want: engine.ErrMalformed, message: "approvers is missing"},
		{name: "nobody approves", src: decision(`[]`, "86400", "false"), want: engine.ErrMalformed, message: "nobody could approve"},
		{name: "duration 0", src: decision(salesOwner, "0", "false"), want: engine.ErrMalformed, message: "maxDurationSeconds is 0"},
		{name: "duration negative", src: decision(salesOwner, "-60", "false"), want: engine.ErrMalformed, message: "maxDurationSeconds is -60"},
		{name: "duration over a year", src: decision(salesOwner, "31536001", "false"), want: engine.ErrMalformed, message: "maxDurationSeconds is 31536001"},
		{name: "duration a fraction", src: decision(salesOwner, "1.5", "false"), want: engine.ErrMalformed, message: "maxDurationSeconds is 1.5"},
		{name: "duration a string", src: decision(salesOwner, `"30d"`, "false"), want: engine.ErrMalformed, message: "not an integer"},
		{name: "duration missing", src: "package meshplane.access\n\ndecision := {\"approvers\": [], \"autoApprove\": true}\n", want: engine.ErrMalformed, message: "maxDurationSeconds is missing"},
		{name: "autoApprove not a boolean", src: decision(salesOwner, "60", `"yes"`), want: engine.ErrMalformed, message: "autoApprove is string"},
		{name: "reasons not strings", src: strings.Replace(validAccess, `"autoApprove"`, `"reasons": [1], "autoApprove"`, 1), want: engine.ErrMalformed, message: "not a string"},
	}
	r := accessRequest(accessPort("sales", "orders", "orders", "none"), accessPort("crm", "customers", "customers", "pii"))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := generous
			if tt.timeout > 0 {
				opts.Timeout = tt.timeout
			}
			s, err := engine.Compile(context.Background(), "broken", engine.Files{"policy.rego": tt.src}, opts)
			if err != nil {
				t.Fatal(err)
			}
			d, err := s.Access(context.Background(), r)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if !strings.Contains(d.Error, tt.message) {
				t.Errorf("Error = %q, want %q", d.Error, tt.message)
			}
			if strings.Contains(d.Error, engine.AccessQuery+":") {
				t.Errorf("Error = %q repeats the query", d.Error)
			}
			failedClosedAccess(t, d, "crm", "sales")
			if d.PolicyVersion != "broken" {
				t.Errorf("PolicyVersion = %q", d.PolicyVersion)
			}
			// The engine answers the same, without an error.
			if e := engine.NewEngine(s).Access(context.Background(), r); e.Error != d.Error || !e.FailedClosed || e.Cached {
				t.Errorf("Engine.Access = %+v, want it failed closed as Set.Access", e)
			}
		})
	}
}

// failedClosedAccess checks d is meshplane's own decision: the owner of
// each domain and a governance officer, for at most a week, never
// automatically.
func failedClosedAccess(t *testing.T, d engine.AccessDecision, domains ...string) {
	t.Helper()
	var want []string
	for _, domain := range domains {
		want = append(want, owner+"/"+domain)
	}
	want = append(want, officer+"/")
	if got := approverKeys(d.Approvers); !slices.Equal(got, want) {
		t.Errorf("approvers = %q, want %q", got, want)
	}
	if !d.FailedClosed || d.Error == "" || d.AutoApprove || d.MaxDuration != engine.FailClosedAccessDuration || len(d.Reasons) == 0 {
		t.Errorf("decision = %+v, want failed closed for at most %v", d, engine.FailClosedAccessDuration)
	}
}

// TestAccessOutputsAccepted checks decisions that are valid, if unusual.
func TestAccessOutputsAccepted(t *testing.T) {
	tests := []struct {
		name, decision string
		approvers      []engine.Approver
		max            time.Duration
		auto           bool
	}{{
		name: "duplicates merged and sorted",
		decision: `{"approvers": [
			{"role": "governance-officer", "reason": "pii"},
			{"role": "domain-owner", "domain": "sales", "reason": "b"},
			{"role": "domain-owner", "domain": "crm"},
			{"role": "domain-owner", "domain": "sales", "reason": "a"},
			{"role": "governance-officer", "reason": "pii"},
		], "maxDurationSeconds": 31536000, "autoApprove": false}`,
		approvers: []engine.Approver{{Role: owner, Domain: "crm"}, {Role: owner, Domain: "sales", Reason: "a; b"}, {Role: officer, Reason: "pii"}},
		max:       365 * day,
	}, {
		name:      "approvers as a set",
		decision:  `{"approvers": {{"role": "governance-officer"}}, "maxDurationSeconds": 60, "autoApprove": false, "reasons": {"b", "a"}}`,
		approvers: []engine.Approver{{Role: officer}},
		max:       time.Minute,
	}, {
		name:     "auto-approved without approvers",
		decision: `{"approvers": [], "maxDurationSeconds": 1, "autoApprove": true}`,
		max:      time.Second,
		auto:     true,
	}, {
		name:     "computed duration",
		decision: `{"approvers": [], "maxDurationSeconds": 5184000 / 2, "autoApprove": true}`,
		max:      30 * day,
		auto:     true,
	}, {
		name:      "duration written as a float",
		decision:  `{"approvers": [{"role": "governance-officer"}], "maxDurationSeconds": 2.592e6, "autoApprove": false}`,
		approvers: []engine.Approver{{Role: officer}},
		max:       30 * day,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "package meshplane.access\n\ndecision := " + tt.decision + "\n"
			s := compile(t, engine.Files{"access.rego": src})
			d, err := s.Access(context.Background(), accessRequest(accessPort("sales", "orders", "orders"), accessPort("crm", "customers", "customers")))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(d.Approvers, tt.approvers) || d.MaxDuration != tt.max || d.AutoApprove != tt.auto || d.FailedClosed {
				t.Errorf("decision = %+v\nwant approvers %+v, max %v, auto %v", d, tt.approvers, tt.max, tt.auto)
			}
		})
	}
}

func TestAccessWithoutSetOrContext(t *testing.T) {
	r := accessRequest(accessPort("sales", "orders", "orders", "none"))
	var s *engine.Set
	d, err := s.Access(context.Background(), r)
	if err == nil || !strings.Contains(d.Error, "no policy set") {
		t.Errorf("nil set: Access = %+v, %v; want failed closed", d, err)
	}
	failedClosedAccess(t, d, "sales")
	var e *engine.Engine
	failedClosedAccess(t, e.Access(context.Background(), r), "sales")
	failedClosedAccess(t, engine.NewEngine(nil).Access(context.Background(), r), "sales")

	set := defaults(t)
	if _, err := set.Access(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d, err = set.Access(ctx, r) // decided before, but the caller has given up
	if !errors.Is(err, context.Canceled) || d.Cached {
		t.Errorf("cancelled: Access = %+v, %v; want failed closed with context.Canceled", d, err)
	}
	failedClosedAccess(t, d, "sales")
}

// A cached decision is the same decision, callers cannot change it, and a
// request that differs in any way is decided afresh.
func TestAccessCache(t *testing.T) {
	s := defaults(t)
	ctx := context.Background()
	r := accessRequest(accessPort("sales", "orders", "orders", "none", "pii"))
	d1, err1 := s.Access(ctx, r)
	d1.Approvers[0].Reason = "changed by the caller"
	d2, err2 := s.Access(ctx, r)
	d3, _ := s.Access(ctx, r)
	if err1 != nil || err2 != nil || d1.Cached || !d2.Cached {
		t.Fatalf("first %v cached=%v, second %v cached=%v", err1, d1.Cached, err2, d2.Cached)
	}
	if d2.Approvers[0].Reason != "owner of sales/orders/orders" {
		t.Errorf("a caller changed the cached decision: %+v", d2.Approvers)
	}
	d1.Approvers[0].Reason = d2.Approvers[0].Reason
	d1.Cached, d1.Duration, d3.Duration = true, 0, 0
	if !reflect.DeepEqual(d1, d3) {
		t.Errorf("cached decision differs:\n %+v\n %+v", d1, d3)
	}
	for name, change := range map[string]func(*engine.AccessRequest){
		"purpose":        func(r *engine.AccessRequest) { r.Purpose = "another report" },
		"classification": func(r *engine.AccessRequest) { r.Ports[0].Fields[1].Classification = "internal" },
		"label":          func(r *engine.AccessRequest) { r.Ports[0].Labels = map[string]string{"tier": "silver"} },
		"consumer":       func(r *engine.AccessRequest) { r.Consumer.Domain = "sales" },
		"environment":    func(r *engine.AccessRequest) { r.Environment.Name = "prod" },
		"parameters": func(r *engine.AccessRequest) {
			r.Environment.Parameters = map[string]any{"protected": true}
		},
	} {
		q := accessRequest(accessPort("sales", "orders", "orders", "none", "pii"))
		change(&q)
		if d, _ := s.Access(ctx, q); d.Cached || d.InputDigest == d1.InputDigest {
			t.Errorf("%s changed: answered from the cache", name)
		}
	}
}

// TestAccessInput checks the input document: classifications derived from
// the fields, sorted and distinct, and InputDigest the SHA-256 of the
// document as encoding/json writes it.
func TestAccessInput(t *testing.T) {
	p := accessPort("sales", "orders", "customers", "pii", "none", "", "pii", "sensitive", "none")
	p.Fields[0].Tags = []string{"mask"}
	p.Labels["owner-team"] = "crm \"quoted\" é"
	empty := engine.AccessPort{Domain: "crm", Product: "customers", Port: "regions"}
	r := accessRequest(p, empty)
	r.Purpose = "churn\treport \u2028"
	r.Environment = engine.Environment{Name: "prod", Parameters: map[string]any{"protected": true, "maxRetentionMs": 259200000}}

	input := engine.AccessInput(r)
	classes := func(i int) string {
		t.Helper()
		v, err := input.Value.Find(ast.Ref{ast.StringTerm("request"), ast.StringTerm("ports"), ast.IntNumberTerm(i), ast.StringTerm("classifications")})
		if err != nil {
			t.Fatal(err)
		}
		return v.String()
	}
	if got := classes(0); got != `["", "none", "pii", "sensitive"]` {
		t.Errorf("classifications = %s, want sorted and distinct", got)
	}
	if got := classes(1); got != `[]` {
		t.Errorf("classifications of a port without fields = %s", got)
	}

	fields := func(p engine.AccessPort) []map[string]any {
		fs := []map[string]any{}
		for _, f := range p.Fields {
			tags := f.Tags
			if tags == nil {
				tags = []string{}
			}
			fs = append(fs, map[string]any{"name": f.Name, "classification": f.Classification, "tags": tags})
		}
		return fs
	}
	labels := func(p engine.AccessPort) map[string]string {
		if p.Labels == nil {
			return map[string]string{}
		}
		return p.Labels
	}
	port := func(p engine.AccessPort, classes []string) map[string]any {
		return map[string]any{
			"domain": p.Domain, "product": p.Product, "port": p.Port, "topic": p.Topic,
			"lifecycle": p.Lifecycle, "owner": p.Owner, "labels": labels(p),
			"classifications": classes, "fields": fields(p),
		}
	}
	principal := func(p engine.AccessPrincipal) map[string]any {
		return map[string]any{"name": p.Name, "kind": p.Kind, "domain": p.Domain}
	}
	doc := map[string]any{"request": map[string]any{
		"consumer": principal(r.Consumer), "requester": principal(r.Requester),
		"purpose": r.Purpose, "durationSeconds": r.DurationSeconds, "groupPrefix": r.GroupPrefix,
		"ports": []map[string]any{port(p, []string{"", "none", "pii", "sensitive"}), port(empty, []string{})},
	}, "environment": map[string]any{"name": "prod", "parameters": map[string]any{"protected": true, "maxRetentionMs": 259200000}}}
	want := digestOf(t, doc)
	d, err := defaults(t).Access(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if d.InputDigest != want {
		t.Errorf("InputDigest = %s, want %s", d.InputDigest, want)
	}
	sum := sha256.Sum256(engine.CanonicalJSON(input.Value))
	if got := hex.EncodeToString(sum[:]); got != want {
		t.Errorf("the digest of AccessInput is %s, want %s: the digest does not cover the policy input", got, want)
	}
}
