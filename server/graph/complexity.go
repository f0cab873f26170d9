package graph

import (
	"math"

	"github.com/meshplane/meshplane/server/graph/generated"
	"github.com/meshplane/meshplane/server/graph/model"
	"github.com/meshplane/meshplane/server/page"
)

// setComplexity prices each connection at its page size times what it
// selects, so a query's cost grows with the objects it can return.
func setComplexity(c *generated.ComplexityRoot) {
	c.Query.Domains = func(child int, first *int, _ *string) int {
		return connectionCost(child, first)
	}
	c.Query.DataProducts = func(child int, first *int, _ *string, _ *model.DataProductFilter, _ *model.DataProductOrder) int {
		return connectionCost(child, first)
	}
	c.Query.Principals = func(child int, first *int, _ *string) int {
		return connectionCost(child, first)
	}
	c.Query.AuditEvents = func(child int, first *int, _ *string, _ *model.AuditEventFilter) int {
		return connectionCost(child, first)
	}
	c.Domain.Products = func(child int, first *int, _ *string, _ *model.DomainProductFilter, _ *model.DataProductOrder) int {
		return connectionCost(child, first)
	}
}

// connectionCost is one for the listing plus child per item of the page the
// service will return, saturating instead of overflowing.
func connectionCost(child int, first *int) int {
	size := page.DefaultSize
	if first != nil && *first > 0 {
		size = min(*first, page.MaxSize)
	}
	if child > (math.MaxInt-1)/size {
		return math.MaxInt
	}
	return 1 + child*size
}
