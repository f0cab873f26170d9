package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
	"github.com/meshplane/meshplane/server/app"
	"github.com/meshplane/meshplane/server/app/apptest"
	"github.com/meshplane/meshplane/server/graph"
)

// refusalView is a GraphQL answer with the extensions of a limit.
type refusalView struct {
	Status int
	Data   json.RawMessage
	Errors []struct {
		Message    string `json:"message"`
		Extensions struct {
			Code  string `json:"code"`
			Limit string `json:"limit"`
			Max   int64  `json:"max"`
			Found int64  `json:"found"`
		} `json:"extensions"`
	}
}

// postRaw posts body to /graphql as token; unsized hides the body's length,
// so it goes chunked.
func postRaw(t *testing.T, env *apptest.Env, token string, body []byte, header map[string]string, unsized bool) refusalView {
	t.Helper()
	var r io.Reader = bytes.NewReader(body)
	if unsized {
		r = io.MultiReader(r)
	}
	req, err := http.NewRequest(http.MethodPost, env.HTTP.URL+"/graphql", r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := env.HTTP.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out refusalView
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("status %d, not a GraphQL response: %v: %.300s", resp.StatusCode, err, raw)
	}
	out.Status = resp.StatusCode
	return out
}

func postQuery(t *testing.T, env *apptest.Env, token, query string, vars map[string]any) refusalView {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	return postRaw(t, env, token, body, nil, false)
}

func aliased(n int, field string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "a%d: %s ", i, field)
	}
	return b.String()
}

