package graph

import (
	"github.com/meshplane/meshplane/server/audit"
	"github.com/meshplane/meshplane/server/catalog"
	"github.com/meshplane/meshplane/server/events"
	"github.com/meshplane/meshplane/server/grant"
	"github.com/meshplane/meshplane/server/graph/generated"
	"github.com/meshplane/meshplane/server/identity"
	"github.com/meshplane/meshplane/server/policy"
	"github.com/meshplane/meshplane/server/provision"
)

// Resolver is the root of every resolver: it holds the services each field calls.
type Resolver struct {
	catalog   *catalog.Service
	identity  *identity.Service
	audit     *audit.Service
	provision *provision.Service
	policy    *policy.Service
	access    *grant.Service
	events    *events.Service
}

var _ generated.ResolverRoot = (*Resolver)(nil)
