package graph

import (
	"math"

	"github.com/meshplane/meshplane/server/ent/accessrequest"
	entgrant "github.com/meshplane/meshplane/server/ent/grant"
	"github.com/meshplane/meshplane/server/events"
	"github.com/meshplane/meshplane/server/grant"
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
	c.Query.AccessRequests = func(child int, _ *bool, _, _ *string, _ *accessrequest.State, first *int, _ *string) int {
		return connectionCost(child, first)
	}
	c.Query.Grants = func(child int, _, _, _, _, _ *string, _ []entgrant.State, first *int, _ *string) int {
		return connectionCost(child, first)
	}
	c.DataProduct.Grants = func(child int, _ *string, first *int, _ *string) int {
		return connectionCost(child, first)
	}
	c.Query.WebhookDeliveries = func(child int, _ string, _ *string, first *int, _ *string) int {
		return connectionCost(child, first)
	}
	c.Query.Webhooks = func(child int, _ *string) int {
		return listCost(child, events.MaxWebhooksPerDomain)
	}
	// A request holds a grant per port it names, each an object of its own
	// (a connection's items are counted by its nodes or edges field instead).
	c.AccessRequest.Grants = func(child int) int {
		return listCost(min(child, math.MaxInt-1)+1, grant.MaxPorts)
	}
}

// connectionCost is one for the listing plus child per item of the page the
// service will return, saturating instead of overflowing.
func connectionCost(child int, first *int) int {
	size := page.DefaultSize
	if first != nil && *first > 0 {
		size = min(*first, page.MaxSize)
	}
	return listCost(child, size)
}

// listCost is one for the list plus child per item of at most size items,
// saturating instead of overflowing.
func listCost(child, size int) int {
	if child > (math.MaxInt-1)/size {
		return math.MaxInt
	}
	return 1 + child*size
}
