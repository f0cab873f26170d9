// Package apptest starts whole meshplane stacks in process for tests: the real
// handlers behind an HTTP/2 httptest server, on a database of their own —
// SQLite by default, PostgreSQL when MESHPLANE_TEST_POSTGRES names a server.
package apptest

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	_ "github.com/jackc/pgx/v5/stdlib"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
	"github.com/meshplane/meshplane/api/gen/meshplane/v1/meshplanev1connect"
	"github.com/meshplane/meshplane/server/app"
)

// PostgresEnv names the environment variable holding a PostgreSQL server URL
// on which each test creates and drops a database of its own.
const PostgresEnv = "MESHPLANE_TEST_POSTGRES"

// Env is a running stack.
type Env struct {
	T          testing.TB
	Server     *app.Server
	HTTP       *httptest.Server
	AdminToken string
	Dialect    string
	DataDir    string
	// DatabaseURL is the catalog's URL ("" for the default SQLite file).
	DatabaseURL string
}

// Options tune New.
type Options struct {
	// Postgres forces PostgreSQL (skipping when none is configured).
	Postgres bool
	Logger   *slog.Logger
	// GrantInterval is how often grants are reconciled; 200ms when zero.
	GrantInterval time.Duration
	// Webhooks tunes event delivery; Interval and RetryBase are 100ms when zero.
	Webhooks app.WebhookConfig
	// Environments replace the one sandbox environment.
	Environments []app.EnvironmentConfig
}

// New starts a stack for t on SQLite, or on PostgreSQL when the environment
// names a server. Everything is torn down when t ends.
func New(t testing.TB, opts ...Options) *Env {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	env := &Env{T: t, DataDir: t.TempDir(), Dialect: "sqlite"}
	if base := os.Getenv(PostgresEnv); base != "" {
		env.DatabaseURL = NewPostgresDatabase(t, base)
		env.Dialect = "postgres"
	} else if o.Postgres {
		t.Skipf("%s is not set", PostgresEnv)
	}
	env.start(o)
	tok, err := os.ReadFile(env.Server.AdminTokenPath)
	if err != nil {
		t.Fatalf("reading admin token: %v", err)
	}
	env.AdminToken = strings.TrimSpace(string(tok))
	return env
}

// start starts a server on the env's catalog and data dir.
func (e *Env) start(o Options) {
	t := e.T
	log := o.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	wh := o.Webhooks
	wh.Interval = cmp.Or(wh.Interval, 100*time.Millisecond)
	wh.RetryBase = cmp.Or(wh.RetryBase, 100*time.Millisecond)
	// Test receivers listen on loopback.
	wh.AllowPrivateNetworks = true
	srv, err := app.New(context.Background(), app.Config{DataDir: e.DataDir, DatabaseURL: e.DatabaseURL, Logger: log,
		AutoMigrate: true, ToolsDir: ToolsDir(), Workers: 2, GrantInterval: cmp.Or(o.GrantInterval, 200*time.Millisecond),
		Webhooks: wh, Environments: o.Environments})
	if err != nil {
		t.Fatalf("starting meshplane: %v", err)
	}
	t.Cleanup(srv.Close)
	e.Server = srv
	e.HTTP = httptest.NewUnstartedServer(srv.Handler)
	e.HTTP.EnableHTTP2 = true
	e.HTTP.StartTLS()
	t.Cleanup(e.HTTP.Close)
}

// Restart stops the server and starts a new one on the same catalog and
// data dir, as a process restart would; clients made before keep the old
// address and must be made again.
func (e *Env) Restart(o Options) {
	e.HTTP.Close()
	e.Server.Close()
	e.start(o)
}

// ToolsDir returns the repository's .tools directory (terraform and the
// provider mirror built by scripts/tools.sh), found from the working directory.
func ToolsDir() string {
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, ".tools")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ".tools"
		}
		dir = parent
	}
}

// RequireTools skips t when terraform is not built, or fails it when
// MESHPLANE_REQUIRE_TOOLS=1 (as the test script sets).
func RequireTools(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(ToolsDir(), "bin", "terraform")); err == nil {
		return
	}
	if os.Getenv("MESHPLANE_REQUIRE_TOOLS") == "1" {
		t.Fatal("terraform is not built: run scripts/tools.sh")
	}
	t.Skip("terraform is not built (scripts/tools.sh); skipping provisioning")
}

// NewPostgresDatabase creates a fresh database on the server at base and
// returns its URL; it is dropped when t ends, replication slots left in it
// (by a CDC source, say) included.
func NewPostgresDatabase(t testing.TB, base string) string {
	t.Helper()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("opening postgres: %v", err)
	}
	t.Cleanup(func() { admin.Close() })
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "meshplane_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("creating test database: %v", err)
	}
	t.Cleanup(func() {
		dropReplicationSlots(admin, name)
		_, _ = admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parsing %s: %v", PostgresEnv, err)
	}
	u.Path = "/" + name
	return u.String()
}