// TestGraphQLRefusesHostileQueries sends, as a viewer, each query shape a
// hostile client would use to burn CPU or memory: every one is refused with
// a 4xx and a code naming the limit, and the server goes on answering.
func TestGraphQLRefusesHostileQueries(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.Domain("shop")
	viewer := env.User("hostile-viewer", "viewer", "shop")

	bomb := "{ ...F0 }"
	for i := range 40 {
		bomb += fmt.Sprintf(" fragment F%d on Query { ...F%d ...F%d }", i, i+1, i+1)
	}
	bomb += " fragment F40 on Query { __typename }"
	chain := `{ __type(name: "Query") { ...F0 } }`
	for i := range 30 {
		chain += fmt.Sprintf(" fragment F%d on __Type { ofType { ...F%d } }", i, i+1)
	}
	chain += " fragment F30 on __Type { name }"
	var manyFragments strings.Builder
	manyFragments.WriteString("{ ")
	for i := range 60 {
		fmt.Fprintf(&manyFragments, "...F%d ", i)
	}
	manyFragments.WriteString("}")
	for i := range 60 {
		fmt.Fprintf(&manyFragments, " fragment F%d on Query { __typename }", i)
	}

	for _, c := range []struct {
		name, query string
		status      int
		code, limit string
	}{
		{"10,000 __typename", "{ " + strings.Repeat("__typename ", 10_000) + "}", 400, graph.CodeQueryTooLarge, "queryBytes"},
		{"10,000 __typename in a fragment", "{ ...F } fragment F on Query { " + strings.Repeat("__typename ", 10_000) + "}", 400, graph.CodeQueryTooLarge, "queryBytes"},
		{"2,900 __typename", "{ " + strings.Repeat("__typename ", 2_900) + "}", 400, graph.CodeQueryTooComplex, "selections"},
		{"150 __typename", "{ " + strings.Repeat("__typename ", 150) + "}", 400, graph.CodeQueryTooComplex, "selectionSetWidth"},
		{"a fragment spread 2,000 times", "{ " + strings.Repeat("...F ", 2_000) + "} fragment F on Query { __typename }", 400, graph.CodeQueryTooComplex, "selections"},
		{"3,000 domains", "{ " + strings.Repeat("domains { nodes { name } } ", 3_000) + "}", 400, graph.CodeQueryTooLarge, "queryBytes"},
		{"40 domains", "{ " + strings.Repeat("domains { nodes { name } } ", 40) + "}", 400, graph.CodeQueryTooComplex, "repeatedFields"},
		{"3,000 aliases of domains", "{ " + aliased(3_000, "domains { nodes { name } }") + "}", 400, graph.CodeQueryTooLarge, "queryBytes"},
		{"800 aliases of domains", "{ " + aliased(800, "domains { nodes { name } }") + "}", 400, graph.CodeQueryTooComplex, "selections"},
		{"150 aliases", "{ " + aliased(150, "__typename") + "}", 400, graph.CodeQueryTooComplex, "aliases"},
		{"deep nesting", `{ __type(name: "Query") ` + strings.Repeat("{ ofType ", 40) + "{ name }" + strings.Repeat(" }", 41), 400, graph.CodeQueryTooComplex, "depth"},
		{"deep through fragments", chain, 400, graph.CodeQueryTooComplex, "depth"},
		{"fragment bomb", bomb, 400, graph.CodeQueryTooComplex, "selections"},
		{"fragment cycle", "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }", 400, graph.CodeValidationFailed, ""},
		{"60 fragments", manyFragments.String(), 400, graph.CodeQueryTooComplex, "fragments"},
		{"20 operations", strings.Repeat("query { __typename } ", 20), 400, graph.CodeQueryTooComplex, "operations"},
		{"12,000 tokens", `{ domain(name: "x") { name ` + strings.Repeat("@skip(if: false) ", 1_800) + "} }", 400, graph.CodeQueryTooLarge, "tokens"},
		{"not GraphQL", "{ domains { nodes { name } }", 400, graph.CodeParseFailed, ""},
		// Priced, not scanned: refused after validation, still before any resolver.
		{"20 __schema", "{ " + aliased(20, "__schema { types { name fields { name } } }") + "}", 422, graph.CodeComplexityLimit, "complexity"},
		{"5 __schema", "{ " + aliased(5, "__schema { queryType { name } }") + "}", 422, graph.CodeComplexityLimit, "complexity"},
		{"100 __type", "{ " + aliased(100, `__type(name: "DataProduct") { name }`) + "}", 422, graph.CodeComplexityLimit, "complexity"},
		{"2 chain checks", "{ " + aliased(2, "verifyAuditLog { ok }") + "}", 422, graph.CodeComplexityLimit, "complexity"},
		{"nested pages", "{ domains(first: 500) { nodes { products(first: 500) { nodes { name } } } } }", 422, graph.CodeComplexityLimit, "complexity"},
		{"connectors of a page", "{ dataProducts(first: 20) { nodes { connectors { name } } } }", 422, graph.CodeComplexityLimit, "complexity"},
	} {
		r := postQuery(t, env, viewer, c.query, nil)
		if r.Status != c.status || len(r.Errors) != 1 || r.Errors[0].Extensions.Code != c.code || r.Errors[0].Extensions.Limit != c.limit {
			t.Errorf("%s: status %d, errors %+v; want %d %s (%s)", c.name, r.Status, r.Errors, c.status, c.code, c.limit)
			continue
		}
		if e := r.Errors[0].Extensions; c.limit != "" && (e.Found <= e.Max || !strings.Contains(r.Errors[0].Message, fmt.Sprint(e.Max))) {
			t.Errorf("%s: limit %d, found %d, message %q", c.name, e.Max, e.Found, r.Errors[0].Message)
		}
		if string(r.Data) != "" && string(r.Data) != "null" {
			t.Errorf("%s: data %s beside a refusal", c.name, r.Data)
		}
	}

	// Clients that accept the GraphQL response media type get 400 for a
	// refused operation, as the GraphQL-over-HTTP specification asks.
	body, _ := json.Marshal(map[string]any{"query": "{ " + aliased(2, "verifyAuditLog { ok }") + "}"})
	r := postRaw(t, env, viewer, body, map[string]string{"Accept": "application/graphql-response+json"}, false)
	if r.Status != http.StatusBadRequest || len(r.Errors) != 1 || r.Errors[0].Extensions.Code != graph.CodeComplexityLimit {
		t.Errorf("refused operation as application/graphql-response+json: %d %+v", r.Status, r.Errors)
	}

	// A body over the limit is refused before it is read, sized or chunked.
	big, _ := json.Marshal(map[string]any{"query": "{ __typename }", "variables": map[string]any{"pad": strings.Repeat("x", app.MaxGraphQLBytes)}})
	for _, unsized := range []bool{false, true} {
		r := postRaw(t, env, viewer, big, nil, unsized)
		if r.Status != http.StatusRequestEntityTooLarge || len(r.Errors) != 1 || r.Errors[0].Extensions.Code != graph.CodeRequestTooLarge ||
			r.Errors[0].Extensions.Max != app.MaxGraphQLBytes {
			t.Errorf("oversized body (chunked %v): %d %+v", unsized, r.Status, r.Errors)
		}
	}

	// Still serving, and the limits leave room for what clients send.
	if r := postQuery(t, env, viewer, "{ "+aliased(4, "__schema { queryType { name } }")+"}", nil); r.Status != 200 || len(r.Errors) != 0 {
		t.Errorf("four __schema: %d %+v", r.Status, r.Errors)
	}
	if r := postQuery(t, env, env.AdminToken, "{ verifyAuditLog { ok } auditEvents(first: 100) { nodes { before after } } }", nil); r.Status != 200 || len(r.Errors) != 0 {
		t.Errorf("one chain check: %d %+v", r.Status, r.Errors)
	}
	if r := postQuery(t, env, viewer, introspectionQuery, nil); r.Status != 200 || len(r.Errors) != 0 || !bytes.Contains(r.Data, []byte(`"DataProduct"`)) {
		t.Errorf("introspection: %d %+v", r.Status, r.Errors)
	}
	if r := postQuery(t, env, viewer, "{ "+strings.Repeat("domains { nodes { name } } ", 30)+"}", nil); r.Status != 200 || len(r.Errors) != 0 {
		t.Errorf("30 repeated listings: %d %+v", r.Status, r.Errors)
	}
}

