// Package app assembles meshplane: it opens the catalog, builds the service
// layer and both doors on one HTTP handler, and serves it with graceful shutdown.
package app

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"entgo.io/ent/dialect"

	"github.com/meshplane/meshplane/policies"
	"github.com/meshplane/meshplane/portal"
	"github.com/meshplane/meshplane/server/access"
	"github.com/meshplane/meshplane/server/audit"
	"github.com/meshplane/meshplane/server/authn"
	"github.com/meshplane/meshplane/server/catalog"
	"github.com/meshplane/meshplane/server/errs"
	"github.com/meshplane/meshplane/server/events"
	"github.com/meshplane/meshplane/server/grant"
	"github.com/meshplane/meshplane/server/graph"
	"github.com/meshplane/meshplane/server/identity"
	"github.com/meshplane/meshplane/server/jobs"
	"github.com/meshplane/meshplane/server/masking"
	"github.com/meshplane/meshplane/server/policy"
	"github.com/meshplane/meshplane/server/policy/engine"
	"github.com/meshplane/meshplane/server/preview"
	"github.com/meshplane/meshplane/server/provision"
	"github.com/meshplane/meshplane/server/rpc"
	"github.com/meshplane/meshplane/server/sandbox"
	"github.com/meshplane/meshplane/server/store"
	"github.com/meshplane/meshplane/server/telemetry"
)

// MaxGraphQLBytes bounds a GraphQL request body: the GraphQL door's own
// limit, which leaves the query text itself far less (graph.MaxQueryBytes).
const MaxGraphQLBytes = graph.MaxBodyBytes

// Config configures a meshplane server.
type Config struct {
	// DataDir holds the embedded catalog, the admin token and workspaces.
	DataDir string
	// DatabaseURL overrides the embedded SQLite catalog (postgres://…).
	DatabaseURL string
	Logger      *slog.Logger
	// AutoMigrate applies pending migrations on start (the default for serve).
	AutoMigrate bool
	// BindingReload is how often role bindings are re-read, so replicas sharing
	// a database converge; 0 disables it.
	BindingReload time.Duration
	// AccessLog logs every request at info level.
	AccessLog bool
	// DataPlane is the Kafka and Kafka Connect meshplane provisions into;
	// with no bootstrap servers, an in-process sandbox is started instead.
	// It is the one environment when Environments is empty.
	DataPlane DataPlane
	// Environments are the environments products are provisioned into, the
	// default first; empty means one, made of DataPlane.
	Environments []EnvironmentConfig
	// ToolsDir holds bin/terraform and the provider mirror terraform-plugins/.
	ToolsDir string
	// Terraform overrides ToolsDir/bin/terraform (any terraform >= 1.5).
	Terraform string
	// DriftInterval is how often provisioned products are checked for drift; 0 disables.
	DriftInterval time.Duration
	// Workers bounds the jobs — provisioning runs, drift checks — this
	// replica works at once (default 4).
	Workers int
	// MaskingKeyFile holds the key masking salts and preview pseudonyms are
	// derived from; DATA_DIR/masking.key (created on first start) when empty.
	MaskingKeyFile string
	// PolicyTimeout bounds one policy evaluation (default 200ms).
	PolicyTimeout time.Duration
	// GrantInterval is how often grants are expired and reconciled (default 5s).
	GrantInterval time.Duration
	// Webhooks tunes event delivery; zero values take the defaults.
	Webhooks WebhookConfig
}

// WebhookConfig tunes how events reach webhooks.
type WebhookConfig struct {
	// Interval is how often due deliveries are sent (default 1s).
	Interval time.Duration
	// RetryBase is the wait after a first failed attempt, doubled after
	// each next one up to an hour (default 10s).
	RetryBase time.Duration
	// MaxAttempts is how often a delivery is tried before it is marked
	// failed (default 12).
	MaxAttempts int
	// AllowPrivateNetworks lets webhooks reach loopback, private and
	// link-local addresses; by default they reach public addresses only.
	AllowPrivateNetworks bool
}

// DataPlane describes a production data plane. Passwords come from the
// environment (MESHPLANE_KAFKA_PASSWORD, MESHPLANE_CONNECT_PASSWORD).
type DataPlane struct {
	KafkaBootstrap    []string
	SASLMechanism     string // "", plain, scram-sha256, scram-sha512
	KafkaUsername     string
	KafkaPassword     string
	KafkaTLS          bool
	ConnectURL        string
	ConnectUsername   string
	ConnectPassword   string
	ReplicationFactor int
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.DataDir == "" {
		return errors.New("a data dir is required")
	}
	if c.Logger == nil {
		return errors.New("a logger is required")
	}
	return nil
}