// dropReplicationSlots drops database's replication slots, which keep a
// database from being dropped: it ends the sessions holding them and
// retries, since a slot stays active for a moment after its session ends.
func dropReplicationSlots(admin *sql.DB, database string) {
	for range 50 {
		var left int
		_, _ = admin.Exec(`SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE database = $1 AND active_pid IS NOT NULL`, database)
		_, _ = admin.Exec(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND NOT active`, database)
		if err := admin.QueryRow(`SELECT count(*) FROM pg_replication_slots WHERE database = $1`, database).Scan(&left); err != nil || left == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Protocol selects the wire protocol of a Connect client.
type Protocol string

const (
	ProtocolConnect Protocol = "connect"
	ProtocolGRPC    Protocol = "grpc"
	ProtocolGRPCWeb Protocol = "grpcweb"
)

// Protocols lists the protocols every Connect scenario runs over.
var Protocols = []Protocol{ProtocolConnect, ProtocolGRPC, ProtocolGRPCWeb}

// Clients are typed Connect clients authenticated with one token.
type Clients struct {
	Catalog   meshplanev1connect.CatalogServiceClient
	Identity  meshplanev1connect.IdentityServiceClient
	Audit     meshplanev1connect.AuditServiceClient
	Provision meshplanev1connect.ProvisioningServiceClient
	Policy    meshplanev1connect.PolicyServiceClient
	Access    meshplanev1connect.AccessServiceClient
	Events    meshplanev1connect.EventsServiceClient
}

// Clients returns clients speaking protocol with token ("" sends none).
func (e *Env) Clients(p Protocol, token string) Clients {
	opts := []connect.ClientOption{connect.WithInterceptors(bearer(token))}
	switch p {
	case ProtocolGRPC:
		opts = append(opts, connect.WithGRPC())
	case ProtocolGRPCWeb:
		opts = append(opts, connect.WithGRPCWeb())
	}
	hc := e.HTTP.Client()
	return Clients{
		Catalog:   meshplanev1connect.NewCatalogServiceClient(hc, e.HTTP.URL, opts...),
		Identity:  meshplanev1connect.NewIdentityServiceClient(hc, e.HTTP.URL, opts...),
		Audit:     meshplanev1connect.NewAuditServiceClient(hc, e.HTTP.URL, opts...),
		Provision: meshplanev1connect.NewProvisioningServiceClient(hc, e.HTTP.URL, opts...),
		Policy:    meshplanev1connect.NewPolicyServiceClient(hc, e.HTTP.URL, opts...),
		Access:    meshplanev1connect.NewAccessServiceClient(hc, e.HTTP.URL, opts...),
		Events:    meshplanev1connect.NewEventsServiceClient(hc, e.HTTP.URL, opts...),
	}
}

type bearer string

func (b bearer) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if b != "" {
			req.Header().Set("Authorization", "Bearer "+string(b))
		}
		return next(ctx, req)
	}
}

func (b bearer) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, s connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, s)
		if b != "" {
			conn.RequestHeader().Set("Authorization", "Bearer "+string(b))
		}
		return conn
	}
}

func (b bearer) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

// GraphQLResponse is a decoded GraphQL response.
type GraphQLResponse struct {
	Status int
	Data   json.RawMessage `json:"data"`
	Errors []GraphQLError  `json:"errors"`
}

// GraphQLError is one GraphQL error with meshplane's extensions.
type GraphQLError struct {
	Message    string `json:"message"`
	Path       []any  `json:"path"`
	Extensions struct {
		Code   string `json:"code"`
		Reason string `json:"reason"`
		Fields []struct {
			Path    string `json:"path"`
			Message string `json:"message"`
		} `json:"fields"`
	} `json:"extensions"`
}

// GraphQL posts a query with variables using token.
func (e *Env) GraphQL(token, query string, vars map[string]any) GraphQLResponse {
	e.T.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, e.HTTP.URL+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.HTTP.Client().Do(req)
	if err != nil {
		e.T.Fatalf("posting graphql: %v", err)
	}
	defer resp.Body.Close()
	var out GraphQLResponse
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		e.T.Fatalf("decoding graphql response (status %d): %v: %s", resp.StatusCode, err, raw)
	}
	out.Status = resp.StatusCode
	return out
}

// User creates a user principal bound to role in domain ("" for none) and
// returns a token for it.
func (e *Env) User(name, role, domain string) string {
	e.T.Helper()
	ctx := context.Background()
	c := e.Clients(ProtocolConnect, e.AdminToken)
	if _, err := c.Identity.CreatePrincipal(ctx, connect.NewRequest(&v1.CreatePrincipalRequest{
		Name: name, Kind: v1.PrincipalKind_PRINCIPAL_KIND_USER,
	})); err != nil && connect.CodeOf(err) != connect.CodeAlreadyExists {
		e.T.Fatalf("creating principal %s: %v", name, err)
	}
	if role != "" {
		if _, err := c.Identity.CreateRoleBinding(ctx, connect.NewRequest(&v1.CreateRoleBindingRequest{
			Principal: name, Role: role, Domain: domain,
		})); err != nil {
			e.T.Fatalf("binding %s to %s in %s: %v", name, role, domain, err)
		}
	}
	res, err := c.Identity.CreateToken(ctx, connect.NewRequest(&v1.CreateTokenRequest{Principal: name, Description: "test"}))
	if err != nil {
		e.T.Fatalf("creating token for %s: %v", name, err)
	}
	return res.Msg.GetSecret()
}

// Domain creates a domain as the admin.
func (e *Env) Domain(name string) {
	e.T.Helper()
	c := e.Clients(ProtocolConnect, e.AdminToken)
	if _, err := c.Catalog.CreateDomain(context.Background(), connect.NewRequest(&v1.CreateDomainRequest{Name: name, Description: "the " + name + " domain"})); err != nil {
		e.T.Fatalf("creating domain %s: %v", name, err)
	}
}
