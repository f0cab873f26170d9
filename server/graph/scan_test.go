package graph

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

// introspectionQuery is the full introspection query GraphQL tools send,
// nine levels of ofType deep, with every optional field they may ask for.
const introspectionQuery = `query IntrospectionQuery {
  __schema {
    description
    queryType { name kind }
    mutationType { name kind }
    subscriptionType { name kind }
    types { ...FullType }
    directives { name description isRepeatable locations args(includeDeprecated: true) { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description specifiedByURL isOneOf
  fields(includeDeprecated: true) {
    name description
    args(includeDeprecated: true) { ...InputValue }
    type { ...TypeRef }
    isDeprecated deprecationReason
  }
  inputFields(includeDeprecated: true) { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue {
  name description type { ...TypeRef } defaultValue isDeprecated deprecationReason
}
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } } }
}`

// Hostile documents, each refused by one limit; the fuzz corpus starts from them.
var hostile = []struct {
	name, query, code, limit string
}{
	{"10,000 __typename", "{ " + strings.Repeat("__typename ", 10_000) + "}", CodeQueryTooLarge, "queryBytes"},
	{"2,900 __typename", "{ " + strings.Repeat("__typename ", 2_900) + "}", CodeQueryTooComplex, "selections"},
	{"repeated __typename", "{ " + strings.Repeat("__typename ", 150) + "}", CodeQueryTooComplex, "selectionSetWidth"},
	{"repeated fields", "{ " + strings.Repeat("domains { nodes { name } } ", 40) + "}", CodeQueryTooComplex, "repeatedFields"},
	{"fragment spread 2,000 times", "{ " + strings.Repeat("...F ", 2_000) + "} fragment F on Query { __typename }", CodeQueryTooComplex, "selections"},
	{"fragment of 2,000 fields", "{ ...F } fragment F on Query { " + strings.Repeat("__typename ", 2_000) + "}", CodeQueryTooComplex, "selections"},
	{"800 aliases", "{ " + aliases(800, "domains { nodes { name } }") + "}", CodeQueryTooComplex, "selections"},
	{"150 aliases", "{ " + aliases(150, "__typename") + "}", CodeQueryTooComplex, "aliases"},
	{"__schema aliases", "{ " + aliases(20, "__schema { types { name } }") + "}", "", ""}, // priced, not scanned
	{"deep nesting", "{ __type(name: \"Query\") " + strings.Repeat("{ ofType ", 30) + "{ name }" + strings.Repeat(" }", 31), CodeQueryTooComplex, "depth"},
	{"deep through fragments", fragmentChain(30), CodeQueryTooComplex, "depth"},
	{"fragment bomb", fragmentBomb(40), CodeQueryTooComplex, "selections"},
	{"fragment cycle", "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }", CodeValidationFailed, ""},
	{"unreached fragment cycle", "{ __typename } fragment A on Query { ...B } fragment B on Query { ...A }", CodeValidationFailed, ""},
	{"many fragments", manyFragments(200), CodeQueryTooComplex, "fragments"},
	{"many operations", strings.Repeat("query { __typename } ", 20), CodeQueryTooComplex, "operations"},
	{"many tokens", "{ domain(name: \"x\" " + strings.Repeat("@skip(if: false) ", 1_800) + ") { name } }", CodeQueryTooLarge, "tokens"},
	{"surrogate escape", `{ domain(name: "\uD83D\uDE00") { name } }`, CodeInvalidUTF8, ""},
	{"unterminated string", `{ domain(name: "x) { name } }`, CodeParseFailed, ""},
	{"unbalanced", `{ domains { nodes { name } }`, CodeParseFailed, ""},
	{"empty", ``, CodeParseFailed, ""},
}

func aliases(n int, field string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "a%d: %s ", i, field)
	}
	return b.String()
}

// fragmentChain nests n fragments, each adding a level of ofType.
func fragmentChain(n int) string {
	var b strings.Builder
	b.WriteString(`{ __type(name: "Query") { ...F0 } }`)
	for i := range n {
		fmt.Fprintf(&b, " fragment F%d on __Type { ofType { ...F%d } }", i, i+1)
	}
	fmt.Fprintf(&b, " fragment F%d on __Type { name }", n)
	return b.String()
}

// fragmentBomb spreads each of n fragments twice into the one before it:
// 2^n fields in a few hundred bytes.
func fragmentBomb(n int) string {
	var b strings.Builder
	b.WriteString("{ ...F0 }")
	for i := range n {
		fmt.Fprintf(&b, " fragment F%d on Query { ...F%d ...F%d }", i, i+1, i+1)
	}
	fmt.Fprintf(&b, " fragment F%d on Query { __typename }", n)
	return b.String()
}

func manyFragments(n int) string {
	var b strings.Builder
	b.WriteString("{ ")
	for i := range n {
		fmt.Fprintf(&b, "...F%d ", i)
	}
	b.WriteString("}")
	for i := range n {
		fmt.Fprintf(&b, " fragment F%d on Query { __typename }", i)
	}
	return b.String()
}

func TestScanQueryRefusesHostileShapes(t *testing.T) {
	t.Parallel()
	for _, c := range hostile {
		_, r := scanQuery(c.query, "")
		switch {
		case c.code == "" && r != nil:
			t.Errorf("%s: refused with %s: %s", c.name, r.code, r.message)
		case c.code == "":
		case r == nil:
			t.Errorf("%s: accepted, want %s", c.name, c.code)
		case r.code != c.code || r.limit != c.limit || r.status != 400:
			t.Errorf("%s: refused with %d %s (%s): %s, want %s (%s)", c.name, r.status, r.code, r.limit, r.message, c.code, c.limit)
		case c.limit != "" && (r.found <= r.max || !strings.Contains(r.message, fmt.Sprint(r.max))):
			t.Errorf("%s: found %d, max %d, message %q", c.name, r.found, r.max, r.message)
		}
	}
}