// Server is an assembled meshplane.
type Server struct {
	Handler   http.Handler
	Store     *store.Store
	Identity  *identity.Service
	Catalog   *catalog.Service
	Audit     *audit.Service
	Authz     *access.Authorizer
	Metrics   *telemetry.Metrics
	Provision *provision.Service
	Policy    *policy.Service
	Access    *grant.Service
	Events    *events.Service
	// Jobs is the durable job queue the replicas sharing the catalog share.
	Jobs *jobs.Queue
	// Sandbox is the in-process data plane of the environment marked for
	// access (where previews read), nil when a real one is configured;
	// Sandboxes holds every environment's, by name.
	Sandbox   *sandbox.Sandbox
	Sandboxes map[string]*sandbox.Sandbox
	// AdminTokenPath is set when this start created the initial admin.
	AdminTokenPath string

	log      *slog.Logger
	teardown []func()
	cfg      Config
	// previews read each environment's topics, the access environment's
	// first.
	previews []catalog.PreviewSource
	// consumers are the environments consumers may be granted access in,
	// the access environment first.
	consumers []grant.Environment
}

// New opens the catalog and assembles the server. Close releases it.
func New(ctx context.Context, c Config) (_ *Server, err error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	s := &Server{log: c.Logger, cfg: c}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	url := c.DatabaseURL
	if url == "" {
		url = "sqlite://" + filepath.Join(c.DataDir, "catalog.db")
	}
	if s.Store, err = store.Open(ctx, url); err != nil {
		return nil, err
	}
	s.onClose(func() { s.Store.Close() })
	if c.AutoMigrate {
		applied, err := s.Store.Migrate(ctx)
		if err != nil {
			return nil, fmt.Errorf("migrating catalog: %w", err)
		}
		if len(applied) > 0 {
			s.log.Info("applied catalog migrations", "versions", applied)
		}
	}
	st, err := s.Store.Status(ctx)
	if err != nil {
		return nil, err
	}
	if n := len(st.Pending) + len(st.JobQueuePending); n > 0 {
		return nil, fmt.Errorf("catalog has %d pending migrations: run meshplane migrate", n)
	}
	if s.Authz, err = access.New(policies.RBACModel, policies.RBACPolicy); err != nil {
		return nil, fmt.Errorf("loading rbac policy: %w", err)
	}
	if s.Identity, err = identity.New(identity.Config{Store: s.Store, Authz: s.Authz, Logger: c.Logger}); err != nil {
		return nil, err
	}
	if err := s.Identity.ReloadBindings(ctx); err != nil {
		return nil, err
	}
	if s.AdminTokenPath, err = s.Identity.Bootstrap(ctx, c.DataDir); err != nil {
		return nil, err
	}
	key, err := loadMaskingKey(c)
	if err != nil {
		return nil, err
	}
	if err := checkMaskingKey(ctx, s.Store, key, cmp.Or(c.MaskingKeyFile, filepath.Join(c.DataDir, "masking.key"))); err != nil {
		return nil, err
	}
	salts, err := masking.NewSalts(key)
	if err != nil {
		return nil, err
	}
	if err := privateDataDir(c.DataDir); err != nil {
		return nil, fmt.Errorf("keeping the data dir private: %w", err)
	}
	// The governor judges with the published policy; provisioning consults
	// it, and the policy service, which plans what a publish changes, puts
	// versions in force there: built in that order, nothing closes a cycle.
	gov, err := policy.NewGovernor(s.Store, c.Logger.With("component", "policy"), salts)
	if err != nil {
		return nil, err
	}
	if s.Audit, err = audit.NewService(s.Store, s.Authz); err != nil {
		return nil, err
	}
	s.Metrics = telemetry.New()
	if s.Jobs, err = jobs.New(jobs.Config{Store: s.Store, Logger: c.Logger, Workers: c.Workers}); err != nil {
		return nil, err
	}
	if err := s.startProvisioning(ctx, url, gov); err != nil {
		return nil, err
	}
	if s.Policy, err = policy.New(policy.Config{Store: s.Store, Authz: s.Authz, Logger: c.Logger.With("component", "policy"),
		Governor: gov, Planner: s.Provision, Environments: s.Provision.PolicyEnvironments(), Engine: engine.Options{Timeout: c.PolicyTimeout}}); err != nil {
		return nil, err
	}
	if err := s.Policy.Start(ctx); err != nil {
		return nil, err
	}
	if s.Access, err = grant.New(grant.Config{Store: s.Store, Authz: s.Authz, Logger: c.Logger.With("component", "access"),
		Policy: s.Policy, Planner: s.Provision, Jobs: s.Jobs, Interval: c.GrantInterval, Environments: s.consumers}); err != nil {
		return nil, err
	}
	s.Provision.OnRunSettled(s.Access.Kick)
	s.Access.Start(ctx)
	s.onClose(s.Access.Close)
	if s.Events, err = events.New(ctx, events.Config{Store: s.Store, Authz: s.Authz, Logger: c.Logger.With("component", "events"),
		Jobs: s.Jobs, Key: derivedKey(key, "webhook signing"), Interval: c.Webhooks.Interval,
		RetryBase: c.Webhooks.RetryBase, MaxAttempts: c.Webhooks.MaxAttempts, AllowPrivateNetworks: c.Webhooks.AllowPrivateNetworks}); err != nil {
		return nil, err
	}
	s.onClose(s.Events.Close)
	s.Metrics.Registry.MustRegister(s.Events.Collector())
	// Every worker and periodic job is registered: the queue starts, and
	// stops first on Close, so runs cut short are recorded as interrupted
	// while the catalog is still open.
	if err := s.Jobs.Start(ctx); err != nil {
		return nil, err
	}
	s.onClose(func() {
		stop, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s.Jobs.Stop(stop)
	})
	if err := s.Provision.Start(ctx); err != nil {
		return nil, err
	}
	if s.Catalog, err = catalog.New(catalog.Config{Store: s.Store, Authz: s.Authz, Logger: c.Logger,
		Admission: s.Policy, Previews: s.previews, Pseudonym: salts.Pseudonym}); err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	if err := rpc.Mount(mux, rpc.Config{Catalog: s.Catalog, Identity: s.Identity, Audit: s.Audit, Provision: s.Provision, Policy: s.Policy, Access: s.Access, Events: s.Events, Metrics: s.Metrics, Logger: c.Logger}); err != nil {
		return nil, err
	}
	gql, err := graph.New(graph.Config{Catalog: s.Catalog, Identity: s.Identity, Audit: s.Audit, Provision: s.Provision, Policy: s.Policy, Access: s.Access, Events: s.Events, Logger: c.Logger})
	if err != nil {
		return nil, err
	}
	mux.Handle("/graphql", s.graphQL(gql))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := s.Store.DB.PingContext(r.Context()); err != nil {
			http.Error(w, "catalog unavailable", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /metrics", s.Metrics.Handler())
	if s.Sandbox != nil {
		mux.Handle("GET /api/sandbox", requireAuth(s.Sandbox.Handler()))
	}
	mux.Handle(authn.SessionPath, authn.SessionHandler(s.Identity))
	web := portal.Handler(portal.Assets)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if apiPath(r.URL.Path) {
			notFound(w, r)
			return
		}
		web.ServeHTTP(w, r)
	})
	s.Handler = authn.Middleware(s.Identity)(s.accessLog(mux))
	return s, nil
}

