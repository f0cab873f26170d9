package graph

import (
	"context"
	"fmt"
	"math"

	"github.com/99designs/gqlgen/complexity"
	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/meshplane/meshplane/server/graph/generated"
	"github.com/meshplane/meshplane/server/graph/model"
	"github.com/meshplane/meshplane/server/page"
	"github.com/meshplane/meshplane/server/spec"
)

// Prices of the fields whose work is far from one object's worth, in the
// units of MaxComplexity (an object costs one). setComplexity prices the
// connections; these come on top.
const (
	// SchemaCost prices __schema, the whole schema (the introspection query
	// answers 180 KiB of JSON): four fit in a query, not a fifth.
	SchemaCost = MaxComplexity / 4
	// TypeCost prices __type, one type with its fields and their arguments.
	TypeCost = 100
	// CatalogScanCost prices verifyAuditLog (it reads and hashes every audit
	// event) and policyImpact (it evaluates a draft over every product and
	// access request): more than half the budget, so one per query.
	CatalogScanCost = MaxComplexity/2 + 1
	// TestRunCost prices policyTests, which compiles a module and runs its
	// tests: room for one beside policyImpact, for four on their own.
	TestRunCost = MaxComplexity / 4
	// PreviewCost prices portPreview, which reads records from Kafka.
	PreviewCost = 1_000
	// ConnectorsCost prices a product's connectors: a Kafka Connect REST
	// call for each of up to 1+spec.MaxSinks, so a page of products asks
	// for them only for a few.
	ConnectorsCost = 50 * (1 + spec.MaxSinks)
	// EvaluationCost prices one admission and masking evaluation of a product.
	EvaluationCost = 50
	// FacetsCost prices facet counts, a grouped count over every product the
	// filter matches rather than one page of them.
	FacetsCost = 10
	// TextCost prices a text field that may hold many kilobytes: a run's
	// Terraform log, an audit event's before and after, a policy file, a
	// decision's result.
	TextCost = 10
)

// CodeComplexityLimit is gqlgen's code for an operation over MaxComplexity.
const CodeComplexityLimit = "COMPLEXITY_LIMIT_EXCEEDED"

func init() {
	// gqlgen answers errors of a "protocol" kind with a 4xx status (422, or
	// 400 to clients accepting application/graphql-response+json), and
	// every other error with 200; a refused operation is the client's doing.
	errcode.RegisterErrorType(CodeComplexityLimit, errcode.KindProtocol)
}

// priceExpensiveFields adds the prices above, and connection prices for the
// connections setComplexity leaves out, to c.
func priceExpensiveFields(c *generated.ComplexityRoot) {
	c.Query.VerifyAuditLog = func(child int) int { return plus(CatalogScanCost, child) }
	c.Query.PolicyImpact = func(child int, _ string) int { return plus(CatalogScanCost, child) }
	c.Query.PolicyTests = func(child int, _ string) int { return plus(TestRunCost, child) }
	c.Query.PortPreview = func(child int, _, _, _ string, _ *int, _ *string) int { return plus(PreviewCost, child) }
	c.Query.ProductEvaluation = func(child int, _, _ string, _ *model.DataProductSpecInput) int {
		return plus(EvaluationCost, child)
	}
	c.DataProduct.Evaluation = func(child int) int { return plus(EvaluationCost, child) }
	c.DataProduct.Connectors = func(child int, _ *string) int { return plus(ConnectorsCost, child) }
	c.DataProductConnection.Facets = func(child int) int { return plus(FacetsCost, child) }

	// Lists without pagination are priced as a full page: nothing bounds a
	// caller's role bindings or tokens, or a module's versions.
	unpaged := func(child int) int { return listCost(plus(child, 1), page.MaxSize) }
	c.Query.RoleBindings = func(child int, _, _ *string) int { return unpaged(child) }
	c.Query.Tokens = func(child int, _ *string) int { return unpaged(child) }
	c.Query.PolicyModules = func(child int) int { return unpaged(child) }
	c.Query.PolicyVersions = func(child int, _ string) int { return unpaged(child) }

	c.Query.Runs = func(child int, _, _ string, _ *string, first *int, _ *string) int {
		return connectionCost(child, first)
	}
	c.DataProduct.Runs = func(child int, _ *string, first *int, _ *string) int { return connectionCost(child, first) }
	c.Query.PolicyDecisions = func(child int, _, _ string, first *int, _ *string) int {
		return connectionCost(child, first)
	}
	c.DataProduct.PolicyDecisions = func(child int, first *int, _ *string) int { return connectionCost(child, first) }

	text := func(int) int { return TextCost }
	c.Run.Log = text
	c.AuditEvent.Before = text
	c.AuditEvent.After = text
	c.PolicyFile.Source = text
	c.PolicyDecision.Result = text
}

// plus adds two costs, saturating instead of overflowing.
func plus(a, b int) int {
	if b > math.MaxInt-a {
		return math.MaxInt
	}
	return a + b
}

// costLimit refuses an operation that costs more than MaxComplexity: gqlgen's
// calculation with the prices above, plus the introspection fields, which
// that calculation skips (__schema) or prices as one object (__type).
type costLimit struct {
	es graphql.ExecutableSchema
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = (*costLimit)(nil)

func (*costLimit) ExtensionName() string { return "ComplexityLimit" }

func (c *costLimit) Validate(es graphql.ExecutableSchema) error {
	c.es = es
	return nil
}

func (c *costLimit) MutateOperationContext(ctx context.Context, op *graphql.OperationContext) *gqlerror.Error {
	cost := complexity.Calculate(ctx, c.es, op.Operation, op.Variables, complexity.WithFixedScalarValue(0))
	cost = plus(cost, introspectionCost(op.Operation.SelectionSet))
	if cost <= MaxComplexity {
		return nil
	}
	return &gqlerror.Error{
		Message: fmt.Sprintf("operation has complexity %d, which exceeds the limit of %d: ask for smaller pages or fewer fields", cost, MaxComplexity),
		Extensions: map[string]any{
			"code": CodeComplexityLimit, "limit": "complexity", "max": MaxComplexity, "found": cost,
		},
	}
}

// introspectionCost prices the __schema and __type fields of a query's root
// selection set, the only place they may appear, fragments expanded (the scan
// has bounded their expansion).
func introspectionCost(set ast.SelectionSet) int {
	cost := 0
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			switch s.Name {
			case "__schema":
				cost = plus(cost, SchemaCost)
			case "__type":
				cost = plus(cost, TypeCost)
			}
		case *ast.InlineFragment:
			cost = plus(cost, introspectionCost(s.SelectionSet))
		case *ast.FragmentSpread:
			if s.Definition != nil {
				cost = plus(cost, introspectionCost(s.Definition.SelectionSet))
			}
		}
	}
	return cost
}
