// Package actor carries who is calling, and under which request id, through a context.
package actor

import "context"

// Kind is the kind of principal.
type Kind string

const (
	KindUser           Kind = "user"
	KindServiceAccount Kind = "service-account"
)

// Actor is the authenticated principal behind a call.
type Actor struct {
	ID     string
	Name   string
	Kind   Kind
	Domain string
	// TokenID is the token the call authenticated with.
	TokenID string
}

// System is the actor of changes meshplane makes on its own (bootstrap, migrations).
var System = Actor{ID: "system", Name: "system", Kind: KindServiceAccount}

// Meshplane is the actor of what meshplane does on its own while serving:
// executing runs, approving plans that change nothing but grants' ACLs,
// expiring grants, seeding default policies.
var Meshplane = Actor{ID: "meshplane", Name: "meshplane", Kind: KindServiceAccount}

// Reserved reports whether name is a system actor's: no principal may take
// it, or its approvals, drafts and audit events would pass for meshplane's.
func Reserved(name string) bool { return name == System.Name || name == Meshplane.Name }

type actorKey struct{}
type requestKey struct{}

// With returns ctx carrying a.
func With(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// From returns the actor in ctx, if any.
func From(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok
}

// WithRequestID returns ctx carrying the request id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestKey{}, id)
}

// RequestID returns the request id in ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestKey{}).(string)
	return id
}