func (s *Server) onClose(f func()) { s.teardown = append(s.teardown, f) }

// derivedKey derives a key for one purpose from the server's key, so no two
// purposes share one.
func derivedKey(key []byte, purpose string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("meshplane " + purpose))
	return m.Sum(nil)
}

// startProvisioning connects every environment's data plane — the
// configured one or a new sandbox — and starts the provisioning workers.
func (s *Server) startProvisioning(ctx context.Context, databaseURL string, gov provision.Governance) error {
	c := s.cfg
	envs := c.Environments
	if len(envs) == 0 {
		// One environment, named as the data plane's state has always been.
		name := provision.LegacyProduction
		if len(c.DataPlane.KafkaBootstrap) == 0 {
			name = provision.LegacySandbox
		}
		envs = []EnvironmentConfig{{Name: name, DataPlane: c.DataPlane}}
	}
	if err := validateEnvironments(envs); err != nil {
		return fmt.Errorf("environments: %w", err)
	}
	var planes []provision.Environment
	connected := map[string]*plane{}
	for i, e := range envs {
		p, err := s.connectEnvironment(ctx, e, i == 0, databaseURL, dialect.Postgres)
		if err != nil {
			return err
		}
		connected[e.Name] = p
		if p.sandbox != nil {
			if s.Sandboxes == nil {
				s.Sandboxes = map[string]*sandbox.Sandbox{}
			}
			s.Sandboxes[e.Name] = p.sandbox
		}
		planes = append(planes, p.env)
	}
	tools := c.ToolsDir
	if tools == "" {
		tools = ".tools"
	}
	tools, err := filepath.Abs(tools)
	if err != nil {
		return err
	}
	tf := c.Terraform
	if tf == "" {
		tf = filepath.Join(tools, "bin", "terraform")
	}
	p, err := provision.New(provision.Config{Store: s.Store, Authz: s.Authz, Logger: s.log, DataDir: c.DataDir,
		Terraform: tf, PluginDir: filepath.Join(tools, "terraform-plugins"), Jobs: s.Jobs,
		Environments: planes, DriftInterval: c.DriftInterval, Governance: gov})
	if err != nil {
		return err
	}
	// Before any job runs: runs and workspaces from before environments
	// belong to the default environment.
	if err := p.Adopt(ctx); err != nil {
		return err
	}
	if why := p.Unavailable(); why != "" {
		s.log.Warn(why)
	}
	// Consumers may read, and previews be read, in every environment, each
	// with credentials and ACLs of its own; the one provisioning names for
	// access comes first, where a request or preview naming none goes.
	access := p.AccessEnvironment()
	s.Sandbox = connected[access].sandbox
	i := slices.IndexFunc(planes, func(e provision.Environment) bool { return e.Name == access })
	for _, e := range slices.Concat(planes[i:i+1], planes[:i], planes[i+1:]) {
		c := connected[e.Name]
		s.consumers = append(s.consumers, grant.Environment{Name: e.Name, Kafka: &grant.KafkaAdmin{Opts: c.kafka, Servers: c.servers, TLS: c.tls},
			Parameters: e.Parameters, PromotedOnly: len(e.PromoteFrom) > 0})
		s.previews = append(s.previews, catalog.PreviewSource{Environment: e.Name, Reader: preview.NewReader(c.kafka...)})
	}
	s.Provision = p
	s.onClose(p.Close)
	return nil
}

