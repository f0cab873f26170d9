package graph

import (
	"context"
	"errors"
	"testing"

	"github.com/99designs/gqlgen/graphql/handler/transport"

	"github.com/meshplane/meshplane/server/errs"
)

// TestWebsocketConnectionBounds: a connection ends by MaxWebsocketLifetime
// and runs at most MaxSubscriptions subscriptions at once.
func TestWebsocketConnectionBounds(t *testing.T) {
	parent, cancel := context.WithCancel(context.Background())
	ctx, _, err := markWebsocket(parent, transport.InitPayload{})
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := ctx.Deadline(); !ok || d.IsZero() {
		t.Error("a WebSocket connection has no end")
	}
	var dones []func()
	for range MaxSubscriptions {
		done, err := startSubscription(ctx)
		if err != nil {
			t.Fatal(err)
		}
		dones = append(dones, done)
	}
	_, err = startSubscription(ctx)
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != errs.KindResourceExhausted {
		t.Fatalf("subscription %d: %v, want RESOURCE_EXHAUSTED", MaxSubscriptions+1, err)
	}
	dones[0]()
	if _, err := startSubscription(ctx); err != nil {
		t.Fatalf("after one completed: %v", err)
	}
	if done, err := startSubscription(context.Background()); err != nil || done == nil {
		t.Errorf("outside a WebSocket: %v", err)
	}
	cancel()
	if ctx.Err() == nil {
		t.Error("the connection outlives its request")
	}
}