// introspectionQuery is the query GraphQL tools send to learn a schema
// (graphql-js getIntrospectionQuery with its defaults: descriptions, nine
// levels of ofType).
const introspectionQuery = `query IntrospectionQuery {
  __schema {
    queryType { name kind }
    mutationType { name kind }
    subscriptionType { name kind }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) {
    name description
    args { ...InputValue }
    type { ...TypeRef }
    isDeprecated deprecationReason
  }
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

// TestGraphQLRefusesInvalidUTF8 sends text that is not UTF-8, in the query
// and in variables, raw and escaped: each is refused with 400 and nothing is
// written, where before it was stored with U+FFFD in its place. Escaped
// surrogate pairs and a written U+FFFD are text and pass.
func TestGraphQLRefusesInvalidUTF8(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	const create = `mutation($in: CreateDomainInput!) { createDomain(input: $in) { domain { name description } } }`
	for _, c := range []struct{ name, body string }{
		{"raw byte in the query", `{"query":"mutation { createDomain(input: {name: \"raw-query\", description: \"caf` + "\xe9" + `\"}) { domain { name } } }"}`},
		{"raw byte in variables", `{"query":"` + create + `","variables":{"in":{"name":"raw-vars","description":"caf` + "\xc3" + `"}}}`},
		{"lone surrogate escaped in JSON", `{"query":"` + create + `","variables":{"in":{"name":"json-escape","description":"\ud800 alone"}}}`},
		{"low surrogate first in JSON", `{"query":"` + create + `","variables":{"in":{"name":"json-low","description":"\udc00\ud800"}}}`},
		{"surrogate escaped in GraphQL", `{"query":"mutation { createDomain(input: {name: \"gql-escape\", description: \"\\ud83d\\ude00\"}) { domain { name } } }"}`},
	} {
		r := postRaw(t, env, env.AdminToken, []byte(c.body), nil, false)
		if r.Status != http.StatusBadRequest || len(r.Errors) != 1 || r.Errors[0].Extensions.Code != graph.CodeInvalidUTF8 {
			t.Errorf("%s: %d %+v", c.name, r.Status, r.Errors)
		}
	}
	res, err := env.Clients(apptest.ProtocolConnect, env.AdminToken).Catalog.ListDomains(context.Background(), connect.NewRequest(&v1.ListDomainsRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(res.Msg.GetDomains()); n != 0 {
		t.Errorf("refused requests wrote %d domains: %v", n, res.Msg.GetDomains())
	}

	// Text is text, however it is written.
	r := postRaw(t, env, env.AdminToken, []byte(`{"query":"`+create+`","variables":{"in":{"name":"pair","description":"\ud83d\ude00 \ufffd é"}}}`), nil, false)
	var got struct {
		CreateDomain struct{ Domain struct{ Description string } }
	}
	if r.Status != 200 || len(r.Errors) != 0 || json.Unmarshal(r.Data, &got) != nil || got.CreateDomain.Domain.Description != "😀 \ufffd é" {
		t.Errorf("escaped pair, written U+FFFD: %d %+v %s", r.Status, r.Errors, r.Data)
	}
}

// TestGraphQLBoundsResponses asks for more than MaxResponseBytes in one
// query: the answer is a RESPONSE_TOO_LARGE refusal, not the data.
func TestGraphQLBoundsResponses(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.Domain("sales")
	c := env.Clients(apptest.ProtocolConnect, env.AdminToken)
	// Three products with 600 fields of 2,500-character descriptions each:
	// 1.5 MB apiece through Connect, 4.5 MB together.
	for i := range 3 {
		s := proto.Clone(apptest.ProductSpec()).(*v1.DataProductSpec)
		port := s.GetPorts()[0]
		for j := range 600 {
			port.Fields = append(port.Fields, &v1.Field{Name: fmt.Sprintf("f%03d", j), Type: v1.FieldType_FIELD_TYPE_STRING,
				Classification: v1.Classification_CLASSIFICATION_NONE, Description: strings.Repeat("d", 2_500)})
		}
		if _, err := c.Catalog.CreateDataProduct(context.Background(), connect.NewRequest(&v1.CreateDataProductRequest{
			Domain: "sales", Name: fmt.Sprintf("wide-%d", i), Spec: s})); err != nil {
			t.Fatalf("creating a wide product: %v", err)
		}
	}
	r := postQuery(t, env, env.AdminToken, `{ dataProducts { nodes { name ports { fields { name description } } } } }`, nil)
	if r.Status != http.StatusUnprocessableEntity || len(r.Errors) != 1 || r.Errors[0].Extensions.Code != graph.CodeResponseTooLarge ||
		r.Errors[0].Extensions.Found <= graph.MaxResponseBytes {
		t.Errorf("oversized response: %d %+v", r.Status, r.Errors)
	}
	if r := postQuery(t, env, env.AdminToken, `{ dataProducts(first: 2) { nodes { name ports { fields { name description } } } } }`, nil); r.Status != 200 || len(r.Errors) != 0 {
		t.Errorf("two wide products: %d %+v", r.Status, r.Errors)
	}
}