// privateDataDir keeps the data dir to its owner: it holds the admin token,
// the masking key and the catalog (whatever created them, and before this
// rule existed), so the directory is 0700 and those files 0600.
func privateDataDir(dir string) error {
	if err := os.Chmod(dir, 0o700); err != nil {
		return err
	}
	for _, name := range []string{"admin.token", "masking.key", "catalog.db", "catalog.db-wal", "catalog.db-shm"} {
		if err := os.Chmod(filepath.Join(dir, name), 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// requireAuth refuses unauthenticated requests to plain HTTP endpoints.
func requireAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := authn.Check(r.Context()); err != nil {
			http.Error(w, errs.As(err).Message, http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Close releases everything New built, in reverse order.
func (s *Server) Close() {
	for _, f := range slices.Backward(s.teardown) {
		f()
	}
	s.teardown = nil
}

// graphQL refuses unauthenticated GraphQL calls with a GraphQL-shaped error;
// the GraphQL door itself bounds the body, the query and the response
// (graph.New).
func (s *Server) graphQL(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		code := "ok"
		// A WebSocket lives as long as its subscriptions: its duration is
		// no request latency.
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			defer func() { s.Metrics.Observe("graphql", "/graphql", code, time.Since(start)) }()
		}
		if err := authn.Check(r.Context()); err != nil {
			code = errs.KindUnauthenticated.String()
			writeGraphQLError(w, http.StatusUnauthorized, errs.As(err))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func writeGraphQLError(w http.ResponseWriter, status int, e *errs.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []map[string]any{{
			"message":    e.Message,
			"extensions": map[string]any{"code": e.Kind.String(), "reason": e.Reason},
		}},
	})
}

// apiPath reports whether an unknown path belongs to an API rather than to a
// route of the portal.
func apiPath(p string) bool {
	for _, prefix := range []string{"/meshplane.", "/grpc.", "/graphql", "/api/", "/auth/"} {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

func notFound(w http.ResponseWriter, r *http.Request) {
	http.Error(w, "not found: meshplane serves its API under /meshplane.v1.* (Connect, gRPC, gRPC-Web) and /graphql", http.StatusNotFound)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) accessLog(next http.Handler) http.Handler {
	if !s.cfg.AccessLog {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		s.log.Info("request", "method", r.Method, "path", r.URL.Path, "status", sw.status,
			"duration_ms", float64(time.Since(start).Microseconds())/1000, "request_id", w.Header().Get(authn.RequestIDHeader))
	})
}

// Serve serves on ln with HTTP/1.1 and unencrypted HTTP/2 (h2c) until ctx is
// done, then stops accepting and lets in-flight requests finish within grace.
func (s *Server) Serve(ctx context.Context, ln net.Listener, grace time.Duration) error {
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{
		Handler:           s.Handler,
		Protocols:         &protocols,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	if s.cfg.BindingReload > 0 {
		go s.reloadBindings(ctx, s.cfg.BindingReload)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down: finishing in-flight requests", "grace", grace.String())
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	return nil
}

func (s *Server) reloadBindings(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.Identity.ReloadBindings(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("reloading role bindings", "error", err)
			}
			if err := s.Policy.Refresh(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("reloading published policies", "error", err)
			}
		}
	}
}