func TestScanQueryAdmitsWhatClientsSend(t *testing.T) {
	t.Parallel()
	for name, q := range map[string]string{
		"introspection": introspectionQuery,
		"shorthand":     `{ viewer { principal { name } } }`,
		"variables and directives": `query Products($first: Int = 10, $after: String, $withFacets: Boolean! = false) @live {
			dataProducts(first: $first, after: $after, filter: {labels: [{key: "tier", value: "gold"}], text: "a { b } c"}) {
				nodes { ...Product ... on DataProduct @include(if: true) { owner } }
				facets @include(if: $withFacets) { totalCount }
			}
		}
		fragment Product on DataProduct { domain name ports { name fields { name classification } } }`,
		"overlapping fragments": `{ dataProduct(domain: "d", name: "p") { id name ...A ...B } }
			fragment A on DataProduct { id ports { name } }
			fragment B on DataProduct { name ports { topic } }`,
		"block string and comments": `mutation {
			# a comment { with braces
			savePolicyDraft(input: {name: "m", version: 1, files: [{name: "a.rego", source: """
package a
allow { input.x == "}" }
"""}]}) { module { name } }
		}`,
		"a written U+FFFD": `{ domain(name: "�") { name } }`,
		"named operations": `query A { viewer { principal { name } } } mutation B { createDomain(input: {name: "x"}) { domain { name } } }`,
	} {
		if _, r := scanQuery(q, ""); r != nil {
			t.Errorf("%s: refused with %s: %s", name, r.code, r.message)
		}
	}
	if s, _ := scanQuery(`query A { viewer { principal { name } } } mutation B { createDomain(input: {name: "x"}) { domain { name } } }`, "B"); !s.mutation {
		t.Error("operation B is not seen as a mutation")
	}
	if s, _ := scanQuery(`mutation { createDomain(input: {name: "x"}) { domain { name } } }`, ""); !s.mutation {
		t.Error("the only operation is not seen as a mutation")
	}
}

// FuzzScanQuery checks that the scan never panics, refuses as unreadable only
// what gqlparser cannot parse either (or parses to an empty document, which
// gqlgen refuses), and admits only documents that measure within the limits
// when gqlparser's own tree is expanded.
func FuzzScanQuery(f *testing.F) {
	f.Add(introspectionQuery)
	for _, c := range hostile {
		f.Add(c.query)
	}
	f.Add(`{ a: domain(name: "x") { name } b: domain(name: "y") { name } }`)
	f.Add(`{ ... on Query { __typename } ... @skip(if: false) { __typename } }`)
	f.Add(`query($in: [LabelInput!] = [{key: "a", value: "b"}]) { dataProducts(filter: {labels: $in}) { nodes { name } } }`)
	f.Fuzz(func(t *testing.T, query string) {
		_, r := scanQuery(query, "")
		doc, err := parser.ParseQuery(&ast.Source{Input: query})
		if r != nil && r.code == CodeParseFailed && err == nil && len(doc.Operations)+len(doc.Fragments) > 0 {
			t.Fatalf("scan refused a document gqlparser reads: %s", r.message)
		}
		if r != nil || err != nil {
			return
		}
		var roots []ast.SelectionSet
		spread := map[string]bool{}
		for _, op := range doc.Operations {
			roots = append(roots, op.SelectionSet)
		}
		var mark func(ast.SelectionSet)
		mark = func(set ast.SelectionSet) {
			for _, s := range set {
				switch s := s.(type) {
				case *ast.Field:
					mark(s.SelectionSet)
				case *ast.InlineFragment:
					mark(s.SelectionSet)
				case *ast.FragmentSpread:
					spread[s.Name] = true
				}
			}
		}
		for _, op := range doc.Operations {
			mark(op.SelectionSet)
		}
		for _, fr := range doc.Fragments {
			mark(fr.SelectionSet)
		}
		for _, fr := range doc.Fragments {
			if !spread[fr.Name] {
				roots = append(roots, fr.SelectionSet)
			}
		}
		var total, aliasCount, deepest int
		var walk func(set ast.SelectionSet, depth int)
		walk = func(set ast.SelectionSet, depth int) {
			for _, s := range set {
				total++
				if total > MaxSelections {
					t.Fatalf("scan admitted more than %d selections", MaxSelections)
				}
				switch s := s.(type) {
				case *ast.Field:
					if s.Alias != s.Name {
						aliasCount++
					}
					deepest = max(deepest, depth)
					walk(s.SelectionSet, depth+1)
				case *ast.InlineFragment:
					walk(s.SelectionSet, depth)
				case *ast.FragmentSpread:
					if fr := doc.Fragments.ForName(s.Name); fr != nil {
						walk(fr.SelectionSet, depth)
					}
				}
			}
		}
		for _, set := range roots {
			walk(set, 1)
		}
		if aliasCount > MaxAliases || deepest > MaxDepth || len(doc.Operations) > MaxOperations || len(doc.Fragments) > MaxFragments {
			t.Fatalf("scan admitted %d aliases, depth %d, %d operations, %d fragments", aliasCount, deepest, len(doc.Operations), len(doc.Fragments))
		}
	})
}
