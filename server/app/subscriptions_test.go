package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
	"github.com/meshplane/meshplane/server/app/apptest"
)

// wsMessage is a message of the graphql-transport-ws protocol.
type wsMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// subscribe opens a graphql-transport-ws connection as token and starts
// query; it returns the connection, or the dial error.
func subscribe(t *testing.T, env *apptest.Env, token, query string, vars map[string]any) (*websocket.Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(env.HTTP.URL, "http")+"/graphql",
		&websocket.DialOptions{HTTPClient: env.HTTP.Client(), HTTPHeader: h, Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.CloseNow() })
	if err := wsjson.Write(ctx, c, wsMessage{Type: "connection_init"}); err != nil {
		t.Fatal(err)
	}
	var ack wsMessage
	if err := wsjson.Read(ctx, c, &ack); err != nil || ack.Type != "connection_ack" {
		t.Fatalf("connection_ack: %+v %v", ack, err)
	}
	payload, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err := wsjson.Write(ctx, c, wsMessage{ID: "1", Type: "subscribe", Payload: payload}); err != nil {
		t.Fatal(err)
	}
	return c, nil
}

// drain reads messages of subscription "1" until it completes or errs.
func drain(t *testing.T, c *websocket.Conn) (next []json.RawMessage, errPayload json.RawMessage) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for {
		var m wsMessage
		if err := wsjson.Read(ctx, c, &m); err != nil {
			t.Fatalf("reading the subscription: %v", err)
		}
		switch m.Type {
		case "next":
			next = append(next, m.Payload)
		case "error":
			return next, m.Payload
		case "complete":
			return next, nil
		case "ping":
			_ = wsjson.Write(ctx, c, wsMessage{Type: "pong"})
		}
	}
}

const runUpdates = `subscription($id: ID!) { runUpdates(id: $id) { line state } }`

// TestRunUpdatesSubscription: a GraphQL subscription over WebSocket follows
// a run's log and states to the end, authenticated like every request;
// a caller who may not read the run, an anonymous upgrade and an oversized
// operation are refused.
func TestRunUpdatesSubscription(t *testing.T) {
	apptest.RequireTools(t)
	env := apptest.New(t)
	ctx := context.Background()
	env.Domain("sales")
	env.Domain("hr")
	ownerTok := env.User("olivia", "domain-owner", "sales")
	outsider := env.User("harry", "domain-owner", "hr")
	owner := env.Clients(apptest.ProtocolConnect, ownerTok)
	if _, err := owner.Catalog.CreateDataProduct(ctx, connect.NewRequest(&v1.CreateDataProductRequest{Domain: "sales", Name: "orders", Spec: apptest.ProductSpec()})); err != nil {
		t.Fatal(err)
	}
	planned := plan(t, owner, "sales", "orders")
	if _, err := owner.Provision.ApproveRun(ctx, connect.NewRequest(&v1.ApproveRunRequest{Id: planned.GetId()})); err != nil {
		t.Fatal(err)
	}
	c, err := subscribe(t, env, ownerTok, runUpdates, map[string]any{"id": planned.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	next, failed := drain(t, c)
	if failed != nil {
		t.Fatalf("subscription failed: %s", failed)
	}
	var states, lines []string
	for _, p := range next {
		var u struct {
			Data struct {
				RunUpdates struct {
					Line, State *string
				}
			}
		}
		if err := json.Unmarshal(p, &u); err != nil {
			t.Fatal(err)
		}
		switch r := u.Data.RunUpdates; {
		case r.Line != nil && r.State == nil:
			lines = append(lines, *r.Line)
		case r.State != nil && r.Line == nil:
			states = append(states, *r.State)
		default:
			t.Errorf("an update is a line or a state: %s", p)
		}
	}
	// The apply takes seconds and the subscription starts right after the
	// approval: it sees the run applying, then applied.
	if len(states) < 2 || states[len(states)-1] != "APPLIED" || !slices.Contains(states, "APPLYING") {
		t.Errorf("states = %v, want APPLYING, then APPLIED", states)
	}
	for i := 1; i < len(states); i++ {
		if states[i] == states[i-1] {
			t.Errorf("state %s sent twice in a row: %v", states[i], states)
		}
	}
	joined := strings.Join(lines, "\n")
	// Every stored line, the apply's last ones included, came before the end.
	full, err := owner.Provision.GetRun(ctx, connect.NewRequest(&v1.GetRunRequest{Id: planned.GetId()}))
	if err != nil {
		t.Fatal(err)
	}
	if stored := strings.TrimRight(full.Msg.GetRun().GetLog(), "\n"); !strings.Contains(joined, "Apply complete!") || len(lines) != len(strings.Split(stripBlank(stored), "\n")) {
		t.Errorf("the subscription sent %d lines, the stored log has %d; its end:\n%s", len(lines), len(strings.Split(stripBlank(stored), "\n")), joined[max(0, len(joined)-400):])
	}

	// Another domain's owner is told the run does not exist.
	c, err = subscribe(t, env, outsider, runUpdates, map[string]any{"id": planned.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if next, _ := drain(t, c); len(next) != 1 || !strings.Contains(string(next[0]), `"code":"NOT_FOUND"`) {
		t.Errorf("an outsider's subscription: %s", next)
	}
	// The operation is scanned like a POSTed one.
	c, err = subscribe(t, env, ownerTok, `subscription { runUpdates(id: "x") { line `+strings.Repeat("line ", 11_000)+`} }`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if next, _ := drain(t, c); len(next) != 1 || !strings.Contains(string(next[0]), `"code":"QUERY_TOO_LARGE"`) {
		t.Errorf("an oversized operation: %.300s", next)
	}
	// Queries and mutations are POSTed: over a WebSocket they are refused.
	for _, op := range []string{`{ viewer { principal { name } } }`, `mutation { planProduct(input: {domain: "sales", product: "orders"}) { run { id } } }`} {
		c, err = subscribe(t, env, ownerTok, op, nil)
		if err != nil {
			t.Fatal(err)
		}
		// The refusal comes as an error message or as a result with errors.
		next, failed := drain(t, c)
		if got := fmt.Sprintf("%s %s", next, failed); len(next)+min(len(failed), 1) != 1 || !strings.Contains(got, `"code":"SUBSCRIPTIONS_ONLY"`) {
			t.Errorf("%s over a WebSocket: %.300s", op, got)
		}
	}
	if runs, _ := owner.Provision.ListRuns(ctx, connect.NewRequest(&v1.ListRunsRequest{Domain: "sales", Product: "orders"})); len(runs.Msg.GetRuns()) != 1 {
		t.Errorf("a mutation sent over a WebSocket planned: %d runs", len(runs.Msg.GetRuns()))
	}
	// Without credentials there is no connection.
	if _, err := subscribe(t, env, "", runUpdates, map[string]any{"id": planned.GetId()}); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("an anonymous upgrade: %v", err)
	}
}

// stripBlank drops the empty lines of a log, which WatchRun does not send.
func stripBlank(log string) string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
