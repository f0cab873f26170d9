package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"syscall"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
	"github.com/meshplane/meshplane/api/gen/meshplane/v1/meshplanev1connect"
	"github.com/meshplane/meshplane/server/graph"
)

// targetRefusalCPU bounds the CPU one refused GraphQL request may cost.
const targetRefusalCPU = 50 * time.Millisecond

// limitReps is how many times each hostile request is sent; its CPU is the
// process's over all of them, divided.
const limitReps = 20

// limitCase is one hostile (or, for comparison, admitted) GraphQL request.
type limitCase struct {
	name   string
	body   []byte
	status int    // the status it must be answered with
	code   string // the code of its one error; "" for none
}

// benchGraphQLLimits sends a viewer's hostile GraphQL requests — huge flat
// selections, the same through a fragment, repeated and aliased listings,
// introspection and chain checks under many aliases, deep nesting, fragment
// bombs and cycles, oversized and malformed bodies — and prints for each the
// answer and the CPU time it cost. Client and server share this process and
// nothing else runs in it, so the CPU per request is the server's plus the
// loopback client's, which the baseline row measures.
func benchGraphQLLimits(ctx context.Context, c config, rep *report, progress func(string, ...any)) error {
	e, err := start(ctx)
	if err != nil {
		return err
	}
	defer e.close()
	admin := meshplanev1connect.NewCatalogServiceClient(h2cClient(), e.url, bearer(e.adminToken))
	if _, err := admin.CreateDomain(ctx, connect.NewRequest(&v1.CreateDomainRequest{Name: "shop", Description: "the web shop"})); err != nil {
		return fmt.Errorf("creating a domain: %w", err)
	}
	viewer, err := e.user(ctx, "limits-viewer", "viewer", "shop")
	if err != nil {
		return err
	}
	cases, err := limitCases()
	if err != nil {
		return err
	}
	hc := h2cClient()
	post := func(body []byte) (status int, code string, size int, err error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url+"/graphql", bytes.NewReader(body))
		if err != nil {
			return 0, "", 0, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+viewer)
		res, err := hc.Do(req)
		if err != nil {
			return 0, "", 0, err
		}
		defer res.Body.Close()
		var out struct {
			Errors []struct {
				Extensions struct{ Code string } `json:"extensions"`
			} `json:"errors"`
		}
		raw, err := io.ReadAll(res.Body)
		if err != nil {
			return res.StatusCode, "", 0, err
		}
		if err := json.Unmarshal(raw, &out); err != nil {
			return res.StatusCode, "", 0, fmt.Errorf("status %d, not a GraphQL response: %.200s", res.StatusCode, raw)
		}
		if len(out.Errors) > 0 {
			code = out.Errors[0].Extensions.Code
		}
		return res.StatusCode, code, len(raw), nil
	}

	progress("graphql-limits: %d requests, %d times each", len(cases), limitReps)
	var worst time.Duration
	worstName := ""
	for i, lc := range cases {
		status, code, answered, err := post(lc.body) // warm-up, and the answer checked
		if err != nil {
			return fmt.Errorf("%s: %w", lc.name, err)
		}
		ok := status == lc.status && code == lc.code
		runtime.GC()
		cpu0, wall0 := cpuTime(), time.Now()
		for range limitReps {
			if _, _, _, err := post(lc.body); err != nil {
				return fmt.Errorf("%s: %w", lc.name, err)
			}
		}
		cpu, wall := (cpuTime()-cpu0)/limitReps, time.Since(wall0)/limitReps
		answer := fmt.Sprintf("%d %s (%s)", status, code, size(answered))
		target, verdictText := "admitted", "info"
		if lc.code != "" {
			target, verdictText = "CPU <= "+ms(targetRefusalCPU), verdict(cpu <= targetRefusalCPU)
			if cpu > worst {
				worst, worstName = cpu, lc.name
			}
		}
		if !ok {
			verdictText = fmt.Sprintf("WRONG (want %d %s)", lc.status, lc.code)
		}
		rep.add(fmt.Sprintf("8.%d", i+1), fmt.Sprintf("%s (%s)", lc.name, size(len(lc.body))),
			fmt.Sprintf("%-44s %s CPU, %s wall", answer, ms(cpu), ms(wall)), target, verdictText)
	}
	rep.add("8", "worst refused request: "+worstName, ms(worst)+" CPU", "CPU <= "+ms(targetRefusalCPU), verdict(worst <= targetRefusalCPU))
	rep.note("8: CPU is this process's user+system time (getrusage) over %d sends of each request, divided; it includes the loopback HTTP/2 client, whose share the `{ __typename }` row shows. Before these limits, 10,000 __typename cost 12–18 s of CPU, 3,000 repeated listings 9.5 s, and 20 __schema aliases answered 12.7 MB.", limitReps)
	return nil
}

