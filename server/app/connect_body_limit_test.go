package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
	"github.com/meshplane/meshplane/server/app/apptest"
	"github.com/meshplane/meshplane/server/rpc"
)

// TestOversizedConnectBodyIs413 posts an oversized JSON body over the Connect
// protocol as any HTTP client or proxy would: the answer is 413 with a
// Connect error whose code is resource_exhausted. gRPC and gRPC-Web clients,
// whose protocols answer HTTP 200 with a grpc-status, still read
// RESOURCE_EXHAUSTED; nothing is written.
func TestOversizedConnectBodyIs413(t *testing.T) {
	env := apptest.New(t)
	ctx := context.Background()
	body := `{"name":"big","description":"` + strings.Repeat("x", rpc.MaxRequestBytes) + `"}`
	req, err := http.NewRequest(http.MethodPost, env.HTTP.URL+"/meshplane.v1.CatalogService/CreateDomain", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+env.AdminToken)
	resp, err := env.HTTP.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var e struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatalf("status %d, body is not a Connect error: %v: %.200s", resp.StatusCode, err, raw)
	}
	if resp.StatusCode != http.StatusRequestEntityTooLarge || e.Code != "resource_exhausted" || e.Message == "" ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Errorf("oversized Connect request: status %d, %s, error %+v; want 413 resource_exhausted", resp.StatusCode, resp.Header.Get("Content-Type"), e)
	}

	big := &v1.CreateDomainRequest{Name: "big", Description: strings.Repeat("x", rpc.MaxRequestBytes)}
	for _, p := range apptest.Protocols {
		_, err := env.Clients(p, env.AdminToken).Catalog.CreateDomain(ctx, connect.NewRequest(big))
		if connect.CodeOf(err) != connect.CodeResourceExhausted {
			t.Errorf("oversized request over %s: %v", p, err)
		}
	}
	if _, err := env.Clients(apptest.ProtocolGRPC, env.AdminToken).Catalog.GetDomain(ctx,
		connect.NewRequest(&v1.GetDomainRequest{Name: "big"})); connect.CodeOf(err) != connect.CodeNotFound {
		t.Errorf("an oversized request wrote something: %v", err)
	}
}