// cpuTime is the CPU this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func size(n int) string {
	if n < 10<<10 {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%d KiB", n>>10)
}

// limitCases builds the requests of the phase.
func limitCases() ([]limitCase, error) {
	rep, aliases := strings.Repeat, func(n int, field string) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "a%d: %s ", i, field)
		}
		return b.String()
	}
	var bomb, chain, frags, vars, uses strings.Builder
	bomb.WriteString("{ ...F0 }")
	for i := range 40 {
		fmt.Fprintf(&bomb, " fragment F%d on Query { ...F%d ...F%d }", i, i+1, i+1)
	}
	bomb.WriteString(" fragment F40 on Query { __typename }")
	chain.WriteString(`{ __type(name: "Query") { ...F0 } }`)
	for i := range 40 {
		fmt.Fprintf(&chain, " fragment F%d on __Type { ofType { ...F%d } }", i, i+1)
	}
	chain.WriteString(" fragment F40 on __Type { name }")
	frags.WriteString("{ ")
	for i := range 500 {
		fmt.Fprintf(&frags, "...F%d ", i)
	}
	frags.WriteString("}")
	for i := range 500 {
		fmt.Fprintf(&frags, " fragment F%d on Query { __typename }", i)
	}
	for i := range 1400 {
		fmt.Fprintf(&vars, "$v%d:Boolean ", i)
		if i < 450 {
			fmt.Fprintf(&uses, "@skip(if:$v%d)", i)
		}
	}
	// The widest admitted shapes: 32 fragments merging one listing into a
	// set (93 repeated fields), and 47 repeats of one field.
	var merged strings.Builder
	merged.WriteString("{ domains { nodes { ")
	for i := range 32 {
		fmt.Fprintf(&merged, "...G%d ", i)
	}
	merged.WriteString("} } }")
	for i := range 32 {
		fmt.Fprintf(&merged, " fragment G%d on Domain { products(first: 1) { nodes { name } } }", i)
	}

	type q struct {
		name, query string
		vars        map[string]any
		status      int
		code        string
	}
	qs := []q{
		{"baseline { __typename }", "{ __typename }", nil, 200, ""},
		{"10,000 __typename", "{ " + rep("__typename ", 10_000) + "}", nil, 400, graph.CodeQueryTooLarge},
		{"10,000 __typename in a fragment", "{ ...F } fragment F on Query { " + rep("__typename ", 10_000) + "}", nil, 400, graph.CodeQueryTooLarge},
		{"2,900 __typename", "{ " + rep("__typename ", 2_900) + "}", nil, 400, graph.CodeQueryTooComplex},
		{"2,900 __typename in a fragment", "{ ...F } fragment F on Query { " + rep("__typename ", 2_900) + "}", nil, 400, graph.CodeQueryTooComplex},
		{"150 __typename in one set", "{ " + rep("__typename ", 150) + "}", nil, 400, graph.CodeQueryTooComplex},
		{"a fragment spread 2,900 times", "{ " + rep("...F ", 2_900) + "} fragment F on Query { __typename }", nil, 400, graph.CodeQueryTooComplex},
		{"3,000 domains { nodes { name } }", "{ " + rep("domains { nodes { name } } ", 3_000) + "}", nil, 400, graph.CodeQueryTooLarge},
		{"1,100 domains { nodes { name } }", "{ " + rep("domains { nodes { name } } ", 1_100) + "}", nil, 400, graph.CodeQueryTooComplex},
		{"40 domains { nodes { name } }", "{ " + rep("domains { nodes { name } } ", 40) + "}", nil, 400, graph.CodeQueryTooComplex},
		{"3,000 aliases of domains", "{ " + aliases(3_000, "domains { nodes { name } }") + "}", nil, 400, graph.CodeQueryTooLarge},
		{"900 aliases of domains", "{ " + aliases(900, "domains { nodes { name } }") + "}", nil, 400, graph.CodeQueryTooComplex},
		{"150 aliases of __typename", "{ " + aliases(150, "__typename") + "}", nil, 400, graph.CodeQueryTooComplex},
		{"50 KiB of __schema aliases", "{ " + aliases(600, "__schema { types { name description fields { name description type { name kind } } } }") + "}", nil, 400, graph.CodeQueryTooLarge},
		{"40 aliases of a full __schema", "{ " + aliases(40, "__schema { types { name description fields { name description type { name kind } } } }") + "}", nil, 422, graph.CodeComplexityLimit},
		{"20 aliases of __schema", "{ " + aliases(20, "__schema { types { name fields { name } } }") + "}", nil, 422, graph.CodeComplexityLimit},
		{"99 aliases of __type", "{ " + aliases(99, `__type(name: "DataProduct") { name fields { name } }`) + "}", nil, 422, graph.CodeComplexityLimit},
		{"2 aliases of verifyAuditLog", "{ " + aliases(2, "verifyAuditLog { ok }") + "}", nil, 422, graph.CodeComplexityLimit},
		{"nested pages of 500", "{ domains(first: 500) { nodes { products(first: 500) { nodes { name } } } } }", nil, 422, graph.CodeComplexityLimit},
		{"nesting 60 deep", `{ __type(name: "Query") ` + rep("{ ofType ", 60) + "{ name }" + rep(" }", 61), nil, 400, graph.CodeQueryTooComplex},
		{"nesting 40 deep through fragments", chain.String(), nil, 400, graph.CodeQueryTooComplex},
		{"fragment bomb (2^40 fields)", bomb.String(), nil, 400, graph.CodeQueryTooComplex},
		{"fragment cycle", "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }", nil, 400, graph.CodeValidationFailed},
		{"500 fragments", frags.String(), nil, 400, graph.CodeQueryTooComplex},
		{"30 operations", rep("query { __typename } ", 30), nil, 400, graph.CodeQueryTooComplex},
		{"10,800 tokens of directives", `{ domain(name: "x") { name ` + rep("@skip(if: false) ", 1_800) + "} }", nil, 400, graph.CodeQueryTooLarge},
		{"1,400 variables, most unused", "query(" + vars.String() + "){ __typename " + uses.String() + "}", nil, 422, "GRAPHQL_VALIDATION_FAILED"},
		{"1,400 directives on one field", "{ __typename " + rep("@skip(if: false)", 1_400) + "}", nil, 422, "GRAPHQL_VALIDATION_FAILED"},
		{"500 KiB of variables refused by the service", `mutation($in: CreateDomainInput!) { createDomain(input: $in) { domain { name } } }`,
			map[string]any{"in": map[string]any{"name": "padded", "description": rep("x", 500<<10)}}, 200, "INVALID_ARGUMENT"},
		{"introspection query", introspection, nil, 200, ""},
		{"32 fragments merged into one set", merged.String(), nil, 200, ""},
		{"47 repeats of one field", `{ __type(name: "Query") { ` + rep("name ", 47) + "} }", nil, 200, ""},
		{"4 aliases of __schema", "{ " + aliases(4, "__schema { types { name fields { name } } }") + "}", nil, 200, ""},
	}
	var out []limitCase
	for _, x := range qs {
		body, err := json.Marshal(map[string]any{"query": x.query, "variables": x.vars})
		if err != nil {
			return nil, err
		}
		out = append(out, limitCase{name: x.name, body: body, status: x.status, code: x.code})
	}
	pad, err := json.Marshal(map[string]any{"query": "{ __typename }", "variables": map[string]any{"pad": rep("x", 600<<10)}})
	if err != nil {
		return nil, err
	}
	out = append(out,
		limitCase{name: "600 KiB body", body: pad, status: 413, code: graph.CodeRequestTooLarge},
		limitCase{name: "invalid UTF-8 in variables", body: []byte(`{"query":"mutation($in: CreateDomainInput!) { createDomain(input: $in) { domain { name } } }","variables":{"in":{"name":"bad","description":"caf` + "\xe9" + `"}}}`), status: 400, code: graph.CodeInvalidUTF8},
	)
	return out, nil
}

// introspection is the query GraphQL tools send to learn a schema.
const introspection = `query IntrospectionQuery {
  __schema {
    queryType { name kind } mutationType { name kind } subscriptionType { name kind }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { name kind ofType { name kind ofType { name kind ofType { name kind ofType { name kind
    ofType { name kind ofType { name kind ofType { name kind ofType { name kind } } } } } } } } }
}`
